"""A prepared dataset is one unit: run id in every file, atomic switch, one writer, readers refuse a mix.

The unit tests build small datasets with :func:`datasets.new_dataset` (fixture tables written by
hand); the slow ones run the real ``cocity prepare`` as a subprocess: two at once, and one killed
(SIGKILL) at 20 seeded random moments, each followed by a reader and, a few times, ``cocity report``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cocity_analysis import cli, config, datasets, fileio
from cocity_analysis.method import coverage
from cocity_analysis.exploration import explore
from cocity_analysis.reporting import views
from cocity_analysis.errors import CocityError

from .helpers import mirror_mef_zip

REPO = Path(__file__).resolve().parents[1]
MATERA = "077014"


def _fixture_dataset(root: Path, value: float, **kwargs) -> str:
    """One small dataset in ``root`` (tables of fixture values, not real data); returns its run id."""
    with datasets.new_dataset(root, **kwargs) as folder:
        frame = pd.DataFrame({"x": [value]}, index=pd.Index(["077014"], name="istat_code"))
        fileio.write_parquet_atomic(folder / "scores.parquet", frame)
        frame.to_parquet(folder / "written_by_pandas.parquet")  # not through fileio: stamped by the seal
        fileio.write_json_atomic(folder / "catalogue.json", {"indicators": []})
        (folder / "map_base.png").write_bytes(b"\x89PNG fixture")
        return folder.name


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the unit


def test_every_file_carries_the_run_id_and_current_switches(tmp_path):
    first = _fixture_dataset(tmp_path, 1.0)
    assert datasets.RUN_ID_RE.match(first)
    dataset = datasets.open_dataset(tmp_path)
    assert dataset.run_id == first and dataset.path == (tmp_path / "runs" / first).resolve()
    assert os.readlink(tmp_path / "current") == f"runs/{first}"
    for name in ("scores.parquet", "written_by_pandas.parquet"):
        assert datasets.parquet_run_id(dataset.path / name) == first, name
    assert datasets.json_run_id(dataset.path / "catalogue.json") == first
    manifest = json.loads((dataset.path / "dataset.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == first and set(manifest["files"]) == {
        "scores.parquet", "written_by_pandas.parquet", "catalogue.json", "map_base.png"}
    assert dataset.read_parquet("scores.parquet")["x"].tolist() == [1.0]
    second = _fixture_dataset(tmp_path, 2.0)
    assert second > first and datasets.open_dataset(tmp_path).run_id == second
    assert dataset.read_parquet("scores.parquet")["x"].tolist() == [1.0]  # an open dataset stays what it was


def test_keep_prunes_all_but_the_newest_earlier_datasets(tmp_path):
    ids = [_fixture_dataset(tmp_path, float(i), keep=2) for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ids[-3:]
    report = datasets.status(tmp_path)
    assert report["current"]["run_id"] == ids[-1]
    assert [entry["run_id"] for entry in report["kept"]] == [ids[-2], ids[-3]]
    _fixture_dataset(tmp_path, 9.0, keep=0)
    assert len(list((tmp_path / "runs").iterdir())) == 1
    with pytest.raises(CocityError, match="--keep"):
        _fixture_dataset(tmp_path, 9.0, keep=-1)


def test_a_dataset_open_in_a_reader_is_not_pruned(tmp_path):
    first = _fixture_dataset(tmp_path, 1.0)
    held = datasets.open_dataset(tmp_path, hold=True)
    _fixture_dataset(tmp_path, 2.0, keep=0)
    assert (tmp_path / "runs" / first).is_dir()  # a notebook or a report batch still reads it
    held.release()
    _fixture_dataset(tmp_path, 3.0, keep=0)
    assert not (tmp_path / "runs" / first).exists()


def test_a_failed_run_leaves_the_current_dataset_and_no_folder(tmp_path):
    first = _fixture_dataset(tmp_path, 1.0)
    before = _snapshot(tmp_path / "runs" / first)
    with pytest.raises(RuntimeError, match="boom"):
        with datasets.new_dataset(tmp_path) as folder:
            fileio.write_parquet_atomic(folder / "scores.parquet", pd.DataFrame({"x": [5.0]}))
            raise RuntimeError("boom")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first]
    assert datasets.open_dataset(tmp_path).run_id == first and _snapshot(tmp_path / "runs" / first) == before


def test_the_next_writer_removes_what_a_killed_one_left(tmp_path):
    first = _fixture_dataset(tmp_path, 1.0)
    partial = tmp_path / "runs" / datasets.new_run_id()  # killed while writing: no dataset.json
    partial.mkdir()
    (partial / "scores.parquet").write_bytes(b"half")
    report = datasets.status(tmp_path)
    assert report["current"]["run_id"] == first and report["incomplete"] == [str(partial)]
    assert "interrotte" in datasets.format_status(report)
    assert datasets.open_dataset(tmp_path).run_id == first  # readers never see it
    second = _fixture_dataset(tmp_path, 2.0)
    assert not partial.exists() and sorted(p.name for p in (tmp_path / "runs").iterdir()) == [first, second]


def test_a_dataset_folder_is_never_written_into(tmp_path):
    run_id = _fixture_dataset(tmp_path, 1.0)
    with pytest.raises(CocityError, match="non si modifica"):
        _fixture_dataset(tmp_path / "runs" / run_id, 2.0)
    assert not (tmp_path / "runs" / run_id / "runs").exists()


def test_scenarios_stay_outside_the_switched_datasets(tmp_path):
    from cocity_analysis.exploration import scenarios
    from cocity_analysis.method.choices import load_method

    run_id = _fixture_dataset(tmp_path, 1.0)
    path = scenarios.save_scenario("prova", load_method(), tmp_path / "runs" / run_id)
    assert path == tmp_path / "scenarios" / "prova.yaml"
    for value in (2.0, 3.0, 4.0, 5.0):
        _fixture_dataset(tmp_path, value, keep=0)
    assert path.is_file() and datasets.open_dataset(tmp_path).run_id != run_id


def test_cli_status_and_prepare_list(tmp_path, capsys):
    assert cli.main(["status", "--processed", str(tmp_path)]) == 0
    assert "Nessuna elaborazione corrente" in capsys.readouterr().out
    ids = [_fixture_dataset(tmp_path, float(i)) for i in range(2)]
    assert cli.main(["status", "--processed", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"identificativo: {ids[1]}" in out.split("precedenti")[0] and ids[0] in out.split("precedenti")[1]
    assert cli.main(["prepare", "--list", "--processed", str(tmp_path)]) == 0
    assert capsys.readouterr().out == out
    assert (cli.DEFAULT_KEEP, cli.DEFAULT_WAIT) == (datasets.DEFAULT_KEEP, datasets.DEFAULT_WAIT_SECONDS)


def test_a_second_writer_waits_then_names_the_first(tmp_path):
    with datasets.writer_lock(tmp_path, "20261201T000000000000Z-aaaaaa"):
        started = time.monotonic()
        told = []
        with pytest.raises(datasets.DatasetBusyError) as error:
            with datasets.new_dataset(tmp_path, wait=0.6, on_wait=told.append):
                pass
        assert time.monotonic() - started >= 0.6
        assert f"pid {os.getpid()}" in str(error.value) and "20261201T000000000000Z-aaaaaa" in str(error.value)
        assert told and "20261201T000000000000Z-aaaaaa" in told[0]
        assert not (tmp_path / "runs").exists()  # nothing written while waiting
    _fixture_dataset(tmp_path, 1.0, wait=0)  # free again


# --------------------------------------------------------------------------- readers refuse a mix


@pytest.fixture
def mixed(real_processed_dir, tmp_path):
    """A copy of a real dataset folder whose scores.parquet comes from another run."""
    root = tmp_path / "processed"
    run_id = datasets.open_dataset(real_processed_dir).run_id
    shutil.copytree(real_processed_dir, root / "runs" / run_id)
    os.symlink(f"runs/{run_id}", root / "current")
    assert datasets.open_dataset(root).run_id == run_id  # the copy alone is fine
    datasets.stamp_parquet(root / "runs" / run_id / "scores.parquet", datasets.new_run_id())
    return root


def test_readers_refuse_a_table_of_another_run(mixed, tmp_path, capsys):
    for read in (datasets.open_dataset, views.read_processed, coverage.coverage_table,
                 explore.ExploreState.from_processed, lambda p: views.load_city_view(p, MATERA)):
        with pytest.raises(datasets.DatasetMismatchError, match=r"scores\.parquet.*dell'elaborazione"):
            read(mixed)
    for argv in (["report", MATERA, "--out", str(tmp_path / "r")], ["coverage"]):
        assert cli.main([*argv, "--processed", str(mixed)]) == cli.EXIT_INPUT_ERROR
        assert "scores.parquet" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # no report


def test_readers_refuse_unstamped_or_changed_files(mixed):
    folder = datasets.open_dataset(mixed, verify_files=False).path
    datasets.stamp_parquet(folder / "scores.parquet", datasets.open_dataset(mixed, verify_files=False).run_id)
    datasets.open_dataset(mixed)
    pd.read_parquet(folder / "clusters.parquet").to_parquet(folder / "clusters.parquet")  # by hand: no run id
    with pytest.raises(datasets.DatasetMismatchError, match=r"clusters\.parquet.*senza identificativo"):
        views.read_processed(mixed)
    datasets.stamp_parquet(folder / "clusters.parquet", datasets.open_dataset(mixed, verify_files=False).run_id)
    (folder / "map_base.png").write_bytes(b"\x89PNG another image")
    with pytest.raises(datasets.DatasetMismatchError, match=r"map_base\.png"):
        views.read_processed(mixed)


def test_a_new_table_of_another_run_is_refused_too(mixed):
    folder = datasets.open_dataset(mixed, verify_files=False).path
    shutil.move(folder / "scores.parquet", folder / "income_series.parquet")  # a table of another run, any name
    with pytest.raises(datasets.DatasetMismatchError, match=r"income_series\.parquet"):
        datasets.open_dataset(mixed)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(datasets, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_a_folder_of_unidentified_files_is_refused(tmp_path):
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "cities.parquet")  # e.g. the layout before run ids
    with pytest.raises(CocityError, match="non ha un'elaborazione identificata"):
        datasets.open_dataset(tmp_path)


# --------------------------------------------------------------------------- real prepares (subprocesses)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def _prepare_argv(root: Path, *extra: str) -> list[str]:
    """A real ``cocity prepare`` on the 39 cities, with fewer Monte Carlo and bootstrap runs (a method
    file, as an expert would pass) so that 20 runs stay short on 2 cores."""
    mef = mirror_mef_zip()
    method = root.parent / "fixture_method_fast.yaml"
    if not method.exists():
        method.write_text("monte_carlo_runs: 100\nbootstrap_runs: 10\n", encoding="utf-8")
    # a fresh clone has no data/raw/mef: without the mirror every run leaves MEF out alike
    return [sys.executable, "-m", "cocity_analysis.cli", "prepare", "--processed", str(root), "--method", str(method),
            *(["--mef", str(mef)] if mef else []), *extra]


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group: the map worker is killed with it


def _holder(root: Path) -> dict:
    try:
        return json.loads((root / datasets.LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _whole(root: Path) -> str:
    """The run id of ``current``, after checking it is one complete dataset: exactly the files its
    dataset.json lists, each with its sha256, each carrying its run id."""
    dataset = datasets.open_dataset(root)
    files = {p.relative_to(dataset.path).as_posix(): fileio.sha256_file(p)
             for p in dataset.path.rglob("*") if p.is_file() and p.name != datasets.MANIFEST}
    assert files == {name: entry["sha256"] for name, entry in dataset.manifest["files"].items()}
    assert {"cities.parquet", "priorities.parquet", "provenance.json", "map_regions.parquet"} <= set(files)
    assert dataset.provenance["run_id"] == dataset.run_id
    return dataset.run_id


def _report(root: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cocity_analysis.cli", "report", "Matera", "--processed", str(root),
                           "--out", str(out), "--jobs", "1"], env=_env(), cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.slow
def test_two_prepares_at_once_one_waits_the_other_writes(tmp_path):
    root = tmp_path / "processed"
    first = _start(_prepare_argv(root, "--seed", "1"))
    deadline = time.monotonic() + 120
    while _holder(root).get("pid") != first.pid:  # until the first holds the lock
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    holder = _holder(root)
    # the patient one starts first, so that it asks for the lock while the first still holds it even on a
    # loaded machine (the impatient one's own start-up would otherwise leave the first time to finish)
    patient = _start(_prepare_argv(root, "--seed", "3", "--wait", "300"))
    impatient = subprocess.run(_prepare_argv(root, "--seed", "2", "--wait", "0.5"), env=_env(), cwd=REPO,
                               capture_output=True, text=True, timeout=300, check=False)
    out_first, err_first = first.communicate(timeout=300)
    out_patient, err_patient = patient.communicate(timeout=300)
    assert first.returncode == 0, err_first
    assert impatient.returncode == cli.EXIT_BUSY, impatient.stderr
    assert f"pid {first.pid}" in impatient.stderr and holder["run_id"] in impatient.stderr
    assert holder["started_at"] in impatient.stderr and "--wait" in impatient.stderr
    assert patient.returncode == 0, err_patient
    assert "attendo" in err_patient and holder["run_id"] in err_patient  # it waited for the first
    assert holder["run_id"] in out_first
    # never two writers: the first was switched in, then the patient one; the impatient one wrote nothing
    report = datasets.status(root)
    assert report["current"]["seed"] == 3 and [k["seed"] for k in report["kept"]] == [1]
    assert report["kept"][0]["run_id"] == holder["run_id"] and not report["incomplete"]
    assert report["current"]["run_id"] in out_patient
    _whole(root)


@pytest.mark.slow
def test_a_killed_prepare_leaves_the_old_dataset_or_the_new_one(tmp_path):
    """SIGKILL at 20 seeded random moments of ``cocity prepare``: ``current`` is always one whole dataset
    (the old or the new one), every reader works on it, and the next run cleans up."""
    root = tmp_path / "processed"
    started = time.monotonic()
    done = subprocess.run(_prepare_argv(root), env=_env(), cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    old = _whole(root)
    rng = random.Random(20212027)
    moments = [rng.uniform(0.0, duration * 1.15) for _ in range(20)]
    outcomes = []
    for i, moment in enumerate(moments):
        process = _start(_prepare_argv(root))
        time.sleep(moment)
        holder = _holder(root)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        now = _whole(root)
        assert now == old or (now == holder.get("run_id") and holder.get("pid") == process.pid), (i, moment)
        outcomes.append("new" if now != old else "old")
        # at most the killed run's own leftover: the previous one was removed by this run
        assert len(datasets.status(root)["incomplete"]) <= 1
        data = views.read_processed(root)  # a reader on the same path
        assert data.run_id == now and MATERA in data.cities.index
        if i in (0, 9, 19):  # a real report, from the dataset that is current now
            made = _report(root, tmp_path / "reports")
            assert made.returncode == 0, made.stderr
            manifest = json.loads((tmp_path / "reports" / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["reports"][MATERA]["run_id"] == now and manifest["last_run"]["run_id"] == now
        old = now
    assert "old" in outcomes and "new" in outcomes, outcomes  # the moments hit both sides of the switch
    final = subprocess.run(_prepare_argv(root, "--keep", "1"), env=_env(), cwd=REPO, capture_output=True, text=True,
                           timeout=300, check=False)
    assert final.returncode == 0, final.stderr
    report = datasets.status(root)
    assert not report["incomplete"] and len(report["kept"]) <= 1 and _whole(root) == report["current"]["run_id"]


@pytest.mark.slow
def test_changed_only_compares_the_run_id(real_processed_dir, tmp_path):
    from cocity_analysis.reporting import batch

    root = tmp_path / "processed"
    run_id = datasets.open_dataset(real_processed_dir).run_id
    shutil.copytree(real_processed_dir, root / "runs" / run_id)
    os.symlink(f"runs/{run_id}", root / "current")
    out = tmp_path / "out"
    first = batch.run_reports([MATERA], processed_dir=root, out_dir=out, jobs=1, overview=False, changed_only=True)
    assert [r.status for r in first.results] == ["ok"]
    assert batch.read_manifest(out)["reports"][MATERA]["run_id"] == run_id
    again = batch.run_reports([MATERA], processed_dir=root, out_dir=out, jobs=1, overview=False, changed_only=True)
    assert [r.status for r in again.results] == ["unchanged"]
    # the same files under another run id: another dataset, so the report is made again
    other = datasets.new_run_id()
    shutil.copytree(root / "runs" / run_id, root / "runs" / other)
    datasets.seal(root / "runs" / other, other)
    datasets.switch(root, other)
    third = batch.run_reports([MATERA], processed_dir=root, out_dir=out, jobs=1, overview=False, changed_only=True)
    assert [r.status for r in third.results] == ["ok"]
    assert batch.read_manifest(out)["reports"][MATERA]["run_id"] == other
