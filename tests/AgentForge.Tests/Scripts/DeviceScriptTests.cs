using AgentForge.Tests.Packaging;
using AgentForge.Tests.Trace;
using AgentForge.Tools.Inputs;
using AgentForge.Tools.Trace;

namespace AgentForge.Tests.Scripts;

/// <summary>The GPU-free parts of scripts/device/*.py: their self-tests run here.</summary>
public sealed class DeviceScriptTests
{
    private static string Script(string name) => Path.Combine(Packing.RepositoryRoot(), "scripts", "device", name);

    private static string DevScript(string name) => Path.Combine(Packing.RepositoryRoot(), "scripts", "dev", name);

    private static string YardstickScript(string name) => Path.Combine(Packing.RepositoryRoot(), "scripts", "yardsticks", name);

    // Runs a script's built-in self-test (a path from Script or DevScript) and asserts it passed.
    private static void AssertSelfTestPasses(string script)
    {
        var (exitCode, output) = PythonScript.Run(script, "--self-test");

        Assert.True(exitCode == 0, output);
        Assert.Contains("self-test passed", output);
    }

    [Fact]
    public void The_edge_workloads_load_as_a_dataset_of_new_workloads_whose_blobs_synthesize()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var output = Path.Combine(Path.GetTempPath(), $"afg-edge-{Guid.NewGuid():N}");
        try
        {
            var (exitCode, log) = PythonScript.Run(DevScript("edge_workloads.py"), SharedData.DatasetRoot, output);
            Assert.True(exitCode == 0, log);

            var edges = TraceDataset.Load(output);
            var dataset = TraceDataset.Load(SharedData.DatasetRoot);
            Assert.Empty(edges.Errors);
            Assert.Equal(dataset.Definitions.Keys.Order(StringComparer.Ordinal), edges.Definitions.Keys.Order(StringComparer.Ordinal));
            Assert.All(edges.Definitions.Keys, name => Assert.NotEmpty(edges.Workloads(name)));
            var known = dataset.AllWorkloads.Select(w => w.Workload.Uuid).ToHashSet(StringComparer.Ordinal);
            Assert.DoesNotContain(edges.AllWorkloads, w => known.Contains(w.Workload.Uuid));
            Assert.Equal(edges.AllWorkloads.Count(), edges.AllWorkloads.Select(w => w.Workload.Uuid).Distinct().Count());
            // Every blob input (cu_seqlens, sparse indices, paged layouts, routing, the prefill's q / k) is
            // synthesized from the new axes, as the harness does on the GPU machine.
            var report = new DatasetSynthesizer().Synthesize(edges.Root, edges.Definitions.Values.ToList(), edges.AllWorkloads.ToList(),
                TestContext.Current.CancellationToken);
            Assert.True(report.Succeeded, string.Join("\n", report.Errors));
            Assert.NotEmpty(report.Written);
            // The blobs the script writes itself (cu_seqlens with empty sequences) match their definitions.
            Assert.NotEmpty(report.SkippedExisting);
            Assert.Empty(edges.CheckBlobs(SafetensorsBlobInspector.Instance, requireFiles: true));
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Fact]
    public void The_yardsticks_kernel_time_counts_overlapping_kernels_once()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(YardstickScript("measure.py"));
    }

    [Fact]
    public void The_fla_yardstick_keeps_each_workloads_fastest_run_and_the_first_runs_check()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(YardstickScript("fla_best.py"));
    }

    [Fact]
    public void The_fla_yardstick_merge_names_a_missing_run_file()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var missing = Path.Combine(Path.GetTempPath(), $"afg-fla-{Guid.NewGuid():N}.jsonl");

        var (exitCode, output) = PythonScript.Run(YardstickScript("fla_best.py"), Path.Combine(Path.GetTempPath(), "out.jsonl"), missing);

        Assert.Equal(2, exitCode);
        Assert.Contains($"no such run file: {missing}", output);
    }

    [Fact]
    public void The_source_page_summary_ranks_instructions_by_stall_samples()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("ncu_source_top.py"));
    }

    [Fact]
    public void The_dram_traffic_table_sums_each_launchs_bytes_in_any_unit_against_the_memory_floor()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("dram_traffic.py"));
    }

    [Fact]
    public void The_source_page_summary_says_what_it_could_not_read()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var csv = Path.Combine(Path.GetTempPath(), $"afg-source-{Guid.NewGuid():N}.csv");
        File.WriteAllText(csv, "\"Address\",\"Source\",\"Instructions Executed\"\n\"0x10\",\"NOP\",\"4\"\n");
        try
        {
            var (exitCode, output) = PythonScript.Run(Script("ncu_source_top.py"), csv);

            Assert.Equal(0, exitCode);
            Assert.Contains("no warp-stall-sampling column; columns: Address, Source, Instructions Executed", output);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public void The_locked_clock_table_reads_ncu_durations_in_any_unit_and_compares_with_the_default()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("locked_ab_table.py"));
    }

    [Fact]
    public void The_locked_clock_table_says_which_setting_gave_no_durations()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var folder = Path.Combine(Path.GetTempPath(), $"afg-locked-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "01-r1.csv"), "==ERROR== the build failed\n");
            File.WriteAllText(Path.Combine(folder, "01-r1.csv.setting"), "MOE_X=1\n");

            var (exitCode, output) = PythonScript.Run(Script("locked_ab_table.py"), folder);

            Assert.Equal(0, exitCode);
            Assert.Contains("MOE_X=1", output);
            Assert.Contains("(no durations: see its csv)", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_timeline_printer_shows_each_activitys_gap_to_the_previous_end()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("timeline.py"));
    }

    [Fact]
    public void The_sweep_table_shows_medians_and_spreads_of_repeated_rounds()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("sweep_table.py"));
    }

    [Fact]
    public void The_moe_phase_printer_splits_a_call_into_routing_gemms_swiglu_and_tail()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("moe_phases.py"));
    }

    [Fact]
    public void The_gdn_scan_model_schedules_longest_first_and_mirrors_the_host_plan()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(DevScript("gdn_scan_model.py"));
    }

    [Fact]
    public void The_binned_select_replay_finds_a_valid_top_k_on_every_kind_of_row()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(DevScript("emulate_binned_select.py"));
    }

    [Fact]
    public void The_segmented_gdn_chunk_scan_matches_the_per_token_recurrence_exactly()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(DevScript("emulate_gdn_segments.py"));
    }

    [Fact]
    public void The_lanes_routing_replay_selects_the_experts_the_definition_selects_even_with_ties()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(DevScript("emulate_moe_routing_lanes.py"));
    }

    [Fact]
    public void Side_loaded_ptx_headers_hold_the_ptx_exactly_behind_the_pack_checkers_marker()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(Script("ptx_header.py"));
        var source = File.ReadAllText(Script("ptx_header.py"));
        Assert.Contains($"MARKER = \"{AgentForge.Tools.Packaging.PackChecker.SideloadedPtxMarker}\"", source);
    }

    [Fact]
    public void The_undefined_name_check_finds_a_missing_import()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");

        AssertSelfTestPasses(DevScript("undefined_names.py"));
    }

    [Fact]
    public void Every_repository_script_defines_the_names_it_reads()
    {
        Assert.SkipUnless(PythonScript.Available(), "python3 is not on PATH");
        var scripts = Directory.EnumerateFiles(Path.Combine(Packing.RepositoryRoot(), "scripts"), "*.py", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.NotEmpty(scripts);

        var (exitCode, output) = PythonScript.Run([DevScript("undefined_names.py"), .. scripts]);

        Assert.True(exitCode == 0, output);
    }
}
