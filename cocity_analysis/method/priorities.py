"""Per-city ranking of the four focus areas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cocity_analysis import FOCUS_AREAS


def rank_areas(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank each city's focus areas by score, 1 = highest need.

    Areas without a score get no rank (<NA>), never a last place. Ties keep
    the fixed order of :data:`cocity_analysis.FOCUS_AREAS`, so the result is
    deterministic.

    Parameters
    ----------
    scores : DataFrame
        Cities (index ``istat_code``) x focus areas.

    Returns
    -------
    DataFrame
        Long table with ``istat_code``, ``focus_area``, ``rank`` (Int64) and
        ``score``, sorted by code and rank.

    Examples
    --------
    >>> s = pd.DataFrame({"inclusion_work": [10.0], "housing": [30.0], "poverty": [20.0],
    ...                   "culture_tourism": [None]}, index=pd.Index(["077014"], name="istat_code"))
    >>> ranked = rank_areas(s)
    >>> ranked["focus_area"].tolist()
    ['housing', 'poverty', 'inclusion_work', 'culture_tourism']
    >>> ranked["rank"].tolist()
    [1, 2, 3, <NA>]
    """
    ordered = scores.reindex(columns=list(FOCUS_AREAS))
    ranks = ordered.rank(axis=1, method="first", ascending=False).astype("Int64")
    long = (
        ordered.rename_axis("istat_code").reset_index()
        .melt(id_vars="istat_code", var_name="focus_area", value_name="score")
    )
    long["rank"] = pd.array(ranks.rename_axis("istat_code").reset_index().melt(
        id_vars="istat_code", var_name="focus_area", value_name="rank")["rank"], dtype="Int64")
    long["area_order"] = long["focus_area"].map({a: i for i, a in enumerate(FOCUS_AREAS)})
    long = long.sort_values(["istat_code", "rank", "area_order"], na_position="last")
    return long[["istat_code", "focus_area", "rank", "score"]].reset_index(drop=True)


# ---------------------------------------------------------------------------
# The priority rule: areas compared on a common scale (issue 10)
# ---------------------------------------------------------------------------
#
# Each area's 0-100 score is min-max scaled on its own, and the areas' means differ across the
# reference set (e.g. poverty 54, housing 33 on the 39): comparing a city's scores across areas
# mostly compares the areas' scales. The rule compares like with like: per area, a city's
# standardised distance from the reference mean, (score - mean) / standard deviation, both over
# the reference set (the 39, or every municipality with --scope all). 0 = as the reference mean,
# +1 = one standard deviation more need than the mean. Areas are ordered by that distance; area
# weights scale it (a weight of 2 doubles a distance above the mean and halves one below it, so a
# weight never moves an area across the mean).

DISTANCE_COLUMN = "distance"


