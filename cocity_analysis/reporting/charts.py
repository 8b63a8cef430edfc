"""The charts of the reports and of the exploration panel."""

from __future__ import annotations

import logging
import math
from typing import Sequence


from cocity_analysis import FOCUS_AREAS
from cocity_analysis.reporting import italian
from cocity_analysis.reporting.formatting import _is_missing, _share_phrase, format_number, format_score
from cocity_analysis.reporting.markup import _e, _section, _table
from cocity_analysis.reporting.messages import _tv, area_label, short_area_label
from cocity_analysis.reporting.views import CityView, OverviewView, _chosen_k, _label_column

log = logging.getLogger(__name__)


# seaborn's "colorblind" palette, fixed here so that reports need no plotting library
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
           "#ece133", "#56b4e9")


SERIES_COLOURS = {"city": "#d55e00", "cluster_mean": "#0173b2", "mean_39": "#949494", "south": "#029e73"}


def _series(view: CityView) -> list[tuple[str, str]]:
    series = [("city", _tv(view, "series_city", city=view.name)),
              ("cluster_mean", _tv(view, "series_cluster")),
              ("mean_39", _tv(view, "series_39"))]
    if view.has_south:
        series.append(("south", _tv(view, "series_south", count=format_number(view.n_south, view.lang, 0))))
    return series


def profile_chart_html(view: CityView) -> str:
    """Bars of the four area scores: the city, its profile mean, the mean of the 39 and, when the
    scope data exist, the South and Islands. Plain HTML/CSS (width in %), so it reads on a phone.

    An area without data gets its status in words ("dati non disponibili"), never a bar at 0.
    """
    lang = view.lang
    series = _series(view)
    legend = "".join(f'<li><span class="cocity-swatch" style="background:{SERIES_COLOURS[key]}"></span>{_e(label)}</li>'
                     for key, label in series)
    groups = []
    caption_rows = []
    for area, row in view.scores.iterrows():
        lines = []
        if all(_is_missing(row[key]) for key, _label in series):
            lines.append(f'<p class="cocity-nodata">{_e(row["status"])}</p>')
        else:
            for key, label in series:
                value = row[key]
                if _is_missing(value):
                    text = row["status"] if key == "city" else _tv(view, "no_data")
                    lines.append(f'<div class="cocity-bar-row"><span class="cocity-bar-name">{_e(label)}</span>'
                                 f'<span class="cocity-nodata">{_e(text)}</span></div>')
                    continue
                width = max(0.0, min(100.0, float(value)))
                lines.append(
                    f'<div class="cocity-bar-row"><span class="cocity-bar-name">{_e(label)}</span>'
                    f'<span class="cocity-bar-track"><span class="cocity-bar cocity-bar-{key}" '
                    f'style="width:{width:.1f}%;background:{SERIES_COLOURS[key]}"></span></span>'
                    f'<span class="cocity-bar-value">{_e(format_score(value, lang))}</span></div>')
        caption_rows.append(f"{row['label']}" + (f" ({view.limited_evidence(area)})" if view.limited_evidence(area)
                                                  else "") + ": " + ", ".join(
            f"{label} {format_score(row[key], lang) if not _is_missing(row[key]) else _tv(view, 'no_data')}"
            for key, label in series))
        limited = view.limited_evidence(area)
        mark = f' <span class="cocity-tag cocity-limited">{_e(limited)}</span>' if limited else ""
        groups.append(f'<div class="cocity-bar-group"><h3>{_e(row["label"])}{mark}</h3>{"".join(lines)}</div>')
    body = (f"<p>{_e(_tv(view, 'chart_intro'))}</p>\n"
            f'<figure class="cocity-bars" aria-describedby="cocity-bars-caption">'
            f'<ul class="cocity-legend">{legend}</ul>{"".join(groups)}'
            f'<figcaption id="cocity-bars-caption" class="cocity-sr">'
            f'{_e(_tv(view, "chart_caption", text="; ".join(caption_rows)))}</figcaption></figure>')
    if not view.has_south:
        body += f'\n<p class="cocity-note">{_e(_tv(view, "south_missing"))}</p>'
    if view.percentiles is not None and not view.percentiles.empty:
        rows = []
        for area in FOCUS_AREAS:
            if area not in view.percentiles.index or view.percentiles.loc[area, ["pct_italy", "pct_south"]].isna().all():
                continue
            r = view.percentiles.loc[area]
            rows.append([_e(area_label(area, lang)), _e(format_score(r["pct_italy"], lang)),
                         _e(format_score(r["pct_south"], lang))])
        if rows:
            n_italy = view.percentiles["n_italy"].max() if "n_italy" in view.percentiles else math.nan
            n_south = view.percentiles["n_south"].max() if "n_south" in view.percentiles else math.nan
            body += (f"\n<h3>{_e(_tv(view, 'percentiles_h'))}</h3><p>"
                     f"{_e(_tv(view, 'percentiles_intro', city=view.name, n_italy=format_number(n_italy, lang, 0), n_south=format_number(n_south, lang, 0)))}</p>"
                     + _table([_tv(view, "col_area"), _tv(view, "col_pct_italy"), _tv(view, "col_pct_south")],
                              rows, numeric=(1, 2)))
    return _section(_tv(view, "chart_h"), body, "chart")


