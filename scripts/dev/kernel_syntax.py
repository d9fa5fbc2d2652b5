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

Speed (--all-values is ~900 compiles): the passes run in parallel, one per core; the system
headers the sources include (<...>) are precompiled once per pass, so each compile parses only the
kernel; and a declared value equal to the parameter's declared default is not compiled again (it
is the [defaults] setting). The precompiled header holds every <...> header of the folder, so the
defaults compile without it: a source that forgets an include its siblings have fails there.
"""
import argparse
import concurrent.futures
import os
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
DECLARATION = re.compile(r"^\s*//\s*@(?:tunable|diagnostic)\s+([A-Za-z_]\w*)\s*:\s*([^()]+?)\s*(?:\(\s*default\s+([^)\s]+)\s*\))?(?:\s+when\s+[A-Za-z_]\w*\s*=\s*[^\s|]+(?:\s*\|\s*[^\s|]+)*)?\s*$")
LAUNCH = re.compile(r"<<<.*?>>>", re.S)
PASSES = {
    "host": [],
    "sm_90": ["-D__CUDA_ARCH__=900"],
    "sm_90a": ["-D__CUDA_ARCH__=900", "-D__CUDA_ARCH_FEAT_SM90_ALL"],
}
# -D__CUDACC__: nvcc defines it for every .cu it compiles (host and device passes alike).
COMMON_FLAGS = ["-std=c++17", "-D__CUDACC__", f"-I{STUBS}"]
SYSTEM_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>", re.M)
# Building the three headers costs about as much as four compiles of a kernel per pass: below
# that many settings, the compiles parse the headers themselves.
PRECOMPILE_MIN_SETTINGS = 4


def declared_values(folder):
    """NAME -> (allowed values, declared default or None) of every @tunable / @diagnostic
    declaration in the folder's sources."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".cu", ".cuh", ".h"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = DECLARATION.match(line)
            if m:
                found[m.group(1)] = ([v.strip() for v in m.group(2).split(",") if v.strip()], m.group(3))
            elif re.match(r"^\s*//\s*@(?:tunable|diagnostic)\b", line):
                # The harness refuses the whole kernel over such a line: fail here, not on the GPU.
                sys.exit(f"{path.name}:{number}: malformed declaration (expected '// @tunable NAME: v1, v2 (default v) [when NAME=V1|V2]'): {line.strip()}")
    return found


def settings_to_check(folder, all_values):
    """The defaults, then (with all_values) every declared value other than its declared default,
    one parameter at a time."""
    settings = [[]]
    if all_values:
        for name, (values, default) in declared_values(folder).items():
            settings += [[f"{name}={v}"] for v in values if v != default]
    return settings


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


def precompile_system_headers(work, include_dirs):
    """One precompiled header per pass (built in parallel) holding every <...> header the staged
    sources include, so that each compile after it parses only the kernel. Returns pass name ->
    header to force-include (None for a pass whose precompile failed: its compiles then parse the
    headers themselves)."""
    headers = sorted(set(h for path in work.rglob("*") if path.suffix in (".cu", ".cuh", ".h")
                         for h in SYSTEM_INCLUDE.findall(path.read_text())))

    def precompile(pass_name):
        folder = work / f"pch_{pass_name}"
        folder.mkdir()
        header = folder / "system_headers.h"
        header.write_text("".join(f"#include <{h}>\n" for h in headers))
        command = ["g++", *COMMON_FLAGS, "-x", "c++-header", *[f"-I{d}" for d in include_dirs], *PASSES[pass_name],
                   str(header), "-o", str(header) + ".gch"]
        return header if subprocess.run(command, capture_output=True).returncode == 0 else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(PASSES)) as pool:
        return dict(zip(PASSES, pool.map(precompile, PASSES)))


def check(entry, include_dirs, defines, pass_flags, forced_header):
    command = ["g++", *COMMON_FLAGS, "-fsyntax-only", "-x", "c++"]
    if forced_header is not None:
        # -Winvalid-pch: a header g++ cannot use is a warning, and the compile parses it instead.
        command += ["-Winvalid-pch", "-include", str(forced_header)]
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
    parser.add_argument("--baselines", type=pathlib.Path, default=BASELINES,
                        help="folder of baseline folders (default: src/Kernels.Baseline; its include/ is on the path)")
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
        shared_includes = [d for d in [args.baselines / "include"] if d.is_dir()]
        folders = sorted(p for p in args.baselines.iterdir() if (p / "kernel.cu").exists())
        if args.definitions:
            folders = [f for f in folders if any(d in f.name for d in args.definitions)]
        for folder in folders:
            jobs.append((folder.name, folder, "kernel.cu", shared_includes, settings_to_check(folder, args.all_values)))

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
            include_dirs = [work] + staged_includes
            forced = (precompile_system_headers(work, include_dirs) if len(settings) >= PRECOMPILE_MIN_SETTINGS
                      else dict.fromkeys(PASSES))
            # The defaults compile without the precompiled header, so that a source missing an include
            # its siblings have fails there as it would under nvcc.
            compiles = [(args.defines + setting, pass_name, flags, forced[pass_name] if setting else None)
                        for setting in settings for pass_name, flags in PASSES.items()]
            with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                results = pool.map(lambda c: check(work / entry, include_dirs, c[0], c[2], c[3]), compiles)
                # In submission order, so the output reads as the serial loop's did.
                for (defines, pass_name, _, _), (ok, errors) in zip(compiles, results):
                    name = f"{label} [{', '.join(defines) or 'defaults'}] {pass_name}"
                    if ok:
                        print(f"ok    {name}", flush=True)
                    else:
                        failures += 1
                        print(f"FAIL  {name}", flush=True)
                        for line in errors[:6]:
                            print("      " + line.replace(str(work) + "/", ""))
    print(f"{failures} failing pass(es)" if failures else "all passes ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
