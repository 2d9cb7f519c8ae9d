using DataStack.Processing.Jobs;

namespace DataStack.Processing.Api;

/// <summary>One running job in a heartbeat.</summary>
public sealed record RunnerJobProgress(Guid Id, JobProgress? Progress);
