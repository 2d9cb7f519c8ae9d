namespace DataStack.Processing.Api;

/// <summary>Answer of <c>POST /runners/{runner}/claims</c>: the jobs claimed (none when the wait passed) and how long their leases last.</summary>
public sealed record RunnerClaimAnswer(int LeaseSeconds, IReadOnlyList<RunnerJob> Jobs);
