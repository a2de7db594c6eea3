"""The statement's pictures as inline SVG, drawn by pygal (no network, no script).

:func:`cost_trend_svg` stacks each month's cost by service (thirteen bars); :func:`budget_burn_svg`
draws the fiscal year's budget added up month by month (dashed), the actual to date (solid)
and the forecast to the year's end (dotted, its 80 % interval as whiskers). Both print in colour
and in grey: the bands' colours step in lightness, darkest at the bottom, and every band has a
dark outline; the burn's three lines differ by dash and weight, not by colour alone. The
numbers of each picture are also in a table beside it (statement template), for screen
readers and for anyone who wants the figures.

A closed month's pictures are drawn once: :func:`picture_keys` names each picture by a digest
of its figures and of the code that draws it (this module and pygal's version), and
:func:`pictures_of` draws only those it is not given already drawn (``known``, kept with the
month's close by ``billing.jobs.pictures``).

The output is the same for the same figures (the chart's id is fixed, pygal's random id is not
used), so a statement is byte-for-byte reproducible. Amounts reach pygal as floats only to be
placed; every figure written as text is a Decimal formatted by ``reports.text``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pygal
from markupsafe import Markup
from pygal.style import Style

from reports.summary import BurnView, CostTrend
from reports.text import quantity

__all__ = ["PALETTE", "cost_trend_svg", "budget_burn_svg", "statement_pictures", "pictures_of", "picture_keys", "WORKERS"]

WORKERS = 2
"""Processes that draw a month's pictures side by side (a picture takes about 0.03 s of CPU)."""

# Colours of the stacked bands, bottom first: lightness steps of about 14 (CIE L* 19, 33, 47,
# 62, 76, 90), so neighbours stay apart in grey; blue and orange alternate for colour.
PALETTE = ("#1a2f4b", "#7d3510", "#3a6ea8", "#d27c2c", "#8fb8e0", "#ece3cf")
_INK = "#1f2328"
_WIDTH, _HEIGHT = 340, 250

_STYLE = Style(
    background="white", plot_background="white", foreground=_INK, foreground_strong=_INK, foreground_subtle="#c9ced4",
    colors=PALETTE, font_family="'DejaVu Sans', 'Liberation Sans', Arial, sans-serif",
    label_font_size=8, major_label_font_size=8, legend_font_size=9, value_font_size=8, tooltip_font_size=8,
    title_font_size=9,
    opacity="1", opacity_hover="1", stroke_opacity="1", stroke_opacity_hover="1",
    transition="none",
)
_CSS = (
    "{id}.rect {{ stroke: #1f2328; stroke-width: 0.5px; }}"
    " {id}.legends .legend rect {{ stroke: #1f2328; stroke-width: 0.5px; }}"
    " {id}.axis .guides .guide.line {{ stroke: #d0d7de; stroke-dasharray: none; stroke-width: 0.6px; }}"
    " {id}.axis .guides .axis.line, {id}.axis .guides .major.guide.line {{ stroke: #59636e; stroke-dasharray: none; }}"
)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _tick(value: float) -> str:
    """An axis tick as people write it (``12,000``), through reports.text."""
    return quantity(Decimal(repr(float(value))).normalize())


def _common(chart_id: str, **config) -> dict:
    css = "inline:" + _CSS.format(id=f"#chart-{chart_id} ")
    return dict(width=_WIDTH, height=_HEIGHT, js=[], css=["file://style.css", "file://graph.css", css],
                style=_STYLE, disable_xml_declaration=True, explicit_size=False, legend_at_bottom=True,
                legend_box_size=9, truncate_legend=-1, truncate_label=-1, margin=6, spacing=6, tooltip_border_radius=0,
                value_formatter=_tick, show_y_guides=True, show_x_guides=False, print_values=False, **config)


def _svg(chart: pygal.graph.graph.Graph, chart_id: str, label: str) -> Markup:
    chart.uuid = chart_id  # pygal's own id is random: a fixed one keeps the statement reproducible
    # pygal's comment carries today's date, and its tooltips' configuration comes as a script:
    # neither belongs on a statement (the tooltips themselves are not loaded: js=[])
    svg = _SCRIPT.sub("", _COMMENT.sub("", chart.render(is_unicode=True)))
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1))


