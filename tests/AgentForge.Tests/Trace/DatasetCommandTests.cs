using System.CommandLine;
using AgentForge.Orchestrator.Commands;

namespace AgentForge.Tests.Trace;

public sealed class DatasetCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = AgentForgeCli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void Validate_passes_the_shared_dataset()
    {
        var (exitCode, output, error) = Run("dataset", "validate", "--dataset", SharedData.DatasetRoot);

        Assert.Equal(DatasetCommand.ExitClean, exitCode);
        Assert.Empty(error);
        Assert.Contains("5 definitions", output);
        Assert.Contains("moe/moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048: 19 workloads", output);
        Assert.EndsWith("clean" + Environment.NewLine, output);
    }

    [Fact]
    public void Validate_reports_each_problem_on_its_own_line_and_exits_2()
    {
        var inputs = TinyDataset.Inputs.Replace("\"scale\":{\"type\":\"scalar\",\"value\":0.5}", "\"scale\":{\"type\":\"random\"}");
        using var dataset = TinyDataset.Create(TinyDataset.Definition, TinyDataset.Line("w2", axes: ""), TinyDataset.Line("w3", inputs: inputs));

        var (exitCode, output, error) = Run("dataset", "validate", "--dataset", dataset.Root);

        Assert.Equal(DatasetCommand.ExitDataErrors, exitCode);
        Assert.Equal(
            [
                $"{dataset.WorkloadFile}:2: workload.axes.n: missing value for var axis 'n' (used by input 'x')",
                $"{dataset.WorkloadFile}:3: workload.inputs.scale.type: input 'scale' is a scalar (shape null), but the workload gives a tensor (random)",
            ],
            error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("1 definitions, 1 workloads", output);
        Assert.Contains("2 problem(s)", output);
    }

    [Fact]
    public void Validate_with_strict_blobs_reports_missing_blobs()
    {
        using var dataset = TinyDataset.Create();

        var (exitCode, _, error) = Run("dataset", "validate", "--dataset", dataset.Root, "--strict-blobs");

        Assert.Equal(DatasetCommand.ExitDataErrors, exitCode);
        Assert.StartsWith($"{dataset.WorkloadFile}:1: workload.inputs.idx.path: blob missing", error);
    }

    [Fact]
    public void Validate_without_a_dataset_folder_explains_itself()
    {
        var (exitCode, _, error) = Run("dataset", "validate", "--dataset", "/nonexistent/dataset");

        Assert.Equal(DatasetCommand.ExitDataErrors, exitCode);
        Assert.Contains("/nonexistent/dataset: --dataset: dataset folder does not exist", error);
    }

    [Fact]
    public void List_shows_definitions_with_counts_and_hashes()
    {
        using var dataset = TinyDataset.Create();

        var (exitCode, output, _) = Run("dataset", "list", "--dataset", dataset.Root);

        Assert.Equal(DatasetCommand.ExitClean, exitCode);
        Assert.Matches(@"demo/tiny: 1 workloads  [0-9a-f]{12}", output);
    }
}
