"""Optional official sources for ``cocity prepare``: load what was fetched, say why the rest is missing.

One call, :func:`load_all`, reads every ISTAT SDMX dataset (census and
population: ``data/raw/istat_sdmx/``; accommodation capacity:
``data/raw/istat_tourism/``) whose file is there, and returns:

* ``extra``: one row per today's municipality, one column per measure of the
  datasets loaded (to be joined into the pipeline's base table);
* ``unavailable``: ``{source name: {"it": ..., "en": ...}}`` for every dataset
  whose file is absent or unusable, the reason written for the readers of the
  reports (the catalogue's ``requires:`` uses these source names, so each
  indicator that needs them is reported as missing, with the reason);
* ``inputs``: provenance records of the files used (sha256, dataflow,
  reference year, what was reconciled).

A file that is present but cannot be used (wrong dataflow, codes that do not
match the documented query...) does not stop the preparation: its indicators
are reported missing with the loader's message, which names the file and what
it contains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from cocity_analysis import config
from cocity_analysis.errors import CocityError
from cocity_analysis.fileio import sha256_file
from cocity_analysis.sources import fetching, istat_sdmx, istat_tourism

GROUPS = ("istat_sdmx", "istat_tourism")


def all_datasets() -> list[istat_sdmx.Dataset]:
    """Every optional dataset, census/population first, then tourism."""
    return [*istat_sdmx.DATASETS.values(), *istat_tourism.DATASETS.values()]


def _missing_reason(dataset: istat_sdmx.Dataset) -> dict:
    return {
        "it": (f"i dati ISTAT «{dataset.label_it}» (dataflow {dataset.flow}, anno {dataset.year}) non erano "
               "disponibili quando è stata preparata questa elaborazione (file ufficiale non scaricato)"),
        "en": (f"ISTAT data \"{dataset.label_en}\" (dataflow {dataset.flow}, year {dataset.year}) were not "
               "available when this analysis was prepared (official file not downloaded)"),
    }


def _unusable_reason(dataset: istat_sdmx.Dataset, error: Exception) -> dict:
    return {
        "it": (f"il file ISTAT «{dataset.label_it}» (dataflow {dataset.flow}) è presente ma non è stato "
               f"possibile usarlo: {error}"),
        "en": f"the ISTAT file \"{dataset.label_en}\" (dataflow {dataset.flow}) is present but unusable: {error}",
    }


def load_all(raw_dir: str | Path = config.RAW_DIR, current_codes: Iterable[str] | None = None,
             changes: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Load every optional source found under ``raw_dir``.

    Parameters
    ----------
    raw_dir : path
        The raw-data folder (files in ``<raw_dir>/istat_sdmx/`` and
        ``<raw_dir>/istat_tourism/``).
    current_codes : iterable of str, optional
        Today's ISTAT codes, for reconciling merged municipalities.
    changes : DataFrame, optional
        Table of municipal changes (default: ISTAT's file fetched into data/raw/istat_changes/).

    Returns
    -------
    (DataFrame, dict, list)
        ``extra`` (indexed by ``istat_code``), ``unavailable`` and ``inputs``
        as described in the module docstring.

    Examples
    --------
    >>> extra, unavailable, inputs = load_all(tmp_path)  # doctest: +SKIP
    >>> sorted(unavailable)  # doctest: +SKIP
    ['istat_dwellings', 'istat_education', 'istat_foreigners', ...]
    """
    raw_dir = Path(raw_dir)
    current = None if current_codes is None else list(current_codes)
    frames: list[pd.DataFrame] = []
    unavailable: dict[str, dict] = {}
    inputs: list[dict] = []
    for dataset in all_datasets():
        folder = raw_dir / dataset.group
        path = istat_sdmx.find_local(dataset, folder)
        if path is None:
            unavailable[dataset.requires] = _missing_reason(dataset)
            continue
        try:
            frame, report = istat_sdmx.load(path, dataset, current_codes=current, changes=changes,
                                            return_report=True)
        except CocityError as exc:
            unavailable[dataset.requires] = _unusable_reason(dataset, exc)
            continue
        frames.append(frame)
        try:
            fetched = fetching.read_provenance(folder).get(path.name, {})
        except CocityError:
            fetched = {}
        summary = report.to_dict()
        inputs.append({
            "role": f"{dataset.group}:{dataset.name}", "name": path.name, "sha256": sha256_file(path),
            "dataflow": dataset.flow, "reference_year": int(dataset.year), "format": summary["format"],
            "retrieved_at": fetched.get("retrieved_at"), "url": fetched.get("url"),
            "merged_into_current": summary["merged_into_current"],
            "codes_neither_current_nor_in_changes": summary["codes_neither_current_nor_in_changes"],
            "notes": summary["notes"],
        })
    if frames:
        extra = pd.concat(frames, axis=1, join="outer").sort_index()
    else:
        extra = pd.DataFrame(index=pd.Index([], name="istat_code", dtype=object))
    extra.index.name = "istat_code"
    return extra, unavailable, inputs
