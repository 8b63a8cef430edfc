"""cocity-analysis: needs analysis of the 39 Città Medie Sud (PN Metro plus, Priority 5).

Stages, one module each, so a city code can be followed from raw file to report:
``sources/`` -> ``cleaning`` -> ``indicators`` -> ``composite`` -> ``profiles``
-> ``priorities`` -> ``reports``.
"""

__version__ = "0.1.0"

FOCUS_AREAS = ("inclusion_work", "housing", "poverty", "culture_tourism")

FOCUS_AREA_LABELS = {
    "it": {
        "inclusion_work": "Inclusione attiva e accompagnamento al lavoro",
        "housing": "Riduzione del disagio abitativo",
        "poverty": "Lotta alla povertà estrema e alla marginalità",
        "culture_tourism": "Cultura e turismo sostenibile per l'inclusione e l'innovazione sociale",
    },
    "en": {
        "inclusion_work": "Active inclusion and support into work",
        "housing": "Reducing housing distress",
        "poverty": "Fighting extreme poverty and marginality",
        "culture_tourism": "Culture and sustainable tourism for inclusion and social innovation",
    },
}
