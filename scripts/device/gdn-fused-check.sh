#!/usr/bin/env bash
# The fused GDN prefill kernel (GDN_PREFILL_IMPL=2, fused.cuh) on the GPU machine, after
# scripts/device/pack.sh with `.device` carried:
#   1. compute-sanitizer (racecheck, synccheck, memcheck) on one call of a solution whose default is
#      the fused kernel (or FUSED_SANITIZE_DEFINES), on a workload whose longest sequence has 4
#      chunks (both stages reused);
#   2. a sweep against the two-pass default on one or more workloads of every band.
#   scripts/device/gdn-fused-check.sh                     both
#   FUSED_SANITIZE=0 scripts/device/gdn-fused-check.sh    the sweep only
#   FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh       the sanitizer only
# FUSED_SETTINGS: the settings to compare with the default (space-separated, NAME=V[,NAME=V] each);
# FUSED_WORKLOADS: workload prefixes; FUSED_DEFINITION: another baseline to sanitize (e.g.
#   FUSED_DEFINITION=dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 FUSED_SANITIZE_DEFINES=DSA_ATTN_PIPE=1
#   FUSED_SANITIZE_WORKLOAD=5096e459 FUSED_SWEEP=0 scripts/device/gdn-fused-check.sh). Table last.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
definition="${FUSED_DEFINITION:-gdn_prefill_qk4_v8_d128_k_last}"
settings="${FUSED_SETTINGS:-GDN_PREFILL_IMPL=2 GDN_PREFILL_IMPL=2,GDN_PREFILL_FUSED_BV=32}"
# 6 tokens; 239 / 3 sequences; 832 / 4; 2107 / 1; 5709 / 2 (4517 longest); 8192 / 39, 43 (1242 longest), 56
workloads="${FUSED_WORKLOADS:-77daf91d e92dafeb 6fbc155c 6f1ad833 07aa7922 410794d4 26244fb4 06f21bb1}"

if [ "${FUSED_SANITIZE:-1}" = 1 ]; then
  tmp="$(mktemp -d)"
  agentforge pack --definition "$definition" --baseline --out "$tmp/base.json" > "$out/fused-pack.log" 2>&1
  agentforge extract "$tmp/base.json" "$tmp/src" >> "$out/fused-pack.log" 2>&1
  folder="$(ls -d "$tmp"/src/*/ | head -n 1)"
  # FUSED_SANITIZE_DEFINES: the defaults the sanitized solution gets (NAME=V, space-separated).
  for setting in ${FUSED_SANITIZE_DEFINES:-GDN_PREFILL_IMPL=2}; do
    name="${setting%%=*}"; value="${setting#*=}"
    sed -i "s/^#define $name .*\$/#define $name $value/" "$folder"/*.cu "$folder"/*.cuh
    grep -q "^#define $name $value\$" "$folder"/*.cu "$folder"/*.cuh || echo "could not set $setting in the packed sources"
  done
  agentforge pack --definition "$definition" --solution "$folder" --out "$tmp/packed.json" >> "$out/fused-pack.log" 2>&1
  # The harness builds a solution's own sources with its own shim: the packed FlashInfer-Bench
  # binding (TVM-FFI or torch headers, absent here) is left out and kernel.cu::run is the entry.
  python3 - "$tmp/packed.json" "$tmp/fused.json" <<'PY'
import json, sys
solution = json.load(open(sys.argv[1]))
solution["sources"] = [s for s in solution["sources"] if s["path"] != "binding.cu"]
solution["spec"]["entry_point"] = "kernel.cu::run"
solution["spec"].pop("binding", None)
json.dump(solution, open(sys.argv[2], "w"))
PY
  # FUSED_SANITIZE_WORKLOAD: e92dafeb (239 tokens, 3 sequences, 4 chunks in the longest) by default.
  sanitize_workload="${FUSED_SANITIZE_WORKLOAD:-e92dafeb}"
  echo "== compute-sanitizer with ${FUSED_SANITIZE_DEFINES:-GDN_PREFILL_IMPL=2} ($sanitize_workload)"
  # FUSED_SANITIZE_TOOLS (default "racecheck synccheck memcheck") and FUSED_SANITIZE_TIMEOUT (seconds a
  # tool, default 140): e.g. racecheck alone with 500 s for a MoE call of 901 tokens.
  tools="${FUSED_SANITIZE_TOOLS:-racecheck synccheck memcheck}"; tool_timeout="${FUSED_SANITIZE_TIMEOUT:-140}"
  tools_json="$(printf '"%s",' $tools)"; tools_json="[${tools_json%,}]"
  n_tools=$(wc -w <<< "$tools")
  timeout $(( n_tools * tool_timeout + 60 )) agentforge tools call run_sanitizer --args "{\"solution\": \"$tmp/fused.json\", \"workload\": \"$sanitize_workload\", \"sanitizer_types\": $tools_json, \"timeout\": $tool_timeout, \"max_lines\": 60}" > "$out/fused-sanitizer.json" 2>&1
  python3 - "$out/fused-sanitizer.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
try:
    result = json.loads(text)
except ValueError:
    print(text[-2000:]); sys.exit(0)
if result.get("error"): print("error:", result["error"])
for report in result.get("reports", []) or []:
    print({k: report.get(k) for k in ("tool", "clean", "error_count", "summary", "problem") if k in report})
if not result.get("clean"): print((result.get("output") or text)[:3000])
PY
fi

[ "${FUSED_SWEEP:-1}" = 1 ] || exit 0
echo "== sweep: default (two passes) vs $settings"
rm -f "$out/sweep.jsonl"
# shellcheck disable=SC2086
OUT="$out" SWEEP_REFERENCE_ITERATIONS=1 bash scripts/device/sweep.sh "$definition" "$workloads" "" $settings
