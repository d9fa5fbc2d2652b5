#!/usr/bin/env python3
"""Checks the C++ of the baseline kernels (names, types, templates) with the host compiler, on a
machine without nvcc: every kernel.cu goes through `g++ -fsyntax-only` against the stand-in CUDA
headers in cuda-stubs/, in three passes (host code, device code for sm_90, device code for
sm_90a with __CUDA_ARCH_FEAT_SM90_ALL), with launches (<<<...>>>) turned into plain calls.

It catches what a CPU-only session can break in a kernel edit before a GPU call spends minutes
on it; it does not check PTX in asm statements, register use or anything nvcc alone knows.

  python3 scripts/dev/kernel_syntax.py                      every baseline, default settings
  python3 scripts/dev/kernel_syntax.py moe --all-values     every declared value of every
                                                            @tunable / @diagnostic, one at a time
  python3 scripts/dev/kernel_syntax.py moe -D MOE_WGMMA_STAGES=3
  python3 scripts/dev/kernel_syntax.py --file scripts/device/probes/wgmma_pipeline_probe.cu
Exit status 1 when any pass fails (its first errors are printed), 2 when g++ is missing.
"""
import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASELINES = ROOT / "src" / "Kernels.Baseline"
STUBS = pathlib.Path(__file__).resolve().parent / "cuda-stubs"
# The C# declaration parser's grammar (src/Tools/Build/Tunable*.cs): a condition is 'when NAME=V1|V2'.
DECLARATION = re.compile(r"^\s*//\s*@(?:tunable|diagnostic)\s+([A-Za-z_]\w*)\s*:\s*([^()]+?)\s*(?:\(\s*default\s+[^)\s]+\s*\))?(?:\s+when\s+[A-Za-z_]\w*\s*=\s*[^\s|]+(?:\s*\|\s*[^\s|]+)*)?\s*$")
LAUNCH = re.compile(r"<<<.*?>>>", re.S)
PASSES = {
    "host": [],
    "sm_90": ["-D__CUDA_ARCH__=900"],
    "sm_90a": ["-D__CUDA_ARCH__=900", "-D__CUDA_ARCH_FEAT_SM90_ALL"],
}


def declared_values(folder):
    """NAME -> allowed values of every @tunable / @diagnostic declaration in the folder's sources."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".cu", ".cuh", ".h"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = DECLARATION.match(line)
            if m:
                found[m.group(1)] = [v.strip() for v in m.group(2).split(",") if v.strip()]
            elif re.match(r"^\s*//\s*@(?:tunable|diagnostic)\b", line):
                # The harness refuses the whole kernel over such a line: fail here, not on the GPU.
                sys.exit(f"{path.name}:{number}: malformed declaration (expected '// @tunable NAME: v1, v2 (default v) [when NAME=V1|V2]'): {line.strip()}")
    return found


def stage(sources, work):
    """Copies the sources into work with every launch configuration removed."""
    for path in sources:
        text = path.read_text()
        (work / path.name).write_text(LAUNCH.sub("", text))


# A probe builds a baseline in: #include "<relative path>/Kernels.Baseline/<definition>/kernel.cu".
BASELINE_INCLUDE = re.compile(r'^(\s*#\s*include\s+")[^"]*Kernels\.Baseline/([^/"]+)/kernel\.cu(")', re.M)


def stage_probe(path, work):
    """Stages one .cu file (a probe) into work; a baseline it includes is staged too, into
    work/<definition>/ with its launch configurations removed, and the include points there."""
    text = path.read_text()
    for definition in sorted(set(m.group(2) for m in BASELINE_INCLUDE.finditer(text))):
        folder = BASELINES / definition
        if not (folder / "kernel.cu").exists():
            sys.exit(f"{path.name}: includes the kernel of an unknown baseline '{definition}'")
        (work / definition).mkdir()
        stage([p for p in folder.iterdir() if p.suffix in (".cu", ".cuh", ".h")], work / definition)
    text = BASELINE_INCLUDE.sub(lambda m: f"{m.group(1)}{m.group(2)}/kernel.cu{m.group(3)}", text)
    (work / path.name).write_text(LAUNCH.sub("", text))


def check(entry, include_dirs, defines, pass_flags):
    # -D__CUDACC__: nvcc defines it for every .cu it compiles (host and device passes alike).
    command = ["g++", "-std=c++17", "-fsyntax-only", "-x", "c++", "-D__CUDACC__", f"-I{STUBS}"]
    command += [f"-I{d}" for d in include_dirs] + pass_flags + [f"-D{d}" for d in defines] + [str(entry)]
    result = subprocess.run(command, capture_output=True, text=True)
    errors = [l for l in result.stderr.splitlines() if " error" in l or "fatal error" in l]
    return result.returncode == 0, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("definitions", nargs="*", help="baseline folders, or parts of their names (default: all)")
    parser.add_argument("--all-values", action="store_true", help="also every declared value of every parameter, one at a time")
    parser.add_argument("-D", dest="defines", action="append", default=[], help="NAME=V for every pass (repeatable)")
    parser.add_argument("--file", help="check this one .cu file instead of the baselines")
    args = parser.parse_args()
    if shutil.which("g++") is None:
        print("g++ not found: this check needs a host C++ compiler")
        return 2

    jobs = []  # (label, folder with sources, entry file name, extra include dirs, settings)
    if args.file:
        path = pathlib.Path(args.file).resolve()
        # A probe may include the shared headers beside agentforge.h, as the baselines do.
        jobs.append((path.name, path.parent, path.name, [BASELINES / "include"], [[]]))
    else:
        folders = sorted(p for p in BASELINES.iterdir() if (p / "kernel.cu").exists())
        if args.definitions:
            folders = [f for f in folders if any(d in f.name for d in args.definitions)]
        for folder in folders:
            settings = [[]]
            if args.all_values:
                for name, values in declared_values(folder).items():
                    settings += [[f"{name}={v}"] for v in values]
            jobs.append((folder.name, folder, "kernel.cu", [BASELINES / "include"], settings))

    failures = 0
    for label, folder, entry, includes, settings in jobs:
        with tempfile.TemporaryDirectory() as tmp:
            work = pathlib.Path(tmp)
            stage([p for p in folder.iterdir() if p.suffix in (".cu", ".cuh", ".h") and p.name != entry], work)
            if args.file:
                stage_probe(folder / entry, work)
            else:
                stage([folder / entry], work)
            staged_includes = []
            for include in includes:
                target = work / ("include_" + include.name)
                target.mkdir()
                stage([p for p in include.iterdir() if p.suffix in (".cu", ".cuh", ".h")], target)
                staged_includes.append(target)
            for setting in settings:
                defines = args.defines + setting
                for pass_name, flags in PASSES.items():
                    ok, errors = check(work / entry, [work] + staged_includes, defines, flags)
                    name = f"{label} [{', '.join(defines) or 'defaults'}] {pass_name}"
                    if ok:
                        print(f"ok    {name}")
                    else:
                        failures += 1
                        print(f"FAIL  {name}")
                        for line in errors[:6]:
                            print("      " + line.replace(str(work) + "/", ""))
    print(f"{failures} failing pass(es)" if failures else "all passes ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
