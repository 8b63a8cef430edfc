"""The reports say what they said before the move to templates, a message catalogue and seaborn charts.

Issue 12 moves the report code into ``reporting/`` (Jinja2 templates, YAML messages, Babel formats,
a seaborn chart module) and promises that the reports keep their content apart from the chart
markup. The baseline is the report code at :data:`BASELINE_COMMIT` (the last commit before the
move), taken from this repository's own history with ``git archive``: both versions run the
report notebook's cells on the same prepared dataset, and every city's report, in Italian and in
English, the overview and the index must show the same text in the same sections once the
charts (``<figure>`` elements and the chart legend) are set aside.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cocity_analysis import config

BASELINE_COMMIT = "6c5b3871d6e4bf78f9c99a6a13740d3691b61ad5"
ENGLISH_CITIES = ("077014", "085007", "065037")  # Matera, Gela, Cava de' Tirreni

# Runs in a child process with the code under test (or the baseline) first on sys.path: executes the
# report notebooks' cells as the batch does (parameters replaced) and records what they display.
SNAPSHOT = r"""
import json, sys
from pathlib import Path
import IPython.display as display_module

root, processed, codes, english = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")
shown = []
class _HTML:
    def __init__(self, data):
        self.data = data
display_module.HTML = _HTML
display_module.display = lambda *objects, **kwargs: shown.extend(o.data for o in objects)

def run(notebook, **parameters):
    shown.clear()
    scope = {}
    for cell in json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        exec("".join(cell["source"]), scope)
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            scope.update(parameters)
    return "\n".join(shown)

pages = {}
for code in codes:
    pages[f"city/it/{code}"] = run(Path(root) / "notebooks" / "city_report.ipynb", city_code=code, lang="it",
                                   processed_dir=processed)
for code in english:
    pages[f"city/en/{code}"] = run(Path(root) / "notebooks" / "city_report.ipynb", city_code=code, lang="en",
                                   processed_dir=processed)
for lang in ("it", "en"):
    pages[f"overview/{lang}"] = run(Path(root) / "notebooks" / "overview_report.ipynb", lang=lang,
                                    processed_dir=processed)
try:
    from cocity_analysis.reporting.index_page import index_html
except ImportError:
    from cocity_analysis.reports import index_html
