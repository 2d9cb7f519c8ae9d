using System.Net.Http.Json;
using DataStack.Testing;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The runner containers under failure: one killed in the middle of a job, one stopped (SIGTERM) with a job running.
/// Jobs are at least once: a job whose runner died runs again, on the other runner, once its lease has run out.
/// </summary>
[Collection(StackCollection.Name)]
[StackOrder(StackOrderAttribute.Faults)]
public sealed class RunnerFaultTests(StackFixture stack)
{
    private static TimeSpan TestTimeout { get; } = TimeSpan.FromMinutes(4);

    private const string Source = """
        import socket
        import time

        def nap(seconds):
            time.sleep(seconds)
            return {"host": socket.gethostname()}
        """;

    [DockerFact]
    public async Task AJobOfAKilledRunnerSucceedsOnTheOtherRunner()
    {
        // Arrange: a job held by one of the two runners.
        using var cts = new CancellationTokenSource(TestTimeout);
        using var module = new PipelineFile(Source);
        using var http = ProcessingApi.CreateClient(stack);
        var job = await SubmitAsync(http, module.Entrypoint("nap"), seconds: 8, cts.Token);
        var holder = await WaitForHolderAsync(job, cts.Token);

        // Act: SIGKILL its container behind the orchestrator's back, as a crashed machine ends.
        await Docker(["kill", holder.ContainerId], cts.Token);
        var ended = await ProcessingApi.WaitForJobAsync(http, job, cts.Token);

        // The dashboard shows the runner as ended; its Start command brings it back for the tests after this one.
        await StartAgainAsync(holder.Resource, cts.Token);

        // Assert
        Assert.Equal("succeeded", ended.GetProperty("status").GetString());
        Assert.Equal(2, ended.GetProperty("attempts").GetInt32());
        var other = stack.RunnerResources.Single(name => name != holder.Resource);
        Assert.StartsWith(ended.GetProperty("result").GetProperty("host").GetString()!, await stack.GetContainerIdAsync(other, cts.Token), StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task AStoppedRunnerFinishesItsRunningJobAndExitsCleanly()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        using var module = new PipelineFile(Source);
        using var http = ProcessingApi.CreateClient(stack);
        var job = await SubmitAsync(http, module.Entrypoint("nap"), seconds: 4, cts.Token);
        var holder = await WaitForHolderAsync(job, cts.Token);

        // Act: SIGTERM, as `docker stop` and every orchestrator stop a container, with more time than the job needs.
        await Docker(["stop", "--time", "30", holder.ContainerId], cts.Token);
        var exitCode = await Docker(["inspect", "--format", "{{.State.ExitCode}}", holder.ContainerId], cts.Token);
        var ended = await ProcessingApi.WaitForJobAsync(http, job, cts.Token);
        await StartAgainAsync(holder.Resource, cts.Token);

        // Assert: the job ended on the runner that held it, before that runner exited with 0.
        Assert.Equal("0", exitCode);
        Assert.Equal("succeeded", ended.GetProperty("status").GetString());
        Assert.Equal(1, ended.GetProperty("attempts").GetInt32());
        Assert.StartsWith(ended.GetProperty("result").GetProperty("host").GetString()!, holder.ContainerId, StringComparison.Ordinal);
    }

    private static async Task<string> SubmitAsync(HttpClient http, string entrypoint, int seconds, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(
            "/jobs", new { kind = "python", args = new { entrypoint, parameters = new { seconds } } }, cancellationToken);
        return await ProcessingApi.ReadJobIdAsync(response, cancellationToken);
    }

    /// <summary>The runner running the job: its lease owner is <c>host:pid:random</c>, the host its container's short id.</summary>
    private async Task<(string Resource, string ContainerId)> WaitForHolderAsync(string job, CancellationToken cancellationToken)
    {
        var analytics = await stack.GetAnalyticsAsync(cancellationToken);
        var owner = await Poll.UntilAsync(
            () => Sql.ScalarAsync<string?>(analytics, "select lease_owner from datastack.jobs where id::text = $1 and status = 'running'", job),
            value => value is not null,
            TimeSpan.FromMinutes(1),
            $"a runner holds job {job}");
        var host = owner!.Split(':')[0];
        foreach (var resource in stack.RunnerResources)
        {
            var container = await stack.GetContainerIdAsync(resource, cancellationToken);
            if (container.StartsWith(host, StringComparison.Ordinal))
            {
                return (resource, container);
            }
        }

        throw new InvalidOperationException($"Job {job} is held by '{owner}', which is none of the runners {string.Join(", ", stack.RunnerResources)}.");
    }

    private async Task StartAgainAsync(string resource, CancellationToken cancellationToken)
    {
        var start = await stack.StartAgainAsync(resource, cancellationToken);
        Assert.True(start.Success, start.Message);
    }

    private static Task<string> Docker(string[] arguments, CancellationToken cancellationToken) =>
        CommandLine.RunAsync(ContainerRuntime.Executable, arguments, TimeSpan.FromMinutes(1), cancellationToken);
}
