using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using DataStack.Processing.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace DataStack.Processing.Transforms;

/// <summary>
/// <c>transform</c>: materialises one SELECT as dataset <c>{dataset}</c>. Args: <c>{ "dataset", "query" }</c>.
/// <para>
/// Transforms cannot write outside their dataset. The user's query runs only on a connection in a READ ONLY
/// transaction (with <c>statement_timeout</c> and <c>search_path = datasets</c>), wrapped as a subquery:
/// <c>SELECT * FROM (…) AS q</c>, which admits neither other statements nor data-modifying CTEs, and any
/// function that tries to write fails. Its rows stream by binary COPY into a new table on a second, read-write
/// connection whose SQL is all ours; that transaction then swaps the table in, updates the catalog and ends
/// the job, so the old dataset stays exactly as it was unless all of it commits.
/// </para>
/// Result: <c>{ "dataset", "rows", "columns": [{ "name", "type" }] }</c>.
/// </summary>
public sealed partial class TransformJobHandler(
    NpgsqlDataSource dataSource, IOptions<TransformOptions> options, ILogger<TransformJobHandler> logger) : IJobHandler
{
    /// <summary>The role the user's query runs as, where it exists (created by migration 0002).</summary>
    internal const string TransformRole = "datastack_transform";

    public const string Source = "transform";

    /// <summary>The wrapper's text before the user's query; error positions are shifted back by its length.</summary>
    private const string WrapperPrefix = "SELECT * FROM (\n";

    /// <summary>A newline before the closing parenthesis, so a trailing -- comment in the query cannot swallow it.</summary>
    private const string WrapperSuffix = "\n) AS q";

    private const string CopyPrefix = "COPY (";

    /// <summary>PostgreSQL truncates longer identifiers (NAMEDATALEN - 1).</summary>
    private const int MaxIdentifierBytes = 63;

    private readonly TransformOptions _options = options.Value;

    /// <summary>The kind of job this handler runs.</summary>
    public const string KindName = "transform";

    public string Kind => KindName;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args)
    {
        var errors = new Dictionary<string, string[]>();
        if (args.ValueKind != JsonValueKind.Object)
        {
            errors["args"] = ["must be a JSON object with 'dataset' and 'query'"];
            return errors;
        }

        var dataset = args.TryGetProperty("dataset", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (!DatasetName.IsValid(dataset))
        {
            errors["dataset"] = [$"A dataset name is required: {DatasetName.Rule}."];
        }

        if (!args.TryGetProperty("query", out var q) || q.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            errors["query"] = ["A query is required."];
        }
        else if (q.ValueKind != JsonValueKind.String)
        {
            errors["query"] = ["The query must be a string."];
        }
        else if (!TransformQuery.TryParse(q.GetString(), out _, out var queryError))
        {
            errors["query"] = [queryError];
        }

        return errors;
    }

    public async Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        // Arguments were checked at submission; check again, since the queue may hold jobs from older versions.
        var errors = Validate(context.Args);
        if (errors.Count > 0)
        {
            var (field, messages) = errors.First();
            throw new JobFailedException(field == "query" ? "invalid_query" : "invalid_args", $"{field}: {messages[0]}");
        }

        var dataset = context.Args.GetProperty("dataset").GetString()!;
        var text = context.Args.GetProperty("query").GetString()!;
        TransformQuery.TryParse(text, out var query, out _);

        using var activity = ProcessingTelemetry.ActivitySource.StartActivity($"transform {dataset}");
        activity?.SetTag("datastack.dataset", dataset);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await RunAsync(context, dataset, text, query.Body, cancellationToken);
            activity?.SetTag("datastack.rows", context.Progress.Rows);
            Log.TransformCompleted(logger, context.Id, dataset, context.Progress.Rows, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (JobFailedException ex)
        {
            ProcessingTelemetry.RecordFailure(activity, ex, ex.Error.Code);
            Log.TransformRefused(logger, context.Id, dataset, ex.Error.Code);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ProcessingTelemetry.RecordFailure(activity, ex);
            throw;
        }
    }

    private async Task<JsonNode?> RunAsync(JobContext context, string dataset, string text, string body, CancellationToken cancellationToken)
    {
        var wrapped = WrapperPrefix + body + WrapperSuffix;
        var staging = DatasetName.InSchema($"transform-{context.Id:N}");

        // The user's query only ever runs here: read only, time-limited, seeing the datasets by their plain names.
        await using var read = await dataSource.OpenConnectionAsync(cancellationToken);

        // A session-level advisory lock the query takes (pg_advisory_lock) outlives the rollback that ends its
        // transaction, and the pool would hand it on with the connection: release it however the job ends.
        await using var releaseLocks = new AdvisoryLockRelease(read);
        await using var readTransaction = await read.BeginTransactionAsync(cancellationToken);
        await ExecuteOwnAsync(read, "SET TRANSACTION READ ONLY", cancellationToken);
        await using (var setup = new NpgsqlCommand(
            """
            SELECT set_config('statement_timeout', $1, true),
                   set_config('search_path', 'datasets', true),
                   set_config('standard_conforming_strings', 'on', true)
            """,
            read))
        {
            setup.Parameters.Add(new() { Value = $"{_options.TransformTimeoutSeconds}s" });
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        // Run as the datasets-only role where the migrations could create it (see 0002_transform_role.sql).
        await using (var role = new NpgsqlCommand(
            $"SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TransformRole}') THEN pg_has_role('{TransformRole}', 'MEMBER') ELSE false END",
            read))
        {
            if (await role.ExecuteScalarAsync(cancellationToken) is true)
            {
                await ExecuteOwnAsync(read, $"SET LOCAL ROLE {TransformRole}", cancellationToken);
            }
        }

        var columns = await DescribeAsync(read, wrapped, text, cancellationToken);

        await using var write = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var writeTransaction = await write.BeginTransactionAsync(cancellationToken);
        var columnList = string.Join(", ", columns.Select(c => SqlIdentifier.Quote(c.Name)));
        await ExecuteOwnAsync(
            write,
            $"CREATE TABLE {staging} ({string.Join(", ", columns.Select(c => $"{SqlIdentifier.Quote(c.Name)} {c.Type}"))})",
            cancellationToken);

        var rows = await TransformCopy.CopyAsync(context, read, $"{CopyPrefix}{wrapped}) TO STDOUT (FORMAT BINARY)", write,
            $"COPY {staging} ({columnList}) FROM STDIN (FORMAT BINARY)", text, CopyPrefix.Length + WrapperPrefix.Length, cancellationToken);

        // End the read transaction before touching the old table: its locks would block the DROP below forever
        // (PostgreSQL cannot see a deadlock that runs through this process).
        await readTransaction.RollbackAsync(cancellationToken);
        await releaseLocks.DisposeAsync();

        var target = DatasetName.QualifiedTable(dataset);
        await ExecuteOwnAsync(write, $"DROP TABLE IF EXISTS {target}", cancellationToken);
        await ExecuteOwnAsync(write, $"ALTER TABLE {staging} RENAME TO {SqlIdentifier.Quote(dataset)}", cancellationToken);
        var stored = await DatasetCatalog.ReadTableColumnsAsync(write, dataset, cancellationToken);
        await DatasetCatalog.UpsertAsync(write, dataset, stored, rows, Source, Checksum(text), context.Id, cancellationToken);

        var result = new JsonObject
        {
            ["dataset"] = dataset,
            ["rows"] = rows,
            ["columns"] = new JsonArray([.. stored.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["type"] = c.Type })]),
        };
        await context.CompleteInTransactionAsync(write, result, cancellationToken);
        await writeTransaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>
    /// The result columns, without running the query (Parse + Describe only). Types come with their modifiers
    /// for the built-in types (<c>numeric(10,2)</c>, <c>character varying(20)</c>); any other type is named by
    /// the server's <c>format_type</c>, which quotes and qualifies it as needed.
    /// </summary>
    private static async Task<IReadOnlyList<DatasetColumn>> DescribeAsync(
        NpgsqlConnection read, string wrapped, string text, CancellationToken cancellationToken)
    {
        var columns = new List<(string Name, string? Type, uint Oid)>();
        try
        {
            await using var command = new NpgsqlCommand(wrapped, read);
            await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SchemaOnly, cancellationToken);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var type = reader.GetPostgresType(i);
                var element = type is Npgsql.PostgresTypes.PostgresArrayType array ? array.Element : type;
                var builtIn = element is Npgsql.PostgresTypes.PostgresBaseType && element.Namespace == "pg_catalog";
                columns.Add((reader.GetName(i), builtIn ? reader.GetDataTypeName(i) : null, reader.GetDataTypeOID(i)));
            }
        }
        catch (PostgresException ex) when (!cancellationToken.IsCancellationRequested && TransformFailures.ToJobFailure(ex, text, WrapperPrefix.Length) is { } failure)
        {
            throw failure;
        }

        CheckColumnNames(columns.Select(c => c.Name).ToList());

        var described = new List<DatasetColumn>(columns.Count);
        foreach (var (name, type, oid) in columns)
        {
            if (type is not null)
            {
                described.Add(new DatasetColumn(name, type));
                continue;
            }

            await using var format = new NpgsqlCommand("SELECT format_type($1, NULL)", read);
            format.Parameters.Add(new() { Value = oid, NpgsqlDbType = NpgsqlDbType.Oid });
            described.Add(new DatasetColumn(name, (string)(await format.ExecuteScalarAsync(cancellationToken))!));
        }

        return described;
    }

    private static void CheckColumnNames(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            throw new JobFailedException("invalid_columns", "The query returns no columns.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (name.Length == 0)
            {
                throw new JobFailedException("invalid_columns", "Every result column needs a name; name expressions with AS.");
            }

            if (Encoding.UTF8.GetByteCount(name) > MaxIdentifierBytes)
            {
                throw new JobFailedException("invalid_columns", $"The column name '{UserInput.Excerpt(name)}' is longer than {MaxIdentifierBytes} bytes.");
            }

            if (!seen.Add(name))
            {
                var hint = name == "?column?" ? " (an unnamed expression; name it with AS)" : "";
                throw new JobFailedException("invalid_columns", $"The result has more than one column named '{name}'{hint}; column names must be unique.");
            }
        }
    }

    private static async Task ExecuteOwnAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (!cancellationToken.IsCancellationRequested && TransformFailures.ToJobFailure(ex, text: null, 0) is { } failure)
        {
            // E.g. a result column of a pseudo-type (record) that no table can hold.
            throw failure;
        }
    }

    /// <summary>What produced the dataset: the SHA-256 of the query text, as <c>sha256:{hex}</c> like an ingested file's.</summary>
    private static string Checksum(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information,
            Message = "Transform job {JobId} materialised dataset {Dataset}: {RowCount} rows in {ElapsedMs} ms")]
        public static partial void TransformCompleted(ILogger logger, Guid jobId, string dataset, long rowCount, double elapsedMs);

        // The code only: PostgreSQL's message can quote row data, which logs never carry.
        [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Transform job {JobId} for dataset {Dataset} refused: {ErrorCode}")]
        public static partial void TransformRefused(ILogger logger, Guid jobId, string dataset, string errorCode);
    }
}
