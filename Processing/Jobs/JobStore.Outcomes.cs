using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace DataStack.Processing.Jobs;

/// <summary>How jobs end: succeeded (alone or in a group), failed or retried, cancelled; and the chores that put them back.</summary>
public sealed partial class JobStore
{
    /// <summary>Ends a running job as succeeded. False when the owner no longer held it.</summary>
    public async Task<bool> CompleteAsync(Guid id, string owner, JsonNode? result, JobProgress progress, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await CompleteAsync(connection, id, owner, result, progress, cancellationToken);
    }

    /// <summary>
    /// Ends several running jobs as succeeded in one statement (the runner's group commit). Returns the ids
    /// the owner still held; a job missing from the answer was taken away (its lease expired).
    /// </summary>
    public async Task<HashSet<Guid>> CompleteManyAsync(string owner, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        var ids = new Guid[completions.Count];
        var results = new string?[completions.Count];
        var rows = new long?[completions.Count];
        var bytes = new long?[completions.Count];
        for (var i = 0; i < completions.Count; i++)
        {
            ids[i] = completions[i].Id;
            results[i] = completions[i].Result?.ToJsonString();
            rows[i] = completions[i].Progress?.Rows;
            bytes[i] = completions[i].Progress?.Bytes;
        }

        await using var command = dataSource.CreateCommand(
            $"""
            {LockHeldInIdOrder("$2")}
            UPDATE datastack.jobs j SET status = 'succeeded', finished_at = clock_timestamp(), result = u.result, error = NULL,
                progress_rows = coalesce(u.rows, j.progress_rows), progress_bytes = coalesce(u.bytes, j.progress_bytes),
                lease_owner = NULL, lease_expires_at = NULL
            FROM unnest($2::uuid[], $3::jsonb[], $4::bigint[], $5::bigint[]) AS u(id, result, rows, bytes), held
            WHERE j.id = u.id AND j.id = held.id AND j.lease_owner = $1 AND j.status = 'running'
            RETURNING j.id
            """);
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = ids });
        command.Parameters.Add(new() { Value = results, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = rows });
        command.Parameters.Add(new() { Value = bytes });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var held = new HashSet<Guid>();
        while (await reader.ReadAsync(cancellationToken))
        {
            held.Add(reader.GetGuid(0));
        }

        return held;
    }

    /// <summary>Ends a running job as succeeded on the given connection (inside its transaction, if one is open).</summary>
    public async Task<bool> CompleteAsync(
        NpgsqlConnection connection, Guid id, string owner, JsonNode? result, JobProgress progress, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE datastack.jobs SET status = 'succeeded', finished_at = clock_timestamp(), result = $3, error = NULL,
                progress_rows = $4, progress_bytes = $5, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'
            """,
            connection);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = result is null ? DBNull.Value : result.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = progress.Rows });
        command.Parameters.Add(new() { Value = progress.Bytes });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Ends a running job as failed, or, when <paramref name="retryAfter"/> is given and attempts remain,
    /// puts it back in the queue to run again after that delay.
    /// </summary>
    public async Task<JobStatus?> FailAsync(Guid id, string owner, JobError error, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs SET
                status = CASE WHEN $4::interval IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                run_after = CASE WHEN $4::interval IS NOT NULL AND attempts < max_attempts THEN now() + $4::interval ELSE run_after END,
                finished_at = CASE WHEN $4::interval IS NOT NULL AND attempts < max_attempts THEN NULL ELSE now() END,
                error = $3, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'
            RETURNING status
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(error, JsonSerializerOptions.Web), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = retryAfter.HasValue ? retryAfter.Value : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        var status = await command.ExecuteScalarAsync(cancellationToken) as string;
        return JobStatuses.TryParse(status, out var parsed) ? parsed : null;
    }

    /// <summary>Ends a running job whose cancellation was asked for.</summary>
    public async Task<bool> MarkCancelledAsync(Guid id, string owner, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = owner });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Cancels a queued job at once; a running job is flagged and its runner is told (NOTIFY), and it ends
    /// <c>cancelled</c> when the handler stops. A finished job is left as it is.
    /// </summary>
    public async Task<Job?> CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            WITH changed AS (
                UPDATE datastack.jobs SET
                    status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                    finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
                    cancel_requested = true
                WHERE id = $1 AND status IN ('queued', 'running')
                RETURNING id, status
            ), notified AS (
                SELECT pg_notify('datastack_job_cancel', id::text) FROM changed WHERE status = 'running'
            )
            SELECT count(*) FROM notified
            """);
        command.Parameters.Add(new() { Value = id });
        await command.ExecuteScalarAsync(cancellationToken);
        return await GetAsync(id, cancellationToken);
    }

    /// <summary>Puts every failed job back in the queue with a fresh attempt budget. Returns how many.</summary>
    public async Task<int> RequeueFailedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE datastack.jobs SET status = 'queued', attempts = 0, run_after = now(), finished_at = NULL,
                error = NULL, cancel_requested = false
            WHERE status = 'failed'
            """);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
