"""The Italian of all 39 city reports, generated from the real data: prepositions, articles,
percentages and ranks as people write them, and no jargon in the text read by cities.

The reports are built in process with the same functions the report notebook calls
(``notebooks/city_report.ipynb``); the method annex (``cocity-annex``), where technical terms
belong, is left out of the jargon check.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from cocity_analysis.reporting import charts, sections, views

MODULES = {"sections": sections, "charts": charts}

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "city_report.ipynb"

#: (pattern, what is wrong) — any match fails the test
WRONG = [
    (r"(?<![\w'’])a [AÀ]", "'a' before an A: 'ad' (ad Andria)"),
    (r"(?<![\w'’])ad [EIOUÈÉÌÒÙ]", "'ad' before another vowel: 'a' (a Olbia)"),
    (r"\b(?:nel|del|al|dal|sul|il) 0(?:[,.]\d+)?%", "'nel 0%': 'nello 0%'"),
    (r"\b(?:nel|del|al|dal|sul|il) 8", "'nel 8..': 'nell'8..'"),
    (r"\b(?:nel|del|al|dal|sul|il) 11\b", "'nel 11': 'nell'11'"),
    (r"\b(?:nel|del|al|dal|sul|il) 1%", "'nel 1%': 'nell'1%'"),
    (r"\bnell'(?:[02-79]\d?|1[02-9])%", "'nell'' before a consonant-sounding number"),
    (r"\b(?:a|di|da|in|su) (?:il|lo|la|i|gli|le) ", "preposition + article not contracted ('rispetto a le')"),
    (r"tra (\d)ª e \1ª", "a range from a rank to the same rank"),
    (r"\bnel [<>]", "'nel >99%'"),
    (r"[<>]\s?\d+\s?%", "'<1%' / '>99%' in running text"),
    (r"\b\d+ altre città su \d+ ha\b", "plural subject, singular verb"),
]
JARGON = [
    r"dev\. ?st\.", r"distanza euclidea", r"ricampionament", r"seme casuale", r"\bproxy\b", r"\bDF_[A-Z]",
    r"\bdataflow\b", r"\b\d+_\d+(?:_DF)?\b", r"(?<![\w-])--[a-z]", r"`cocity", r"\bcocity (?:prepare|fetch|report)\b",
    r"non è pervenut", r"Priorità di intervento", r"prima priorità",
]


def _notebook_calls() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    source = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return re.findall(r"\b(sections|charts)\.(\w+_html)\(view\)", source)


def _text(fragment: str) -> str:
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", fragment))
    return re.sub(r"[ \t]+", " ", text)


@pytest.fixture(scope="module")
def city_reports(real_processed_dir):
    calls = _notebook_calls()
    names = [name for _, name in calls]
    assert "summary_html" in names and "method_html" in names, calls
    out = {}
    for code in views.read_processed(real_processed_dir).cities.index:
        view = views.load_city_view(real_processed_dir, code, "it")
        page = sections.title_html(view) + "".join(getattr(MODULES[module], name)(view) for module, name in calls)
        out[view.name] = page
    assert len(out) == 39
    return out


def _read_by_cities(page: str) -> str:
    return _text(re.sub(r'<section class="cocity-annex">.*?</section>', " ", page, flags=re.S))


def test_no_wrong_italian_in_any_report(city_reports):
    problems = []
    for name, page in city_reports.items():
        text = _text(page)
        for pattern, why in WRONG:
            for match in re.finditer(pattern, text):
                problems.append(f"{name}: {why}: …{text[max(0, match.start() - 40):match.end() + 20]!r}")
    assert not problems, "\n".join(problems[:30])


def test_no_jargon_in_the_text_read_by_cities(city_reports):
    problems = []
    for name, page in city_reports.items():
        text = _read_by_cities(page)
        for pattern in JARGON:
            for match in re.finditer(pattern, text, flags=re.I):
                problems.append(f"{name}: {pattern}: …{text[max(0, match.start() - 40):match.end() + 20]!r}")
    assert not problems, "\n".join(problems[:30])


def test_reports_are_framed_as_a_needs_analysis_with_annex_and_glossary(city_reports):
    for name, page in city_reports.items():
        page = html.unescape(page)
        assert f"Analisi dei fabbisogni di {name}" in page
        assert "Come leggere questo rapporto" in page
        assert "Allegato di metodo" in page and "Glossario" in page
        assert "non è ancora stato raccolto" in page


def test_cities_below_the_mean_everywhere_are_told_so(city_reports, real_processed_dir):
    ranking = __import__("pandas").read_parquet(real_processed_dir / "priorities.parquet")
    names = views.read_processed(real_processed_dir).cities["name"]
    below = [code for code, g in ranking.dropna(subset=["rank"]).groupby("istat_code") if (g["distance"] <= 0).all()]
    for code in below:
        text = _read_by_cities(city_reports[names[code]])
        assert "in nessuna area il bisogno misurato è più alto di quello medio" in text, names[code]
        assert "L'area più sopra la media" not in text


def test_the_wrong_patterns_catch_what_they_are_for():
    samples = ["a Andria", "nel 0%", "nel 81%", "nel 8%", "nel 11%", "rispetto a le 39", "tra 1ª e 1ª",
               "nel >99%"]
    for sample in samples:
        assert any(re.search(p, sample) for p, _why in WRONG), sample
    for sample in ["ad Andria", "nello 0%", "nell'81%", "nell'8%", "nell'11%", "rispetto alle 39", "nel 5%",
                   "tra la prima e la terza posizione", "in quasi tutte le simulazioni (oltre il 99%)"]:
        assert not any(re.search(p, sample) for p, _why in WRONG), sample
