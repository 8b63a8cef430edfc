"""The texts users read, per language (Italian first), and the lookup that fills them in."""

from __future__ import annotations



from cocity_analysis import FOCUS_AREA_LABELS
from cocity_analysis.reporting import italian
from cocity_analysis.errors import CocityError


LANGS = ("it", "en")


SHORT_AREA_LABELS = {
    "it": {"inclusion_work": "Lavoro e inclusione", "housing": "Disagio abitativo",
           "poverty": "Povertà e marginalità", "culture_tourism": "Cultura e turismo"},
    "en": {"inclusion_work": "Work and inclusion", "housing": "Housing distress",
           "poverty": "Poverty and marginality", "culture_tourism": "Culture and tourism"},
}


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
    # charts drawn with matplotlib (issue 12): titles say the data's years
    "fig_profile_title": "Punteggi d'area da 0 a 100 (dati {years})",
    "fig_profile_axis": "punteggio d'area (0 = bisogno più basso, 100 = più alto)",
    "fig_profile_desc": "Barre orizzontali dei punteggi delle quattro aree: {series}. Valori nella tabella sotto il grafico.",
    "fig_data": "Valori del grafico",
    "fig_intervals_title": "Posizione di ogni area nelle simulazioni (dati {years})",
    "fig_intervals_axis": "posizione nella graduatoria",
    "fig_intervals_desc": "Per ogni area, la linea va dalla posizione del 5° al 95° percentile delle simulazioni, il punto è la posizione mediana.",
    "fig_col_median": "Posizione mediana",
    "fig_col_range": "9 simulazioni su 10",
    "fig_col_first": "In testa",
    "fig_income_axis": "anno d'imposta",
    "fig_income_title": "Redditi IRPEF di {city}, anni d'imposta {years}",
    "fig_income_desc": "Due grafici a linee: {titles}. Valori nella tabella sotto il grafico.",
    "fig_col_year": "Anno d'imposta",
    "fig_k_title": "Diagnostica per numero di profili k (dati {years})",
    "fig_k_desc": "Quattro grafici a linee delle misure per k da {k_min} a {k_max}; k scelto: {chosen}.",
    "fig_k_chosen": "k scelto = {k}",
    "fig_map_title": "Le {n} Città Medie Sud (confini comunali {year})",
    "fig_ov_map_title": "Le {n} Città Medie Sud per profilo di bisogno (confini {year})",
    "fig_map_no_boundary": "confini non disponibili per: {names}",
    "fig_col_city": "Città",
    "fig_col_profile": "Profilo",
    "fig_col_region": "Regione",
    "fig_biplot_axis": "CP{n} ({share} della varianza)",
    "fig_biplot_title": "Le {n} città sulle prime due componenti principali",
    "fig_profile_label": "Profilo {number}",
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
    # charts drawn with matplotlib (issue 12): titles say the data's years
    "fig_profile_title": "Area scores from 0 to 100 (data {years})",
    "fig_profile_axis": "area score (0 = lowest need, 100 = highest)",
    "fig_profile_desc": "Horizontal bars of the four area scores: {series}. Values in the table below the chart.",
    "fig_data": "Chart values",
    "fig_intervals_title": "Position of each area in the simulations (data {years})",
    "fig_intervals_axis": "position in the ranking",
    "fig_intervals_desc": "For each area the line spans the 5th to the 95th percentile position of the simulations; the dot is the median position.",
    "fig_col_median": "Median position",
    "fig_col_range": "9 simulations out of 10",
    "fig_col_first": "First",
    "fig_income_axis": "tax year",
    "fig_income_title": "IRPEF incomes of {city}, tax years {years}",
    "fig_income_desc": "Two line charts: {titles}. Values in the table below the chart.",
    "fig_col_year": "Tax year",
    "fig_k_title": "Diagnostics by number of profiles k (data {years})",
    "fig_k_desc": "Four line charts of the measures for k from {k_min} to {k_max}; chosen k: {chosen}.",
    "fig_k_chosen": "chosen k = {k}",
    "fig_map_title": "The {n} Città Medie Sud (municipal boundaries {year})",
    "fig_ov_map_title": "The {n} Città Medie Sud by need profile (boundaries {year})",
    "fig_map_no_boundary": "boundaries not available for: {names}",
    "fig_col_city": "City",
    "fig_col_profile": "Profile",
    "fig_col_region": "Region",
    "fig_biplot_axis": "PC{n} ({share} of the variance)",
    "fig_biplot_title": "The {n} cities on the first two principal components",
    "fig_profile_label": "Profile {number}",
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
