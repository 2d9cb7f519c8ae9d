using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DataStack.Testing;
using Npgsql;

namespace DataStack.AppHost.Tests;

/// <summary>
/// Processing's deploy image, run the way a deployment runs it: a container next to a postgres container on one
/// network, configured by the wiring contract only. Real Docker, nothing pulled: both images must be local
/// (<see cref="ProcessingImageVariable"/>, <see cref="PostgresImageVariable"/>).
/// </summary>
public sealed class ProcessingImageTests
{
    public const string ProcessingImageVariable = "DATASTACK_PROCESSING_IMAGE";
    public const string PostgresImageVariable = "DATASTACK_POSTGRES_IMAGE";

    private static TimeSpan TestTimeout { get; } = TimeSpan.FromMinutes(5);
    private static TimeSpan StartupTimeout { get; } = TimeSpan.FromSeconds(120);
    private static TimeSpan PollInterval { get; } = TimeSpan.FromMilliseconds(250);

    private static string ProcessingImage => Environment.GetEnvironmentVariable(ProcessingImageVariable) ?? "datastack-processing:dev";
    // The image the AppHost would run (its Images:Postgres setting, as the environment gives it), else its public default.
    private static string PostgresImage =>
        Environment.GetEnvironmentVariable(PostgresImageVariable) ?? Environment.GetEnvironmentVariable("Images__Postgres") ?? "docker.io/library/postgres:17.6";

    [DockerFact]
    public async Task ProcessingImageRunsAsANonRootUserAndAdvertisesPort8080()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        await RequireImagesAsync([ProcessingImage], cts.Token);

        // Act
        var user = await DockerSandbox.InspectImageAsync(ProcessingImage, "{{.Config.User}}", cts.Token);
        var ports = await DockerSandbox.InspectImageAsync(ProcessingImage, "{{range $port, $_ := .Config.ExposedPorts}}{{$port}} {{end}}", cts.Token);

        // Assert
        Assert.False(string.IsNullOrEmpty(user), "The image has no user: it would run as root.");
        Assert.DoesNotContain(user.Split(':')[0], new[] { "0", "root" });
        Assert.Contains("8080/tcp", ports.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [DockerFact]
    public async Task ProcessingImageServesHealthAndIngestsACsvIntoThePostgresContainer()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        await RequireImagesAsync([ProcessingImage, PostgresImage], cts.Token);
        await using var sandbox = await DockerSandbox.CreateAsync(cts.Token);
        var postgresPassword = Guid.NewGuid().ToString("N");
        var apiKey = Guid.NewGuid().ToString("N");

        var postgresPort = await sandbox.StartAsync(
            "postgres",
            PostgresImage,
            5432,
            new Dictionary<string, string> { ["POSTGRES_USER"] = "postgres", ["POSTGRES_PASSWORD"] = postgresPassword },
            [],
            cts.Token);
        var server = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = postgresPort,
            Username = "postgres",
            Password = postgresPassword,
            Database = "postgres",
        };
        await WaitForPostgresAsync(sandbox, server.ConnectionString, cts.Token);
        // What the AppHost's AddDatabase("analytics") does once the server is up.
        await Sql.ExecuteAsync(server.ConnectionString, "CREATE DATABASE analytics");

