using DataStack.Processing.Database;
using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Ingest.Copying;

/// <summary>
/// What an ingest does to a dataset's table inside its transaction: lock the dataset, check what exists, create
/// the staging table, match the existing columns when appending, swap the staging table in, count the rows.
/// </summary>
internal static class IngestTable
{
    /// <summary>Serialises ingests of one dataset (on every replica) until the transaction ends.</summary>
    public static async Task LockDatasetAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('datastack.ingest:' || $1, 0))", connection);
        command.Parameters.Add(new() { Value = name });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A dataset exists when it has a catalog entry or a table.</summary>
    public static async Task<bool> ExistsAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM datastack.datasets WHERE name = $1) OR to_regclass($2) IS NOT NULL", connection);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = DatasetName.QualifiedTable(name) });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary><c>{name}__ingest_{first 8 hex digits of the job id}</c>, the name cut so the whole stays within 63 bytes.</summary>
    public static string StagingTableName(string name, Guid jobId)
    {
        var suffix = "__ingest_" + jobId.ToString("N")[..8];
        return name[..Math.Min(name.Length, 63 - suffix.Length)] + suffix;
    }

    public static async Task CreateTableAsync(
        NpgsqlConnection connection, string table, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        var definitions = string.Join(", ", columns.Select(c => $"{SqlIdentifier.Quote(c.Name)} {c.Type}"));
        await using var command = new NpgsqlCommand($"CREATE TABLE {table} ({definitions})", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The type to write each column as when appending: the existing column's. The input must have the same
    /// columns in the same order, and every input type must fit the existing one — for CSV checked here on
    /// the inferred types (an all-empty column fits anything); for the columns format checked per non-NULL
    /// value while copying (<c>Columns.ColumnConversions</c>).
    /// </summary>
    public static ColumnType[] MatchExistingColumns(string name, IReadOnlyList<DatasetColumn> existing, IngestSource source)
    {
        var (inputColumns, inputTypes, allNull, headerRow) = (source.ColumnNames, source.Types, source.AllNull, source.HeaderRow);
        for (var i = 0; i < Math.Max(existing.Count, inputColumns.Count); i++)
        {
            if (i >= existing.Count || i >= inputColumns.Count || existing[i].Name != inputColumns[i])
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"The file's columns ({string.Join(", ", inputColumns)}) differ from dataset '{name}''s ({string.Join(", ", existing.Select(c => c.Name))}) at column {i + 1}.",
                    headerRow,
                    i + 1);
            }
        }

        var types = new ColumnType[existing.Count];
        for (var i = 0; i < types.Length; i++)
        {
            if (!ColumnTypes.TryParseSql(existing[i].Type, out types[i]))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Column '{existing[i].Name}' of dataset '{name}' has type {existing[i].Type}, which ingest cannot append to.",
                    column: i + 1);
            }

            if (allNull is not null && !allNull[i] && !Fits(inputTypes[i], types[i]))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Column '{existing[i].Name}' holds {inputTypes[i].ToSql()} values; dataset '{name}' has it as {types[i].ToSql()}.",
                    column: i + 1);
            }
        }

        return types;
    }

    /// <summary>Anything fits text; bigint fits double precision; date fits timestamp; every type fits itself.</summary>
    public static bool Fits(ColumnType inferred, ColumnType existing) =>
        inferred == existing
        || existing == ColumnType.Text
        || (inferred == ColumnType.Bigint && existing == ColumnType.DoublePrecision)
        || (inferred == ColumnType.Date && existing == ColumnType.Timestamp);

    /// <summary>Replaced tables are <c>replaced-{job id}</c>: the dash keeps them apart from every dataset name.</summary>
    public const string ReplacedPrefix = "replaced-";

    /// <summary>
    /// Gives the staging table the dataset's name; readers wait only for this moment. An old table is renamed
    /// aside, not dropped: a DROP's files are unlinked during COMMIT (docs/benchmarks.md, item 12), and the job's
    /// commit is what its caller waits for. Returns the old table's new name, to drop after the commit (the ingest's
    /// <c>StagedTableSweeper</c> drops any that a crash left behind), or null.
    /// </summary>
    public static async Task<string?> SwapInAsync(
        NpgsqlConnection connection, string name, string stagingTable, Guid jobId, CancellationToken cancellationToken)
    {
        var old = DatasetName.QualifiedTable(name);
        var replaced = ReplacedPrefix + jobId.ToString("N"); // hex digits only: safe inside the literal below
        try
        {
            // The DROP inside the savepoint is the check PostgreSQL makes for a replace (views or keys that
            // depend on the old table refuse it); rolled back, it costs nothing at commit.
            await using var command = new NpgsqlCommand(
                $"""
                SAVEPOINT replace_check;
                DROP TABLE IF EXISTS {old};
                ROLLBACK TO SAVEPOINT replace_check;
                ALTER TABLE IF EXISTS {old} RENAME TO {SqlIdentifier.Quote(replaced)};
                ALTER TABLE {stagingTable} RENAME TO {SqlIdentifier.Quote(name)};
                SELECT to_regclass('{DatasetName.InSchema(replaced)}') IS NOT NULL;
                """,
                connection);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken))! ? replaced : null;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
        {
            throw new JobFailedException("dependent_objects", $"Dataset '{name}' cannot be replaced: {ex.MessageText}. {ex.Detail}");
        }
    }

    /// <summary>
    /// Appends the rows of <paramref name="stagedTable"/> (same columns, same types: the caller checked) to
    /// <paramref name="target"/> and drops the staged table, in the caller's transaction.
    /// </summary>
    public static async Task AppendAsync(NpgsqlConnection connection, string target, string stagedTable, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"INSERT INTO {target} SELECT * FROM {stagedTable}; DROP TABLE {stagedTable}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<long> CountRowsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
