"""The Monte Carlo ranks each run's areas as the priorities do: by the standardised distance of the area
scores from the reference mean, whatever the normalisation.

Arithmetic z-score and distance-to-best aggregates are unbounded; ``scores.parquet`` min-max rescales
them per area over the reference set. Under the priority rule of issue 10 (standardised distance from
the mean) that affine rescaling cannot change an order, and the test states it. Every run is made
identical (one normalisation, one aggregation, no imputation, no indicator left out, weights pinned by
huge Dirichlet concentrations), so the expected first area of each made-up municipality is computed in
plain pandas and ``share_top`` must be 1 there and 0 elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method import uncertainty
from cocity_analysis.method.choices import Method

AREAS = {"a1": "inclusion_work", "a2": "inclusion_work", "h1": "housing", "h2": "housing", "p1": "poverty"}
DIRECTIONS = {"a1": "more_need", "a2": "less_need", "h1": "more_need", "h2": "more_need", "p1": "less_need"}


def made_up(seed: int, n: int = 30) -> pd.DataFrame:
    """Indicators with very different shapes per area (skewed, uniform, two-valued)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "a1": rng.lognormal(0, 1.0, n), "a2": rng.uniform(0, 1, n),
        "h1": rng.exponential(1.0, n), "h2": rng.normal(0, 1, n) ** 2,
        "p1": rng.uniform(10, 20, n) + 30 * (rng.random(n) < 0.15),
    }, index=[f"m{i:02d}" for i in range(n)])


def plain_normalise(values: pd.DataFrame, normalisation: str) -> pd.DataFrame:
    signs = pd.Series({c: 1.0 if DIRECTIONS[c] == "more_need" else -1.0 for c in values.columns})
    oriented = values * signs
    if normalisation == "zscore":
        return (oriented - oriented.mean()) / oriented.std(ddof=0)
    best = oriented.min()  # distance to the least-need municipality, relative to |best|
    return (oriented - best) / best.abs()


def first_areas(values: pd.DataFrame, normalisation: str, rescale: bool) -> tuple[pd.Series, pd.Series]:
    """First area per municipality and the margin over the second, from plain pandas."""
    normalised = plain_normalise(values, normalisation)
    areas = pd.Series(AREAS)
    aggregated = pd.DataFrame({area: normalised[list(areas[areas == area].index)].mean(axis=1)
                               for area in FOCUS_AREAS if (areas == area).any()})
    if rescale:
        aggregated = (aggregated - aggregated.min()) / (aggregated.max() - aggregated.min()) * 100
    # the priority rule (issue 10): each area by the standardised distance from the reference mean
    aggregated = (aggregated - aggregated.mean()) / aggregated.std(ddof=0)
    ordered = np.sort(aggregated.to_numpy(), axis=1)
    return aggregated.idxmax(axis=1), pd.Series(ordered[:, -1] - ordered[:, -2], index=values.index)


@pytest.mark.parametrize("normalisation", ["zscore", "distance_to_best"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_share_top_ranks_the_rescaled_scores(normalisation, seed):
    values = made_up(seed)
    expected, margin = first_areas(values, normalisation, rescale=True)
    # The standardised distance does not depend on an affine rescaling of an area's scores: the rescaled
    # and the raw aggregates give the same order, so share_top ranks what scores.parquet shows either way.
    unscaled, _ = first_areas(values, normalisation, rescale=False)
    assert expected.tolist() == unscaled.tolist()
    # No near-tie that the pinned weights could flip; exact ties stay exact and go to the first area in
    # FOCUS_AREAS order.
    assert ((margin == 0) | (margin > 1e-4)).all()

    catalogue = pd.DataFrame({"direction": pd.Series(DIRECTIONS), "focus_area": pd.Series(AREAS)})
    method = Method(normalisation=normalisation, aggregation="arithmetic", imputation="none", treatment=False,
                    mc_normalisations=(normalisation,), mc_aggregations=("arithmetic",), mc_imputations=("none",),
                    dirichlet_concentration=1e12, mc_leave_one_out=False, area_weight_concentration=1e12)
    result = uncertainty.monte_carlo(values, catalogue, method, random_state=seed, runs=50)
    share = result.summary.pivot(index="istat_code", columns="focus_area", values="share_top")
    got = share[["inclusion_work", "housing", "poverty"]].idxmax(axis=1)
    assert got.reindex(values.index).tolist() == expected.tolist()
    top = share.to_numpy()[np.arange(len(share)), share.columns.get_indexer(got)]
    np.testing.assert_allclose(top, 1.0)
    assert share["culture_tourism"].isna().all()  # an area without indicators is never ranked
