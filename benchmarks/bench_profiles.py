"""Benchmark: need profiles with scikit-learn, and the bootstrap designs, side by side in one process.

Reads the matrix the profiles are fitted on (the 39 cities' normalised
indicators, ``data/processed/normalised.parquet`` written by ``cocity prepare``;
columns with a gap are left out as in :func:`profiles.cluster`) and times, in
this one process, with BLAS/OpenMP threads limited to 1 as in ``prepare``:

* the profiles: ``KMeans(n_init=100)`` for every k of the diagnostics (2..8),
  with the scikit-learn quality scores;
* the bootstrap (100 resamples, k = 2..8, 10 k-means++ restarts per resample)
  by each engine: ``batch`` (the vectorised fast path, ``profiles.kmeans_batch``),
  ``estimator`` (scikit-learn ``KMeans`` per resample and k) in this process and
  over 2 processes with joblib, and ``estimator`` at the chosen k only;
* the mean bootstrap ARI at the chosen k that each design measures.

Usage::

    .venv/bin/python benchmarks/bench_profiles.py [--repeat 3] [--runs 100]

The budget it is judged against: the whole ``cocity prepare --scope all`` must
stay within 10 s on 2 cores (``bench_prepare.py``), of which the profiles used
about 0.4 s before scikit-learn; a design whose profiles stage
takes more than 1 s (fit + bootstrap) leaves too little for the rest and misses it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGET_S = 1.0  # seconds for the profiles stage (fit + bootstrap) that keep prepare within its 10 s


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from cocity_analysis import config
    from cocity_analysis.method import profiles

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100, help="bootstrap resamples (default %(default)s)")
    parser.add_argument("--processed", default=str(config.PROCESSED_DIR))
    args = parser.parse_args(argv)
    source = Path(args.processed) / "normalised.parquet"
    if not source.exists():
        raise SystemExit(f"{source} not found: run `cocity prepare` first")
    inputs, dropped = profiles.complete_columns(pd.read_parquet(source))
    matrix = inputs.to_numpy(dtype="float64")
    ks = list(range(2, 9))
    load = os.getloadavg()
    print(f"profiles on {inputs.shape[0]} cities x {inputs.shape[1]} indicators; {os.cpu_count()} cores; "
          f"load average {load[0]:.2f}; median of {args.repeat}")
    warnings.simplefilter("ignore")  # KMeans warns when a resample has fewer distinct rows than k
    rows = []
    with threadpool_limits(limits=1):
        seconds, fitted = timed(lambda: profiles.fit_partitions(matrix, "kmeans", ks, 0), args.repeat)
        quality = [profiles.partition_quality(matrix, fitted[k][0])["silhouette"] for k in ks]
        chosen = ks[int(np.nanargmax(quality[:5]))]
        rows.append(("profiles: KMeans(n_init=100), k=2..8, + scores", seconds, None))
        partitions = {k: fitted[k][0] for k in ks}
        designs = [
            ("bootstrap batch fast path, k=2..8", dict(engine="batch"), partitions),
            ("bootstrap KMeans(n_init=10), k=2..8, 1 process", dict(engine="estimator", n_jobs=1), partitions),
            ("bootstrap KMeans(n_init=10), k=2..8, joblib 2 processes", dict(engine="estimator", n_jobs=2),
             partitions),
            (f"bootstrap KMeans(n_init=10), chosen k={chosen} only, 1 process", dict(engine="estimator", n_jobs=1),
             {chosen: partitions[chosen]}),
        ]
        for name, options, parts in designs:
            seconds, boot = timed(lambda: profiles.bootstrap_stability(
                inputs, parts, chosen, runs=args.runs, random_state=0, **options), args.repeat)
            ari = float(boot.per_k.set_index("k").loc[chosen, "ari_mean"])
            rows.append((name, seconds, ari))
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, ari in rows:
        extra = "" if ari is None else f"   mean ARI at k={chosen}: {ari:.3f}"
        print(f"{name:<{width}}  {seconds:6.2f} s{extra}")
    fit = rows[0][1]
    for name, seconds, _ in rows[1:]:
        verdict = "within" if fit + seconds <= BUDGET_S else "OUTSIDE"
        print(f"profiles + {name}: {fit + seconds:.2f} s ({verdict} the {BUDGET_S:.0f} s budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
