using DataStack.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The stack with every setting as shipped (one Processing replica): healthy, and an upload from the notebook container
/// goes through.
/// </summary>
[Collection(DefaultStackCollection.Name)]
public sealed class ShippedDefaultsTests(DefaultStackFixture stack)
{
    [DockerFact]
    public void OneProcessingReplicaAndEveryResourceRunningAndHealthy()
    {
        // Act
        var instances = StackFixture.ContractResources.SelectMany(stack.GetResourceIds).ToList();
        var states = instances.ToDictionary(id => id, id => stack.App.ResourceNotifications.TryGetCurrentState(id, out var e) ? e.Snapshot : null);

        // Assert
        Assert.Single(stack.GetResourceIds("processing"));
        Assert.All(StackFixture.ContractResources, name => Assert.NotEmpty(stack.GetResourceIds(name)));
        Assert.All(states, state => Assert.True(state.Value?.HealthStatus == HealthStatus.Healthy, $"{state.Key} is {state.Value?.State?.Text} / {state.Value?.HealthStatus}"));
    }

    [DockerFact]
    public async Task UploadFromTheJupyterContainerIsIngestedByTheSingleReplica()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var name = $"dflt_{Guid.NewGuid():N}"[..20];

        // Act
        var printed = await stack.RunPythonInJupyterAsync($$"""
            import pandas as pd
            import datastack as ds
            client = ds.connect(progress=False)
            print(client.upload(pd.DataFrame({"id": range(500), "v": [i * 2 for i in range(500)]}), "{{name}}", mode="replace").row_count)
            """, cts.Token);

        // Assert
        Assert.Equal("500", printed.Trim().Split('\n')[^1]);
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        Assert.Equal(249500L, await Sql.ScalarAsync<long>(analytics, $"select sum(v)::bigint from datasets.{name}"));
    }
}
