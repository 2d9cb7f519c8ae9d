namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /runners/{runner}/completions</c>: jobs that succeeded, with their results.</summary>
public sealed record RunnerCompletionsRequest(IReadOnlyList<RunnerCompletion>? Jobs);
