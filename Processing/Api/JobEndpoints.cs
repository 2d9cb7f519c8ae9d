using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using DataStack.Processing.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DataStack.Processing.Api;

/// <summary><c>/jobs</c>: submit, inspect, wait for and cancel jobs.</summary>
public static class JobEndpoints
{
    /// <summary>The longest a client may ask <c>/jobs/{id}/wait</c> to wait.</summary>
    public const int MaxWaitSeconds = 300;

    /// <summary>The media type of a Jupyter notebook file.</summary>
    public const string NotebookMediaType = "application/x-ipynb+json";

    public static RouteGroupBuilder MapJobEndpoints(this IEndpointRouteBuilder routes)
    {
        // Answers beyond the handlers' result types, for the OpenAPI document (401 and 503: ProcessingOpenApi).
        var group = routes.MapGroup("/jobs").WithTags("Jobs");
        group.MapPost("/", SubmitJob).WithName("SubmitJob").WithSummary("Queue a job (ingest, profile, transform or noop).")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapGet("/", ListJobs).WithName("ListJobs").WithSummary("Recent jobs, newest first, optionally by status.");
        group.MapGet("/{id:guid}", GetJob).WithName("GetJob").WithSummary("One job's state, progress and outcome.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:guid}/wait", WaitForJob).WithName("WaitForJob")
            .WithSummary("Returns as soon as the job has ended, or its current state at the timeout.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:guid}/notebook", GetJobNotebook).WithName("GetJobNotebook")
            .WithSummary("The executed notebook of a job that ran one (a python job's result), as .ipynb JSON.")
            .Produces(StatusCodes.Status200OK, typeof(object), NotebookMediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id:guid}/cancel", CancelJob).WithName("CancelJob").WithSummary("Cancel a queued or running job.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/requeue-failed", RequeueFailed).WithName("RequeueFailedJobs")
            .WithSummary("Put every failed job back in the queue with a fresh attempt budget.");
        return group;
    }

    public static async Task<Results<Accepted<Job>, Ok<Job>, ValidationProblem>> SubmitJob(
        SubmitJobRequest request, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Kind))
        {
            return Problems.Validation("kind", "A job kind is required.");
        }

        if (request.IdempotencyKey?.Length > JobSubmitter.MaxIdempotencyKeyLength)
        {
            return Problems.Validation("idempotencyKey", $"At most {JobSubmitter.MaxIdempotencyKeyLength} characters.");
        }

        var args = request.Args ?? JsonSerializer.SerializeToElement(new { });
        var errors = submitter.Validate(request.Kind, args);
        if (errors.Count > 0)
        {
            return Problems.Validation(new Dictionary<string, string[]>(errors));
        }

        var (job, created) = await submitter.SubmitAsync(request.Kind, args, request.IdempotencyKey, cancellationToken);
        return created ? TypedResults.Accepted($"/jobs/{job.Id}", job) : TypedResults.Ok(job);
    }

    public static async Task<Results<Ok<IReadOnlyList<Job>>, ValidationProblem>> ListJobs(
        JobStore store, string? status, [Range(1, 1000)] int? limit, CancellationToken cancellationToken)
    {
        JobStatus? filter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!JobStatuses.TryParse(status, out var parsed))
            {
                return Problems.Validation("status", "One of queued, running, succeeded, failed, cancelled.");
            }

            filter = parsed;
        }

        if (limit is < 1 or > 1000)
        {
            return Problems.Validation("limit", "Between 1 and 1000.");
        }

        return TypedResults.Ok(await store.ListAsync(filter, limit ?? 100, cancellationToken));
    }

    public static async Task<Results<Ok<Job>, ProblemHttpResult>> GetJob(Guid id, JobStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } job ? TypedResults.Ok(job) : Problems.JobNotFound(id);

    public static async Task<Results<Ok<Job>, ProblemHttpResult, ValidationProblem>> WaitForJob(
        Guid id, [Range(0, MaxWaitSeconds)] double? timeout, JobStore store, JobNotifications notifications, CancellationToken cancellationToken)
    {
        var seconds = timeout ?? 30;
        if (seconds is < 0 or > MaxWaitSeconds || double.IsNaN(seconds))
        {
            return Problems.Validation("timeout", $"Seconds, between 0 and {MaxWaitSeconds}.");
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            // Register before reading, so a job that ends in between still wakes us.
            using var done = notifications.WaitForDone(id);
            var job = await store.GetAsync(id, cancellationToken);
            if (job is null)
            {
                return Problems.JobNotFound(id);
            }

            var remaining = deadline - DateTime.UtcNow;
            if (job.Status.IsTerminal() || remaining <= TimeSpan.Zero)
            {
                return TypedResults.Ok(job);
            }

            try
            {
                await done.Task.WaitAsync(remaining, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Fall through: answer with the state at the deadline.
            }
        }
    }

    /// <summary>The notebook a job's result holds (<c>result.notebook</c>: what a runner reports for a notebook job).</summary>
    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetJobNotebook(Guid id, JobStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } job)
        {
            return Problems.JobNotFound(id);
        }

        return job.Result is { ValueKind: JsonValueKind.Object } result && result.TryGetProperty("notebook", out var notebook) && notebook.ValueKind == JsonValueKind.Object
            ? TypedResults.Content(notebook.GetRawText(), NotebookMediaType, Encoding.UTF8)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No notebook",
                detail: $"Job {id} has no executed notebook: it is not a notebook job, or it has not succeeded ({job.Status.ToString().ToLowerInvariant()}).");
    }

    public static async Task<Results<Ok<Job>, ProblemHttpResult>> CancelJob(Guid id, JobStore store, CancellationToken cancellationToken) =>
        await store.CancelAsync(id, cancellationToken) is { } job ? TypedResults.Ok(job) : Problems.JobNotFound(id);

    public static async Task<Ok<RequeueResult>> RequeueFailed(JobStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new RequeueResult(await store.RequeueFailedAsync(cancellationToken)));
}
