"""The texts users read, per language (Italian first), and the lookup that fills them in.

The texts live in a message catalogue, one YAML file per language in ``reporting/messages/``
(``it.yaml``, ``en.yaml``), with the same keys in both: a text is a string with ``str.format``
placeholders, or a list (read as a tuple) or mapping of such strings. There is no fallback between
languages: a key missing from a file raises :class:`MissingText`, naming the key and the file.
"""

from __future__ import annotations

import functools
from pathlib import Path

from cocity_analysis import _read_catalogue
from cocity_analysis.reporting import italian
from cocity_analysis.errors import CocityError


LANGS = ("it", "en")

CATALOGUE_DIR = Path(__file__).with_name("messages")


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise CocityError(f"lingua del report sconosciuta {lang!r}; usare una di: {', '.join(LANGS)}")
    return lang


class MissingText(CocityError, KeyError):
    """A text key missing from the message catalogue of a language (a ``KeyError`` too)."""

    def __init__(self, key: str, path: Path):
        super().__init__(f"testo {key!r} assente dal catalogo dei messaggi {path}")
        self.key, self.path = key, path

    def __str__(self) -> str:
        return str(self.args[0])


class Catalogue(dict):
    """The texts of one language: a ``dict`` whose missing keys raise :class:`MissingText`."""

    def __init__(self, texts: dict, path: Path):
        super().__init__(texts)
        self.path = path

    def __missing__(self, key):
        raise MissingText(key, self.path)


def _tuples(value):
    """YAML lists as tuples, at any depth, as the texts were written before the catalogue."""
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


@functools.cache
def catalogue(lang: str) -> Catalogue:
    """The message catalogue of a language, read once from ``reporting/messages/<lang>.yaml``.

    Parameters
    ----------
    lang : str
        ``"it"`` or ``"en"``.

    Returns
    -------
    Catalogue
        Key -> text (string, tuple or mapping); a missing key raises :class:`MissingText`.

    Examples
    --------
    >>> catalogue("it")["summary_h"]
    'In sintesi'
    >>> catalogue("en")["area_labels"]["housing"]
    'Reducing housing distress'
    """
    path = CATALOGUE_DIR / f"{_check_lang(lang)}.yaml"
    texts = _read_catalogue(lang)  # shared with cocity_analysis.FOCUS_AREA_LABELS: one parse per file
    if not isinstance(texts, dict):
        raise CocityError(f"catalogo dei messaggi {path}: atteso un elenco di chiavi e testi")
    return Catalogue(_tuples(texts), path)


#: Language -> the texts of :func:`catalogue` (the same dicts).
TEXTS: dict[str, Catalogue] = {lang: catalogue(lang) for lang in LANGS}

#: Language -> short label of each focus area ("Disagio abitativo"), from the catalogue.
SHORT_AREA_LABELS = {lang: TEXTS[lang]["short_area_labels"] for lang in LANGS}


def _t(lang: str, key: str, **kwargs) -> str:
    """The text ``key`` in ``lang``, its placeholders filled with ``kwargs`` (Italian tidied).

    >>> _t("it", "summary_limited", min=3, areas="Disagio abitativo")
    'Aree con evidenza limitata (meno di 3 indicatori): Disagio abitativo.'
    """
    text = TEXTS[lang][key]
    text = text.format(**kwargs) if kwargs else text
    # generated Italian: prepositions and articles follow the next word ("alle 39", "nell'8%", "ad Andria")
    return italian.tidy(text) if lang == "it" and isinstance(text, str) else text


def _tv(view, key: str, **kwargs) -> str:
    """Text for a view: ``{n}`` is the number of cities, ``{n1}`` the others, ``{ref}`` the set the
    indicators were normalised on (the 39, or all municipalities with ``--scope all``)."""
    return _t(view.lang, key, n=view.n_cities, n1=view.n_cities - 1, ref=view.reference, **kwargs)


def area_label(area: str, lang: str = "it") -> str:
    """Label of a focus area in the report language."""
    return TEXTS[lang]["area_labels"].get(area, area)


def short_area_label(area: str, lang: str = "it") -> str:
    """Short label of a focus area (``"Disagio abitativo"``)."""
    return SHORT_AREA_LABELS[lang].get(area, area_label(area, lang))
