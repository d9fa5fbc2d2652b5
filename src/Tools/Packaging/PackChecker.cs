using System.Text.RegularExpressions;
using AgentForge.Tools.Build;
using AgentForge.Tools.Trace;

namespace AgentForge.Tools.Packaging;

/// <summary>What the checks look at: the kernel sources as they will be packed, and how they are called.</summary>
public sealed record PackCheckInput(
    Definition Definition,
    IReadOnlyList<SourceFile> KernelSources,
    string KernelEntry,
    BindingKind Binding,
    string? ArchSpecificTarget = null,
    IReadOnlyList<string>? Flags = null);

/// <summary>
/// Finds what FlashInfer-Bench's builders would reject or miscompile, from the sources alone
/// (nothing is compiled here). The facts checked against, read from FlashInfer-Bench's builders:
/// both write the sources into one folder that is the only extra include path; TVM-FFI compiles
/// .cu with nvcc -O2 -std=c++17 for the device's plain sm_XY and links -lcuda -lcublas; torch's
/// cpp_extension.load uses torch's own flags and the device's arch without 'a'; neither passes
/// custom flags; .cpp/.cc/.c files go to the host compiler.
/// </summary>
public static partial class PackChecker
{
    public static IReadOnlyList<PackFinding> Check(PackCheckInput input)
    {
        var sources = input.KernelSources.Select(CppSource.Parse).ToList();
        var findings = new List<PackFinding>();
        findings.AddRange(input.Binding == BindingKind.Python && input.ArchSpecificTarget is { } target
            ? BuiltForTarget(sources, target)
            : ArchSpecific(sources, input.ArchSpecificTarget));
        findings.AddRange(CustomFlags(sources, input.Flags ?? []));
        findings.AddRange(Headers(sources, input.Binding));
        findings.AddRange(HostCompiledCuda(sources));
        findings.AddRange(Entry(sources, input.Definition, input.KernelEntry));
        return findings;
    }

    // ---- architecture-specific code ----

    private enum ArchKind { Instruction, TargetName, Guard }

    private sealed record ArchPattern(Regex Pattern, ArchKind Kind, string What = "", string Target = "");

    // Instructions as PTX spells them (a dot follows the name), so that identifiers such as
    // launch_wgmma or wgmma_tile do not count.
    private static readonly ArchPattern[] ArchPatterns =
    [
        new(new Regex(@"\bwgmma(?=\.)", RegexOptions.Compiled), ArchKind.Instruction, "warpgroup MMA", "sm_90a"),
        new(new Regex(@"\bsetmaxnreg(?=\.)", RegexOptions.Compiled), ArchKind.Instruction, "register reallocation", "sm_90a"),
        new(new Regex(@"\btcgen05(?=\.)", RegexOptions.Compiled), ArchKind.Instruction, "5th-generation tensor core instructions", "sm_100a"),
        new(new Regex(@"\b(?:sm|compute)_\d{2,3}[af]\b", RegexOptions.Compiled), ArchKind.TargetName),
        new(new Regex(@"\b__CUDA_ARCH_FEAT_SM\d+_ALL\b", RegexOptions.Compiled), ArchKind.Guard, Target: "an 'a' target"),
        new(new Regex(@"\b__CUDA_ARCH_(?:FAMILY_)?SPECIFIC(?:_FEATURES)?__\b", RegexOptions.Compiled), ArchKind.Guard, Target: "an 'a' or 'f' target"),
    ];

    private const string OfficialArch = "FlashInfer-Bench compiles for plain sm_XY (TVM-FFI: -gencode=arch=compute_XY,code=sm_XY; torch: the device's arch without 'a')";

    /// <summary>
    /// The first line of a header that carries PTX as data for the driver to JIT at run time
    /// (include/afg_sideload.cuh): its instructions never reach nvcc, so they are not errors.
    /// </summary>
    public const string SideloadedPtxMarker = "// agentforge: side-loaded PTX";

