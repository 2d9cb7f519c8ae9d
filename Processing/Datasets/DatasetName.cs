using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using DataStack.Processing.Database;

namespace DataStack.Processing.Datasets;

/// <summary>
/// Dataset names are PostgreSQL identifiers we can trust: <c>^[a-z_][a-z0-9_]{0,62}$</c>. Only a validated
/// name ever reaches SQL text, and even then it is quoted.
/// </summary>
public static partial class DatasetName
{
    /// <summary>The schema that holds the data tables.</summary>
    public const string Schema = "datasets";

    public const string Rule = "lower-case letters, digits and '_', starting with a letter or '_', at most 63 characters";

    public static bool IsValid([NotNullWhen(true)] string? name) => name is not null && Pattern().IsMatch(name);

    /// <summary>The quoted, schema-qualified table name of a valid dataset name.</summary>
    public static string QualifiedTable(string name)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a valid dataset name ({Rule}).", nameof(name));
        }

        return $"\"{Schema}\".\"{name}\"";
    }

    /// <summary>
    /// Any table of schema <c>datasets</c>, quoted: the tables an ingest sets aside (a staged upload, a replaced
    /// dataset's old table) have names no dataset can have, so <see cref="QualifiedTable"/> would refuse them.
    /// </summary>
    public static string InSchema(string table) => $"\"{Schema}\".{SqlIdentifier.Quote(table)}";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
