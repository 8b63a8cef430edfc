"""Benchmark: all city reports with ``cocity report --all`` against the naive way, in the same run.

The naive way is a shell loop calling ``papermill`` then ``jupyter nbconvert`` per city (a fresh
kernel and two fresh Python processes per report). By default it runs for a few cities and the
time is extrapolated to all of them (``--naive-cities N``, stated in the output); ``--naive-all``
runs it for every city. The batch run is the real command, timed from outside as a user would:
all cities plus ``overview.html``, ``index.html`` and ``manifest.json``.

    .venv/bin/python benchmarks/bench_reports.py                 # fetch (make data) and prepare into a temp dir first
    .venv/bin/python benchmarks/bench_reports.py --processed data/processed --naive-all

Prints the seconds of both, the ratio, the largest HTML and the machine load. Targets (issue 3):
batch at most 20 s wall on 2 cores, at least 8x faster than the naive loop, each HTML <= 2 MB.
The map assets are built before timing (``cocity prepare`` is meant to build them; until it
does, the first report run builds them once, about 3 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sources import fetch_sources, missing_sources

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(command: str, env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {command}\n{done.stderr[-2000:]}")
    return seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processed", help="processed dir (default: `cocity prepare` into a temp dir, not timed)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels of the batch run (default 2)")
    parser.add_argument("--naive-cities", type=int, default=4, help="cities for the naive loop, extrapolated")
    parser.add_argument("--naive-all", action="store_true", help="run the naive loop for every city")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (reports, notebooks)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cocity-bench-"))
    try:
        return _bench(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def _bench(args, work: Path) -> int:

    sys.path.insert(0, str(ROOT))
    from cocity_analysis import config
    from cocity_analysis.reporting import maps as report_maps

    env = dict(os.environ)
    if args.processed:
        processed = Path(args.processed).resolve()
    else:
        processed = work / "processed"
        env = fetch_sources(work / "raw")
        print(f"preparing {processed} (not timed) ...", flush=True)
        _run(f"{BIN}/cocity prepare --processed {shlex.quote(str(processed))}", env)
    from cocity_analysis import datasets

    processed = datasets.open_dataset(processed).path  # the concrete dataset folder (`current` resolved)
    print("sources missing (their indicators left out): " + (", ".join(missing_sources(processed)) or "none"))
    report_maps.ensure_map_assets(processed)

    import pandas as pd

    codes = [str(c) for c in pd.read_parquet(processed / "cities.parquet").index]
    naive_codes = codes if args.naive_all else codes[: max(1, args.naive_cities)]
    notebook = ROOT / "notebooks" / "city_report.ipynb"
    naive_out = work / "naive"
    naive_out.mkdir()
    loop = "; ".join(
        f"{BIN}/papermill -k {config.KERNEL_NAME} --cwd {shlex.quote(str(notebook.parent))} --no-progress-bar "
        f"-r city_code {code} -r lang it -r processed_dir {shlex.quote(str(processed))} "
        f"{shlex.quote(str(notebook))} {naive_out}/{code}.ipynb && "
        f"{BIN}/jupyter nbconvert --to html --no-input --log-level=ERROR {naive_out}/{code}.ipynb"
        for code in naive_codes)
    load_before = os.getloadavg()
    cpu0 = _children_cpu()
    naive_seconds = _run(f"set -e; {loop}", env)
    naive_cpu = _children_cpu() - cpu0
    per_report = naive_seconds / len(naive_codes)
    naive_total = per_report * len(codes)

    out = work / "reports"
    cpu0 = _children_cpu()
    batch_seconds = _run(f"{BIN}/cocity report --all --processed {shlex.quote(str(processed))} --out {out} "
                         f"--jobs {args.jobs}", env)
    batch_cpu = _children_cpu() - cpu0
    load_after = os.getloadavg()

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    htmls = sorted((p.stat().st_size, p.name) for p in [*(out / "cities").glob("*.html"), out / "overview.html",
                                                        out / "index.html"])
    failed = [k for k, v in manifest["reports"].items() if v["status"] == "failed"]
    naive_note = "all cities" if args.naive_all else f"{len(naive_codes)} cities, extrapolated to {len(codes)}"
    print(f"naive loop (papermill + jupyter nbconvert per city; {naive_note}): "
          f"{per_report:.2f} s per report -> {naive_total:.1f} s for {len(codes)} reports "
          f"(measured {naive_seconds:.1f} s, CPU {naive_cpu:.1f} s)")
    print(f"cocity report --all --jobs {args.jobs}: {batch_seconds:.1f} s wall for {len(codes)} reports + overview + "
          f"index (CPU {batch_cpu:.1f} s; {manifest['last_run']['summary']})")
    print(f"ratio: {naive_total / batch_seconds:.1f}x faster")
    print(f"largest HTML: {htmls[-1][1]} {htmls[-1][0] / 1e6:.2f} MB; city reports "
          f"{min(s for s, n in htmls if n[0].isdigit()) / 1e3:.0f}-{max(s for s, n in htmls if n[0].isdigit()) / 1e3:.0f} kB")
    print(f"load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f} on {os.cpu_count()} cores")
    if failed:
        print(f"FAILED reports: {failed}")
    ok = not failed and htmls[-1][0] <= 2 * 1024 * 1024
    print(f"targets: <= 20 s {'ok' if batch_seconds <= 20 else 'MISSED'}; >= 8x "
          f"{'ok' if naive_total / batch_seconds >= 8 else 'MISSED'}; <= 2 MB {'ok' if htmls[-1][0] <= 2 * 1024 * 1024 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
