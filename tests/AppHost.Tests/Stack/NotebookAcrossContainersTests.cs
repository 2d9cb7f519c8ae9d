using System.Text.Json;
using System.Text.RegularExpressions;
using DataStack.Testing;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The <c>datastack</c> package inside the jupyter container, configured by nothing but what Aspire injected.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class NotebookAcrossContainersTests(StackFixture stack)
{
    [DockerFact]
    public async Task PackageInJupyterUploadsQueriesTransformsAndProfilesThroughServiceDiscoveryOnly()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var name = $"nb_{Guid.NewGuid():N}"[..20];
        var program = $$"""
            import json
            import pandas as pd
            import datastack as ds

            client = ds.connect(progress=False)
            frame = pd.DataFrame({"id": range(1, 1001), "amount": [i * 0.5 for i in range(1, 1001)], "city": ["Oslo", "Lima"] * 500})
            uploaded = client.upload(frame, "{{name}}", mode="replace")
            total = client.sql("select count(*) as n, sum(amount) as s from datasets.{{name}}")
            daily = client.transform("{{name}}_by_city", "select city, count(*) as n from datasets.{{name}} group by city")
            profile = client.profile("{{name}}")
            print(json.dumps({
                "rows": int(total["n"][0]), "sum": float(total["s"][0]),
                "transform_rows": daily.row_count, "profiled_columns": len(profile),
                "job": uploaded.job_id,
            }))
            """;

        // Act
        var printed = await stack.RunPythonInJupyterAsync(program, cts.Token);

        // Assert: what the notebook saw ...
        using var result = JsonDocument.Parse(printed.Trim().Split('\n')[^1]);
        Assert.Equal(1000, result.RootElement.GetProperty("rows").GetInt32());
        Assert.Equal(250250.0, result.RootElement.GetProperty("sum").GetDouble());
        Assert.Equal(2, result.RootElement.GetProperty("transform_rows").GetInt32());
        Assert.Equal(3, result.RootElement.GetProperty("profiled_columns").GetInt32());

        // ... is what PostgreSQL holds, read from the host.
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        Assert.Equal(1000L, await Sql.ScalarAsync<long>(analytics, $"select count(*) from datasets.{name}"));
        Assert.Equal(500L, await Sql.ScalarAsync<long>(analytics, $"select n from datasets.{name}_by_city where city = 'Oslo'"));
        Assert.Equal("bigint", await Sql.ScalarAsync<string>(analytics, "select data_type from information_schema.columns where table_schema = 'datasets' and table_name = $1 and column_name = 'id'", name));
        Assert.True(await Sql.ScalarAsync<bool>(analytics, "select profile is not null from datastack.datasets where name = $1", name));
    }

    [DockerFact]
    public Task JupyterReceivesEveryVariableDocsAppHostMdListsForIt() =>
        // The row tests/python/stack.py also builds its harness from, so the two cannot drift apart.
        AssertReceivesTheDocumentedVariablesAsync("jupyter");

    [DockerFact]
    public Task RunnerReceivesEveryVariableDocsAppHostMdListsForIt() =>
        AssertReceivesTheDocumentedVariablesAsync("runner");

    private async Task AssertReceivesTheDocumentedVariablesAsync(string resource)
    {
        // Arrange
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var doc = await File.ReadAllLinesAsync(Path.Combine(Projects.AppHost.ProjectPath, "..", "docs", "apphost.md"), cts.Token);
        var documented = Regex.Matches(Assert.Single(doc, line => line.StartsWith($"| {resource} | `", StringComparison.Ordinal)), "`([^`]+)`").Select(m => m.Groups[1].Value).ToList();

        // Act
        var container = await stack.GetContainerIdAsync(resource, cts.Token);
        var names = (await CommandLine.RunAsync(ContainerRuntime.Executable, ["exec", container, "env"], TimeSpan.FromMinutes(1), cts.Token))
            .Split('\n').Select(line => line.Split('=')[0]).ToHashSet();

        // Assert
        Assert.Contains("DATASTACK_API_KEY", documented);
        Assert.All(documented, variable => Assert.True(
            variable.EndsWith('*') ? names.Any(n => n.StartsWith(variable.TrimEnd('*'), StringComparison.Ordinal)) : names.Contains(variable),
            $"docs/apphost.md lists {variable} for {resource}, but the container did not receive it"));
    }
}
