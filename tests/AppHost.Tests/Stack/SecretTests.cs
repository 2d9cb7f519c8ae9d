using System.Net;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The postgres password, the API key and the Jupyter token stay out of everything a person or a tool reads.
/// </summary>
[Collection(StackCollection.Name)]
[StackOrder(StackOrderAttribute.Last)]
public sealed class SecretTests(StackFixture stack)
{
    [DockerFact]
    public async Task NoSecretAppearsInAnyConsoleLog()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // Act
        var logs = await stack.GetConsoleLogsAsync(cts.Token);

        // Assert
        Assert.Subset(logs.Keys.ToHashSet(), StackFixture.ContractResources.Where(name => name != "analytics").ToHashSet());
        foreach (var (resource, lines) in logs)
        {
            foreach (var secret in stack.Secrets)
            {
                Assert.False(lines.Any(line => line.Contains(secret, StringComparison.Ordinal)), $"A secret appears in the console log of '{resource}'.");
            }
        }
    }

    [DockerFact]
    public async Task NoSecretAppearsInAnyStructuredLogOrSpanTheDashboardHolds()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var dashboard = await DashboardTelemetry.CreateAsync(stack, cts.Token);

        // Act
        var spans = await dashboard.GetSpansJsonAsync(cts.Token);
        var logs = await dashboard.GetLogsJsonAsync(cts.Token);

        // Assert
        Assert.Contains("\"resourceSpans\"", spans, StringComparison.Ordinal);
        Assert.Contains("\"resourceLogs\"", logs, StringComparison.Ordinal);
        Assert.All(stack.Secrets, secret => Assert.DoesNotContain(secret, spans, StringComparison.Ordinal));
        Assert.All(stack.Secrets, secret => Assert.DoesNotContain(secret, logs, StringComparison.Ordinal));
    }

    [DockerFact]
    public async Task DashboardRefusesABrowserWithoutItsLoginTokenAndAnApiCallWithoutItsKey()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var login = await stack.App.GetDashboardUrlAsync(cts.Token);
        using var http = new HttpClient(new HttpClientHandler
        {
            AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        })
        {
            BaseAddress = new Uri(login.GetLeftPart(UriPartial.Authority)),
        };

        // Act
        using var page = await http.GetAsync("/", cts.Token);
        using var api = await http.GetAsync("/api/telemetry/spans", cts.Token);

        // Assert
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/login", page.Headers.Location?.IsAbsoluteUri == true ? page.Headers.Location.AbsolutePath : page.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }
}
