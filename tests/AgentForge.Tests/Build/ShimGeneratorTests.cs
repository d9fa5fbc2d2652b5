using AgentForge.Tests.Trace;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Build;

public sealed class ShimGeneratorTests
{
    public static TheoryData<string> DefinitionNames =>
        [.. TraceDataset.Load(SharedData.DatasetRoot).Definitions.Keys.Order(StringComparer.Ordinal)];

    private static string SnapshotPath(string name) =>
        Path.Combine(RepositoryRoot(), "tests", "AgentForge.Tests", "Build", "Snapshots", name + ".shim.cu");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentForge.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// The generated shim is the ABI between the worker and every candidate: any change must be
    /// deliberate. Set AGENTFORGE_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after such a change.
    /// </summary>
    [Theory]
    [MemberData(nameof(DefinitionNames))]
    public void Shims_match_their_snapshots(string definitionName)
    {
        var definition = TraceDataset.Load(SharedData.DatasetRoot).FindDefinition(definitionName)!;
        var shim = ShimGenerator.Generate(definition, "run");
        var path = SnapshotPath(definitionName);
        if (Environment.GetEnvironmentVariable("AGENTFORGE_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, shim);
        }
        Assert.True(File.Exists(path), $"no snapshot at {path}; run once with AGENTFORGE_UPDATE_SNAPSHOTS=1 and review it");
        Assert.Equal(File.ReadAllText(path), shim);
    }

    [Fact]
    public void Scalars_and_tensors_take_separate_slots_in_definition_order()
    {
        var definition = TraceDataset.Load(SharedData.DatasetRoot).FindDefinition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048")!;
        var shim = ShimGenerator.Generate(definition, "moe_entry");

        Assert.Contains("void moe_entry(afg::Tensor routing_logits, afg::Tensor routing_bias, afg::Tensor hidden_states, afg::Tensor hidden_states_scale, "
            + "afg::Tensor gemm1_weights, afg::Tensor gemm1_weights_scale, afg::Tensor gemm2_weights, afg::Tensor gemm2_weights_scale, "
            + "int32_t local_expert_offset, float routed_scaling_factor, afg::Tensor output, cudaStream_t stream);", shim);
        Assert.Contains("moe_entry(tensors[0], tensors[1], tensors[2], tensors[3], tensors[4], tensors[5], tensors[6], tensors[7], scalars[0].i32, scalars[1].f32, tensors[8], stream);", shim);
    }

    [Fact]
    public void The_signature_names_every_parameter_and_its_kind()
    {
        var definition = TraceDataset.Load(SharedData.DatasetRoot).FindDefinition("gdn_decode_qk4_v8_d128_k_last")!;
        Assert.Equal("gdn_decode_qk4_v8_d128_k_last(q:tensor,k:tensor,v:tensor,state:tensor,A_log:tensor,a:tensor,dt_bias:tensor,b:tensor,scale:float,output:tensor,new_state:tensor)",
            ShimGenerator.Signature(definition));
    }

    [Theory]
    [InlineData(DType.Int64, "int64_t", "i64")]
    [InlineData(DType.Int32, "int32_t", "i32")]
    [InlineData(DType.Bool, "bool", "b")]
    [InlineData(DType.Float32, "float", "f32")]
    [InlineData(DType.BFloat16, "float", "f32")]
    public void Scalar_types_follow_the_candidate_contract(DType dtype, string cppType, string member)
    {
        Assert.Equal(cppType, ShimGenerator.ScalarCppType(dtype));
        Assert.Equal(member, ShimGenerator.ScalarMember(dtype));
    }
}