def standardised_distance(scores: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per area, ``(score - reference mean) / reference standard deviation`` (population sd).

    Parameters
    ----------
    scores : DataFrame
        Cities x focus areas (0-100, NaN = no score).
    reference : DataFrame, optional
        The reference set's scores (default ``scores`` itself); means and
        standard deviations are over its rows with a score.

    Returns
    -------
    DataFrame
        Like ``scores``; NaN where there is no score or the area does not vary.

    Examples
    --------
    >>> s = pd.DataFrame({"poverty": [40.0, 60.0, 80.0], "housing": [10.0, 20.0, 30.0]})
    >>> standardised_distance(s).round(3).to_dict("list")
    {'poverty': [-1.225, 0.0, 1.225], 'housing': [-1.225, 0.0, 1.225]}
    """
    reference = scores if reference is None else reference
    mean = reference.mean(axis=0)
    sd = reference.std(axis=0, ddof=0)
    sd = sd.where(sd > 0)
    return (scores - mean.reindex(scores.columns)) / sd.reindex(scores.columns)


def weighted_distance(distance, area_weights):
    """Area weights applied to a distance without moving it across the mean: ``d x w`` above the
    mean, ``d / w`` below (works on DataFrames and numpy arrays; weight 0 = area not ranked).

    >>> import numpy as np
    >>> weighted_distance(np.array([1.0, -1.0, 0.5]), np.array([2.0, 2.0, 1.0])).tolist()
    [2.0, -0.5, 0.5]
    """
    import numpy as np

    w = np.asarray(area_weights, dtype="float64") if not isinstance(area_weights, pd.Series) else area_weights
    with np.errstate(divide="ignore", invalid="ignore"):
        above = distance * w
        below = distance / w
        out = np.where(np.asarray(distance) >= 0, above, below)
        out = np.where(np.asarray(w) > 0, out, np.nan)
    if isinstance(distance, pd.DataFrame):
        return pd.DataFrame(out, index=distance.index, columns=distance.columns)
    return out


def rank_relative(scores: pd.DataFrame, reference: pd.DataFrame | None = None,
                  area_weights: dict | None = None) -> pd.DataFrame:
    """Rank each city's areas by their standardised distance from the reference mean (1 = furthest above).

    Parameters
    ----------
    scores : DataFrame
        Cities x focus areas (0-100).
    reference : DataFrame, optional
        Reference set's scores (default ``scores``).
    area_weights : dict, optional
        Focus area -> weight (default 1 each), applied by :func:`weighted_distance`.

    Returns
    -------
    DataFrame
        ``istat_code``, ``focus_area``, ``rank`` (Int64), ``score``, ``distance``
        (standardised distance, unweighted), sorted by code and rank.

    Examples
    --------
    Made-up scores of three made-up cities: poverty scores are high for all, housing low for all;
    ``c`` is furthest above the mean in housing, so housing comes first for ``c``:

    >>> s = pd.DataFrame({"inclusion_work": [50.0, 50.0, 50.0], "housing": [10.0, 20.0, 40.0],
    ...                   "poverty": [70.0, 80.0, 75.0], "culture_tourism": [None, None, None]},
    ...                  index=pd.Index(["a", "b", "c"], name="istat_code"))
    >>> r = rank_relative(s)
    >>> r[r.istat_code == "c"]["focus_area"].tolist()[:2]
    ['housing', 'poverty']
    """
    distance = standardised_distance(scores, reference)
    weights = pd.Series(area_weights or {}, dtype="float64").reindex(distance.columns).fillna(1.0)
    keyed = weighted_distance(distance, weights.to_numpy())
    keyed = keyed.where(distance.notna())
    ranked = rank_areas(keyed)
    rows = scores.index.get_indexer(ranked["istat_code"])
    areas = list(scores.columns)
    cols = np.array([areas.index(a) if a in areas else -1 for a in FOCUS_AREAS])[
        pd.Index(FOCUS_AREAS).get_indexer(ranked["focus_area"])]
    ok = (rows >= 0) & (cols >= 0)
    score_values = scores.to_numpy(dtype="float64")
    distance_values = distance.reindex(columns=areas).to_numpy(dtype="float64")
    ranked["score"] = np.where(ok, score_values[rows, np.maximum(cols, 0)], np.nan)
    ranked[DISTANCE_COLUMN] = np.where(ok, distance_values[rows, np.maximum(cols, 0)], np.nan)
    return ranked


# ---------------------------------------------------------------------------
# Robustness in words: share of runs *and* margin
# ---------------------------------------------------------------------------

ROBUSTNESS_LEVELS = ("near_tie", "very_solid", "solid", "leaning", "uncertain")
ROBUSTNESS_COLUMNS = ["istat_code", "first_area", "second_area", "distance_first", "distance_second", "margin",
                      "share_top", "runner_up", "runner_up_share", "areas_above_mean", "level"]


def robustness_level(share_top: float, runner_up_share: float, margin: float, thresholds: dict) -> str:
    """The robustness level of a first area from its share of runs, the runner-up's and the margin.

    Parameters
    ----------
    share_top : float
        Share of Monte Carlo runs in which the first area is first (NaN = no simulation).
    runner_up_share : float
        Largest share of another area (0 when none).
    margin : float
        Standardised distance of the first area minus that of the second (NaN = one area only).
    thresholds : dict
        :data:`cocity_analysis.method.choices.ROBUSTNESS_DEFAULTS` keys.

    Examples
    --------
    >>> from cocity_analysis.method.choices import ROBUSTNESS_DEFAULTS as T
    >>> robustness_level(0.50, 0.48, 0.6, T), robustness_level(0.95, 0.05, 0.1, T)
    ('near_tie', 'near_tie')
    >>> robustness_level(0.95, 0.05, 0.8, T), robustness_level(0.8, 0.2, 0.8, T), robustness_level(0.6, 0.3, 0.4, T)
    ('very_solid', 'solid', 'leaning')
    """
    import math

    if not math.isnan(margin) and margin < thresholds["near_tie_distance"]:
        return "near_tie"
    if math.isnan(share_top):
        return "uncertain"
    if share_top - runner_up_share < thresholds["near_tie_share"]:
        return "near_tie"
    if share_top >= thresholds["very_solid"] and (math.isnan(margin) or margin >= thresholds["very_solid_distance"]):
        return "very_solid"
    if share_top >= thresholds["solid"]:
        return "solid"
    if share_top >= thresholds["leaning"]:
        return "leaning"
    return "uncertain"


def robustness(ranking: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Per city: first and second area, their distances, the margin, shares of runs and the level.

    Parameters
    ----------
    ranking : DataFrame
        ``priorities.parquet`` rows: ``istat_code``, ``focus_area``, ``rank``,
        ``distance`` and (optional) ``share_top``.
    thresholds : dict
        As in :func:`robustness_level`.

    Returns
    -------
    DataFrame
        :data:`ROBUSTNESS_COLUMNS`; ``areas_above_mean`` counts the areas with a
        positive distance. Cities without any ranked area are left out.
    """
    import math

    rows = []
    for code, group in ranking.dropna(subset=["rank"]).sort_values(["istat_code", "rank"]).groupby(
            "istat_code", sort=True):
        group = group.reset_index(drop=True)
        first = group.iloc[0]
        second = group.iloc[1] if len(group) > 1 else None
        d1 = float(first[DISTANCE_COLUMN])
        d2 = float(second[DISTANCE_COLUMN]) if second is not None else math.nan
        margin = d1 - d2 if second is not None else math.nan
        share = float(first["share_top"]) if "share_top" in group and pd.notna(first["share_top"]) else math.nan
        others = group.iloc[1:]
        if "share_top" in group and len(others) and others["share_top"].notna().any():
            best = others.loc[others["share_top"].astype(float).idxmax()]
            runner, runner_share = str(best["focus_area"]), float(best["share_top"])
        else:
            runner, runner_share = None, 0.0
        rows.append({
            "istat_code": str(code), "first_area": str(first["focus_area"]),
            "second_area": None if second is None else str(second["focus_area"]),
            "distance_first": d1, "distance_second": d2, "margin": margin, "share_top": share,
            "runner_up": runner, "runner_up_share": runner_share,
            "areas_above_mean": int((group[DISTANCE_COLUMN].astype(float) > 0).sum()),
            "level": robustness_level(share, runner_share, margin, thresholds),
        })
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
