namespace DataStack.Processing.Jobs;

/// <summary>
/// A job failed for a reason that another attempt cannot change (bad input, a missing dataset, an invalid
/// query). The job ends <c>failed</c> at once with <see cref="Error"/>; nothing is retried.
/// </summary>
public sealed class JobFailedException(JobError error) : Exception(error.Message)
{
    public JobError Error { get; } = error;

    public JobFailedException(string code, string message, long? row = null, int? column = null)
        : this(new JobError(code, message, row, column))
    {
    }
}
