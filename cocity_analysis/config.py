"""All paths and fixed settings in one place (cookiecutter-data-science style).

Every CLI command takes its default paths from here; override them with the
command's options or, for the whole project root, with ``COCITY_PROJECT_ROOT``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA_DIR = PACKAGE_DIR / "data"
TEMPLATES_DIR = PACKAGE_DIR / "templates"

PROJECT_ROOT = Path(os.environ.get("COCITY_PROJECT_ROOT", PACKAGE_DIR.parent)).resolve()
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

CMS_CITIES_FILE = RAW_DIR / "cms_cities.csv"
MEF_RAW_DIR = RAW_DIR / "mef"

CATALOGUE_FILE = PACKAGE_DATA_DIR / "indicators.yaml"
MUNICIPAL_CHANGES_FILE = PACKAGE_DATA_DIR / "istat_municipal_changes.csv"

CITY_REPORT_NOTEBOOK = NOTEBOOKS_DIR / "city_report.ipynb"
#: Jupyter kernel every notebook declares; `make setup` (run by `make reports`, `make test`, `make lab`)
#: installs it as this environment's python.
KERNEL_NAME = "cocity"
KERNEL_DISPLAY_NAME = "cocity-analysis"

DEFAULT_SEED = 20212027
POPULATION_YEAR = 2023
MEF_DEFAULT_YEAR = 2021

MIRROR_ENV = "COCITY_DATA_MIRROR"

MEF_URL_PATTERN = (
    "https://www1.finanze.gov.it/finanze/analisi_stat/public/v_4_0_0/contenuti/"
    "Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_{year}.zip"
)


def mef_file_name(year: int) -> str:
    """Official file name of the MEF municipal IRPEF zip for a tax year."""
    return f"Redditi_e_principali_variabili_IRPEF_su_base_comunale_CSV_{year}.zip"


def data_mirror() -> Path | None:
    """Folder of official files named by ``COCITY_DATA_MIRROR``, or None when unset."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value) if value else None
