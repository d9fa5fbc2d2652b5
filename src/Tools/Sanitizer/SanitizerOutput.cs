using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentForge.Tools.Sanitizer;

/// <summary>
/// One kind of problem compute-sanitizer reported, with its occurrences folded together (memcheck
/// reports the same faulting instruction once per thread): what, where in the kernel, an example
/// thread, the address detail, and the first host frame outside the CUDA and .NET runtimes.
/// </summary>
public sealed record SanitizerFinding(string Kind, string? Location, string? Thread, string? Address, string? HostFrame, int Occurrences, bool IsWarning);

/// <summary>What compute-sanitizer's log says: its summary counts (null when absent) and the findings.</summary>
public sealed record SanitizerOutput(
    int? ErrorCount,
    int WarningCount,
    long LeakedBytes,
    IReadOnlyList<SanitizerFinding> Findings,
    bool TargetFailed,
    string? ToolError)
{
    /// <summary>A few lines for a model: the first <paramref name="maxFindings"/> findings, most frequent first.</summary>
    public string Describe(SanitizerTool tool, int maxFindings = 5)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{tool.ToString().ToLowerInvariant()}: {ErrorCount?.ToString(CultureInfo.InvariantCulture) ?? "no"} error(s)");
        if (WarningCount > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {WarningCount} warning(s)");
        }
        if (LeakedBytes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {LeakedBytes} bytes leaked");
        }
        foreach (var finding in Findings.OrderBy(f => f.IsWarning).ThenByDescending(f => f.Occurrences).Take(maxFindings))
        {
            text.Append("\n- ");
            if (finding.Occurrences > 1)
            {
                text.Append(CultureInfo.InvariantCulture, $"{finding.Occurrences}x ");
            }
            text.Append(finding.Kind);
            if (finding.Location is { } location)
            {
                text.Append(" at ").Append(location);
            }
            foreach (var detail in new[] { finding.Thread, finding.Address })
            {
                if (detail is not null)
                {
                    text.Append("; ").Append(detail);
                }
            }
            if (finding.HostFrame is { } frame)
            {
                text.Append("; host: ").Append(frame);
            }
        }
        var hidden = Findings.Count - maxFindings;
        if (hidden > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n- ... and {hidden} more kind(s) of finding");
        }
        return text.ToString();
    }
}

/// <summary>
/// Reads compute-sanitizer's text output (all tools). Every tool line starts with "=========";
/// a block starts with one space after it and continues with deeper-indented lines. Formats of
/// CUDA 11 to 13 are understood: "at 0x250 in file.cu:9:kernel(int*)" and "at kernel(int*)+0x250
/// in file.cu:9"; host frames on one line or with their module on a following "in ..." line.
/// </summary>
public static partial class SanitizerOutputParser
{
    private const string Prefix = "=========";

    // Host frames in these modules say nothing about the candidate.
    private static readonly string[] RuntimeModules =
    [
        "libcuda.so", "libcudart", "libcublas", "libcublasLt", "libnvrtc", "libcoreclr", "libclrjit", "libSystem.", "libhostpolicy",
        "libhostfxr", "libc.so", "libstdc++", "ld-linux", "libpthread", "/dotnet", "dotnet ", "[unknown]",
    ];

    [GeneratedRegex(@"ERROR SUMMARY:\s*(\d+)\s+error", RegexOptions.IgnoreCase)]
    private static partial Regex ErrorSummary();

    [GeneratedRegex(@"RACECHECK SUMMARY:\s*(\d+)\s+hazards?\s+displayed\s*\((\d+)\s+errors?,\s*(\d+)\s+warnings?\)", RegexOptions.IgnoreCase)]
    private static partial Regex RaceSummary();

    [GeneratedRegex(@"LEAK SUMMARY:\s*(\d+)\s+bytes", RegexOptions.IgnoreCase)]
    private static partial Regex LeakSummary();

    [GeneratedRegex(@"^(?:Error|ERROR|Warning|WARNING): Race reported between (.*)$")]
    private static partial Regex RaceHeadline();

