#!/usr/bin/env bash
# gdn-chain-timeline.sh over several settings in one call: every probe built at once (nvcc is the slow
# part, the GPU machine has 16 cores), then each run alone on the GPU, in the order given.
# On the GPU machine, no .device needed:
#   scripts/device/gdn-chain-variants.sh "TOKENS SEQUENCES" ... -- SETTING ...
# A SETTING is "" (the defaults) or NAME=V[,NAME=V...]. Output: $OUT/gdn-chain-variants.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/cta-timeline-probe.sh
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
calls=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do calls+=("$1"); shift; done
[ $# -gt 0 ] && shift
settings=("$@"); [ ${#settings[@]} -gt 0 ] || settings=("")
build() {  # $1 index, $2 setting
  local defines=() parts=() d
  IFS=',' read -ra parts <<< "$2"
  for d in "${parts[@]}"; do [ -n "$d" ] && defines+=("-D$d"); done
  build_timeline_probe gdn_chain_timeline_probe sm_90a GDN_PREFILL_DIAG_CHAIN_TIMES "$out/chain-variant-$1" "${defines[@]}" \
    > "$out/chain-variant-$1.build.log" 2>&1
}
for i in "${!settings[@]}"; do build "$i" "${settings[$i]}" & done
wait
for i in "${!settings[@]}"; do
  echo "=== setting: ${settings[$i]:-defaults}"
  if [ ! -x "$out/chain-variant-$i" ]; then echo "build failed:"; tail -n 5 "$out/chain-variant-$i.build.log"; continue; fi
  # $c unquoted: "T N" is two probe arguments.
  for c in "${calls[@]}"; do "$out/chain-variant-$i" $c; echo; done
  rm -f "$out/chain-variant-$i" "$out/chain-variant-$i.build.log"
done 2>&1 | tee "$out/gdn-chain-variants.txt"
