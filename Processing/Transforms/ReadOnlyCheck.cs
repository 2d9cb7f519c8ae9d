namespace DataStack.Processing.Transforms;

/// <summary>
/// The words that make a query that starts with SELECT or WITH write: a data-modifying WITH
/// (<c>… AS (INSERT|UPDATE|DELETE|MERGE …)</c>) and a locking clause (<c>FOR UPDATE</c>, <c>FOR SHARE</c>).
/// PostgreSQL's read-only transaction would refuse both when the job runs; saying so at submission is clearer.
/// </summary>
internal static class ReadOnlyCheck
{
    private static readonly string[] s_writes = ["insert", "update", "delete", "merge"];
    // FOR NO KEY UPDATE and FOR KEY SHARE end in these words too; "key" alone is a common column name.
    private static readonly string[] s_locks = ["update", "share"];

    /// <summary>Why <paramref name="word"/> is refused in its place, or null when it is fine.</summary>
    /// <param name="word">The word just read.</param>
    /// <param name="previousWord">The significant word before it, if the token before it was a word.</param>
    /// <param name="afterOpenParenthesis">Whether the token before it was a <c>(</c>.</param>
    public static string? Refusal(string word, string? previousWord, bool afterOpenParenthesis)
    {
        if (afterOpenParenthesis && s_writes.Contains(word, StringComparer.OrdinalIgnoreCase))
        {
            return $"A transform must be one read-only SELECT: a data-modifying WITH ('AS ({word.ToUpperInvariant()} …') is not allowed.";
        }

        if ((string.Equals(previousWord, "for", StringComparison.OrdinalIgnoreCase) || string.Equals(previousWord, "key", StringComparison.OrdinalIgnoreCase))
            && s_locks.Contains(word, StringComparer.OrdinalIgnoreCase))
        {
            return $"A transform must be one read-only SELECT: a locking clause ('FOR {word.ToUpperInvariant()} …') is not allowed.";
        }

        return null;
    }
}
