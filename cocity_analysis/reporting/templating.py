"""The Jinja2 environment of the reports: templates of ``reporting/templates/``, autoescaped.

Every piece of HTML the reports show comes from a template here; Python builds view objects and
passes them in. Autoescaping is on for every template, so text from data (city names, labels,
notes) is escaped unless a value is explicitly marked safe (:func:`markupsafe.Markup`), which only
the output of another template or of the chart module is.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
from markupsafe import Markup

TEMPLATES_PACKAGE = ("cocity_analysis.reporting", "templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment (built once per process; templates are compiled on first use).

    Returns
    -------
    jinja2.Environment
        Package loader on ``cocity_analysis/reporting/templates``, autoescape on, undefined
        variables raise (a missing value is a bug, never an empty string), blocks trimmed.

    Examples
    --------
    >>> environment().from_string("<p>{{ name }}</p>").render(name="Cava de' <Tirreni>")
    '<p>Cava de&#39; &lt;Tirreni&gt;</p>'
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(*TEMPLATES_PACKAGE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def render(template_name: str, **context) -> Markup:
    """Render ``template_name`` with ``context``; the result is safe HTML for another template.

    Parameters
    ----------
    template_name : str
        File name under ``reporting/templates/`` (e.g. ``"summary.html.j2"``).
    **context
        The view objects and values the template reads.

    Returns
    -------
    markupsafe.Markup
        The rendered HTML (a ``str`` subclass).
    """
    return Markup(environment().get_template(template_name).render(**context))
