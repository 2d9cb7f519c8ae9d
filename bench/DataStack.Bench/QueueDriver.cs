using System.Diagnostics;
using Npgsql;

namespace DataStack.Bench;

/// <summary>
/// What the queue sections do to a queue of their own (a database only they use): fill it with one batched INSERT,
/// submit jobs at a steady pace, wait until it is idle, read timings from the jobs table (database clock), empty it.
/// </summary>
public static class QueueDriver
{
    /// <summary>Queues <paramref name="count"/> jobs in one INSERT and returns jobs/s from its commit to the last finish.</summary>
    public static async Task<double> InsertDrainAsync(string connectionString, BenchJob job, int count, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        DateTime batch;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var insert = new NpgsqlCommand(
                """
                INSERT INTO datastack.jobs (id, kind, queue, args, max_attempts, timeout_seconds)
                SELECT gen_random_uuid(), $2, $3, $4::jsonb, 3, $5 FROM generate_series(1, $1);
                """,
                connection,
                transaction);
            insert.Parameters.Add(new() { Value = count });
            insert.Parameters.Add(new() { Value = job.Kind });
            insert.Parameters.Add(new() { Value = job.Queue });
            insert.Parameters.Add(new() { Value = job.Args });
            insert.Parameters.Add(new() { Value = job.TimeoutSeconds is { } t ? t : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            await insert.ExecuteNonQueryAsync(cancellationToken);
            await using var now = new NpgsqlCommand("SELECT now()", connection, transaction);
            batch = (DateTime)(await now.ExecuteScalarAsync(cancellationToken))!;
            await transaction.CommitAsync(cancellationToken);
        }

        await using var clock = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        var committed = (DateTime)(await clock.ExecuteScalarAsync(cancellationToken))!;
        await WaitForIdleAsync(connection, cancellationToken);
        await using var last = new NpgsqlCommand(
            "SELECT max(finished_at), count(*) FILTER (WHERE status = 'succeeded') FROM datastack.jobs WHERE created_at = $1", connection);
        last.Parameters.Add(new() { Value = batch });
        await using var reader = await last.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        Check(reader.GetInt64(1), count, job.Kind);
        return count / (reader.GetDateTime(0) - committed).TotalSeconds;
    }

    /// <summary>
    /// One client submitting <paramref name="count"/> jobs through <c>POST /jobs</c> at a steady rate (so no queue builds
    /// up), cycling through <paramref name="jobs"/>; returns each submission's round trip in ms. Does not wait for them.
    /// </summary>
    public static async Task<List<double>> SubmitPacedAsync(
        HttpClient client, IReadOnlyList<BenchJob> jobs, int rate, int count, CancellationToken cancellationToken)
    {
        var roundTrips = new List<double>(count);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            var sent = Stopwatch.GetTimestamp();
            await ProcessingApi.SubmitAsync(client, jobs[i % jobs.Count], cancellationToken);
            roundTrips.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        }

        return roundTrips;
    }

    /// <summary>
    /// Waits until the queue is idle, then reads one number per succeeded job: <paramref name="milliseconds"/>, an SQL
    /// expression over the jobs table (e.g. <c>started_at - created_at</c> in ms), for the jobs <paramref name="where"/> selects.
    /// </summary>
    public static async Task<List<double>> SamplesAsync(
        string connectionString, string milliseconds, string where, int expected, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await WaitForIdleAsync(connection, cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT ({milliseconds})::float8 FROM datastack.jobs WHERE status = 'succeeded' AND {where}", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var samples = new List<double>(expected);
        while (await reader.ReadAsync(cancellationToken))
        {
            samples.Add(reader.GetDouble(0));
        }

        Check(samples.Count, expected, where);
        return samples;
    }

    /// <summary>Empties the section's queue and vacuums it, so every measurement starts on the same table.</summary>
    public static async Task CleanAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var sql in (string[])["DELETE FROM datastack.jobs", "VACUUM ANALYZE datastack.jobs"])
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public static async Task WaitForIdleAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Cheap on purpose (two partial-index probes, 5 times a second): the poll must not show up in the
        // PostgreSQL CPU the sections report.
        await using var busy = new NpgsqlCommand(
            """
            SELECT EXISTS (SELECT 1 FROM datastack.jobs WHERE status = 'queued')
                OR EXISTS (SELECT 1 FROM datastack.jobs WHERE status = 'running')
            """,
            connection);
        var deadline = Stopwatch.StartNew();
        while ((bool)(await busy.ExecuteScalarAsync(cancellationToken))!)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException("The queue did not drain within 10 minutes.");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public static void Check(long succeeded, int expected, string what)
    {
        if (succeeded != expected)
        {
            throw new InvalidOperationException($"{succeeded} of {expected} jobs ({what}) succeeded.");
        }
    }
}
