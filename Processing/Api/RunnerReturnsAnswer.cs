namespace DataStack.Processing.Api;

/// <summary>Answer of returns: how many jobs went back to the queue.</summary>
public sealed record RunnerReturnsAnswer(int Returned);
