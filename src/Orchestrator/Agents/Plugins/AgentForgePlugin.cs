using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;

namespace AgentForge.Orchestrator.Agents.Plugins;

/// <summary>
/// The tools as one Semantic Kernel plugin. Each AIFunction becomes a KernelFunction unchanged
/// (same name, description and schema); with automatic function calling a model sees them as
/// "agentforge-get_definition" etc. (plugin, separator, function), which a snapshot test pins.
/// </summary>
public static class AgentForgePlugin
{
    public const string Name = "agentforge";

    public const string Description = "Compile, check, benchmark, sanitize and profile CUDA kernel candidates for FlashInfer-Bench definitions.";

    public static KernelPlugin Create(IEnumerable<AIFunction> tools) =>
        KernelPluginFactory.CreateFromFunctions(Name, Description, tools.Select(t => t.AsKernelFunction()));
}
