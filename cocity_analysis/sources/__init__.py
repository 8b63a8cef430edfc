"""Loaders for official sources (ISTAT, MEF, ...): one module per source, each returning tidy frames."""
