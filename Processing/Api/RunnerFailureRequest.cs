using DataStack.Processing.Jobs;

namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /runners/{runner}/jobs/{id}/failure</c>: the attempt that failed, whether another may succeed, and why.</summary>
public sealed record RunnerFailureRequest(int Attempt, bool Retryable, JobError? Error);
