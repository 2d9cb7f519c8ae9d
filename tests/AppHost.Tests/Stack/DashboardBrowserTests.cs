using System.Text.Json;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The dashboard as a person sees it: headless Chromium driven by Playwright (tests/browser/dashboard-check.mjs)
/// logs in with the token and reads the resources page, the upload's trace and the console logs of jupyter, postgres
/// and a processing replica, and no page it shows holds a secret.
/// Screenshots go to <c>artifacts/screenshots/</c> (git-ignored).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class DashboardBrowserTests(StackFixture stack, ITestOutputHelper output)
{
    private static string RepositoryRoot { get; } = Path.GetFullPath(Path.Combine(Projects.AppHost.ProjectPath, ".."));

    [DashboardBrowserFact]
    public async Task DashboardInABrowserShowsTheStack()
    {
        // Arrange: an upload, so that the dashboard has a trace to show.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var http = ProcessingApi.CreateClient(stack);
        using var csv = ProcessingApi.Csv("city,n\nOslo,1\nLima,2\n");
        using var upload = await http.PutAsync($"/datasets/browser_{Guid.NewGuid():N}"[..30] + "?mode=replace", csv, cts.Token);
        Assert.True(upload.IsSuccessStatusCode, $"upload answered {(int)upload.StatusCode}");
        var login = await stack.App.GetDashboardUrlAsync(cts.Token);
        var screenshots = Path.Combine(RepositoryRoot, "artifacts", "screenshots");

        // Act
        // dashboard-check.mjs bounds each of its own steps; this is the outer limit.
        var (exitCode, stdout, stderr) = await CommandLine.TryRunAsync(
            "node",
            [
                Path.Combine(RepositoryRoot, "tests", "browser", "dashboard-check.mjs"),
                "--login-url", login.AbsoluteUri,
                "--out", screenshots,
                "--trace", "PUT /datasets/",
                "--resources", string.Join(',', StackFixture.ContractResources),
                // The console logs as a person reads them, one page each (a replica's page is named by its instance).
                "--console-resource", "jupyter",
                "--console-contains", "is running at",
                "--console-resource", "postgres",
                "--console-contains", "database system is ready to accept connections",
                "--console-resource", stack.GetResourceIds("processing")[0],
            ],
            TimeSpan.FromMinutes(4),
            cts.Token,
            environment: new Dictionary<string, string> { ["DASHBOARD_CHECK_SECRETS"] = string.Join('\n', stack.Secrets) });

        // Assert
        output.WriteLine(stdout);
        Assert.True(exitCode == 0, $"dashboard-check.mjs exited with {exitCode}:\n{stderr}\n{stdout}");
        using var result = JsonDocument.Parse(stdout);
        var root = result.RootElement;
        foreach (var name in StackFixture.ContractResources)
        {
            var resource = root.GetProperty("resources").GetProperty(name);
            Assert.Equal("Running", resource.GetProperty("state").GetString());
            if (resource.TryGetProperty("health", out var health) && health.ValueKind == JsonValueKind.String)
            {
                Assert.Equal("Healthy", health.GetString());
            }
        }

        Assert.Contains("PUT /datasets/", root.GetProperty("trace").GetProperty("name").GetString(), StringComparison.Ordinal);
        Assert.Contains(root.GetProperty("trace").GetProperty("spans").EnumerateArray(), span => span.GetProperty("resource").GetString()!.StartsWith("processing", StringComparison.Ordinal));
        // The job runs in the request's trace (Processing__JobTraceMode=Child, the default): one waterfall.
        Assert.Contains(root.GetProperty("trace").GetProperty("spans").EnumerateArray(), span => span.GetProperty("name").GetString() == "job ingest");
        var consoles = root.GetProperty("consoles").EnumerateArray().ToList();
        Assert.Equal(3, consoles.Count);
        Assert.Contains("is running at", consoles[0].GetProperty("matched").GetString(), StringComparison.Ordinal);
        Assert.Contains("database system is ready to accept connections", consoles[1].GetProperty("matched").GetString(), StringComparison.Ordinal);
        Assert.True(consoles[2].GetProperty("lines").GetInt32() > 0, "the processing replica's console page shows no line");
        Assert.StartsWith("/login", root.GetProperty("unauthenticated").GetProperty("endedOn").GetString(), StringComparison.Ordinal);
        // Searched by the script in each page's rendered text, before its output is redacted.
        Assert.Empty(root.GetProperty("secretsShown").EnumerateArray());
    }
}
