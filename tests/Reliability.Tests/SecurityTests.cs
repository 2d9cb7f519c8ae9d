using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DataStack.Reliability.Tests.Infrastructure;
using DataStack.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DataStack.Reliability.Tests;

/// <summary>The API key guards every route, secrets stay out of logs, and input cannot reach SQL or the file system.</summary>
public sealed partial class SecurityTests(SecuredReplica secured, ITestOutputHelper output) : IClassFixture<SecuredReplica>
{
    private static readonly HashSet<string> s_publicPaths = ["/health", "/alive", "/openapi/v1.json"];

    [Fact]
    public async Task EveryOperationInTheOpenApiDocumentRequiresTheKey()
    {
        // Arrange
        using var anonymous = secured.CreateAnonymousClient();
        using var wrongKey = secured.CreateAnonymousClient();
        wrongKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secured.Replica.ApiKey + "0");
        using var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var operations = (
            from path in document.RootElement.GetProperty("paths").EnumerateObject()
            from operation in path.Value.EnumerateObject()
            where operation.Name is "get" or "put" or "post" or "delete" or "patch"
            select (Method: new HttpMethod(operation.Name.ToUpperInvariant()), Path: path.Name)).ToList();

        // Act
        var failures = new List<string>();
        foreach (var (method, path) in operations)
        {
            foreach (var (client, who) in new[] { (anonymous, "no key"), (wrongKey, "a wrong key") })
            {
                using var request = new HttpRequestMessage(method, Concrete(path)) { Content = BodyFor(method) };
                using var response = await client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Unauthorized)
                {
                    failures.Add($"{method} {path} with {who}: {(int)response.StatusCode}");
                }
            }
        }

        // Assert
        output.WriteLine($"{operations.Count} operations checked");
        Assert.Contains(operations, o => o.Path == "/jobs/{id}/wait");
        Assert.Contains(operations, o => o.Path == "/datasets/{name}" && o.Method == HttpMethod.Put);
        Assert.Empty(failures);
        foreach (var path in s_publicPaths)
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task EveryMappedEndpointButHealthAndOpenApiRequiresTheKey()
    {
        // Arrange: the endpoint table itself (what the OpenAPI document might leave out), in process.
        await using var root = new WebApplicationFactory<Program>();
        await using var factory = root.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ConnectionStrings:analytics", secured.Set.ConnectionString);
            builder.UseSetting("Processing:ApiKey", secured.Set.ApiKey);
            builder.UseSetting("Processing:DataDir", secured.Set.DataDir);
        });
        using var anonymous = factory.CreateClient();
        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: new HttpMethod(method), Pattern: "/" + e.RoutePattern.RawText!.TrimStart('/'))))
            .Distinct()
            .ToList();

        // Act
        var failures = new List<string>();
        foreach (var (method, pattern) in endpoints)
        {
            var path = Concrete(pattern);
            using var request = new HttpRequestMessage(method, path) { Content = BodyFor(method) };
            using var response = await anonymous.SendAsync(request);
            var expected = s_publicPaths.Contains(path) ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
            if (response.StatusCode != expected)
            {
                failures.Add($"{method} {pattern}: {(int)response.StatusCode}, expected {(int)expected}");
            }
        }

        // Assert
        output.WriteLine($"{endpoints.Count} endpoints: {string.Join(", ", endpoints.Select(e => $"{e.Method} {e.Pattern}"))}");
        Assert.Contains(endpoints, e => e.Pattern == "/health");
        Assert.Contains(endpoints, e => e.Pattern.StartsWith("/jobs/", StringComparison.Ordinal));
        Assert.Empty(failures);
    }

    [Fact]
    public async Task NeitherTheApiKeyNorTheDatabasePasswordReachTheLogsEvenAtDebug()
    {
        // Arrange: a process of its own, logging everything at Debug.
        await using var set = await ReplicaSet.CreateAsync(environment: new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
            ["Logging__LogLevel__Npgsql"] = "Debug",
            ["Processing__MaxUploadBytes"] = "4096",
        });
        var replica = await set.StartReplicaAsync();
        var databasePassword = new NpgsqlConnectionStringBuilder(set.ConnectionString).Password!;
        using var client = replica.CreateClient();
        using var wrong = new HttpClient { BaseAddress = replica.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", replica.ApiKey + "x");
        using var anonymous = new HttpClient { BaseAddress = replica.BaseAddress };

        // Act: uploads (one too large), jobs (one failing), failing authentication, errors.
        using (var upload = await client.PutAsync("/datasets/secrets_probe", new StringContent("a,b\n1,2\n", Encoding.UTF8, "text/csv")))
        {
            Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
            await Api.WaitAsync(client, (await upload.Content.ReadFromJsonAsync<WireJob>(Api.Json))!.Id);
        }

        using (var tooLarge = await client.PutAsync("/datasets/secrets_big", new StringContent(new string('x', 10_000), Encoding.UTF8, "text/csv")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        }

        await Api.WaitAsync(client, (await Api.SubmitNoopAsync(client, durationMs: 10)).Id);
        await Api.WaitAsync(client, (await Api.SubmitNoopAsync(client, fail: true)).Id);
        using (var denied = await wrong.GetAsync("/datasets"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        }

        using (var noKey = await anonymous.PostAsJsonAsync("/jobs", new { kind = "noop" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        }

        using (var missing = await client.GetAsync("/datasets/does_not_exist"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        replica.Terminate();
        await replica.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        var log = replica.Output;

        // Assert: the capture is complete (the helper keeps only a tail past 256 KiB), and clean.
        output.WriteLine($"{log.Length} characters of Debug log checked");
        Assert.Contains("Now listening on", log, StringComparison.Ordinal);
        Assert.Contains("secrets_probe", log, StringComparison.Ordinal);
        Assert.DoesNotContain(replica.ApiKey, log, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(databasePassword, log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task InjectionAttemptsInDatasetNamesAre400AndChangeNoTable()
    {
        // Arrange
        string[] names =
        [
            "x\"; DROP TABLE datastack.jobs; --",
            "Robert'); DROP TABLE datastack.datasets;--",
            "a\" OR \"1\"=\"1",
            "datastack.jobs",
            "pg_catalog.pg_class",
            "x;select pg_sleep(5)",
            "UPPER",
            "1starts_with_digit",
            "has space",
            "has-dash",
            "ünïcödé",
            "x\u0000y",
            new string('a', 64),
            ".hidden",
        ];
        var before = await Db.TablesAsync(secured.Set.ConnectionString);
        var jobsBefore = await Sql.ScalarAsync<long>(secured.Set.ConnectionString, "SELECT count(*) FROM datastack.jobs");

        // Act
        var failures = new List<string>();
        foreach (var name in names)
        {
            var segment = Uri.EscapeDataString(name);
            var requests = new List<HttpRequestMessage>
            {
                new(HttpMethod.Get, $"/datasets/{segment}"),
                new(HttpMethod.Delete, $"/datasets/{segment}"),
                new(HttpMethod.Get, $"/datasets/{segment}/rows"),
                new(HttpMethod.Put, $"/datasets/{segment}?mode=replace") { Content = new StringContent("a\n1\n", Encoding.UTF8, "text/csv") },
                new(HttpMethod.Post, $"/datasets/{segment}/ingest") { Content = JsonContent.Create(new { path = "x.csv" }) },
                new(HttpMethod.Post, $"/datasets/{segment}/profile"),
                new(HttpMethod.Post, $"/datasets/{segment}/transform") { Content = JsonContent.Create(new { query = "SELECT 1" }) },
            };
            foreach (var request in requests)
            {
                using (request)
                using (var response = await secured.Client.SendAsync(request))
                {
                    // A NUL in the path is refused by Kestrel itself (a bare 400) before any endpoint runs.
                    if (response.StatusCode != HttpStatusCode.BadRequest
                        || (!name.Contains('\0') && response.Content.Headers.ContentType?.MediaType != "application/problem+json"))
                    {
                        failures.Add($"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {response.Content.Headers.ContentType}");
                    }
                }
            }
        }

        // Assert
        Assert.Empty(failures);
        Assert.Equal(before, await Db.TablesAsync(secured.Set.ConnectionString));
        Assert.Equal(jobsBefore, await Sql.ScalarAsync<long>(secured.Set.ConnectionString, "SELECT count(*) FROM datastack.jobs"));
    }

    [Fact]
    public async Task UploadsOverTheLimitAre413AndLeaveNoStagedTable()
    {
        // Arrange
        var body = new byte[(int)SecuredReplica.MaxUploadBytes + (64 * 1024)];
        Array.Fill(body, (byte)'1');
        var tablesBefore = await Db.TablesAsync(secured.Set.ConnectionString);

        // Act: once with a Content-Length the server can refuse up front, once chunked (length unknown).
        using var declared = new ByteArrayContent(body);
        declared.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var declaredResponse = await secured.Client.PutAsync("/datasets/too_big_declared", declared);
        using var chunked = new StreamContent(new MemoryStream(body));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Put, "/datasets/too_big_chunked") { Content = chunked };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunkedResponse = await secured.Client.SendAsync(chunkedRequest);

        // Assert
        foreach (var response in new[] { declaredResponse, chunkedResponse })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(tablesBefore, await Db.TablesAsync(secured.Set.ConnectionString));
        Assert.Null(await Sql.ScalarAsync<string>(
            secured.Set.ConnectionString, "SELECT id::text FROM datastack.jobs WHERE args->>'dataset' LIKE 'too_big_%'"));
    }

    [Theory]
    [InlineData("parent")]
    [InlineData("nested-parent")]
    [InlineData("absolute")]
    [InlineData("file-symlink")]
    [InlineData("directory-symlink")]
    [InlineData("relative-directory-symlink")]
    [InlineData("symlink-loop")]
    [InlineData("data-dir-prefix")]
    public async Task IngestPathsThatLeaveTheDataFolderAre400(string escape)
    {
        // Arrange
        var dataDir = secured.Set.DataDir;
        var path = escape switch
        {
            "parent" => Path.GetRelativePath(dataDir, secured.OutsideFile),
            "nested-parent" => "sub/../../" + Path.GetRelativePath(dataDir, secured.OutsideFile),
            "absolute" => secured.OutsideFile,
            "file-symlink" => Link("link-to-secret.csv", secured.OutsideFile),
            "directory-symlink" => Path.Combine(Link("link-to-outside", secured.OutsideDir), "secret.csv"),
            "relative-directory-symlink" => Path.Combine(
                Link("relative-link-to-outside", Path.GetRelativePath(dataDir, secured.OutsideDir)), "secret.csv"),
            "symlink-loop" => Path.Combine(Link("loop-a", "loop-b"), Link("loop-b", "loop-a"), "x.csv"),
            // A sibling folder whose name starts with the data folder's name.
            "data-dir-prefix" => Path.Combine("..", Path.GetFileName(dataDir) + "-evil", "x.csv"),
            _ => throw new ArgumentOutOfRangeException(nameof(escape)),
        };

        // Act
        using var response = await secured.Client.PostAsJsonAsync($"/datasets/escape_{escape.Replace('-', '_')}/ingest", new { path });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("hunter2", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        string Link(string name, string target)
        {
            var link = Path.Combine(dataDir, name);
            if (!Path.Exists(link))
            {
                File.CreateSymbolicLink(link, target);
            }

            return name;
        }
    }

    [Fact]
    public async Task IngestPathsThroughLinksThatStayInsideTheDataFolderAreAccepted()
    {
        // Arrange: a folder link and a file link that both point inside the data folder.
        var dataDir = secured.Set.DataDir;
        Directory.CreateDirectory(Path.Combine(dataDir, "inside"));
        await File.WriteAllTextAsync(Path.Combine(dataDir, "inside", "ok.csv"), "a\n1\n");
        if (!Path.Exists(Path.Combine(dataDir, "inside-link")))
        {
            Directory.CreateSymbolicLink(Path.Combine(dataDir, "inside-link"), "inside");
            File.CreateSymbolicLink(Path.Combine(dataDir, "ok-link.csv"), Path.Combine(dataDir, "inside", "ok.csv"));
        }

        // Act
        using var viaFolder = await secured.Client.PostAsJsonAsync("/datasets/inside_via_folder/ingest", new { path = "inside-link/ok.csv" });
        using var viaFile = await secured.Client.PostAsJsonAsync("/datasets/inside_via_file/ingest", new { path = "ok-link.csv" });

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, viaFolder.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, viaFile.StatusCode);
    }

    /// <summary>A route template with its parameters filled in (<c>{id}</c> a GUID, anything else a valid name).</summary>
    private static string Concrete(string template) =>
        RouteParameter().Replace(template, m => m.Groups[1].Value switch
        {
            "id" => Guid.NewGuid().ToString(),
            "documentName" => "v1",
            _ => "probe",
        });

    private static HttpContent? BodyFor(HttpMethod method) =>
        method == HttpMethod.Post || method == HttpMethod.Put ? new StringContent("{}", Encoding.UTF8, "application/json") : null;

    [GeneratedRegex(@"\{([A-Za-z_]+)[^}]*\}")]
    private static partial Regex RouteParameter();
}
