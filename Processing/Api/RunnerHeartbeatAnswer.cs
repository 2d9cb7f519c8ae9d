namespace DataStack.Processing.Api;

/// <summary>Answer of a heartbeat: the jobs the runner still holds; one missing from it is no longer the runner's.</summary>
public sealed record RunnerHeartbeatAnswer(IReadOnlyList<RunnerHeldJob> Jobs);
