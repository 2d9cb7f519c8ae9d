namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>The <c>error</c> of a failed job on the wire.</summary>
public sealed record WireJobError(string Code, string Message, long? Row, int? Column);
