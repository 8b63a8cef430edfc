"""Small helpers for correct Italian generated from data (articles, prepositions, shares, ranks).

Reports put numbers and city names after prepositions: the article and the
preposition must follow the *next word as it is read aloud*: "nell'81%"
(ottantuno), "nello 0%" (zero), "nel 5%", "ad Andria", "alle 39". These
functions choose the form; they never guess a word they cannot read, and
fall back to the plain form.
"""

from __future__ import annotations

import re

VOWELS = "aeiouàèéìòóùAEIOUÀÈÉÌÒÓÙ"

#: preposition + definite article -> articulated preposition
_ARTICULATED = {
    "di": {"il": "del", "lo": "dello", "l'": "dell'", "la": "della", "i": "dei", "gli": "degli", "le": "delle"},
    "a": {"il": "al", "lo": "allo", "l'": "all'", "la": "alla", "i": "ai", "gli": "agli", "le": "alle"},
    "da": {"il": "dal", "lo": "dallo", "l'": "dall'", "la": "dalla", "i": "dai", "gli": "dagli", "le": "dalle"},
    "in": {"il": "nel", "lo": "nello", "l'": "nell'", "la": "nella", "i": "nei", "gli": "negli", "le": "nelle"},
    "su": {"il": "sul", "lo": "sullo", "l'": "sull'", "la": "sulla", "i": "sui", "gli": "sugli", "le": "sulle"},
}
_NUMBER_RE = re.compile(r"^[<>≈~]?\s*(\d[\d.]*)(?:,\d+)?")


def spoken_start(word: str) -> str:
    """How ``word`` starts when read aloud: ``"vowel"``, ``"z"`` (z, gn, ps, x, s + consonant)
    or ``"consonant"``. Numbers are read as words (8 = otto, 11 = undici, 0 = zero).

    Examples
    --------
    >>> [spoken_start(w) for w in ("81%", "8%", "0%", "11%", "1%", "18%", "100%", "1.000", "Andria", "studio")]
    ['vowel', 'vowel', 'z', 'vowel', 'vowel', 'consonant', 'consonant', 'consonant', 'vowel', 'z']
    """
    text = str(word).strip()
    match = _NUMBER_RE.match(text)
    if match:
        digits = match.group(1).replace(".", "")
        groups = match.group(1).split(".")
        head = groups[0]  # the part read first: "11" in 11.000 (undicimila), "1" in 1.000 (mille)
        if digits.strip("0") == "":
            return "z"  # zero
        if head.startswith("8"):
            return "vowel"  # otto, ottanta, ottocento, ottomila
        if head == "11":
            return "vowel"  # undici, undicimila
        if head == "1" and len(groups) == 1:
            return "vowel"  # uno (1, 1%, 1,5)
        if head == "1" and len(groups) >= 3:
            return "vowel"  # un milione
        return "consonant"
    lower = text.lower()
    if not lower:
        return "consonant"
    if lower[0] in VOWELS.lower() or lower.startswith("h"):
        return "vowel"
    if lower[0] in "zx" or lower.startswith(("gn", "ps", "pn")) or (
            lower[0] == "s" and len(lower) > 1 and lower[1] not in VOWELS.lower()):
        return "z"
    if lower[0] == "y" and len(lower) > 1 and lower[1] in VOWELS.lower():
        return "z"
    return "consonant"


def article(base: str, word: str) -> str:
    """The definite article ``base`` ("il", "la", "i", "le") in the form ``word`` takes.

    Examples
    --------
    >>> article("il", "81%"), article("il", "0%"), article("il", "5%"), article("la", "8ª"), article("i", "11")
    ("l'", 'lo', 'il', "l'", 'gli')
    """
    start = spoken_start(word)
    if base in ("il", "lo", "l'"):
        return {"vowel": "l'", "z": "lo"}.get(start, "il")
    if base == "la":
        return "l'" if start == "vowel" else "la"
    if base in ("i", "gli"):
        return "gli" if start in ("vowel", "z") else "i"
    if base == "le":
        return "le"
    raise ValueError(f"unknown article {base!r}; use il, la, i or le")


