"""What "more need" means for each real indicator, stated here and checked on the real 39.

``DIRECTIONS`` is written in this test on purpose, from each indicator's
definition, and not read from ``indicators.yaml``: flipping a direction in the
catalogue (e.g. mean income per taxpayer as "more need") changes the
normalised values, the area scores and the first priorities of the real cities,
and these tests fail. An indicator that reaches ``normalised.parquet`` without
an entry here fails too: whoever adds one states its direction here.

The expected ``normalised.parquet`` (min-max, the shipped method), area scores
and first priorities are recomputed with plain pandas from
``indicators.parquet``, the winsorisation bounds recorded in
``screening.parquet`` and the focus areas (and roles) of the catalogue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cocity_analysis import FOCUS_AREAS
from cocity_analysis.method.indicators import load_catalogue

from .helpers import require_mirror_mef, scored_areas

MORE = "higher means more need"
LESS = "higher means less need"

DIRECTIONS = {
    # Age structure and density: context of a city (issue 13: they do not count in the scores), but
    # while normalised their direction is the catalogue's reading.
    "share_0_14": MORE,  # minors: the group most exposed to poverty in southern households
    "share_65_plus": MORE,  # older residents: more demand for adequate housing and local services
    "share_80_plus": MORE,  # the very old: isolation and marginality
    "old_age_index": MORE,  # fewer young people entering the labour force
    "dependency_ratio": MORE,  # more people not of working age per person of working age
    "density": MORE,  # more pressure on the housing stock
    # MEF IRPEF
    "income_per_taxpayer": LESS,  # a higher mean income is less poverty
    "share_taxpayers_le_10k": MORE,  # very low incomes: the most direct sign of poverty
    "taxpayers_per_resident": LESS,  # more people with a declared income: more participation in work
    "share_employee_income": LESS,  # more employee income: a stronger labour market
    "share_pension_income": MORE,  # more pensioners among taxpayers: less income from work
    "share_property_income": LESS,  # more taxpayers with income from buildings: more owners, less housing need
    "income_change_2018_2021": LESS,  # incomes growing faster: less need
    "low_income_share_change_2018_2021": MORE,  # the share of very low incomes growing: more poverty
    # ISTAT permanent census and SDMX
    "employment_rate_25_64": LESS,
    "unemployment_rate_25_64": MORE,
    "share_low_education_25_64": MORE,
    "share_foreign_residents": MORE,  # catalogue: more demand for inclusion services
    "residents_per_occupied_dwelling": MORE,  # crowding
    "share_dwellings_not_owned": MORE,  # renting / other tenure: more exposure to housing distress
    "beds_per_1000_residents": LESS,  # more tourist beds: a developed tourism offer, less need
    # ISTAT census 2011
    "census2011_unemployment_rate": MORE,
    "census2011_employment_rate": LESS,
    "census2011_low_education": MORE,
    "census2011_families_renting": MORE,
    "census2011_floor_area_per_occupant": LESS,  # more room per occupant: less crowding
    "census2011_buildings_poor_condition": MORE,
    "census2011_female_employment_rate": LESS,  # more women in work: less need of active inclusion
    "census2011_large_families": MORE,  # households of 6+: the highest risk of absolute poverty (ISTAT)
    # ICCU
    "libraries_per_10000_residents": LESS,  # more libraries: more cultural offer
}

#: Age structure and density describe a city; they must never measure an area (BRIEF, issue 13).
CONTEXT = {"share_0_14", "share_65_plus", "share_80_plus", "old_age_index", "dependency_ratio", "density"}

#: A city missing more than this share of an area's indicators gets no score ("dati insufficienti").
MAX_MISSING_SHARE = 1 / 3


@pytest.fixture(scope="module")
def real(real_processed_dir):
    require_mirror_mef()  # without MEF the poverty indicators are absent: nothing worth checking
    read = lambda name: pd.read_parquet(real_processed_dir / name)  # noqa: E731
    return {name: read(f"{name}.parquet") for name in
            ("indicators", "normalised", "scores", "priorities", "screening")}


def _treated(values: pd.Series, screening: pd.DataFrame) -> pd.Series:
    """The recorded winsorisation: values clipped to the bounds written in screening.parquet."""
    row = screening.set_index("indicator").loc[values.name]
    if row["action"] in ("winsorised", "winsorised+log") or row["points"] > 0:
        values = values.clip(lower=row["winsor_low"], upper=row["winsor_high"])
    return values


def _has_transform(indicator: str, screening: pd.DataFrame) -> bool:
    transform = screening.set_index("indicator").loc[indicator, "transform"]
    return isinstance(transform, str) and transform != ""


def expected_normalised(indicators: pd.DataFrame, screening: pd.DataFrame, columns) -> pd.DataFrame:
    """Min-max with the direction stated in this test: 1 = the city with the most need."""
    out = {}
    for indicator in columns:
        x = _treated(indicators[indicator].astype("float64"), screening)
        low, high = x.min(), x.max()
        if DIRECTIONS[indicator] == MORE:
            out[indicator] = (x - low) / (high - low)
        else:
            out[indicator] = (high - x) / (high - low)
    return pd.DataFrame(out, index=indicators.index)


def test_every_normalised_indicator_has_a_stated_direction(real):
    unstated = sorted(set(real["normalised"].columns) - set(DIRECTIONS))
    assert unstated == [], (f"indicators without a direction stated in {__file__}: {unstated}; add each "
                            "to DIRECTIONS with what a higher value means, from its definition")


def test_normalised_values_follow_the_stated_direction(real):
    normalised, indicators, screening = real["normalised"], real["indicators"], real["screening"]
    assert len(normalised) == 39 and list(normalised.index) == list(indicators.index)
    exact = [c for c in normalised.columns if not _has_transform(c, screening)]
    assert {"income_per_taxpayer", "share_taxpayers_le_10k"} <= set(normalised.columns)
    expected = expected_normalised(indicators, screening, exact)
    pd.testing.assert_frame_equal(normalised[exact], expected, check_exact=False, rtol=0, atol=1e-12,
                                  check_names=False)
    for indicator in normalised.columns:  # also those with a log transform: the order must agree
        both = pd.concat([indicators[indicator], normalised[indicator]], axis=1).dropna()
        sign = 1 if DIRECTIONS[indicator] == MORE else -1
        rho = both.iloc[:, 0].rank().corr(both.iloc[:, 1].rank())
        assert sign * rho > 0.9, (indicator, rho)


def test_area_scores_and_first_priorities_recomputed(real):
    normalised, indicators, screening = real["normalised"], real["indicators"], real["screening"]
    areas = scored_areas(normalised.columns)
    expected_norm = expected_normalised(indicators, screening, [c for c in normalised.columns
                                                                 if not _has_transform(c, screening)])
    expected_norm = expected_norm.reindex(columns=normalised.columns).fillna(normalised)  # transformed: as written
    columns = {}
    for area in FOCUS_AREAS:
        members = list(areas[areas == area].index)
        if not members:
            columns[area] = pd.Series(np.nan, index=normalised.index)
            continue
        missing_share = indicators[members].isna().mean(axis=1)
        score = expected_norm[members].mean(axis=1) * 100
        columns[area] = score.where(missing_share <= MAX_MISSING_SHARE)
    expected = pd.DataFrame(columns)
    scores = real["scores"]
    pd.testing.assert_frame_equal(scores[list(FOCUS_AREAS)], expected, check_exact=False, rtol=0, atol=1e-9,
                                  check_names=False)

    priorities = real["priorities"]
    first = priorities[priorities["rank"] == 1].set_index("istat_code")["focus_area"]
    # the rule (issue 10): areas compared on a common scale, each by the city's standardised distance
    # from the mean of the 39 in that area, (score - mean) / population sd; ties keep the areas' order
    distance = (expected - expected.mean()) / expected.std(ddof=0)
    order = {area: i for i, area in enumerate(FOCUS_AREAS)}
    mine = distance.apply(lambda row: max(row.dropna().index, key=lambda a: (row[a], -order[a]))
                          if row.notna().any() else None, axis=1)
    assert first.reindex(mine.index).tolist() == mine.tolist()


def test_context_indicators_do_not_measure_an_area(real):
    catalogue = load_catalogue()
    if "role" not in catalogue.columns:
        pytest.skip("the catalogue has no 'role' yet (need/context, issue 13)")
    assert CONTEXT <= set(catalogue.index[catalogue["role"] == "context"])
    assert not CONTEXT & set(scored_areas(real["normalised"].columns).index)
