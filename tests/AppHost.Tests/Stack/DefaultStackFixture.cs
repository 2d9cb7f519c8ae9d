namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// The whole stack as <c>dotnet run --project AppHost</c> starts it: every setting as shipped, so one Processing replica.
/// </summary>
public sealed class DefaultStackFixture() : StackFixture(replicas: null);