def chart_html(view: CityView, fig=None) -> str:
    """Kept for notebooks written against the first version: the profile chart."""
    return profile_chart_html(view)


def _intervals_html(view: CityView) -> str:
    """Rank intervals p05..p95 with the median, one row per ranked area (positions 1..4)."""
    lang = view.lang
    ranked = view.ranking.dropna(subset=["rank"])
    n_pos = max(2, len(ranked))  # positions 1..number of ranked areas

    def pos(value: float) -> float:
        return (float(value) - 1.0) / (n_pos - 1) * 100.0

    rows = []
    text_rows = []
    for _i, row in ranked.iterrows():
        if any(_is_missing(row[c]) for c in ("rank_p05", "rank_p95", "rank_median")):
            continue
        lo, hi, med = pos(row["rank_p05"]), pos(row["rank_p95"]), pos(row["rank_median"])
        share = _share_phrase(row["share_top"], lang)
        rows.append(
            f'<div class="cocity-int-row"><span class="cocity-int-name">{_e(short_area_label(row["focus_area"], lang))}'
            f'</span><span class="cocity-int-track">'
            f'<span class="cocity-int-bar" style="left:{lo:.1f}%;width:{max(hi - lo, 0.0):.1f}%"></span>'
            f'<span class="cocity-int-dot" style="left:{med:.1f}%"></span></span>'
            f'<span class="cocity-int-share">{_e(_tv(view, "interval_first_share", share_phrase=share))}</span></div>')
        text_rows.append(_tv(view, "interval_row", area=row["label"], median=italian.ordinal(row["rank_median"], lang),
                             range=italian.rank_range(row["rank_p05"], row["rank_p95"], lang), share_phrase=share))
    if not rows:
        return f'<p class="cocity-note">{_e(_tv(view, "intervals_missing"))}</p>'
    ticks = "".join(f'<span style="left:{pos(i):.1f}%">{_e(_tv(view, "interval_pos", pos=i))}</span>'
                    for i in range(1, n_pos + 1))
    axis = (f'<div class="cocity-int-row cocity-int-axis"><span class="cocity-int-name"></span>'
            f'<span class="cocity-int-ticks">{ticks}</span><span class="cocity-int-share"></span></div>'
            f'<div class="cocity-int-row cocity-int-axis"><span class="cocity-int-name"></span>'
            f'<span class="cocity-int-ends"><span>{_e(_tv(view, "interval_axis_left"))}</span>'
            f'<span>{_e(_tv(view, "interval_axis_right"))}</span></span><span class="cocity-int-share"></span></div>')
    runs = format_number(view.n_runs, lang, decimals=0) if view.n_runs else "molte" if lang == "it" else "many"
    return (f"<p>{_e(_tv(view, 'intervals_intro', runs=runs))}</p>"
            f'<figure class="cocity-intervals" aria-describedby="cocity-int-caption">{"".join(rows)}{axis}'
            f'<figcaption id="cocity-int-caption" class="cocity-sr">{_e(" ".join(text_rows))}</figcaption></figure>')