pages["index/it"] = index_html(processed, processed, codes, lang="it", overview=True)
json.dump(pages, sys.stdout)
"""


class _Content(HTMLParser):
    """Visible text and section classes of a page, without the charts and the page's own CSS/script."""

    SKIPPED = {"figure", "style", "script", "svg"}
    VOID = {"br", "img", "meta", "link", "hr", "input", "wbr", "col", "area", "base", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        self.text: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return  # no end tag to wait for, and no text
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        # the overview's table of k diagnostics is the data of its charts: now their text alternative
        in_k = bool(self.sections) and self.sections[-1] == "cocity-k"
        if (self.skipping or tag in self.SKIPPED or (tag == "ul" and "cocity-legend" in classes)
                or (tag == "table" and in_k)):
            self.skipping.append(tag)
            return
        if tag == "section":
            self.sections.append(" ".join(classes))

    def handle_startendtag(self, tag, attrs):
        if not self.skipping and tag == "section":
            self.sections.append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return

    def handle_data(self, data):
        if not self.skipping:
            self.text.append(data)


# Intended change (issue 12: dates from Babel's locales): "del 2026-12-01" reads "dell'1 dicembre 2026",
# "on 2026-12-01" reads "on 1 December 2026". Both sides write a date as <data> before comparing.
_MONTHS = ("gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre|"
           "January|February|March|April|May|June|July|August|September|October|November|December")
_DATES = re.compile(rf"\b(?:(?:del|al|dal) |(?:dell|all|dall)')?(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}} (?:{_MONTHS}) \d{{4}})\b")


def content(page: str) -> tuple[list[str], str]:
    """``(section classes, visible text)`` of ``page`` with charts left out, whitespace normalised."""
    parser = _Content()
    parser.feed(page)
    return parser.sections, _DATES.sub("<data>", re.sub(r"\s+", " ", " ".join(parser.text)).strip())


def _baseline_tree(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (config.PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the baseline report code is read from the repository's history")
    found = subprocess.run(["git", "-C", str(config.PROJECT_ROOT), "cat-file", "-e", f"{BASELINE_COMMIT}^{{commit}}"],
                           capture_output=True)
    if found.returncode != 0:
        pytest.fail(f"commit {BASELINE_COMMIT} is not in this clone's history (a shallow clone?): "
                    f"run `git fetch --unshallow` to compare the reports with their baseline")
    archive = tmp_path / "baseline.tar"
    subprocess.run(["git", "-C", str(config.PROJECT_ROOT), "archive", "--format=tar", "-o", str(archive),
                    BASELINE_COMMIT, "cocity_analysis", "notebooks", "data"], check=True)
    tree = tmp_path / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _snapshot(root: Path, processed: Path, codes: list[str]) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", SNAPSHOT, str(root), str(processed), ",".join(codes),
                           ",".join(ENGLISH_CITIES)], capture_output=True, text=True, env=env, cwd=root, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def both_versions(real_processed_dir, tmp_path_factory):
    from cocity_analysis.reporting import views

    processed = Path(real_processed_dir)
    codes = sorted(views.read_processed(processed).cities.index)
    baseline = _snapshot(_baseline_tree(tmp_path_factory.mktemp("report-baseline")), processed, codes)
    current = _snapshot(config.PROJECT_ROOT, processed, codes)
    return baseline, current


def test_the_same_pages_are_compared(both_versions):
    baseline, current = both_versions
    assert sorted(baseline) == sorted(current)
    assert sum(key.startswith("city/it/") for key in current) == 39
    assert all(len(page) > 1_000 for page in current.values())


@pytest.mark.parametrize("kind", ["city/it/", "city/en/", "overview/", "index/"])
def test_reports_keep_their_content_apart_from_the_charts(both_versions, kind):
    baseline, current = both_versions
    changed = []
    for key in sorted(k for k in current if k.startswith(kind)):
        before, after = content(baseline[key]), content(current[key])
        if before != after:
            words_before, words_after = before[1].split(" "), after[1].split(" ")
            first = next((i for i, (a, b) in enumerate(zip(words_before, words_after)) if a != b),
                         min(len(words_before), len(words_after)))
            changed.append(f"{key}: sections {before[0] == after[0]}; text differs at word {first}: "
                           f"{' '.join(words_before[first - 8:first + 12])!r} -> "
                           f"{' '.join(words_after[first - 8:first + 12])!r}")
    assert changed == []


def test_the_comparison_sees_a_changed_word_and_ignores_a_changed_chart():
    page = ('<section class="cocity-summary"><h2>In sintesi</h2><p>Matera ha 60.000 abitanti</p>'
            '<figure class="cocity-bars"><svg><text>42</text></svg><figcaption>vecchio</figcaption></figure>'
            '<ul class="cocity-legend"><li>Matera</li></ul></section>')
    redrawn = page.replace("<svg><text>42</text></svg>", '<svg role="img"><title>nuovo</title></svg>')
    assert content(page) == content(redrawn)
    assert content(page.replace("<h2>", "<br><h2>")) == content(page)
    assert content(page.replace("<figure ", "<figure><br></figure><figure ")) == content(page)
    assert content(page) == (["cocity-summary"], "In sintesi Matera ha 60.000 abitanti")
    assert content(page) != content(page.replace("60.000", "60 000"))
    assert content(page) != content(page.replace('class="cocity-summary"', 'class="cocity-ranking"'))
    dated = page.replace("abitanti", "abitanti (elaborazione del 2026-12-01)")
    assert content(dated) == content(dated.replace("del 2026-12-01", "dell'1 dicembre 2026"))
    assert content(dated) != content(dated.replace("2026-12-01", "2026-11-30 e 2026-12-01"))
