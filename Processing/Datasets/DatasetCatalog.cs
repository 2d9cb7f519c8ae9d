using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace DataStack.Processing.Datasets;

/// <summary>Reads and writes <c>datastack.datasets</c>, the catalog of the tables in schema <c>datasets</c>.</summary>
public sealed class DatasetCatalog(NpgsqlDataSource dataSource)
{
    private const string SelectColumns = "name, columns, row_count, source, checksum, created_at, updated_at, profile, job_id";

    public async Task<Dataset?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {SelectColumns} FROM datastack.datasets WHERE name = $1");
        command.Parameters.Add(new() { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<Dataset>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {SelectColumns} FROM datastack.datasets ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<Dataset>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(Read(reader));
        }

        return result;
    }

    /// <summary>
    /// Records a dataset in the catalog on the caller's connection, so it commits (or not) with the data.
    /// A replaced dataset keeps its creation time; its profile is dropped because the data changed.
    /// </summary>
    public static async Task UpsertAsync(
        NpgsqlConnection connection,
        string name,
        IReadOnlyList<DatasetColumn> columns,
        long rowCount,
        string source,
        string? checksum,
        Guid? jobId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO datastack.datasets (name, columns, row_count, source, checksum, job_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (name) DO UPDATE SET
                columns = excluded.columns,
                row_count = excluded.row_count,
                source = excluded.source,
                checksum = excluded.checksum,
                job_id = excluded.job_id,
                profile = NULL,
                updated_at = now()
            """,
            connection);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(columns, JsonSerializerOptions.Web), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = rowCount });
        command.Parameters.Add(new() { Value = source });
        command.Parameters.Add(new() { Value = (object?)checksum ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = jobId.HasValue ? jobId.Value : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The columns of an existing data table, as PostgreSQL knows them, in order.</summary>
    public static async Task<IReadOnlyList<DatasetColumn>> ReadTableColumnsAsync(
        NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """,
            connection);
        command.Parameters.Add(new() { Value = DatasetName.Schema });
        command.Parameters.Add(new() { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var columns = new List<DatasetColumn>();
        while (await reader.ReadAsync(cancellationToken))
        {
            columns.Add(new DatasetColumn(reader.GetString(0), reader.GetString(1)));
        }

        return columns;
    }

    /// <summary>
    /// Stores a profile on the caller's connection (so it commits with the job's end), but only while the dataset
    /// is still the version that was profiled: <paramref name="profiledVersion"/> is its <c>updated_at</c> as read
    /// in the profile's snapshot. Returns false when the dataset was replaced or deleted meanwhile.
    /// </summary>
    public static async Task<bool> SetProfileAsync(
        NpgsqlConnection connection, string name, JsonElement profile, DateTimeOffset profiledVersion, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("UPDATE datastack.datasets SET profile = $2 WHERE name = $1 AND updated_at = $3", connection);
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = profile.GetRawText(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = profiledVersion });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Drops the data table and its catalog entry together. Returns false when there was no such dataset.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {DatasetName.QualifiedTable(name)}", connection))
        {
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var delete = new NpgsqlCommand("DELETE FROM datastack.datasets WHERE name = $1", connection);
        delete.Parameters.Add(new() { Value = name });
        var deleted = await delete.ExecuteNonQueryAsync(cancellationToken) > 0;
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    private static Dataset Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        JsonSerializer.Deserialize<List<DatasetColumn>>(reader.GetString(1), JsonSerializerOptions.Web) ?? [],
        reader.GetInt64(2),
        reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetFieldValue<DateTimeOffset>(6),
        reader.IsDBNull(7) ? null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(7)),
        reader.IsDBNull(8) ? null : reader.GetGuid(8));
}