    public static SanitizerOutput Parse(string log, SanitizerTool tool)
    {
        int? errors = null;
        var warnings = 0;
        long leaked = 0;
        var targetFailed = false;
        string? toolError = null;
        var blocks = new List<List<string>>();
        List<string>? current = null;

        foreach (var raw in log.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            var body = line[Prefix.Length..];
            if (body.Trim().Length == 0)
            {
                current = null;
                continue;
            }
            var isHeader = body.Length > 1 && body[0] == ' ' && body[1] != ' ';
            if (!isHeader)
            {
                current?.Add(body.Trim());
                continue;
            }
            var text = body.Trim();
            current = null;
            if (ErrorSummary().Match(text) is { Success: true } summary)
            {
                // racecheck's own summary wins when both are present.
                if (tool != SanitizerTool.Racecheck || errors is null)
                {
                    errors = int.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture);
                }
                continue;
            }
            if (RaceSummary().Match(text) is { Success: true } race)
            {
                errors = int.Parse(race.Groups[2].Value, CultureInfo.InvariantCulture);
                warnings = int.Parse(race.Groups[3].Value, CultureInfo.InvariantCulture);
                continue;
            }
            if (LeakSummary().Match(text) is { Success: true } leak)
            {
                leaked = long.Parse(leak.Groups[1].Value, CultureInfo.InvariantCulture);
                continue;
            }
            if (text.StartsWith("COMPUTE-SANITIZER", StringComparison.Ordinal) || text.StartsWith("CUDA-MEMCHECK", StringComparison.Ordinal)
                || text.StartsWith("This tool is deprecated", StringComparison.Ordinal) || text.StartsWith("Please use", StringComparison.Ordinal))
            {
                continue;
            }
            if (text.StartsWith("Target application returned an error", StringComparison.Ordinal)
                || text.StartsWith("Error: process didn't terminate successfully", StringComparison.Ordinal))
            {
                targetFailed = true;
                continue;
            }
            if (text.StartsWith("Error:", StringComparison.OrdinalIgnoreCase) && !RaceHeadline().IsMatch(text))
            {
                toolError ??= text;
                continue;
            }
            current = [text];
            blocks.Add(current);
        }

        var findings = blocks.Select(Finding)
            .GroupBy(f => (f.Kind, f.Location))
            .Select(g => g.First() with { Occurrences = g.Sum(f => f.Occurrences) })
            .ToList();
        if (tool != SanitizerTool.Racecheck)
        {
            warnings = Math.Max(warnings, findings.Where(f => f.IsWarning).Sum(f => f.Occurrences));
        }
        return new SanitizerOutput(errors, warnings, leaked, findings, targetFailed, toolError);
    }

    private static SanitizerFinding Finding(List<string> block)
    {
        var headline = block[0];
        string? location = null, thread = null, address = null;
        var occurrences = 1;
        var isWarning = headline.StartsWith("Warning", StringComparison.OrdinalIgnoreCase);
        if (RaceHeadline().Match(headline) is { Success: true } race)
        {
            // "Race reported between Write access at K+0x90 in f.cu:3" / "and Read access at ... [7168 hazards]"
            var others = block.Skip(1).Where(l => l.StartsWith("and ", StringComparison.Ordinal)).ToList();
            location = Hazards(race.Groups[1].Value, out var first) + string.Concat(others.Select(o => " " + Hazards(o, out _)));
            occurrences = Math.Max(1, first + others.Sum(o => { Hazards(o, out var n); return n; }));
            headline = isWarning ? "Potential race (warning)" : "Race (shared memory hazard)";
        }
        var frames = new List<string>();
        foreach (var line in block.Skip(1))
        {
            if (line.StartsWith("at ", StringComparison.Ordinal) && location is null)
            {
                location = line[3..];
            }
            else if (line.StartsWith("by thread", StringComparison.Ordinal) && thread is null)
            {
                thread = line;
            }
            else if (line.StartsWith("Address", StringComparison.Ordinal) && address is null)
            {
                address = line;
            }
            else if (line.StartsWith("and is ", StringComparison.Ordinal) && address is not null)
            {
                address += " " + line;
            }
            else if (line.StartsWith("Host Frame:", StringComparison.Ordinal))
            {
                frames.Add(line["Host Frame:".Length..].Trim());
            }
            else if (line.StartsWith("in ", StringComparison.Ordinal) && frames.Count > 0)
            {
                frames[^1] += " " + line;
            }
        }
        var hostFrame = frames.FirstOrDefault(f => f.Contains("candidate", StringComparison.Ordinal))
            ?? frames.FirstOrDefault(f => !RuntimeModules.Any(m => f.Contains(m, StringComparison.Ordinal)) && !f.StartsWith('['));
        return new SanitizerFinding(headline, location, thread, address, hostFrame, occurrences, isWarning);
    }

    /// <summary>"Write access at K in f.cu:3 [7168 hazards]" -> the text without the count, and the count.</summary>
    private static string Hazards(string text, out int count)
    {
        count = 0;
        var open = text.LastIndexOf(" [", StringComparison.Ordinal);
        if (open > 0 && (text.EndsWith("hazards]", StringComparison.Ordinal) || text.EndsWith("hazard]", StringComparison.Ordinal)))
        {
            var number = text[(open + 2)..].Split(' ')[0];
            count = int.TryParse(number, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
            return text[..open];
        }
        return text;
    }
}
