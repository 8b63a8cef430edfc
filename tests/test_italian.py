"""Italian wording helpers (cocity_analysis.reporting.italian)."""

import pytest

from cocity_analysis.reporting import italian


@pytest.mark.parametrize("word, expected", [
    ("81%", "nell'81%"), ("8%", "nell'8%"), ("80%", "nell'80%"), ("11%", "nell'11%"), ("1%", "nell'1%"),
    ("0%", "nello 0%"), ("0,5%", "nello 0,5%"), ("5%", "nel 5%"), ("18%", "nel 18%"), ("100%", "nel 100%"),
    ("1.000", "nel 1.000"), ("11.000", "nell'11.000"), ("800", "nell'800"),
])
def test_articulated_in_before_numbers(word, expected):
    assert italian.articulated("in", "il", word) == expected


@pytest.mark.parametrize("prep, base, word, expected", [
    ("a", "le", "39 città", "alle 39 città"), ("di", "le", "simulazioni", "delle simulazioni"),
    ("di", "il", "1%", "dell'1%"), ("a", "il", "studio", "allo studio"), ("di", "i", "comuni", "dei comuni"),
    ("di", "i", "80 comuni", "degli 80 comuni"), ("su", "la", "8ª", "sull'8ª"),
])
def test_articulated_other_forms(prep, base, word, expected):
    assert italian.articulated(prep, base, word) == expected


@pytest.mark.parametrize("name, expected", [
    ("Andria", "ad Andria"), ("Aversa", "ad Aversa"), ("Olbia", "a Olbia"), ("Iglesias", "a Iglesias"),
    ("Matera", "a Matera"), ("Taranto", "a Taranto"),
])
def test_city_preposition(name, expected):
    assert italian.city_preposition("a", name) == expected
    assert italian.city_preposition("di", name) == f"di {name}"


def test_share_of_reads_as_people_say_it():
    assert italian.share_of(0.812, "simulazioni") == "nell'81% delle simulazioni"
    assert italian.share_of(0.0, "simulazioni", noun_singular="simulazione") == "in nessuna simulazione"
    assert italian.share_of(1.0, "simulazioni") == "in tutte le simulazioni"
    assert italian.share_of(0.997, "simulazioni") == "in quasi tutte le simulazioni (oltre il 99%)"
    assert italian.share_of(0.002, "simulazioni") == "in meno dell'1% delle simulazioni"
    assert italian.share_of(0.08, "simulazioni") == "nell'8% delle simulazioni"


def test_ranks_in_words():
    assert italian.rank_range(1, 1) == "sempre in prima posizione"
    assert italian.rank_range(1, 3) == "tra la prima e la terza posizione"
    assert italian.ordinal(2) == "seconda"


def test_tidy_fixes_generated_text():
    assert italian.tidy("rispetto a le 39 città") == "rispetto alle 39 città"
    assert italian.tidy("nel 0% e nel 81%, a Aversa") == "nello 0% e nell'81%, ad Aversa"
    assert italian.tidy("nell'5% dei casi") == "nel 5% dei casi"
    assert italian.tidy("a Matera, a ogni città") == "a Matera, a ogni città"
