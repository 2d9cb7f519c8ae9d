using System.Text.Json;

namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /jobs</c>.</summary>
public sealed record SubmitJobRequest(string Kind, JsonElement? Args, string? IdempotencyKey);
