"""Atomic writes and hashing: nothing in data/processed or reports is ever half-written."""

from __future__ import annotations

import contextlib
import contextvars
import glob
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd


#: (dataset folder, run id) of the ``cocity prepare`` writing now (:func:`stamping`), else None.
_STAMP: contextvars.ContextVar[tuple[Path, str] | None] = contextvars.ContextVar("cocity_run_stamp", default=None)
PARQUET_RUN_KEY = b"cocity_run_id"
JSON_RUN_KEY = "run_id"


@contextlib.contextmanager
def stamping(folder: str | Path, run_id: str) -> Iterator[None]:
    """While active, parquet and JSON objects written inside ``folder`` carry ``run_id``.

    Used by :func:`cocity_analysis.datasets.new_dataset`: every table of a run is stamped
    as it is written (``datasets.seal`` stamps the rest).
    """
    token = _STAMP.set((Path(folder).resolve(), run_id))
    try:
        yield
    finally:
        _STAMP.reset(token)


def _run_id_for(target: Path) -> str | None:
    stamp = _STAMP.get()
    if stamp is None:
        return None
    folder, run_id = stamp
    return run_id if Path(target).resolve().is_relative_to(folder) else None


def fsync_dir(path: str | Path) -> None:
    """Flush a directory entry change (rename, symlink) to disk where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _remove_orphans(target: Path) -> None:
    """Remove temporaries of ``target`` left by writers that were killed (their process is gone).

    A killed process (SIGKILL, OOM, power cut) never runs its ``finally``; its
    temporary carries its pid in the name, so the next write of the same target
    can tell it from the temporary of a writer still at work.
    """
    prefix = f".{target.name}."
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = leftover.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched.
    The temporary is named ``.<name>.<pid>.<random>.tmp``: one left by a killed
    writer is removed by the next write of the same target.

    Examples
    --------
    >>> with atomic_path(tmp_path / "x.txt") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("hello")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs are shared files
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(target: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_bytes_atomic(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json_atomic(target: str | Path, obj) -> Path:
    """Write ``obj`` as sorted, indented UTF-8 JSON (stable bytes for equal content).

    Inside a dataset being prepared (:func:`stamping`) an object gets the run id as ``run_id``.
    """
    run_id = _run_id_for(Path(target))
    if run_id is not None and isinstance(obj, dict):
        obj = {**obj, JSON_RUN_KEY: run_id}
    return write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_parquet_atomic(target: str | Path, frame: pd.DataFrame, run_id: str | None = None) -> Path:
    """Write ``frame`` to parquet atomically, without timestamps, so equal frames give equal bytes.

    ``run_id`` (default: the run being prepared, see :func:`stamping`) goes into the schema
    metadata as ``cocity_run_id``.
    """
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=True)
    return write_arrow_atomic(target, table, run_id=run_id)


def write_arrow_atomic(target: str | Path, table, run_id: str | None = None) -> Path:
    """Write a ``pyarrow.Table`` to parquet (zstd) atomically, with ``run_id`` in its schema metadata."""
    import pyarrow.parquet as pq

    run_id = run_id or _run_id_for(Path(target))
    if run_id is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), PARQUET_RUN_KEY: run_id.encode()})
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(target)


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
