using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>What a handler gets for one run of a job.</summary>
public sealed class JobContext
{
    private readonly JobStore _store;
    private long _rows;
    private long _bytes;

    internal JobContext(JobStore store, string owner, ClaimedJob job)
    {
        _store = store;
        Owner = owner;
        Id = job.Id;
        Kind = job.Kind;
        Args = job.Args;
        Attempt = job.Attempt;
    }

    public Guid Id { get; }

    public string Kind { get; }

    public JsonElement Args { get; }

    /// <summary>1 on the first run, 2 on the first retry, …</summary>
    public int Attempt { get; }

    /// <summary>The replica that holds the job's lease.</summary>
    public string Owner { get; }

    public JobProgress Progress => new(Volatile.Read(ref _rows), Volatile.Read(ref _bytes));

    /// <summary>True once the handler recorded the job's success in its own transaction.</summary>
    public bool CompletedInTransaction { get; private set; }

    /// <summary>Reports progress; cheap enough to call per batch. The runner stores it about once a second.</summary>
    public void ReportProgress(long rows, long bytes)
    {
        Volatile.Write(ref _rows, rows);
        Volatile.Write(ref _bytes, bytes);
    }

    /// <summary>
    /// Records the job as succeeded on <paramref name="connection"/>, inside the handler's open transaction,
    /// so the data and the job's end commit together: a job whose data committed can never run again, and
    /// a job that is run again never finds half its data. Throws <see cref="LeaseLostException"/> (and the
    /// handler must roll back) when this replica no longer holds the job.
    /// </summary>
    public async Task CompleteInTransactionAsync(NpgsqlConnection connection, JsonNode? result, CancellationToken cancellationToken)
    {
        if (!await _store.CompleteAsync(connection, Id, Owner, result, Progress, cancellationToken))
        {
            throw new LeaseLostException(Id);
        }

        CompletedInTransaction = true;
    }
}

/// <summary>This replica's lease on a job ran out and another replica may be running it: stop, write nothing.</summary>
public sealed class LeaseLostException(Guid jobId) : Exception($"The lease on job {jobId} was lost.")
{
    public Guid JobId { get; } = jobId;
}
