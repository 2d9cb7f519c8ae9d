using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;

namespace DataStack.Processing.Tests;

/// <summary>
/// Python jobs and the runner protocol (docs/runners.md) on the real service: what may be queued, and the queue's rules
/// as a runner meets them through the API. The runner here is the test itself, speaking HTTP as a runner does.
/// </summary>
public sealed class RunnerProtocolTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    public static TheoryData<string, string> RefusedArguments => new()
    {
        { """{"entrypoint": "os:system", "parameters": {"command": "id"}}""", "args.entrypoint" },
        { """{"entrypoint": "pipelines.daily:_private"}""", "args.entrypoint" },
        { """{"entrypoint": "pipelines._internal:run"}""", "args.entrypoint" },
        { """{"entrypoint": "pipelines.daily"}""", "args.entrypoint" },
        { """{"notebook": "../secrets.ipynb"}""", "args.notebook" },
        { """{"notebook": "pipelines/../../etc/report.ipynb"}""", "args.notebook" },
        { """{"notebook": "/etc/passwd.ipynb"}""", "args.notebook" },
        { """{"notebook": "pipelines/report.py"}""", "args.notebook" },
        { """{"entrypoint": "pipelines.daily:summary", "notebook": "pipelines/report.ipynb"}""", "args.entrypoint" },
        { """{}""", "args.entrypoint" },
        { """{"entrypoint": "pipelines.daily:summary", "parameters": [1, 2]}""", "args.parameters" },
        { """{"entrypoint": "pipelines.daily:summary", "timeoutSeconds": 0}""", "args.timeoutSeconds" },
        { """{"entrypoint": "pipelines.daily:summary", "script": "import os"}""", "args.script" },
    };

    [Theory]
    [MemberData(nameof(RefusedArguments))]
    public async Task APythonJobThatNamesCodeOutsideThePipelinesPackageIs400(string args, string key)
    {
        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "python", args = JsonDocument.Parse(args).RootElement });
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(key, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessingsOwnWorkersNeverRunAPythonJob()
    {
        // Arrange: a python job queued before a noop: a worker that claimed python jobs would take it first.
        var python = await SubmitPythonAsync("pipelines.examples:noop");

        // Act
        var noop = await app.WaitAsync((await SubmitAsync(new { kind = "noop", args = new { } })).Id);
        var stillQueued = await app.WaitAsync(python.Id, timeoutSeconds: 0);

        // Assert
        Assert.Equal(JobStatus.Succeeded, noop.Status);
        Assert.Equal(JobStatus.Queued, stillQueued.Status);
        Assert.Equal(0, stillQueued.Attempts);
        await CancelAsync(python.Id);
    }

    [Fact]
    public async Task ARunnerClaimsRenewsAndCompletesAJob()
    {
        // Arrange
        var submitted = await SubmitPythonAsync("pipelines.daily:summary", new { day = "2025-01-01" });
        var runner = NewRunner();

        // Act
        var claimed = await ClaimOneAsync(runner, submitted.Id);
        var held = await PostAsync<JsonElement>($"/runners/{runner}/heartbeat", new { jobs = new[] { new { id = submitted.Id, progress = new { rows = 5, bytes = 0 } } } });
        var completed = await PostAsync<JsonElement>($"/runners/{runner}/completions", new { jobs = new[] { new { id = submitted.Id, result = new { rows = 24 } } } });
        var job = await app.WaitAsync(submitted.Id);

        // Assert
        Assert.Equal(1, claimed.GetProperty("attempt").GetInt32());
        Assert.Equal(3600, claimed.GetProperty("timeoutSeconds").GetInt32());
        Assert.Equal("2025-01-01", claimed.GetProperty("args").GetProperty("parameters").GetProperty("day").GetString());
        Assert.False(string.IsNullOrEmpty(claimed.GetProperty("traceParent").GetString()), "the claim carries the submitting request's context");
        Assert.Equal("child", claimed.GetProperty("traceMode").GetString()); // Processing:JobTraceMode's default
        Assert.Equal([submitted.Id], held.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetGuid()));
        Assert.False(held.GetProperty("jobs")[0].GetProperty("cancelRequested").GetBoolean());
        Assert.Equal([submitted.Id], completed.GetProperty("completed").EnumerateArray().Select(j => j.GetGuid()));
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(24, job.Result!.Value.GetProperty("rows").GetInt32());
        Assert.Equal(new JobProgress(5, 0), job.Progress); // a completion without progress keeps the heartbeat's
    }

    [Fact]
    public async Task ACompletionCarriesTheJobsFinalProgress()
    {
        // Arrange: a job whose last progress never made it into a heartbeat.
        var submitted = await SubmitPythonAsync("pipelines.daily:summary", new { day = "2025-01-01" });
        var runner = NewRunner();
        await ClaimOneAsync(runner, submitted.Id);

        // Act
        await PostAsync<JsonElement>($"/runners/{runner}/completions", new { jobs = new[] { new { id = submitted.Id, result = (object?)null, progress = new { rows = 1234, bytes = 12340 } } } });
        var job = await app.WaitAsync(submitted.Id);

        // Assert
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(new JobProgress(1234, 12340), job.Progress);
    }

    [Fact]
    public async Task AWaitingClaimWakesWhenAPythonJobIsQueued()
    {
        // Arrange: a runner waits (up to 30 s) on an empty queue of its own.
        var runner = NewRunner();
        var queue = $"q{Guid.NewGuid():N}";
        var claim = app.Client.PostAsJsonAsync($"/runners/{runner}/claims", new { queue, max = 4, waitSeconds = 30 });

        // Act: a job of that queue, queued as the claim waits (inserted as a runner's kind would queue it).
        var id = Guid.CreateVersion7();
        await Sql.ExecuteAsync(app.ConnectionString, "INSERT INTO datastack.jobs (id, kind, queue, max_attempts) VALUES ($1, 'python', $2, 3)", id, queue);
        using var response = await claim;
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();

        // Assert: the claim answered with the job (it would have answered empty after 30 s otherwise).
        Assert.Equal([id], answer.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetGuid()));
    }

    [Fact]
    public async Task ARetryableFailureRunsAgainWithBackoffAndALastOneFailsTheJobWithItsTraceback()
    {
        // Arrange
        var submitted = await SubmitPythonAsync("pipelines.daily:summary");
        var runner = NewRunner();
        var error = new { code = "python_error", message = "KeyError: 'day'", type = "KeyError", traceback = "Traceback (most recent call last): ..." };

        // Act: attempt 1 fails retryably; attempt 2 is claimed after the backoff and fails for good.
        await ClaimOneAsync(runner, submitted.Id);
        var first = await PostAsync<JsonElement>($"/runners/{runner}/jobs/{submitted.Id}/failure", new { attempt = 1, retryable = true, error });
        var second = await ClaimOneAsync(runner, submitted.Id);
        var last = await PostAsync<JsonElement>($"/runners/{runner}/jobs/{submitted.Id}/failure", new { attempt = 2, retryable = false, error });
        var job = await app.WaitAsync(submitted.Id);

        // Assert
        Assert.Equal("queued", first.GetProperty("status").GetString());
        Assert.Equal(2, second.GetProperty("attempt").GetInt32());
        Assert.Equal("failed", last.GetProperty("status").GetString());
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(("python_error", "KeyError"), (job.Error!.Code, job.Error.Type));
        Assert.StartsWith("Traceback", job.Error.Traceback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACancelReachesTheRunnerThroughItsHeartbeat()
    {
        // Arrange
        var submitted = await SubmitPythonAsync("pipelines.daily:summary");
        var runner = NewRunner();
        await ClaimOneAsync(runner, submitted.Id);

        // Act
        await CancelAsync(submitted.Id);

        var held = await PostAsync<JsonElement>($"/runners/{runner}/heartbeat", new { jobs = new[] { new { id = submitted.Id } } });
        var cancelled = await PostAsync<JsonElement>($"/runners/{runner}/jobs/{submitted.Id}/cancelled", new { });

        // Assert
        Assert.True(held.GetProperty("jobs")[0].GetProperty("cancelRequested").GetBoolean());
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(JobStatus.Cancelled, (await app.WaitAsync(submitted.Id, timeoutSeconds: 0)).Status);
    }

    [Fact]
    public async Task AJobWhoseLeaseExpiredIsAnotherRunnersAndTheFirstIsToldSo()
    {
        // Arrange: runner A claims and goes silent (no heartbeat); the fixture's lease is 5 s.
        var submitted = await SubmitPythonAsync("pipelines.daily:summary");
        var (first, second) = (NewRunner(), NewRunner());
        await ClaimOneAsync(first, submitted.Id);

        // Act: Processing reaps the expired lease; runner B claims the job (waiting for it); A reports late.
        var again = await ClaimOneAsync(second, submitted.Id, waitSeconds: 30);
        var lateCompletion = await PostAsync<JsonElement>($"/runners/{first}/completions", new { jobs = new[] { new { id = submitted.Id, result = new { } } } });
        using var lateFailure = await app.Client.PostAsJsonAsync(
            $"/runners/{first}/jobs/{submitted.Id}/failure", new { attempt = 1, retryable = true, error = new { code = "python_error", message = "late" } });

        // Assert
        Assert.Equal(2, again.GetProperty("attempt").GetInt32());
        Assert.Empty(lateCompletion.GetProperty("completed").EnumerateArray());
        Assert.Equal(HttpStatusCode.Conflict, lateFailure.StatusCode);
        await PostAsync<JsonElement>($"/runners/{second}/returns", new { ids = new[] { submitted.Id } });
        await CancelAsync(submitted.Id);
    }

    [Fact]
    public async Task ReturnedJobsGoBackToTheQueueWithoutLosingAnAttempt()
    {
        // Arrange
        var submitted = await SubmitPythonAsync("pipelines.daily:summary");
        var runner = NewRunner();
        await ClaimOneAsync(runner, submitted.Id);

        // Act
        var returned = await PostAsync<JsonElement>($"/runners/{runner}/returns", new { ids = new[] { submitted.Id } });
        var job = await app.WaitAsync(submitted.Id, timeoutSeconds: 0);
        var again = await ClaimOneAsync(NewRunner(), submitted.Id);

        // Assert
        Assert.Equal(1, returned.GetProperty("returned").GetInt32());
        Assert.Equal((JobStatus.Queued, 0), (job.Status, job.Attempts));
        Assert.Equal(1, again.GetProperty("attempt").GetInt32());
        await CancelAsync(submitted.Id);
    }

    [Fact]
    public async Task TheNotebookOfANotebookJobIsServedAsIpynb()
    {
        // Arrange: a notebook job a runner completed with its executed notebook.
        var submitted = await SubmitPythonAsync(notebook: "pipelines/report.ipynb");
        var runner = NewRunner();
        await ClaimOneAsync(runner, submitted.Id);
        var notebook = new { nbformat = 4, nbformat_minor = 5, metadata = new { }, cells = new[] { new { cell_type = "markdown", metadata = new { }, source = "# Report" } } };
        await PostAsync<JsonElement>($"/runners/{runner}/completions", new { jobs = new[] { new { id = submitted.Id, result = new { notebook } } } });
        await app.WaitAsync(submitted.Id);

        // Act
        using var served = await app.Client.GetAsync($"/jobs/{submitted.Id}/notebook");
        using var none = await app.Client.GetAsync($"/jobs/{(await SubmitAsync(new { kind = "noop", args = new { } })).Id}/notebook");

        // Assert
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(JobEndpointsMediaType, served.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", served.Content.Headers.ContentType?.CharSet);
        Assert.Equal("# Report", (await served.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cells")[0].GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Theory]
    [InlineData("with space")]
    [InlineData("a%2Fb")]
    public async Task ARunnerNameOutsideItsRuleIs400(string runner)
    {
        // Act
        using var response = await app.Client.PostAsJsonAsync($"/runners/{runner}/claims", new { queue = "python" });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private const string JobEndpointsMediaType = Api.JobEndpoints.NotebookMediaType;

    private static string NewRunner() => $"test-{Guid.NewGuid():N}"[..20];

    private async Task<Job> SubmitAsync(object request)
    {
        using var response = await app.Client.PostAsJsonAsync("/jobs", request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web))!;
    }

    private Task<Job> SubmitPythonAsync(string? entrypoint = null, object? parameters = null, string? notebook = null) =>
        SubmitAsync(new { kind = "python", args = entrypoint is null ? (object)new { notebook, parameters } : new { entrypoint, parameters } });

    /// <summary>Claims until <paramref name="id"/> comes (other tests' python jobs are returned untouched); fails if it never does.</summary>
    private async Task<JsonElement> ClaimOneAsync(string runner, Guid id, int waitSeconds = 10)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(waitSeconds + 5);
        while (DateTime.UtcNow < deadline)
        {
            var answer = await PostAsync<JsonElement>($"/runners/{runner}/claims", new { queue = "python", max = RunnerLeases.MaxClaim, waitSeconds });
            var jobs = answer.GetProperty("jobs").EnumerateArray().ToList();
            var others = jobs.Select(job => job.GetProperty("id").GetGuid()).Where(other => other != id).ToArray();
            if (others.Length > 0)
            {
                await PostAsync<JsonElement>($"/runners/{runner}/returns", new { ids = others });
            }

            if (jobs.FirstOrDefault(job => job.GetProperty("id").GetGuid() == id) is { ValueKind: JsonValueKind.Object } wanted)
            {
                return wanted.Clone();
            }
        }

        Assert.Fail($"Runner {runner} never claimed job {id}.");
        return default;
    }

    /// <summary>The user's cancel (also how a test leaves no python job of its own queued for the next).</summary>
    private async Task CancelAsync(Guid id)
    {
        using var response = await app.Client.PostAsync($"/jobs/{id}/cancel", null);
        response.EnsureSuccessStatusCode();
    }

    private async Task<T> PostAsync<T>(string path, object body)
    {
        using var response = await app.Client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, JsonSerializerOptions.Web)!;
    }
}
