"""Shared fetch helper: mirror first, else download; sha256 and date in ``provenance.json``.

Every official source the project downloads goes through :func:`fetch_file`,
so that all of them behave the same way:

* with a data mirror (argument ``mirror`` or ``COCITY_DATA_MIRROR``) the file is
  copied from ``<mirror>/<source>/<official file name>`` and the network is
  never used (mirrors are for offline machines);
* without one, a source-specific ``download`` callable writes the file;
* either way the file is written atomically, checked by a source-specific
  ``check`` callable, and ``<dest_dir>/provenance.json`` gets an entry with
  the file's sha256, size, origin (URL or mirror path) and UTC date;
* when neither works, :class:`~cocity_analysis.errors.SourceUnavailableError`
  says what was tried and how to fix it.

Downloaded files are git-ignored (``data/raw/<source>/``): nothing fetched is
ever committed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from cocity_analysis import config
from cocity_analysis.errors import InputFileError, SourceUnavailableError
from cocity_analysis.fileio import atomic_path, sha256_file, write_json_atomic

if TYPE_CHECKING:  # imported where a download starts: `prepare` never needs it (0.1 s)
    import requests

PROVENANCE_FILE = "provenance.json"

#: Exceptions a download callable may raise for "the network did not give us the file"
#: (requests' ``RequestException`` is an ``OSError``).
NETWORK_ERRORS = (ConnectionError, TimeoutError, OSError)


def http_download(url: str, session: requests.Session | None = None, timeout: float = 120):
    """A ``download(tmp) -> url`` callable for :func:`fetch_file`: ``url`` streamed into ``tmp``.

    Sends a User-Agent naming the project; uses ``session`` when given (tests pass a fake one),
    else a session of its own, closed afterwards.
    """
    def download(tmp: Path) -> str:
        import requests

        client = session if session is not None else requests.Session()
        try:
            response = client.get(url, stream=True, timeout=timeout, headers={"User-Agent": config.USER_AGENT})
            try:
                response.raise_for_status()
                with open(tmp, "wb") as handle:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        handle.write(chunk)
            finally:
                close = getattr(response, "close", None)
                if close:
                    close()
        finally:
            if session is None:
                client.close()
        return url

    return download


def reader_check(read):
    """A ``check(path) -> None or reason`` for :func:`fetch_file` from a loader: the file is fine when
    ``read(path)`` raises no :class:`InputFileError`; else its reason, with row and column."""
    def check(path: Path) -> str | None:
        try:
            read(path)
        except InputFileError as exc:
            where = ", ".join(part for part in (f"row {exc.row}" if exc.row else "",
                                                f"column {exc.column!r}" if exc.column else "") if part)
            return exc.reason + (f" ({where})" if where else "")
        return None

    return check


def utc_now() -> str:
    """Current UTC time, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_provenance(dest_dir: str | Path) -> dict:
    """The ``provenance.json`` of ``dest_dir`` as a dict keyed by file name ({} when absent)."""
    target = Path(dest_dir) / PROVENANCE_FILE
    if not target.exists():
        return {}
    try:
        existing = json.loads(target.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(target, f"not valid JSON ({exc}); fix or delete it") from None
    if not isinstance(existing, dict):
        raise InputFileError(target, "expected a JSON object keyed by file name; fix or delete it")
    return existing


def record_provenance(dest_dir: str | Path, entry: dict) -> Path:
    """Add or replace ``entry`` (keyed by ``entry['file']``) in ``dest_dir/provenance.json``."""
    dest_dir = Path(dest_dir)
    existing = read_provenance(dest_dir)
    existing[entry["file"]] = entry
    return write_json_atomic(dest_dir / PROVENANCE_FILE, existing)


def mirror_dir(mirror: str | Path | None = None) -> Path | None:
    """The mirror folder to use: ``mirror`` when given, else ``COCITY_DATA_MIRROR``, else None."""
    return Path(mirror) if mirror is not None else config.data_mirror()


def find_in_mirror(mirror: Path, source: str, names: Sequence[str]) -> Path | None:
    """First of ``<mirror>/<source>/<name>`` that exists, or None."""
    for name in names:
        candidate = mirror / source / name
        if candidate.is_file():
            return candidate
    return None


def fetch_file(
    *,
    source: str,
    label: str,
    names: Sequence[str],
    dest_dir: str | Path,
    download: Callable[[Path], str],
    check: Callable[[Path], str | None] | None = None,
    mirror: str | Path | None = None,
    how_to_get: str = "",
    extra: dict | None = None,
    url: str | None = None,
) -> dict:
    """Put one official file in ``dest_dir`` (mirror first, else download) and record it.

    Parameters
    ----------
    source : str
        Folder name of the source, in the mirror and under ``data/raw/``
        (``"mef"``, ``"istat_sdmx"``, ...).
    label : str
        What the file is, for messages (``"ISTAT SDMX DF_DCSS_... (occupati)"``).
    names : sequence of str
        Official file names accepted, in order of preference; the first is the
        name a download is saved under. In the mirror the first that exists is
        taken, and it keeps its name in ``dest_dir``.
    dest_dir : path
        Folder to write into (created if needed).
    download : callable
        ``download(tmp_path) -> url``: writes the file to ``tmp_path`` and
        returns the address it came from; raises one of :data:`NETWORK_ERRORS`
        (or :class:`SourceUnavailableError`) when it cannot.
    check : callable, optional
        ``check(path) -> None | problem``: a short description of what is wrong
        with a file that is not what the publisher distributes.
    mirror : path, optional
        Mirror folder; overrides ``COCITY_DATA_MIRROR``.
    how_to_get : str
        Where a person can get the file by hand (an address, a query), quoted
        in error messages.
    extra : dict, optional
        More fields for the provenance entry (dataflow, key, reference year...).
    url : str, optional
        The address ``download`` fetches, when known beforehand: named in the
        error message of a failed download.

    Returns
    -------
    dict
        The provenance entry: ``file``, ``source``, ``url``, ``mirror_path``
        (None when downloaded), ``sha256``, ``size``, ``retrieved_at`` (UTC,
        ISO 8601) and ``extra``'s fields.

    Raises
    ------
    SourceUnavailableError
        The mirror is set but lacks the file, or the download failed; the
        message says what was tried and how to fix it.
    InputFileError
        The mirror's file fails ``check``.
    """
    dest_dir = Path(dest_dir)
    mirror_folder = mirror_dir(mirror)
    hint = f" ({how_to_get})" if how_to_get else ""

    if mirror_folder is not None:
        origin = find_in_mirror(mirror_folder, source, names)
        if origin is None:
            wanted = " or ".join(str(mirror_folder / source / name) for name in names)
            raise SourceUnavailableError(
                f"{label}: the data mirror {mirror_folder} is set (argument mirror or {config.MIRROR_ENV}) "
                f"but {wanted} does not exist. Put the official file there{hint}, or point "
                f"{config.MIRROR_ENV} at a mirror that has it, or unset {config.MIRROR_ENV} to download it. "
                "No download was tried: with a mirror set, the network is not used.")
        target = dest_dir / origin.name
        with atomic_path(target) as tmp:
            shutil.copyfile(origin, tmp)
            problem = check(tmp) if check else None
            if problem:
                raise InputFileError(origin, f"{problem}; replace it with the official file{hint}")
        url, mirror_path = None, str(origin)
    else:
        target = dest_dir / names[0]
        try:
            with atomic_path(target) as tmp:
                url = download(tmp)
                problem = check(tmp) if check else None
                if problem:
                    raise SourceUnavailableError(
                        f"{label}: {url} returned a file that is {problem}; the service may have changed. "
                        f"Set {config.MIRROR_ENV} to a folder holding {source}/{names[0]} instead.")
        except NETWORK_ERRORS as exc:
            raise SourceUnavailableError(
                f"{label}: download {f'of {url} ' if url else ''}failed ({type(exc).__name__}: {exc}); "
                "no data mirror is set. "
                f"On a machine without internet access, set {config.MIRROR_ENV} to a folder holding "
                f"{source}/{names[0]}{hint}.") from exc
        mirror_path = None

    entry = {
        "file": target.name,
        "source": source,
        "url": url,
        "mirror_path": mirror_path,
        "sha256": sha256_file(target),
        "size": target.stat().st_size,
        "retrieved_at": utc_now(),
        **(extra or {}),
    }
    record_provenance(dest_dir, entry)
    return entry
