using System.Text.RegularExpressions;

namespace AgentForge.Tools.Packaging;

/// <summary>
/// The parts of a source that only an architecture-specific build compiles: the branches of
/// <c>#if</c> / <c>#ifdef</c> / <c>#elif</c> whose condition names a feature macro
/// (<c>__CUDA_ARCH_FEAT_SM90_ALL</c>, <c>__CUDA_ARCH_SPECIFIC__</c>, ...) without negating it, the
/// <c>#else</c> of an <c>#ifndef</c> / <c>#if !defined(...)</c> of one, and the same for a macro
/// the source defines nonzero only inside such a branch (<c>#define HAS_WGMMA 1</c> there and
/// <c>0</c> in the <c>#else</c>). A plain sm_XY build skips them, so an sm_90a-only instruction in
/// them does not stop that build. Conditions are read as written, not evaluated: <c>&amp;&amp;</c>,
/// <c>||</c> and other macros are not followed (a guard combined that way counts as a guard).
/// </summary>
internal sealed partial class ArchGuardedRegions
{
    private readonly bool[] guarded;

    private ArchGuardedRegions(bool[] guarded) => this.guarded = guarded;

    /// <summary>Whether a 1-based line of the text (<see cref="CppSource.LineOf"/>) holds code only an architecture-specific build compiles.</summary>
    public bool ContainsLine(int line) => line >= 1 && line <= guarded.Length && guarded[line - 1];

    [GeneratedRegex(@"\b__CUDA_ARCH_FEAT_SM\d+_ALL\b|\b__CUDA_ARCH_(?:FAMILY_)?SPECIFIC(?:_FEATURES)?__\b")]
    private static partial Regex FeatureMacro();

    [GeneratedRegex(@"^[ \t]*#[ \t]*(?<directive>if|ifdef|ifndef|elif|else|endif|define)\b(?<rest>.*)$")]
    private static partial Regex Directive();

    [GeneratedRegex(@"^\s*(?<name>[A-Za-z_]\w*)\s+(?<value>\S+)\s*$")]
    private static partial Regex ObjectMacro();

    /// <summary>Finds the regions in a text whose comments are already blanked (<see cref="CppSource.WithoutComments"/>).</summary>
    public static ArchGuardedRegions Find(string text)
    {
        var lines = text.Split('\n');
        var guardNames = new HashSet<string>(StringComparer.Ordinal);
        var guardedLines = GuardedLines(lines, guardNames);
        // Macros defined nonzero only on guarded lines guard like the feature macros themselves.
        var nonzeroOutside = new HashSet<string>(StringComparer.Ordinal);
        var nonzeroInside = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            if (Directive().Match(lines[i]) is not { Success: true } d || d.Groups["directive"].Value != "define"
                || ObjectMacro().Match(d.Groups["rest"].Value) is not { Success: true } m)
            {
                continue;
            }
            var value = m.Groups["value"].Value;
            if (value != "0" && value != "false")
            {
                (guardedLines[i] ? nonzeroInside : nonzeroOutside).Add(m.Groups["name"].Value);
            }
        }
        guardNames.UnionWith(nonzeroInside.Except(nonzeroOutside));
        return new ArchGuardedRegions(guardNames.Count > 0 ? GuardedLines(lines, guardNames) : guardedLines);
    }

    // One frame per open #if: whether the branch being read is guarded, and whether the #if was a
    // negated guard (its #else is then the guarded branch).
    private sealed record Frame(bool Guarded, bool NegatedGuard);

    private static bool[] GuardedLines(string[] lines, HashSet<string> derived)
    {
        var guarded = new bool[lines.Length];
        var stack = new Stack<Frame>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (Directive().Match(lines[i]) is { Success: true } d)
            {
                var rest = d.Groups["rest"].Value;
                switch (d.Groups["directive"].Value)
                {
                    case "ifdef":
                        stack.Push(new Frame(NamesGuard(rest, derived), false));
                        continue;
                    case "ifndef":
                        stack.Push(new Frame(false, NamesGuard(rest, derived)));
                        continue;
                    case "if":
                        stack.Push(new Frame(PositiveGuard(rest, derived), NegatedGuard(rest, derived)));
                        continue;
                    case "elif" when stack.Count > 0:
                        // The chain's earlier branch is over; this one is read on its own condition.
                        stack.Pop();
                        stack.Push(new Frame(PositiveGuard(rest, derived), false));
                        continue;
                    case "else" when stack.Count > 0:
                        var open = stack.Pop();
                        stack.Push(new Frame(open.NegatedGuard, false));
                        continue;
                    case "endif" when stack.Count > 0:
                        stack.Pop();
                        continue;
                }
            }
            guarded[i] = stack.Any(f => f.Guarded);
        }
        return guarded;
    }

    private static IEnumerable<Match> GuardTokens(string condition, HashSet<string> derived)
    {
        foreach (Match m in FeatureMacro().Matches(condition))
        {
            yield return m;
        }
        foreach (Match m in Regex.Matches(condition, @"\b[A-Za-z_]\w*\b"))
        {
            if (derived.Contains(m.Value))
            {
                yield return m;
            }
        }
    }

    private static bool NamesGuard(string rest, HashSet<string> derived) => GuardTokens(rest, derived).Any();

    // "!defined(X)", "!defined X" or "!X" before a guard token.
    private static bool IsNegated(string condition, Match token)
    {
        var before = condition[..token.Index].TrimEnd();
        if (before.EndsWith('('))
        {
            before = before[..^1].TrimEnd();
        }
        if (before.EndsWith("defined", StringComparison.Ordinal))
        {
            before = before[..^"defined".Length].TrimEnd();
        }
        return before.EndsWith('!');
    }

    private static bool PositiveGuard(string condition, HashSet<string> derived) =>
        GuardTokens(condition, derived).Any(t => !IsNegated(condition, t));

    private static bool NegatedGuard(string condition, HashSet<string> derived)
    {
        var tokens = GuardTokens(condition, derived).ToList();
        return tokens.Count > 0 && tokens.All(t => IsNegated(condition, t));
    }
}
