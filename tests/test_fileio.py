"""Atomic writes: an interrupted write leaves the old file whole and no temporary behind.

Each writer of :mod:`cocity_analysis.fileio` is interrupted half-way through
writing its bytes, (a) by an exception in the same process, (b) by SIGKILL of a
child process that is blocked in the middle of the write. The interruption is
made inside the function that writes the bytes (``Path.write_text``,
``Path.write_bytes``, ``DataFrame.to_parquet``), whatever file it was given: a
writer that wrote straight to the target would leave a half-written target.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cocity_analysis import fileio

OLD = "vecchio contenuto, intero\n" * 50

FRAME = pd.DataFrame({"x": [1.5, 2.5, 3.5], "label": ["a", "b", "c"]},
                     index=pd.Index(["001", "002", "003"], name="istat_code"))

#: writer name -> (call, the function that writes the bytes, how to read the result back)
WRITERS = {
    "write_text_atomic": ("fileio.write_text_atomic(target, 'nuovo ' * 100000)", "pathlib.Path.write_text"),
    "write_bytes_atomic": ("fileio.write_bytes_atomic(target, b'nuovo ' * 100000)", "pathlib.Path.write_bytes"),
    "write_json_atomic": ("fileio.write_json_atomic(target, {'nuovo': list(range(100000))})",
                          "pathlib.Path.write_text"),
    # parquet goes through pyarrow (the run id is written into the schema metadata): its writer is interrupted
    "write_parquet_atomic": ("fileio.write_parquet_atomic(target, FRAME)", "pyarrow.parquet.write_table"),
}

# Installed in the interrupted process: the byte-writing function writes half of what the real one
# would write, to the path it was given, then either raises or signals the parent and blocks.
INTERRUPT = textwrap.dedent('''
    import importlib, io, os, sys, time, pathlib
    import pandas
    import pyarrow.parquet

    def _half_then(path, payload, mode):
        with open(path, "wb") as handle:
            handle.write(payload[: len(payload) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        if mode == "raise":
            raise OSError(28, "No space left on device (simulated)")
        sys.stdout.write("mid-write\\n")
        sys.stdout.flush()
        time.sleep(600)

    def install(qualified, mode):
        module_name, owner_name, attr = qualified.rsplit(".", 2)
        owner = getattr(importlib.import_module(module_name), owner_name)
        real = getattr(owner, attr)

        def interrupted(self, *args, **kwargs):
            if attr in ("to_parquet", "write_table"):
                path, buffer = args[0], io.BytesIO()
                real(self, buffer, *args[1:], **kwargs)
                payload = buffer.getvalue()
            elif attr == "write_text":
                path, text = self, args[0]
                payload = text.encode(kwargs.get("encoding") or (args[1] if len(args) > 1 else "utf-8"))
            else:
                path, payload = self, bytes(args[0])
            _half_then(path, payload, mode)

        setattr(owner, attr, interrupted)
        return real
''')


def _leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != target)


def _interrupt_in_process(monkeypatch, patched: str) -> None:
    namespace: dict = {}
    exec(INTERRUPT, namespace)
    real = namespace["install"](patched, "raise")
    module_name, owner_name, attr = patched.rsplit(".", 2)
    owner = getattr(__import__(module_name, fromlist=[owner_name]), owner_name)
    interrupted = getattr(owner, attr)
    setattr(owner, attr, real)  # undo the direct patch; let monkeypatch own it (restored after the test)
    monkeypatch.setattr(owner, attr, interrupted)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_failure_mid_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch, writer):
    call, patched = WRITERS[writer]
    target = tmp_path / "out.data"
    target.write_text(OLD, encoding="utf-8")
    _interrupt_in_process(monkeypatch, patched)
    with pytest.raises(OSError, match="simulated"):
        eval(call, {"fileio": fileio, "target": target, "FRAME": FRAME})
    assert target.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, target) == []


def test_text_that_cannot_be_encoded_keeps_the_old_file(tmp_path):
    """No patching: the encoding fails inside the real write (a direct write would truncate first)."""
    target = tmp_path / "report.html"
    target.write_text(OLD, encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        fileio.write_text_atomic(target, "nuovo " * 1000 + "\udc80", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, target) == []


def test_json_that_cannot_be_serialised_keeps_the_old_file(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text(OLD, encoding="utf-8")
    with pytest.raises(TypeError):
        fileio.write_json_atomic(target, {"a": object()})
    assert target.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, target) == []


def _child_script(call: str, patched: str, target: Path) -> str:
    return INTERRUPT + textwrap.dedent(f'''
        install({patched!r}, "block")
        import pandas as pd
        from cocity_analysis import fileio
        target = pathlib.Path({str(target)!r})
        FRAME = pd.DataFrame({{"x": [1.5, 2.5, 3.5], "label": ["a", "b", "c"]}},
                             index=pd.Index(["001", "002", "003"], name="istat_code"))
        {call}
        sys.stdout.write("finished\\n")
    ''')


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_killed_writer_keeps_the_old_file_and_its_temporary_is_swept(tmp_path, writer):
    call, patched = WRITERS[writer]
    target = tmp_path / "out.data"
    target.write_text(OLD, encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", _child_script(call, patched, target)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        line = child.stdout.readline()
        assert line == "mid-write\n", (line, child.stderr.read() if child.poll() is not None else "")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert target.read_text(encoding="utf-8") == OLD
    # The killed writer could not clean up; the next write of the same target removes its temporary.
    fileio.write_text_atomic(target, "dopo\n")
    assert target.read_text(encoding="utf-8") == "dopo\n"
    assert _leftovers(tmp_path, target) == []


def test_successful_writes_replace_the_file_and_leave_nothing_else(tmp_path):
    target = tmp_path / "t.parquet"
    fileio.write_parquet_atomic(target, FRAME)
    pd.testing.assert_frame_equal(pd.read_parquet(target), FRAME)
    fileio.write_json_atomic(tmp_path / "t.json", {"b": 1, "a": "è"})
    assert json.loads((tmp_path / "t.json").read_text(encoding="utf-8")) == {"a": "è", "b": 1}
    assert (tmp_path / "t.json").read_bytes() == '{\n  "a": "è",\n  "b": 1\n}\n'.encode("utf-8")
    fileio.write_bytes_atomic(tmp_path / "t.bin", b"\x00\x01")
    assert (tmp_path / "t.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bin", "t.json", "t.parquet"]


def test_temporary_of_a_live_writer_is_not_swept(tmp_path):
    """Only orphans go: a temporary whose process is alive (another writer at work) is kept."""
    target = tmp_path / "out.txt"
    live = tmp_path / f".out.txt.{os.getppid()}.abcd.tmp"
    live.write_text("in corso")
    fileio.write_text_atomic(target, "x")
    assert live.exists()


def test_written_file_has_umask_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = fileio.write_text_atomic(tmp_path / "shared.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
