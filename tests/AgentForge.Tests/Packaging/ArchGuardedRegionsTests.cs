using AgentForge.Tools.Packaging;

namespace AgentForge.Tests.Packaging;

/// <summary>Which lines only an architecture-specific (sm_XYa) build compiles, read from the preprocessor structure.</summary>
public sealed class ArchGuardedRegionsTests
{
    // Whether the line holding `marker` is guarded.
    private static bool Guarded(string text, string marker) =>
        ArchGuardedRegions.Find(text).ContainsLine(text[..text.IndexOf(marker, StringComparison.Ordinal)].Count(c => c == '\n') + 1);

    [Fact]
    public void A_branch_nested_inside_a_guard_is_guarded_and_the_code_after_it_is_not()
    {
        const string text = "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#if N > 1\nINNER\n#endif\nAFTER_INNER\n#endif\nOUTSIDE\n";

        Assert.True(Guarded(text, "INNER"));
        Assert.True(Guarded(text, "AFTER_INNER"));
        Assert.False(Guarded(text, "OUTSIDE"));
    }

    [Fact]
    public void An_elif_is_read_on_its_own_condition()
    {
        const string text = "#if X\nPLAIN\n#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)\nFAST\n#else\nFALLBACK\n#endif\n";

        Assert.False(Guarded(text, "PLAIN"));
        Assert.True(Guarded(text, "FAST"));
        Assert.False(Guarded(text, "FALLBACK"));
    }

    [Fact]
    public void A_guard_combined_with_another_condition_still_guards()
    {
        const string text = "#if X && defined(__CUDA_ARCH_FEAT_SM90_ALL)\nFAST\n#endif\n";

        Assert.True(Guarded(text, "FAST"));
    }

    [Fact]
    public void A_macro_defined_nonzero_only_under_a_guard_guards_too_but_not_one_also_defined_elsewhere()
    {
        const string derived = "#ifdef __CUDA_ARCH_FEAT_SM90_ALL\n#define HAS 1\n#else\n#define HAS 0\n#endif\n#if HAS\nFAST\n#endif\n";
        const string everywhere = "#ifdef __CUDA_ARCH_FEAT_SM90_ALL\n#define HAS 1\n#endif\n#ifndef HAS\n#define HAS 1\n#endif\n#if HAS\nFAST\n#endif\n";

        Assert.True(Guarded(derived, "FAST"));
        Assert.False(Guarded(everywhere, "FAST"));
    }

    [Fact]
    public void The_else_of_a_negated_guard_is_guarded_and_its_first_branch_is_not()
    {
        const string text = "#if !defined(__CUDA_ARCH_FEAT_SM90_ALL)\nPLAIN\n#else\nFAST\n#endif\n";

        Assert.False(Guarded(text, "PLAIN"));
        Assert.True(Guarded(text, "FAST"));
    }
}
