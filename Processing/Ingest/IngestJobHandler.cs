using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Ingest;

/// <summary>Placeholder until the ingest job is implemented.</summary>
public sealed class IngestJobHandler : IJobHandler
{
    public string Kind => JobKinds.Ingest;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args) => new Dictionary<string, string[]>();

    public Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken) =>
        throw new JobFailedException("not_implemented", "Not implemented yet.");
}
