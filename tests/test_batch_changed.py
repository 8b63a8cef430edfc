"""What ``cocity report --changed-only`` decides to make again, and what a batch keeps after a failure.

The fast tests replace the kernels with a stand-in engine that writes a small HTML
per job (the decisions — manifest, fingerprint, HTML digest — are all the real
``run_reports``); the slow tests run the real notebook in real kernels.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cocity_analysis.reporting import batch
from cocity_analysis import config, datasets
from cocity_analysis.fileio import write_bytes_atomic

MATERA = "077014"
AVELLINO = "064008"
BARLETTA = "110002"


class StandInEngine:
    """The kernels' part of a batch: writes ``<lang>:<code>:<notebook sha>`` as the report."""

    made: list[tuple[str, str]] = []

    def __init__(self, n_kernels, kernel_name, cwd, timeout=0):
        self.sessions = [None] * n_kernels

    def launch(self):
        return self

    def prepare(self, langs):
        pass

    def run(self, jobs, on_done):
        for job in jobs:
            data = f'<html lang="{job.lang}">{job.key} {job.notebook_sha256}</html>'.encode()
            write_bytes_atomic(job.target, data)
            StandInEngine.made.append((job.key, job.lang))
            on_done(job, batch.CityResult(job.key, "ok", 0.0, kind=job.kind, html_path=Path(job.target),
                                          html_bytes=len(data), html_sha256=hashlib.sha256(data).hexdigest(),
                                          attempts=1))

    def close(self):
        pass


@pytest.fixture
def stand_in(monkeypatch):
    StandInEngine.made = []
    monkeypatch.setattr(batch, "Engine", StandInEngine)
    return StandInEngine


@pytest.fixture
def processed(real_processed_dir, tmp_path):
    return Path(shutil.copytree(real_processed_dir, tmp_path / "processed"))


def _run(processed, out, **kwargs):
    kwargs = {"lang": "it", **kwargs}
    summary = batch.run_reports([MATERA, AVELLINO], processed_dir=processed, out_dir=out, jobs=1, overview=False,
                                changed_only=True, progress=False, **kwargs)
    return {r.city_code: r.status for r in summary.results}


def test_changed_only_decisions(stand_in, processed, tmp_path):
    out = tmp_path / "out"
    both_made = {MATERA: "ok", AVELLINO: "ok"}
    assert _run(processed, out) == both_made
    assert _run(processed, out) == {MATERA: "unchanged", AVELLINO: "unchanged"}
    assert stand_in.made == [(MATERA, "it"), (AVELLINO, "it")]

    # another language: every report again, in that language; then nothing
    assert _run(processed, out, lang="en") == both_made
    assert (out / "cities" / f"{MATERA}.html").read_text().startswith('<html lang="en">')
    assert _run(processed, out, lang="en") == {MATERA: "unchanged", AVELLINO: "unchanged"}
    assert _run(processed, out, lang="it") == both_made  # and back

    # an HTML edited by hand is made again (and the edit is gone); the other one is not
    page = out / "cities" / f"{MATERA}.html"
    original = page.read_text()
    page.write_text(original.replace("</html>", "<!-- ritocco a mano --></html>"))
    assert _run(processed, out) == {MATERA: "ok", AVELLINO: "unchanged"}
    assert page.read_text() == original

    # a deleted HTML is made again
    page.unlink()
    assert _run(processed, out) == {MATERA: "ok", AVELLINO: "unchanged"}

    # an input the city reports read changes: every report again
    scores = pd.read_parquet(processed / "scores.parquet")
    scores.iloc[0, 0] += 1.0
    scores.to_parquet(processed / "scores.parquet")
    datasets.stamp_parquet(processed / "scores.parquet", datasets.open_dataset(processed, verify_files=False).run_id)
    assert _run(processed, out) == both_made

    # another notebook: every report again
    notebook = tmp_path / "city_report.ipynb"
    nb = nbformat.read(str(config.CITY_REPORT_NOTEBOOK), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("pass"))
    nbformat.write(nb, str(notebook))
    assert _run(processed, out, notebook=notebook) == both_made
    assert _run(processed, out, notebook=notebook) == {MATERA: "unchanged", AVELLINO: "unchanged"}


