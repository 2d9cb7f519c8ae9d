namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The tests that share one running stack (two Processing replicas). xUnit runs them one after another, never in
/// parallel with each other, in the order of their <see cref="StackOrderAttribute"/>; and after the other collections,
/// never next to the <see cref="DefaultStackCollection"/>'s stack.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "The whole stack under Docker";
}
