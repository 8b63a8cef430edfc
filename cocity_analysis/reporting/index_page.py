"""The index page of the reports folder: the 39 cities with their profile and first area."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd
from markupsafe import Markup

from cocity_analysis.fileio import write_text_atomic
from cocity_analysis.reporting import templating
from cocity_analysis.reporting.formatting import _is_missing, format_share
from cocity_analysis.reporting.html_export import _css
from cocity_analysis.reporting.messages import _check_lang, _t, area_label
from cocity_analysis.reporting.views import _first_priorities, _label_column, municipal_list_text, read_processed


def index_html(processed_dir: str | Path, out_dir: str | Path, ok_codes: Iterable[str] = (),
               lang: str = "it", overview: bool | None = None) -> str:
    """The text of ``index.html``: the cities with profile, first priority and its share, links.

    A city gets a link when it is in ``ok_codes`` or its report file exists; ``overview`` None
    links the overview when ``overview.html`` exists. The page is ``index.html.j2`` with the
    reports' stylesheet and the table's sort script inline (nothing from another host).

    Parameters
    ----------
    processed_dir : str or Path
        The processed dataset (``cocity prepare``).
    out_dir : str or Path
        The reports folder the page goes into (links are relative to it).
    ok_codes : iterable of str
        ISTAT codes whose report was just written.
    lang : str
        ``"it"`` or ``"en"``.
    overview : bool or None
        Link the overview; None: when ``out_dir/overview.html`` exists.

    Returns
    -------
    str
        The whole HTML page.

    Examples
    --------
    >>> page = index_html("data/processed", "reports")  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    _check_lang(lang)
    data = read_processed(processed_dir)
    out_dir = Path(out_dir)
    ok_codes = set(ok_codes)
    label_col = _label_column(data.clusters, lang)
    first = _first_priorities(data.priorities)
    has_share = "share_top" in data.priorities.columns
    firsts = data.priorities.dropna(subset=["rank"]).sort_values(["istat_code", "rank"]).drop_duplicates("istat_code")
    share = firsts.set_index("istat_code")["share_top"] if has_share else pd.Series(dtype=float)
    rows = []
    for code, city in sorted(data.cities.iterrows(), key=lambda item: str(item[1]["name"]).casefold()):
        profile = data.clusters.at[code, label_col] if code in data.clusters.index else _t(lang, "na")
        area = area_label(str(first[code]), lang) if code in first.index else _t(lang, "no_data")
        if (code in first.index and data.robustness is not None and "areas_above_mean" in data.robustness.columns
                and (data.robustness.loc[data.robustness["istat_code"].astype(str) == code, "areas_above_mean"]
                     == 0).any()):
            area += f" ({_t(lang, 'index_all_below')})"  # the order is only relative: say it here too
        province = f"{city.get('province') or ''} ({city.get('province_abbr') or ''})"
        value = share.get(code, math.nan)
        rows.append({
            "code": code,
            "cells": [city["name"], province, profile, area],
            "share": format_share(value, lang),
            "share_sort": "" if _is_missing(value) else f"{float(value):.6f}",
            "link": code in ok_codes or (out_dir / "cities" / f"{code}.html").is_file(),
        })
    if overview is None:
        overview = (out_dir / "overview.html").is_file()
    page = templating.render(
        "index.html.j2",
        lang=lang,
        title=_t(lang, "index_title"),
        css=Markup(_css()),
        intro=_t(lang, "index_intro", n=len(data.cities)),
        overview_link=_t(lang, "index_overview", n=len(data.cities)) if overview else "",
        sort_headers=[_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first", "col_share")],
        sort_hint=_t(lang, "sort_hint"),
        cell_headers=[_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first")],
        share_heading=_t(lang, "col_share"),
        report_heading=_t(lang, "col_report"),
        open_report=_t(lang, "open_report"),
        report_missing=_t(lang, "report_missing"),
        rows=rows,
        listing=municipal_list_text(data.provenance, lang),
    )
    return str(page) + "\n"  # a text file ends with a newline (the template engine drops it)


def render_index(processed_dir: str | Path, out_dir: str | Path, results: Iterable | None = None,
                 lang: str = "it") -> Path:
    """Write ``out_dir/index.html`` atomically (see :func:`index_html`)."""
    ok = [r.city_code for r in (results or []) if getattr(r, "ok", False)]
    return write_text_atomic(Path(out_dir) / "index.html", index_html(processed_dir, out_dir, ok, lang=lang))
