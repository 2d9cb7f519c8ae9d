using System.Text.Json;
using DataStack.Testing;

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// Python jobs as a notebook user runs them: from inside the jupyter container, on the runner containers the AppHost
/// built from the notebook's Dockerfile, with the pipelines of the checkout (read through the runners' bind mount).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class PythonJobsTests(StackFixture stack)
{
    private const string Day = "2024-01-05";

    private static TimeSpan TestTimeout { get; } = TimeSpan.FromMinutes(4);

    [DockerFact]
    public async Task AFunctionAndANotebookRunFromJupyterOnTheRunnersAndWhatTheyComputedIsInPostgres()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        var trips = Name("trips");
        var summary = Name("zones");
        var program = $$"""
            import json
            import datastack as ds

            client = ds.connect(progress=False)
            client.ingest("samples/trips.csv", "{{trips}}", mode="replace")
            result = client.run("pipelines.daily:summary", day="{{Day}}", source="{{trips}}", target="{{summary}}")
            notebook = client.run_notebook("pipelines/report.ipynb", parameters={"day": "{{Day}}", "source": "{{trips}}"})
            printed = "".join(
                output.get("text", "")
                for cell in notebook.cells if cell.cell_type == "code"
                for output in cell.get("outputs", []) if output.get("output_type") == "stream")
            print(json.dumps({"result": result, "printed": printed}))
            """;

        // Act
        using var printed = await RunInJupyterAsync(program, cts.Token);

        // Assert: the function's return value and the notebook's output agree with PostgreSQL, read from the host.
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        var dayTrips = await Sql.ScalarAsync<long>(analytics, $"select count(*) from datasets.{trips} where pickup_at >= '{Day}' and pickup_at < '{Day}'::date + 1");
        var zones = await Sql.ScalarAsync<long>(analytics, $"select count(distinct coalesce(zone, '')) from datasets.{trips} where pickup_at >= '{Day}' and pickup_at < '{Day}'::date + 1");
        var result = printed.RootElement.GetProperty("result");
        Assert.Equal(dayTrips, result.GetProperty("trips").GetInt64());
        Assert.Equal(zones, result.GetProperty("zones").GetInt64());
        Assert.Equal(zones, await Sql.ScalarAsync<long>(analytics, $"select count(*) from datasets.{summary}"));
        Assert.Contains($"{Day}: {dayTrips} trips", printed.RootElement.GetProperty("printed").GetString(), StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task AFailingPipelineShowsThePythonExceptionAndTracebackInTheNotebook()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        const string Program = """
            import json
            import datastack as ds

            client = ds.connect(progress=False)
            try:
                client.run("pipelines.daily:summary", day="the fifth of January")
                print(json.dumps({"raised": None}))
            except ds.JobFailed as e:
                print(json.dumps({"raised": type(e).__name__, "type": e.type, "traceback": e.traceback, "text": str(e)}))
            """;

        // Act
        using var printed = await RunInJupyterAsync(Program, cts.Token);

        // Assert
        var answer = printed.RootElement;
        Assert.Equal("JobFailed", answer.GetProperty("raised").GetString());
        Assert.Equal("ValueError", answer.GetProperty("type").GetString());
        Assert.Contains("the fifth of January", answer.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("pipelines/daily.py", answer.GetProperty("traceback").GetString(), StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task CodeOutsideThePipelinesPackageIsRefusedAtSubmissionAndNeverQueued()
    {
        // Arrange
        using var cts = new CancellationTokenSource(TestTimeout);
        var marker = Name("marker");
        var program = $$"""
            import json
            import datastack as ds

            client = ds.connect(progress=False)
            try:
                client.run("os:system", command="touch /tmp/{{marker}}")
                print(json.dumps({"raised": None}))
            except ds.DataStackError as e:
                print(json.dumps({"raised": type(e).__name__, "text": str(e)}))
            """;

        // Act
        using var printed = await RunInJupyterAsync(program, cts.Token);

        // Assert
        Assert.Contains("Only functions of the pipelines package run", printed.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("ProcessingError", printed.RootElement.GetProperty("raised").GetString());
        Assert.Contains("answered 400 to POST /jobs", printed.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        var analytics = await stack.GetAnalyticsAsync(cts.Token);
        Assert.Equal(0L, await Sql.ScalarAsync<long>(analytics, "select count(*) from datastack.jobs where args->>'entrypoint' = 'os:system'"));
    }

    [DockerFact]
    public async Task AnEditToThePipelinesRunsAtTheNextJobAndARunawayJobIsStoppedAtItsTimeout()
    {
        // Arrange: a module added to the checkout while the stack runs, as a developer adds one.
        using var cts = new CancellationTokenSource(TestTimeout);
        using var module = new PipelineFile("""
            import time

            def answer(x):
                return {"doubled": x * 2}

            def forever():
                while True:
                    time.sleep(1)
            """);
        var program = $$"""
            import json, time
            import datastack as ds

            client = ds.connect(progress=False)
            doubled = client.run("{{module.Entrypoint("answer")}}", x=21)
            started = time.monotonic()
            try:
                client.run("{{module.Entrypoint("forever")}}", job_timeout=3)
                print(json.dumps({"doubled": doubled, "code": None}))
            except ds.JobFailed as e:
                print(json.dumps({"doubled": doubled, "code": e.code, "text": str(e), "attempts": e.job.attempts, "took": time.monotonic() - started}))
            """;

        // Act
        using var printed = await RunInJupyterAsync(program, cts.Token);

        // Assert: no rebuild was needed for the new module; the runaway was killed once its 3 s were up (on every attempt).
        var answer = printed.RootElement;
        Assert.Equal(42, answer.GetProperty("doubled").GetProperty("doubled").GetInt32());
        Assert.Equal("timeout", answer.GetProperty("code").GetString());
        Assert.Contains("timeout of 3 s", answer.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.True(answer.GetProperty("attempts").GetInt32() >= 1);
    }

    private async Task<JsonDocument> RunInJupyterAsync(string program, CancellationToken cancellationToken)
    {
        var printed = await stack.RunPythonInJupyterAsync(program, cancellationToken);
        return JsonDocument.Parse(printed.Trim().Split('\n')[^1]);
    }

    private static string Name(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