        // Exactly the wiring contract, with the database reached by its network alias as in a deployment.
        var processingPort = await sandbox.StartAsync(
            "processing",
            ProcessingImage,
            8080,
            new Dictionary<string, string>
            {
                ["ConnectionStrings__analytics"] = $"Host=postgres;Port=5432;Username=postgres;Password={postgresPassword};Database=analytics",
                ["Processing__ApiKey"] = apiKey,
                ["Processing__DataDir"] = "/data",
            },
            // The volume a deployment mounts at /data (uploads are spooled there); writable by the image's user.
            ["--mount", "type=tmpfs,destination=/data,tmpfs-mode=1777"],
            cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{processingPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var csv = new StringContent("trip_id,passenger_count,fare\n1,2,12.5\n2,1,7.25\n3,4,30\n");
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        // Processing answers /health 200 once migrated (the helper fails the test with its log otherwise).
        await WaitForHealthAsync(sandbox, http, cts.Token);

        // Act
        using var upload = await http.PutAsync("/datasets/image_trips?mode=replace", csv, cts.Token);
        var uploadBody = await upload.Content.ReadAsStringAsync(cts.Token);
        Assert.True(upload.StatusCode == HttpStatusCode.Accepted, $"PUT /datasets/image_trips answered {(int)upload.StatusCode}: {uploadBody}");
        var jobId = ReadJobId(uploadBody);
        using var wait = await http.GetAsync($"/jobs/{jobId}/wait?timeout=30", cts.Token);
        var job = await wait.Content.ReadAsStringAsync(cts.Token);

        // Assert
        Assert.Equal(HttpStatusCode.OK, wait.StatusCode);
        using (var jobDocument = JsonDocument.Parse(job))
        {
            if (jobDocument.RootElement.GetProperty("status").GetString() != "succeeded")
            {
                Assert.Fail($"The ingest job did not succeed: {job}\n{await sandbox.LogsAsync("processing", cts.Token)}");
            }
        }

        var analytics = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = "analytics" }.ConnectionString;
        var rows = await Sql.RowsAsync(analytics, "SELECT trip_id, passenger_count, fare FROM datasets.image_trips ORDER BY trip_id");
        object?[][] expected = [[1L, 2L, 12.5], [2L, 1L, 7.25], [3L, 4L, 30.0]];
        Assert.Equal(expected, rows);
    }

    /// <summary>Fails, naming the script or command that builds it, when an image is not in the local image store.</summary>
    private static async Task RequireImagesAsync(IReadOnlyList<string> images, CancellationToken cancellationToken)
    {
        if (ContainerRuntime.Unavailability is { } reason)
        {
            // Reached only when the runtime is required (DockerFact skips otherwise).
            Assert.Fail($"A container runtime is required here ({ContainerRuntime.RequireVariable}=1 or CI=true) but none answers: {reason}");
        }

        foreach (var image in images)
        {
            if (await DockerSandbox.ImageExistsAsync(image, cancellationToken))
            {
                continue;
            }

            Assert.Fail(image == ProcessingImage
                ? $"The Processing image '{image}' is not in the local image store. Build it with tests/images/build-processing-image.sh "
                  + $"(offline, on a local stand-in base), or where mcr.microsoft.com is reachable with "
                  + $"`dotnet publish Processing -t:PublishContainer -p:ContainerImageTags=dev`; or point {ProcessingImageVariable} at another image."
                : $"The postgres image '{image}' is not in the local image store. Build the local stand-ins with tests/images/build-standins.sh, "
                  + $"or set {PostgresImageVariable} to an image you have (for example postgres:17.6 after `docker pull postgres:17.6`).");
        }
    }

    /// <summary>Polls until PostgreSQL accepts a connection on the published port, or fails with the container's output.</summary>
    private static async Task WaitForPostgresAsync(DockerSandbox sandbox, string connectionString, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartupTimeout;
        while (true)
        {
            try
            {
                await Sql.ScalarAsync<int>(connectionString, "SELECT 1");
                return;
            }
            catch (Exception ex) when ((ex is NpgsqlException or IOException) && DateTime.UtcNow < deadline)
            {
                if (!await sandbox.IsRunningAsync("postgres", cancellationToken))
                {
                    Assert.Fail($"The postgres container exited before accepting connections.\n{await sandbox.LogsAsync("postgres", cancellationToken)}");
                }

                await Task.Delay(PollInterval, cancellationToken);
            }
        }
    }

    /// <summary>Polls GET /health until it answers 200; fails the test with the last answer and the log when the container exits or time runs out.</summary>
    private static async Task WaitForHealthAsync(DockerSandbox sandbox, HttpClient http, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartupTimeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync("/health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            if (!await sandbox.IsRunningAsync("processing", cancellationToken))
            {
                break;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        Assert.Fail($"Processing's /health did not answer 200 (last: {last}).\n{await sandbox.LogsAsync("processing", cancellationToken)}");
    }

    private static string ReadJobId(string json)
    {
        using var document = JsonDocument.Parse(json);
        var id = document.RootElement.GetProperty("id");
        return id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
    }
}