def cost_trend_svg(trend: CostTrend, currency: str) -> Markup:
    """Thirteen stacked bars: each month's cost by service, the largest service at the bottom."""
    chart = pygal.StackedBar(**_common("cost-trend", legend_at_bottom_columns=2, y_title=currency,
                                       x_label_rotation=0, show_minor_x_labels=True))
    chart.x_labels = list(trend.labels)
    for series in trend.series:
        chart.add(series.name, [float(a) for a in series.amounts])
    return _svg(chart, "cost-trend", f"Cost by service, {trend.month_labels[0]} to {trend.month_labels[-1]}")


def budget_burn_svg(burn: BurnView, currency: str) -> Markup:
    """The fiscal year added up month by month: budget, actual to date, forecast to the year's end."""
    chart = pygal.Line(**_common("budget-burn", legend_at_bottom_columns=3, y_title=currency, dots_size=2.5,
                                 include_x_axis=True, allow_interruptions=True))
    chart.x_labels = [p.label for p in burn.points]
    chart.add("Budget", [float(p.budget) for p in burn.points], show_dots=False,
              stroke_style={"width": 1.5, "dasharray": "6, 3"})
    chart.add("Actual", [None if p.actual is None else float(p.actual) for p in burn.points],
              stroke_style={"width": 3})
    if burn.months_left:
        chart.add("Forecast", [
            None if p.forecast is None else {"value": float(p.forecast), "ci": {"low": float(p.low), "high": float(p.high)}}
            for p in burn.points], stroke_style={"width": 1.5, "dasharray": "1.5, 3"}, dots_size=1.5)
    return _svg(chart, "budget-burn", f"Budget burn, fiscal year {burn.fiscal_year}")


def statement_pictures(view) -> dict[str, Markup | None]:
    """A statement's two pictures (``trend``, ``burn``; None where the statement has none)."""
    return {"trend": cost_trend_svg(view.trend, view.currency) if view.trend else None,
            "burn": budget_burn_svg(view.burn, view.currency) if view.burn else None}


_DRAWING = hashlib.sha256(Path(__file__).read_bytes() + pygal.__version__.encode()).hexdigest()
"""What draws the pictures: a changed drawing gives every picture another key."""


def picture_keys(view) -> dict[str, str | None]:
    """The key of each of a statement's pictures (``trend``, ``burn``; None where it has none):
    a digest of the figures drawn, the currency and the drawing code."""
    def key(kind: str, figures) -> str | None:
        if figures is None:
            return None
        text = f"{_DRAWING}|{kind}|{view.currency}|{figures!r}"
        return hashlib.sha256(text.encode()).hexdigest()
    return {"trend": key("trend", view.trend), "burn": key("burn", view.burn)}


def pictures_of(views: Sequence, *, workers: int = WORKERS,
                known: Mapping[str, str] | None = None) -> list[dict[str, Markup | None]]:
    """Every statement's pictures, in order: those in ``known`` (key → picture, as drawn before)
    taken from it, the others drawn; many are drawn by ``workers`` forked processes (the drawing
    is pure, the same bytes whichever process draws them)."""
    known = known or {}
    keys = [picture_keys(view) for view in views]
    to_draw = [view for view, k in zip(views, keys) if any(key is not None and key not in known for key in k.values())]
    if workers <= 1 or len(to_draw) < 4 * workers or "fork" not in multiprocessing.get_all_start_methods():
        drawn = [statement_pictures(view) for view in to_draw]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            drawn = list(pool.map(statement_pictures, to_draw, chunksize=max(1, len(to_draw) // (workers * 4))))
    fresh = iter(drawn)
    found = []
    for k in keys:
        if any(key is not None and key not in known for key in k.values()):
            found.append(next(fresh))
        else:
            found.append({kind: None if key is None else Markup(known[key]) for kind, key in k.items()})
    return found
