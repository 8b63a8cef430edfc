"""Numbers, shares, dates, years and ranks as the reader of each language expects them.

The separators, percent sign and month names come from Babel's CLDR locales: ``it_IT`` for Italian
and ``en_GB`` for English (the European usage of the programme's documents: "30 June 2025", not the
US "June 30, 2025"; the numbers are the same in both English locales). What is about meaning, not
locale, stays here: how many decimals a size gets, "<1%" and ">99%" at the ends, the words for a
missing value (from the message catalogue), no minus sign on a value that rounds to zero.
"""

from __future__ import annotations

import datetime
import functools
import re
from decimal import Decimal

import pandas as pd
from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_percent, parse_pattern

from cocity_analysis.reporting import italian
from cocity_analysis.reporting.messages import _check_lang, _t

#: Report language -> Babel (CLDR) locale of its numbers and dates.
LOCALES = {"it": Locale.parse("it_IT"), "en": Locale.parse("en_GB")}


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _exact(value: float, decimals: int) -> Decimal:
    """The float as Babel should round it: its exact binary value (so half-way cases round as
    Python's own formatting does), and 0 when it rounds to zero (no "-0")."""
    return Decimal(0) if round(value, decimals) == 0 else Decimal(value)


def format_number(value, lang: str = "it", decimals: int | None = None) -> str:
    """Format a number for readers with the separators of the language's locale (Babel).

    Italian uses '.' for thousands and ',' for decimals, English the reverse.
    ``decimals=None`` picks 0 decimals from 100 up, 1 from 10 up, 2 below.
    Missing values give "n.d." ("n/a" in English).

    Parameters
    ----------
    value : float, int or None
        The number; ``None``, NaN and ``pd.NA`` are missing.
    lang : str
        ``"it"`` or ``"en"``.
    decimals : int, optional
        Digits after the decimal separator (rounded half to even on the exact value).

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(12345.678, "it")
    '12.346'
    >>> format_number(12345.678, "en")
    '12,346'
    >>> format_number(3.14159, "it")
    '3,14'
    >>> format_number(-0.001, "it")
    '0,00'
    >>> format_number(float("nan"), "it")
    'n.d.'
    """
    if _is_missing(value):
        return _t(lang, "na")
    value = float(value)
    if decimals is None:
        size = abs(value)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    return _pattern(decimals).apply(_exact(value, decimals), LOCALES[_check_lang(lang)])


@functools.cache
def _pattern(decimals: int) -> NumberPattern:
    """Babel's pattern for grouped thousands and exactly ``decimals`` decimals, parsed once."""
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def format_score(value, lang: str = "it") -> str:
    """A 0..100 score as a whole number ("n.d." when missing).

    >>> format_score(61.5, "it"), format_score(None, "en")
    ('62', 'n/a')
    """
    return format_number(value, lang, decimals=0)


def format_share(value, lang: str = "it") -> str:
    """A share 0..1 as a whole percentage in the locale's percent format (Babel): ``0.87`` ->
    ``"87%"``; "<1%" and ">99%" at the ends, so that 0 and 100% mean exactly none and all.

    Parameters
    ----------
    value : float or None
        The share, 0..1 (missing: "n.d." / "n/a").
    lang : str
        ``"it"`` or ``"en"``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_share(0.8712)
    '87%'
    >>> format_share(0.003), format_share(0.005)
    ('<1%', '<1%')
    >>> format_share(0.996, "en")
    '>99%'
    """
    if _is_missing(value):
        return _t(lang, "na")
    value = float(value)
    if 0 < value and round(value * 100) == 0:  # also exactly 0.5%, which rounds half to even to 0
        return "<1%"
    if 0.995 <= value < 1:
        return ">99%"
    # the percentage rounded as before Babel: the float product, then its exact value
    return format_percent(_exact(value * 100, 0) / 100, locale=LOCALES[_check_lang(lang)])


def format_date_text(value, lang: str = "it") -> str:
    """A date in the language's long form (Babel): ``"2025-06-30"`` -> ``"30 giugno 2025"``.

    Text that is not an ISO date (``YYYY-MM-DD``, optionally followed by a time) is returned as
    it is, since sources describe some dates in words; missing gives "".

    Parameters
    ----------
    value : str, date or None
        The date.
    lang : str
        ``"it"`` or ``"en"``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_date_text("2025-06-30"), format_date_text("2025-06-30", "en")
    ('30 giugno 2025', '30 June 2025')
    >>> format_date_text("scaricato il 3 marzo 2025")
    'scaricato il 3 marzo 2025'
    """
    if _is_missing(value) or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ][\d:.+\-Z]*)?", str(value).strip())
        if not match:
            return str(value)
        try:
            value = datetime.date.fromisoformat(match.group(1))
        except ValueError:
            return str(value)
    return format_date(value, format="long", locale=LOCALES[_check_lang(lang)])


def _format_year(value) -> str:
    # a year is written without grouping in every locale (CLDR's "y"): "2024", never "2.024"
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
    out = re.sub(r"\bproxy\b", _t(lang, "proxy_words"), out)
    return re.sub(r"\s{2,}", " ", out).strip()


def _share_short(share: float, lang: str) -> str:
    """ "nel 36%" after a first mention of the simulations (the ends stay in words)."""
    if 0.01 <= float(share) <= 0.99:
        return italian.articulated("in", "il", italian.percent(share)) if lang == "it" else \
            f"in {italian.percent(share)}"
    return _share_phrase(share, lang)


def _share_phrase(share: float, lang: str) -> str:
    return italian.share_of(share, _t(lang, "simulations_noun"), lang, noun_singular=_t(lang, "simulation_noun"))


def _nel(number: str) -> str:
    """Italian article before a percentage, kept for callers: :func:`italian.articulated`.

    >>> [_nel(n) for n in ("87", "8", "1", "11", "18", "5", "100", "0")]
    ["nell'87", "nell'8", "nell'1", "nell'11", 'nel 18', 'nel 5', 'nel 100', 'nello 0']
    """
    return italian.articulated("in", "il", number)


def _rank_text(value, lang: str) -> str:
    """A rank: whole ("2") or, for ties, with one decimal ("1,5"); "n.d." when missing."""
    if _is_missing(value):
        return _t(lang, "na")
    return format_number(value, lang, decimals=0 if float(value).is_integer() else 1)


def _signed(value, lang: str) -> str:
    """A distance with its sign: "+0,58", "−1,20"."""
    if _is_missing(value):
        return _t(lang, "na")
    text = format_number(abs(float(value)), lang, 2)
    return ("+" if float(value) >= 0 else "−") + text
