"""The sections of the city report and of the overview, from the view objects."""

from __future__ import annotations

import logging
import math
import re

import pandas as pd
from markupsafe import Markup

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.reporting import italian, templating
from cocity_analysis.method.choices import ROBUSTNESS_DEFAULTS
from cocity_analysis.reporting.charts import _intervals_html, profile_colours
from cocity_analysis.reporting.formatting import _is_missing, _rank_text, _share_phrase, _share_short, _signed, _with_unit, format_number, format_score, format_share, plain_text
from cocity_analysis.reporting.messages import TEXTS, _t, _tv, area_label, short_area_label
from cocity_analysis.reporting.views import CityView, MIN_INDICATORS, OverviewView, _at_city, _label_column, _profiles_table, municipal_list_text, read_processed

log = logging.getLogger(__name__)


def _render(template_name: str, **context) -> str:
    """A section's template rendered as a plain ``str`` (the notebooks add sections to chart HTML
    with ``+``; a Markup on the right would escape a ``str`` on its left)."""
    return str(templating.render(template_name, **context))


def title_html(view: CityView) -> str:
    """Report title, the dataset's frame (date, version, run, data years) and "Come leggere questo rapporto"."""
    city = view.city
    info = view.frame_info or {}
    howto = [item.format(city=view.name, ref=view.reference) for item in TEXTS[view.lang]["howto_items"]]
    if view.lang == "it":
        howto = [italian.tidy(item) for item in howto]
    return _render(
        "title.html.j2",
        back=_tv(view, "back_to_index"),
        title=_tv(view, "title", city=city["name"], province=city.get("province_abbr") or ""),
        place=_tv(view, "province_line", province=city.get("province") or "", region=city.get("region") or ""),
        code=view.code,
        subtitle=_tv(view, "subtitle"),
        frame=_tv(view, "frame_line", date=info.get("date") or _t(view.lang, "na"),
                  version=info.get("version") or _t(view.lang, "na"),
                  run=info.get("run") or _tv(view, "frame_run_unknown"), years=info.get("years") or _t(view.lang, "na")),
        howto_heading=_tv(view, "howto_h"),
        howto=howto,
    )


def robustness_sentence(view: CityView) -> str:
    """The first area's robustness in words, calibrated on the share of runs *and* the margin
    (a near tie is called a near tie; thresholds in ``method.yaml``), then the choice that moves
    the result most. Empty when there is no ranked area."""
    first = view.first_priority
    if first is None:
        return ""
    if not view.has_uncertainty or view.robustness is None or _is_missing(view.robustness.get("share_top")):
        return _tv(view, "robust_missing")
    lang = view.lang
    r = view.robustness
    area = short_area_label(first, lang)
    share = float(r["share_top"])
    if r["level"] == "near_tie":
        second_id = r.get("runner_up") or r.get("second_area")
        if not second_id:
            second_id = r.get("second_area")
        second_share = float(view.ranking.set_index("focus_area").at[second_id, "share_top"]) if second_id else 0.0
        key = "robust_near_tie" if r.get("areas_above_mean", 0) > 0 else "robust_near_tie_below"
        text = _tv(view, key, area=area, second=short_area_label(second_id, lang),
                   share_phrase=_share_phrase(share, lang), second_phrase=_share_short(second_share, lang))
    else:
        words = TEXTS[lang]["robust_level"][r["level"]]
        if view.n_runs:
            text = _tv(view, "robust_kept_runs", area=area, runs=format_number(view.n_runs, lang, decimals=0),
                       share_phrase=_share_phrase(share, lang), words=words)
        else:
            text = _tv(view, "robust_kept", area=area, share_phrase=_share_phrase(share, lang), words=words)
        if r["level"] in ("leaning", "uncertain") and r.get("runner_up") and r.get("runner_up_share", 0) > 0:
            text += " " + _tv(view, "robust_runner_up", area=short_area_label(r["runner_up"], lang),
                              share_phrase=_share_short(float(r["runner_up_share"]), lang))
    driver = driver_sentence(view)
    return f"{text} {driver}".strip()


def driver_sentence(view: CityView) -> str:
    """Which tested choice moves the city's result most (first-order index), in words."""
    d = view.driver
    if not d:
        return ""
    if not d.get("moves"):
        return _tv(view, "driver_none")
    lang = view.lang
    first = short_area_label(view.first_priority, lang)
    never = float(d["kept_min"]) <= 0
    if d["choice"] == "leave_one_out" and d.get("weakest_option"):
        labels = dict(zip(view.indicators["id"], view.indicators["label"]))
        what = _tv(view, "driver_leave_out_never" if never else "driver_leave_out",
                   indicator=labels.get(d["weakest_option"], d["weakest_option"]),
                   area=short_area_label(str(d["area"]), lang), first=first,
                   share_phrase=_share_phrase(float(d["kept_min"]), lang))
    else:
        name = TEXTS[lang]["choice_names"].get(d["choice"], d["choice"])
        what = _tv(view, "driver_choice_never" if never else "driver_choice", what=name, first=first,
                   share_phrase=_share_phrase(float(d["kept_min"]), lang))
    return _tv(view, "driver_sentence", what=what)


def _above_below(view: CityView) -> tuple[list[str], list[str]]:
    ranked = view.ranking.dropna(subset=["rank"])
    above = [short_area_label(a, view.lang) for a, d in zip(ranked["focus_area"], ranked["distance"]) if d > 0]
    below = [short_area_label(a, view.lang) for a, d in zip(ranked["focus_area"], ranked["distance"]) if not d > 0]
    return above, below


