using System.Diagnostics;
using System.Text.Json;
using DataStack.Processing.Text;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DataStack.Processing.Jobs;

/// <summary>Validates and queues jobs for the HTTP endpoints, recording the caller's trace context.</summary>
public sealed class JobSubmitter(JobStore store, IEnumerable<IJobHandler> handlers, IOptions<JobQueueOptions> options)
{
    /// <summary>Longest accepted idempotency key (body field or <c>Idempotency-Key</c> header).</summary>
    public const int MaxIdempotencyKeyLength = 200;

    private readonly Dictionary<string, IJobHandler> _handlers = handlers.ToDictionary(h => h.Kind, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Kinds => _handlers.Keys;

    /// <summary>Problems with the kind or arguments, by field; empty when the job can be queued.</summary>
    public IReadOnlyDictionary<string, string[]> Validate(string kind, JsonElement args)
    {
        if (!_handlers.TryGetValue(kind, out var handler))
        {
            return new Dictionary<string, string[]>
            {
                ["kind"] = [$"Unknown job kind '{UserInput.Excerpt(kind)}'; known kinds: {string.Join(", ", _handlers.Keys.Order())}."],
            };
        }

        return handler.Validate(args);
    }

    public Task<(Job Job, bool Created)> SubmitAsync(string kind, JsonElement args, string? idempotencyKey, CancellationToken cancellationToken) =>
        SubmitAsync(null, kind, args, idempotencyKey, cancellationToken);

    /// <summary>Queues the job on <paramref name="connection"/>, inside its open transaction (null: a pooled connection).</summary>
    public Task<(Job Job, bool Created)> SubmitAsync(
        NpgsqlConnection? connection, string kind, JsonElement args, string? idempotencyKey, CancellationToken cancellationToken) =>
        store.SubmitAsync(connection, kind, args, idempotencyKey, options.Value.MaxAttempts, Activity.Current?.Context ?? default, cancellationToken);
}
