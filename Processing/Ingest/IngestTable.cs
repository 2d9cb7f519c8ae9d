using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Ingest;

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
        var definitions = string.Join(", ", columns.Select(c => $"{DatasetName.QuoteIdentifier(c.Name)} {c.Type}"));
        await using var command = new NpgsqlCommand($"CREATE TABLE {table} ({definitions})", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The type to write each column as when appending: the existing column's. The input must have the same
    /// columns in the same order, and every input type must fit the existing one — for CSV checked here on
    /// the inferred types (an all-empty column fits anything); for the columns format checked per non-NULL
    /// value while copying (<see cref="ColumnConversions"/>).
    /// </summary>
    public static ColumnType[] MatchExistingColumns(string name, IReadOnlyList<DatasetColumn> existing, IngestSource source)
    {
        var inputColumns = source.ColumnNames;
        for (var i = 0; i < Math.Max(existing.Count, inputColumns.Count); i++)
        {
            if (i >= existing.Count || i >= inputColumns.Count || existing[i].Name != inputColumns[i])
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"The file's columns ({string.Join(", ", inputColumns)}) differ from dataset '{name}''s ({string.Join(", ", existing.Select(c => c.Name))}) at column {i + 1}.",
                    source.HeaderRow,
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

            if (source.AllNull is { } allNull && !allNull[i] && !Fits(source.Types[i], types[i]))
            {
                throw new JobFailedException(
                    "schema_mismatch",
                    $"Column '{existing[i].Name}' holds {source.Types[i].ToSql()} values; dataset '{name}' has it as {types[i].ToSql()}.",
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

    /// <summary>Drops the old table (if any) and gives the staging table its name; readers wait only for this moment.</summary>
    public static async Task SwapInAsync(NpgsqlConnection connection, string name, string stagingTable, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(
                $"""
                DROP TABLE IF EXISTS {DatasetName.QualifiedTable(name)};
                ALTER TABLE {stagingTable} RENAME TO {DatasetName.QuoteIdentifier(name)};
                """,
                connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
        {
            throw new JobFailedException("dependent_objects", $"Dataset '{name}' cannot be replaced: {ex.MessageText}. {ex.Detail}");
        }
    }

    public static async Task<long> CountRowsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
