#!/usr/bin/env bash
# Times a baseline under several settings of its declared tunable parameters on a few workloads.
#   scripts/device/sweep.sh DEFINITION "WORKLOAD_PREFIXES" "NAME=V,NAME=V" "NAME=V,..." ...
# One line per setting: latency per workload (CUDA events, L2 flushed, 1 trial), table last; a
# failing setting shows its trials' median as ~N us (DSA_ATTN_DIAG-style measurement aids); "!"
# marks a cell whose timed call had more than 5 us of launch gaps.
# SWEEP_ARGS adds bench arguments to every setting, e.g. SWEEP_ARGS="--target portable".
# SWEEP_TIMEOUT (seconds, default 240) ends a setting's bench: a variant that hangs (session 7: a
# setmaxnreg split that waited forever) costs that much device time, not the whole call.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
definition="$1"; workloads="$2"; shift 2
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
# bench's arguments for one setting "NAME=V,NAME=V" (empty: the default), into the array `defines`.
defines_of() {
  defines=()
  local pairs p
  IFS=',' read -ra pairs <<< "$1"
  for p in "${pairs[@]}"; do [ -n "$p" ] && defines+=(--define "$p"); done
}
bench() { timeout "${SWEEP_TIMEOUT:-240}" agentforge bench --definition "$definition" --baseline --workloads $workloads "$@" ${SWEEP_ARGS:-}; }
# nvcc is the slow part (~40-60 s per MoE build): build every setting first, in parallel (the
# machine has 16 cores), then time them one at a time from the build cache. SWEEP_PREBUILD=0 skips it.
if [ "${SWEEP_PREBUILD:-1}" = 1 ] && [ "$#" -gt 1 ]; then
  for setting in "$@"; do
    ( defines_of "$setting"; bench --build-only "${defines[@]}" >> "$out/sweep-build.log" 2>&1 ) &
  done
  wait
fi
for setting in "$@"; do
  defines_of "$setting"
  bench --trials 1 "${defines[@]}" --json "$out/sweep.jsonl" --traces "$out/sweep-traces.jsonl" >> "$out/sweep.log" 2>&1 \
    || echo "setting '$setting' failed or timed out (${SWEEP_TIMEOUT:-240} s): see sweep.log"
done
python3 - "$out/sweep.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    # An INCORRECT run (a DIAG setting that skips work, say) has no latency_ms; its trials were timed
    # all the same: their median stands in, marked with "~".
    trials = sorted(t for t in (r.get("trial_latencies_ms") or []) if t)
    # Launch gaps (span minus kernel time) above 5 us: the candidate's own gaps, or the host issuing
    # the call's launches late (session 12 saw 5-10x spans that way): the cell is marked "!".
    late = (r.get("launch_gaps_ms") or 0.0) * 1e3 > 5.0
    by.setdefault(r["candidate"], {})[str(r["axes"])] = (r["status"], r["latency_ms"], r["floor_ratio"], trials[len(trials) // 2] if trials else None, late)
axes = sorted({a for v in by.values() for a in v})
def setting(name):
    """The candidate's -D settings (the part in brackets) and a build-target suffix (@portable), or "default"."""
    suffix = name[name.rindex("@"):] if "@" in name else ""
    name = name[: len(name) - len(suffix)]
    defines = name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else "default"
    return defines + suffix
width = max([len("setting")] + [len(setting(n)) for n in by])
print("setting".ljust(width), *[a[:24].rjust(26) for a in axes])
for name, v in by.items():
    def cell(a):
        if a not in v:
            return "-"
        status, latency, floor, trial, late = v[a]
        if latency:
            return f"{status[:4]} {latency*1e3:7.1f}us{'!' if late else ' '}{floor:5.2f}x"
        return f"{status[:4]} ~{trial*1e3:6.1f}us" if trial else status
    cells = [cell(a) for a in axes]
    print(setting(name).ljust(width), *[c.rjust(26) for c in cells])
if any(cell[4] for v in by.values() for cell in v.values()):
    print("! more than 5 us of launch gaps in the timed call (the candidate's own, or launches the host issued late): read its timeline before comparing")
PY
