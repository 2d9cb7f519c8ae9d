using DataStack.Processing.Transforms;

namespace DataStack.Processing.Tests;

public sealed class TransformQueryTests
{
    [Theory]
    [InlineData("select 1 as a", "select 1 as a")]
    [InlineData("SELECT 1 AS a;", "SELECT 1 AS a")]
    [InlineData("  -- a comment\n  with t as (select 1 as a) select * from t ;  -- done\n", "  -- a comment\n  with t as (select 1 as a) select * from t ")]
    [InlineData("/* outer /* nested */ still */ values (1), (2)", "/* outer /* nested */ still */ values (1), (2)")]
    [InlineData("(select 1 as a) union all (select 2)", "(select 1 as a) union all (select 2)")]
    [InlineData("select 'a;b)' as x, \"we;ird(\" from t", "select 'a;b)' as x, \"we;ird(\" from t")]
    [InlineData("select $$ ; ) $$ as x, $tag$ ' ; $tag$ as y", "select $$ ; ) $$ as x, $tag$ ' ; $tag$ as y")]
    [InlineData("select E'it\\'s; fine' as x", "select E'it\\'s; fine' as x")]
    [InlineData("select 'it''s; fine' as x", "select 'it''s; fine' as x")]
    [InlineData("select a$b$c from t", "select a$b$c from t")]
    [InlineData("select \"update\", \"delete\" from t", "select \"update\", \"delete\" from t")]
    [InlineData("select substring(s for 2) as s from t", "select substring(s for 2) as s from t")]
    [InlineData("select 'with d as (delete from x)' as s", "select 'with d as (delete from x)' as s")]
    [InlineData("select inserted, updates from t", "select inserted, updates from t")]
    public void AcceptsOneSelectAndDropsATrailingSemicolon(string text, string body)
    {
        // Act
        var ok = TransformQuery.TryParse(text, out var query, out var error);

        // Assert
        Assert.True(ok, error);
        Assert.Equal(body, query.Body);
    }

    [Theory]
    [InlineData("", "required")]
    [InlineData("   \n\t ", "required")]
    [InlineData("-- only a comment\n/* and another */", "empty")]
    [InlineData("delete from x", "'DELETE' is not allowed")]
    [InlineData("drop table x", "'DROP' is not allowed")]
    [InlineData("insert into x values (1)", "'INSERT' is not allowed")]
    [InlineData("update x set a = 1", "'UPDATE' is not allowed")]
    [InlineData("copy x to '/tmp/x'", "'COPY' is not allowed")]
    [InlineData("select 1; drop table x", "single SELECT")]
    [InlineData("select 1;;", "single SELECT")]
    [InlineData("select 1 --\r; drop table x", "single SELECT")]
    [InlineData("select 'a' ; commit", "single SELECT")]
    [InlineData("select E'\\'' ; drop table x", "single SELECT")]
    [InlineData("select E'x'\n'\\'' ; commit ; select '", "single SELECT")]
    [InlineData("select 1) as q) to program 'rm -rf /' --", "never opened")]
    [InlineData("select (1", "not balanced")]
    [InlineData("select 'open", "string literal")]
    [InlineData("select \"open", "quoted identifier")]
    [InlineData("select 1 /* open", "comment")]
    [InlineData("select $q$ open", "never closed")]
    [InlineData("with d as (delete from x returning *) select * from d", "read-only SELECT: a data-modifying WITH ('AS (DELETE")]
    [InlineData("with d as (insert into x values (1) returning *) select * from d", "data-modifying WITH ('AS (INSERT")]
    [InlineData("WITH d AS MATERIALIZED ( /* c */ UPDATE x SET a = 1 RETURNING a) SELECT * FROM d", "data-modifying WITH ('AS (UPDATE")]
    [InlineData("with s as (select 1), d as (merge into x using s on true when matched then delete) select 1", "data-modifying WITH ('AS (MERGE")]
    [InlineData("select * from x for update", "read-only SELECT: a locking clause ('FOR UPDATE")]
    [InlineData("select * from x for no key update", "locking clause")]
    [InlineData("select * from x FOR SHARE", "locking clause ('FOR SHARE")]
    public void RefusesAnythingButOneCompleteSelect(string text, string expected)
    {
        // Act
        var ok = TransformQuery.TryParse(text, out _, out var error);

        // Assert
        Assert.False(ok);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void RefusesQueriesOverTheLengthLimit()
    {
        // Arrange
        var text = "select 1" + new string(' ', TransformQuery.MaxLength);

        // Act
        var ok = TransformQuery.TryParse(text, out _, out var error);

        // Assert
        Assert.False(ok);
        Assert.Contains($"at most {TransformQuery.MaxLength}", error);
    }

    [Fact]
    public void RowCounterCountsRowsOfABinaryCopyStreamFedByteByByte()
    {
        // Arrange: header with a 2-byte extension, then (NULL, "abc"), (7), an empty row, then the trailer.
        var stream = new List<byte>();
        stream.AddRange([(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
        stream.AddRange([0, 0, 0, 0, 0, 0, 0, 2, 9, 9]);
        stream.AddRange([0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c']);
        stream.AddRange([0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        stream.AddRange([0, 0]);
        stream.AddRange([0xff, 0xff]);
        var counter = new BinaryCopyRowCounter();

        // Act
        foreach (var b in stream)
        {
            counter.Feed([b]);
        }

        // Assert
        Assert.Equal(3, counter.Rows);
        Assert.True(counter.Completed);
    }
}
