using AgentForge.Tools.Packaging;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Packaging;

public sealed class CppSourceTests
{
    [Fact]
    public void Comments_go_from_both_views_and_literal_contents_from_the_code_view()
    {
        var source = CppSource.Parse(new SourceFile("k.cu", "int a; // c1 {\n/* c2\n { */ asm(\"{ wgmma }\"); char c = '{';\n"));

        Assert.Equal("int a;        \n     \n      asm(\"{ wgmma }\"); char c = '{';\n", source.WithoutComments);
        Assert.Equal("int a;        \n     \n      asm(\"         \"); char c = ' ';\n", source.Code);
        Assert.Equal(3, source.LineOf(source.Text.IndexOf("asm", StringComparison.Ordinal)));
    }

    [Fact]
    public void Raw_strings_escapes_and_digit_separators_do_not_derail_the_lexer()
    {
        var source = CppSource.Parse(new SourceFile("k.cu", "auto s = R\"x(a \"}\" b)x\"; auto t = \"\\\"{\"; int n = 1'000; { }"));

        Assert.Equal(1, source.Code.Count(c => c == '{'));
        Assert.Equal(1, source.Code.Count(c => c == '}'));
        Assert.Contains("1'000", source.Code);
    }

    [Fact]
    public void Preprocessor_lines_and_their_continuations_leave_the_code_view()
    {
        var source = CppSource.Parse(new SourceFile("k.cu", "#define BODY { \\\n  x(); }\nvoid f() {}\n"));

        Assert.DoesNotContain("BODY", source.Code);
        Assert.DoesNotContain("x()", source.Code);
        Assert.Contains("void f() {}", source.Code);
    }

    [Fact]
    public void Includes_are_found_with_their_spelling_and_line()
    {
        var source = CppSource.Parse(new SourceFile("k.cu", "#include \"a.h\"\n  #  include <b/c.h>\n// #include \"commented.h\"\n"));

        Assert.Equal([("a.h", true, 1), ("b/c.h", false, 2)], source.Includes());
    }

    [Fact]
    public void The_scanner_sees_declarations_at_namespace_scope_only()
    {
        var text = """
            void run(int a, float b);
            namespace outer { namespace { void run(afg::Tensor x) {} } }
            struct S { void run(); };
            void user() { run(1, 2.0f); }
            extern "C" { static void run(const char* s, int n = f(1, 2)) noexcept {} }
            """;

        var found = EntryFunctionScanner.Find(CppSource.Parse(new SourceFile("k.cu", text)), "run");

        Assert.Equal(3, found.Count);
        Assert.Equal((1, false, "void", 2), (found[0].Line, found[0].IsDefinition, found[0].Specifiers, found[0].Parameters.Count));
        Assert.Equal(["outer", ""], found[1].Namespaces);
        Assert.True(found[1].IsDefinition);
        Assert.True(found[2].ExternC);
        Assert.Equal(["const char* s", "int n = f(1, 2)"], found[2].Parameters);
        Assert.Contains("static", found[2].NotLinkableBecause());
    }

    [Theory]
    [InlineData("afg::Tensor q", "afg::Tensor")]
    [InlineData("const afg::Tensor q", "afg::Tensor")]
    [InlineData("const afg::Tensor& q", "const afg::Tensor &")]
    [InlineData("::afg::Tensor q", "afg::Tensor")]
    [InlineData("int n", "int32_t")]
    [InlineData("long n", "int64_t")]
    [InlineData("unsigned int", "unsigned int")]
    [InlineData("float scale = 1.0f", "float")]
    [InlineData("cudaStream_t", "cudaStream_t")]
    [InlineData("CUstream s", "cudaStream_t")]
    public void Parameter_types_are_compared_as_the_linker_sees_them(string parameter, string type)
    {
        Assert.Equal(type, PackChecker.CanonicalType(parameter, usingAfg: false));
    }
}