    /// <summary>
    /// The python binding builds the sources itself for the candidate's target where the device has
    /// it: architecture-specific code is what was measured, and only other devices take the plain
    /// build (where unguarded instructions fail to compile).
    /// </summary>
    private static IEnumerable<PackFinding> BuiltForTarget(IReadOnlyList<CppSource> sources, string target)
    {
        var unguarded = sources.Where(s => !IsSideloadedPtx(s)).Any(s =>
        {
            var guarded = ArchGuardedRegions.Find(s.WithoutComments);
            return ArchPatterns.Where(p => p.Kind == ArchKind.Instruction).Any(p => OutsideGuards(s, guarded, p.Pattern.Matches(s.WithoutComments)).Any());
        });
        yield return new PackFinding(PackCheck.ArchSpecific, unguarded ? FindingSeverity.Warning : FindingSeverity.Note, null, null,
            $"main.py builds the sources for {target} where the device is that architecture, as the harness measured them; on other devices it builds plain sm_XY"
            + (unguarded ? ", where the architecture-specific instructions outside feature-macro guards do not compile." : ", where the feature-macro guards take their other branch."));
    }

    private static bool IsSideloadedPtx(CppSource source) => source.Text.StartsWith(SideloadedPtxMarker, StringComparison.Ordinal);

    /// <summary>The matches on lines outside feature-macro guards (guarded code never reaches a plain sm_XY build).</summary>
    private static IEnumerable<Match> OutsideGuards(CppSource source, ArchGuardedRegions guarded, IEnumerable<Match> matches) =>
        matches.Where(m => !guarded.ContainsLine(source.LineOf(m.Index)));

    private static IEnumerable<PackFinding> ArchSpecific(IReadOnlyList<CppSource> sources, string? declaredTarget)
    {
        var unguarded = false;
        foreach (var source in sources)
        {
            if (IsSideloadedPtx(source))
            {
                yield return new PackFinding(PackCheck.ArchSpecific, FindingSeverity.Warning, source.Path, 1,
                    "PTX carried as data, loaded through the driver at run time (cuModuleLoadData) rather than compiled by "
                    + $"the solution's build: it runs only where the driver accepts its target, and the kernel needs a path without it. {OfficialArch}.");
                continue;
            }
            var guarded = ArchGuardedRegions.Find(source.WithoutComments);
            foreach (var pattern in ArchPatterns)
            {
                // Inline PTX lives in string literals: search the text without comments, strings kept.
                var matches = pattern.Pattern.Matches(source.WithoutComments).ToList();
                if (matches.Count == 0)
                {
                    continue;
                }
                // Instructions inside feature-macro guards never reach a plain sm_XY build.
                var outside = pattern.Kind == ArchKind.Guard ? [] : OutsideGuards(source, guarded, matches).ToList();
                unguarded |= outside.Count > 0;
                var first = outside.Count > 0 ? outside[0] : matches[0];
                var count = matches.Count > 1 ? $" ({matches.Count} places)" : "";
                var code = $"`{first.Value}`{count}";
                yield return new PackFinding(PackCheck.ArchSpecific, outside.Count > 0 ? FindingSeverity.Error : FindingSeverity.Warning,
                    source.Path, source.LineOf(first.Index), (pattern.Kind, outside.Count > 0) switch
                {
                    (ArchKind.Instruction, true) => $"{code}: {pattern.What}, which compiles only for {pattern.Target}. {OfficialArch}, where ptxas rejects it.",
                    (ArchKind.Instruction, false) => $"{code}: {pattern.What}, which compiles only for {pattern.Target}, only inside feature-macro guards. {OfficialArch}, which compiles the other branch.",
                    (ArchKind.TargetName, true) => $"{code}: the source names an architecture-specific target. {OfficialArch}; code that needs that target does not build there.",
                    (ArchKind.TargetName, false) => $"{code}: the source names an architecture-specific target, only inside feature-macro guards. {OfficialArch}, which compiles the other branch.",
                    _ => $"{code}: an architecture-specific feature macro, defined only when compiling for {pattern.Target}. {OfficialArch}, so its build takes the other branch: time that build (`agentforge bench --target portable`) to know what it runs.",
                });
            }
        }
        if (declaredTarget is not null)
        {
            yield return new PackFinding(PackCheck.ArchSpecific, unguarded ? FindingSeverity.Error : FindingSeverity.Warning, null, null,
                $"the candidate was built and measured for {declaredTarget}; FlashInfer-Bench builds it for plain sm_XY"
                + (unguarded ? "." : ". No architecture-specific code outside feature-macro guards was found, so it should build, but its timing was taken with other machine code.")
                + $" `--binding python` packs a Python solution that builds it for {declaredTarget} itself where the device has it.");
        }
    }

