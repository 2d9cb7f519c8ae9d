using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace DataStack.AppHost.Tests.Stack;

[Collection(StackCollection.Name)]
public sealed class StackStartupTests(StackFixture stack, ITestOutputHelper output)
{
    [DockerFact]
    public async Task PostgresAnalyticsProcessingAndJupyterAllReachHealthy()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // Act
        var states = new Dictionary<string, (string? State, HealthStatus? Health)>();
        foreach (var name in StackFixture.ContractResources)
        {
            var resourceEvent = await stack.App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
            states[name] = (resourceEvent.Snapshot.State?.Text, resourceEvent.Snapshot.HealthStatus);
        }

        // Assert
        output.WriteLine($"All of {string.Join(", ", StackFixture.ContractResources)} healthy {stack.TimeToHealthy.TotalSeconds:F1} s after start.");
        Assert.All(states, state => Assert.Equal(HealthStatus.Healthy, state.Value.Health));
        Assert.Equal(KnownResourceStates.Running, states["processing"].State);
        Assert.Equal(KnownResourceStates.Running, states["jupyter"].State);
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
