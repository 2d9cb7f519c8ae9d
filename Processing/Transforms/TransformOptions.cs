using System.ComponentModel.DataAnnotations;

namespace DataStack.Processing.Transforms;

/// <summary>Limits of a transform, bound from the <c>Processing</c> section (<c>Processing__TransformTimeoutSeconds</c>).</summary>
public sealed class TransformOptions
{
    public const string SectionName = "Processing";

    /// <summary>Statement timeout of a transform query.</summary>
    [Range(1, 86400)]
    public int TransformTimeoutSeconds { get; set; } = 300;
}
