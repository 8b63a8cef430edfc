"""Screening and treatment of indicators before normalisation (JRC/OECD Handbook, COINr).

Per indicator: coverage, skewness and kurtosis. An indicator whose
distribution is dominated by a few extreme values (|skewness| > 2 **and**
kurtosis > 3.5, the JRC rule of thumb) is winsorised one extreme value at a
time, up to ``max_points`` values; if that is not enough, the winsorisation is
discarded and the original indicator is log-transformed instead (COINr's
default treatment). Every decision is written to a table, with the reason in
Italian and English, so that reports can show what was done and why.

Pairs of indicators of the same focus area correlated with |r| > 0.9 are
reported as redundant (:func:`redundant_pairs`); nothing is dropped
automatically.

Skewness and kurtosis are the sample-adjusted estimators used by the JRC
(Excel ``SKEW`` and ``KURT``; kurtosis is *excess* kurtosis, 0 for a normal
distribution). At least 4 values are needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SKEW_LIMIT = 2.0
KURT_LIMIT = 3.5
REDUNDANCY_LIMIT = 0.9
MIN_VALUES = 4

ACTION_LABELS = {
    "none": ("nessun trattamento", "no treatment"),
    "winsorised": ("winsorizzazione", "winsorisation"),
    "log": ("trasformazione logaritmica", "log transform"),
    "disabled": ("trattamento disattivato", "treatment disabled"),
    "too_few_values": ("valori insufficienti", "too few values"),
}

TABLE_COLUMNS = ["indicator", "n_values", "coverage", "skewness", "kurtosis", "action", "action_it",
                 "points", "side", "winsor_low", "winsor_high", "winsorised_codes", "transform",
                 "skewness_after", "kurtosis_after", "still_skewed", "reason_it", "reason_en"]


def skewness(values) -> float:
    """Sample-adjusted skewness (Excel ``SKEW``, ``scipy.stats.skew(bias=False)``) of the non-missing values.

    Returns NaN with fewer than 3 values or no spread.

    Examples
    --------
    >>> round(skewness([1.0, 2.0, 3.0, 10.0]), 4)
    1.7636
    """
    from scipy import stats  # lazily: keeps `import cocity_analysis` light for the CLI

    x = _finite(values)
    if x.size < 3 or np.ptp(x) == 0:
        return float("nan")
    return float(stats.skew(x, bias=False))


def kurtosis(values) -> float:
    """Sample-adjusted excess kurtosis (Excel ``KURT``, ``scipy.stats.kurtosis(bias=False)``).

    Returns NaN with fewer than 4 values or no spread.

    Examples
    --------
    >>> round(kurtosis([1.0, 2.0, 3.0, 10.0]), 4)
    3.228
    """
    from scipy import stats

    x = _finite(values)
    if x.size < 4 or np.ptp(x) == 0:
        return float("nan")
    return float(stats.kurtosis(x, bias=False))


def is_outlying(skew: float, kurt: float, skew_limit: float = SKEW_LIMIT,
                kurt_limit: float = KURT_LIMIT) -> bool:
    """The JRC rule: |skewness| > ``skew_limit`` and kurtosis > ``kurt_limit`` (NaN -> False).

    Examples
    --------
    >>> is_outlying(2.5, 4.0), is_outlying(2.5, 3.0), is_outlying(float("nan"), 9.0)
    (True, False, False)
    """
    return bool(abs(skew) > skew_limit and kurt > kurt_limit)


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype="float64").ravel()
    return x[np.isfinite(x)]


@dataclass
class Winsorisation:
    """Outcome of :func:`winsorise` on one indicator.

    Attributes
    ----------
    values : Series
        The winsorised values (same index; missing stays missing).
    points : int
        How many values were replaced.
    side : str
        ``"high"`` (positive skew: largest values pulled down), ``"low"`` or ``""``.
    low, high : float
        Bounds after winsorisation: every value now lies in ``[low, high]``.
    changed : list
        Index labels of the replaced values.
    success : bool
        True when the result no longer meets the outlier rule.
    """

    values: pd.Series
    points: int
    side: str
    low: float
    high: float
    changed: list
    success: bool


def winsorise(values: pd.Series, max_points: int, skew_limit: float = SKEW_LIMIT,
              kurt_limit: float = KURT_LIMIT) -> Winsorisation:
    """Winsorise the most extreme value(s), one at a time, until the outlier rule no longer holds.

    At each step the current most extreme value on the side of the skew (the
    maximum for positive skew, the minimum for negative) is replaced by the
    next value inwards; tied extremes are replaced together and each counts as
    one point. It stops as soon as |skewness| <= ``skew_limit`` or kurtosis <=
    ``kurt_limit``, or when one more step would exceed ``max_points``.

    Parameters
    ----------
    values : Series
        One indicator (missing values are ignored and kept missing).
    max_points : int
        Maximum number of values that may be replaced.

    Returns
    -------
    Winsorisation

    Examples
    --------
    A made-up vector with one far outlier: one point fixes it, the outlier
    takes the value of the next largest.

    >>> x = pd.Series([float(v) for v in range(1, 20)] + [1000.0])
    >>> out = winsorise(x, max_points=3)
    >>> out.points, out.side, float(out.values.iloc[-1]), out.changed
    (1, 'high', 19.0, [19])
    """
    series = pd.Series(values, dtype="float64")
    current = series.copy()
    present = current.notna()
    skew = skewness(current)
    side = "high" if skew > 0 else "low"
    changed: list = []
    lower, upper = current.min(), current.max()
    while is_outlying(skewness(current), kurtosis(current), skew_limit, kurt_limit):
        observed = current[present]
        if side == "high":
            extreme = observed.max()
            inner = observed[observed < extreme]
            target = inner.max() if len(inner) else np.nan
        else:
            extreme = observed.min()
            inner = observed[observed > extreme]
            target = inner.min() if len(inner) else np.nan
        hits = observed.index[observed == extreme]
        if np.isnan(target) or len(changed) + len(hits) > max_points:
            break
        current.loc[hits] = target
        changed.extend(hits)
    success = not is_outlying(skewness(current), kurtosis(current), skew_limit, kurt_limit)
    if changed:
        lower, upper = current.min(), current.max()
    return Winsorisation(values=current, points=len(changed), side=side if changed else "",
                         low=float(lower), high=float(upper), changed=list(changed), success=success)


def log_transform(values: pd.Series, side: str) -> tuple[pd.Series, str]:
    """Log transform that keeps the order of the values (higher stays higher).

    Positive skew (``side="high"``): ``ln(x)`` when every value is > 0, else
    ``ln(x - min + 1)``. Negative skew (``side="low"``): the mirror image,
    ``-ln(max + min - x)`` when every value is > 0, else ``-ln(max - x + 1)``.

    Returns
    -------
    (Series, str)
        Transformed values and the formula applied (text).

    Examples
    --------
    >>> out, formula = log_transform(pd.Series([1.0, 10.0, 100.0]), "high")
    >>> out.round(4).tolist(), formula
    ([0.0, 2.3026, 4.6052], 'ln(x)')
    """
    x = pd.Series(values, dtype="float64")
    low, high = x.min(), x.max()
    positive = low > 0
    if side == "low":
        if positive:
            return -np.log(high + low - x), "-ln(max + min - x)"
        return -np.log(high - x + 1.0), "-ln(max - x + 1)"
    if positive:
        return np.log(x), "ln(x)"
    return np.log(x - low + 1.0), "ln(x - min + 1)"


def _num(value: float, digits: int = 2, lang: str = "it") -> str:
    if value is None or not np.isfinite(value):
        return "n.d." if lang == "it" else "n/a"
    text = f"{value:,.{digits}f}"
    if lang == "it":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text


def treat_indicator(values: pd.Series, max_points: int = 3, enabled: bool = True,
                    skew_limit: float = SKEW_LIMIT, kurt_limit: float = KURT_LIMIT) -> tuple[pd.Series, dict]:
    """Screen one indicator and treat it if needed; return the values and a record of what was done.

    Returns
    -------
    (Series, dict)
        Treated values (same index) and one row of the treatment table (see
        :func:`treat` for the fields).

    Examples
    --------
    >>> x = pd.Series([float(v) for v in range(1, 20)] + [1000.0], name="made_up")
    >>> out, record = treat_indicator(x)
    >>> record["action"], record["points"], float(out.max())
    ('winsorised', 1, 19.0)
    """
    series = pd.Series(values, dtype="float64")
    n = int(series.notna().sum())
    skew, kurt = skewness(series), kurtosis(series)
    record = {"indicator": series.name, "n_values": n,
              "coverage": n / len(series) if len(series) else float("nan"),
              "skewness": skew, "kurtosis": kurt, "points": 0, "side": "",
              "winsor_low": float("nan"), "winsor_high": float("nan"), "winsorised_codes": "",
              "transform": "", "skewness_after": skew, "kurtosis_after": kurt, "still_skewed": False}
    stats_it = f"asimmetria {_num(skew)}, curtosi {_num(kurt)}"
    stats_en = f"skewness {_num(skew, lang='en')}, kurtosis {_num(kurt, lang='en')}"
    limits_it = f"soglie |asimmetria| > {_num(skew_limit, 1)} e curtosi > {_num(kurt_limit, 1)}"
    limits_en = f"limits |skewness| > {_num(skew_limit, 1, 'en')} and kurtosis > {_num(kurt_limit, 1, 'en')}"
    if n < MIN_VALUES:
        record.update(action="too_few_values",
                      reason_it=f"solo {n} valori: asimmetria e curtosi non calcolabili, nessun trattamento",
                      reason_en=f"only {n} values: skewness and kurtosis not computable, no treatment")
        return _finish(series, record)
    outlying = is_outlying(skew, kurt, skew_limit, kurt_limit)
    if not enabled:
        record.update(action="disabled", still_skewed=outlying,
                      reason_it=f"{stats_it}; trattamento disattivato nel file di metodo",
                      reason_en=f"{stats_en}; treatment disabled in the method file")
        return _finish(series, record)
    if not outlying:
        record.update(action="none",
                      reason_it=f"{stats_it}: non supera insieme le {limits_it}, nessun trattamento",
                      reason_en=f"{stats_en}: not beyond both {limits_en}, no treatment")
        return _finish(series, record)
    wins = winsorise(series, max_points, skew_limit, kurt_limit)
    if wins.success and wins.points:
        bound = wins.high if wins.side == "high" else wins.low
        one = wins.points == 1
        if wins.side == "high":
            side_it = "valore più alto" if one else "valori più alti"
        else:
            side_it = "valore più basso" if one else "valori più bassi"
        side_en = ("highest" if wins.side == "high" else "lowest") + (" value" if one else " values")
        after_skew, after_kurt = skewness(wins.values), kurtosis(wins.values)
        record.update(
            action="winsorised", points=wins.points, side=wins.side, winsor_low=wins.low,
            winsor_high=wins.high, winsorised_codes=",".join(str(c) for c in wins.changed),
            skewness_after=after_skew, kurtosis_after=after_kurt,
            reason_it=(f"{stats_it} oltre le {limits_it}: {wins.points} {side_it} "
                       f"{'riportato' if one else 'riportati'} a "
                       f"{_num(bound)}; dopo: asimmetria {_num(after_skew)}, curtosi {_num(after_kurt)}"),
            reason_en=(f"{stats_en} beyond the {limits_en}: {wins.points} {side_en} set to "
                       f"{_num(bound, lang='en')}; after: skewness {_num(after_skew, lang='en')}, "
                       f"kurtosis {_num(after_kurt, lang='en')}"))
        return _finish(wins.values, record)
    logged, formula = log_transform(series, "high" if skew > 0 else "low")
    after_skew, after_kurt = skewness(logged), kurtosis(logged)
    still = is_outlying(after_skew, after_kurt, skew_limit, kurt_limit)
    tail_it = "; ancora oltre le soglie dopo il logaritmo" if still else ""
    tail_en = "; still beyond the limits after the log" if still else ""
    record.update(
        action="log", side="high" if skew > 0 else "low", transform=formula,
        skewness_after=after_skew, kurtosis_after=after_kurt, still_skewed=still,
        reason_it=(f"{stats_it} oltre le {limits_it}; la winsorizzazione di al massimo {max_points} valori "
                   f"non basta: trasformazione {formula} sui valori originali; dopo: asimmetria "
                   f"{_num(after_skew)}, curtosi {_num(after_kurt)}{tail_it}"),
        reason_en=(f"{stats_en} beyond the {limits_en}; winsorising at most {max_points} values is not "
                   f"enough: {formula} applied to the original values; after: skewness "
                   f"{_num(after_skew, lang='en')}, kurtosis {_num(after_kurt, lang='en')}{tail_en}"))
    return _finish(logged, record)


def _finish(values: pd.Series, record: dict) -> tuple[pd.Series, dict]:
    record["action_it"] = ACTION_LABELS[record["action"]][0]
    return values, record


def treat(values: pd.DataFrame, max_points: int = 3, enabled: bool = True,
          skew_limit: float = SKEW_LIMIT, kurt_limit: float = KURT_LIMIT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Screen and treat every column of ``values`` (rows = the reference set of municipalities).

    Parameters
    ----------
    values : DataFrame
        Municipalities x indicators, raw values (missing stays missing).
    max_points : int
        Most values that may be winsorised per indicator (``winsor_max_points``).
    enabled : bool
        False screens only (``treatment: false`` in the method file).

    Returns
    -------
    treated : DataFrame
        Same shape; winsorised or log-transformed columns replaced.
    table : DataFrame
        One row per indicator: ``indicator``, ``n_values``, ``coverage`` (share
        of rows with a value), ``skewness``, ``kurtosis`` (before),
        ``action`` (``none`` | ``winsorised`` | ``log`` | ``disabled`` |
        ``too_few_values``), ``action_it``, ``points`` (values winsorised),
        ``side`` (``high``/``low``), ``winsor_low``/``winsor_high`` (range after
        winsorisation), ``winsorised_codes`` (comma-separated row labels),
        ``transform`` (log formula), ``skewness_after``, ``kurtosis_after``,
        ``still_skewed``, ``reason_it``, ``reason_en``.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [float(v) for v in range(1, 20)] + [1000.0],
    ...                       "b": [float(v) for v in range(20)]})
    >>> treated, table = treat(frame)
    >>> table.set_index("indicator")["action"].to_dict()
    {'a': 'winsorised', 'b': 'none'}
    """
    columns, rows = {}, []
    for name in values.columns:
        treated, record = treat_indicator(values[name].rename(name), max_points, enabled,
                                          skew_limit, kurt_limit)
        columns[name] = treated
        rows.append(record)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["points"] = table["points"].astype("int64")
    table["n_values"] = table["n_values"].astype("int64")
    table["still_skewed"] = table["still_skewed"].astype(bool)
    return pd.DataFrame(columns, index=values.index, columns=values.columns), table


