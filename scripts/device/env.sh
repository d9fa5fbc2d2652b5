# Sourced on the GPU machine: unpacks the carried .NET runtime and points AgentForge at the carried dataset.
_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ ! -x /tmp/dotnet/dotnet ]; then
  mkdir -p /tmp/dotnet && tar -C /tmp/dotnet -xJf "$_repo/.device/dotnet-runtime.tar.xz"
fi
export DOTNET_ROOT=/tmp/dotnet PATH="/tmp/dotnet:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The app travels as .device/app.tar.xz (scripts/device/pack.sh); unpacked once per archive (the
# archive's checksum is kept beside it, so a newer archive replaces an older unpacked app).
if [ -f "$_repo/.device/app.tar.xz" ]; then
  _stamp="$(cksum < "$_repo/.device/app.tar.xz")"
  if [ ! -f "$_repo/.device/app/.unpacked-from" ] || [ "$(cat "$_repo/.device/app/.unpacked-from")" != "$_stamp" ]; then
    rm -rf "$_repo/.device/app" && tar -C "$_repo/.device" -xJf "$_repo/.device/app.tar.xz" && echo "$_stamp" > "$_repo/.device/app/.unpacked-from"
  fi
fi
# The yardsticks packed by pack.sh, unless .yardstick itself was carried.
if [ -f "$_repo/.device/yardstick.tar.xz" ] && [ ! -d "$_repo/.yardstick" ]; then
  tar -C "$_repo" -xJf "$_repo/.device/yardstick.tar.xz"
fi
export FIB_DATASET_PATH="${FIB_DATASET_PATH:-$_repo/.device/dataset}"
# The baseline kernels are read from the working tree, not from the copy packed into the app (a
# kernel edited after pack.sh would otherwise be measured in its packed, older version).
export AGENTFORGE_KERNELS="${AGENTFORGE_KERNELS:-$_repo/src/Kernels.Baseline}"
[ -f "$_repo/.device/fonts/report.ttf" ] && export AGENTFORGE_FONT="$_repo/.device/fonts/report.ttf"
export AGENTFORGE_CACHE="${AGENTFORGE_CACHE:-/tmp/agentforge-cache}"
# A real executable (not a shell function), so that timeout, xargs and the like can start it.
mkdir -p /tmp/agentforge-bin
printf '#!/usr/bin/env bash\nexec dotnet "%s/.device/app/agentforge.dll" "$@"\n' "$_repo" > /tmp/agentforge-bin/agentforge
chmod +x /tmp/agentforge-bin/agentforge
export PATH="/tmp/agentforge-bin:$PATH"
# bench's arguments for one setting "NAME=V,NAME=V" (empty: the default), into the array `defines`
# (sweep.sh, pending-checks.sh, locked-ab.sh).
defines_of() {
  defines=()
  local pairs p
  IFS=',' read -ra pairs <<< "$1"
  for p in "${pairs[@]}"; do [ -n "$p" ] && defines+=(--define "$p"); done
}
