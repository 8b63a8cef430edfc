"""cocity_analysis.parallel: a step in a forked second process gives what it gives in place."""

from __future__ import annotations

import os

import pytest

from cocity_analysis import parallel
from cocity_analysis.errors import InputFileError, NameResolutionError


def _pid_and(value):
    return os.getpid(), value


def _fail_like_a_loader(path):
    raise InputFileError(path, "'x' is not a whole number", row=12, column="Numero contribuenti")


def _fail_to_resolve(name):
    raise NameResolutionError(name, "unknown municipality", ["Matera", "Mottola"])


def test_a_step_runs_in_another_process_and_returns_its_value():
    assert parallel.available()  # Linux with 2 cores: what prepare relies on
    pid, value = parallel.submit(_pid_and, {"codes": ["077014"]}).result()
    assert pid != os.getpid() and value == {"codes": ["077014"]}


def test_without_the_switch_the_step_runs_in_place(monkeypatch):
    monkeypatch.setenv(parallel.ENV_SWITCH, "0")
    assert not parallel.available()
    pid, value = parallel.submit(_pid_and, 3).result()
    assert pid == os.getpid() and value == 3


@pytest.mark.parametrize("in_place", [False, True])
def test_an_input_error_keeps_file_row_and_column(monkeypatch, in_place):
    if in_place:
        monkeypatch.setenv(parallel.ENV_SWITCH, "0")
    job = parallel.submit(_fail_like_a_loader, "fixture_mef.csv")
    with pytest.raises(InputFileError) as raised:
        job.result()
    error = raised.value
    assert (error.path, error.row, error.column) == ("fixture_mef.csv", 12, "Numero contribuenti")
    assert str(error) == "file fixture_mef.csv, row 12, column 'Numero contribuenti': 'x' is not a whole number"
    with pytest.raises(NameResolutionError, match="candidates: Matera; Mottola") as raised:
        parallel.submit(_fail_to_resolve, "Matrea").result()
    assert raised.value.candidates == ["Matera", "Mottola"]


def test_a_child_that_dies_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="ended without a result"):
        parallel.submit(os._exit, 3).result()


def _sleep_then(value):
    import time

    time.sleep(30)
    return value


def test_a_job_nobody_waits_for_is_stopped():
    """prepare failing before it asks for a step's result (e.g. an unknown city) leaves no child behind."""
    import gc

    job = parallel.submit(_sleep_then, "late")
    process = job._process
    assert process.is_alive()
    del job
    gc.collect()
    process.join(timeout=10)
    assert not process.is_alive()


def _pid_niceness_and(value):
    return os.getpid(), os.nice(0), value


def test_an_idle_step_runs_at_the_lowest_priority_and_leaves_this_process_as_it_was():
    before = os.nice(0)
    pid, niceness, value = parallel.submit_when_idle(_pid_niceness_and, ["077014"]).result()
    assert pid != os.getpid() and value == ["077014"]
    assert niceness == min(before + parallel.IDLE_NICENESS, 19) > before or before == 19
    assert os.nice(0) == before
    # an ordinary step keeps the parent's priority
    assert parallel.submit(_pid_niceness_and, 1).result()[1] == before


def test_an_idle_step_runs_in_place_without_the_switch(monkeypatch):
    monkeypatch.setenv(parallel.ENV_SWITCH, "0")
    before = os.nice(0)
    pid, niceness, value = parallel.submit_when_idle(_pid_niceness_and, 5).result()
    assert (pid, niceness, value) == (os.getpid(), before, 5)
