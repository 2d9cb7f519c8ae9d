namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /runners/{runner}/claims</c>: the queue to claim from, how many jobs at most, how long to wait for work.</summary>
public sealed record RunnerClaimRequest(string? Queue, int? Max, double? WaitSeconds);
