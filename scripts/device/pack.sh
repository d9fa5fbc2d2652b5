#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for a call on the GPU machine, which has no .NET and no network:
# a .NET runtime (xz, ~26 MB), AgentForge and the GPU tests built framework-dependent, and a copy
# of the dataset. Name `.device` in the call's `carry`, then run scripts/device/gpu-check.sh there
# (every device script sources scripts/device/env.sh, which unpacks the app first).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
dataset="${FIB_DATASET_PATH:-../shared/flashinfer-trace}"
mkdir -p "$out"

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
# The runtime without what only a debugger, a crash dump, LTTng tracing or a standalone GC loads, at
# xz's strongest setting: the carry limit (64 MiB) counts disk blocks of the tracked tree, .device and
# .yardstick together, and session 26 went over it with the runtime packed whole at -6. A tarball
# packed before this change (its stamp file absent) is repacked.
runtime_stamp="$out/dotnet-runtime.lean"
if [ ! -f "$out/dotnet-runtime.tar.xz" ] || [ ! -f "$runtime_stamp" ]; then
  echo "packing the .NET runtime from $dotnet_root"
  tar -C "$dotnet_root" --exclude=libmscordaccore.so --exclude=libmscordbi.so --exclude=createdump \
    --exclude=libclrgc.so --exclude=libclrgcexp.so --exclude=libcoreclrtraceptprovider.so \
    -cf - dotnet host shared/Microsoft.NETCore.App | xz -T0 -9e > "$out/dotnet-runtime.tar.xz"
  touch "$runtime_stamp"
fi

rm -rf "$out/app" "$out/app.tar.xz" "$out/gputests" "$out/dataset"
dotnet publish src/Orchestrator -c Release -r linux-x64 --self-contained false -p:UseAppHost=false -o "$out/app" --nologo -v q
# PACK_TESTS=0 leaves the GPU tests out (room for carried yardsticks under the 64 MiB limit).
# The GPU tests go into the same folder: they reference the whole app, so sharing the folder
# carries each assembly once (the carry limit is 64 MiB).
if [ "${PACK_TESTS:-1}" != "0" ]; then
  dotnet publish tests/AgentForge.GpuTests -c Release -r linux-x64 --self-contained false -o "$out/app" --nologo -v q
fi

rm -rf "$out/app/Microsoft.CodeCoverage" "$out"/app/*.pdb
mkdir -p "$out/dataset"
(cd "$dataset" && find definitions workloads -type f \( -name '*.json' -o -name '*.jsonl' \) -print0 | xargs -0 -I{} cp --parents {} "$OLDPWD/$out/dataset/")
if [ -d "$dataset/blob" ]; then cp -r "$dataset/blob" "$out/dataset/"; fi
# The GPU machine has no fonts: plots (evolve's progress.png) would carry no text without one.
font="$(fc-match -f '%{file}' 'DejaVu Sans' 2>/dev/null || true)"
if [ -n "$font" ] && [ -f "$font" ]; then mkdir -p "$out/fonts" && cp "$font" "$out/fonts/report.ttf"; fi
# The yardsticks' code (git-ignored .yardstick/, scripts/yardsticks/README.md) travels inside .device
# as one archive (~0.6 MB against ~5 MB of disk blocks for its ~360 files): carrying `.device` alone
# brings it, and scripts/device/env.sh unpacks it where the device scripts look (.yardstick/).
rm -f "$out/yardstick.tar.xz"
if [ -d .yardstick ]; then tar -cf - .yardstick | xz -T0 -9e > "$out/yardstick.tar.xz"; fi
# The app travels compressed (~35 MB of assemblies -> ~10 MB; the carry limit is 64 MiB with the
# tracked tree): scripts/device/env.sh unpacks it into .device/app on the GPU machine.
rm -f "$out/app.tar.xz"
tar -C "$out" -cf - app | xz -T0 -9e > "$out/app.tar.xz"
rm -rf "$out/app"
du -sh "$out"
