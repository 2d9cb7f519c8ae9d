using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Datasets;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Tests.Infrastructure;

/// <summary>
/// Datasets made directly in SQL (table in schema <c>datasets</c> + catalog entry), so profile and transform
/// tests do not depend on ingest.
/// </summary>
public static class TestDatasets
{
    /// <summary>A fresh valid dataset name with the given prefix.</summary>
    public static string NewName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];

    /// <summary>
    /// Creates <c>datasets."name"</c> with <paramref name="columnsSql"/> (e.g. <c>id bigint, city text</c>), runs
    /// <paramref name="insertSql"/> (may be empty; <c>{table}</c> stands for the quoted table) and records it in the catalog.
    /// </summary>
    public static async Task CreateAsync(string connectionString, string name, string columnsSql, string insertSql = "")
    {
        var table = DatasetName.QualifiedTable(name);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand($"CREATE TABLE {table} ({columnsSql})", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        if (!string.IsNullOrEmpty(insertSql))
        {
            await using var insert = new NpgsqlCommand(insertSql.Replace("{table}", table, StringComparison.Ordinal), connection);
            await insert.ExecuteNonQueryAsync();
        }

        long rows;
        await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection))
        {
            rows = (long)(await count.ExecuteScalarAsync())!;
        }

        var columns = await DatasetCatalog.ReadTableColumnsAsync(connection, name, CancellationToken.None);
        await DatasetCatalog.UpsertAsync(connection, name, columns, rows, "test", null, null, CancellationToken.None);
        await transaction.CommitAsync();
    }

    public static async Task<Dataset?> GetAsync(this ProcessingApp app, string name)
    {
        using var response = await app.Client.GetAsync($"/datasets/{name}");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<Dataset>(JsonSerializerOptions.Web) : null;
    }

    /// <summary>Queues a profile of the dataset and waits for the job to end.</summary>
    public static async Task<Job> ProfileAndWaitAsync(this ProcessingApp app, string name)
    {
        using var response = await app.Client.PostAsync($"/datasets/{name}/profile", null);
        response.EnsureSuccessStatusCode();
        var job = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        return await app.WaitAsync(job!.Id);
    }

    /// <summary>Submits a transform; returns the HTTP response (202, or 400 when refused at submission).</summary>
    public static Task<HttpResponseMessage> TransformAsync(this ProcessingApp app, string name, string? query) =>
        app.Client.PostAsJsonAsync($"/datasets/{name}/transform", new { query });

    /// <summary>Submits a transform that must be accepted, and waits for the job to end.</summary>
    public static async Task<Job> TransformAndWaitAsync(this ProcessingApp app, string name, string query)
    {
        using var response = await app.TransformAsync(name, query);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST /datasets/{name}/transform answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var job = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        return await app.WaitAsync(job!.Id);
    }

    /// <summary>Staging tables a transform left behind (there must never be any once it ended).</summary>
    public static Task<long> StagingTablesAsync(string connectionString) =>
        Sql.ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_tables WHERE schemaname = 'datasets' AND tablename LIKE 'transform-%'");
}
