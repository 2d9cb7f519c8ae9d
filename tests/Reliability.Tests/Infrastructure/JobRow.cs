namespace DataStack.Reliability.Tests.Infrastructure;

/// <summary>One row of <c>datastack.jobs</c>, read straight from the database.</summary>
public sealed record JobRow(Guid Id, string Status, int Attempts, string? LeaseOwner, string? ErrorCode, string? ErrorMessage)
{
    public bool IsTerminal => Status is "succeeded" or "failed" or "cancelled";
}
