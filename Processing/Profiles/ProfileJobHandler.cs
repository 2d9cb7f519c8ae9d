using System.Text.Json;
using System.Text.Json.Nodes;
using DataStack.Processing.Jobs;

namespace DataStack.Processing.Profiles;

/// <summary>Placeholder until the profile job is implemented.</summary>
public sealed class ProfileJobHandler : IJobHandler
{
    public string Kind => JobKinds.Profile;

    public IReadOnlyDictionary<string, string[]> Validate(JsonElement args) => new Dictionary<string, string[]>();

    public Task<JsonNode?> ExecuteAsync(JobContext context, CancellationToken cancellationToken) =>
        throw new JobFailedException("not_implemented", "Not implemented yet.");
}
