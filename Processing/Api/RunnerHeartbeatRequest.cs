namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /runners/{runner}/heartbeat</c>: the runner's running jobs and their progress.</summary>
public sealed record RunnerHeartbeatRequest(IReadOnlyList<RunnerJobProgress>? Jobs);
