using System.CommandLine;
using System.Text.Json;
using AgentForge.Orchestrator.Agents.Plugins;
using AgentForge.Tools.Agents;

namespace AgentForge.Orchestrator.Commands;

/// <summary>
/// `agentforge tools`: the agent tools without a model. `schema` prints their OpenAI function
/// schemas; `call NAME --args JSON` runs one and prints its JSON result (what a model would get);
/// `list` names them.
/// </summary>
public static class ToolsCommand
{
    public const int ExitOk = 0;
    public const int ExitToolError = 1;
    public const int ExitUsage = 2;

    public static Command Create()
    {
        var command = new Command("tools", "The agent tools: export their schemas or call one directly.");
        command.Subcommands.Add(Schema());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Call());
        return command;
    }

    private static Command Schema()
    {
        var output = new Option<FileInfo?>("--out") { Description = "Write the schemas to this file instead of stdout." };
        var command = new Command("schema", "Print the tools as OpenAI function schemas (a JSON array for the chat completions \"tools\" field).") { output };
        command.SetAction(parse =>
        {
            var json = ToolCatalog.OpenAiSchemas(ToolCatalog.Declarations()).ToJsonString(new JsonSerializerOptions(ToolJson.Options) { WriteIndented = true });
            if (parse.GetValue(output) is { } file)
            {
                File.WriteAllText(file.FullName, json + "\n");
                parse.InvocationConfiguration.Output.WriteLine($"{ToolNames.All.Count} tool schemas -> {file.FullName}");
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine(json);
            }
            return ExitOk;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "Name and describe the tools.");
        command.SetAction(parse =>
        {
            foreach (var tool in ToolCatalog.Declarations())
            {
                parse.InvocationConfiguration.Output.WriteLine($"{tool.Name}: {tool.Description}");
            }
            return ExitOk;
        });
        return command;
    }

    private static Command Call()
    {
        var name = new Argument<string>("name") { Description = $"Tool name: {string.Join(", ", ToolNames.All)}." };
        var arguments = new Option<string>("--args") { Description = "The tool's arguments as a JSON object, e.g. '{\"name\": \"gdn_decode_qk4_v8_d128_k_last\"}'.", DefaultValueFactory = _ => "{}" };
        var runs = RunsOption();
        var harness = HarnessArguments.Create();
        var command = new Command("call", "Call one tool with JSON arguments and print its JSON result; exits 1 when the result carries an error.") { name, arguments, runs };
        harness.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var toolName = parse.GetValue(name)!;
            if (!ToolNames.All.Contains(toolName))
            {
                error.WriteLine($"unknown tool '{toolName}'; tools: {string.Join(", ", ToolNames.All)}");
                return ExitUsage;
            }
            JsonElement json;
            try
            {
                using var document = JsonDocument.Parse(parse.GetValue(arguments)!);
                json = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                error.WriteLine($"--args is not JSON: {e.Message}");
                return ExitUsage;
            }
            if (json.ValueKind != JsonValueKind.Object)
            {
                error.WriteLine("--args must be a JSON object");
                return ExitUsage;
            }
            var options = harness.Read(parse, out var optionsError);
            if (options is null)
            {
                error.WriteLine(optionsError ?? "bad options");
                return ExitUsage;
            }
            var (tools, backend) = AgentToolbox.Standalone(options, parse.GetValue(runs)!);
            await using (backend)
            {
                var tool = tools.Single(t => t.Name == toolName);
                string result;
                try
                {
                    result = await ToolCatalog.InvokeAsync(tool, json, cancellationToken);
                }
                catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException)
                {
                    // Arguments that do not bind to the tool's parameters (wrong type, missing required one).
                    error.WriteLine($"{toolName}: bad arguments: {e.Message}");
                    return ExitUsage;
                }
                using var document = JsonDocument.Parse(result);
                output.WriteLine(JsonSerializer.Serialize(document.RootElement, new JsonSerializerOptions(ToolJson.Options) { WriteIndented = true }));
                return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out _) ? ExitToolError : ExitOk;
            }
        });
        return command;
    }

    public static Option<string> RunsOption() => new("--runs")
    {
        Description = "Run history folder: get_best reads champions from RUNS/*/best/, submit_candidate writes to RUNS/inbox/.",
        DefaultValueFactory = _ => "runs",
    };
}
