"""FLA yardstick for the two GDN definitions: times FLA's kernels on the same workloads as the harness.

FLA (flash-linear-attention) is only the yardstick: its package is carried to the GPU machine in a
git-ignored folder (.yardstick/fla) and put on PYTHONPATH; none of its code is in this repository.

For each workload: inputs like the harness's (random per dtype; GDN prefill q, k and cu_seqlens from the
dataset's synthesized blobs, which `agentforge dataset synth` writes exactly as the harness synthesizes
them), FLA called with the gates fused in its kernels (use_gate_in_kernel, use_beta_sigmoid_in_kernel)
and the k-last state (state_v_first), checked against the definition's reference on the same inputs,
then timed two ways, both with the L2 flushed before each call:
  kernel_ms: median over calls of the GPU's kernel-busy time (torch profiler / CUPTI: the union of the
             kernels' intervals, the sum for kernels that run one after another), i.e.
             launch gaps excluded, the way KERNELS.md quotes FLA;
  span_ms:   median CUDA-event span around the Python call (includes Triton's host launch overhead).
Writes one JSON object per workload to --out.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import flush_buffer, load_jsonl, reference_fn, time_call  # noqa: E402
from safetensors.torch import load_file


def decode_inputs(axes, scale):
    B = axes["batch_size"]
    bf = torch.bfloat16
    return dict(
        q=torch.randn(B, 1, 4, 128, dtype=bf, device="cuda"),
        k=torch.randn(B, 1, 4, 128, dtype=bf, device="cuda"),
        v=torch.randn(B, 1, 8, 128, dtype=bf, device="cuda"),
        state=torch.randn(B, 8, 128, 128, dtype=torch.float32, device="cuda"),
        A_log=torch.randn(8, dtype=torch.float32, device="cuda"),
        a=torch.randn(B, 1, 8, dtype=bf, device="cuda"),
        dt_bias=torch.randn(8, dtype=torch.float32, device="cuda"),
        b=torch.randn(B, 1, 8, dtype=bf, device="cuda"),
        scale=scale,
    )


def prefill_inputs(axes, scale, blob):
    T, N = axes["total_seq_len"], axes["num_seqs"]
    bf = torch.bfloat16
    return dict(
        q=blob["q"].cuda(),
        k=blob["k"].cuda(),
        v=torch.randn(T, 8, 128, dtype=bf, device="cuda"),
        state=torch.randn(N, 8, 128, 128, dtype=torch.float32, device="cuda"),
        A_log=torch.randn(8, dtype=torch.float32, device="cuda"),
        a=torch.randn(T, 8, dtype=bf, device="cuda"),
        dt_bias=torch.randn(8, dtype=torch.float32, device="cuda"),
        b=torch.randn(T, 8, dtype=bf, device="cuda"),
        cu_seqlens=blob["cu_seqlens"].cuda(),
        scale=scale,
    )


def fla_decode(x):
    from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule
    # FLA's decode takes [B, T, H, K] with B sequences of one token: the same layout as the definition.
    return lambda: fused_recurrent_gated_delta_rule(
        x["q"], x["k"], x["v"], g=x["a"], beta=x["b"], scale=x["scale"], initial_state=x["state"],
        output_final_state=True, use_gate_in_kernel=True, A_log=x["A_log"], dt_bias=x["dt_bias"],
        use_beta_sigmoid_in_kernel=True, state_v_first=True)


def fla_prefill(x):
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    args = [t.unsqueeze(0) for t in (x["q"], x["k"], x["v"], x["a"], x["b"])]
    return lambda: chunk_gated_delta_rule(
        args[0], args[1], args[2], g=args[3], beta=args[4], scale=x["scale"], initial_state=x["state"],
        output_final_state=True, use_gate_in_kernel=True, A_log=x["A_log"], dt_bias=x["dt_bias"],
        use_beta_sigmoid_in_kernel=True, state_v_first=True, cu_seqlens=x["cu_seqlens"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--definition", required=True)
    parser.add_argument("--workloads", nargs="*", default=[])
    parser.add_argument("--out", required=True)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--ours", help="bench --json output: also time AgentForge's library (same inputs, same method)")
    parser.add_argument("--skip-check", action="store_true",
                        help="time FLA only: no reference check (errors NaN) and no --ours timing; for the extra "
                             "FLA runs that scripts/yardsticks/fla_best.py merges with a checked first run")
    args = parser.parse_args()
    if args.skip_check and args.ours:
        parser.error("--skip-check times FLA alone: leave out --ours")
    libraries = {}
    if args.ours:
        for l in open(args.ours):
            if l.strip():
                row = json.loads(l)
                if row.get("library") and row["definition"] == args.definition:
                    libraries[row["uuid"]] = row["library"]

    op = "gdn"
    definition = json.load(open(os.path.join(args.dataset, "definitions", op, args.definition + ".json")))
    reference = reference_fn(definition)
    prefill = "prefill" in args.definition
    flush = flush_buffer()
    torch.manual_seed(0)
    with open(args.out, "a") as out:
        for line in load_jsonl(os.path.join(args.dataset, "workloads", op, args.definition + ".jsonl")):
            w = line["workload"]
            if args.workloads and not any(w["uuid"].startswith(p) for p in args.workloads):
                continue
            scale = w["inputs"]["scale"]["value"]
            if prefill:
                blob_path = os.path.join(args.dataset, w["inputs"]["q"]["path"])
                x = prefill_inputs(w["axes"], scale, load_file(blob_path))
                call = fla_prefill(x)
                check = lambda: reference(x["q"], x["k"], x["v"], x["state"], x["A_log"], x["a"], x["dt_bias"], x["b"], x["cu_seqlens"], scale)
            else:
                x = decode_inputs(w["axes"], scale)
                call = fla_decode(x)
                check = lambda: reference(x["q"], x["k"], x["v"], x["state"], x["A_log"], x["a"], x["dt_bias"], x["b"], scale)
            o, state = call()
            err_o = err_s = math.nan
            if not args.skip_check:
                ref = check()
                err_o = (o.float().reshape(ref[0].shape) - ref[0].float()).abs().max().item()
                err_s = (state.float() - ref[1].float()).abs().max().item()
            iterations = args.iterations if not prefill else max(3, args.iterations // 4)
            kernel_ms, span_ms, fla_kernels = time_call(call, flush, args.warmup, iterations)
            row = dict(definition=args.definition, uuid=w["uuid"], axes=w["axes"], fla_kernel_ms=kernel_ms,
                       fla_span_ms=span_ms, max_abs_err_output=err_o, max_abs_err_state=err_s,
                       device=torch.cuda.get_device_name(0))
            if w["uuid"] in libraries:
                from afg_call import Candidate
                ours = Candidate(libraries[w["uuid"]], definition)
                outputs = {"output": torch.empty_like(ref[0]), "new_state": torch.empty_like(ref[1])}
                ours_call = lambda: ours(x, outputs)
                ours_call()
                torch.cuda.synchronize()
                row["ours_max_abs_err_output"] = (outputs["output"].float() - ref[0].float()).abs().max().item()
                row["ours_kernel_ms"], row["ours_span_ms"], row["ours_kernels_us"] = time_call(ours_call, flush, args.warmup, iterations)
                row["fla_kernels_us"] = fla_kernels
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"{w['uuid'][:8]} {w['axes']} fla kernels {kernel_ms*1000:.1f} us span {span_ms*1000:.1f} us err {err_o:.3g}/{err_s:.3g}"
                  f" ours kernels {row.get('ours_kernel_ms', float('nan'))*1000:.1f} us", flush=True)


if __name__ == "__main__":
    main()
