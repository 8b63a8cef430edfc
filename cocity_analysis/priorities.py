"""Per-city ranking of the four focus areas."""

from __future__ import annotations

import pandas as pd

from . import FOCUS_AREAS


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
