using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;

namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>Generated CSV files and their upload.</summary>
public static class CsvFiles
{
    /// <summary>Writes <paramref name="rows"/> typed rows (bigint, text, double, date, boolean) to a temp file.</summary>
    public static async Task<string> WriteTypedAsync(int rows, string directory)
    {
        var path = Path.Combine(directory, $"generated-{rows}-{Guid.NewGuid():N}.csv");
        await using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        await writer.WriteAsync("id,name,score,day,flag\n");
        var line = new StringBuilder();
        for (var i = 0; i < rows; i++)
        {
            line.Clear();
            line.Append(CultureInfo.InvariantCulture, $"{i},\"name, {i}\",{i * 0.25},2024-{(i % 12) + 1:D2}-{(i % 28) + 1:D2},{(i % 3 == 0 ? "true" : "false")}\n");
            await writer.WriteAsync(line);
        }

        return path;
    }

    /// <summary>POST /datasets/{name}/ingest of a file in the replicas' shared data folder (its path relative to it), replacing.</summary>
    public static async Task<HttpResponseMessage> IngestFileAsync(HttpClient client, string dataset, string relativePath) =>
        await client.PostAsJsonAsync($"/datasets/{dataset}/ingest", new { path = relativePath, mode = "replace" });

    /// <summary>Uploads <paramref name="rows"/> generated rows as the dataset's version (replacing) and returns the job once it succeeded.</summary>
    public static async Task<WireJob> UploadVersionAsync(HttpClient client, string dataset, int rows, string directory)
    {
        await using var body = File.OpenRead(await WriteTypedAsync(rows, directory));
        using var response = await UploadAsync(client, dataset, body);
        await Api.EnsureSuccessAsync(response, $"PUT /datasets/{dataset}");
        var job = await Api.WaitAsync(client, (await response.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
        Assert.True(job.Status == "succeeded", $"The upload of dataset {dataset} did not succeed: {job}");
        return job;
    }

    /// <summary>PUT /datasets/{name} with the bytes of a file (streamed) or of a buffer.</summary>
    public static async Task<HttpResponseMessage> UploadAsync(HttpClient client, string dataset, Stream body, string query = "?mode=replace")
    {
        using var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return await client.PutAsync($"/datasets/{dataset}{query}", content);
    }
}
