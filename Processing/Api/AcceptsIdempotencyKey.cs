namespace DataStack.Processing.Api;

/// <summary>
/// Endpoint metadata: the route reads the <c>Idempotency-Key</c> header (a retry with the same key gets the same
/// job back). The OpenAPI document declares the header for these routes.
/// </summary>
public sealed class AcceptsIdempotencyKey
{
    public static AcceptsIdempotencyKey Instance { get; } = new();

    private AcceptsIdempotencyKey()
    {
    }
}
