using System.Text;
using System.Text.RegularExpressions;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// One C++/CUDA source seen the way the packing checks need it. Both views have the original's
/// length and line breaks, so an offset found in either names the same line in the original:
/// <see cref="WithoutComments"/> keeps string literals (inline PTX lives in them, and include
/// paths); <see cref="Code"/> also blanks string and character contents and preprocessor lines,
/// so that braces and parentheses in it are the program's own.
/// </summary>
internal sealed partial class CppSource
{
    private readonly int[] lineStarts;

    private CppSource(string path, string text, string withoutComments, string code)
    {
        Path = path;
        Text = text;
        WithoutComments = withoutComments;
        Code = code;
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }
        lineStarts = [.. starts];
    }

    public string Path { get; }

    public string Text { get; }

    public string WithoutComments { get; }

    public string Code { get; }

    /// <summary>A translation unit for the official builders (headers are only ever included).</summary>
    public bool IsTranslationUnit => PackLayout.IsTranslationUnit(Path);

    public static CppSource Parse(SourceFile source)
    {
        var (withoutComments, code) = Lex(source.Content);
        return new CppSource(source.Path, source.Content, withoutComments, BlankPreprocessorLines(code));
    }

    /// <summary>1-based line of an offset.</summary>
    public int LineOf(int offset)
    {
        var index = Array.BinarySearch(lineStarts, offset);
        return (index >= 0 ? index : ~index - 1) + 1;
    }

    /// <summary>Every #include with its spelling (quoted or angled) and line.</summary>
    public IEnumerable<(string Target, bool Quoted, int Line)> Includes()
    {
        foreach (Match match in IncludeDirective().Matches(WithoutComments))
        {
            var quoted = match.Groups["quoted"].Success;
            yield return (quoted ? match.Groups["quoted"].Value : match.Groups["angled"].Value, quoted, LineOf(match.Index));
        }
    }

    [GeneratedRegex(@"^[ \t]*#[ \t]*include[ \t]*(?:""(?<quoted>[^""\n]+)""|<(?<angled>[^>\n]+)>)", RegexOptions.Multiline)]
    private static partial Regex IncludeDirective();

    /// <summary>
    /// Headers the source asks about with <c>__has_include</c>: an include of one of them sits in
    /// a branch the source takes only when the file exists (a generated header), so its absence
    /// is not an error.
    /// </summary>
    public IReadOnlySet<string> OptionalIncludeTargets() =>
        HasIncludeOperator().Matches(WithoutComments)
            .Select(m => m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Groups["angled"].Value)
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"__has_include[ \t]*\([ \t]*(?:""(?<quoted>[^""\n]+)""|<(?<angled>[^>\n]+)>)[ \t]*\)")]
    private static partial Regex HasIncludeOperator();

    private enum State { Code, LineComment, BlockComment, String, Char, RawString }

    // One pass over the text: comments become spaces in both views; literal contents become
    // spaces in the code view only (their quotes stay, so `extern "C"` keeps its shape).
    private static (string WithoutComments, string Code) Lex(string text)
    {
        var comments = new StringBuilder(text);
        var code = new StringBuilder(text);
        var state = State.Code;
        var rawTerminator = "";
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            switch (state)
            {
                case State.Code:
                    if (c == '/' && next == '/')
                    {
                        state = State.LineComment;
                        Blank(comments, code, i);
                    }
                    else if (c == '/' && next == '*')
                    {
                        state = State.BlockComment;
                        Blank(comments, code, i);
                        Blank(comments, code, i + 1);
                        i++;
                    }
                    else if (c == '"' && StartsRawString(text, i))
                    {
                        var open = text.IndexOf('(', i + 1);
                        if (open < 0)
                        {
                            break;
                        }
                        rawTerminator = ")" + text[(i + 1)..open] + "\"";
                        state = State.RawString;
                        for (var j = i + 1; j <= open; j++)
                        {
                            BlankCode(code, j);
                        }
                        i = open;
                    }
                    else if (c == '"')
                    {
                        state = State.String;
                    }
                    else if (c == '\'' && (i == 0 || !char.IsLetterOrDigit(text[i - 1])))
                    {
                        // A quote after a digit is a C++14 digit separator (1'000), not a literal.
                        state = State.Char;
                    }
                    break;
                case State.LineComment:
                    if (c == '\n')
                    {
                        state = State.Code;
                    }
                    else
                    {
                        Blank(comments, code, i);
                    }
                    break;
                case State.BlockComment:
                    if (c == '*' && next == '/')
                    {
                        Blank(comments, code, i);
                        Blank(comments, code, i + 1);
                        i++;
                        state = State.Code;
                    }
                    else if (c != '\n')
                    {
                        Blank(comments, code, i);
                    }
                    break;
                case State.String or State.Char:
                    var quote = state == State.String ? '"' : '\'';
                    if (c == '\\' && next != '\0')
                    {
                        BlankCode(code, i);
                        BlankCode(code, i + 1);
                        i++;
                    }
                    else if (c == quote || c == '\n')
                    {
                        state = State.Code;
                    }
                    else
                    {
                        BlankCode(code, i);
                    }
                    break;
                case State.RawString:
                    if (string.CompareOrdinal(text, i, rawTerminator, 0, rawTerminator.Length) == 0)
                    {
                        for (var j = i; j < i + rawTerminator.Length - 1; j++)
                        {
                            BlankCode(code, j);
                        }
                        i += rawTerminator.Length - 1;
                        state = State.Code;
                    }
                    else
                    {
                        BlankCode(code, i);
                    }
                    break;
            }
        }
        return (comments.ToString(), code.ToString());
    }

    // R"delim( ... )delim", with an optional encoding prefix (u8R, uR, UR, LR).
    private static bool StartsRawString(string text, int quote)
    {
        if (quote == 0 || text[quote - 1] != 'R')
        {
            return false;
        }
        var start = quote - 1;
        foreach (var prefix in (string[])["u8", "u", "U", "L"])
        {
            if (start >= prefix.Length && string.CompareOrdinal(text, start - prefix.Length, prefix, 0, prefix.Length) == 0)
            {
                start -= prefix.Length;
                break;
            }
        }
        return start == 0 || !IsIdentifierChar(text[start - 1]);
    }

    public static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static void Blank(StringBuilder comments, StringBuilder code, int i)
    {
        if (comments[i] != '\n')
        {
            comments[i] = ' ';
            code[i] = ' ';
        }
    }

    private static void BlankCode(StringBuilder code, int i)
    {
        if (code[i] != '\n')
        {
            code[i] = ' ';
        }
    }

    // Directives (and macro bodies, with their continuation lines) say nothing about scopes and
    // declarations; left in, a brace inside a #define would unbalance the scope walk.
    private static string BlankPreprocessorLines(string code)
    {
        var text = new StringBuilder(code);
        var lineStart = 0;
        var continuing = false;
        while (lineStart < text.Length)
        {
            var lineEnd = code.IndexOf('\n', lineStart);
            if (lineEnd < 0)
            {
                lineEnd = code.Length;
            }
            var line = code.AsSpan(lineStart, lineEnd - lineStart);
            var directive = continuing || line.TrimStart(" \t").StartsWith("#");
            if (directive)
            {
                for (var i = lineStart; i < lineEnd; i++)
                {
                    text[i] = ' ';
                }
            }
            continuing = directive && line.TrimEnd(" \t\r").EndsWith("\\");
            lineStart = lineEnd + 1;
        }
        return text.ToString();
    }
}
