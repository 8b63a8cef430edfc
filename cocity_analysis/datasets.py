"""A prepared dataset is one unit: written whole in its own folder, switched in at once, read as one run.

Layout of a processed folder (``data/processed``)::

    current -> runs/<run_id>      symlink to the dataset readers use (replaced atomically)
    runs/<run_id>/                one complete dataset per ``cocity prepare``: every table, the map
                                  assets, ``dataset.json`` (written last: the run id and each file's sha256)
    .prepare.lock                 the writers' lock (``fcntl.flock``); holds the writer's pid, start time, run id
    scenarios/                    user files (exploration notebook): never switched, never pruned

A run writes everything into ``runs/<run_id>/`` (created for it), stamps every table with the run id
(parquet schema metadata :data:`PARQUET_KEY`, JSON field :data:`JSON_KEY`), writes ``dataset.json`` and
then replaces ``current`` with one ``os.replace`` of a temporary symlink: readers see the old dataset or
the new one, never a mix. One writer at a time (:func:`writer_lock`); the next writer removes what a
killed one left and, after its switch, all but the ``keep`` most recent earlier datasets (those open in
a reader are left for the next run).

Readers call :func:`open_dataset` with the path they are given (``data/processed`` or a run folder):
it resolves ``current`` once and checks that every file of the folder carries the dataset's run id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from cocity_analysis import fileio
from cocity_analysis.errors import CocityError

CURRENT = "current"
RUNS = "runs"
LOCK_FILE = ".prepare.lock"
MANIFEST = "dataset.json"
PARQUET_KEY = fileio.PARQUET_RUN_KEY
JSON_KEY = fileio.JSON_RUN_KEY
DEFAULT_KEEP = 2
DEFAULT_WAIT_SECONDS = 600.0
MANIFEST_FORMAT = 1
#: ``20261201T090717123456Z-3fa9c1``: UTC start time (sortable) and a random suffix.
RUN_ID_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")


class DatasetBusyError(CocityError):
    """Another ``cocity prepare`` holds the processed folder's lock longer than we may wait."""


class DatasetMismatchError(CocityError):
    """A file of a dataset does not belong to its run (another run id, or none)."""


def new_run_id(now: dt.datetime | None = None) -> str:
    """A fresh run id: UTC time to the microsecond and 6 random hex digits.

    Examples
    --------
    >>> bool(RUN_ID_RE.match(new_run_id()))
    True
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%S%f')}Z-{secrets.token_hex(3)}"


def run_started_at(run_id: str) -> str | None:
    """ISO UTC start time encoded in ``run_id`` (None for an id of another form)."""
    if not RUN_ID_RE.match(run_id or ""):
        return None
    stamp = dt.datetime.strptime(run_id[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.timezone.utc)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- stamps of one file


def parquet_run_id(path: Path) -> str | None:
    """The run id in a parquet file's schema metadata (None when it has none)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(PARQUET_KEY)
    return value.decode("utf-8") if value is not None else None


def json_run_id(path: Path) -> str | None:
    """The ``run_id`` field of a JSON document (None when it has none or is not an object)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetMismatchError(f"file {path}: JSON non valido ({error}); eseguire di nuovo `cocity prepare`")
    return document.get(JSON_KEY) if isinstance(document, dict) else None


def stamp_parquet(path: Path, run_id: str) -> None:
    """Rewrite a parquet file with ``run_id`` in its schema metadata (other metadata kept), atomically."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    fileio.write_arrow_atomic(path, table, run_id=run_id)


def stamp_json(path: Path, run_id: str) -> None:
    """Set the ``run_id`` field of a JSON object file, atomically (sorted, indented like every output)."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise CocityError(f"file {path}: un file JSON di un'elaborazione deve essere un oggetto")
    fileio.write_json_atomic(path, {**document, JSON_KEY: run_id})


def unstamped_bytes(path: str | Path) -> bytes:
    """A file's bytes as if it carried no run id: what "same inputs and seed give byte-identical
    outputs" compares between two runs (whose run ids differ).

    Parquet: rewritten as :func:`fileio.write_arrow_atomic` writes it, without the
    ``cocity_run_id`` key; JSON: without the ``run_id`` field; anything else: as it is.
    """
    import io

    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != PARQUET_KEY}
        buffer = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(metadata), buffer, compression="zstd")
        return buffer.getvalue()
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict):
            document.pop(JSON_KEY, None)
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    return path.read_bytes()


def _dataset_files(folder: Path) -> list[Path]:
    """Every file of a dataset folder, recursively, dot-files and the manifest left out."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and p.relative_to(folder).as_posix() != MANIFEST)


