using System.Data;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Npgsql;

namespace DataStack.Processing.Profiles;

/// <summary>
/// <c>profile</c>: column statistics of a dataset (see <see cref="DatasetProfile"/>), computed in SQL, stored
/// on the dataset and returned as the job's result. Args: <c>{ "dataset" }</c>.
/// <para>
/// Few table scans: one aggregate query per group of <see cref="ColumnsPerScan"/> columns (counts, distinct,
/// min/max, mean/stddev, text lengths, boolean counts), then one grouped query per text column for its top
/// values. All of it reads one REPEATABLE READ snapshot, and the profile is stored only if the dataset is
/// still the version that snapshot saw (a dataset replaced meanwhile is profiled again).
/// </para>
/// </summary>
public sealed partial class ProfileJobHandler(NpgsqlDataSource dataSource, ILogger<ProfileJobHandler> logger) : IJobHandler
{
    /// <summary>Columns per aggregate query: at most 8 expressions each, well under PostgreSQL's 1664 target columns.</summary>
    public const int ColumnsPerScan = 50;

    public const int TopValueCount = 5;

    /// <summary>How often a dataset that keeps being replaced during profiling is profiled again before giving up.</summary>
    private const int MaxRounds = 3;

    /// <summary>The kind of job this handler runs.</summary>
    public const string KindName = "profile";

    public string Kind => KindName;