def first_area_text(view: CityView) -> list[str]:
    """Areas above and below the reference mean said plainly, then the first area (or, when no area
    is above the mean, that the order is only relative), then its robustness."""
    lang = view.lang
    first = view.first_priority
    if first is None:
        return [_tv(view, "summary_first_none")]
    above, below = _above_below(view)
    join = lambda items: italian.join_list(items, lang)  # noqa: E731
    if not above:
        parts = [_tv(view, "sum_none_above", city=view.name, ref_short=view.ref_short, below=join(below))]
    elif not below:
        parts = [_tv(view, "sum_all_above", city=view.name, ref_short=view.ref_short, above=join(above))]
    else:
        parts = [_tv(view, "sum_above_below", city=view.name, ref_short=view.ref_short, above=join(above),
                     below=join(below))]
    row = view.ranking[view.ranking["focus_area"] == first].iloc[0]
    mean = format_score(row["mean_ref"], lang)
    if above:
        higher = int((view_scores_higher(view, first)))
        words = (_tv(view, "rank_words_none") if higher == 0 else _tv(view, "rank_words_one") if higher == 1
                 else _tv(view, "rank_words_some", k=higher))
        parts.append(_tv(view, "sum_first_above", area=area_label(first, lang), score=format_score(row["score"], lang),
                         mean=mean, rank_words=words))
    else:
        parts.append(_tv(view, "sum_first_none_above", area=area_label(first, lang),
                         score=format_score(row["score"], lang), mean=mean))
    parts.append(robustness_sentence(view))
    return parts


def view_scores_higher(view: CityView, area: str) -> int:
    """How many of the other analysed cities have a higher score than the city in ``area``."""
    scores = read_processed(view.processed_dir).scores
    if area not in scores.columns or view.code not in scores.index:
        return 0
    mine = scores.at[view.code, area]
    return int((scores[area].drop(index=view.code) > mine).sum())


def profile_values_text(view: CityView) -> list[str]:
    """The city's own values beside its profile's, and a warning when the city is on the other side
    of the mean on an indicator that names its profile."""
    if not view.profile_values:
        return []
    lang = view.lang
    labels = dict(zip(view.indicators["id"], view.indicators["label"]))
    units = dict(zip(view.indicators["id"], view.indicators["unit"]))
    parts = [_tv(view, "profile_values_intro", city=view.name)]
    warnings = []
    for item in view.profile_values:
        ind = item["indicator"]
        unit = units.get(ind, "")
        parts.append(_tv(view, "profile_values_row", label=labels.get(ind, ind),
                         city_value=_with_unit(item["city"], unit, lang), prep_city=_at_city(view.name, lang),
                         profile_value=_with_unit(item["profile"], unit, lang),
                         all_value=_with_unit(item["all"], unit, lang)))
        if item["city_side"] is not None and item["side"] == "+" and item["city_side"] == "-":
            warnings.append(_tv(view, "profile_member_differs", label=labels.get(ind, ind), city=view.name,
                                side=_tv(view, "side_lower")))
        elif item["city_side"] is not None and item["side"] == "-" and item["city_side"] == "+":
            warnings.append(_tv(view, "profile_member_differs", label=labels.get(ind, ind), city=view.name,
                                side=_tv(view, "side_higher")))
    return parts + warnings


def summary_html(view: CityView) -> str:
    """The summary box: profile (named from its need indicators, with the city's own values), the
    areas above and below the mean and the first area with its robustness, data coverage."""
    lang = view.lang
    name = view.name
    profile = (_tv(view, "summary_profile", city=name, profile=view.profile_label, n_peers=len(view.peers))
               if view.peers else _tv(view, "summary_profile_alone", city=name, profile=view.profile_label))
    profile_parts = [profile] + profile_values_text(view)
    if view.stability is not None:
        trials = "prove ripetute" if lang == "it" else "repeated trials"
        profile_parts.append(_tv(view, "stability_sentence", city=name,
                                 share_phrase=italian.share_of(view.stability, trials, lang,
                                                               noun_singular="prova" if lang == "it" else "trial")))
    first_parts = first_area_text(view)
    data_parts = [_tv(view, "summary_coverage", city=name, n_ok=view.n_indicators_available,
                      n_all=view.n_indicators)]
    if view.areas_without_data:
        data_parts.append(_tv(view, "summary_areas_missing",
                              areas="; ".join(area_label(a, lang) for a in view.areas_without_data)))
    limited = [f"{short_area_label(a, lang)} ({view.limited_evidence(a)})" for a in FOCUS_AREAS
               if view.limited_evidence(a)]
    if limited:
        data_parts.append(_tv(view, "summary_limited", min=MIN_INDICATORS, areas="; ".join(limited)))
    n_treated = int((view.indicators["treatment"].notna() | view.indicators["screening"].notna()).sum())
    if n_treated:
        data_parts.append(_tv(view, "summary_treated", count=n_treated))
    n_imputed = int(view.indicators["imputed"].sum())
    if n_imputed:
        data_parts.append(_tv(view, "summary_imputed", count=n_imputed))
    if len(view.missing):
        data_parts.append(_tv(view, "summary_missing_link"))
    blocks = []
    for heading, parts in (("sum_profile_h", profile_parts), ("sum_first_h", first_parts), ("sum_data_h", data_parts)):
        paragraphs = [p for p in parts if p]
        if heading == "sum_data_h":  # the data notes read as one paragraph
            paragraphs = [" ".join(paragraphs)]
        blocks.append({"heading": _tv(view, heading), "paragraphs": paragraphs})
    return _render("summary.html.j2", heading=_tv(view, "summary_h"), blocks=blocks)


