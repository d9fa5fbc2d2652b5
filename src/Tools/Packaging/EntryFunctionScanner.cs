using System.Text.RegularExpressions;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// A declaration or definition of the entry symbol at namespace scope, as written:
/// <paramref name="Specifiers"/> is what precedes the name (return type, static, inline,
/// template, __global__, extern "C"), <paramref name="Namespaces"/> the enclosing namespaces
/// ("" for an anonymous one), <paramref name="Parameters"/> each parameter's text.
/// </summary>
internal sealed record EntryDeclaration(
    string File,
    int Line,
    bool IsDefinition,
    string Specifiers,
    IReadOnlyList<string> Namespaces,
    bool ExternC,
    IReadOnlyList<string> Parameters)
{
    /// <summary>Why the binding, another translation unit calling <c>::symbol(...)</c>, cannot link to it; null when it can.</summary>
    public string? NotLinkableBecause()
    {
        bool Has(string word) => Regex.IsMatch(Specifiers, $@"(^|\W){Regex.Escape(word)}(\W|$)");
        if (Has("__global__"))
        {
            return "it is a __global__ kernel; the entry must be a host function that launches kernels";
        }
        if (Has("__device__") && !Has("__host__"))
        {
            return "it is a __device__ function; the entry must be a host function";
        }
        if (Has("template"))
        {
            return "it is a template; the binding calls a plain function";
        }
        if (Has("static"))
        {
            return "it is static (internal linkage): other files of the solution cannot call it";
        }
        if (Has("inline") || Has("__forceinline__"))
        {
            return "it is inline: the compiler emits it only where it is used, and the binding's file does not define it";
        }
        if (Namespaces.Any(n => n.Length == 0))
        {
            return "it is in an anonymous namespace (internal linkage)";
        }
        if (Namespaces.Count > 0)
        {
            return $"it is inside namespace {string.Join("::", Namespaces)}; the binding calls the global function";
        }
        if (ExternC)
        {
            return "it has C linkage (extern \"C\"); the contract's entry is a C++ function, which the binding declares with C++ linkage";
        }
        return null;
    }
}

/// <summary>Finds namespace-scope declarations and definitions of one function name in a source.</summary>
internal static partial class EntryFunctionScanner
{
    // ExternCpp is an `extern "C++" { }` block: transparent, like the global scope.
    private enum ScopeKind { Namespace, ExternC, ExternCpp, Other }

    private sealed record Scope(ScopeKind Kind, string Name);