    private enum ColumnKind
    {
        Numeric,
        Boolean,
        Temporal,
        Text,
        Other,
    }

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args)
    {
        var errors = new Dictionary<string, string[]>();
        var dataset = args.ValueKind == JsonValueKind.Object && args.TryGetProperty("dataset", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()
            : null;
        if (!DatasetName.IsValid(dataset))
        {
            errors["dataset"] = [$"A dataset name is required: {DatasetName.Rule}."];
        }

        return errors;
    }

    public async Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        if (Validate(context.Args) is { Count: > 0 } errors)
        {
            throw new JobFailedException("invalid_args", string.Join(" ", errors.Select(e => $"{e.Key}: {e.Value[0]}")));
        }

        var dataset = context.Args.GetProperty("dataset").GetString()!;
        using var activity = ProcessingTelemetry.ActivitySource.StartActivity($"profile {dataset}");
        activity?.SetTag("datastack.dataset", dataset);
        var started = Stopwatch.GetTimestamp();
        try
        {
            for (var round = 1; round <= MaxRounds; round++)
            {
                var (profile, version) = await ComputeAsync(dataset, cancellationToken);
                context.ReportProgress(profile.RowCount, 0);
                var element = JsonSerializer.SerializeToElement(profile, JsonSerializerOptions.Web);

                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                if (await DatasetCatalog.SetProfileAsync(connection, dataset, element, version, cancellationToken))
                {
                    var result = JsonNode.Parse(element.GetRawText());
                    await context.CompleteInTransactionAsync(connection, result, cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    activity?.SetTag("datastack.rows", profile.RowCount);
                    Log.ProfileCompleted(logger, context.Id, dataset, profile.Columns.Count, profile.RowCount, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    return result;
                }

                Log.DatasetChanged(logger, context.Id, dataset, round);
            }

            throw new JobFailedException("dataset_changed", $"Dataset '{dataset}' was replaced {MaxRounds} times while being profiled; profile it again later.");
        }
        catch (JobFailedException ex)
        {
            ProcessingTelemetry.RecordFailure(activity, ex, ex.Error.Code);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ProcessingTelemetry.RecordFailure(activity, ex);
            throw;
        }
    }

    /// <summary>Computes the profile in one read-only snapshot; also returns the dataset version it saw.</summary>
    private async Task<(DatasetProfile Profile, DateTimeOffset Version)> ComputeAsync(string dataset, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using (var setup = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        // to_jsonb() writes timestamptz in the session's time zone: make it UTC.
        await using (var timeZone = new NpgsqlCommand("SELECT set_config('TimeZone', 'UTC', true)", connection))
        {
            await timeZone.ExecuteNonQueryAsync(cancellationToken);
        }

        // The first query fixes the snapshot: the version read here is the one the statistics describe.
        var version = await FindVersionAsync(connection, dataset, cancellationToken)
            ?? throw new JobFailedException("not_found", $"There is no dataset '{dataset}'.");
        var columns = await DatasetCatalog.ReadTableColumnsAsync(connection, dataset, cancellationToken);
        return (await ProfileColumnsAsync(connection, dataset, columns, cancellationToken), version);
    }

    /// <summary>The dataset's <c>updated_at</c>, or null when it or its table does not exist.</summary>
    private static async Task<DateTimeOffset?> FindVersionAsync(NpgsqlConnection connection, string dataset, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT updated_at, to_regclass($2) IS NOT NULL FROM datastack.datasets WHERE name = $1", connection);
        command.Parameters.Add(new() { Value = dataset });
        command.Parameters.Add(new() { Value = DatasetName.QualifiedTable(dataset) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && reader.GetBoolean(1) ? reader.GetFieldValue<DateTimeOffset>(0) : null;
    }

    private static async Task<DatasetProfile> ProfileColumnsAsync(
        NpgsqlConnection connection, string dataset, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        var table = DatasetName.QualifiedTable(dataset);
        var profiles = new List<ColumnProfile>(columns.Count);
        long rowCount = 0;
        var groups = columns.Chunk(ColumnsPerScan).ToList();
        if (groups.Count == 0)
        {
            groups.Add([]);
        }

        foreach (var group in groups)
        {
            var select = new StringBuilder("SELECT count(*)");
            foreach (var column in group)
            {
                foreach (var expression in Aggregates(column.Name, KindOf(column.Type)))
                {
                    select.Append(", ").Append(expression);
                }
            }

            select.Append(" FROM ").Append(table);
            await using var command = new NpgsqlCommand(select.ToString(), connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            rowCount = reader.GetInt64(0);
            var field = 1;
            foreach (var column in group)
            {
                profiles.Add(ReadColumn(reader, column, KindOf(column.Type), rowCount, ref field));
            }
        }

        for (var i = 0; i < profiles.Count; i++)
        {
            if (KindOf(profiles[i].Type) == ColumnKind.Text && profiles[i].Count > 0)
            {
                profiles[i] = profiles[i] with { Top = await TopTextValuesAsync(connection, table, profiles[i].Name, cancellationToken) };
            }
        }

        return new DatasetProfile(DateTimeOffset.UtcNow, rowCount, profiles);
    }

    /// <summary>The aggregate expressions of one column; <see cref="ReadColumn"/> reads them back in this order.</summary>
    private static IEnumerable<string> Aggregates(string name, ColumnKind kind)
    {
        var q = SqlIdentifier.Quote(name);
        yield return $"count({q})";
        yield return kind == ColumnKind.Other ? $"count(DISTINCT {q}::text)" : $"count(DISTINCT {q})";
        switch (kind)
        {
            case ColumnKind.Numeric:
                yield return $"to_jsonb(min({q}))";
                yield return $"to_jsonb(max({q}))";
                yield return $"to_jsonb(avg({q})::float8)";
                yield return $"to_jsonb(stddev_samp({q})::float8)";
                break;
            case ColumnKind.Temporal:
                yield return $"to_jsonb(min({q}))";
                yield return $"to_jsonb(max({q}))";
                break;
            case ColumnKind.Boolean:
                // No min/max for boolean in PostgreSQL: bool_and is the minimum, bool_or the maximum.
                yield return $"to_jsonb(bool_and({q}))";
                yield return $"to_jsonb(bool_or({q}))";
                yield return $"count(*) FILTER (WHERE {q})";
                yield return $"count(*) FILTER (WHERE NOT {q})";
                break;
            case ColumnKind.Text:
                yield return $"to_jsonb(min({q} COLLATE \"C\"))";
                yield return $"to_jsonb(max({q} COLLATE \"C\"))";
                yield return $"min(char_length({q}))";
                yield return $"max(char_length({q}))";
                break;
        }
    }

    private static ColumnProfile ReadColumn(NpgsqlDataReader reader, DatasetColumn column, ColumnKind kind, long rowCount, ref int field)
    {
        var count = reader.GetInt64(field++);
        var distinct = reader.GetInt64(field++);
        var profile = new ColumnProfile(column.Name, column.Type, count, rowCount - count, distinct, null, null, null, null, null, null, null);
        switch (kind)
        {
            case ColumnKind.Numeric:
                return profile with
                {
                    Min = Json(reader, field++),
                    Max = Json(reader, field++),
                    Mean = Json(reader, field++),
                    Stddev = Json(reader, field++),
                };
            case ColumnKind.Temporal:
                return profile with { Min = Json(reader, field++), Max = Json(reader, field++) };
            case ColumnKind.Boolean:
                var min = Json(reader, field++);
                var max = Json(reader, field++);
                var trues = reader.GetInt64(field++);
                var falses = reader.GetInt64(field++);
                TopValue[] top = trues > falses ? [new(true, trues), new(false, falses)] : [new(false, falses), new(true, trues)];
                return profile with { Min = min, Max = max, Top = [.. top.Where(t => t.Count > 0)] };
            case ColumnKind.Text:
                var first = Json(reader, field++);
                var last = Json(reader, field++);
                int? minLength = reader.IsDBNull(field) ? null : reader.GetInt32(field);
                int? maxLength = reader.IsDBNull(field + 1) ? null : reader.GetInt32(field + 1);
                field += 2;
                return profile with { Min = first, Max = last, MinLength = minLength, MaxLength = maxLength, Top = [] };
            default:
                return profile;
        }
    }

    private static async Task<IReadOnlyList<TopValue>> TopTextValuesAsync(
        NpgsqlConnection connection, string table, string name, CancellationToken cancellationToken)
    {
        var q = SqlIdentifier.Quote(name);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT {q}::text, count(*) FROM {table}
            WHERE {q} IS NOT NULL
            GROUP BY {q}
            ORDER BY count(*) DESC, {q} COLLATE "C"
            LIMIT {TopValueCount}
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var top = new List<TopValue>(TopValueCount);
        while (await reader.ReadAsync(cancellationToken))
        {
            top.Add(new TopValue(reader.GetString(0), reader.GetInt64(1)));
        }

        return top;
    }

    private static JsonNode? Json(NpgsqlDataReader reader, int field) =>
        reader.IsDBNull(field) ? null : JsonNode.Parse(reader.GetString(field));

    /// <summary>The statistics a column gets, from its type as <c>format_type</c> writes it.</summary>
    private static ColumnKind KindOf(string type) => type switch
    {
        "smallint" or "integer" or "bigint" or "real" or "double precision" => ColumnKind.Numeric,
        _ when type.StartsWith("numeric", StringComparison.Ordinal) => ColumnKind.Numeric,
        "boolean" => ColumnKind.Boolean,
        "date" or "interval" => ColumnKind.Temporal,
        _ when type.StartsWith("timestamp", StringComparison.Ordinal) || type.StartsWith("time ", StringComparison.Ordinal)
            || type.StartsWith("time(", StringComparison.Ordinal) || type.StartsWith("interval", StringComparison.Ordinal) => ColumnKind.Temporal,
        "text" => ColumnKind.Text,
        _ when type.StartsWith("character", StringComparison.Ordinal) => ColumnKind.Text,
        _ => ColumnKind.Other,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
            Message = "Profile job {JobId} profiled dataset {Dataset}: {ColumnCount} columns, {RowCount} rows in {ElapsedMs} ms")]
        public static partial void ProfileCompleted(ILogger logger, Guid jobId, string dataset, int columnCount, long rowCount, double elapsedMs);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
            Message = "Profile job {JobId}: dataset {Dataset} was replaced while being profiled (round {Round}); profiling again")]
        public static partial void DatasetChanged(ILogger logger, Guid jobId, string dataset, int round);
    }
}
