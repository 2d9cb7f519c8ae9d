using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataStack.Processing.Jobs;

/// <summary>
/// Does nothing, for diagnostics and queue benchmarks. Args: <c>durationMs</c> (wait that long, honouring
/// cancellation) and <c>fail</c> (end failed with code <c>noop_failed</c>).
/// </summary>
public sealed class NoopJobHandler : IJobHandler
{
    public string Kind => JobKinds.Noop;

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

        return errors;
    }

    public async Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var args = context.Args;
        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("durationMs", out var duration) && duration.GetInt32() > 0)
        {
            await Task.Delay(duration.GetInt32(), cancellationToken);
        }

        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("fail", out var fail) && fail.ValueKind == JsonValueKind.True)
        {
            throw new JobFailedException("noop_failed", "The noop job was asked to fail.");
        }

        return null;
    }
}