def ranking_html(view: CityView) -> str:
    """The four areas in priority order, then how robust the order is (rank intervals)."""
    lang = view.lang
    ranked, unranked = [], []
    for row in view.ranking.to_dict("records"):
        if _is_missing(row["rank"]):
            unranked.append(_tv(view, "ranking_item_none", area=row["label"], status=row["status"]))
        else:
            distance = row.get("distance")
            position = ("position_at" if _is_missing(distance) or abs(float(distance)) < 0.005
                        else "position_above" if float(distance) > 0 else "position_below")
            ranked.append({"text": _tv(view, "ranking_item", area=row["label"], score=format_score(row["score"], lang),
                                       mean=format_score(row.get("mean_ref"), lang), position=_tv(view, position)),
                           "limited": view.limited_evidence(row["focus_area"])})
    sentence = robustness_sentence(view)
    return _render(
        "ranking.html.j2",
        heading=_tv(view, "ranking_h"),
        intro=_tv(view, "ranking_intro", ref_short=view.ref_short),
        ranked=ranked,
        limited_note=(_tv(view, "limited_evidence_note", min=MIN_INDICATORS)
                      if any(view.limited_evidence(a) for a in FOCUS_AREAS) else ""),
        unranked=unranked,
        robustness=sentence if view.has_uncertainty else "",
        intervals=Markup(_intervals_html(view)) if view.has_uncertainty else None,
        intervals_missing=_tv(view, "intervals_missing"),
    )


def stated_html(view: CityView) -> str:
    """Stated (questionnaire) vs data-driven priorities of the city, area by area, with the large gaps
    (two places or more) flagged; a plain sentence when the city's answers are not available."""
    from cocity_analysis.sources import questionnaire

    lang = view.lang
    heading = _tv(view, "stated_h")
    if view.stated_error:
        return _render("stated.html.j2", heading=heading,
                       nodata=_tv(view, "stated_unreadable", reason=view.stated_error))
    if view.stated is None or view.stated.empty:
        return _render("stated.html.j2", heading=heading, nodata=_tv(view, "stated_none", city=view.name))
    by_area = view.stated.set_index("focus_area")
    data_rank = view.ranking.set_index("focus_area")["rank"]
    rows, large_gaps = [], []
    for area in FOCUS_AREAS:
        data_text = _rank_text(data_rank.get(area), lang)
        if area not in by_area.index:
            rows.append([area_label(area, lang), _tv(view, "stated_not_given"), _t(lang, "na"),
                         data_text, _tv(view, "stated_gap_na")])
            large_gaps.append(False)
            continue
        r = by_area.loc[area]
        count = int(r["responses"])
        value = float(r["stated_priority"])
        stated_text = format_number(value, lang, decimals=0 if value.is_integer() else 1)
        if count > 1:
            stated_text = _tv(view, "stated_mean", value=stated_text, count=count)
        gap = r["gap"]
        large = not _is_missing(gap) and bool(r["large_gap"])
        if _is_missing(gap):
            flag = _tv(view, "stated_gap_na")
        elif large:
            flag = _tv(view, "stated_gap_higher" if gap < 0 else "stated_gap_lower", places=_rank_text(abs(gap), lang))
        else:
            flag = _tv(view, "stated_gap_small")
        rows.append([area_label(area, lang), stated_text, _rank_text(r["stated_rank"], lang), data_text, flag])
        large_gaps.append(large)
    return _render(
        "stated.html.j2",
        heading=heading,
        nodata="",
        intro=_tv(view, "stated_intro", city=view.name, gap=questionnaire.LARGE_GAP),
        headers=[_tv(view, k) for k in ("col_area", "col_stated_priority", "col_stated_rank", "col_data_rank",
                                        "col_gap")],
        rows=rows,
        large_gaps=large_gaps,
        responses=_tv(view, "stated_responses", count=int(view.stated["responses"].sum())),
    )


def peers_html(view: CityView) -> str:
    """Similar cities: the nearest in profile with what they share and where they differ, then the
    other members of the city's profile."""
    lang = view.lang
    first = view.first_priority
    nearest = []
    for peer in view.nearest:
        profile = (_tv(view, "nearest_same_profile") if peer["same_profile"]
                   else _tv(view, "nearest_other_profile", profile=peer["profile"]))
        if peer["first_priority"] is None:
            priority = _tv(view, "nearest_first_none")
        elif peer["first_priority"] == first:
            priority = _tv(view, "nearest_first_same", area=short_area_label(first, lang))
        else:
            priority = _tv(view, "nearest_first_other", area=short_area_label(peer["first_priority"], lang))
        nearest.append({"name": peer["name"], "province_abbr": peer["province_abbr"], "profile": profile,
                        "priority": priority,
                        "common": "; ".join(peer["common"] or [_tv(view, "nearest_none_common")]),
                        "differ": "; ".join(peer["differ"])})
    return _render(
        "peers.html.j2",
        heading=_tv(view, "nearest_h"),
        nearest=nearest,
        nearest_intro=_tv(view, "nearest_intro", k=len(view.nearest), city=view.name),
        common_label=_tv(view, "nearest_common"),
        differ_label=_tv(view, "nearest_differ"),
        members_heading=_tv(view, "profile_members_h", profile=view.profile_label),
        peers=list(view.peers),
        peers_none=_tv(view, "peers_none"),
    )


