namespace DataStack.Processing.Api;

/// <summary>Who may call the API, bound from the <c>Processing</c> section (<c>Processing__ApiKey</c>, …).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Processing";

    /// <summary>The one line Processing stops with when it has neither a key nor leave to serve without one.</summary>
    public const string MissingApiKey =
        "Processing:ApiKey is not set. Set Processing__ApiKey (the AppHost injects it), or Processing__AllowAnonymous=true to serve without a key.";

    /// <summary>The bearer key every non-health route requires. Injected by the AppHost as a secret.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Serve without a key. Off by default: without a key the service refuses to start.</summary>
    public bool AllowAnonymous { get; set; }
}
