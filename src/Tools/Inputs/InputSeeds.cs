namespace AgentForge.Tools.Inputs;

/// <summary>
/// How every seed of an evaluation is derived, so a recorded seed replays the exact inputs.
/// Random inputs depend on (run seed, workload uuid, trial, input name); synthesized blob
/// contents depend on the workload uuid and input name only, because a blob is the same in every
/// trial and in every run, and `dataset synth` must write what the materializer would synthesize.
/// </summary>
public static class InputSeeds
{
    // Distinct roots keep the random and the structural streams from ever sharing keys.
    private const ulong RandomRoot = 0x4147_4652_5241_4E44UL; // "AGFRAND"
    private const ulong StructureRoot = 0x4147_4653_5452_5543UL; // "AGFSTRUC"

    /// <summary>The seed of one input set, recorded in <see cref="Tensors.InputSet.Seed"/>.</summary>
    public static ulong ForSet(ulong runSeed, string workloadUuid, int trial) =>
        CounterRng.Derive(CounterRng.Derive(CounterRng.Derive(RandomRoot, (long)runSeed), workloadUuid), trial);

    /// <summary>The stream key of one random input of a set.</summary>
    public static ulong ForInput(ulong setSeed, string inputName) => CounterRng.Derive(setSeed, inputName);

    /// <summary>The stream key of a synthesized structure (a blob, or part of one) of a workload.</summary>
    public static ulong ForStructure(string workloadUuid, string label) =>
        CounterRng.Derive(CounterRng.Derive(StructureRoot, workloadUuid), label);
}
