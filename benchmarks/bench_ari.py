"""Benchmark: the bootstrap's adjusted Rand indices, scikit-learn's and the batch, side by side in one process.

The bootstrap of ``cocity prepare`` (100 resamples x k = 2..8) scores 700
resampled partitions against the full-data ones, each on the distinct cities
of its resample (about 25 of the 39). This script builds 700 such pairs of the
same shape (seeded: 39 cities drawn with replacement, labels 0..k-1, half of
each resampled partition agreeing with the reference) and times, median of
``--repeat``:

* ``sklearn.metrics.adjusted_rand_score`` once per pair (as the bootstrap did),
  also inside ``sklearn.config_context(skip_parameter_validation=True)``;
* ``profiles.adjusted_rand_batch`` on all pairs at once (the fast path);

and checks that both give the same values (maximum absolute difference).

Usage::

    .venv/bin/python benchmarks/bench_ari.py [--repeat 3] [--pairs 700]

The budget it is judged against: the whole ``cocity prepare --scope all`` must
stay within 10 s on 2 cores (``bench_prepare.py``); the scores are a small part
of the bootstrap, which with the profiles has about 1 s (``bench_profiles.py``),
so an ARI design taking more than 0.2 s for the 700 scores misses it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_profiles import timed  # noqa: E402  (same folder: run as a script)

BUDGET_S = 0.2  # seconds for the 700 scores of the bootstrap


def bootstrap_like_pairs(pairs: int, cities: int, random_state: int) -> tuple[list, list]:
    """``pairs`` (reference, resampled) label vectors shaped like the bootstrap's."""
    import numpy as np

    rng = np.random.default_rng(random_state)
    references, labelings = [], []
    for number in range(pairs):
        k = 2 + number % 7
        distinct = len(np.unique(rng.integers(cities, size=cities)))
        reference = rng.integers(0, k, size=distinct)
        resampled = rng.integers(0, k, size=distinct)
        resampled[: distinct // 2] = (reference[: distinct // 2] + 1) % k  # agreeing up to renaming
        references.append(reference)
        labelings.append(resampled)
    return references, labelings


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import sklearn
    from sklearn.metrics import adjusted_rand_score

    from cocity_analysis.method import profiles

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=700, help="pairs of partitions (default %(default)s)")
    args = parser.parse_args(argv)
    references, labelings = bootstrap_like_pairs(args.pairs, 39, random_state=0)
    load = os.getloadavg()
    print(f"{args.pairs} adjusted Rand indices of bootstrap-shaped partitions; {os.cpu_count()} cores; "
          f"load average {load[0]:.2f}; median of {args.repeat}")

    def per_call():
        return np.array([adjusted_rand_score(a, b) for a, b in zip(references, labelings)])

    def per_call_unchecked():
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            return per_call()

    rows = []
    seconds, expected = timed(per_call, args.repeat)
    rows.append(("sklearn adjusted_rand_score, one call per pair", seconds, expected))
    seconds, values = timed(per_call_unchecked, args.repeat)
    rows.append(("same, skip_parameter_validation=True", seconds, values))
    seconds, values = timed(lambda: profiles.adjusted_rand_batch(references, labelings), args.repeat)
    rows.append(("profiles.adjusted_rand_batch, all pairs at once", seconds, values))
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, values in rows:
        verdict = "within" if seconds <= BUDGET_S else "OUTSIDE"
        difference = float(np.max(np.abs(values - expected)))
        print(f"{name:<{width}}  {seconds:6.3f} s  max |difference| {difference:.1e}  "
              f"({verdict} the {BUDGET_S:.1f} s budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