    public static IReadOnlyList<EntryDeclaration> Find(CppSource source, string symbol)
    {
        var code = source.Code;
        var found = new List<EntryDeclaration>();
        var scopes = new List<Scope>();
        var boundary = 0;
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (c == '{')
            {
                scopes.Add(Classify(code[boundary..i], source.WithoutComments[boundary..i]));
                boundary = i + 1;
            }
            else if (c == '}')
            {
                if (scopes.Count > 0)
                {
                    scopes.RemoveAt(scopes.Count - 1);
                }
                boundary = i + 1;
            }
            else if (c == ';')
            {
                boundary = i + 1;
            }
            else if ((char.IsLetter(c) || c == '_') && (i == 0 || !CppSource.IsIdentifierChar(code[i - 1])))
            {
                var end = i;
                while (end < code.Length && CppSource.IsIdentifierChar(code[end]))
                {
                    end++;
                }
                if (code.AsSpan(i, end - i).SequenceEqual(symbol) && scopes.All(s => s.Kind != ScopeKind.Other)
                    && Declaration(source, symbol, boundary, i, end, scopes) is { } declaration)
                {
                    found.Add(declaration);
                }
                i = end - 1;
            }
        }
        return found;
    }

    private static EntryDeclaration? Declaration(CppSource source, string symbol, int boundary, int start, int end, List<Scope> scopes)
    {
        var code = source.Code;
        var open = SkipSpace(code, end);
        if (open >= code.Length || code[open] != '(')
        {
            return null;
        }
        // `x.run(`, `p->run(` and `ns::run(` are uses or other functions, not this declaration.
        var before = start - 1;
        while (before >= boundary && char.IsWhiteSpace(code[before]))
        {
            before--;
        }
        if (before >= boundary && code[before] is '.' or '>' or ':')
        {
            return null;
        }
        var close = MatchingParenthesis(code, open);
        if (close < 0)
        {
            return null;
        }
        var after = SkipTrailingSpecifiers(code, close + 1);
        if (after >= code.Length || code[after] is not ('{' or ';'))
        {
            return null;
        }
        var specifiers = Collapse(source.WithoutComments[boundary..start]);
        if (specifiers.Length == 0)
        {
            // A bare `run(...);` at namespace scope would be a call in a macro's expansion, not a declaration.
            return null;
        }
        var externC = scopes.Any(s => s.Kind == ScopeKind.ExternC) || ExternCHead().IsMatch(specifiers);
        return new EntryDeclaration(
            source.Path,
            source.LineOf(start),
            code[after] == '{',
            specifiers,
            scopes.Where(s => s.Kind == ScopeKind.Namespace).Select(s => s.Name).ToList(),
            externC,
            SplitParameters(source.WithoutComments[(open + 1)..close], code[(open + 1)..close]));
    }

    private static Scope Classify(string codeHead, string textHead)
    {
        var head = Collapse(codeHead);
        if (NamespaceHead().Match(head) is { Success: true } ns)
        {
            return new Scope(ScopeKind.Namespace, ns.Groups["name"].Value);
        }
        if (ExternBlockHead().IsMatch(head))
        {
            return Collapse(textHead).Contains("\"C\"", StringComparison.Ordinal)
                ? new Scope(ScopeKind.ExternC, "")
                : new Scope(ScopeKind.ExternCpp, "");
        }
        return new Scope(ScopeKind.Other, head);
    }

    [GeneratedRegex(@"^(?:inline\s+)?namespace\b\s*(?<name>[A-Za-z_][\w:]*)?\s*$")]
    private static partial Regex NamespaceHead();

    [GeneratedRegex(@"^extern\s*""[^""]*""$")]
    private static partial Regex ExternBlockHead();

    [GeneratedRegex(@"(^|\W)extern\s*""C""")]
    private static partial Regex ExternCHead();

    private static int SkipSpace(string text, int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }
        return i;
    }

    private static int MatchingParenthesis(string code, int open)
    {
        var depth = 0;
        for (var i = open; i < code.Length; i++)
        {
            if (code[i] == '(')
            {
                depth++;
            }
            else if (code[i] == ')' && --depth == 0)
            {
                return i;
            }
            else if (code[i] is '{' or '}' or ';')
            {
                return -1;
            }
        }
        return -1;
    }

    // noexcept, noexcept(...), throw(), __attribute__((...)) and the like between ')' and '{' or ';'.
    private static int SkipTrailingSpecifiers(string code, int i)
    {
        while (true)
        {
            i = SkipSpace(code, i);
            var word = i;
            while (word < code.Length && CppSource.IsIdentifierChar(code[word]))
            {
                word++;
            }
            if (word == i)
            {
                return i;
            }
            i = SkipSpace(code, word);
            if (i < code.Length && code[i] == '(')
            {
                var close = MatchingParenthesis(code, i);
                if (close < 0)
                {
                    return code.Length;
                }
                i = close + 1;
            }
        }
    }

    /// <summary>Top-level comma split of a parameter list; "()" and "(void)" have no parameters.</summary>
    internal static IReadOnlyList<string> SplitParameters(string text, string code)
    {
        var parameters = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= code.Length; i++)
        {
            if (i == code.Length || (code[i] == ',' && depth == 0))
            {
                parameters.Add(Collapse(text[start..i]));
                start = i + 1;
            }
            else if (code[i] is '(' or '<' or '[' or '{')
            {
                depth++;
            }
            else if (code[i] is ')' or '>' or ']' or '}')
            {
                depth--;
            }
        }
        return parameters is [""] or ["void"] ? [] : parameters;
    }

    internal static string Collapse(string text) => Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
