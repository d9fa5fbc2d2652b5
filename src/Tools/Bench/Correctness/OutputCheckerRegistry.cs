using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Bench;

/// <summary>
/// Picks the checker of each output: the first rule that claims (definition, output) wins,
/// else <see cref="ToleranceChecker"/>. Immutable; <see cref="With"/> adds a rule in front.
/// </summary>
public sealed class OutputCheckerRegistry
{
    private readonly IReadOnlyList<(Func<Definition, string, bool> Claims, IOutputChecker Checker)> _rules;

    private OutputCheckerRegistry(IReadOnlyList<(Func<Definition, string, bool>, IOutputChecker)> rules) => _rules = rules;

    /// <summary>The rules FlashInfer-Bench applies: the DSA indexer's sorted-score check, the tolerance rule elsewhere.</summary>
    public static OutputCheckerRegistry Default { get; } = new([(DsaTopkIndexerChecker.Handles, DsaTopkIndexerChecker.Instance)]);

    public OutputCheckerRegistry With(Func<Definition, string, bool> claims, IOutputChecker checker) =>
        new([(claims, checker), .. _rules]);

    public IOutputChecker For(Definition definition, string outputName)
    {
        foreach (var (claims, checker) in _rules)
        {
            if (claims(definition, outputName))
            {
                return checker;
            }
        }
        return ToleranceChecker.Instance;
    }
}
