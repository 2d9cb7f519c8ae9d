using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Api;
using DataStack.Processing.Jobs;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DataStack.Processing.Tests.Infrastructure;

/// <summary>
/// The Processing service on Kestrel (real HTTP on a loopback port) against its own database on the shared
/// throwaway PostgreSQL server, configured exactly through the wiring contract's settings.
/// </summary>
public sealed class ProcessingApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly Dictionary<string, string?> _settings = [];

    public string ApiKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public string DataDir { get; } = Directory.CreateTempSubdirectory("datastack-data-").FullName;

    public string ConnectionString { get; private set; } = "";

    public PostgresServer Postgres { get; private set; } = null!;

    /// <summary>An authenticated client (bearer key set) on the real server.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Extra configuration, e.g. <c>Processing:MaxUploadBytes</c>; set before <see cref="InitializeAsync"/>.</summary>
    public ProcessingApp With(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.SharedAsync();
        ConnectionString = _settings.TryGetValue("ConnectionStrings:analytics", out var given) && given is not null
            ? given
            : await Postgres.CreateDatabaseAsync("processing");
        UseKestrel(0);
        StartServer();
        Client = CreateAuthenticatedClient();
    }

    public HttpClient CreateAuthenticatedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:analytics", ConnectionString);
        builder.UseSetting("Processing:ApiKey", ApiKey);
        builder.UseSetting("Processing:DataDir", DataDir);
        builder.UseSetting("Processing:LeaseSeconds", "5");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        // UseKestrel(0) sets Kestrel up again after Program's registrations, its own memory pool with it; the
        // served app reads into LargeBlockMemoryPool's blocks (a ProcessingProcess test checks that), and so do these.
        builder.ConfigureServices(services => services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>());
        return base.CreateHost(builder);
    }

    /// <summary>Writes a file into the data folder and returns its path relative to it.</summary>
    public string WriteDataFile(string relativePath, string contents)
    {
        var full = Path.Combine(DataDir, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, contents, new UTF8Encoding(false));
        return relativePath;
    }

    /// <summary>Uploads CSV text with PUT and returns the queued job.</summary>
    public async Task<Job> UploadAsync(string dataset, string csv, string query = "")
    {
        using var content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await Client.PutAsync($"/datasets/{dataset}{query}", content);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"PUT /datasets/{dataset} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web))!;
    }

    /// <summary>
    /// Uploads a body of any content type with PUT, checks it was queued (202) and waits for the ingest job to end.
    /// </summary>
    public async Task<Job> UploadBytesAndWaitAsync(string dataset, byte[] body, string contentType = "text/csv", string query = "")
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await Client.PutAsync($"/datasets/{dataset}{query}", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        return await WaitAsync(job!.Id);
    }

    /// <summary>
    /// No staged upload and no replaced table is left in schema <c>datasets</c>. A replace drops the old table right after
    /// its job's commit, which is when the job reads as ended: allow a moment for that.
    /// </summary>
    public Task AssertNoAsideTablesAsync()
    {
        const string Query = "SELECT coalesce(string_agg(relname, ', '), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE n.nspname = 'datasets' AND (relname LIKE 'upload-%' OR relname LIKE 'replaced-%')";
        return Poll.UntilAsync(
            async () => await Sql.ScalarAsync<string>(ConnectionString, Query) ?? "",
            left => left == "",
            TimeSpan.FromSeconds(5),
            "no staged upload or replaced table left in schema datasets (last value: the tables left)");
    }

    /// <summary>Waits (server side, LISTEN/NOTIFY) until the job has ended.</summary>
    public async Task<Job> WaitAsync(Guid jobId, int timeoutSeconds = 60)
    {
        var job = await Client.GetFromJsonAsync<Job>($"/jobs/{jobId}/wait?timeout={timeoutSeconds}", JsonSerializerOptions.Web);
        return job!;
    }

    /// <summary>Uploads and waits for the ingest job to end.</summary>
    public async Task<Job> UploadAndWaitAsync(string dataset, string csv, string query = "") =>
        await WaitAsync((await UploadAsync(dataset, csv, query)).Id);

    public override async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        await base.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
