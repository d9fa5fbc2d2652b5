#!/usr/bin/env bash
# The SASS instruction mix of a baseline's kernels (static counts per opcode), to see what a
# kernel's K loop is made of (e.g. how ptxas emulates e4m3 mma.sync on sm_90):
#   scripts/device/sass-mix.sh DEFINITION KERNEL_REGEX [nvcc -D flags...]   (on the GPU machine)
set -uo pipefail
cd "$(dirname "$0")/../.."
definition="$1"; kernels="$2"; shift 2
out="${OUT:-/tmp/agentforge-out}"; mkdir -p "$out"
source scripts/device/sass-build.sh
build_sass "$out/sass-mix" src/Kernels.Baseline "$definition" "${SASS_ARCH:-sm_90}" "$@" || exit 1
python3 - "$out/sass-mix.sass" "$kernels" <<'PY'
import collections, re, sys
name, counts = None, {}
for line in open(sys.argv[1]):
    m = re.search(r"Function : (\S+)", line)
    if m:
        name = m.group(1) if re.search(sys.argv[2], m.group(1)) else None
        if name: counts[name] = collections.Counter()
        continue
    m = re.match(r"\s+/\*[0-9a-f]{4}\*/\s+(?:@!?U?P\w+\s+)?([A-Z0-9_]+)(\.[A-Z0-9_.]+)?", line)
    if name and m:
        counts[name][m.group(1) + (m.group(2) or "")[:16]] += 1
for name, c in counts.items():
    total = sum(c.values())
    print(f"== {name[:110]}  ({total} instructions)")
    print("   " + ", ".join(f"{op} {n}" for op, n in c.most_common(28)))
PY
