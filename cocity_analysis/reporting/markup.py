"""The shared section wrapper and table for code that still passes HTML strings (the chart module).

The report sections render templates (:mod:`cocity_analysis.reporting.templating`); these three
functions give the same markup as the ``section`` and ``table`` macros of ``macros.html.j2``
and the same escaping as the templates' autoescape, for callers that hold HTML strings.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from markupsafe import Markup, escape

from cocity_analysis.reporting import templating


def _macros():
    return templating.environment().get_template("macros.html.j2").module


def _e(value) -> str:
    """HTML-escape any value as the templates do (None -> empty string)."""
    return str(escape("" if value is None else value))


def _section(heading: str, body: str, css_class: str) -> str:
    """``<section class="cocity-CSS_CLASS">`` with ``heading`` (escaped) over ``body`` (HTML)."""
    return str(_macros().section(heading, css_class, Markup(body)))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = (),
           table_id: str | None = None, sortable: bool = False, css: str = "") -> str:
    """An HTML table (the ``table`` macro); ``rows`` hold already-escaped cell HTML, ``headers`` text."""
    cells = [[Markup(cell) for cell in row] for row in rows]
    return str(_macros().table(list(headers), cells, numeric=tuple(numeric), table_id=table_id,
                               sortable=sortable, css=css))
