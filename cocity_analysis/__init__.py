"""cocity-analysis: needs analysis of the 39 Città Medie Sud (PN Metro plus, Priority 5).

Stages, one module each, so a city code can be followed from raw file to report:
``sources/`` -> ``cleaning`` -> ``indicators`` -> ``composite`` -> ``profiles``
-> ``priorities`` -> ``reports``.
"""

import functools
from pathlib import Path

__version__ = "0.1.0"

FOCUS_AREAS = ("inclusion_work", "housing", "poverty", "culture_tourism")

# FOCUS_AREA_LABELS (language -> area -> label) is read on first use from the report message
# catalogue, reporting/messages/<lang>.yaml (key "area_labels"), so that the labels have one home and
# importing the package does not parse YAML.


@functools.cache
def _read_catalogue(lang: str) -> dict:
    """The message catalogue file of a language, parsed once per process (also for reporting.messages)."""
    import yaml

    path = Path(__file__).parent / "reporting" / "messages" / f"{lang}.yaml"
    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def _focus_area_labels() -> dict[str, dict[str, str]]:
    return {lang: dict(_read_catalogue(lang)["area_labels"]) for lang in ("it", "en")}


def __getattr__(name: str):
    if name == "FOCUS_AREA_LABELS":
        return _focus_area_labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
