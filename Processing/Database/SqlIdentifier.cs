namespace DataStack.Processing.Database;

/// <summary>Identifiers in SQL text: always quoted, so a name is never read as anything but a name.</summary>
public static class SqlIdentifier
{
    /// <summary>Quotes any identifier for PostgreSQL (double quotes doubled).</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
