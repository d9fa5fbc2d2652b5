using System.Globalization;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>What the templates see. Numbers are formatted here ("-" when unknown) so templates stay plain text.</summary>
public sealed record PromptModel(
    string Track,
    int Generation,
    PromptDefinition Definition,
    IReadOnlyList<PromptBand> Bands,
    PromptChampion? Champion,
    IReadOnlyList<string> Tools,
    string SubmitTool,
    int MaxCandidates,
    string Budget,
    IReadOnlyList<PromptFeedback> Feedback);

public sealed record PromptDefinition(
    string Name,
    string OpType,
    string? Description,
    IReadOnlyList<PromptAxis> Axes,
    IReadOnlyList<PromptTensor> Inputs,
    IReadOnlyList<PromptTensor> Outputs,
    string Reference,
    string EntryDeclaration,
    string BandScheme);

public sealed record PromptAxis(string Name, string? Value);

public sealed record PromptTensor(string Name, string Dtype, string Shape, bool Optional);

public sealed record PromptBand(string Name, int Workloads, string BaselineMs, string ChampionMs, string FloorRatio);

public sealed record PromptChampion(string Id, string Generator, string LatencyMs, string FloorRatio, string Path, string Code);

public sealed record PromptFeedback(
    string Id,
    string Verdict,
    string Reason,
    string LatencyMs,
    string FloorRatio,
    string? CompilerErrors,
    IReadOnlyList<PromptWorkload> Failing,
    IReadOnlyList<PromptBandResult> Bands,
    IReadOnlyList<GateCheck> Checks,
    string? ProfilerSummary);

public sealed record PromptWorkload(string Uuid, string Band, string Status, string Log);

public sealed record PromptBandResult(string Name, string LatencyMs, string FloorRatio);

/// <summary>Builds the prompt model from the loop's state for one definition.</summary>
public static class PromptModels
{
    public const string SubmitToolName = "submit_candidate";

    public static PromptModel For(GenerationContext context, DefinitionTask task, IReadOnlyList<string> tools, int maxCandidates, int feedbackItems, IChampionStore champions)
    {
        var definition = task.Definition;
        var seedRecord = context.History.FirstOrDefault(r => r.Definition == task.Name && r.Generation == 0);
        var bands = WorkloadBands.Names(task.Name).Select(band =>
        {
            var count = task.Workloads.Count(w => WorkloadBands.Of(task.Name, w.Workload) == band);
            var seed = seedRecord?.Workloads.Where(w => w.Band == band && w.Passed).ToList() ?? [];
            var holder = champions.Best(task.Name, band);
            return new PromptBand(band, count, Number(seed.Count > 0 && seed.Count == count ? ResultMath.GeomeanLatency(seed) : null),
                Number(holder?.GeomeanLatencyMs), Number(holder?.GeomeanFloorRatio, "0.00"));
        }).ToList();
        var best = champions.Best(task.Name);
        PromptChampion? champion = null;
        if (best is not null)
        {
            var file = best.Source.Sources.FirstOrDefault(s => s.Path.EndsWith(".cu", StringComparison.Ordinal)) ?? best.Source.Sources[0];
            var code = SolutionExport.BakeDefines(best.Source).First(s => s.Path == file.Path).Content;
            champion = new PromptChampion(best.CandidateId, best.Generator, Number(best.GeomeanLatencyMs), Number(best.GeomeanFloorRatio, "0.00"), file.Path, code.TrimEnd());
        }
        var feedback = context.History
            .Where(r => r.Definition == task.Name && r.Generation > 0)
            .TakeLast(feedbackItems)
            .Select(Feedback)
            .ToList();
        return new PromptModel(
            context.Problem.Track,
            context.Generation,
            Describe(definition),
            bands,
            champion,
            tools,
            tools.FirstOrDefault(t => t.EndsWith(SubmitToolName, StringComparison.Ordinal)) ?? SubmitToolName,
            maxCandidates,
            context.BudgetSummary,
            feedback);
    }

    public static PromptDefinition Describe(Definition definition) => new(
        definition.Name,
        definition.OpType,
        definition.Description,
        definition.Axes.Select(a => new PromptAxis(a.Key, a.Value is ConstAxis c ? c.Value.ToString(CultureInfo.InvariantCulture) : null)).ToList(),
        definition.Inputs.Select(Tensor).ToList(),
        definition.Outputs.Select(Tensor).ToList(),
        definition.Reference.TrimEnd(),
        ShimGenerator.EntryDeclaration(definition, "run"),
        WorkloadBands.Describe(definition.Name));

    public static PromptFeedback Feedback(CandidateRecord record)
    {
        var bands = record.Verdict is CandidateVerdict.CompileError or CandidateVerdict.NoVerdict || record.Workloads.Any(w => !w.Passed)
            ? []
            : record.Workloads.GroupBy(w => w.Band).Select(g => new PromptBandResult(g.Key, Number(ResultMath.GeomeanLatency(g)), Number(ResultMath.GeomeanFloorRatio(g), "0.00"))).ToList();
        return new PromptFeedback(
            record.Id,
            record.Verdict.ToString(),
            record.Reason,
            Number(record.GeomeanLatencyMs),
            Number(record.GeomeanFloorRatio, "0.00"),
            record.Verdict == CandidateVerdict.CompileError ? EvolutionLoop.CompilerErrors(record.BuildLog ?? record.Reason) : null,
            record.Workloads.Where(w => !w.Passed).Take(3).Select(w => new PromptWorkload(w.Uuid, w.Band, w.Status, WorkloadResult.Truncate((w.Log ?? "").ReplaceLineEndings(" "), 400))).ToList(),
            bands,
            record.Checks,
            record.ProfilerSummary);
    }

    private static PromptTensor Tensor(NamedTensorSpec spec) =>
        new(spec.Name, spec.Spec.DType.Name(), spec.Spec.Shape is null ? "scalar" : string.Join(", ", spec.Spec.Shape), spec.Spec.Optional);

    private static string Number(double? value, string format = "0.0000") =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
