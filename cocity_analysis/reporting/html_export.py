"""Export settings of the report notebooks and the check that a report loads nothing from another host."""

from __future__ import annotations

import re


from cocity_analysis import config


TEMPLATE_NAME = "cocity"


KERNEL_NAME = config.KERNEL_NAME


# cells dropped from the HTML: notes for developers, and the (output-less) parameter cells
REMOVED_CELL_TAGS = ("remove_cell", "parameters", "injected-parameters")


CELL_TIMEOUT_SECONDS = 600


OVERVIEW_NOTEBOOK = config.NOTEBOOKS_DIR / "overview_report.ipynb"


HTML_MAX_BYTES = 2 * 1024 * 1024


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
# What each pattern above cannot match without (in the case-folded text, or a regex): a quick scan that
# spares the slow case-insensitive patterns on a report's 250 kB of inline SVG (60 ms -> 4 ms a report).
_NEEDED = (
    ("<script",), ("<link",), ("@import",), ("url(",),
    re.compile(r"=\s*['\"]?\s*(?:https?:)?//", re.I),
    ("import(",), ("fetch(", "xmlhttprequest", "websocket", "sendbeacon"),
)


def external_references(text: str) -> list[str]:
    """Snippets of ``text`` that would load something from another host (empty = self-contained).

    Embedded ``data:`` URIs are ignored (base64 could spell anything).

    Examples
    --------
    >>> external_references('<svg><text>fetch</text></svg>')
    []
    >>> external_references('<img src="https://example.org/a.png">')
    ['<img src="https://example.org/a.png">']
    """
    stripped = _DATA_URI_RE.sub("data:", text)
    lowered = stripped.casefold()
    found = []
    for pattern, needed in zip(_EXTERNAL_RES, _NEEDED):
        if isinstance(needed, re.Pattern):
            if needed.search(stripped) is None:
                continue
        elif not any(word in lowered for word in needed):
            continue
        for match in pattern.finditer(stripped):
            found.append(stripped[max(0, match.start() - 20): match.end() + 60])
    return found


def _css() -> str:
    return (config.TEMPLATES_DIR / TEMPLATE_NAME / "static" / "cocity.css").read_text(encoding="utf-8")
