"""How fast notebooks/explore.ipynb reacts to a control: recompute + redraw per change, on the 39.

Usage::

    .venv/bin/python benchmarks/bench_explore.py [--processed data/processed] [--changes 20]

For each control it makes ``--changes`` changes in a row, as a user would, and
times :func:`cocity_analysis.exploration.explore.build_view` (recompute with the caches of a
session, then draw every figure whose inputs changed and render it to SVG, plus
the priority table) — everything the kernel does before sending the views to the
browser. "cold" repeats the same changes with every cache emptied and every
figure redrawn (the worst case: a state never seen before in the session).
Prints the median (and 90th percentile) per control and over all changes.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

from cocity_analysis import FOCUS_AREAS, config
from cocity_analysis.exploration import explore


def control_changes(state: explore.ExploreState, n: int) -> dict[str, list[tuple]]:
    """``{control: [(method, city), ...]}``: ``n`` successive changes of one control each."""
    method = state.method
    city = state.city_options()[0][1]
    codes = [code for _, code in state.city_options()]
    areas = [a for a in FOCUS_AREAS if a in set(state.catalogue.loc[state.catalogue["available"], "focus_area"])]
    weights = [round(0.15 * (i + 1), 2) for i in range(n)]
    choices = explore.supported_choices()
    ks = itertools.cycle(list(explore.K_CHOICES) + [None])
    indicators = [i for i, _, _ in state.indicator_options()]
    toggles = itertools.cycle([(i, off) for i in indicators for off in (True, False)])
    changes = {
        "city": [(method, codes[(i + 1) % len(codes)]) for i in range(n)],
        "area weight": [(method.replace(area_weights={**method.area_weights, areas[i % len(areas)]: weights[i]}),
                         city) for i in range(n)],
        "normalisation": [(method.replace(normalisation=choices["normalisation"][(i + 1) % len(
            choices["normalisation"])]), city) for i in range(n)],
        "k": [(method.replace(k=next(ks)), city) for _ in range(n)],
        "indicator on/off": [],
    }
    for _ in range(n):
        indicator, off = next(toggles)
        excluded = (indicator,) if off else ()
        changes["indicator on/off"].append((method.replace(excluded_indicators=excluded), city))
    if len(choices["aggregation"]) > 1:
        changes["aggregation"] = [(method.replace(aggregation=choices["aggregation"][(i + 1) % len(
            choices["aggregation"])]), city) for i in range(n)]
    return changes


def time_changes(state, changes, cold: bool) -> list[float]:
    view = explore.build_view(state, state.method, changes[0][1])
    seconds = []
    for method, city in changes:
        if cold:
            state.analyses.clear()
            state.clusterings.clear()
            view = None
        start = time.perf_counter()
        view = explore.build_view(state, method, city, previous=view)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processed", default=str(config.PROCESSED_DIR), help="processed folder (default %(default)s)")
    parser.add_argument("--changes", type=int, default=20, help="changes per control (default %(default)s)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    state = explore.ExploreState.from_processed(Path(args.processed))
    state.geometry()
    explore.build_view(state, state.method, state.city_options()[0][1])
    startup = time.perf_counter() - start
    print(f"cocity explore benchmark: {len(state.cities)} cities, {state.values.shape[1]} indicators, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"Monte Carlo runs per recompute {state.monte_carlo_runs}")
    print(f"start-up (load tables and map, first analysis and drawing): {startup:.2f} s")
    print(f"{'control':<18}{'median (s)':>12}{'p90 (s)':>10}{'cold median (s)':>18}")
    every, every_cold = [], []
    for control, changes in control_changes(state, args.changes).items():
        warm = time_changes(state, changes, cold=False)
        cold = time_changes(state, changes, cold=True)
        every += warm
        every_cold += cold
        p90 = statistics.quantiles(warm, n=10)[-1] if len(warm) > 1 else warm[0]
        print(f"{control:<18}{statistics.median(warm):>12.3f}{p90:>10.3f}{statistics.median(cold):>18.3f}")
    print(f"{'all changes':<18}{statistics.median(every):>12.3f}"
          f"{statistics.quantiles(every, n=10)[-1]:>10.3f}{statistics.median(every_cold):>18.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
