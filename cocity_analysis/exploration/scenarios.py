"""Scenarios: the method choices of an exploration, saved so that they become the scheduled run.

The "Salva scenario" button of ``notebooks/explore.ipynb`` calls
:func:`save_scenario`, which writes ``data/processed/scenarios/<name>.yaml``
(a method file: every key of :class:`~cocity_analysis.method.choices.Method`).
``cocity prepare --scenario FILE`` reads it with :func:`load_scenario` (the
same semantics as a method file) through :func:`prepare_scenario`, which also
records the file's path and sha256 in ``provenance.json``.
"""

from __future__ import annotations

import re
from pathlib import Path

from cocity_analysis import config
from cocity_analysis.errors import CocityError
from cocity_analysis.fileio import sha256_file, write_text_atomic
from cocity_analysis.method.choices import Method, dump_method, load_method

SCENARIO_DIR_NAME = "scenarios"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def scenario_dir(processed_dir: str | Path = config.PROCESSED_DIR) -> Path:
    """``<processed_dir>/scenarios``: beside the datasets, never inside one (given a dataset
    folder ``runs/<run_id>``, the scenarios of its processed folder)."""
    from cocity_analysis.datasets import root_of

    return root_of(processed_dir) / SCENARIO_DIR_NAME


def validate_name(name: str) -> str:
    """A scenario name that is a safe file name on every system, or a clear error.

    Letters, digits, ``-`` and ``_``, starting with a letter or digit, at most
    64 characters; a trailing ``.yaml`` is accepted and dropped.

    Examples
    --------
    >>> validate_name("pesi-abitare_2")
    'pesi-abitare_2'
    >>> validate_name("prova.yaml")
    'prova'
    """
    if not isinstance(name, str):
        raise CocityError(f"nome scenario {name!r} non valido: deve essere un testo")
    stem = name.strip()
    for suffix in (".yaml", ".yml"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    if not NAME_PATTERN.fullmatch(stem):
        raise CocityError(
            f"nome scenario {name!r} non valido: usare da 1 a 64 caratteri tra lettere senza accenti, "
            "cifre, '-' e '_', iniziando con una lettera o una cifra (niente spazi, punti o '/'), "
            "es. 'pesi-abitare'")
    return stem


def save_scenario(name: str, method: Method, processed_dir: str | Path = config.PROCESSED_DIR, *,
                  overwrite: bool = False) -> Path:
    """Write ``method`` to ``<processed_dir>/scenarios/<name>.yaml`` atomically and return the path.

    Parameters
    ----------
    name : str
        Scenario name (see :func:`validate_name`).
    method : Method
        The choices to save (all keys are written, so the file does not depend
        on later changes of the shipped defaults).
    processed_dir : path
    overwrite : bool
        Replace an existing scenario of that name with different content.
        Saving identical content again is always allowed.

    Raises
    ------
    CocityError
        Invalid name, or a different scenario of that name exists and ``overwrite`` is False.
    """
    stem = validate_name(name)
    path = scenario_dir(processed_dir) / f"{stem}.yaml"
    text = (f"# Scenario '{stem}' salvato da notebooks/explore.ipynb (cocity-analysis).\n"
            f"# Per usarlo nell'esecuzione programmata: cocity prepare --scenario {path.name}\n"
            + dump_method(method))
    if path.exists() and not overwrite and path.read_text(encoding="utf-8") != text:
        raise CocityError(f"lo scenario {path} esiste già con scelte diverse: scegliere un altro nome "
                          "o sovrascriverlo esplicitamente")
    return write_text_atomic(path, text)


def load_scenario(path: str | Path) -> Method:
    """The :class:`Method` of a scenario file (read like ``--method FILE``: over the shipped defaults)."""
    return load_method(Path(path))


def scenario_record(path: str | Path) -> dict:
    """``{"name", "path", "sha256"}`` of a scenario file, for ``provenance.json``."""
    path = Path(path)
    return {"name": path.stem, "path": str(path.resolve()), "sha256": sha256_file(path)}


def prepare_scenario(path: str | Path, *, processed_dir: str | Path = config.PROCESSED_DIR,
                     write: bool = True, **prepare_options):
    """``cocity prepare --scenario FILE``: :func:`pipeline.prepare` with the scenario's method.

    The scenario's path and sha256 go into ``provenance.json`` (key
    ``scenario`` and an ``inputs`` entry with role ``scenario``). Other keyword
    arguments go to :func:`pipeline.prepare` unchanged.

    Returns
    -------
    PrepareResult
    """
    from cocity_analysis.pipeline import prepare

    method = load_scenario(path)
    record = scenario_record(path)

    def add_record(result) -> None:
        result.provenance["scenario"] = record
        result.provenance["inputs"].append({"role": "scenario", "name": Path(path).name,
                                            "sha256": record["sha256"], "path": record["path"]})

    return prepare(processed_dir=processed_dir, write=write, method=method, on_prepared=add_record,
                   **prepare_options)
