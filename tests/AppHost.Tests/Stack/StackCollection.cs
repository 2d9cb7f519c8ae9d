namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The tests that share one running stack. xUnit runs them one after another, never in parallel with each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "The whole stack under Docker";
}
