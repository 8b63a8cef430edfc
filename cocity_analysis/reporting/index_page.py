"""The index page of the reports folder: the 39 cities with their profile and first area."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from cocity_analysis.fileio import write_text_atomic
from cocity_analysis.reporting.formatting import _is_missing, format_share
from cocity_analysis.reporting.html_export import _css
from cocity_analysis.reporting.markup import _e
from cocity_analysis.reporting.messages import _check_lang, _t, area_label
from cocity_analysis.reporting.views import _first_priorities, _label_column, municipal_list_text, read_processed


# sorts the index table on a click on a heading; inline, nothing from another host
_SORT_SCRIPT = """
(function () {
  var table = document.getElementById('cocity-cities');
  if (!table) { return; }
  var heads = table.querySelectorAll('thead th');
  function key(td) { var v = td.getAttribute('data-sort'); return v === null ? td.textContent : v; }
  table.querySelectorAll('thead button').forEach(function (button) {
    button.addEventListener('click', function () {
      var col = Number(button.getAttribute('data-col'));
      var th = heads[col];
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      var numeric = th.classList.contains('num');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        var d = numeric ? (parseFloat(x) || -1) - (parseFloat(y) || -1) : x.localeCompare(y, 'it', {sensitivity: 'base'});
        return asc ? d : -d;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    });
  });
})();
"""


def index_html(processed_dir: str | Path, out_dir: str | Path, ok_codes: Iterable[str] = (),
               lang: str = "it", overview: bool | None = None) -> str:
    """The text of ``index.html``: the cities with profile, first priority and its share, links.

    A city gets a link when it is in ``ok_codes`` or its report file exists; ``overview`` None
    links the overview when ``overview.html`` exists.
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
        if code in ok_codes or (out_dir / "cities" / f"{code}.html").is_file():
            link = f'<a href="cities/{_e(code)}.html">{_e(_t(lang, "open_report"))}</a>'
        else:
            link = f'<span class="cocity-nodata">{_e(_t(lang, "report_missing"))}</span>'
        province = f"{city.get('province') or ''} ({city.get('province_abbr') or ''})"
        value = share.get(code, math.nan)
        share_cell = (f'<td data-label="{_e(_t(lang, "col_share"))}" class=num data-sort="'
                      f'{"" if _is_missing(value) else f"{float(value):.6f}"}">{_e(format_share(value, lang))}</td>')
        cells = [_e(city["name"]), _e(province), _e(profile), _e(area)]
        headers = [_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first")]
        row = "".join(f'<td data-label="{_e(h)}">{c}</td>' for h, c in zip(headers, cells))
        row += share_cell + f'<td data-label="{_e(_t(lang, "col_report"))}">{link}</td>'
        rows.append(f"<tr>{row}</tr>")
    headers = [_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first", "col_share")]
    head = "".join(
        f'<th scope="col"{" class=num" if i == 4 else ""}{" aria-sort=ascending" if i == 0 else ""}>'
        f'<button type="button" data-col="{i}" title="{_e(_t(lang, "sort_hint"))}">{_e(h)}</button></th>'
        for i, h in enumerate(headers))
    head += f'<th scope="col">{_e(_t(lang, "col_report"))}</th>'
    table = (f'<table class="cocity-table cocity-sortable" id="cocity-cities"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    if overview is None:
        overview = (out_dir / "overview.html").is_file()
    overview_link = (f'<p class="cocity-lead"><a href="overview.html">{_e(_t(lang, "index_overview", n=len(data.cities)))}'
                     f"</a></p>\n" if overview else "")
    title = _t(lang, "index_title")
    listing = municipal_list_text(data.provenance, lang)
    listing = f'<p class="cocity-note">{_e(listing)}</p>\n' if listing else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8"/>\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1.0"/>\n<title>{_e(title)}</title>\n'
        f'<style type="text/css">\n{_css()}\n</style>\n</head>\n<body class="cocity-index">\n<main>\n'
        f"<h1>{_e(title)}</h1>\n<p>{_e(_t(lang, 'index_intro', n=len(data.cities)))}</p>\n{overview_link}{table}\n"
        f"{listing}</main>\n<script>{_SORT_SCRIPT}</script>\n</body>\n</html>\n"
    )


def render_index(processed_dir: str | Path, out_dir: str | Path, results: Iterable | None = None,
                 lang: str = "it") -> Path:
    """Write ``out_dir/index.html`` atomically (see :func:`index_html`)."""
    ok = [r.city_code for r in (results or []) if getattr(r, "ok", False)]
    return write_text_atomic(Path(out_dir) / "index.html", index_html(processed_dir, out_dir, ok, lang=lang))
