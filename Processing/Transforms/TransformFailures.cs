using System.Text;
using DataStack.Processing.Jobs;
using Npgsql;

namespace DataStack.Processing.Transforms;

/// <summary>Which PostgreSQL errors of a transform are the query's fault (final) and which are left to the runner's retry.</summary>
internal static class TransformFailures
{
    /// <summary>
    /// SQLSTATE classes that mean "this query is wrong" and that another attempt cannot fix: feature not supported,
    /// cardinality, data exception, invalid transaction state (read-only), SQL routine and external routine
    /// exceptions, invalid schema, syntax or access rule, WITH CHECK, program limit, PL/pgSQL RAISE.
    /// Everything else (connection, resources, serialization, shutdown, internal) is left to the runner's retry.
    /// </summary>
    private static readonly string[] s_queryErrorClasses = ["0A", "21", "22", "25", "2F", "38", "39", "3F", "42", "44", "54", "P0"];

    /// <summary>
    /// Maps a PostgreSQL error to a non-retryable job failure when it is the query's fault: <c>timeout</c> for the
    /// statement timeout, <c>invalid_query</c> otherwise, with PostgreSQL's message, hint and the position in the
    /// user's text (line and column). Returns null for errors another attempt may not meet.
    /// </summary>
    public static JobFailedException? ToJobFailure(PostgresException ex, string? text, int prefixLength)
    {
        if (ex.SqlState == PostgresErrorCodes.QueryCanceled)
        {
            // Not our cancellation token (filtered by the callers): the statement timeout.
            return new JobFailedException("timeout", $"The query ran longer than the transform timeout (Processing:TransformTimeoutSeconds): {ex.MessageText}.");
        }

        if (!s_queryErrorClasses.Contains(ex.SqlState[..2], StringComparer.Ordinal))
        {
            return null;
        }

        var message = new StringBuilder(ex.MessageText);
        long? line = null;
        int? column = null;
        var position = ex.Position - prefixLength - 1;
        if (text is not null && ex.Position > 0 && position >= 0 && position < text.Length)
        {
            var (l, c) = TransformQuery.LineAndColumn(text, position);
            (line, column) = (l, c);
            message.Append($" (at character {position + 1}: line {l}, column {c})");
        }

        if (!string.IsNullOrEmpty(ex.Hint))
        {
            message.Append(". Hint: ").Append(ex.Hint);
        }

        return new JobFailedException("invalid_query", message.ToString(), line, column);
    }
}
