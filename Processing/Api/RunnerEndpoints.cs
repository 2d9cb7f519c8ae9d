using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DataStack.Processing.Jobs;
using DataStack.Processing.Telemetry;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DataStack.Processing.Api;

/// <summary>
/// <c>/runners/{runner}</c>: the protocol runners follow to run the jobs of their queue (docs/runners.md). Each route is one
/// of the queue's rules (<see cref="RunnerLeases"/>); <c>{runner}</c> is the runner's lease-owner name.
/// </summary>
public static partial class RunnerEndpoints
{
    public static RouteGroupBuilder MapRunnerEndpoints(this IEndpointRouteBuilder routes)
    {
        // Answers beyond the handlers' result types, for the OpenAPI document (401 and 503: ProcessingOpenApi).
        var group = routes.MapGroup("/runners/{runner}").WithTags("Runners");
        group.MapPost("/claims", Claim).WithName("ClaimJobs")
            .WithSummary("Claim up to max jobs of a queue, waiting up to waitSeconds for work.");
        group.MapPost("/heartbeat", Heartbeat).WithName("RenewLeases")
            .WithSummary("Renew the leases of the runner's running jobs; says which it still holds and which to cancel.");
        group.MapPost("/completions", Complete).WithName("CompleteJobs")
            .WithSummary("Record jobs as succeeded, with their results.");
        group.MapPost("/jobs/{id:guid}/failure", Fail).WithName("FailJob")
            .WithSummary("Record a failed attempt: retried with backoff while attempts remain (retryable), else failed.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/jobs/{id:guid}/cancelled", Cancelled).WithName("JobCancelled")
            .WithSummary("Record as cancelled a job the runner stopped because its cancel was asked for.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/returns", Return).WithName("ReturnJobs")
            .WithSummary("Put the runner's jobs back in the queue, their attempts not counted (a runner shutting down).");
        return group;
    }

    public static async Task<Results<Ok<RunnerClaimAnswer>, ValidationProblem>> Claim(
        string runner, RunnerClaimRequest request, RunnerLeases leases, IOptions<JobQueueOptions> queueOptions, CancellationToken cancellationToken)
    {
        var max = request.Max ?? 1;
        var wait = request.WaitSeconds ?? 0;
        var problem = CheckRunner(runner)
            ?? (string.IsNullOrWhiteSpace(request.Queue) || request.Queue.Length > 100 ? Problems.Validation("queue", "The queue to claim from, e.g. 'python'.") : null)
            ?? (max is < 1 or > RunnerLeases.MaxClaim ? Problems.Validation("max", $"Between 1 and {RunnerLeases.MaxClaim}.") : null)
            ?? (wait < 0 || wait > RunnerLeases.MaxWait.TotalSeconds || double.IsNaN(wait)
                ? Problems.Validation("waitSeconds", $"Seconds, between 0 and {RunnerLeases.MaxWait.TotalSeconds}.")
                : null);
        if (problem is not null)
        {
            return problem;
        }

        var claimed = await leases.ClaimAsync(request.Queue!, runner, max, TimeSpan.FromSeconds(wait), cancellationToken);
        var traceMode = queueOptions.Value.JobTraceMode == JobTraceMode.Child ? "child" : "newTrace";
        IReadOnlyList<RunnerJob> jobs =
        [
            .. claimed.Select(job => new RunnerJob(
                job.Id, job.Kind, job.Args, job.Attempt, job.MaxAttempts, job.TimeoutSeconds, job.TraceParent, job.TraceState, traceMode, job.CreatedAt)),
        ];
        return TypedResults.Ok(new RunnerClaimAnswer((int)leases.Lease.TotalSeconds, jobs));
    }

    public static async Task<Results<Ok<RunnerHeartbeatAnswer>, ValidationProblem>> Heartbeat(
        string runner, RunnerHeartbeatRequest request, RunnerLeases leases, CancellationToken cancellationToken)
    {
        if (CheckRunner(runner) is { } problem)
        {
            return problem;
        }

        var running = (request.Jobs ?? []).Select(job => (job.Id, job.Progress ?? new JobProgress(0, 0))).ToList();
        var held = running.Count == 0 ? new Dictionary<Guid, bool>() : await leases.HeartbeatAsync(runner, running, cancellationToken);
        return TypedResults.Ok(new RunnerHeartbeatAnswer([.. held.Select(job => new RunnerHeldJob(job.Key, job.Value))]));
    }

    public static async Task<Results<Ok<RunnerCompletionsAnswer>, ValidationProblem>> Complete(
        string runner, RunnerCompletionsRequest request, RunnerLeases leases, CancellationToken cancellationToken)
    {
        if (CheckRunner(runner) is { } problem)
        {
            return problem;
        }

        var completions = (request.Jobs ?? [])
            .Select(job => new JobCompletion(job.Id, job.Result is { } result ? JsonNode.Parse(result.GetRawText()) : null, job.Progress))
            .ToList();
        var completed = completions.Count == 0 ? [] : await leases.CompleteAsync(runner, completions, cancellationToken);
        return TypedResults.Ok(new RunnerCompletionsAnswer([.. completed]));
    }

    public static async Task<Results<Ok<RunnerJobStatus>, ProblemHttpResult, ValidationProblem>> Fail(
        string runner, Guid id, RunnerFailureRequest request, RunnerLeases leases, CancellationToken cancellationToken)
    {
        var problem = CheckRunner(runner)
            ?? (request.Error is not { Code.Length: > 0, Message: not null } ? Problems.Validation("error", "The error's code and message are required.") : null)
            ?? (request.Attempt < 1 ? Problems.Validation("attempt", "The attempt that failed, as the claim gave it (1 or more).") : null);
        if (problem is not null)
        {
            return problem;
        }

        return await leases.FailAsync(runner, id, request.Attempt, request.Error!, request.Retryable, cancellationToken) is { } status
            ? TypedResults.Ok(new RunnerJobStatus(status))
            : NotHeld(runner, id);
    }

    public static async Task<Results<Ok<RunnerJobStatus>, ProblemHttpResult, ValidationProblem>> Cancelled(
        string runner, Guid id, RunnerLeases leases, CancellationToken cancellationToken)
    {
        if (CheckRunner(runner) is { } problem)
        {
            return problem;
        }

        return await leases.CancelledAsync(runner, id, cancellationToken)
            ? TypedResults.Ok(new RunnerJobStatus(JobStatus.Cancelled))
            : NotHeld(runner, id);
    }

    public static async Task<Results<Ok<RunnerReturnsAnswer>, ValidationProblem>> Return(
        string runner, RunnerReturnsRequest request, RunnerLeases leases, CancellationToken cancellationToken)
    {
        if (CheckRunner(runner) is { } problem)
        {
            return problem;
        }

        var ids = request.Ids ?? [];
        return TypedResults.Ok(new RunnerReturnsAnswer(ids.Count == 0 ? 0 : await leases.ReturnAsync(runner, ids, cancellationToken)));
    }

    private static ValidationProblem? CheckRunner(string runner) =>
        RunnerName().IsMatch(runner) ? null : Problems.Validation("runner", "The runner's name: 1 to 100 of A-Z a-z 0-9 . _ : -.");

    private static ProblemHttpResult NotHeld(string runner, Guid id) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Not this runner's job",
        detail: $"Job {id} is not running under runner '{runner}' any more (its lease expired, or it ended): leave it.");

    [GeneratedRegex(@"^[A-Za-z0-9._:-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunnerName();
}