def test_changed_only_without_manifest_or_with_a_broken_one_makes_everything(stand_in, processed, tmp_path):
    out = tmp_path / "out"
    assert _run(processed, out) == {MATERA: "ok", AVELLINO: "ok"}
    (out / "manifest.json").write_text("{not json", encoding="utf-8")
    assert _run(processed, out) == {MATERA: "ok", AVELLINO: "ok"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["reports"][MATERA]["last_success"]["html_sha256"] = "0" * 64  # not the HTML on disk
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _run(processed, out) == {MATERA: "ok", AVELLINO: "unchanged"}


def test_without_changed_only_everything_is_made(stand_in, processed, tmp_path):
    out = tmp_path / "out"
    _run(processed, out)
    summary = batch.run_reports([MATERA, AVELLINO], processed_dir=processed, out_dir=out, jobs=1, overview=False,
                                progress=False)
    assert [r.status for r in summary.results] == ["ok", "ok"]


# --- real kernels ---------------------------------------------------------------------------------


def _notebook_with_cell(tmp: Path, source: str) -> Path:
    nb = nbformat.read(str(config.CITY_REPORT_NOTEBOOK), as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 1
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    path = tmp / "city_report.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
def test_changed_only_real_reports_after_language_change_and_hand_edit(real_processed_dir, tmp_path):
    out = tmp_path / "out"

    def run(lang):
        summary = batch.run_reports([MATERA], processed_dir=real_processed_dir, out_dir=out, jobs=1,
                                    overview=False, changed_only=True, lang=lang, progress=False)
        return summary.results[0].status

    page = out / "cities" / f"{MATERA}.html"
    assert run("it") == "ok" and '<html lang="it"' in page.read_text(encoding="utf-8")
    assert run("en") == "ok"
    english = page.read_text(encoding="utf-8")
    assert '<html lang="en"' in english and "Priorit" in english
    assert run("en") == "unchanged"
    page.write_text(english.replace("</body>", "<p>ritocco a mano</p></body>"), encoding="utf-8")
    assert run("en") == "ok"
    assert "ritocco a mano" not in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_hanging_cell_is_retried_and_stale_failure_removed(real_processed_dir, tmp_path, monkeypatch):
    """A cell that hangs once: the report is retried with a fresh kernel and made; the executed
    notebook kept from an earlier failure is removed once the report works again."""
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("COCITY_TEST_MARKERS", str(markers))
    notebook = _notebook_with_cell(tmp_path, (
        "import os, pathlib, time\n"
        "_marker = pathlib.Path(os.environ['COCITY_TEST_MARKERS']) / city_code\n"
        "if not _marker.exists():\n"
        "    _marker.touch()\n"
        "    time.sleep(600)  # hangs, once\n"
        "del _marker\n"))
    out = tmp_path / "out"
    stale = out / "failed" / f"{MATERA}.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")  # left by an earlier failed run
    summary = batch.run_reports([MATERA], processed_dir=real_processed_dir, out_dir=out, notebook=notebook,
                                jobs=1, overview=False, timeout=30, progress=False)
    result = summary.results[0]
    assert result.ok and result.attempts == 2, result.error
    assert (out / "cities" / f"{MATERA}.html").is_file()
    assert not stale.exists()
    log = (out / "logs" / f"{MATERA}.log").read_text(encoding="utf-8")
    assert "non ha finito entro 30 s" in log and "nuovo tentativo" in log
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["reports"][MATERA]["failed_notebook"] is None and manifest["reports"][MATERA]["attempts"] == 2


@pytest.mark.slow
def test_failure_then_success_removes_the_kept_notebook(real_processed_dir, tmp_path, monkeypatch):
    """A report that fails keeps its executed notebook; the next run that makes it removes it."""
    switch = tmp_path / "fail"
    switch.touch()
    monkeypatch.setenv("COCITY_TEST_SWITCH", str(switch))
    notebook = _notebook_with_cell(tmp_path, (
        "import os, pathlib\n"
        "if pathlib.Path(os.environ['COCITY_TEST_SWITCH']).exists():\n"
        "    raise ValueError('guasto di prova')\n"))
    out = tmp_path / "out"

    def run():
        return batch.run_reports([BARLETTA], processed_dir=real_processed_dir, out_dir=out, notebook=notebook,
                                 jobs=1, overview=False, progress=False).results[0]

    kept = out / "failed" / f"{BARLETTA}.ipynb"
    first = run()
    assert first.status == "failed" and first.failed_notebook == kept and kept.is_file()
    switch.unlink()
    second = run()
    assert second.ok and not kept.exists()
