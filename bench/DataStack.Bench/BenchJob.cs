namespace DataStack.Bench;

/// <summary>
/// A job the queue sections put in the queue, stored as <c>POST /jobs</c> would store it: its kind, the queue that
/// kind goes to, its arguments (JSON text) and its time limit.
/// </summary>
public sealed record BenchJob(string Kind, string Queue, string Args, int? TimeoutSeconds)
{
    /// <summary>The built-in <c>noop</c> kind, run by Processing's own workers.</summary>
    public static readonly BenchJob Noop = new("noop", "processing", "{}", null);

    /// <summary>
    /// A function of the pipelines package as a <c>python</c> job, run by the runners; its time limit is Processing's
    /// default for python jobs (<c>Processing:PythonJobTimeoutSeconds</c>, 3,600 s), as a submission without one gets.
    /// </summary>
    public static BenchJob Python(string entrypoint) =>
        new("python", "python", $$$"""{"entrypoint":"{{{entrypoint}}}","parameters":{}}""", 3600);

    /// <summary>An SQL condition on <c>datastack.jobs</c> that selects the jobs like this one.</summary>
    public string Matches => $"kind = '{Kind}' AND args = '{Args}'::jsonb";

    /// <summary>The body of <c>POST /jobs</c> that queues this job.</summary>
    public string Body => $$"""{"kind":"{{Kind}}","args":{{Args}}}""";
}
