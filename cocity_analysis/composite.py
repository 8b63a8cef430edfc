"""From indicators to focus-area scores: normalisation with direction, then aggregation.

Every function takes and returns a DataFrame (cities x indicators or cities x
areas) so that steps compose with ``.pipe``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from . import FOCUS_AREAS


def orient(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Flip ``less_need`` indicators so that, for every column, higher means more need.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 3.0], "b": [1.0, 3.0]})
    >>> orient(frame, pd.Series({"a": "more_need", "b": "less_need"}))["b"].tolist()
    [-1.0, -3.0]
    """
    signs = directions.reindex(indicators.columns).map({"more_need": 1.0, "less_need": -1.0})
    if signs.isna().any():
        unknown = list(signs[signs.isna()].index)
        raise ValueError(f"no direction for indicators {unknown}")
    return indicators * signs


def minmax(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Min-max normalisation to 0..1 with direction applied (1 = most need among the rows).

    A column with no spread carries no information about differences between
    cities: it becomes missing rather than an arbitrary 0 or 1.

    Examples
    --------
    >>> frame = pd.DataFrame({"income": [10.0, 20.0, 30.0]})
    >>> minmax(frame, pd.Series({"income": "less_need"}))["income"].tolist()
    [1.0, 0.5, 0.0]
    """
    oriented = orient(indicators, directions)
    low, high = oriented.min(), oriented.max()
    spread = (high - low).where(lambda s: s > 0)
    return (oriented - low) / spread


def zscore(indicators: pd.DataFrame, directions: pd.Series) -> pd.DataFrame:
    """Standard scores (population standard deviation) with direction applied.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    >>> zscore(frame, pd.Series({"x": "more_need"}))["x"].round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """
    oriented = orient(indicators, directions)
    std = oriented.std(ddof=0).where(lambda s: s > 0)
    return (oriented - oriented.mean()) / std


NORMALISERS: dict[str, Callable[[pd.DataFrame, pd.Series], pd.DataFrame]] = {
    "minmax": minmax,
    "zscore": zscore,
}


def normalise(indicators: pd.DataFrame, directions: pd.Series, method: str = "minmax") -> pd.DataFrame:
    """Dispatch to one of :data:`NORMALISERS` by name."""
    try:
        normaliser = NORMALISERS[method]
    except KeyError:
        raise ValueError(f"unknown normalisation {method!r}; candidates: {', '.join(NORMALISERS)}") from None
    return normaliser(indicators, directions)


def area_scores(normalised: pd.DataFrame, focus_areas: pd.Series, scale: float = 100.0) -> pd.DataFrame:
    """Focus-area score = arithmetic mean of the area's normalised indicators, times ``scale``.

    Missing indicators of a city are left out of its mean; an area with no
    indicator value for a city stays missing (never 0). Areas with no
    indicator at all are present as all-missing columns.

    Parameters
    ----------
    normalised : DataFrame
        Cities x indicators, from :func:`normalise`.
    focus_areas : Series
        Indicator id -> focus area id.
    scale : float
        100 turns 0..1 min-max values into 0..100 scores.

    Returns
    -------
    DataFrame
        Cities x the four focus areas, in :data:`cocity_analysis.FOCUS_AREAS` order.

    Examples
    --------
    >>> norm = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, None]})
    >>> area_scores(norm, pd.Series({"a": "poverty", "b": "poverty"}))["poverty"].tolist()
    [50.0, 100.0]
    """
    areas = focus_areas.reindex(normalised.columns)
    columns = {}
    for area in FOCUS_AREAS:
        members = list(areas[areas == area].index)
        if members:
            columns[area] = normalised[members].mean(axis=1, skipna=True) * scale
        else:
            columns[area] = pd.Series(np.nan, index=normalised.index)
    return pd.DataFrame(columns, index=normalised.index)


def indicator_coverage(indicators: pd.DataFrame, focus_areas: pd.Series) -> pd.DataFrame:
    """Per city and focus area, how many of the area's indicators have a value.

    Returns
    -------
    DataFrame
        Cities x areas of integers.
    """
    present = indicators.notna()
    areas = focus_areas.reindex(indicators.columns)
    return pd.DataFrame(
        {area: present[list(areas[areas == area].index)].sum(axis=1) for area in FOCUS_AREAS},
        index=indicators.index,
    ).astype("int64")
