using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest.Receiving;

/// <summary>
/// How receiving an upload ended: staged (<see cref="Staging"/>: its transaction open, to queue the job in), or
/// rejected (<see cref="Rejection"/>: the error its job reports).
/// </summary>
public sealed record ReceivedUpload
{
    private ReceivedUpload(StagedUploadTransaction? staging, JobError? rejection)
    {
        Staging = staging;
        Rejection = rejection;
    }

    public StagedUploadTransaction? Staging { get; }

    public JobError? Rejection { get; }

    public static ReceivedUpload Staged(StagedUploadTransaction staging) => new(staging, null);

    public static ReceivedUpload Rejected(JobError rejection) => new(null, rejection);
}
