namespace DataStack.Processing.Jobs;

/// <summary>The queue names the queue itself knows; a kind run elsewhere brings its own (<see cref="IJobKind.Queue"/>).</summary>
public static class JobQueues
{
    /// <summary>The queue of the kinds this service runs: its workers claim from it, and from no other.</summary>
    public const string Processing = "processing";
}