def redundant_pairs(values: pd.DataFrame, focus_areas: pd.Series,
                    threshold: float = REDUNDANCY_LIMIT) -> pd.DataFrame:
    """Pairs of indicators of the same focus area with |Pearson r| > ``threshold``.

    Correlations use the rows where both indicators have a value. Nothing is
    removed: the pairs are reported so that an analyst can decide.

    Returns
    -------
    DataFrame
        ``focus_area``, ``indicator_a``, ``indicator_b``, ``r``, ``n`` (rows
        used), sorted by area and decreasing |r|.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 4.1, 6.0, 8.2],
    ...                       "c": [1.0, -1.0, 1.0, -1.0]})
    >>> redundant_pairs(frame, pd.Series({"a": "poverty", "b": "poverty", "c": "poverty"}))[
    ...     ["indicator_a", "indicator_b"]].values.tolist()
    [['a', 'b']]
    """
    areas = focus_areas.reindex(values.columns)
    rows = []
    for area in pd.unique(areas.dropna()):
        members = list(areas[areas == area].index)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                both = values[[a, b]].dropna()
                if len(both) < 3 or both[a].std() == 0 or both[b].std() == 0:
                    continue
                r = float(np.corrcoef(both[a], both[b])[0, 1])
                if abs(r) > threshold:
                    rows.append({"focus_area": area, "indicator_a": a, "indicator_b": b, "r": r,
                                 "n": int(len(both))})
    table = pd.DataFrame(rows, columns=["focus_area", "indicator_a", "indicator_b", "r", "n"])
    if len(table):
        table = (table.assign(abs_r=table["r"].abs())
                 .sort_values(["focus_area", "abs_r"], ascending=[True, False])
                 .drop(columns="abs_r").reset_index(drop=True))
    return table