def _join(prefix: str, word: str) -> str:
    return f"{prefix}{word}" if prefix.endswith("'") else f"{prefix} {word}"


def with_article(base: str, word: str) -> str:
    """``word`` with its definite article: ``with_article("il", "81%")`` -> ``"l'81%"``.

    >>> with_article("il", "0%"), with_article("le", "39 città")
    ('lo 0%', 'le 39 città')
    """
    return _join(article(base, word), word)


def articulated(preposition: str, base: str, word: str) -> str:
    """Articulated preposition + ``word``: ``articulated("in", "il", "81%")`` -> ``"nell'81%"``.

    Parameters
    ----------
    preposition : {"di", "a", "da", "in", "su"}
    base : {"il", "la", "i", "le"}
        The article as if the next word began with a consonant.
    word : str
        The next word (or number) as written.

    Examples
    --------
    >>> [articulated("in", "il", w) for w in ("81%", "0%", "8%", "11%", "5%", "100%")]
    ["nell'81%", 'nello 0%', "nell'8%", "nell'11%", 'nel 5%', 'nel 100%']
    >>> articulated("a", "le", "39 città"), articulated("di", "la", "8ª")
    ('alle 39 città', "dell'8ª")
    """
    form = article(base, word)
    try:
        prefix = _ARTICULATED[preposition][form]
    except KeyError:
        raise ValueError(f"unknown preposition {preposition!r}; use one of {', '.join(_ARTICULATED)}") from None
    return _join(prefix, word)


def city_preposition(preposition: str, name: str) -> str:
    """A preposition before a place name: "ad Andria", "ad Aversa", "a Olbia", "a Matera", "di Aversa".

    Only "a" changes: the euphonic *d* goes before the same vowel (Accademia della Crusca's usage:
    "ad Andria", but "a Olbia", "a Iglesias"); "di", "da", "in", "per" stay as they are.

    >>> city_preposition("a", "Andria"), city_preposition("a", "Matera"), city_preposition("a", "Olbia")
    ('ad Andria', 'a Matera', 'a Olbia')
    """
    name = str(name).strip()
    if preposition == "a" and name and name[0] in "AaÀà":
        return f"ad {name}"
    return f"{preposition} {name}"


ORDINALS_F = {1: "prima", 2: "seconda", 3: "terza", 4: "quarta", 5: "quinta", 6: "sesta", 7: "settima",
              8: "ottava", 9: "nona", 10: "decima"}
ORDINALS_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh",
               8: "eighth", 9: "ninth", 10: "tenth"}


def ordinal(n: int, lang: str = "it") -> str:
    """A position in words (feminine in Italian, for "posizione"/"area"): 1 -> "prima".

    >>> ordinal(1), ordinal(3), ordinal(2, "en")
    ('prima', 'terza', 'second')
    """
    n = int(n)
    table = ORDINALS_EN if lang == "en" else ORDINALS_F
    return table.get(n, f"{n}ª" if lang != "en" else f"{n}th")


def rank_range(low: int, high: int, lang: str = "it") -> str:
    """A range of positions as people say it: "sempre prima", "tra la prima e la terza posizione".

    >>> rank_range(1, 1), rank_range(1, 3), rank_range(2, 4, "en")
    ('sempre in prima posizione', 'tra la prima e la terza posizione', 'between second and fourth place')
    """
    low, high = int(low), int(high)
    if lang == "en":
        return f"always {ordinal(low, 'en')}" if low == high else \
            f"between {ordinal(low, 'en')} and {ordinal(high, 'en')} place"
    if low == high:
        return f"sempre in {ordinal(low)} posizione"
    return f"tra la {ordinal(low)} e la {ordinal(high)} posizione"


def percent(share: float, lang: str = "it") -> str:
    """A share 0..1 as a whole percentage with the decimal sign of ``lang``: 0.87 -> "87%".

    >>> percent(0.8712), percent(0.004), percent(0.996)
    ('87%', '0%', '100%')
    """
    return f"{round(float(share) * 100):d}%"


