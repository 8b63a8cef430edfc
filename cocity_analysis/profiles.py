"""Need profiles: clusters of cities with similar need indicators.

Shaped after geosnap's ``analyze.cluster``: one entry function, :func:`cluster`,
a dispatch table :data:`METHODS` and a small result object,
:class:`ProfileResult`. Missing values are never filled in silently: the
caller passes complete inputs (see :func:`complete_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score

from . import FOCUS_AREAS

SHORT_AREA_LABELS = {
    "it": {"inclusion_work": "lavoro e inclusione", "housing": "disagio abitativo",
           "poverty": "povertà e marginalità", "culture_tourism": "cultura e turismo"},
    "en": {"inclusion_work": "work and inclusion", "housing": "housing distress",
           "poverty": "poverty and marginality", "culture_tourism": "culture and tourism"},
}


def kmeans(data: np.ndarray, n_clusters: int, random_state: int) -> tuple[np.ndarray, object]:
    """k-means with many restarts (``n_init=50``), seeded."""
    model = KMeans(n_clusters=n_clusters, n_init=50, random_state=random_state).fit(data)
    return model.labels_, model


def ward(data: np.ndarray, n_clusters: int, random_state: int) -> tuple[np.ndarray, object]:
    """Ward hierarchical clustering (deterministic; ``random_state`` unused)."""
    model = AgglomerativeClustering(n_clusters=n_clusters, linkage="ward").fit(data)
    return model.labels_, model


METHODS: dict[str, Callable[[np.ndarray, int, int], tuple[np.ndarray, object]]] = {
    "kmeans": kmeans,
    "ward": ward,
}


@dataclass
class ProfileResult:
    """Outcome of :func:`cluster`.

    Attributes
    ----------
    labels : Series
        Cluster number (1..k) per city, numbered by :func:`renumber`.
    model : object
        The fitted scikit-learn estimator.
    inputs : DataFrame
        The matrix the model was fitted on (cities x indicators).
    k : int
        Number of clusters.
    diagnostics : DataFrame
        Silhouette score per candidate k (one row per k tried).
    method : str
    random_state : int
    """

    labels: pd.Series
    model: object
    inputs: pd.DataFrame
    k: int
    diagnostics: pd.DataFrame
    method: str
    random_state: int
    dropped_columns: list[str] = field(default_factory=list)


def renumber(labels: np.ndarray, index: pd.Index) -> pd.Series:
    """Number clusters 1..k by decreasing size, ties broken by the smallest member code.

    Estimators number clusters arbitrarily; this rule makes the numbering a
    function of the partition alone, so equal partitions give equal files.

    Examples
    --------
    >>> renumber(np.array([5, 5, 2, 7, 7, 7]), pd.Index(list("abcdef"))).tolist()
    [2, 2, 3, 1, 1, 1]
    """
    raw = pd.Series(labels, index=index)
    order = sorted(raw.unique(), key=lambda c: (-int((raw == c).sum()), min(raw.index[raw == c])))
    mapping = {old: new for new, old in enumerate(order, start=1)}
    return raw.map(mapping).astype("int64").rename("cluster")


def complete_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Keep the columns with a value for every row; return them and the names dropped."""
    complete = frame.columns[frame.notna().all()]
    dropped = [c for c in frame.columns if c not in complete]
    return frame[complete], dropped


def cluster(data: pd.DataFrame, method: str = "kmeans", n_clusters: int | None = None,
            k_range: range = range(2, 7), random_state: int = 0) -> ProfileResult:
    """Group cities into need profiles.

    Parameters
    ----------
    data : DataFrame
        Cities x normalised indicators. Columns with missing values are left
        out (and listed in ``dropped_columns``); nothing is imputed here.
    method : str
        A key of :data:`METHODS`.
    n_clusters : int, optional
        Fixed k. When None, k is the one with the highest silhouette over
        ``k_range`` (ties: the smaller k).
    k_range : range
        Candidate k values.
    random_state : int
        Seed for the estimator.

    Returns
    -------
    ProfileResult

    Examples
    --------
    >>> pts = pd.DataFrame({"x": [0, 0.1, 0.2, 5, 5.1, 5.2]}, index=list("abcdef"))
    >>> cluster(pts, random_state=0).labels.tolist()
    [1, 1, 1, 2, 2, 2]
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; candidates: {', '.join(METHODS)}")
    inputs, dropped = complete_columns(data)
    if inputs.shape[1] == 0:
        raise ValueError("no indicator has a value for every city: cannot form need profiles")
    matrix = inputs.to_numpy(dtype="float64")
    fit = METHODS[method]
    candidates = [n_clusters] if n_clusters is not None else [
        k for k in k_range if 2 <= k < len(inputs)]
    if not candidates:
        raise ValueError(f"no admissible k for {len(inputs)} cities in {list(k_range)}")
    rows, fitted = [], {}
    for k in candidates:
        labels, model = fit(matrix, k, random_state)
        score = silhouette_score(matrix, labels) if len(set(labels)) > 1 else np.nan
        rows.append({"k": k, "silhouette": float(score)})
        fitted[k] = (labels, model)
    diagnostics = pd.DataFrame(rows)
    best = int(diagnostics.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
    labels, model = fitted[best]
    return ProfileResult(labels=renumber(labels, inputs.index), model=model, inputs=inputs, k=best,
                         diagnostics=diagnostics, method=method, random_state=random_state,
                         dropped_columns=dropped)


def pen_portraits(labels: pd.Series, scores: pd.DataFrame, threshold: float = 5.0) -> pd.DataFrame:
    """Short Italian and English description of each profile, generated from the data.

    A profile is described by the focus areas whose mean score lies furthest
    above the mean of all cities (at least ``threshold`` points), or as close
    to the mean when none does.

    Returns
    -------
    DataFrame
        Indexed by cluster with ``label`` (Italian), ``label_en`` and the
        cluster's mean score per area.
    """
    overall = scores.mean()
    means = scores.groupby(labels).mean()
    rows = []
    for number, row in means.iterrows():
        gap = (row - overall).dropna().sort_values(ascending=False)
        above = [area for area, value in gap.items() if value >= threshold][:2]
        below = [area for area, value in gap[::-1].items() if value <= -threshold][:2]
        if above:
            it = "bisogno sopra la media in " + " e ".join(SHORT_AREA_LABELS["it"][a] for a in above)
            en = "above-average need in " + " and ".join(SHORT_AREA_LABELS["en"][a] for a in above)
        elif below:
            it = "bisogno sotto la media in " + " e ".join(SHORT_AREA_LABELS["it"][a] for a in below)
            en = "below-average need in " + " and ".join(SHORT_AREA_LABELS["en"][a] for a in below)
        else:
            it, en = "bisogni vicini alla media delle 39 città", "needs close to the mean of the 39 cities"
        rows.append({"cluster": int(number), "label": f"Profilo {number}: {it}",
                     "label_en": f"Profile {number}: {en}",
                     **{f"mean_{area}": row.get(area, np.nan) for area in FOCUS_AREAS}})
    return pd.DataFrame(rows).set_index("cluster")