def practices_html(view: CityView) -> str:
    """Good practices from the Turin visit matched to the city's first two priorities (facts only)."""
    lang = view.lang
    practices = [{
        "name": practice["name"],
        "visited": bool(practice.get("visited")),
        "description": practice[f"description_{lang}"],
        "facts": practice.get(f"facts_{lang}") or [],
        "match": _tv(view, "practice_match", areas=", ".join(short_area_label(a, lang) for a in practice["matched"])),
        "why": _tv(view, "practice_why", text=practice[f"rationale_{lang}"]),
    } for practice in view.practices or []]
    return _render(
        "practices.html.j2",
        heading=_tv(view, "practices_h"),
        practices=practices,
        none_text=_tv(view, "practices_none", city=view.name),
        intro=_tv(view, "practices_intro", city=view.name),
        visited_label=_tv(view, "practice_visited"),
        source=_tv(view, "practices_source", source=view.practices_source) if practices else "",
    )


def _notes(row, view: CityView, footnotes: list[str]) -> str:
    """Short note for the data-notes table; the long explanation goes to ``footnotes`` ([n] markers)."""
    notes = []

    def mark(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f"[{footnotes.index(text) + 1}]"

    if not _is_missing(row.get("register_gap")) and row.get("register_gap"):
        # said in full, not behind a footnote: the reader must not take this zero as "no need" or "most need"
        notes.append(_tv(view, "note_register_gap", text=str(row["register_gap"])))
    if not _is_missing(row["treatment"]) and row["treatment"]:
        notes.append(f"{_tv(view, 'note_treated')} {mark(str(row['treatment']))}")
    if not _is_missing(row["screening"]) and row["screening"]:
        notes.append(f"{_tv(view, 'note_screened')} {mark(str(row['screening']))}")
    if bool(row["imputed"]):
        how = f" ({row['imputation']})" if not _is_missing(row["imputation"]) and row["imputation"] else ""
        notes.append(_tv(view, "note_imputed", how=how))
    return "; ".join(notes) if notes else _tv(view, "note_none")


def indicators_html(view: CityView) -> str:
    """Data notes: per area, every indicator for the city beside its region, the South and Islands and
    Italy (``benchmarks.parquet``), with relative need, reading, year, percentiles when computed and notes;
    the sources under each table (dataset ids are in the method annex)."""
    lang = view.lang
    with_pct = bool(view.indicators[["pct_italy", "pct_south"]].notna().any().any())
    with_bench = bool(view.indicators[["region_value", "south_value", "italy_value"]].notna().any().any())
    headers = [_tv(view, "col_indicator"), _tv(view, "col_city_value", city=view.name)]
    numeric = [1]
    if with_bench:
        headers += [_tv(view, "col_region_value", region=view.city.get("region") or ""),
                    _tv(view, "col_south_value"), _tv(view, "col_italy_value")]
        numeric += [2, 3, 4]
    headers += [_tv(view, "col_need"), _tv(view, "col_direction"), _tv(view, "col_year")]
    numeric.append(len(headers) - 3)
    if with_pct:
        headers.append(_tv(view, "col_pct"))
        numeric.append(len(headers) - 1)
    headers.append(_tv(view, "col_notes"))
    footnotes: list[str] = []
    areas = []
    need_rows = view.need_indicators.to_dict("records")  # once: a small frame, read row by row below
    for area in view.scores.index:
        entry = {"label": view.scores.at[area, "label"], "no_indicators": ""}
        areas.append(entry)
        score = view.scores.at[area, "city"]
        rows = [r for r in need_rows if r["focus_area"] == area]
        available = [r for r in rows if r["available"]]
        if math.isnan(score) and all(_is_missing(r["value"]) for r in available):
            entry["no_indicators"] = _tv(view, "area_no_indicators")
            continue
        entry["score"] = "" if math.isnan(score) else _tv(view, "area_score", score=format_score(score, lang))
        entry["limited"] = view.limited_evidence(area)
        table_rows = []
        for r in available:
            direction = _tv(view, "dir_less") if r["direction"] == "less_need" else _tv(view, "dir_more")
            # the unit once, under the indicator's name (values stay short: the table fits the page)
            unit = str(r["unit"] or "")
            short = unit if unit == "%" else ""
            value_text = _with_unit(r["value"], short, lang)
            if not _is_missing(r["register_gap"]) and r["register_gap"]:
                value_text += f" ({_tv(view, 'register_gap')})"
            cells = [{"label": r["label"], "unit": unit if unit and not short else ""}, value_text]
            if with_bench:
                cells += [_with_unit(r[c], short, lang) for c in ("region_value", "south_value", "italy_value")]
            cells += [format_score(r["need"], lang), direction, r["reference_year"]]
            if with_pct:
                cells.append(f"{format_score(r['pct_italy'], lang)} / {format_score(r['pct_south'], lang)}")
            cells.append(_notes(r, view, footnotes))
            table_rows.append(cells)
        entry["rows"] = table_rows
        sources = list(dict.fromkeys(plain_text(f"{r['source']} – {r['dataset']}" if r["dataset"] else r["source"], lang)
                                     for r in available))
        entry["sources"] = _tv(view, "sources_line", sources="; ".join(sources)) if sources else ""
        n_unavailable = sum(1 for r in rows if not r["available"])
        entry["some_missing"] = _tv(view, "area_some_missing", count=n_unavailable) if n_unavailable else ""
    superseded = ""
    if view.superseded:
        items = "; ".join(_tv(view, "superseded_item", **item) for item in view.superseded)
        superseded = _tv(view, "superseded_note", items=items)
    return _render(
        "indicators.html.j2",
        heading=_tv(view, "notes_h"),
        intro=_tv(view, "indicators_intro", city=view.name),
        pct_note=_tv(view, "pct_note", city=view.name) if with_pct else "",
        headers=headers,
        numeric=tuple(numeric),
        areas=areas,
        footnotes_heading=_tv(view, "footnotes_h"),
        footnotes=footnotes,
        superseded=superseded,
    )


def context_html(view: CityView) -> str:
    """"Contesto della città": the context indicators (age structure, density ...) with value, the mean
    of the cities, source and year, clearly apart from the needs (they count in no score or priority)."""
    lang = view.lang
    heading = _tv(view, "context_h")
    if view.context is None or view.context.empty:
        return _render("context.html.j2", heading=heading, nodata=_tv(view, "context_none"))
    rows = []
    for r in view.context.to_dict("records"):
        source = plain_text(r["source"] + (f" – {r['dataset']}" if r["dataset"] else ""), view.lang)
        rows.append([r["label"], format_number(r["value"], lang), format_number(r["mean_39"], lang),
                     r["unit"], source, r["reference_year"]])
    return _render(
        "context.html.j2",
        heading=heading,
        nodata="",
        intro=_tv(view, "context_intro", city=view.name),
        headers=[_tv(view, "col_indicator"), _tv(view, "col_value"), _tv(view, "col_mean"), _tv(view, "col_unit"),
                 _tv(view, "col_source"), _tv(view, "col_year")],
        rows=rows,
    )


def missing_html(view: CityView) -> str:
    """The "Dati mancanti" section: which indicators are missing and why."""
    lang = view.lang
    heading = _tv(view, "missing_h")
    if view.missing.empty and not view.areas_without_data:
        return _render("missing.html.j2", heading=heading, none_text=_tv(view, "missing_none", city=view.name))
    rows = [[r["label"], area_label(str(r["focus_area"]), lang), r["reason"]] for r in view.missing.to_dict("records")]
    empty_areas = [area_label(a, lang) for a in view.areas_without_data
                   if not (view.indicators["focus_area"] == a).any()]
    return _render(
        "missing.html.j2",
        heading=heading,
        none_text="",
        intro=_tv(view, "missing_intro", city=view.name),
        headers=[_tv(view, "col_indicator"), _tv(view, "col_area"), _tv(view, "col_reason")],
        rows=rows,
        empty_areas=empty_areas,
        empty_text=_tv(view, "missing_area_empty"),
    )


def _method_items(lang: str, method: dict, seed, n: int, ref: str) -> list[str]:
    seed_text = _t(lang, "seed", seed=seed) if seed is not None else ""
    clustering = ""
    inputs = method.get("clustering_inputs")
    if isinstance(inputs, (list, tuple)) and inputs:
        clustering += _t(lang, "clustering_inputs", count=len(inputs))
    k = method.get("k_chosen")
    if isinstance(k, int):
        clustering += _t(lang, "clustering_k", k=k)
        k_range = method.get("k_select") or method.get("k_range")
        if isinstance(k_range, (list, tuple)) and len(k_range) == 2 and method.get("k") in (None, "null"):
            clustering += _t(lang, "clustering_k_range", k0=k_range[0], k1=k_range[1])
    names = TEXTS[lang]["method_names"]
    norms = TEXTS[lang]["normalisation_names"]
    items = [item.format(seed=seed_text, clustering=clustering, n=n, n1=n - 1, ref=ref,
                         clustering_method=names.get(method.get("clustering", "kmeans"), "k-means"),
                         normalisation=norms.get(method.get("normalisation", "minmax"), "min-max"))
             for item in TEXTS[lang]["method_items"]]
    return [italian.tidy(item) for item in items] if lang == "it" else items


def method_html(view: CityView) -> str:
    """The method annex: the priority rule with an example from the city's data, the uncertainty
    design (what was varied and what was not, and why), the thresholds of the robustness words, the
    reference values, profiles and similar cities, sources with dataset ids, and a glossary.
    Technical terms live here (``cocity-annex``), not in the text above."""
    lang = view.lang
    texts = TEXTS[lang]
    means = "; ".join(f"{short_area_label(a, lang)} {format_score(m, lang)}" for a, (m, _sd) in view.sd_39.items())
    example = distances = ""
    ranked = view.ranking.dropna(subset=["rank"])
    if len(ranked):
        row = ranked.iloc[0]
        area = str(row["focus_area"])
        if area in view.sd_39:
            mean, sd = view.sd_39[area]
            example = _tv(view, "annex_rule_example", city=view.name, area=short_area_label(area, lang),
                          score=format_number(row["score"], lang, 1), mean=format_number(mean, lang, 1),
                          sd=format_number(sd, lang, 1), distance=_signed(row["distance"], lang))
        items = "; ".join(f"{short_area_label(a, lang)} {_signed(d, lang)}" for a, d in zip(ranked["focus_area"], ranked["distance"]))
        distances = _tv(view, "annex_distances", city=view.name, items=items)
    # uncertainty design
    method = view.method
    mc = method.get("monte_carlo") or {}
    tested, untested = [], []
    names = texts["annex_tested_names"]
    option_names = {**texts["normalisation_names"], **texts["mc_option_names"]}
    for choice in view.mc_choices:
        if choice.get("tested"):
            options = str(choice.get("options") or "").split(";")
            if choice["choice"] == "leave_one_out":
                tested.append(names["leave_one_out"].format(area=short_area_label(str(choice.get("area")), lang),
                                                            count=len(options) - 1))
            elif choice["choice"] in names:
                tested.append(names[choice["choice"]].format(
                    options=", ".join(option_names.get(o, o) for o in options),
                    concentration=format_number(method.get("dirichlet_concentration"), lang, 0),
                    area_concentration=format_number(method.get("area_weight_concentration"), lang, 0)))
        else:
            untested.append(_untested_text(choice, lang, option_names))
    uncertainty = ""
    if mc:
        uncertainty = _tv(view, "annex_uncertainty", runs=format_number(mc.get("runs"), lang, 0),
                          seed=mc.get("random_state", view.seed),
                          tested="; ".join(tested) or _tv(view, "annex_untested_none"),
                          untested="; ".join(untested) or _tv(view, "annex_untested_none"))
    thresholds = dict(ROBUSTNESS_DEFAULTS)
    thresholds.update(method.get("robustness") or {})
    return _render(
        "method.html.j2",
        heading=_tv(view, "annex_h"),
        rule_heading=_tv(view, "annex_rule_h"),
        rule=_tv(view, "annex_rule", means=means),
        example=example,
        distances=distances,
        uncertainty_heading=_tv(view, "annex_uncertainty_h"),
        uncertainty=uncertainty,
        thresholds=_tv(view, "annex_thresholds",
                       near_tie_distance=format_number(thresholds["near_tie_distance"], lang, 2),
                       near_tie_share_pct=format_number(thresholds["near_tie_share"] * 100, lang, 0),
                       very_solid_pct=format_number(thresholds["very_solid"] * 100, lang, 0),
                       very_solid_distance=format_number(thresholds["very_solid_distance"], lang, 2),
                       solid_pct=format_number(thresholds["solid"] * 100, lang, 0),
                       leaning_pct=format_number(thresholds["leaning"] * 100, lang, 0)),
        benchmarks_heading=_tv(view, "annex_benchmarks_h"),
        benchmarks=_tv(view, "annex_benchmarks"),
        profiles_heading=_tv(view, "annex_profiles_h"),
        method_items=_method_items(lang, view.method, view.seed, view.n_cities, view.reference),
        municipal_list=view.municipal_list,
        sources_heading=_tv(view, "annex_sources_h"),
        sources=list(view.sources or []),
        glossary_heading=_tv(view, "glossary_h"),
        glossary=texts["glossary"],
    )


def _untested_text(choice: dict, lang: str, option_names: dict) -> str:
    """Why a Monte Carlo choice was not counted as tested, in the report language."""
    note = str(choice.get("note") or "")
    texts = TEXTS[lang]["mc_untested"]
    same = re.match(r"(\w+): same values as (\w+)", note)
    if same:
        return texts["same"].format(option=option_names.get(same.group(1), same.group(1)),
                                    other=option_names.get(same.group(2), same.group(2)))
    if note == "one indicator only":
        return texts["one_indicator"].format(area=short_area_label(str(choice.get("area")), lang))
    if note == "one option only":
        return texts["one_option"].format(choice=TEXTS[lang]["choice_names"].get(choice["choice"], choice["choice"]))
    return texts["other"].format(choice=TEXTS[lang]["choice_names"].get(choice["choice"], choice["choice"]), note=note)


def overview_title_html(view: OverviewView) -> str:
    """The overview's title block: link back to the index, title, subtitle, introduction."""
    return _render("overview_title.html.j2", back=_tv(view, "back_to_index"), title=_tv(view, "ov_title"),
                   subtitle=_tv(view, "subtitle"), intro=_tv(view, "ov_intro"))


def overview_profiles_html(view: OverviewView) -> str:
    """One card per need profile: colour of the map, name, portrait, member cities, mean scores."""
    lang = view.lang
    colours = profile_colours(view)
    cards = []
    for _i, row in _profiles_table(view).iterrows():
        scores = "; ".join(f"{short_area_label(a, lang)} {format_score(row[a], lang)}" for a in FOCUS_AREAS
                           if not _is_missing(row[a]))
        cards.append({
            "colour": colours[row["cluster"]],
            "label": row["label"],
            "portrait": row["portrait"] or "",
            "cities": _tv(view, "ov_profile_cities", count=row["size"], names=", ".join(row["names"])),
            "scores": _tv(view, "ov_profile_scores", scores=scores or _tv(view, "na")),
        })
    return _render("overview_profiles.html.j2", heading=_tv(view, "ov_profiles_h"), cards=cards)


STABLE_SHARE = 0.95


def overview_stability_html(view: OverviewView) -> str:
    """Cities whose profile membership is least stable under resampling (below 95%), in a table;
    the others summed up in one sentence."""
    data, lang = view.data, view.lang
    heading = _tv(view, "ov_stability_h")
    if "stability" not in data.clusters.columns or data.clusters["stability"].isna().all():
        return _render("overview_stability.html.j2", heading=heading, nodata=_tv(view, "ov_stability_missing"))
    label_col = _label_column(data.clusters, lang)
    frame = data.clusters.reindex(data.cities.index)
    frame = frame.assign(name=data.cities["name"]).sort_values(["stability", "name"])
    border = frame[frame["stability"] < STABLE_SHARE]
    stable = int((frame["stability"] >= STABLE_SHARE).sum())
    runs = (data.provenance.get("method") or {}).get("bootstrap_runs")
    return _render(
        "overview_stability.html.j2",
        heading=heading,
        nodata="",
        intro=_tv(view, "ov_stability_intro"),
        stable=_tv(view, "ov_stability_stable", count=stable, share=format_share(STABLE_SHARE, lang)),
        headers=[_tv(view, "col_city"), _tv(view, "col_profile"), _tv(view, "col_stability")],
        rows=[[r["name"], r[label_col], format_share(r["stability"], lang)] for _c, r in border.iterrows()],
        runs=(_tv(view, "ov_stability_runs", runs=format_number(runs, lang, 0))
              if isinstance(runs, (int, float)) and runs > 0 else ""),
    )


def overview_priorities_html(view: OverviewView) -> str:
    """Every city (alphabetical) with its profile, its areas in priority order, the share of runs
    keeping its first area first and the robustness word."""
    data, lang = view.data, view.lang
    label_col = _label_column(data.clusters, lang)
    has_share = "share_top" in data.priorities.columns
    headers = [_tv(view, "col_city"), _tv(view, "col_profile")] + [f"{i}ª" if lang == "it" else f"#{i}"
                                                                   for i in range(1, len(FOCUS_AREAS) + 1)]
    if has_share:
        headers.append(_tv(view, "col_share"))
    robust = None
    if data.robustness is not None:
        robust = data.robustness.assign(istat_code=data.robustness["istat_code"].astype(str)).set_index("istat_code")
        headers.append(_tv(view, "col_robustness"))
    has_distance = "distance" in data.priorities.columns
    rows = []
    for code, city in sorted(data.cities.iterrows(), key=lambda item: str(item[1]["name"]).casefold()):
        pri = data.priorities[data.priorities["istat_code"] == code].dropna(subset=["rank"]).sort_values("rank")
        cells = [city["name"], data.clusters.at[code, label_col] if code in data.clusters.index else ""]
        areas = []
        for _i, r in pri.iterrows():
            text = f"{short_area_label(r['focus_area'], lang)} ({format_score(r['score'], lang)})"
            if has_distance and not _is_missing(r["distance"]):
                text += " " + _tv(view, "ov_above" if r["distance"] > 0 else "ov_below")
            areas.append(text)
        cells += areas + [_tv(view, "na")] * (len(FOCUS_AREAS) - len(areas))
        if has_share:
            share = pri["share_top"].iloc[0] if len(pri) else math.nan
            cells.append(format_share(share, lang))
        if robust is not None:
            level = robust["level"].get(code) if code in robust.index else None
            cells.append(TEXTS[lang]["ov_levels"].get(level, _t(lang, "na")))
        rows.append(cells)
    return _render("overview_priorities.html.j2", heading=_tv(view, "ov_priorities_h"),
                   intro=_tv(view, "ov_priorities_intro"), headers=headers, rows=rows)


def _frame_table(frame: pd.DataFrame, lang: str) -> dict:
    """Any DataFrame as the ``table`` macro's arguments (numbers formatted for the language)."""
    frame = frame.reset_index() if frame.index.name is not None else frame
    numeric = tuple(i for i, c in enumerate(frame.columns) if frame[c].dtype.kind in "fiu")
    rows = [[format_number(v, lang) if i in numeric else "" if _is_missing(v) else v for i, v in enumerate(row)]
            for _i, row in frame.iterrows()]
    return {"headers": [str(c) for c in frame.columns], "rows": rows, "numeric": numeric}


def overview_coverage_html(view: OverviewView) -> str:
    """The sources' coverage table, when :mod:`cocity_analysis.method.coverage` exists (empty string otherwise)."""
    try:
        from cocity_analysis.method import coverage  # type: ignore[attr-defined]
    except ImportError:
        return ""
    function = getattr(coverage, "coverage_table", None)
    if function is None:
        return ""
    try:
        table = function(view.data.path)
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the overview
        log.warning("tabella di copertura non disponibile: %s", exc)
        return ""
    if not isinstance(table, pd.DataFrame) or table.empty:
        return ""
    lang = view.lang
    heading = _tv(view, "ov_coverage_h")
    known = {"focus_area", "indicator", "source", "reference_year", "cities_with_value", "cities_total", "status"}
    if not known <= set(table.columns):
        return _render("overview_coverage.html.j2", heading=heading, generic=_frame_table(table, lang))
    labels = {e["id"]: e.get("label_en" if lang == "en" else "label_it") or e["id"]
              for e in view.data.catalogue.get("indicators", [])}
    rows = []
    for _i, r in table.iterrows():
        indicator = None if _is_missing(r["indicator"]) else str(r["indicator"])
        reason = r.get("missing_reason_en" if lang == "en" else "missing_reason")
        rows.append([
            short_area_label(str(r["focus_area"]), lang),
            labels.get(indicator, indicator) if indicator else _tv(view, "no_data"),
            "" if _is_missing(r["source"]) else r["source"],
            "" if _is_missing(r["reference_year"]) else r["reference_year"],
            _tv(view, "ov_cov_cities", k=int(r["cities_with_value"]), total=int(r["cities_total"])),
            r["status"] if lang == "it" or "status_en" not in table.columns else r["status_en"],
            "" if _is_missing(reason) else reason,
        ])
    headers = [_tv(view, k) for k in ("col_area", "col_indicator", "col_source", "col_year", "ov_cov_with",
                                      "ov_cov_status", "col_reason")]
    try:
        summary = coverage.coverage_by_area(view.data.path, table)
        context = coverage.context_table(view.data.path)
    except Exception as exc:  # noqa: BLE001 - an optional part must not sink the overview
        log.warning("riepilogo della copertura non disponibile: %s", exc)
        summary = context = None
    by_area = None
    if summary is not None:
        by_area = []
        for area, r in summary.iterrows():
            years = f" ({r['years']})" if r.get("years") else ""
            by_area.append(_tv(view, "ov_cov_area", area=short_area_label(str(area), lang),
                               k=int(r["indicators_with_values"]), total=int(r["indicators"]), years=years,
                               min=coverage.MIN_INDICATORS, n_min=int(r["cities_with_min_indicators"])))
    context_rows = []
    if context is not None and len(context):
        context_rows = [[labels.get(r["indicator"], r["indicator"]),
                         "" if _is_missing(r["source"]) else r["source"],
                         "" if _is_missing(r["reference_year"]) else r["reference_year"],
                         _tv(view, "ov_cov_cities", k=int(r["cities_with_value"]), total=int(r["cities_total"]))]
                        for _i, r in context.iterrows()]
    return _render(
        "overview_coverage.html.j2",
        heading=heading,
        generic=None,
        intro=_tv(view, "ov_coverage_intro"),
        by_area=by_area,
        headers=headers,
        rows=rows,
        context_heading=_tv(view, "ov_context_h"),
        context_headers=[_tv(view, k) for k in ("col_indicator", "col_source", "col_year", "ov_cov_with")],
        context_rows=context_rows,
    )


def overview_stated_html(view: OverviewView) -> str:
    """Stated (questionnaire) vs data-driven first priority, when ``stated_priorities.parquet`` exists:
    a count matrix and the large gaps, from :func:`cocity_analysis.sources.questionnaire.compare` (priority
    5 = highest; empty string when the file or the module is absent)."""
    path = view.data.path / "stated_priorities.parquet"
    if not path.is_file():
        return ""
    lang = view.lang
    try:
        from cocity_analysis.sources import questionnaire

        table = questionnaire.compare(pd.read_parquet(path), view.data.priorities)
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the overview
        log.warning("%s non leggibile: %s", path, exc)
        return _render("overview_stated.html.j2", heading=_tv(view, "ov_stated_h"),
                       nodata=_tv(view, "ov_stated_unreadable", columns=str(exc)))
    if table.empty:
        return ""
    firsts = table[table["stated_rank"] == 1.0]  # a tie for first (rank 1.5, ...) names no single area
    stated = firsts.drop_duplicates("istat_code", keep=False).set_index("istat_code")["focus_area"].astype(str)
    both = pd.DataFrame({"stated": stated, "data": view.first}).dropna()
    areas = list(FOCUS_AREAS)
    matrix = pd.crosstab(both["stated"], both["data"]).reindex(index=areas, columns=areas, fill_value=0)
    gaps = table[table["large_gap"].astype(bool)]
    names = view.data.cities["name"]
    gap_rows = [[names.get(r["istat_code"], r["istat_code"]), short_area_label(r["focus_area"], lang),
                 format_number(r["stated_rank"], lang, 1), format_number(r["data_rank"], lang, 0),
                 "" if _is_missing(r["note"]) else r["note"]] for _i, r in gaps.iterrows()]
    return _render(
        "overview_stated.html.j2",
        heading=_tv(view, "ov_stated_h"),
        nodata="",
        intro=_tv(view, "ov_stated_intro", count=len(both)),
        headers=[_tv(view, "col_stated")] + [short_area_label(a, lang) for a in areas],
        rows=[[short_area_label(a, lang)] + [int(matrix.at[a, b]) for b in areas] for a in areas],
        matrix_numeric=tuple(range(1, len(areas) + 1)),
        gaps_heading=_tv(view, "ov_stated_gaps_h"),
        gap_headers=[_tv(view, "col_city"), _tv(view, "col_area"), _tv(view, "ov_stated_rank"),
                     _tv(view, "ov_data_rank"), _tv(view, "col_notes")],
        gap_rows=gap_rows,
    )


def overview_method_html(view: OverviewView) -> str:
    """The overview's method notes (the same items as the city reports' annex) and the municipal list used."""
    method = dict(view.data.provenance.get("method") or {})
    texts = _method_items(view.lang, method, view.data.provenance.get("seed"), view.n_cities, view.reference)
    listing = municipal_list_text(view.data.provenance, view.lang)
    if listing:
        texts.append(listing)
    return _render("overview_method.html.j2", heading=_tv(view, "method_h"), texts=texts)