def share_of(share: float, noun: str, lang: str = "it", *, noun_singular: str | None = None) -> str:
    """"in/of X% of the <noun>" written as people say it, with the right article.

    Ends: 0 -> "in nessuna simulazione", 1 -> "in tutte le simulazioni", below 1% -> "in meno
    dell'1% delle simulazioni", above 99% -> "in quasi tutte le simulazioni (oltre il 99%)".
    ``noun`` is feminine plural in Italian ("simulazioni", "città").

    Examples
    --------
    >>> share_of(0.81, "simulazioni"), share_of(0.0, "simulazioni", noun_singular="simulazione")
    ("nell'81% delle simulazioni", 'in nessuna simulazione')
    >>> share_of(0.998, "simulazioni"), share_of(0.003, "simulazioni")
    ('in quasi tutte le simulazioni (oltre il 99%)', "in meno dell'1% delle simulazioni")
    >>> share_of(0.05, "simulazioni"), share_of(1.0, "simulazioni")
    ('nel 5% delle simulazioni', 'in tutte le simulazioni')
    """
    share = float(share)
    if lang == "en":
        if share <= 0:
            return f"in no {noun_singular or noun}"
        if share >= 1:
            return f"in all {noun}"
        if share < 0.01:
            return f"in less than 1% of {noun}"
        if share > 0.99:
            return f"in almost all {noun} (over 99%)"
        return f"in {percent(share, lang)} of {noun}"
    if share <= 0:
        return f"in nessuna {noun_singular or noun}"
    if share >= 1:
        return f"in tutte le {noun}"
    if share < 0.01:
        return f"in meno {articulated('di', 'il', '1%')} {articulated('di', 'le', noun)}"
    if share > 0.99:
        return f"in quasi tutte le {noun} (oltre il 99%)"
    return f"{articulated('in', 'il', percent(share))} {articulated('di', 'le', noun)}"


def join_list(items, lang: str = "it") -> str:
    """"a, b e c" ("a, b and c").

    >>> join_list(["lavoro", "casa", "povertà"]), join_list(["uno"])
    ('lavoro, casa e povertà', 'uno')
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    word = " and " if lang == "en" else " e "
    return ", ".join(items[:-1]) + word + items[-1]


_PREP_ARTICLE_RE = re.compile(r"\b(di|a|da|in|su) (il|lo|la|i|gli|le) (?=\S)")
_FORM_TO_PREP = {form: (prep, base) for prep, forms in _ARTICULATED.items() for base, form in forms.items()}
_BEFORE_NUMBER_RE = re.compile(
    r"\b(nel|nello|nell'|del|dello|dell'|al|allo|all'|dal|dallo|dall'|sul|sullo|sull'|il|lo|l')\s?"
    r"(?=[<>]?\d)")
_A_VOWEL_RE = re.compile(r"(?<![\w'’])a (?=[AÀ])")


def tidy(text: str) -> str:
    """Safety net over generated Italian: articulated prepositions ("a le" -> "alle"), the article
    before a number as it is read ("nel 8%" -> "nell'8%", "nel 0%" -> "nello 0%") and "ad" before
    a capitalised "A" (a place name: "a Andria" -> "ad Andria"; "a Olbia" stays).

    >>> tidy("rispetto a le 39 città, nel 8% e nel 0% dei casi; il 11% a Andria, di il comune")
    "rispetto alle 39 città, nell'8% e nello 0% dei casi; l'11% ad Andria, del comune"
    """
    text = _PREP_ARTICLE_RE.sub(lambda m: _ARTICULATED[m.group(1)][m.group(2)] + " ", text)

    def number(match: re.Match) -> str:
        form = match.group(1)
        following = text_at[match.end():match.end() + 12]
        word = re.match(r"[<>]?\d[\d.,]*", following).group(0).lstrip("<>")
        if form in ("il", "lo", "l'"):
            prefix = article("il", word)
        else:
            prep, _base = _FORM_TO_PREP[form]
            prefix = _ARTICULATED[prep][article("il", word)]
        return prefix if prefix.endswith("'") else prefix + " "

    text_at = text
    text = _BEFORE_NUMBER_RE.sub(number, text)
    return _A_VOWEL_RE.sub("ad ", text)
