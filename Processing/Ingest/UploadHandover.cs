using DataStack.Processing.Ingest.Receiving;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

/// <summary>
/// The hand-over half of an upload: queues its ingest job in the transaction that holds its staged rows, and commits
/// both, so the job can run on any replica. A job already queued under the same idempotency key is answered instead,
/// and the staged rows go with their transaction.
/// </summary>
public sealed class UploadHandover(JobSubmitter submitter)
{
    public async Task<(Job Job, bool Created)> HandOverAsync(
        UploadRequest upload, ReceivedUpload received, string? idempotencyKey, CancellationToken cancellationToken)
    {
        await using var staging = received.Staging;
        var args = IngestArgs.ForUpload(upload, received);
        var (job, created) = await submitter.SubmitAsync(staging?.Connection, IngestJobHandler.KindName, args.ToJson(), idempotencyKey, cancellationToken);
        if (created && staging is not null)
        {
            await staging.CommitAsync();
        }

        return (job, created);
    }
}
