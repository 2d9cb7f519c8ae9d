using System.Text.Json;
using DataStack.Processing.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DataStack.Processing.Api;

/// <summary>How the dataset routes queue their job: arguments checked, the caller's <c>Idempotency-Key</c> honoured, 202 or 200.</summary>
public static class JobSubmission
{
    /// <summary>Header that makes a submission safe to retry: the same key never queues a second job.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The request's idempotency key (null when none), or the problem with it.</summary>
    public static (string? Key, ValidationProblem? Problem) ReadIdempotencyKey(HttpRequest request)
    {
        string? key = request.Headers[IdempotencyKeyHeader];
        return key?.Length > JobSubmitter.MaxIdempotencyKeyLength
            ? (null, Problems.Validation(IdempotencyKeyHeader, $"At most {JobSubmitter.MaxIdempotencyKeyLength} characters."))
            : (string.IsNullOrEmpty(key) ? null : key, null);
    }

    /// <summary>Queues a job of <paramref name="kind"/>: <c>202</c> for a new one, <c>200</c> with the one an earlier submission under the same key queued.</summary>
    public static async Task<Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem>> SubmitAsync(
        string kind, JsonElement args, HttpRequest request, JobSubmitter submitter, CancellationToken cancellationToken)
    {
        var errors = submitter.Validate(kind, args);
        if (errors.Count > 0)
        {
            return Problems.Validation(new Dictionary<string, string[]>(errors));
        }

        var (key, problem) = ReadIdempotencyKey(request);
        if (problem is not null)
        {
            return problem;
        }

        var (job, created) = await submitter.SubmitAsync(kind, args, key, cancellationToken);
        return Answer(job, created);
    }

    /// <summary><c>202 Accepted</c> with the job's location for a new job, <c>200 OK</c> for the one already queued under the key.</summary>
    public static Results<Accepted<Job>, Ok<Job>, ProblemHttpResult, ValidationProblem> Answer(Job job, bool created) =>
        created ? TypedResults.Accepted($"/jobs/{job.Id}", job) : TypedResults.Ok(job);
}
