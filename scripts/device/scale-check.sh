#!/usr/bin/env bash
# Issue #9, item 5: does `evolve` with the built-in tuner evaluate >= 1.8x as many candidates per
# hour on every GPU of the machine as on one? Runs evolve twice on the same track and seed for
# MINUTES each, `--gpus 1` then `--gpus all`, and prints candidates per hour for each and the ratio.
#   scripts/device/scale-check.sh [MINUTES] [TRACK] [extra evolve args...]
# Defaults: 20 minutes, gated_delta_net. On the GPU machine, after scripts/device/pack.sh here and
# with `.device` in the call's carry (scripts/device/env.sh sets up .NET and the dataset).
# When one call may not run both (a 10-minute limit per command), run one side per call on the
# same warm machine; each call prints the table of every run made so far:
#   SCALE_ONLY=1 scripts/device/scale-check.sh 7 && SCALE_ONLY=all scripts/device/scale-check.sh 7
#
# Fairness: each run gets a cold cache of its own. Builds, inputs and references are cached by
# content, so a shared cache would hand the second run the first one's nvcc and oracle work.
# Candidates are counted after generation 0 (the baselines, whose reference outputs the Python
# oracle computes cold in both runs) until the run stopped: the rate is the steady state.
# SCALE_WARM_CACHE=DIR starts both sides from a copy of the same cache (say, one whose reference
# outputs a first run computed): generation 0 then takes seconds instead of minutes, and both sides
# still start equal. SCALE_WARM=1 makes that cache first (/tmp/af-scale-warm, kept across calls on
# a warm machine): a 1-minute evolve on every GPU, which stops after generation 0 has computed and
# timed every reference (on gated_delta_net ~4 minutes: the prefill reference is a Python loop).
# Within the 10-minute limit per call, on one warm machine:
#   SCALE_WARM=1 SCALE_ONLY=1 scripts/device/scale-check.sh 3 && SCALE_WARM=1 SCALE_ONLY=all scripts/device/scale-check.sh 3
# SCALE_REPLAY=RUN_FOLDER makes both sides propose that run's candidates (`evolve --replay`), so
# they evaluate the same list in the same order and the ratio measures scaling alone (give a run
# with more candidates than either side finishes in MINUTES, e.g. the 2-GPU run of an earlier check:
# results/gpu/2026-11-26-h200x2-scale-check/scale-runs.tar.gz, runs-all/...).
# Writes $OUT/scale-check.md (a table for docs/scale-out.md), the logs and both run folders.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
minutes="${1:-20}"; track="${2:-gated_delta_net}"
shift $(( $# < 2 ? $# : 2 ))
out="${OUT:-/tmp/agentforge-out}"; work="${SCALE_WORK:-/tmp/af-scale}"
sides="${SCALE_ONLY:-1 all}"
mkdir -p "$out"
if [ -z "${SCALE_ONLY:-}" ]; then rm -rf "$work"; fi
mkdir -p "$work"
nvidia-smi -L | tee "$out/gpus.txt"
if [ "${SCALE_WARM:-0}" = "1" ]; then
  warm=/tmp/af-scale-warm
  if [ ! -d "$warm/cache" ]; then
    echo "warming $warm: evolve --time 1m --gpus all (generation 0 computes and times every reference)"
    agentforge evolve --track "$track" --time 1m --seed 0 --gpus all --runs "$warm/runs" --cache "$warm/cache" \
      --oracle-processes 8 > "$out/evolve-warm.log" 2>&1
    echo "warm-up exit $?"; tail -n 2 "$out/evolve-warm.log"
  fi
  SCALE_WARM_CACHE="$warm/cache"
fi
limit=$(( minutes * 60 + 600 ))
for gpus in $sides; do
  rm -rf "$work/runs-$gpus" "$work/cache-$gpus"
  if [ -n "${SCALE_WARM_CACHE:-}" ]; then cp -r "$SCALE_WARM_CACHE" "$work/cache-$gpus"; fi
  echo "evolve --track $track --time ${minutes}m --gpus $gpus $*"
  replay=(); [ -n "${SCALE_REPLAY:-}" ] && replay=(--replay "$SCALE_REPLAY")
  timeout -s INT "$limit" agentforge evolve --track "$track" --time "${minutes}m" --seed 0 --gpus "$gpus" \
    --runs "$work/runs-$gpus" --cache "$work/cache-$gpus" --oracle-processes 4 "${replay[@]}" "$@" > "$out/evolve-gpus-$gpus.log" 2>&1
  echo "exit $?"; tail -n 5 "$out/evolve-gpus-$gpus.log"
done
(cd "$work" && tar -czf "$out/scale-runs.tar.gz" runs-* 2>/dev/null)

python3 -B - "$work" "$out/scale-check.md" "$minutes" "$track" "$*" <<'PY'
import datetime, glob, json, os, re, sys

work, report, minutes, track, extra = sys.argv[1:6]

def when(text):
    # .NET writes 7 fractional digits; Python reads at most 6.
    return datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))

rows = {}
for gpus in ("1", "all"):
    folders = [f for f in glob.glob(os.path.join(work, f"runs-{gpus}", "*")) if os.path.isfile(os.path.join(f, "events.jsonl"))]
    if not folders:
        print(f"--gpus {gpus}: no run folder (see evolve-gpus-{gpus}.log)")
        continue
    folder = max(folders, key=os.path.getmtime)
    events = [json.loads(line) for line in open(os.path.join(folder, "events.jsonl")) if line.strip()]
    info = json.load(open(os.path.join(folder, "run.json")))
    environment = info.get("environment", {})
    started = next(when(e["time"]) for e in events if e["type"] == "run_started")
    seeded = next((when(e["time"]) for e in events if e["type"] == "generation_finished" and e["generation"] == 0), started)
    stopped = next((when(e["time"]) for e in events if e["type"] == "run_stopped"), when(events[-1]["time"]))
    finished = [e for e in events if e["type"] == "candidate_finished" and e["record"]["generation"] > 0]
    counted = [e for e in finished if when(e["time"]) >= seeded]
    hours = max((stopped - seeded).total_seconds(), 1) / 3600
    rows[gpus] = dict(card=environment.get("gpu", "?"), slots=environment.get("slots", 1), total=len(finished),
                      counted=len(counted), window=hours * 60, rate=len(counted) / hours,
                      seed_minutes=(seeded - started).total_seconds() / 60, run=os.path.basename(folder),
                      stop=next((e["reason"] for e in events if e["type"] == "run_stopped"), "?"))

date = datetime.date.today().isoformat()
lines = [f"Measured {date} by scripts/device/scale-check.sh {minutes} {track} {extra}".rstrip() + ":", "",
         "| GPUs | card | worker slots | candidates (after gen 0) | minutes measured | candidates/hour | gen 0 minutes | run |",
         "|---|---|---|---|---|---|---|---|"]
for gpus, r in rows.items():
    lines.append(f"| {gpus} | {r['card']} | {r['slots']} | {r['counted']} | {r['window']:.1f} | {r['rate']:.1f} | {r['seed_minutes']:.1f} | {r['run']} |")
if "1" in rows and "all" in rows and rows["1"]["rate"] > 0:
    ratio = rows["all"]["rate"] / rows["1"]["rate"]
    lines += ["", f"Ratio all/1: {ratio:.2f}x (issue #9 asks for >= 1.8x with 2 GPUs): {'MET' if ratio >= 1.8 else 'NOT MET'}."]
for gpus, r in rows.items():
    lines.append(f"--gpus {gpus} stopped: {r['stop']}")
text = "\n".join(lines) + "\n"
open(report, "w").write(text)
print(text)
PY
