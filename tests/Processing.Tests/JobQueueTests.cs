using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DataStack.Processing.Api;
using DataStack.Processing.Jobs;
using DataStack.Processing.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DataStack.Processing.Tests;

public sealed class JobQueueTests(ProcessingApp app) : IClassFixture<ProcessingApp>
{
    [Fact]
    public async Task NoopJobRunsToSucceeded()
    {
        // Arrange
        var request = new { kind = "noop", args = new { durationMs = 10 } };

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", request);
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        var done = await app.WaitAsync(queued!.Id);

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/jobs/{queued.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.FinishedAt);
    }

    [Fact]
    public async Task JobJsonUsesTheDocumentedShape()
    {
        // Arrange
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { } });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Act
        var job = await app.Client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/wait?timeout=30");

        // Assert
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal("noop", job.GetProperty("kind").GetString());
        foreach (var property in new[] { "id", "attempts", "createdAt", "startedAt", "finishedAt", "progress", "result", "error", "traceId" })
        {
            Assert.True(job.TryGetProperty(property, out _), $"missing '{property}'");
        }

        Assert.True(job.GetProperty("progress").TryGetProperty("rows", out _));
        Assert.True(job.GetProperty("progress").TryGetProperty("bytes", out _));
    }

    [Fact]
    public async Task FailingNoopJobEndsFailedWithItsReasonAndIsNotRetried()
    {
        // Arrange
        var request = new { kind = "noop", args = new { fail = true } };

        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", request);
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        var done = await app.WaitAsync(queued!.Id);

        // Assert
        Assert.Equal(JobStatus.Failed, done.Status);
        Assert.Equal("noop_failed", done.Error?.Code);
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public async Task SameIdempotencyKeyNeverCreatesASecondJob()
    {
        // Arrange
        var key = $"key-{Guid.NewGuid()}";
        var request = new { kind = "noop", args = new { }, idempotencyKey = key };

        // Act
        using var first = await app.Client.PostAsJsonAsync("/jobs", request);
        using var second = await app.Client.PostAsJsonAsync("/jobs", request);
        var firstJob = await first.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        var secondJob = await second.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);

        // Assert
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(firstJob!.Id, secondJob!.Id);
        Assert.Equal(1L, await Sql.ScalarAsync<long>(app.ConnectionString, "SELECT count(*) FROM datastack.jobs WHERE idempotency_key = $1", key));
    }

    [Fact]
    public async Task CancellingARunningJobEndsItCancelled()
    {
        // Arrange
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs = 60_000 } });
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);
        await WaitForStatusAsync(queued!.Id, JobStatus.Running);

        // Act
        using var cancel = await app.Client.PostAsync($"/jobs/{queued.Id}/cancel", null);
        var done = await app.WaitAsync(queued.Id, timeoutSeconds: 30);

        // Assert
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(JobStatus.Cancelled, done.Status);
    }

    [Fact]
    public async Task OneStatementEndingManyJobsWakesEveryWaiter()
    {
        // Arrange: 250 jobs leased by another (imaginary) replica, so this one leaves them alone; one waiter each.
        // 250 ids take two notifications (at most 200 ids fit one).
        var ids = Enumerable.Range(0, 250).Select(_ => Guid.CreateVersion7()).ToArray();
        await Sql.ExecuteAsync(
            app.ConnectionString,
            """
            INSERT INTO datastack.jobs (id, kind, args, max_attempts, status, attempts, started_at, lease_owner, lease_expires_at)
            SELECT id, 'noop', '{}', 3, 'running', 1, now(), 'elsewhere', now() + interval '1 hour' FROM unnest($1::uuid[]) AS id
            """,
            ids);
        var waits = ids.Select(id => app.WaitAsync(id, timeoutSeconds: JobEndpoints.MaxWaitSeconds)).ToArray();
        await WaitForWaitersAsync(ids.Length);

        // Act: one UPDATE ends all of them.
        await Sql.ExecuteAsync(
            app.ConnectionString,
            "UPDATE datastack.jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($1)",
            ids);
        // Bounded far below the waits' own timeout: only a notification can end them this early.
        var ended = await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(60));

        // Assert: every wait was woken by the end, none answered at its timeout.
        Assert.All(ended, job => Assert.Equal(JobStatus.Cancelled, job.Status));
    }

    [Fact]
    public async Task WaitReturnsCurrentStateAtTheTimeout()
    {
        // Arrange
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "noop", args = new { durationMs = 30_000 } });
        var queued = await response.Content.ReadFromJsonAsync<Job>(JsonSerializerOptions.Web);

        // Act
        var state = await app.WaitAsync(queued!.Id, timeoutSeconds: 0);

        // Assert
        Assert.False(state.Status.IsTerminal());
        await app.Client.PostAsync($"/jobs/{queued.Id}/cancel", null);
    }

    [Fact]
    public async Task UnknownJobKindIsABadRequestNamingTheKnownKinds()
    {
        // Act
        using var response = await app.Client.PostAsJsonAsync("/jobs", new { kind = "explode", args = new { } });
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("explode", body);
        Assert.Contains("noop", body);
    }

    [Fact]
    public async Task MalformedJsonIsABadRequestProblem()
    {
        // Act
        using var content = new StringContent("{\"kind\": ", System.Text.Encoding.UTF8, "application/json");
        using var response = await app.Client.PostAsync("/jobs", content);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UnknownJobIsNotFound()
    {
        // Act
        using var response = await app.Client.GetAsync($"/jobs/{Guid.NewGuid()}");

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private async Task WaitForWaitersAsync(int count)
    {
        // Bounded: the waits must be registered (they register before reading the job) within 30 s.
        var notifications = app.Services.GetRequiredService<JobNotifications>();
        for (var i = 0; i < 300 && notifications.WaitedJobCount < count; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(notifications.WaitedJobCount >= count, $"Only {notifications.WaitedJobCount} of {count} waits were registered.");
    }

    private async Task WaitForStatusAsync(Guid id, JobStatus status)
    {
        // Bounded: the job must reach the state within 30 s of polling the API.
        for (var i = 0; i < 300; i++)
        {
            var job = await app.Client.GetFromJsonAsync<Job>($"/jobs/{id}", JsonSerializerOptions.Web);
            if (job!.Status == status)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Job {id} never reached {status}.");
    }
}
