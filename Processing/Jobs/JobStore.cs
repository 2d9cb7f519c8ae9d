using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace DataStack.Processing.Jobs;

/// <summary>
/// The durable job queue in <c>datastack.jobs</c>. Every state change is one SQL statement guarded by the
/// job's current state (and, for running jobs, by the lease owner), so replicas never step on each other.
/// </summary>
public sealed partial class JobStore(NpgsqlDataSource dataSource)
{
    private const string SelectColumns =
        "id, kind, status, attempts, created_at, started_at, finished_at, progress_rows, progress_bytes, args, result, error, trace_parent, idempotency_key";

    /// <summary>
    /// Queues a job, or returns the one already queued under the same idempotency key (<c>Created</c> false), on the
    /// caller's connection and inside its transaction, if one is open (null: a pooled one). The W3C context of the
    /// submitting request is stored so the job's span can link back to it. <c>created_at</c> is the moment of the
    /// INSERT, not the start of that transaction (a staged upload's began with its body), so submit→start stays what
    /// it says.
    /// </summary>
    public async Task<(Job Job, bool Created)> SubmitAsync(
        NpgsqlConnection? connection, NewJob job, ActivityContext submitter, CancellationToken cancellationToken)
    {
        NpgsqlCommand Command(string sql) => connection is null ? dataSource.CreateCommand(sql) : new NpgsqlCommand(sql, connection);
        await using var command = Command(
            $"""
            INSERT INTO datastack.jobs (id, kind, queue, args, idempotency_key, max_attempts, timeout_seconds, trace_parent, trace_state, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {SelectColumns}
            """);
        command.Parameters.Add(new() { Value = Guid.CreateVersion7() });
        command.Parameters.Add(new() { Value = job.Kind });
        command.Parameters.Add(new() { Value = job.Queue });
        command.Parameters.Add(new() { Value = job.Args.ValueKind == JsonValueKind.Undefined ? "{}" : job.Args.GetRawText(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = (object?)job.IdempotencyKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = job.MaxAttempts });
        command.Parameters.Add(new() { Value = job.TimeoutSeconds.HasValue ? job.TimeoutSeconds.Value : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = submitter == default ? DBNull.Value : ToTraceParent(submitter), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)submitter.TraceState ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                return (Read(reader), true);
            }
        }

        // The key was taken: hand back the job it names.
        await using var existing = Command($"SELECT {SelectColumns} FROM datastack.jobs WHERE idempotency_key = $1");
        existing.Parameters.Add(new() { Value = job.IdempotencyKey! });
        await using var existingReader = await existing.ExecuteReaderAsync(cancellationToken);
        if (!await existingReader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("An idempotency key conflicted, but no job holds it.");
        }

        return (Read(existingReader), false);
    }

    public async Task<Job?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {SelectColumns} FROM datastack.jobs WHERE id = $1");
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<Job>> ListAsync(JobStatus? status, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {SelectColumns} FROM datastack.jobs WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT $2");
        command.Parameters.Add(new() { Value = status.HasValue ? status.Value.ToDb() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<Job>();
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(Read(reader));
        }

        return jobs;
    }

    /// <summary>
    /// The values at <paramref name="path"/> in the arguments of the queued and running jobs of <paramref name="kind"/>:
    /// what a handler keeps for its jobs (a staged table) is still wanted while a job naming it may run.
    /// </summary>
    public async Task<IReadOnlySet<string>> ArgumentValuesOfLiveJobsAsync(string kind, string[] path, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT args #>> $2 FROM datastack.jobs WHERE kind = $1 AND status IN ('queued', 'running') AND args #>> $2 IS NOT NULL");
        command.Parameters.Add(new() { Value = kind });
        command.Parameters.Add(new() { Value = path });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    internal static string ToTraceParent(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{(context.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? "01" : "00")}";

    private static Job Read(NpgsqlDataReader reader)
    {
        var traceParent = reader.IsDBNull(12) ? null : reader.GetString(12);
        return new Job(
            reader.GetGuid(0),
            reader.GetString(1),
            JobStatuses.TryParse(reader.GetString(2), out var status) ? status : throw new InvalidOperationException("Unknown job status."),
            reader.GetInt32(3),
            reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
            reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
            new JobProgress(reader.GetInt64(7), reader.GetInt64(8)),
            JsonSerializer.Deserialize<JsonElement>(reader.GetString(9)),
            reader.IsDBNull(10) ? null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(10)),
            reader.IsDBNull(11) ? null : JsonSerializer.Deserialize<JobError>(reader.GetString(11), JsonSerializerOptions.Web),
            traceParent is { Length: 55 } ? traceParent.Substring(3, 32) : null,
            reader.IsDBNull(13) ? null : reader.GetString(13));
    }
}
