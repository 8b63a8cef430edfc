"""Benchmark: ``cocity prepare --scope all`` with 1,000 Monte Carlo runs, whole process.

Runs the real command in a child process (loading, cleaning, indicators for every
municipality, treatment, imputation, profiles with bootstrap, 1,000 simulations,
writing) into a new temporary folder each run (``data/processed`` is left alone, and the
map files are built every time) and prints, per repetition, the wall-clock seconds and
the child's peak resident memory (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, one
fresh child per repetition, measured by a small wrapper process so the figure is that
run's own).

Usage::

    .venv/bin/python benchmarks/bench_prepare.py [--repeat 3] [--scope all] [--runs 1000] [--raw DIR]

The official files: ``--raw DIR`` (a folder of fetched files, as ``data/raw``), else the
benchmark fetches them first, untimed, into a temporary folder with ``make data`` (from
``COCITY_DATA_MIRROR`` when it is set), so that it measures every source the project can get
on this machine whatever ``data/raw`` holds. It prints the sources that were missing.
Target (issue 6): at most 10 s and 1 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _sources import fetch_sources, missing_sources

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0
TARGET_MB = 1024.0

# The wrapper runs in its own process: it starts `cocity prepare` as its only child, so that
# RUSAGE_CHILDREN is exactly that run's peak memory, and times it with a monotonic clock.
WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"returncode": code, "wall_s": wall, "peak_mb": peak_kb / 1024}))
"""


def run_once(scope: str, runs: int, mef: Path | None, raw_dir: Path, workdir: Path) -> tuple[dict, Path]:
    processed = Path(tempfile.mkdtemp(prefix="processed_", dir=workdir))
    command = [sys.executable, "-m", "cocity_analysis.cli", "prepare", "--processed", str(processed),
               "--scope", scope]
    if runs != 1000:
        method = workdir / "bench_method.yaml"
        method.write_text(f"monte_carlo_runs: {runs}\n", encoding="utf-8")
        command += ["--method", str(method)]
    if mef is not None:
        command += ["--mef", str(mef)]
    out = subprocess.run([sys.executable, "-c", WRAPPER, *command], cwd=REPO, capture_output=True, text=True,
                         check=True, env={**os.environ, "COCITY_RAW_DIR": str(raw_dir)})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise SystemExit(f"cocity prepare failed (exit {result['returncode']}): {out.stderr}")
    return result, processed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default %(default)s)")
    parser.add_argument("--scope", choices=["cms", "all"], default="all")
    parser.add_argument("--runs", type=int, default=1000, help="Monte Carlo runs (default %(default)s)")
    parser.add_argument("--mef", default=None, help="official MEF zip (default: the newest in the raw folder)")
    parser.add_argument("--raw", default=None,
                        help="folder of the fetched official files (default: fetched now by `make data`)")
    args = parser.parse_args(argv)
    mef = Path(args.mef) if args.mef else None
    # as `make setup` does: measured with the package's bytecode current, not compiled in every run
    compileall.compile_dir(REPO / "cocity_analysis", quiet=1)
    results = []
    with tempfile.TemporaryDirectory(prefix="cocity_bench_") as workdir:
        raw_dir = Path(args.raw) if args.raw else Path(workdir) / "raw"
        if not args.raw:
            fetch_sources(raw_dir)
        load = os.getloadavg()
        print(f"cocity prepare --scope {args.scope}, {args.runs} Monte Carlo runs; {os.cpu_count()} cores; "
              f"load average {load[0]:.2f}; official files: {raw_dir}")
        for number in range(1, args.repeat + 1):
            result, processed = run_once(args.scope, args.runs, mef, raw_dir, Path(workdir))
            if number == 1:
                missing = missing_sources(processed / "current")
                print("sources missing (their indicators left out): " + (", ".join(missing) or "none"))
            results.append(result)
            print(f"run {number}: wall {result['wall_s']:.2f} s, peak memory {result['peak_mb']:.0f} MB")
    walls = [r["wall_s"] for r in results]
    peak = max(r["peak_mb"] for r in results)
    # judged on every run, not the best one: the target is what a run takes
    within = sum(wall <= TARGET_SECONDS for wall in walls)
    verdict = "within" if within == len(walls) and peak <= TARGET_MB else "OUTSIDE"
    print(f"best {min(walls):.2f} s, median {statistics.median(walls):.2f} s, worst {max(walls):.2f} s, "
          f"peak {peak:.0f} MB; {within} of {len(walls)} runs within {TARGET_SECONDS:.0f} s "
          f"({verdict} the target of {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
