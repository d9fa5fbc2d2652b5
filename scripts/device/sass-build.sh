# Sourced by the SASS scripts (sass-mix.sh, sass-policy-check.sh, recurrent-ab.sh): one baseline's
# kernel.cu built to a cubin and disassembled, with no .device needed.
#   build_sass OUT_STEM TREE DEFINITION ARCH [nvcc flags...]
# writes OUT_STEM.cubin and OUT_STEM.sass (cuobjdump -sass), nvcc's messages in OUT_STEM-nvcc.log;
# on a failed build prints that log's tail and returns 1. TREE: a kernels folder (src/Kernels.Baseline
# or a copy of it) with include/ and the definition's folder; ARCH: sm_90 or sm_90a.
build_sass() {
  local stem="$1" tree="$2" definition="$3" arch="$4"; shift 4
  nvcc -gencode "arch=compute_${arch#sm_},code=$arch" -O3 -std=c++17 -I "$tree/include" "$@" -cubin \
    -o "$stem.cubin" "$tree/$definition/kernel.cu" 2> "$stem-nvcc.log" || { tail -n 20 "$stem-nvcc.log"; return 1; }
  cuobjdump -sass "$stem.cubin" > "$stem.sass"
}
