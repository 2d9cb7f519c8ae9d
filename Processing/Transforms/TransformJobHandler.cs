using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Transforms;

/// <summary>Placeholder until the transform job is implemented.</summary>
public sealed class TransformJobHandler : IJobHandler
{
    public string Kind => JobKinds.Transform;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args) => new Dictionary<string, string[]>();

    public Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken) =>
        throw new JobFailedException("not_implemented", "Not implemented yet.");
}