def map_html(view: CityView) -> str:
    """The 39 cities on the municipal boundaries of their regions, this city highlighted (inline SVG)."""
    from cocity_analysis.reporting import maps as report_maps

    try:
        assets = report_maps.load_map_assets(view.processed_dir)
    except Exception as exc:  # noqa: BLE001 - a report without a map is still a report
        log.warning("mappa non disponibile per %s: %s", view.code, exc)
        return _section(_tv(view, "map_h"), f'<p class="cocity-nodata">{_e(_tv(view, "map_missing", reason=exc))}</p>',
                        "map")
    regions = ", ".join(sorted(assets.layout.get("regions", {})))
    svg = report_maps.map_svg(
        assets, highlight=view.code, title=_tv(view, "map_title", city=view.name),
        description=_tv(view, "map_desc", city=view.name, regions=regions))
    source = assets.layout.get("source_en" if view.lang == "en" else "source", "")
    caption = _tv(view, "map_caption", city=view.name, source=source)
    body = f'<figure class="cocity-figure-map">{svg}<figcaption>{_e(caption)}</figcaption></figure>'
    return _section(_tv(view, "map_h"), body, "map")


def income_chart_html(view: CityView) -> str:
    """Income per taxpayer and the share up to EUR 10,000 over the tax years of ``income_series.parquet``:
    two small inline SVG line charts whose titles say the years, with the values as text (empty string
    when the series is absent)."""
    frame = view.income
    if frame is None or frame.empty:
        return ""
    lang = view.lang
    charts, texts = [], []
    for column, title_key, text_key, decimals in (
            ("income_per_taxpayer", "income_title_income", "income_text_income", 0),
            ("share_taxpayers_le_10k", "income_title_low", "income_text_low", 1)):
        if column not in frame.columns or frame[column].isna().all():
            continue
        series = frame[["year", column]].dropna()
        years = [int(y) for y in series["year"]]
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        svg = line_chart_svg(years, series[column].tolist(), title=_tv(view, title_key, years=span), lang=lang,
                             decimals=decimals, id_prefix=f"cocity-income-{column}", width=360.0)
        charts.append(f'<li class="cocity-wide">{svg}</li>')
        values = "; ".join(f"{y}: {format_number(v, lang, decimals)}" for y, v in zip(years, series[column]))
        texts.append(_tv(view, text_key, values=values))
    if not charts:
        return ""
    all_years = sorted({int(y) for y in frame["year"]})
    years_text = ", ".join(str(y) for y in all_years)
    caption = _tv(view, "income_caption", text=" ".join(texts), source=_tv(view, "income_source"))
    body = (f"<p>{_e(_tv(view, 'income_intro', city=view.name, years=years_text))}</p>"
            f'<figure class="cocity-income"><ul class="cocity-small-multiples">{"".join(charts)}</ul>'
            f"<figcaption>{_e(caption)}</figcaption></figure>")
    return _section(_tv(view, "income_h"), body, "income")


def profile_colours(view: OverviewView) -> dict[int, str]:
    clusters = sorted(int(c) for c in view.data.clusters["cluster"].unique())
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(clusters)}


def line_chart_svg(xs: Sequence[float], ys: Sequence[float], *, title: str, highlight=None, lang: str = "it",
                   decimals: int = 2, id_prefix: str = "cocity-line", width: float = 220.0) -> str:
    """A small line chart as inline SVG (title, y range labels, x ticks, the highlighted x in orange).

    Plain SVG text: sharp at any size and no plotting library in the kernel. ``width`` (user units)
    leaves room for a longer title (the height stays the same).
    """
    points = [(float(x), float(y)) for x, y in zip(xs, ys) if not _is_missing(y)]
    if not points:
        return ""
    height, left, right, top, bottom = 150.0, 42.0, 10.0 if width <= 220 else 20.0, 26.0, 24.0
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if y1 == y0:
        y0, y1 = y0 - 1.0, y1 + 1.0
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * (width - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f} {py(y):.1f}" for i, (x, y) in enumerate(points))
    dots = "".join(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{5 if x == highlight else 3}" '
                   f'fill="{PALETTE[3] if x == highlight else PALETTE[0]}"/>' for x, y in points)
    ticks = "".join(f'<text x="{px(x):.1f}" y="{height - 8:.1f}" text-anchor="middle">{int(x)}</text>'
                    for x, _y in points)
    labels = (f'<text x="{left - 5:.1f}" y="{py(y1 - pad) + 4:.1f}" text-anchor="end">'
              f'{_e(format_number(y1 - pad, lang, decimals))}</text>'
              f'<text x="{left - 5:.1f}" y="{py(y0 + pad) + 4:.1f}" text-anchor="end">'
              f'{_e(format_number(y0 + pad, lang, decimals))}</text>')
    return (f'<svg class="cocity-line" viewBox="0 0 {width:g} {height:g}" role="img" '
            f'aria-labelledby="{id_prefix}-title"><title id="{id_prefix}-title">{_e(title)}</title>'
            f'<rect x="{left:g}" y="{top:g}" width="{width - left - right:g}" height="{height - top - bottom:g}" '
            f'fill="#f6f8fa"/><text x="{width / 2:g}" y="16" text-anchor="middle" font-weight="600">{_e(title)}</text>'
            f'<g font-size="11" fill="#57606a">{ticks}{labels}</g>'
            f'<path d="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>{dots}</svg>')


