"""User-facing errors: one clear message naming file, row and column, or a name and its candidates."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence


class CocityError(Exception):
    """Base class for errors a user can fix by changing an input."""


class InputFileError(CocityError):
    """A problem in an input file, located by file, row and column.

    ``row`` is the 1-based line number in the file as a text editor shows it
    (the header is line 1), so the user can jump straight to it.
    """

    def __init__(self, path: str | Path | None, message: str, *, row: int | None = None,
                 column: str | None = None):
        self.path = str(path) if path is not None else None
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if self.path:
            where.append(f"file {self.path}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)

    def __reduce__(self):
        # rebuilt from its parts (a step run in a second process raises it in this one intact)
        return functools.partial(type(self), row=self.row, column=self.column), (self.path, self.reason)


class NameResolutionError(CocityError):
    """A municipality name that is unknown or ambiguous; lists the candidates."""

    def __init__(self, name: str, reason: str, candidates: Sequence[str] = ()):
        self.name = name
        self.candidates = list(candidates)
        self.reason = reason
        text = f"{name!r}: {reason}"
        if self.candidates:
            text += "; candidates: " + "; ".join(self.candidates)
        super().__init__(text)

    def __reduce__(self):
        return type(self), (self.name, self.reason, self.candidates)


class SourceUnavailableError(CocityError):
    """An official file could be neither downloaded nor found in the mirror."""
