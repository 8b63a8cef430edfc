"""Names of the need profiles, from the need indicators that distinguish them.

A profile is named after the (at most two) need indicators on which its members' mean
lies furthest from the mean of all the cities clustered, in standard deviations of the
normalised indicator (direction applied: higher = more need), at least ``z_threshold``
away. Context indicators (catalogue ``role: context``, e.g. age structure or density)
never name a profile. The name describes the group's mean, not every member: the city
reports show the city's own values beside the profile's (:func:`member_values`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAMING_COLUMNS = ["label", "label_en", "naming_indicators", "naming_sides"]


def need_indicators(catalogue: pd.DataFrame, columns) -> list[str]:
    """The columns that are need indicators (all of them when the catalogue has no ``role``).

    >>> cat = pd.DataFrame({"role": ["need", "context"]}, index=["a", "b"])
    >>> need_indicators(cat, ["a", "b", "c"])
    ['a']
    """
    if "role" not in catalogue.columns:
        return [c for c in columns if c in catalogue.index]
    roles = catalogue["role"].fillna("need")
    return [c for c in columns if c in roles.index and roles[c] == "need"]


def distinguishing(labels: pd.Series, normalised: pd.DataFrame, catalogue: pd.DataFrame,
                   z_threshold: float = 0.5, max_items: int = 2) -> dict[int, list[tuple[str, float]]]:
    """Per profile, the need indicators that set it apart: ``[(indicator, z), ...]``, largest |z| first.

    ``z`` = (profile mean - mean of all the cities) / standard deviation of the cities,
    on the normalised values (higher = more need).

    Examples
    --------
    Made-up normalised values of four made-up cities in two profiles:

    >>> norm = pd.DataFrame({"x": [0.9, 1.0, 0.1, 0.0], "y": [0.5, 0.6, 0.5, 0.6]})
    >>> cat = pd.DataFrame({"label_it": ["X", "Y"]}, index=["x", "y"])
    >>> d = distinguishing(pd.Series([1, 1, 2, 2]), norm, cat)
    >>> [(k, [(i, round(z, 2)) for i, z in v]) for k, v in d.items()]
    [(1, [('x', 0.99)]), (2, [('x', -0.99)])]
    """
    columns = need_indicators(catalogue, normalised.columns)
    frame = normalised.loc[labels.index, columns]
    mean, sd = frame.mean(), frame.std(ddof=0)
    groups = frame.groupby(labels).mean()
    out = {}
    for number in sorted(groups.index):
        z = ((groups.loc[number] - mean) / sd.where(sd > 0)).dropna()
        z = z[z.abs() >= z_threshold]
        order = sorted(z.items(), key=lambda item: (-abs(item[1]), item[0]))[:max_items]
        out[int(number)] = [(str(i), float(v)) for i, v in order]
    return out


def _quoted(ids, catalogue, column) -> str:
    """Indicator labels as part of a sentence (first letter lower-cased; no quotes, as the
    name itself is quoted where it is shown)."""
    names = []
    for i in ids:
        label = str(catalogue.at[i, column])
        names.append(label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label)
    joiner = " e " if column == "label_it" else " and "
    return joiner.join(names)


def profile_name(number: int, items: list[tuple[str, float]], catalogue: pd.DataFrame, lang: str = "it") -> str:
    """The name of one profile from its distinguishing indicators.

    >>> cat = pd.DataFrame({"label_it": ["Reddito medio", "Quota di affitto"],
    ...                     "label_en": ["Mean income", "Share renting"]}, index=["x", "y"])
    >>> profile_name(1, [("x", 1.2), ("y", -0.7)], cat)
    'Profilo 1: più bisogno in reddito medio; meno bisogno in quota di affitto'
    >>> profile_name(2, [], cat, "en")
    'Profile 2: close to the mean of the cities in every need indicator'
    """
    column = "label_en" if lang == "en" and "label_en" in catalogue.columns else "label_it"
    above = [i for i, z in items if z > 0]
    below = [i for i, z in items if z < 0]
    parts = []
    if lang == "en":
        if above:
            parts.append(f"more need in {_quoted(above, catalogue, column)}")
        if below:
            parts.append(f"less need in {_quoted(below, catalogue, column)}")
        return f"Profile {number}: " + ("; ".join(parts) if parts else
                                        "close to the mean of the cities in every need indicator")
    if above:
        parts.append(f"più bisogno in {_quoted(above, catalogue, column)}")
    if below:
        parts.append(f"meno bisogno in {_quoted(below, catalogue, column)}")
    return f"Profilo {number}: " + ("; ".join(parts) if parts else
                                    "vicino alla media delle città in tutti gli indicatori di bisogno")


def name_profiles(labels: pd.Series, normalised: pd.DataFrame, catalogue: pd.DataFrame,
                  z_threshold: float = 0.5, max_items: int = 2) -> pd.DataFrame:
    """Names of every profile.

    Returns
    -------
    DataFrame
        Indexed by ``cluster``: ``label``, ``label_en``, ``naming_indicators``
        (";"-separated ids), ``naming_sides`` (";"-separated ``+``/``-``: more or
        less need than the mean of the cities).
    """
    found = distinguishing(labels, normalised, catalogue, z_threshold, max_items)
    rows = []
    for number, items in found.items():
        rows.append({"cluster": number, "label": profile_name(number, items, catalogue, "it"),
                     "label_en": profile_name(number, items, catalogue, "en"),
                     "naming_indicators": ";".join(i for i, _z in items),
                     "naming_sides": ";".join("+" if z > 0 else "-" for _i, z in items)})
    return pd.DataFrame(rows, columns=["cluster", *NAMING_COLUMNS]).set_index("cluster")


def member_values(code: str, members, raw: pd.DataFrame, normalised: pd.DataFrame, indicators, sides):
    """The city's own values beside its profile's, for the indicators that name the profile.

    Returns
    -------
    list of dict
        ``indicator``, ``city`` (raw), ``profile`` (raw mean of the members), ``all`` (raw mean of
        every city), ``side`` (``+``/``-`` as named), ``city_side`` (``+`` when the city's
        normalised value is above the mean of every city, i.e. more need; ``-`` below).

    Examples
    --------
    >>> raw = pd.DataFrame({"x": [10.0, 12.0, 2.0, 4.0]}, index=list("abcd"))
    >>> out = member_values("b", ["a", "b"], raw, raw / 12, ["x"], ["+"])
    >>> out[0]["profile"], out[0]["all"], out[0]["city_side"]
    (11.0, 7.0, '+')
    """
    out = []
    for indicator, side in zip(indicators, sides):
        if indicator not in raw.columns or code not in raw.index:
            continue
        city = raw.at[code, indicator]
        norm = normalised[indicator] if indicator in normalised.columns else None
        city_norm = norm.get(code, np.nan) if norm is not None else np.nan
        city_side = None
        if norm is not None and pd.notna(city_norm):
            city_side = "+" if city_norm > norm.mean() else "-"
        out.append({"indicator": indicator, "city": float(city) if pd.notna(city) else np.nan,
                    "profile": float(raw.loc[[m for m in members if m in raw.index], indicator].mean()),
                    "all": float(raw[indicator].mean()), "side": side, "city_side": city_side})
    return out
