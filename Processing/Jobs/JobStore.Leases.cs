using System.Text.Json;
using NpgsqlTypes;

namespace DataStack.Processing.Jobs;

/// <summary>The queue's leases: claims, heartbeats, expired leases reaped, jobs handed back.</summary>
public sealed partial class JobStore
{
    /// <summary>
    /// Claims up to <paramref name="max"/> jobs of <paramref name="queue"/> for <paramref name="owner"/>, oldest first.
    /// <c>FOR UPDATE SKIP LOCKED</c>: concurrent claimers take disjoint sets without waiting on each other.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(string queue, string owner, int max, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs j SET
                status = 'running',
                attempts = j.attempts + 1,
                started_at = coalesce(j.started_at, now()),
                lease_owner = $1,
                lease_expires_at = now() + $3
            FROM (
                SELECT id FROM datastack.jobs
                WHERE status = 'queued' AND queue = $4 AND run_after <= now()
                ORDER BY created_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ) claimable
            WHERE j.id = claimable.id
            RETURNING j.id, j.kind, j.args, j.attempts, j.max_attempts, j.trace_parent, j.trace_state, j.created_at, j.timeout_seconds
            """);
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = max });
        command.Parameters.Add(new() { Value = lease, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(new() { Value = queue });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var claimed = new List<ClaimedJob>();
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new ClaimedJob(
                reader.GetGuid(0),
                reader.GetString(1),
                JsonSerializer.Deserialize<JsonElement>(reader.GetString(2)),
                reader.GetInt32(3),
                reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetFieldValue<DateTimeOffset>(7),
                reader.IsDBNull(8) ? null : reader.GetInt32(8)));
        }

        return claimed;
    }

    /// <summary>
    /// Renews the leases of the owner's running jobs and stores their progress in one statement. Returns the
    /// jobs the owner still holds, with whether cancellation was asked for; a job missing from the answer has
    /// been taken away (its lease expired and another replica re-queued it).
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, bool>> HeartbeatAsync(
        string owner, TimeSpan lease, IReadOnlyList<(Guid Id, JobProgress Progress)> running, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            {LockHeldInIdOrder("$3")}
            UPDATE datastack.jobs j SET
                lease_expires_at = now() + $2,
                progress_rows = u.rows,
                progress_bytes = u.bytes
            FROM unnest($3::uuid[], $4::bigint[], $5::bigint[]) AS u(id, rows, bytes), held
            WHERE j.id = u.id AND j.id = held.id AND j.lease_owner = $1 AND j.status = 'running'
            RETURNING j.id, j.cancel_requested
            """);
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = lease, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(new() { Value = running.Select(r => r.Id).ToArray() });
        command.Parameters.Add(new() { Value = running.Select(r => r.Progress.Rows).ToArray() });
        command.Parameters.Add(new() { Value = running.Select(r => r.Progress.Bytes).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var held = new Dictionary<Guid, bool>();
        while (await reader.ReadAsync(cancellationToken))
        {
            held[reader.GetGuid(0)] = reader.GetBoolean(1);
        }

        return held;
    }

    /// <summary>
    /// Returns the owner's running jobs to the queue without counting the interrupted attempt
    /// (graceful shutdown: the work was stopped by us, not by the job).
    /// </summary>
    public async Task<int> ReturnToQueueAsync(string owner, IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), run_after = now(),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ANY($2) AND lease_owner = $1 AND status = 'running'
            """);
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = ids.ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Re-queues running jobs whose lease expired (their replica died or lost the database), or fails them
    /// when their attempts are used up; a job whose cancellation was asked for ends cancelled.
    /// </summary>
    public async Task<int> ReapExpiredLeasesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs SET
                status = CASE
                    WHEN cancel_requested THEN 'cancelled'
                    WHEN attempts >= max_attempts THEN 'failed'
                    ELSE 'queued' END,
                finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END,
                error = CASE WHEN NOT cancel_requested AND attempts >= max_attempts
                    THEN jsonb_build_object('code', 'lease_expired', 'message',
                        format('The worker running this job stopped responding on each of %s attempts.', attempts))
                    ELSE error END,
                run_after = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE status = 'running' AND lease_expires_at < now()
            """);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Queued jobs right now (for the queue-depth gauge).</summary>
    public async Task<long> CountQueuedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM datastack.jobs WHERE status = 'queued'");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// A <c>held</c> CTE that locks the owner's running jobs among <paramref name="ids"/> in id order. The heartbeat
    /// and a completion batch update overlapping sets of the same replica's jobs at the same time; locking in one
    /// order means they queue behind each other instead of deadlocking.
    /// </summary>
    // The rows are found through a join with the id list, not "id = ANY(list)": a row another statement has just
    // updated is re-checked (EvalPlanQual), and re-checking "= ANY" compares it with the whole list, n² comparisons
    // for a batch of n (docs/benchmarks.md, item 17). Nor is "status = 'running'" in here (the UPDATE checks it):
    // with it, statistics taken while nearly every job had ended (the usual state) made the planner read the partial
    // index jobs_running_lease_idx, dead entries and all, instead of the key.
    private static string LockHeldInIdOrder(string ids) =>
        $"""
        WITH held AS (
            SELECT j.id FROM unnest({ids}::uuid[]) AS wanted(id) JOIN datastack.jobs j ON j.id = wanted.id
            WHERE j.lease_owner = $1 ORDER BY j.id FOR UPDATE OF j)
        """;
}
