namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>
/// The part of the job JSON these tests read, declared here rather than borrowed from the server, so the wire
/// format itself is what is tested.
/// </summary>
public sealed record WireJob(Guid Id, string Kind, string Status, int Attempts, WireJobError? Error)
{
    public bool IsTerminal => Status is "succeeded" or "failed" or "cancelled";
}
