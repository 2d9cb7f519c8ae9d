namespace DataStack.Processing.Api;

/// <summary>Answer of completions: the jobs recorded succeeded; one missing was no longer the runner's.</summary>
public sealed record RunnerCompletionsAnswer(IReadOnlyList<Guid> Completed);
