using AgentForge.Tools.Sanitizer;
using Microsoft.Extensions.AI;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>What the agent's tools are built from: the harness, the archive to read, the inbox to submit to.</summary>
public sealed record AgentToolContext(Harness.Harness Host, EvolutionProblem Problem, IChampionStore Champions, ICandidateSink Sink);

/// <summary>
/// Supplies the agent's tools (compile, check_correctness, benchmark, run_sanitizer, run_ncu,
/// get_best, submit_candidate, ...) and the sanitizer and profiler the gate and the feedback
/// use. The tool set is built elsewhere in AgentForge; this seam is where it plugs in.
/// </summary>
public interface IAgentToolProvider
{
    IReadOnlyList<AIFunction> Tools(AgentToolContext context);

    ISanitizer? Sanitizer(Harness.Harness host);

    ICandidateProfiler? Profiler(Harness.Harness host);
}

/// <summary>
/// No tools, no sanitizer, no profiler: the agent then answers with a fenced ```cuda block, and
/// the gate needs --no-sanitizer to promote anything. Replaced by the real tool set when it lands.
/// </summary>
public sealed class NoAgentTools : IAgentToolProvider
{
    public IReadOnlyList<AIFunction> Tools(AgentToolContext context) => [];

    public ISanitizer? Sanitizer(Harness.Harness host) => null;

    public ICandidateProfiler? Profiler(Harness.Harness host) => null;
}
