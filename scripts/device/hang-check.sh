#!/usr/bin/env bash
# The worker's watchdog on a candidate that hangs, on the GPU machine (after scripts/device/pack.sh,
# `.device` carried): a copy of the GDN decode baseline whose kernels spin forever is benched on one
# workload; the verdict must be TIMEOUT within the per-call limit (10 s), not after the run
# request's whole timing budget (30 s + 10 s per call: ~19 minutes with the default timing).
#   scripts/device/hang-check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/env.sh
hang="${TMPDIR:-/tmp}/agentforge-hang-kernels"
rm -rf "$hang"; mkdir -p "$hang"
cp -r src/Kernels.Baseline/include src/Kernels.Baseline/gdn_decode_qk4_v8_d128_k_last "$hang/"
python3 - "$hang" <<'PY'
import json, sys
root = sys.argv[1]
manifest = json.load(open("src/Kernels.Baseline/manifest.json"))
manifest["baselines"] = [b for b in manifest["baselines"] if b["definition"] == "gdn_decode_qk4_v8_d128_k_last"]
json.dump(manifest, open(f"{root}/manifest.json", "w"), indent=2)
path = f"{root}/gdn_decode_qk4_v8_d128_k_last/kernel.cu"
source = open(path).read()
# Every __global__ body starts with a spin (clock64 keeps the loop from being optimized away).
patched, n = [], 0
for part in source.split("__global__")[1:]:
    brace = part.index("{")
    patched.append(part[: brace + 1] + "\n  while (clock64() >= 0) {}  // hang on purpose\n" + part[brace + 1 :])
    n += 1
open(path, "w").write(source.split("__global__")[0] + "".join("__global__" + p for p in patched))
print(f"{n} kernels made to hang")
PY
start=$(date +%s)
AGENTFORGE_KERNELS="$hang" timeout 300 agentforge bench --definition gdn_decode_qk4_v8_d128_k_last --baseline --trials 1 --workloads 901e5104 2>&1 | grep -E "TIMEOUT|passed"
echo "bench ended after $(( $(date +%s) - start )) s (build and reference included)"
