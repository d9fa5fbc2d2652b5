# Sourced by the *-cta-timeline.sh scripts: builds one per-CTA timeline probe and runs it.
#   cta_timeline PROBE ARCH DIAG_DEFINE EACH [probe args...] [-- NAME=V ...]
# PROBE is scripts/device/probes/PROBE.cu (the baseline kernel.cu built in), ARCH sm_90 or sm_90a,
# DIAG_DEFINE the kernel's marks switch (set to 1). EACH=1 runs the probe once per probe argument
# (tokens, or several words in one argument: "2107 1"), EACH=0 once with all of them. Output goes to
# $OUT (or /tmp/agentforge-out)/PROBE.txt. PROBE_WRAPPER: a command the probe runs under, e.g.
# PROBE_WRAPPER="ncu --clock-control base --metrics gpu__time_duration.sum" for its marks at ncu's
# locked base clock (one metric pass: no kernel replay, so each kernel's marks are its one run's).
# Why: the MoE tile probe (boost clock) and locked-clock runs of the workload disagreed on
# MOE_WGMMA_NEXT_FILL (sessions 22 and 26).
# build_timeline_probe PROBE ARCH DIAG_DEFINE OUTPUT [-DNAME=V ...]: scripts/device/probes/PROBE.cu
# with its marks switched on (the baseline kernel.cu built in), as OUTPUT.
build_timeline_probe() {
  local probe="$1" arch="$2" diag="$3" output="$4"; shift 4
  nvcc -gencode "arch=compute_${arch#sm_},code=$arch" -O3 -std=c++17 "-D$diag=1" "$@" \
    -I src/Kernels.Baseline/include -o "$output" "scripts/device/probes/$probe.cu"
}
cta_timeline() {
  local probe="$1" arch="$2" diag="$3" each="$4"; shift 4
  local out="${OUT:-/tmp/agentforge-out}" args=() defines=() a
  mkdir -p "$out"
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; for a in "$@"; do defines+=("-D$a"); done; break; fi
    args+=("$1"); shift
  done
  build_timeline_probe "$probe" "$arch" "$diag" "$out/$probe" "${defines[@]}" || return 1
  if [ "$each" = 1 ]; then
    # $a unquoted: an argument of several words is several probe arguments.
    # ${PROBE_WRAPPER:-} unquoted: a command of several words, or nothing.
    for a in "${args[@]}"; do ${PROBE_WRAPPER:-} "$out/$probe" $a; echo; done
  else
    ${PROBE_WRAPPER:-} "$out/$probe" "${args[@]}"
  fi | tee -a "$out/$probe.txt"
  rm -f "$out/$probe"
}
