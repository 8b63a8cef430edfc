"""Test package (so that shared helpers are imported as ``from .helpers import ...``)."""
