namespace DataStack.Processing.Database;

/// <summary>Whether this process has seen the schema migrated; workers wait for it before they claim jobs.</summary>
public sealed class MigrationState
{
    private readonly TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsApplied => _applied.Task.IsCompleted;

    public Task WhenApplied => _applied.Task;

    public void MarkApplied() => _applied.TrySetResult();
}
