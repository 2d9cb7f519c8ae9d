namespace DataStack.Processing.Transforms;

/// <summary>
/// The syntactic pre-check of a transform query, with PostgreSQL's lexical rules
/// (<c>standard_conforming_strings = on</c>, which the transform forces): it finds strings, quoted
/// identifiers, dollar quotes and (nested) comments, and then requires that the query
/// <list type="bullet">
/// <item>starts with <c>SELECT</c>, <c>WITH</c>, <c>VALUES</c> or <c>(</c>;</item>
/// <item>has no <c>;</c> except one trailing (dropped from <see cref="Body"/>);</item>
/// <item>closes every string, identifier and comment it opens, and balances its parentheses.</item>
/// </list>
/// The last two make the query text exactly one parenthesised subquery once wrapped as
/// <c>SELECT * FROM (…) AS q</c>: it cannot close the wrapper's parenthesis or comment it out. The real
/// guard remains the READ ONLY transaction the query runs in; this check gives early, clear answers.
/// </summary>
public sealed class TransformQuery
{
    public const int MaxLength = 100_000;

    private TransformQuery(string body) => Body = body;

    /// <summary>The query without its trailing <c>;</c> (and what followed it), ready to be wrapped.</summary>
    public string Body { get; }

    /// <summary>Checks <paramref name="text"/>; on failure <paramref name="error"/> says what to change.</summary>
    public static bool TryParse(string? text, out TransformQuery query, out string error)
    {
        query = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A query is required.";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"The query has {text.Length} characters; at most {MaxLength} are allowed.";
            return false;
        }

        var scanner = new TransformQueryScanner(text);
        if (!scanner.Run(out error))
        {
            return false;
        }

        query = new TransformQuery(scanner.SemicolonAt >= 0 ? text[..scanner.SemicolonAt] : text);
        return true;
    }

    /// <summary>1-based line and column of a 0-based character index, for error messages.</summary>
    public static (int Line, int Column) LineAndColumn(string text, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart + 1);
    }
}
