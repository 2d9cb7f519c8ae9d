using DataStack.Processing.Text;

namespace DataStack.Processing.Transforms;

/// <summary>
/// The lexer behind <see cref="TransformQuery.TryParse"/>: one pass over the text with PostgreSQL's lexical rules,
/// skipping strings, quoted identifiers, dollar quotes and nested comments, tracking parenthesis depth and where a
/// <c>;</c> stands. <see cref="Run"/> says what is wrong (with line and column) or leaves <see cref="SemicolonAt"/> set.
/// </summary>
internal ref struct TransformQueryScanner(string text)
{
    private readonly string _text = text;
    private int _position;
    private int _depth;
    private bool _sawToken;
    private bool _afterOpenParenthesis;
    private string? _previousWord;

    public int SemicolonAt { get; private set; } = -1;

    public bool Run(out string error)
    {
        while (_position < _text.Length)
        {
            var c = _text[_position];
            if (IsSpace(c))
            {
                _position++;
                continue;
            }

            if (c == '-' && Next == '-')
            {
                SkipLineComment();
                continue;
            }

            if (c == '/' && Next == '*')
            {
                if (!SkipBlockComment())
                {
                    error = Where(_text.Length, "The query ends inside a /* comment */.");
                    return false;
                }

                continue;
            }

            // A significant character: nothing may follow the trailing semicolon but blanks and comments.
            if (SemicolonAt >= 0)
            {
                error = Where(SemicolonAt, "A transform is a single SELECT statement; remove this ';' (one trailing ';' is fine).");
                return false;
            }

            if (!_sawToken)
            {
                _sawToken = true;
                if (!CheckFirstToken(out error))
                {
                    return false;
                }
            }

            var tokenStart = _position;
            if (!ScanToken(c, out error) || !CheckReadOnly(c, tokenStart, out error))
            {
                return false;
            }
        }

        if (!_sawToken)
        {
            error = "The query is empty: it has only blanks and comments.";
            return false;
        }

        if (_depth != 0)
        {
            error = "The query's parentheses are not balanced: a '(' is never closed.";
            return false;
        }

        error = "";
        return true;
    }

    private readonly char Next => _position + 1 < _text.Length ? _text[_position + 1] : '\0';

    private bool ScanToken(char c, out string error)
    {
        error = "";
        switch (c)
        {
            case ';':
                SemicolonAt = _position++;
                return true;
            case '(':
                _depth++;
                _position++;
                return true;
            case ')':
                if (--_depth < 0)
                {
                    error = Where(_position, "The query closes a parenthesis it never opened.");
                    return false;
                }

                _position++;
                return true;
            case '\'':
                var start = _position;
                if (!SkipString(escapes: IsEscapeStringPrefix(_position)))
                {
                    error = Where(start, "The query ends inside a string literal: a quote is not closed.");
                    return false;
                }

                return true;
            case '"':
                var identifierStart = _position;
                if (!SkipQuotedIdentifier())
                {
                    error = Where(identifierStart, "The query ends inside a quoted identifier: a '\"' is not closed.");
                    return false;
                }

                return true;
            case '$':
                return SkipDollar(out error);
            default:
                if (IsIdentifierChar(c))
                {
                    // Words (identifiers, keywords, numbers) in one go, so that a '$' or an 'E' inside one is
                    // never mistaken for the start of a dollar quote or an escape string.
                    while (_position < _text.Length && (IsIdentifierChar(_text[_position]) || _text[_position] == '$'))
                    {
                        _position++;
                    }

                    // E'...' is an escape string only when the word is exactly E (handled by IsEscapeStringPrefix).
                    return true;
                }

                _position++;
                return true;
        }
    }

    /// <summary>After each token: refuses words that would make the query write (<see cref="ReadOnlyCheck"/>).</summary>
    private bool CheckReadOnly(char first, int start, out string error)
    {
        error = "";
        var word = IsIdentifierStart(first) ? _text[start.._position] : null;
        if (word is not null && ReadOnlyCheck.Refusal(word, _previousWord, _afterOpenParenthesis) is { } refusal)
        {
            error = Where(start, refusal);
            return false;
        }

        _afterOpenParenthesis = first == '(';
        _previousWord = word;
        return true;
    }

    private readonly bool CheckFirstToken(out string error)
    {
        error = "";
        var c = _text[_position];
        if (c == '(')
        {
            return true;
        }

        var end = _position;
        while (end < _text.Length && char.IsAsciiLetter(_text[end]))
        {
            end++;
        }

        var word = _text[_position..end];
        if (word.Equals("select", StringComparison.OrdinalIgnoreCase)
            || word.Equals("with", StringComparison.OrdinalIgnoreCase)
            || word.Equals("values", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var shown = word.Length > 0 ? word.ToUpperInvariant() : UserInput.Excerpt(_text[_position..Math.Min(_text.Length, _position + 20)], 20);
        error = $"A transform is one query that starts with SELECT, WITH, VALUES or '('; '{shown}' is not allowed.";
        return false;
    }

    /// <summary>A -- comment ends at a line feed or a carriage return, as in PostgreSQL.</summary>
    private void SkipLineComment()
    {
        while (_position < _text.Length && _text[_position] is not ('\n' or '\r'))
        {
            _position++;
        }
    }

    /// <summary>PostgreSQL's block comments nest.</summary>
    private bool SkipBlockComment()
    {
        var depth = 0;
        while (_position < _text.Length)
        {
            if (_text[_position] == '/' && Next == '*')
            {
                depth++;
                _position += 2;
            }
            else if (_text[_position] == '*' && Next == '/')
            {
                _position += 2;
                if (--depth == 0)
                {
                    return true;
                }
            }
            else
            {
                _position++;
            }
        }

        return false;
    }

    /// <summary>
    /// A string literal from its opening quote. In an escape string (<c>E'…'</c>) a backslash escapes the next
    /// character; in both kinds <c>''</c> is a quote. Segments separated by blanks that contain a newline are one
    /// literal, and an escape string's continuations are escape strings too (as PostgreSQL's lexer does).
    /// </summary>
    private bool SkipString(bool escapes)
    {
        _position++;
        while (_position < _text.Length)
        {
            var c = _text[_position];
            if (escapes && c == '\\')
            {
                _position += 2;
                continue;
            }

            if (c != '\'')
            {
                _position++;
                continue;
            }

            if (Next == '\'')
            {
                _position += 2;
                continue;
            }

            _position++;
            if (ContinuationAt(_position) is var next && next < 0)
            {
                return true;
            }

            _position = next + 1;
        }

        return false;
    }

    /// <summary>Where a string continues (the index of the next segment's quote), or -1.</summary>
    private readonly int ContinuationAt(int index)
    {
        // PostgreSQL: {horiz_whitespace}*{newline}{special_whitespace}*{quote}, where -- comments count as blanks.
        index = SkipBlanks(index, acrossLines: false);
        if (index >= _text.Length || _text[index] is not ('\n' or '\r'))
        {
            return -1;
        }

        index = SkipBlanks(index, acrossLines: true);
        return index < _text.Length && _text[index] == '\'' ? index : -1;
    }

    /// <summary>Skips blanks and <c>--</c> comments from <paramref name="index"/>; line breaks too when asked.</summary>
    private readonly int SkipBlanks(int index, bool acrossLines)
    {
        while (index < _text.Length)
        {
            if (acrossLines ? IsSpace(_text[index]) : _text[index] is ' ' or '\t' or '\f')
            {
                index++;
            }
            else if (_text[index] == '-' && index + 1 < _text.Length && _text[index + 1] == '-')
            {
                while (index < _text.Length && _text[index] is not ('\n' or '\r'))
                {
                    index++;
                }
            }
            else
            {
                break;
            }
        }

        return index;
    }

    private readonly bool IsEscapeStringPrefix(int quoteIndex) =>
        quoteIndex >= 1
        && _text[quoteIndex - 1] is 'e' or 'E'
        && (quoteIndex == 1 || !(IsIdentifierChar(_text[quoteIndex - 2]) || _text[quoteIndex - 2] == '$'));

    private bool SkipQuotedIdentifier()
    {
        _position++;
        while (_position < _text.Length)
        {
            if (_text[_position] == '"')
            {
                if (Next == '"')
                {
                    _position += 2;
                    continue;
                }

                _position++;
                return true;
            }

            _position++;
        }

        return false;
    }

    /// <summary>A <c>$n</c> parameter, or a dollar-quoted string <c>$tag$…$tag$</c>.</summary>
    private bool SkipDollar(out string error)
    {
        error = "";
        var start = _position;
        var end = _position + 1;
        if (end < _text.Length && _text[end] != '$')
        {
            if (!IsIdentifierStart(_text[end]))
            {
                // $1 or a stray '$': not a quote.
                _position++;
                return true;
            }

            while (end < _text.Length && IsIdentifierChar(_text[end]))
            {
                end++;
            }

            if (end >= _text.Length || _text[end] != '$')
            {
                _position++;
                return true;
            }
        }

        if (end >= _text.Length)
        {
            _position++;
            return true;
        }

        var tag = _text[start..(end + 1)];
        var close = _text.IndexOf(tag, end + 1, StringComparison.Ordinal);
        if (close < 0)
        {
            error = Where(start, $"The query ends inside a {tag}…{tag} string: it is never closed.");
            return false;
        }

        _position = close + tag.Length;
        return true;
    }

    private readonly string Where(int index, string message)
    {
        var (line, column) = TransformQuery.LineAndColumn(_text, index);
        return $"{message} (line {line}, column {column})";
    }

    /// <summary>PostgreSQL's blanks are ASCII only; anything above 0x7F is an identifier character to it.</summary>
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_' || c > '\u007f';

    private static bool IsIdentifierChar(char c) => IsIdentifierStart(c) || char.IsAsciiDigit(c);
}
