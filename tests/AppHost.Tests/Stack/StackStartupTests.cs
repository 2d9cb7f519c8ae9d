using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Stack;

[Collection(StackCollection.Name)]
[StackOrder(StackOrderAttribute.First)]
public sealed class StackStartupTests(StackFixture stack, ITestOutputHelper output)
{
    [DockerFact]
    public async Task PostgresAnalyticsProcessingAndJupyterAllReachHealthy()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var http = ProcessingApi.CreateClient(stack);

        // Act: the state every instance is in now, as the dashboard shows it (nothing waits here), and /health.
        var instances = StackFixture.ContractResources.SelectMany(stack.GetResourceIds).ToList();
        var states = instances.ToDictionary(id => id, id => stack.App.ResourceNotifications.TryGetCurrentState(id, out var e) ? e.Snapshot : null);
        using var health = await http.GetAsync("/health", cts.Token);

        // Assert
        output.WriteLine($"All of {string.Join(", ", StackFixture.ContractResources)} healthy {stack.TimeToHealthy.TotalSeconds:F1} s after start.");
        Assert.Equal(stack.ProcessingReplicas, stack.GetResourceIds("processing").Count);
        Assert.All(StackFixture.ContractResources, name => Assert.NotEmpty(stack.GetResourceIds(name)));
        foreach (var (id, snapshot) in states)
        {
            Assert.True(snapshot is not null, $"{id} has no state");
            Assert.True(snapshot.HealthStatus == HealthStatus.Healthy, $"{id} is {snapshot.State?.Text} / {snapshot.HealthStatus}");
            Assert.All(snapshot.HealthReports, report => Assert.True(report.Status == HealthStatus.Healthy, $"{id}: health check {report.Name} is {report.Status}: {report.Description}"));
        }

        Assert.All(instances.Where(id => !id.StartsWith("analytics", StringComparison.Ordinal)), id => Assert.Equal(KnownResourceStates.Running, states[id]!.State?.Text));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [DockerFact]
    public async Task JupyterServesJupyterLabBehindItsToken()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        // Two clients of their own (the testing HttpClients share one handler and so its cookies): the login
        // cookie the token earns must not reach the request made without it.
        using var http = new HttpClient { BaseAddress = stack.App.GetEndpoint("jupyter", "http") };
        using var stranger = new HttpClient { BaseAddress = stack.App.GetEndpoint("jupyter", "http") };

        // Act
        using var withToken = await http.GetAsync($"/lab?token={stack.JupyterToken}", cts.Token);
        using var withoutToken = await stranger.GetAsync("/api/kernels", cts.Token);

        // Assert
        Assert.Equal(HttpStatusCode.OK, withToken.StatusCode);
        Assert.Contains("JupyterLab", await withToken.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, withoutToken.StatusCode);
    }
}
