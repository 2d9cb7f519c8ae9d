namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /runners/{runner}/returns</c>: jobs to put back in the queue (a runner shutting down).</summary>
public sealed record RunnerReturnsRequest(IReadOnlyList<Guid>? Ids);