    // ---- compiler flags ----

    [GeneratedRegex(@"//\s*(?:nvcc[-_ ]?flags|NVCC_FLAGS|@flags|@nvcc)\b\s*:?\s*(?<flags>.*)$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex FlagsComment();

    [GeneratedRegex(@"\[[^\[\];{}()]*\]\s*(?:\([^()]*\)\s*)?(?:mutable\s*)?(?:__host__\s+)?__device__\b")]
    private static partial Regex DeviceLambda();

    [GeneratedRegex(@"\bextern\s+(?:__device__|__constant__)\b")]
    private static partial Regex ExternDeviceSymbol();

    private static IEnumerable<PackFinding> CustomFlags(IReadOnlyList<CppSource> sources, IReadOnlyList<string> flags)
    {
        const string Why = "FlashInfer-Bench's builders take no custom compiler flags (its FAQ: \"The builders currently do not support custom compile flags\")";
        if (flags.Count > 0)
        {
            yield return new PackFinding(PackCheck.CustomFlags, FindingSeverity.Error, null, null,
                $"the candidate asks for compiler flags {string.Join(" ", flags)}; {Why}. Express them in the source (#define, #pragma unroll, __launch_bounds__) or drop them.");
        }
        foreach (var source in sources)
        {
            foreach (Match match in FlagsComment().Matches(source.Text))
            {
                yield return new PackFinding(PackCheck.CustomFlags, FindingSeverity.Error, source.Path, source.LineOf(match.Index),
                    $"the source asks for compiler flags `{match.Groups["flags"].Value.Trim()}`; {Why}.");
            }
            if (DeviceLambda().Match(source.Code) is { Success: true } lambda)
            {
                yield return new PackFinding(PackCheck.CustomFlags, FindingSeverity.Error, source.Path, source.LineOf(lambda.Index),
                    $"a __device__ lambda needs nvcc --extended-lambda; {Why}. Use a functor (a struct with a __device__ operator()).");
            }
            if (ExternDeviceSymbol().Match(source.Code) is { Success: true } symbol)
            {
                yield return new PackFinding(PackCheck.CustomFlags, FindingSeverity.Error, source.Path, source.LineOf(symbol.Index),
                    $"`{Collapse(symbol.Value)}` refers to device code in another file, which needs relocatable device code (-rdc=true); {Why}. Keep device code and its users in one translation unit.");
            }
        }
    }

    // ---- headers ----

    [GeneratedRegex(@"^(?:cuda\w*\.h|cuda/.+|cub/.+|thrust/.+|nv/.+|cooperative_groups(?:\.h|/.+)|mma\.h|crt/.+|vector_types\.h|vector_functions\.h|device_launch_parameters\.h|device_functions\.h|device_types\.h|device_atomic_functions\.h|driver_types\.h|driver_functions\.h|host_defines\.h|builtin_types\.h|channel_descriptor\.h|surface_types\.h|texture_types\.h|texture_fetch_functions\.h|math_constants\.h|math_functions\.h|library_types\.h|sm_\d+_\w+\.h|cuComplex\.h|cublas\w*\.h|curand\w*\.h|cufft\w*\.h|cusparse\w*\.h|cusolver\w*\.h|nvrtc\.h|nvToolsExt\w*\.h|nvtx3/.+|nvfunctional)$")]
    private static partial Regex ToolkitHeader();

    [GeneratedRegex(@"^(?:cufft\w*|cusparse\w*|cusolver\w*|nvrtc|curand|nvToolsExt\w*)\.h$")]
    private static partial Regex UnlinkedLibraryHeader();

    [GeneratedRegex(@"^cublas\w*\.h$")]
    private static partial Regex CublasHeader();

    private static readonly HashSet<string> CHeaders = new(StringComparer.Ordinal)
    {
        "assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h", "math.h", "stdarg.h", "stdbool.h", "stddef.h",
        "stdint.h", "stdio.h", "stdlib.h", "string.h", "time.h", "unistd.h", "dlfcn.h", "pthread.h", "sys/types.h", "sys/time.h",
    };

    private static IEnumerable<PackFinding> Headers(IReadOnlyList<CppSource> sources, BindingKind binding)
    {
        var packed = new HashSet<string>(sources.Select(s => s.Path).Append(PackLayout.HeaderPath), StringComparer.Ordinal);
        foreach (var source in sources)
        {
            var optional = source.OptionalIncludeTargets();
            foreach (var (target, quoted, line) in source.Includes())
            {
                if (Resolve(source.Path, target, quoted, packed) || optional.Contains(target))
                {
                    continue;
                }
                if (IsStandard(target))
                {
                    continue;
                }
                if (ToolkitHeader().IsMatch(target))
                {
                    if (UnlinkedLibraryHeader().IsMatch(target))
                    {
                        yield return new PackFinding(PackCheck.Libraries, FindingSeverity.Warning, source.Path, line,
                            $"<{target}> belongs to a library neither builder links (TVM-FFI links -lcuda -lcublas, torch adds nothing): the solution may fail to load with unresolved symbols.");
                    }
                    else if (binding == BindingKind.Torch && CublasHeader().IsMatch(target))
                    {
                        yield return new PackFinding(PackCheck.Libraries, FindingSeverity.Warning, source.Path, line,
                            $"<{target}>: the torch builder passes no -lcublas (TVM-FFI does); cuBLAS symbols then resolve only through torch's own libraries.");
                    }
                    continue;
                }
                yield return new PackFinding(PackCheck.HeaderOutsideSources, FindingSeverity.Error, source.Path, line,
                    $"#include {(quoted ? $"\"{target}\"" : $"<{target}>")} is not among the sources, the CUDA toolkit or the C++ library. FlashInfer-Bench writes the sources into one folder, its only extra include path: add the header to the sources (CUTLASS/CuTe and other libraries are not available).");
            }
        }
    }

    /// <summary>As the compiler looks: a quoted include next to the including file first, then the build folder.</summary>
    internal static bool Resolve(string includer, string target, bool quoted, IReadOnlySet<string> packed)
    {
        var directory = Path.GetDirectoryName(includer)?.Replace('\\', '/') ?? "";
        if (quoted && directory.Length > 0 && Normalize(directory + "/" + target) is { } beside && packed.Contains(beside))
        {
            return true;
        }
        return Normalize(target) is { } fromRoot && packed.Contains(fromRoot);
    }

    /// <summary>"a/./b/../c.h" -> "a/c.h"; null when the path leaves the folder.</summary>
    internal static string? Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Replace('\\', '/').Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    // <cstdint>, <vector>, ...: the C++ library's headers have no extension; the C ones are listed.
    private static bool IsStandard(string target) =>
        (!target.Contains('/') && !target.Contains('.')) || CHeaders.Contains(target);

    // ---- CUDA in host-compiled files ----

    [GeneratedRegex(@"__global__|__device__|__shared__|<<<")]
    private static partial Regex CudaSyntax();

    private static IEnumerable<PackFinding> HostCompiledCuda(IReadOnlyList<CppSource> sources)
    {
        foreach (var source in sources.Where(s => PackLayout.IsHostCompiled(s.Path)))
        {
            if (CudaSyntax().Match(source.Code) is { Success: true } match)
            {
                yield return new PackFinding(PackCheck.HostCompiledCuda, FindingSeverity.Error, source.Path, source.LineOf(match.Index),
                    $"`{match.Value}` in a {Path.GetExtension(source.Path)} file: both builders give .cpp/.cc/.cxx/.c files to the host C++ compiler, which rejects CUDA syntax. Rename it to .cu.");
            }
        }
    }

    // ---- the kernel entry ----

    private static IEnumerable<PackFinding> Entry(IReadOnlyList<CppSource> sources, Definition definition, string symbol)
    {
        var declarations = sources.SelectMany(s => EntryFunctionScanner.Find(s, symbol).Select(d => (Source: s, Declaration: d))).ToList();
        var definitions = declarations.Where(d => d.Declaration.IsDefinition).ToList();
        var contract = ShimGenerator.EntryDeclaration(definition, symbol);
        if (definitions.Count == 0)
        {
            var declared = declarations.FirstOrDefault();
            yield return declared.Declaration is { } only
                ? new PackFinding(PackCheck.EntryNotExported, FindingSeverity.Error, only.File, only.Line,
                    $"`{symbol}` is declared but defined in none of the sources: the binding's call to it would not link. Expected a definition of `{contract}`.")
                : new PackFinding(PackCheck.EntryNotExported, FindingSeverity.Error, null, null,
                    $"no function `{symbol}` is defined in the sources: the binding calls `{contract}`.");
            yield break;
        }
        var linkable = definitions.Where(d => d.Declaration.NotLinkableBecause() is null).ToList();
        if (linkable.Count == 0)
        {
            foreach (var (_, declaration) in definitions)
            {
                yield return new PackFinding(PackCheck.EntryNotExported, FindingSeverity.Error, declaration.File, declaration.Line,
                    $"`{symbol}` cannot be called by the binding: {declaration.NotLinkableBecause()}.");
            }
            yield break;
        }
        var expected = ExpectedParameters(definition);
        var mismatches = linkable.Select(d => (d.Declaration, Problems: Mismatches(d.Source, d.Declaration, expected))).ToList();
        if (mismatches.Any(m => m.Problems.Count == 0))
        {
            yield break;
        }
        // Several overloads and none fits: report the one closest to the contract.
        var (closest, problems) = mismatches.OrderBy(m => Math.Abs(m.Declaration.Parameters.Count - expected.Count)).ThenBy(m => m.Problems.Count).First();
        if (closest.Parameters.Count != expected.Count)
        {
            var inputs = definition.Inputs.Select(i => i.Name).ToList();
            var outputs = definition.Outputs.Select(o => o.Name).ToList();
            yield return new PackFinding(PackCheck.ArityMismatch, FindingSeverity.Error, closest.File, closest.Line,
                $"`{symbol}` takes {closest.Parameters.Count} parameters; definition {definition.Name} needs {expected.Count}: "
                + $"{inputs.Count} inputs ({string.Join(", ", inputs)}), {outputs.Count} output{(outputs.Count == 1 ? "" : "s")} ({string.Join(", ", outputs)}), then the stream. "
                + $"FlashInfer-Bench calls the entry with every input in definition order, then every output; the binding adds the stream: `{contract}`.");
            yield break;
        }
        foreach (var problem in problems)
        {
            yield return new PackFinding(PackCheck.ParameterType, FindingSeverity.Error, closest.File, closest.Line, problem);
        }
    }

    private sealed record ExpectedParameter(string Name, string Type, string Role);

    private static List<ExpectedParameter> ExpectedParameters(Definition definition)
    {
        var expected = definition.Inputs.Select(i => i.Spec.IsScalar
                ? new ExpectedParameter(i.Name, ShimGenerator.ScalarCppType(i.Spec.DType), $"scalar input {i.Name} ({i.Spec.DType.Name()})")
                : new ExpectedParameter(i.Name, "afg::Tensor", $"input {i.Name}"))
            .Concat(definition.Outputs.Select(o => new ExpectedParameter(o.Name, "afg::Tensor", $"output {o.Name}")))
            .ToList();
        expected.Add(new ExpectedParameter("stream", "cudaStream_t", "the stream"));
        return expected;
    }

    private static List<string> Mismatches(CppSource source, EntryDeclaration declaration, List<ExpectedParameter> expected)
    {
        var problems = new List<string>();
        if (declaration.Parameters.Count != expected.Count)
        {
            problems.Add("arity");
            return problems;
        }
        var usingAfg = UsingAfg().IsMatch(source.Code);
        for (var i = 0; i < expected.Count; i++)
        {
            var found = CanonicalType(declaration.Parameters[i], usingAfg);
            if (found != expected[i].Type)
            {
                problems.Add($"parameter {i + 1} `{declaration.Parameters[i]}` is a {found}; the binding passes {expected[i].Role} as {expected[i].Type}. "
                    + "The contract's types are by value: afg::Tensor for tensors, float/int32_t/int64_t/bool for scalars, cudaStream_t last.");
            }
        }
        return problems;
    }

    [GeneratedRegex(@"\busing\s+(?:namespace\s+afg\b|afg::Tensor\b)")]
    private static partial Regex UsingAfg();

    private static readonly HashSet<string> TypeWords = new(StringComparer.Ordinal) { "int", "long", "short", "char", "unsigned", "signed", "float", "double", "bool", "void" };

    /// <summary>
    /// The parameter's type as the linker sees it: name, default and top-level const dropped,
    /// typedefs of the same type made one (int/int32_t, long/int64_t on LP64).
    /// </summary>
    internal static string CanonicalType(string parameter, bool usingAfg)
    {
        var text = parameter;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals >= 0)
        {
            text = text[..equals];
        }
        var tokens = Tokens().Matches(text).Select(m => m.Value).ToList();
        if (tokens.Count > 1 && Regex.IsMatch(tokens[^1], @"^[A-Za-z_]\w*$") && !TypeWords.Contains(tokens[^1]) && tokens[^2] != "::")
        {
            tokens.RemoveAt(tokens.Count - 1);
        }
        tokens.RemoveAll(t => t is "__restrict__" or "__restrict" or "struct");
        if (!tokens.Contains("&") && !tokens.Contains("&&") && !tokens.Contains("*"))
        {
            tokens.RemoveAll(t => t is "const" or "volatile");
        }
        var type = string.Join(" ", tokens).Replace(" :: ", "::", StringComparison.Ordinal).Replace(" ::", "::", StringComparison.Ordinal).Replace(":: ", "::", StringComparison.Ordinal);
        type = type.StartsWith("::", StringComparison.Ordinal) ? type[2..] : type;
        return type switch
        {
            "int" or "signed" or "signed int" or "std::int32_t" => "int32_t",
            "long" or "long int" or "signed long" or "signed long int" or "std::int64_t" => "int64_t",
            "Tensor" when usingAfg => "afg::Tensor",
            "CUstream" or "CUstream_st *" => "cudaStream_t",
            _ => type,
        };
    }

    [GeneratedRegex(@"::|&&|[A-Za-z_]\w*|[&*]|\S")]
    private static partial Regex Tokens();

    private static string Collapse(string text) => EntryFunctionScanner.Collapse(text);
}