def seal(folder: Path, run_id: str) -> Path:
    """Stamp every file of ``folder`` with ``run_id`` where it is not yet, then write ``dataset.json``.

    Generic on purpose: a table added to :func:`pipeline.write_processed`, or written by another
    library (geopandas), joins the dataset by being written in its folder.
    """
    files = {}
    for path in _dataset_files(folder):
        if path.suffix == ".parquet" and parquet_run_id(path) != run_id:
            stamp_parquet(path, run_id)
        elif path.suffix == ".json" and json_run_id(path) != run_id:
            stamp_json(path, run_id)
        files[path.relative_to(folder).as_posix()] = {"sha256": fileio.sha256_file(path),
                                                       "bytes": path.stat().st_size}
    return fileio.write_json_atomic(folder / MANIFEST, {"format": MANIFEST_FORMAT, JSON_KEY: run_id,
                                                        "files": files})


# --------------------------------------------------------------------------- readers


@dataclass
class Dataset:
    """One prepared dataset, opened by :func:`open_dataset`.

    Attributes
    ----------
    path : Path
        The concrete dataset folder (``<processed>/runs/<run_id>``), resolved once.
    run_id : str
    root : Path or None
        The processed folder it belongs to (holds ``current``, ``runs/``, ``scenarios/``).
    manifest : dict
        ``dataset.json``: run id, each file's sha256 and size.
    """

    path: Path
    run_id: str
    root: Path | None
    manifest: dict = field(repr=False, default_factory=dict)
    _hold: object = field(default=None, repr=False, compare=False)

    def file(self, name: str) -> Path:
        """``path / name`` once it is checked to belong to this run (it may not exist)."""
        target = self.path / name
        if target.is_file():
            check_file(self.path, target, self.run_id, self.manifest)
        return target

    def read_parquet(self, name: str, **kwargs) -> pd.DataFrame:
        """A table of this dataset (checked)."""
        return pd.read_parquet(self.file(name), **kwargs)

    def read_json(self, name: str) -> dict:
        """A JSON document of this dataset (checked)."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    @property
    def provenance(self) -> dict:
        path = self.path / "provenance.json"
        return self.read_json("provenance.json") if path.is_file() else {}

    def hold(self) -> "Dataset":
        """Keep this dataset from being pruned by a later ``prepare`` while this object lives."""
        if self._hold is None:
            handle = open(self.path / MANIFEST, "rb")  # noqa: SIM115 - kept open on purpose
            fcntl.flock(handle, fcntl.LOCK_SH)
            self._hold = handle
        return self

    def release(self) -> None:
        if self._hold is not None:
            self._hold.close()
            self._hold = None


def check_file(folder: Path, path: Path, run_id: str, manifest: dict) -> None:
    """Raise :class:`DatasetMismatchError` naming ``path`` unless it belongs to run ``run_id``."""
    relative = path.relative_to(folder).as_posix()
    if path.suffix == ".parquet":
        try:
            found = parquet_run_id(path)
        except Exception as error:  # noqa: BLE001 - unreadable = not part of the run
            raise DatasetMismatchError(f"file {path}: tabella non leggibile ({error}); "
                                       "eseguire di nuovo `cocity prepare`") from error
    elif path.suffix == ".json":
        found = json_run_id(path)
    else:
        entry = manifest.get("files", {}).get(relative)
        if entry is None:
            raise DatasetMismatchError(f"file {path}: non fa parte dell'elaborazione {run_id} "
                                       f"(assente da {folder / MANIFEST}); i dati non sono usati")
        if fileio.sha256_file(path) != entry.get("sha256"):
            raise DatasetMismatchError(f"file {path}: diverso da quello scritto dall'elaborazione {run_id} "
                                       f"(sha256 in {folder / MANIFEST}); i dati non sono usati")
        return
    if found != run_id:
        other = f"dell'elaborazione {found}" if found else "senza identificativo di elaborazione"
        raise DatasetMismatchError(f"file {path}: è {other}, mentre la cartella è dell'elaborazione {run_id}; "
                                   "un'elaborazione mescolata non è usata: eseguire di nuovo `cocity prepare`")


_VERIFIED: dict[tuple, bool] = {}


def _stat_key(folder: Path, files: list[Path]) -> tuple:
    key = [str(folder)]
    for path in [folder / MANIFEST, *files]:
        try:
            st = path.stat()
            key.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            key.append((path.name, None))
    return tuple(key)


def verify(folder: Path, run_id: str, manifest: dict) -> None:
    """Check every file of a dataset folder (cached per process on the files' stat)."""
    files = _dataset_files(folder)
    key = _stat_key(folder, files)
    if key in _VERIFIED:
        return
    for path in files:
        check_file(folder, path, run_id, manifest)
    if len(_VERIFIED) > 32:
        _VERIFIED.clear()
    _VERIFIED[key] = True


def resolve(processed_dir: str | Path) -> tuple[Path, Path | None]:
    """``(dataset folder, processed root or None)`` for the path a reader is given.

    ``<processed>`` with a ``current`` link resolves to its target; a folder holding a
    ``dataset.json`` is a dataset itself. Raises CocityError (saying to run ``cocity prepare``)
    otherwise.
    """
    path = Path(processed_dir)
    link = path / CURRENT
    if link.exists():
        return link.resolve(strict=True), path.resolve()
    if (path / MANIFEST).is_file():
        folder = path.resolve()
        root = folder.parent.parent if folder.parent.name == RUNS else None
        return folder, root
    if not path.is_dir():
        raise CocityError(f"la cartella dei dati elaborati {path} non esiste; eseguire prima `cocity prepare`")
    if link.is_symlink():
        raise CocityError(f"{link} punta a un'elaborazione che non esiste più; eseguire di nuovo `cocity prepare`")
    if any(path.glob("*.parquet")):
        raise CocityError(f"la cartella dei dati elaborati {path} non ha un'elaborazione identificata "
                          f"(manca {CURRENT}/{MANIFEST}: file di una versione precedente o scritti a mano); "
                          "eseguire di nuovo `cocity prepare`")
    raise CocityError(f"la cartella dei dati elaborati {path} non contiene un'elaborazione completa; "
                      "eseguire prima `cocity prepare`")


def open_dataset(processed_dir: str | Path, *, verify_files: bool = True, hold: bool = False) -> Dataset:
    """Open the dataset a reader is given (``data/processed`` or a run folder), resolved once.

    Parameters
    ----------
    processed_dir : path
        The processed folder (its ``current`` dataset is opened) or one dataset folder.
    verify_files : bool
        Check that every file of the dataset carries its run id (parquet metadata, JSON field,
        sha256 in ``dataset.json`` for other files).
    hold : bool
        Keep the dataset from being pruned while the returned object lives (:meth:`Dataset.hold`).

    Returns
    -------
    Dataset
        ``.path`` (concrete folder), ``.run_id``, ``.root``, ``.read_parquet(name)``, ``.read_json(name)``.

    Raises
    ------
    CocityError
        No dataset there; :class:`DatasetMismatchError` naming the file that belongs to another run.

    Examples
    --------
    >>> dataset = open_dataset("data/processed")  # doctest: +SKIP
    >>> scores = dataset.read_parquet("scores.parquet")  # doctest: +SKIP
    """
    for attempt in range(3):
        folder, root = resolve(processed_dir)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            dataset = Dataset(path=folder, run_id=str(manifest[JSON_KEY]), root=root, manifest=manifest)
            if hold:
                dataset.hold()
                if not (folder / MANIFEST).is_file():  # pruned just before we held it
                    dataset.release()
                    raise FileNotFoundError(folder / MANIFEST)
            break
        except FileNotFoundError:  # pruned between resolving `current` and opening: resolve again
            if attempt == 2:
                raise CocityError(f"{folder}: l'elaborazione è stata rimossa durante la lettura; riprovare")
        except (json.JSONDecodeError, KeyError) as error:
            raise CocityError(f"file {folder / MANIFEST}: non valido ({error}); eseguire di nuovo `cocity prepare`")
    if verify_files:
        verify(dataset.path, dataset.run_id, dataset.manifest)
    return dataset


def root_of(processed_dir: str | Path) -> Path:
    """The processed root of a path given to a reader: itself, or the root of a run folder."""
    path = Path(processed_dir)
    if (path / MANIFEST).is_file() and path.resolve().parent.name == RUNS:
        return path.resolve().parent.parent
    return path


# --------------------------------------------------------------------------- the writer


def _read_holder(handle) -> dict:
    try:
        handle.seek(0)
        text = handle.read()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}


