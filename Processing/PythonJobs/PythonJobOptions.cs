using System.ComponentModel.DataAnnotations;

namespace DataStack.Processing.PythonJobs;

/// <summary>Python jobs' defaults, bound from the <c>Processing</c> section (<c>Processing__PythonJobTimeoutSeconds</c>).</summary>
public sealed class PythonJobOptions
{
    public const string SectionName = "Processing";

    /// <summary>The time limit of one attempt of a Python job that sets none (<c>args.timeoutSeconds</c>).</summary>
    [Range(1, PythonJobKind.MaxTimeoutSeconds)]
    public int PythonJobTimeoutSeconds { get; set; } = 3600;
}
