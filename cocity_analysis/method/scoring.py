"""From raw indicators to 0..100 focus-area scores, with every intermediate kept.

:func:`score` chains the stages of the JRC/OECD Handbook (and COINr) in their
usual order, each a function of its own module that can be called alone:

1. area status before anything is filled in (:func:`imputation.area_status`):
   more than a third of an area's indicators missing -> *dati insufficienti*;
2. imputation (:func:`imputation.impute`), with a flag per filled cell;
3. screening and treatment of skewed indicators (:func:`treatment.treat`);
4. normalisation with direction applied (:func:`composite.normalise`);
5. indicator weights within each area (:func:`composite.indicator_weights`);
6. aggregation (:func:`composite.aggregate`) and the 0..100 scale
   (:func:`composite.to_scores`); areas with insufficient data are set to missing.

The rows passed in are the *reference set*: treatment thresholds, normalisation
and the geometric rescaling are computed over them (the 39 cities for
``scope: cms``, every municipality with data for ``scope: all``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cocity_analysis.method import composite, imputation, indicators, treatment
from cocity_analysis.method.choices import Method


@dataclass
class Scoring:
    """Every intermediate table of :func:`score` (rows = the reference set).

    Attributes
    ----------
    values : DataFrame
        Raw indicators as passed in.
    status : DataFrame
        Long table from :func:`imputation.area_status`.
    insufficient : DataFrame of bool
        Municipality x area, True = *dati insufficienti* (score left missing).
    imputed, imputed_flags : DataFrame
        Values after imputation, and True where a cell was filled.
    treated, treatment : DataFrame
        Values after winsorisation / log, and the table of what was done and why.
    normalised : DataFrame
        Normalised indicators, direction applied.
    weights : Series
        Indicator weights, summing to 1 per area.
    aggregated, scores : DataFrame
        Area aggregates, and the 0..100 scores (missing = no data or insufficient data).
    """

    values: pd.DataFrame
    status: pd.DataFrame
    insufficient: pd.DataFrame
    imputed: pd.DataFrame
    imputed_flags: pd.DataFrame
    treated: pd.DataFrame
    treatment: pd.DataFrame
    normalised: pd.DataFrame
    weights: pd.Series
    aggregated: pd.DataFrame
    scores: pd.DataFrame


def impute_rows(values: pd.DataFrame, method_name: str, *, regions: pd.Series | None = None,
                donors: pd.DataFrame | None = None, n_neighbours: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Impute the rows of ``values`` using ``donors`` (a larger table holding them) when given.

    Returns the imputed values and flags for the rows of ``values`` only.

    Examples
    --------
    Two made-up municipalities analysed, a third one only lends its value:

    >>> donors = pd.DataFrame({"x": [1.0, None, 3.0]}, index=["a", "b", "c"])
    >>> filled, flags = impute_rows(donors.loc[["a", "b"]], "median_region",
    ...                             regions=pd.Series("R1", index=donors.index), donors=donors)
    >>> filled["x"].tolist(), flags["x"].tolist()
    ([1.0, 2.0], [False, True])
    """
    if method_name == "none":
        return values.astype("float64"), pd.DataFrame(False, index=values.index, columns=values.columns)
    if donors is None or donors is values:
        filled, flags = imputation.impute(values, method_name, regions, n_neighbours=n_neighbours)
        return filled, flags
    pool = donors.reindex(columns=values.columns)
    positions = pool.index.get_indexer(values.index)
    if (positions < 0).any():
        raise ValueError(f"donor table lacks municipalities {list(values.index[positions < 0][:5])}")
    # Cells of `values` prevail over the donors' copy of the same municipalities.
    pool = pool.copy()
    pool.iloc[positions] = values.to_numpy()
    filled, flags = imputation.impute(pool, method_name, regions, n_neighbours=n_neighbours, rows=values.index)
    return filled.iloc[positions].set_axis(values.index), flags.iloc[positions].set_axis(values.index)


def score(values: pd.DataFrame, catalogue: pd.DataFrame, method: Method, *,
          regions: pd.Series | None = None, donors: pd.DataFrame | None = None) -> Scoring:
    """Raw indicators of the reference set -> focus-area scores, keeping every intermediate.

    Parameters
    ----------
    values : DataFrame
        Municipalities (the reference set) x indicators, raw values. Context
        indicators (``role: context`` in the catalogue) are dropped: they never
        count in a score.
    catalogue : DataFrame
        Indicator catalogue (``direction``, ``focus_area``, ``role``).
    method : Method
        ``imputation``, ``treatment``, ``winsor_max_points``, ``normalisation``,
        ``indicator_weights``, ``aggregation``, ``knn_neighbours`` are used.
    regions : Series, optional
        Municipality -> region, for ``median_region`` imputation.
    donors : DataFrame, optional
        A larger table (e.g. every Italian municipality) whose rows serve as
        imputation donors.

    Returns
    -------
    Scoring

    Examples
    --------
    Made-up values for three made-up municipalities:

    >>> from cocity_analysis.method.choices import Method
    >>> cat = pd.DataFrame({"direction": ["more_need", "less_need"], "focus_area": ["poverty", "poverty"]},
    ...                    index=["a", "b"])
    >>> vals = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [30.0, 20.0, 10.0]}, index=["x", "y", "z"])
    >>> score(vals, cat, Method()).scores["poverty"].tolist()
    [0.0, 50.0, 100.0]
    """
    need = indicators.need_ids(catalogue, values.columns)
    if need != list(values.columns):
        same = donors is values
        values = values[need]
        donors = values if same else donors
    directions, areas = catalogue["direction"], catalogue["focus_area"]
    status = imputation.area_status(values, areas)
    insufficient = imputation.insufficient(values, areas)
    imputed, flags = impute_rows(values, method.imputation, regions=regions, donors=donors,
                                 n_neighbours=method.knn_neighbours)
    treated, table = treatment.treat(imputed, method.winsor_max_points, enabled=method.treatment)
    normalised = composite.normalise(treated, directions, method.normalisation)
    weights = composite.indicator_weights(normalised, areas, method.indicator_weights)
    aggregated = composite.aggregate(normalised, areas, weights, method.aggregation)
    scores = composite.to_scores(aggregated, method.normalisation, method.aggregation)
    scores = scores.mask(insufficient.reindex(columns=scores.columns).to_numpy())
    return Scoring(values=values, status=status, insufficient=insufficient, imputed=imputed,
                   imputed_flags=flags, treated=treated, treatment=table, normalised=normalised,
                   weights=weights, aggregated=aggregated, scores=scores)