def _holder_text(holder: dict) -> str:
    if not holder:
        return "un altro processo (dati del processo non ancora scritti)"
    return (f"la preparazione {holder.get('run_id')} (pid {holder.get('pid')} su {holder.get('host')}, "
            f"avviata alle {holder.get('started_at')})")


def _next_run_id(root: Path) -> str:
    """A fresh run id later than the current one's (ids then sort in the order of the switches,
    even if the clock was set back)."""
    run_id, current = new_run_id(), current_run_id(root)
    if current and RUN_ID_RE.match(current) and run_id <= current:
        after = dt.datetime.strptime(current[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.timezone.utc)
        run_id = new_run_id(after + dt.timedelta(microseconds=1))
    return run_id


@contextlib.contextmanager
def writer_lock(root: str | Path, run_id: str | None = None, *, wait: float = DEFAULT_WAIT_SECONDS,
                poll: float = 0.2, on_wait=None) -> Iterator[dict]:
    """Hold the one-writer lock of a processed folder while the block runs; yield the holder record.

    Parameters
    ----------
    root : path
        The processed folder (created when missing).
    run_id : str, optional
        Default: a fresh one, made once the lock is held (so run ids follow the writers' order).
        Recorded in the lock file with pid, host and start time, for a waiting writer to name.
    wait : float
        Seconds to wait for another writer; then :class:`DatasetBusyError` naming it.
    on_wait : callable, optional
        Called once with the other writer's description when we have to wait.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + max(0.0, wait)
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(handle)
                if time.monotonic() >= deadline:
                    raise DatasetBusyError(
                        f"{root}: {_holder_text(holder)} sta scrivendo questa cartella; atteso {wait:g} s "
                        "(--wait) senza scrivere nulla. Riprovare al termine o aumentare --wait") from None
                if not told and on_wait is not None:
                    on_wait(_holder_text(holder))
                    told = True
                time.sleep(poll)
        holder = {"run_id": run_id or _next_run_id(root), "pid": os.getpid(), "host": socket.gethostname(),
                  "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder, sort_keys=True) + "\n")
        handle.flush()
        yield holder
    finally:
        handle.close()  # releases the lock


def current_run_id(root: Path) -> str | None:
    link = root / CURRENT
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def _sealed(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def _remove_unless_in_use(folder: Path) -> bool:
    """Remove a sealed dataset unless a reader holds it (:meth:`Dataset.hold`); True when removed.
    The exclusive lock is kept while the folder is moved away, so no reader can take it meanwhile."""
    try:
        handle = open(folder / MANIFEST, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        _remove(folder)
        return True
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        _remove(folder)
    return True


def _remove(folder: Path) -> None:
    """Delete a run folder: renamed first (atomic), so that a kill half-way leaves a dot-folder the
    next writer removes, never a half-deleted dataset that still looks complete."""
    trash = folder.with_name(f".trash-{folder.name}")
    try:
        os.replace(folder, trash)
    except OSError:
        trash = folder
    shutil.rmtree(trash, ignore_errors=True)


def clean_leftovers(root: Path) -> list[Path]:
    """Remove what killed writers left: unsealed run folders and sealed ones never switched in
    (newer than ``current``). Call with the writer lock held."""
    runs = root / RUNS
    if not runs.is_dir():
        return []
    current = current_run_id(root)
    removed = []
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()):
        if folder.name == current:
            continue
        if folder.name.startswith(".") or not _sealed(folder) or (current is not None and folder.name > current):
            _remove(folder)
            removed.append(folder)
    for temp in root.glob(f".{CURRENT}.*.tmp"):
        temp.unlink(missing_ok=True)
    return removed


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recent datasets before ``current`` (open ones are left)."""
    runs = root / RUNS
    current = current_run_id(root)
    earlier = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".") and _sealed(p)
                      and p.name != current
                      and (current is None or p.name < current)), reverse=True)
    removed = []
    for folder in earlier[max(0, keep):]:
        if _remove_unless_in_use(folder):
            removed.append(folder)
    return removed