def overview_k_html(view: OverviewView) -> str:
    """Cluster diagnostics per k: small line charts (SVG) and the table, the chosen k highlighted."""
    diagnostics = view.data.diagnostics
    if diagnostics is None or diagnostics.empty:
        return _section(_tv(view, "ov_k_h"), f'<p class="cocity-nodata">{_e(_tv(view, "ov_k_missing"))}</p>', "k")
    lang = view.lang
    chosen = _chosen_k(view)
    columns = [(c, t, d) for c, t, d in (("silhouette", "col_silhouette", 3), ("calinski_harabasz", "col_ch", 1),
                                         ("davies_bouldin", "col_db", 3), ("ari_mean", "col_ari", 3))
               if c in diagnostics.columns and diagnostics[c].notna().any()]
    frame = diagnostics.sort_values("k")
    rows = []
    for _i, row in frame.iterrows():
        k = int(row["k"])
        label = f"{k} ({_tv(view, 'ov_k_chosen')})" if k == chosen else str(k)
        rows.append([_e(label)] + [_e(format_number(row[c], lang, d)) for c, _t2, d in columns])
    charts = "".join(
        f'<li>{line_chart_svg(frame["k"].tolist(), frame[c].tolist(), title=_tv(view, t), highlight=chosen, lang=lang, decimals=d if d < 3 else 2, id_prefix=f"cocity-k-{c}")}</li>'
        for c, t, d in columns)
    table = _table([_tv(view, "col_k")] + [_tv(view, t) for _c, t, _d in columns], rows,
                   numeric=tuple(range(1, len(columns) + 1)))
    body = f"<p>{_e(_tv(view, 'ov_k_intro'))}</p><ul class=\"cocity-small-multiples\">{charts}</ul>{table}"
    return _section(_tv(view, "ov_k_h"), body, "k")


def overview_map_html(view: OverviewView) -> str:
    from cocity_analysis.reporting import maps as report_maps

    data = view.data
    try:
        assets = report_maps.load_map_assets(data.path)
    except Exception as exc:  # noqa: BLE001
        return _section(_tv(view, "ov_map_h"), f'<p class="cocity-nodata">{_e(_tv(view, "map_missing", reason=exc))}</p>',
                        "map")
    colours_by_cluster = profile_colours(view)
    colours = {str(c): colours_by_cluster[int(k)] for c, k in data.clusters["cluster"].items()}
    svg = report_maps.map_svg(assets, colours=colours, title=_tv(view, "ov_map_h"),
                              description=_tv(view, "ov_map_desc"), id_prefix="cocity-ovmap")
    label_col = _label_column(data.clusters, view.lang)
    labels = data.clusters.drop_duplicates("cluster").set_index("cluster")[label_col]
    legend = "".join(f'<li><span class="cocity-swatch" style="background:{colours_by_cluster[int(k)]}"></span>'
                     f"{_e(labels.get(k))}</li>" for k in sorted(colours_by_cluster))
    source = assets.layout.get("source_en" if view.lang == "en" else "source", "")
    body = (f'<ul class="cocity-legend">{legend}</ul><figure class="cocity-figure-map">{svg}'
            f'<figcaption>{_e(source)}</figcaption></figure>')
    return _section(_tv(view, "ov_map_h"), body, "map")
