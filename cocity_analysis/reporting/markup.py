"""Escaping and the small HTML blocks shared by the report sections."""

from __future__ import annotations

import html
from typing import Iterable, Sequence




def _e(value) -> str:
    """HTML-escape any value (None -> empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


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
