using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

/// <summary>
/// How receiving an upload ended: staged (its transaction open, to queue the job in), rejected (the error its job
/// reports), or over <c>Processing:MaxUploadBytes</c>.
/// </summary>
public sealed record ReceivedUpload
{
    private ReceivedUpload(StagedUploadTransaction? staging, JobError? rejection, bool tooLarge)
    {
        Staging = staging;
        Rejection = rejection;
        IsTooLarge = tooLarge;
    }

    public static ReceivedUpload TooLarge { get; } = new(null, null, tooLarge: true);

    public StagedUploadTransaction? Staging { get; }

    public JobError? Rejection { get; }

    public bool IsTooLarge { get; }

    public static ReceivedUpload Staged(StagedUploadTransaction staging) => new(staging, null, tooLarge: false);

    public static ReceivedUpload Rejected(JobError rejection) => new(null, rejection, tooLarge: false);
}
