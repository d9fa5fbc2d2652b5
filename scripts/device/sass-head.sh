#!/usr/bin/env bash
# The first SASS instructions of a kernel in the libraries a bench JSON names (one line per library
# and setting): where its loads sit against its first EXIT, without ncu.
#   scripts/device/sass-head.sh ROWS.jsonl KERNEL_REGEX [lines (default 40)]
set -uo pipefail
rows="$1"; kernel="$2"; lines="${3:-40}"
python3 -c "
import json, sys
seen = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    lib = r.get('library')
    if lib and lib not in seen:
        seen.add(lib); print(r['candidate'].split('_baseline_cuda')[-1] or 'default', lib)
" "$rows" | while read -r name lib; do
  echo "== $name"
  cuobjdump -sass "$lib" 2>/dev/null | awk -v re="$kernel" -v n="$lines" '/Function :/ {on = ($3 ~ re); c = 0} on && /^ +\/\*[0-9a-f]{4}\*\// {if (c++ < n) print}' | grep -E "LDG|EXIT|LDGSTS|BRA|ISETP" | sed 's/^ *//' | cut -c1-90
done
