namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// Where a test class runs within its stack collection (lower first; classes without it count as 0). The fault tests
/// run after everything else that uses the stack, and the secret scans after all the traffic: see
/// <see cref="StackOrderFramework"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class StackOrderAttribute(int order) : Attribute
{
    /// <summary>The first classes: they look at the stack as it started.</summary>
    public const int First = -100;

    /// <summary>Tests that kill parts of the stack (a replica, the database container).</summary>
    public const int Faults = 100;

    /// <summary>Scans of everything the stack wrote, after all the traffic.</summary>
    public const int Last = 200;

    public int Order { get; } = order;
}
