"""Every text the index and the overview show is HTML-escaped.

A copy of a real processed folder gets a ``<script>`` in every text field the
index page and the overview report show (city, province, profile labels and
portraits, indicator labels and sources, missing-data reasons, map source...);
the page is then built with the same functions the batch and the overview
notebook call. Each poisoned text must appear escaped (so it really reached the
page) and never raw. The city report's fragments are covered in test_reports.py;
good-practice texts are added here.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import markupsafe
import pandas as pd
import pytest

from cocity_analysis import datasets
from cocity_analysis.reporting import charts, index_page, sections, views


def evil(field: str) -> str:
    return f"<script>alert('{field}')</script>&"


def escaped(field: str) -> str:
    """``evil(field)`` as the report templates' autoescape writes it (``'`` as ``&#39;``)."""
    return str(markupsafe.escape(evil(field)))


#: (file, column) -> the languages in which the page shows it
PARQUET_FIELDS = {
    ("cities.parquet", "name"): ("it", "en"),
    ("cities.parquet", "province"): ("it", "en"),
    ("cities.parquet", "province_abbr"): ("it", "en"),
    ("clusters.parquet", "label"): ("it",),
    ("clusters.parquet", "label_en"): ("en",),
    ("profiles.parquet", "label"): ("it",),
    ("profiles.parquet", "label_en"): ("en",),
    ("profiles.parquet", "portrait_it"): ("it",),
    ("profiles.parquet", "portrait_en"): ("en",),
}
CATALOGUE_FIELDS = {"label_it": ("it",), "label_en": ("en",), "source": ("it", "en"),
                    "missing_reason": ("it",)}  # English coverage rows show no reason yet (coverage_table has none)


@pytest.fixture(scope="module")
def poisoned(real_processed_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("poisoned") / "processed"
    shutil.copytree(real_processed_dir, folder)
    for (name, column), _langs in PARQUET_FIELDS.items():
        frame = pd.read_parquet(folder / name)
        frame[column] = evil(f"{name}:{column}")
        frame.to_parquet(folder / name)
        datasets.stamp_parquet(folder / name, datasets.open_dataset(folder, verify_files=False).run_id)
    catalogue = json.loads((folder / "catalogue.json").read_text(encoding="utf-8"))
    for entry in catalogue["indicators"]:
        for field in CATALOGUE_FIELDS:
            entry[field] = evil(f"catalogue:{field}")
        entry["available"] = False  # the coverage table then gives the missing-data reason as well
    (folder / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
    return folder


def overview_page(folder, lang: str) -> str:
    """What notebooks/overview_report.ipynb displays, cell by cell."""
    view = views.load_overview(folder, lang)
    return "".join([sections.overview_title_html(view), sections.overview_profiles_html(view),
                    charts.overview_map_html(view), charts.overview_k_html(view),
                    sections.overview_stability_html(view), sections.overview_priorities_html(view),
                    sections.overview_coverage_html(view), sections.overview_stated_html(view),
                    sections.overview_method_html(view)])


@pytest.mark.parametrize("lang", ["it", "en"])
def test_index_escapes_every_text(poisoned, tmp_path, lang):
    page = index_page.index_html(poisoned, tmp_path, ok_codes=[], lang=lang, overview=True)
    assert "<script>alert(" not in page
    for file, column in (("cities.parquet", "name"), ("cities.parquet", "province"),
                         ("cities.parquet", "province_abbr"),
                         ("clusters.parquet", "label" if lang == "it" else "label_en")):
        assert escaped(f"{file}:{column}") in page, (file, column)


@pytest.mark.parametrize("lang", ["it", "en"])
def test_overview_escapes_every_text(poisoned, lang):
    page = overview_page(poisoned, lang)
    assert "<script>alert(" not in page
    shown = [f"{file}:{column}" for (file, column), langs in PARQUET_FIELDS.items() if lang in langs
             and column not in ("province", "province_abbr")]  # the overview names cities without province
    shown += [f"catalogue:{field}" for field, langs in CATALOGUE_FIELDS.items() if lang in langs]
    missing = [field for field in shown if escaped(field) not in page]
    assert missing == []


def test_good_practice_texts_are_escaped(real_processed_dir):
    view = views.load_city_view(real_processed_dir, "077014")
    assert view.practices, "Matera's first priorities match no practice: pick another city"
    poisoned = [{key: (evil(f"practice:{key}") if isinstance(value, str) and key != "id" else
                       [evil(f"practice:{key}")] * len(value) if key.startswith("facts_") else value)
                 for key, value in practice.items()} for practice in view.practices]
    page = sections.practices_html(dataclasses.replace(view, practices=poisoned))
    assert "<script>alert(" not in page
    texts = [key for key, value in view.practices[0].items() if isinstance(value, (str, list)) and key != "id"]
    shown = [key for key in texts if escaped(f"practice:{key}") in page]
    assert {"name", "description_it", "facts_it", "rationale_it"} <= set(shown), shown
