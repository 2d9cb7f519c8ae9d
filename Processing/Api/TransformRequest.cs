namespace DataStack.Processing.Api;

/// <summary>Body of <c>POST /datasets/{name}/transform</c>.</summary>
public sealed record TransformRequest(string? Query);
