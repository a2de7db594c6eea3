"""Statements as self-contained HTML: one page a business-line head reads in a minute.

The environment is set up here once (:func:`environment`): templates from
``reports/templates``, autoescaping of everything that comes from input, undefined names
as errors, and the filters of ``reports.filters``. Renderers take frozen view models
(``reports.views``) and return bytes; they know nothing of files or the store.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reports import filters
from reports.charts import statement_pictures
from reports.pack import MonthPackView
from reports.views import StatementView

__all__ = ["environment", "render_statement", "render_index", "statement_filename", "render_month_pack"]


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment of the reports (autoescaped, strict, filters registered)."""
    env = Environment(
        loader=PackageLoader("reports"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.register(env)
    return env


def render_statement(view: StatementView, *, pictures: Mapping[str, object] | None = None) -> bytes:
    """The statement as UTF-8 HTML (inline CSS and pictures, no scripts, printable on A4): a
    first page that stands alone, then every detail. ``pictures``: the statement's pictures
    already drawn (``reports.charts.pictures_of``), else they are drawn here."""
    drawn = statement_pictures(view) if pictures is None else pictures
    return environment().get_template("statement.html").render(view=view, pictures=drawn).encode("utf-8")


def statement_filename(view: StatementView) -> str:
    """``2026-03-MKT.html``: the month and business line code, safe as a file name."""
    code = re.sub(r"[^A-Za-z0-9_.-]+", "_", view.business_line_code).strip("._") or "business-line"
    return f"{view.month}-{code}.html"


def render_index(views: Sequence[StatementView], *, extension: str = "html") -> bytes:
    """An index page listing the statements, linking to :func:`statement_filename` of each
    (with ``extension`` ``pdf``, to the PDF of each)."""
    entries = [(statement_filename(v).removesuffix(".html") + "." + extension, v) for v in sorted(views, key=lambda v: (v.month, v.business_line_name, v.business_line_code))]
    months = sorted({v.month_label for v in views}, key=lambda label: min(v.month for v in views if v.month_label == label))
    total = None
    if views and len({v.currency for v in views}) == 1:  # amounts in one currency add up; mixed ones are not added
        changes = [v.change for v in views]
        total = {"currency": views[0].currency, "charged": sum((v.total for v in views), Decimal(0)),
                 "showback": sum((v.showback_total for v in views), Decimal(0)),
                 "change": None if any(c is None for c in changes) else sum((c for c in changes if c is not None), Decimal(0))}
    return environment().get_template("index.html").render(entries=entries, months=months, total=total).encode("utf-8")


def render_month_pack(view: MonthPackView) -> bytes:
    """Finance's month pack as UTF-8 HTML (inline CSS, no scripts, printable on A4)."""
    return environment().get_template("month_pack.html").render(view=view).encode("utf-8")
