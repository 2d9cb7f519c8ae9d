using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>
/// Does nothing, for diagnostics and queue benchmarks. Args: <c>durationMs</c> (wait that long, honouring
/// cancellation), <c>fail</c> (end failed with code <c>noop_failed</c>) and <c>transientFailures</c> (throw an
/// <see cref="IOException"/> on the first N attempts, so the runner retries it: a way to see retries).
/// </summary>
public sealed class NoopJobHandler : IJobHandler
{
    /// <summary>The queue's own kind, to test and measure it: does nothing (for a while, or failing, if asked).</summary>
    public const string KindName = "noop";

    public string Kind => KindName;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args)
    {
        var errors = new Dictionary<string, string[]>();
        if (args.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            errors["args"] = ["must be a JSON object"];
        }
        else if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("durationMs", out var duration)
            && (duration.ValueKind != JsonValueKind.Number || !duration.TryGetInt32(out var ms) || ms < 0))
        {
            errors["args.durationMs"] = ["must be a non-negative integer"];
        }

        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("transientFailures", out var failures)
            && (failures.ValueKind != JsonValueKind.Number || !failures.TryGetInt32(out var count) || count < 0))
        {
            errors["args.transientFailures"] = ["must be a non-negative integer"];
        }

        return errors;
    }

    public async Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var args = context.Args;
        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("durationMs", out var duration) && duration.GetInt32() > 0)
        {
            await Task.Delay(duration.GetInt32(), cancellationToken);
        }

        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("transientFailures", out var failures)
            && context.Attempt <= failures.GetInt32())
        {
            throw new IOException($"The noop job was asked to fail its first {failures.GetInt32()} attempt(s) transiently.");
        }

        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("fail", out var fail) && fail.ValueKind == JsonValueKind.True)
        {
            throw new JobFailedException("noop_failed", "The noop job was asked to fail.");
        }

        return null;
    }
}
