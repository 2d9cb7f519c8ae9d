using DataStack.Processing.Jobs;

namespace DataStack.Processing.Api;

/// <summary>A job's status after a runner reported on it.</summary>
public sealed record RunnerJobStatus(JobStatus Status);
