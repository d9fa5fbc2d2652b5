#!/usr/bin/env bash
# The GDN prefill's recurrent kernel in the working tree against an earlier version of its folder, built
# and timed in the same call (GPU machine, after scripts/device/pack.sh, `.device` carried):
#   scripts/device/recurrent-ab.sh EARLIER_DIR [settings...]
# EARLIER_DIR holds files that replace the working tree's in src/Kernels.Baseline/gdn_prefill_qk4_v8_d128_k_last
# (an untracked folder travels with the call), e.g. session 37's measured kernel:
#   mkdir -p scripts/device/probes/prefill-f6595b6 && git archive f6595b6 src/Kernels.Baseline/gdn_prefill_qk4_v8_d128_k_last \
#     | tar -x --strip-components=3 -C scripts/device/probes/prefill-f6595b6
# 1. SASS of gdn_prefill_recurrent_kernel for both trees (and the working tree under each setting):
#    registers and local memory per instance, instruction counts of both instances together, into
#    $OUT/recurrent-<name>.sass, a summary line each.
# 2. The quick rows of both trees (sweep.sh, SWEEP_ROUNDS rounds, default 2): the earlier tree with
#    GDN_PREFILL_RECURRENT_MAX_T=32, the working tree at its default and each setting.
# Writes more than the 8 files the device tool brings back: end the call with
# `cd $OUT && tar czf all.tgz --remove-files *`.
# Why (session 38): the kernel measured 0.7-1.8 us slower at 6-16 tokens than the commit it grew from;
# this put it on ptxas's schedule (128 registers against 96).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
probe_dir="${1:?EARLIER_DIR: files replacing the definition folder}"; shift
definition=gdn_prefill_qk4_v8_d128_k_last
earlier=/tmp/recurrent-ab-kernels
rm -rf "$earlier" && cp -r src/Kernels.Baseline "$earlier" && cp -r "$probe_dir"/. "$earlier/$definition/"
source scripts/device/sass-build.sh
sass() {  # name, kernel tree, nvcc flags...
  local name="$1" tree="$2"; shift 2
  build_sass "$out/recurrent-$name" "$tree" "$definition" sm_90a "$@" || return
  # Only the recurrent kernel's functions.
  awk '/Function :/ {on = ($3 ~ /recurrent/)} on' "$out/recurrent-$name.sass" > "$out/recurrent-$name.tmp" &&
    mv "$out/recurrent-$name.tmp" "$out/recurrent-$name.sass"
  printf '%-28s %s | %s instructions, %s LDL/STL, %s LDS, %s BAR, %s LDG\n' "$name" \
    "$(cuobjdump -res-usage "$out/recurrent-$name.cubin" 2>/dev/null | grep -A1 recurrent | grep -oE 'REG:[0-9]+|STACK:[0-9]+|SHARED:[0-9]+|LOCAL:[0-9]+' | tr '\n' ' ')" \
    "$(grep -cE '^ +/\*[0-9a-f]{4}\*/' "$out/recurrent-$name.sass")" "$(grep -cE 'LDL|STL' "$out/recurrent-$name.sass")" \
    "$(grep -c 'LDS' "$out/recurrent-$name.sass")" "$(grep -c 'BAR' "$out/recurrent-$name.sass")" "$(grep -c 'LDG' "$out/recurrent-$name.sass")"
}
echo "== SASS (sm_90a) of gdn_prefill_recurrent_kernel"
sass earlier "$earlier" -DGDN_PREFILL_RECURRENT_MAX_T=32
sass working src/Kernels.Baseline
for setting in "$@"; do
  flags=(); IFS=',' read -ra pairs <<< "$setting"; for p in "${pairs[@]}"; do flags+=("-D$p"); done
  sass "${setting//[,=]/_}" src/Kernels.Baseline "${flags[@]}"
done
workloads="${RECURRENT_AB_WORKLOADS:-77daf91d 8e7ef744 ef9515b6 d5f5c00c}"
echo "== earlier tree ($probe_dir), GDN_PREFILL_RECURRENT_MAX_T=32"
rm -f "$out/sweep.jsonl"
AGENTFORGE_KERNELS="$earlier" SWEEP_ROUNDS="${SWEEP_ROUNDS:-2}" bash scripts/device/sweep.sh "$definition" "$workloads" GDN_PREFILL_RECURRENT_MAX_T=32 | tail -n 3
cp "$out/sweep.jsonl" "$out/recurrent-ab-earlier.jsonl"
echo "== working tree"
rm -f "$out/sweep.jsonl"
SWEEP_ROUNDS="${SWEEP_ROUNDS:-2}" bash scripts/device/sweep.sh "$definition" "$workloads" "" "$@" | tail -n $(( $# + 3 ))
cp "$out/sweep.jsonl" "$out/recurrent-ab-working.jsonl"
rm -f "$out"/recurrent-*.cubin  # the .sass files say what matters; fewer files travel back