def switch(root: Path, run_id: str) -> None:
    """Point ``current`` at ``runs/<run_id>`` with one atomic ``os.replace`` of a new symlink."""
    temp = root / f".{CURRENT}.{run_id}.tmp"
    temp.unlink(missing_ok=True)
    os.symlink(Path(RUNS) / run_id, temp)
    os.replace(temp, root / CURRENT)
    fileio.fsync_dir(root)


@contextlib.contextmanager
def new_dataset(root: str | Path, *, run_id: str | None = None, keep: int = DEFAULT_KEEP,
                wait: float = DEFAULT_WAIT_SECONDS, on_wait=None) -> Iterator[Path]:
    """Lock ``root``, yield a fresh ``runs/<run_id>/`` to write into, then seal it and switch to it.

    On an exception the new folder is removed and ``current`` is untouched; a killed process
    leaves a folder the next writer removes (:func:`clean_leftovers`).

    Examples
    --------
    >>> with new_dataset("data/processed") as folder:  # doctest: +SKIP
    ...     fileio.write_parquet_atomic(folder / "scores.parquet", scores)
    """
    root = Path(root)
    if keep < 0:
        raise CocityError(f"--keep deve essere 0 o più, ricevuto {keep}")
    if (root / MANIFEST).is_file():
        raise CocityError(f"{root} è già un'elaborazione ({MANIFEST}) e non si modifica: indicare la cartella "
                          f"dei dati elaborati che la contiene (quella con {CURRENT} e {RUNS}/)")
    if run_id is not None and not RUN_ID_RE.match(run_id):
        raise CocityError(f"identificativo di elaborazione non valido {run_id!r} (atteso come {new_run_id()})")
    with writer_lock(root, run_id, wait=wait, on_wait=on_wait) as holder:
        run_id = holder["run_id"]
        clean_leftovers(root)
        folder = root / RUNS / run_id
        folder.mkdir(parents=True)
        try:
            with fileio.stamping(folder, run_id):
                yield folder
            seal(folder, run_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        switch(root, run_id)
        prune(root, keep)


# --------------------------------------------------------------------------- status


def _summary(folder: Path) -> dict:
    manifest = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    provenance = {}
    with contextlib.suppress(OSError, ValueError):
        provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    method = provenance.get("method", {})
    method_input = next((i for i in provenance.get("inputs", []) if i.get("role") == "method"), None)
    cities = next((i for i in provenance.get("inputs", []) if i.get("role") == "cities"), None)
    return {
        "run_id": manifest.get(JSON_KEY, folder.name),
        "started_at": run_started_at(folder.name),
        "scope": method.get("scope"),
        "method_file": method_input["name"] if method_input else "predefinito (cocity_analysis/data/method.yaml)",
        "method_sha256": method_input.get("sha256") if method_input else None,
        "seed": provenance.get("seed"),
        "cities_file": cities["name"] if cities else None,
        "files": len(manifest.get("files", {})),
        "path": str(folder),
    }


def status(processed_dir: str | Path) -> dict:
    """The current dataset, the kept ones (newest first), leftovers of killed runs and the writer, if any."""
    root = root_of(processed_dir)
    runs = root / RUNS
    current = current_run_id(root)
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), reverse=True) if runs.is_dir() else []
    writer = None
    lock = root / LOCK_FILE
    if lock.is_file():
        with open(lock, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                writer = _read_holder(handle) or {"run_id": None}
    return {
        "root": str(root),
        "current": _summary(runs / current) if current and (runs / current).is_dir() else None,
        "kept": [_summary(p) for p in folders if p.name != current and _sealed(p) and not p.name.startswith(".")
                 and (current is None or p.name < current)],
        "incomplete": [str(p) for p in folders if p.name != current
                       and (p.name.startswith(".") or not _sealed(p) or (current is not None and p.name > current))],
        "writer": writer,
    }


def format_status(report: dict) -> str:
    """``cocity status`` text (Italian)."""
    lines = [f"Cartella dei dati elaborati: {report['root']}"]

    def describe(entry: dict) -> list[str]:
        return [f"  identificativo: {entry['run_id']}", f"  avviata il:     {entry['started_at']}",
                f"  riferimento:    {entry['scope']}", f"  file di metodo: {entry['method_file']}",
                f"  seme:           {entry['seed']}", f"  file:           {entry['files']}  ({entry['path']})"]

    if report["current"] is None:
        lines.append("Nessuna elaborazione corrente: eseguire `cocity prepare`.")
    else:
        lines += ["Elaborazione corrente:", *describe(report["current"])]
    if report["kept"]:
        lines.append(f"Elaborazioni precedenti conservate ({len(report['kept'])}):")
        for entry in report["kept"]:
            lines += describe(entry)
    else:
        lines.append("Nessuna elaborazione precedente conservata.")
    if report["writer"]:
        lines.append(f"Preparazione in corso: {_holder_text(report['writer'])}.")
    if report["incomplete"]:
        lines.append("Resti di preparazioni interrotte (rimossi dalla prossima `cocity prepare`): "
                     + ", ".join(report["incomplete"]))
    return "\n".join(lines) + "\n"
