using System.Diagnostics;
using System.Text.Json;
using DataStack.Processing.Text;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>Validates and queues jobs for the HTTP endpoints, in their kind's queue, recording the caller's trace context.</summary>
public sealed class JobSubmitter(JobStore store, IEnumerable<IJobKind> kinds, IOptions<JobQueueOptions> options)
{
    /// <summary>Longest accepted idempotency key (body field or <c>Idempotency-Key</c> header).</summary>
    public const int MaxIdempotencyKeyLength = 200;

    private readonly Dictionary<string, IJobKind> _kinds = kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Kinds => _kinds.Keys;

    /// <summary>Problems with the kind or arguments, by field; empty when the job can be queued.</summary>
    public IReadOnlyDictionary<string, string[]> Validate(string kind, JsonElement args)
    {
        if (!_kinds.TryGetValue(kind, out var jobKind))
        {
            return new Dictionary<string, string[]>
            {
                ["kind"] = [$"Unknown job kind '{UserInput.Excerpt(kind)}'; known kinds: {string.Join(", ", _kinds.Keys.Order())}."],
            };
        }

        return jobKind.Validate(args);
    }

    public Task<(Job Job, bool Created)> SubmitAsync(string kind, JsonElement args, string? idempotencyKey, CancellationToken cancellationToken) =>
        SubmitAsync(null, kind, args, idempotencyKey, cancellationToken);

    /// <summary>Queues the job on <paramref name="connection"/>, inside its open transaction (null: a pooled connection).</summary>
    public Task<(Job Job, bool Created)> SubmitAsync(
        NpgsqlConnection? connection, string kind, JsonElement args, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var jobKind = _kinds.TryGetValue(kind, out var found) ? found : throw new ArgumentException($"Unknown job kind '{kind}'.", nameof(kind));
        var job = new NewJob(kind, jobKind.Queue, args, idempotencyKey, options.Value.MaxAttempts, jobKind.TimeoutSeconds(args));
        return store.SubmitAsync(connection, job, Activity.Current?.Context ?? default, cancellationToken);
    }
}
