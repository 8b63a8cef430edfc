"""Benchmark: kNN imputation over every municipality, scikit-learn's ``KNNImputer`` and the shortcut, side by side.

``cocity prepare --scope all`` imputes the need indicators of about 7,900
municipalities (donors: the complete rows) for its Monte Carlo's ``knn`` variant.
This script takes the same matrix from a prepared dataset
(``all_indicators.parquet``, the catalogue's need indicators, standardised as
:func:`cocity_analysis.method.imputation.impute` does) and times, median of
``--repeat``, in one process:

* ``KNNImputer(n_neighbors=5).fit(donors).transform(receivers)`` (64 MB distance blocks, as in ``prepare``);
* ``imputation.knn_complete_donors`` (one neighbour search per receiver instead of one per missing column);

and checks that both give the same bytes.

Usage::

    .venv/bin/python benchmarks/bench_knn.py [--processed data/processed] [--repeat 5]

The budget it is judged against: the whole ``cocity prepare --scope all`` must stay
within 10 s on 2 cores (``bench_prepare.py``), and the imputation runs on the critical
path before the simulations start; more than 0.3 s for it misses that budget.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_profiles import timed  # noqa: E402  (same folder: run as a script)

BUDGET_S = 0.3  # seconds for the imputation of every municipality


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.impute import KNNImputer

    from cocity_analysis import config, datasets
    from cocity_analysis.method import imputation, indicators

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--neighbours", type=int, default=5)
    args = parser.parse_args(argv)

    folder, _ = datasets.resolve(args.processed)
    table = folder / "all_indicators.parquet"
    if not table.is_file():
        print(f"{table} not found: run `cocity prepare --scope all` first", file=sys.stderr)
        return 2
    values = pd.read_parquet(table)
    if "istat_code" in values.columns:
        values = values.set_index("istat_code")
    catalogue = indicators.load_catalogue()
    matrix = values[indicators.need_ids(catalogue, values.columns)].to_numpy(dtype="float64")
    matrix = matrix[:, np.isfinite(matrix).any(axis=0)]
    observed = np.isfinite(matrix)
    std = np.nanstd(matrix, axis=0)
    scaled = (matrix - np.nanmean(matrix, axis=0)) / np.where(std > 0, std, 1.0)
    donors = scaled[observed.all(axis=1)]
    receivers = scaled[~observed.all(axis=1) & observed.any(axis=1)]
    k = min(args.neighbours, len(donors))
    print(f"{len(receivers)} municipalities to fill from {len(donors)} complete ones, "
          f"{matrix.shape[1]} need indicators, k = {k}")

    with sklearn.config_context(working_memory=64):
        library_s, library = timed(lambda: KNNImputer(n_neighbors=k, keep_empty_features=True)
                                   .fit(donors).transform(receivers), args.repeat)
        shortcut_s, shortcut = timed(lambda: imputation.knn_complete_donors(donors, receivers, k), args.repeat)
    same = shortcut is not None and shortcut.tobytes() == library.tobytes()
    print(f"KNNImputer          {library_s:6.3f} s ({'within' if library_s <= BUDGET_S else 'OUTSIDE'} "
          f"the {BUDGET_S} s budget)")
    print(f"knn_complete_donors {shortcut_s:6.3f} s ({'within' if shortcut_s <= BUDGET_S else 'OUTSIDE'} "
          f"the {BUDGET_S} s budget), {library_s / shortcut_s:.1f}x; same bytes: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
