using System.ComponentModel;
using System.Text.Json;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Agents;

/// <summary>get_definition and list_workloads: what to implement and on which shapes it is judged.</summary>
public sealed class DatasetTools(ToolServices services)
{
    public const string CandidateContract =
        "A candidate is one or more CUDA sources (C++17, nvcc) with a host entry function, by default named run, that takes every "
        + "input of the definition in order, then every output (destination-passing: write into them), then the cudaStream_t. "
        + "Tensors arrive as afg::Tensor from #include \"agentforge.h\" (fields: void* data (device pointer; nullptr for an absent "
        + "optional input), int dtype, int rank, int64_t shape[]; contiguous, row-major). Scalar inputs arrive by value as float, "
        + "int32_t, int64_t or bool. Launch every kernel on the given stream and do not synchronize the device; take scratch "
        + "memory with afg::scratch_malloc (cudaMallocAsync from a pool kept across synchronizations) on that stream. Outputs are filled with NaN (or INT32_MAX for integers) before each call: "
        + "write every element. The same source runs in FlashInfer-Bench unchanged.";

    [Description("Returns a FlashInfer-Bench definition (axes, inputs, outputs, constraints, reference PyTorch code) and the C++ "
        + "signature a candidate kernel must implement for it.")]
    public DefinitionResult GetDefinition(
        [Description("Definition name, e.g. gdn_decode_qk4_v8_d128_k_last.")] string name)
    {
        var definition = ToolArguments.Definition(services.Backend.Dataset, name, out var error);
        if (definition is null)
        {
            return new DefinitionResult(Error: error);
        }
        using var document = JsonDocument.Parse(TraceJson.WriteDefinition(definition));
        return new DefinitionResult(
            definition.Name,
            definition.OpType,
            definition.Description,
            document.RootElement.Clone(),
            ShimGenerator.EntryDeclaration(definition, "run") + ";",
            CandidateContract,
            services.Backend.Dataset.Workloads(definition.Name).Count,
            services.Backend.Baselines?.For(definition.Name)?.Name);
    }

    [Description("Lists the workloads (uuid and the values of the variable axes) a definition is judged on.")]
    public WorkloadsResult ListWorkloads(
        [Description("Definition name.")] string definition)
    {
        var found = ToolArguments.Definition(services.Backend.Dataset, definition, out var error);
        if (found is null)
        {
            return new WorkloadsResult(Error: error);
        }
        var workloads = services.Backend.Dataset.Workloads(found.Name).Select(w => new WorkloadSummary(w.Workload.Uuid, w.Workload.Axes)).ToList();
        return new WorkloadsResult(found.Name, workloads.Count, workloads);
    }
}
