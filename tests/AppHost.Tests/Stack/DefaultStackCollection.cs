namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The tests of the stack at its shipped defaults. It runs after the other collections, never next to the two-replica
/// stack (two stacks at once would only slow both down on a small machine).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultStackCollection : ICollectionFixture<DefaultStackFixture>
{
    public const string Name = "The whole stack at the shipped defaults";
}
