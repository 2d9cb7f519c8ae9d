namespace DataStack.Processing.Api;

/// <summary>A job a runner still holds, and whether a user asked to cancel it.</summary>
public sealed record RunnerHeldJob(Guid Id, bool CancelRequested);
