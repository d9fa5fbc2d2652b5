#!/usr/bin/env bash
# `agentforge evolve` on the GPU machine with the built-in tuner, the run folder brought back.
#   scripts/device/evolve-check.sh TRACK MINUTES [extra evolve args...]
# Run folders live in /tmp/af-runs so a later call on the same warm machine can resume them:
#   RESUME=<run id> scripts/device/evolve-check.sh TRACK MINUTES
# A call is limited to 10 minutes: LIMIT_S stops this session early (SIGINT, the run stays resumable),
# and RESUME_FROM=<run.tar.gz brought back by an earlier call, carried> restores the run folder on a
# fresh machine before resuming it.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
track="$1"; minutes="$2"; shift 2
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out" /tmp/af-runs
limit=${LIMIT_S:-$(( minutes * 60 + 120 ))}
if [ -n "${RESUME_FROM:-}" ]; then tar -C /tmp/af-runs -xzf "$RESUME_FROM"; fi
if [ -n "${RESUME:-}" ]; then
  timeout -s INT "$limit" agentforge evolve --resume "$RESUME" --runs /tmp/af-runs --oracle-processes 4 "$@" > "$out/evolve.log" 2>&1
else
  timeout -s INT "$limit" agentforge evolve --track "$track" --time "${minutes}m" --runs /tmp/af-runs --oracle-processes 4 "$@" > "$out/evolve.log" 2>&1
fi
echo "evolve exit $?"
run=$(ls -t /tmp/af-runs | grep -v inbox | head -1)
tail -n 25 "$out/evolve.log"
cp "/tmp/af-runs/$run/report.md" "$out/" 2>/dev/null
cp "/tmp/af-runs/$run/progress.png" "$out/" 2>/dev/null
tar -C /tmp/af-runs -czf "$out/run.tar.gz" "$run"
agentforge runs list --runs /tmp/af-runs | tail -n 5
head -n 60 "$out/report.md" 2>/dev/null
