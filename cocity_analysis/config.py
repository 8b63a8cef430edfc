"""All paths and fixed settings in one place (cookiecutter-data-science style).

Every CLI command takes its default paths from here; override them with the
command's options or, for the whole project root, with ``COCITY_PROJECT_ROOT``;
``COCITY_RAW_DIR`` moves only the folder of the fetched official files (the test
suite points it at a temporary folder it fills from the mirror, as ``make data`` does).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA_DIR = PACKAGE_DIR / "data"
TEMPLATES_DIR = PACKAGE_DIR / "templates"

PROJECT_ROOT = Path(os.environ.get("COCITY_PROJECT_ROOT", PACKAGE_DIR.parent)).resolve()
DATA_DIR = PROJECT_ROOT / "data"
#: the repository's own inputs: the list of the 39 cities and the empty questionnaire template
INPUTS_DIR = DATA_DIR / "raw"
#: where `cocity fetch` puts the official files and `cocity prepare` reads them (git-ignored)
RAW_DIR = Path(os.environ.get("COCITY_RAW_DIR") or INPUTS_DIR).resolve()
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

CMS_CITIES_FILE = INPUTS_DIR / "cms_cities.csv"
MEF_RAW_DIR = RAW_DIR / "mef"
ICCU_RAW_DIR = RAW_DIR / "iccu"
ISTAT_COMUNI_RAW_DIR = RAW_DIR / "istat_comuni"

CATALOGUE_FILE = PACKAGE_DATA_DIR / "indicators.yaml"
# ISTAT's file of municipal changes since 1991, fetched by `cocity fetch istat_changes` (never shipped).
ISTAT_CHANGES_RAW_DIR = RAW_DIR / "istat_changes"
ISTAT_CHANGES_FILE_NAME = "Variazioni_amministrative_territoriali_dal_01011991.csv"
ISTAT_SUPPRESSED_FILE_NAME = "Elenco comuni soppressi.csv"
ISTAT_CENSUS2011_RAW_DIR = RAW_DIR / "istat_census2011"

CITY_REPORT_NOTEBOOK = NOTEBOOKS_DIR / "city_report.ipynb"
#: Jupyter kernel every notebook declares; `make setup` (run by `make reports`, `make test`, `make lab`)
#: installs it as this environment's python.
KERNEL_NAME = "cocity"
KERNEL_DISPLAY_NAME = "cocity-analysis"

DEFAULT_SEED = 20212027
POPULATION_YEAR = 2023
MEF_DEFAULT_YEAR = 2021
#: Tax years ``make data`` fetches and ``cocity prepare`` reads when present (the newest is today's figure,
#: the earlier ones give the change over time).
MEF_YEARS = (2018, 2020, 2021)
#: Earliest and latest MEF year of the change indicators (``income_change_2018_2021`` ...).
MEF_CHANGE_YEARS = (2018, 2021)

MIRROR_ENV = "COCITY_DATA_MIRROR"
#: Sent with every download, so that publishers can tell who asks (ISTAT's SDMX service, ICCU, MEF).
USER_AGENT = "cocity-analysis (needs analysis of the Citta Medie Sud, PN Metro plus 2021-2027)"

MEF_URL_PATTERN = (
    "https://www1.finanze.gov.it/finanze/analisi_stat/public/v_4_0_0/contenuti/"
    "Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_{year}.zip"
)


def fetch_command(source: str) -> str:
    """The ``cocity fetch`` arguments that bring a source of the catalogue's ``requires``.

    >>> fetch_command("census2011"), fetch_command("mef_2018"), fetch_command("iccu")
    ('istat_census2011', 'mef --year 2018', 'iccu')
    """
    if source.startswith("mef_") and source[4:].isdigit():
        return f"mef --year {source[4:]}"
    return {"census2011": "istat_census2011"}.get(source, source)


def mef_file_name(year: int) -> str:
    """Official file name of the MEF municipal IRPEF zip for a tax year."""
    return f"Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_{year}.zip"


def mef_csv_name(year: int) -> str:
    """Name of the CSV inside the official MEF zip of a tax year (a mirror may hold it instead of the zip)."""
    return f"Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_{year}.csv"


def data_mirror() -> Path | None:
    """Folder of official files named by ``COCITY_DATA_MIRROR``, or None when unset."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value) if value else None
