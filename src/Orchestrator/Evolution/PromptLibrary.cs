using Scriban;
using Scriban.Parsing;
using Scriban.Runtime;

namespace AgentForge.Orchestrator.Evolution;

/// <summary>A prompt template that does not parse or render: names the file and what went wrong.</summary>
public sealed class PromptTemplateException(string message) : Exception(message);

/// <summary>
/// The Scriban templates in prompts/ (system, task.&lt;track&gt;, feedback, and partials named
/// _*.scriban that templates include). Rendered with strict variables and strict member access:
/// a name the model does not have is an error, never an empty string in a prompt.
/// </summary>
public sealed class PromptLibrary(string directory)
{
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>--prompts DIR, else prompts/ beside the executable, else prompts/ of the source tree above it.</summary>
    public static string? Locate(string? explicitDirectory)
    {
        if (!string.IsNullOrEmpty(explicitDirectory))
        {
            return explicitDirectory;
        }
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "prompts");
            if (File.Exists(Path.Combine(candidate, "system.scriban")))
            {
                return candidate;
            }
        }
        return null;
    }

    public string Render(string name, object model)
    {
        var path = Path.Combine(Directory, name + ".scriban");
        if (!File.Exists(path))
        {
            throw new PromptTemplateException($"{path}: no such prompt template");
        }
        var template = Template.Parse(File.ReadAllText(path), path);
        if (template.HasErrors)
        {
            throw new PromptTemplateException(string.Join("\n", template.Messages.Select(m => m.ToString())));
        }
        var globals = new ScriptObject();
        globals.Import(model);
        var context = new TemplateContext
        {
            StrictVariables = true,
            EnableRelaxedMemberAccess = false,
            TemplateLoader = new FolderLoader(Directory),
            LoopLimit = 100_000,
        };
        context.PushGlobal(globals);
        try
        {
            return template.Render(context).Trim() + "\n";
        }
        catch (Scriban.Syntax.ScriptRuntimeException e)
        {
            throw new PromptTemplateException(e.Message);
        }
    }

    /// <summary>Every template parses (run at start, so a typo fails before any GPU time is spent).</summary>
    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.scriban"))
        {
            var template = Template.Parse(File.ReadAllText(file), file);
            problems.AddRange(template.Messages.Select(m => m.ToString()));
        }
        return problems;
    }

    /// <summary>include 'name' reads prompts/name.scriban.</summary>
    private sealed class FolderLoader(string directory) : ITemplateLoader
    {
        public string GetPath(TemplateContext context, SourceSpan callerSpan, string templateName) =>
            Path.Combine(directory, Path.GetFileName(templateName) + ".scriban");

        public string Load(TemplateContext context, SourceSpan callerSpan, string templatePath) => File.ReadAllText(templatePath);

        public ValueTask<string?> LoadAsync(TemplateContext context, SourceSpan callerSpan, string templatePath) => ValueTask.FromResult<string?>(File.ReadAllText(templatePath));
    }
}
