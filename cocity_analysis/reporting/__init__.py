"""Reporting: view objects, sections, charts and the batch that turns notebooks into HTML reports."""
