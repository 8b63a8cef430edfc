"""Numbers, shares, years and ranks as the reader of each language expects them."""

from __future__ import annotations

import re

import pandas as pd

from cocity_analysis.reporting import italian
from cocity_analysis.reporting.messages import _t


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


def _share_short(share: float, lang: str) -> str:
    """ "nel 36%" after a first mention of the simulations (the ends stay in words)."""
    if 0.01 <= float(share) <= 0.99:
        return italian.articulated("in", "il", italian.percent(share)) if lang == "it" else \
            f"in {italian.percent(share)}"
    return _share_phrase(share, lang)


def _share_phrase(share: float, lang: str) -> str:
    noun = "simulazioni" if lang == "it" else "simulations"
    return italian.share_of(share, noun, lang, noun_singular="simulazione" if lang == "it" else "simulation")


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
