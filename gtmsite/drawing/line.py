"""A line chart over months (gtmsite's `line_chart` with a monthly x axis), drawn as Vega draws it.

`line_chart_svg(spec)` reads the Vega-Lite spec that charts.py made and returns the same SVG that
vl-convert would (after svg.slim_svg): same layout (autosize fit), ticks, labels, hidden overlapping
labels, line and points; or None when the spec is not exactly of this shape, for vl-convert to draw.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any

from ..chartstyle import CONFIG
from .axes import Label, horizontal_labels, without_overlaps
from .frame import (
    AXIS,
    GRID,
    LABEL_LIMIT,
    LABEL_PAD,
    LABEL_SIZE,
    RULE,
    TICK,
    TITLE_SIZE,
    Plot,
    YAxis,
    axis_svg,
    extents,
    field_of,
    fitted,
    frame_of,
    grid_svg,
    shift,
    svg_end,
    svg_start,
    x_title_svg_transform,
    y_axis,
    y_axis_svg,
    y_format_of,
    y_grid_svg,
    y_scale,
    y_title_box,
)
from .scales import month_label, nice, utc_month_ticks
from .svgtext import coordinate, number
from .text import js_round, measured, text_bounds, text_width


def _month_step(x: dict) -> int | None:
    if x.get("scale") != {"type": "utc"}:
        return None
    axis = x.get("axis")
    if not isinstance(axis, dict) or set(axis) != {"format", "tickCount"} or axis["format"] != "%b %Y":
        return None
    count = axis["tickCount"]
    if not isinstance(count, dict) or count.get("interval") != "month" or set(count) != {"interval", "step"}:
        return None
    step = count["step"]
    return step if isinstance(step, int) and not isinstance(step, bool) and step >= 1 else None


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is None else None


def line_chart_svg(spec: dict) -> str | None:
    """The SVG of a one-series monthly line chart with points, or None if `spec` is anything else."""
    frame = frame_of(spec)
    mark, encoding = spec.get("mark"), spec.get("encoding")
    if frame is None or not isinstance(mark, dict) or mark.get("type") != "line" \
            or set(mark) != {"type", "tooltip", "point"} or not isinstance(mark["point"], dict) \
            or set(mark["point"]) != {"size"}:
        return None
    if not isinstance(encoding, dict) or set(encoding) - {"tooltip"} != {"x", "y"}:
        return None
    x_field = field_of(encoding["x"], "temporal", {"field", "type", "title", "scale", "axis"})
    y_field = field_of(encoding["y"], "quantitative", {"field", "type", "title", "axis"})
    step = _month_step(encoding["x"]) if x_field else None
    known, y_format = y_format_of(encoding["y"]) if y_field else (False, None)
    size = mark["point"]["size"]
    if step is None or not known or not isinstance(size, (int, float)) or size <= 0:
        return None
    points = _points(spec["data"]["values"], x_field, y_field)
    titles = [t for t in (encoding["x"].get("title"), encoding["y"].get("title")) if t]
    if points is None or not all(measured(t) for t in titles):
        return None
    width, height, padding = frame
    return _draw(points, encoding["x"].get("title"), encoding["y"].get("title"), y_format, step, size, width,
                 height, padding)


def _points(values: list, x_field: str, y_field: str) -> list[tuple[float, float | None]] | None:
    """(x in ms since the epoch, y or None) per row; None if a row is not a plain month and number."""
    epoch = dt.datetime(1970, 1, 1)
    out = []
    for row in values:
        if not isinstance(row, dict):
            return None
        when, y = _when(row.get(x_field)), row.get(y_field)
        if when is None or isinstance(y, bool) or not (y is None or isinstance(y, (int, float))):
            return None
        if y is not None and not math.isfinite(y):
            return None
        out.append(((when - epoch).total_seconds() * 1000, y))
    return out


@dataclass(frozen=True)
class _Chart:
    """What the layout needs of the spec and its data, whatever the plot's size."""
    points: list[tuple[float, float | None]]  # (ms since the epoch, value or None)
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]  # niced, zero included
    x_title: str | None
    y_title: str | None
    y_format: str | None
    step: int  # months between ticks
    radius: float  # of the points


@dataclass(frozen=True)
class _Layout:
    """Where everything goes in a plot of one size, and how far it sticks out of it."""
    extents: tuple[int, int, int, int]  # left, top, right, bottom
    x_ticks: list[float]
    x_labels: list[Label]
    x_title_y: float
    y: YAxis
    points: list[tuple[float, float | None]]  # in pixels (empty when only measuring)


def _draw(points: list[tuple[float, float | None]], x_title: str | None, y_title: str | None,
          y_format: str | None, step: int, size: float, width: int, height: int, padding: dict) -> str | None:
    xs = [x for x, _ in points]
    ys = [y for _, y in points if y is not None]
    if not ys or min(xs) == max(xs):
        return None
    low, high = min(0, min(ys)), max(0, max(ys))
    if low == high:
        return None  # a flat zero line: Vega centres it; left to vl-convert
    chart = _Chart(points, (min(xs), max(xs)), nice(low, high), x_title, y_title, y_format, step,
                   math.sqrt(size) / 2)
    first = _layout(chart, width, height, draw=False)
    plot = fitted(first.extents, width, height, padding) if first is not None else None
    layout = _layout(chart, plot.w, plot.h) if plot is not None else None
    if layout is None:
        return None
    return _svg(chart, replace(layout, y=layout.y.after(first.y)), width, height, plot)


def _layout(chart: _Chart, plot_w: float, plot_h: float, draw: bool = True) -> _Layout | None:
    """The chart laid out in a plot of this size (`draw`=False: enough to know how far it sticks out)."""
    x0, x1 = chart.x_domain

    def sx(ms: float) -> float:  # d3's interpolation, operation for operation: the pixels round the same way
        t = (ms - x0) / (x1 - x0)
        return 0 * (1 - t) + plot_w * t

    y = y_axis(chart.y_domain, plot_h, chart.y_format)
    if y is None:
        return None
    epoch = dt.datetime(1970, 1, 1)
    months = utc_month_ticks(epoch + dt.timedelta(milliseconds=x0), epoch + dt.timedelta(milliseconds=x1), chart.step)
    x_ticks = [sx((m - epoch).total_seconds() * 1000) for m in months]
    x_labels = without_overlaps(horizontal_labels(
        x_ticks, [month_label(m) for m in months], TICK + LABEL_PAD, LABEL_SIZE, LABEL_LIMIT, plot_w, flush=True),
        AXIS["labelSeparation"])
    x_title_y = max([TICK] + [lb.bounds[3] for lb in x_labels if lb.visible]) + AXIS["titlePadding"]
    # what sticks out of the plot: the labels shown (not those hidden as overlapping), titles, points, ticks
    boxes = [shift(lb.bounds, 0, plot_h) for lb in x_labels if lb.visible]
    boxes += [lb.bounds for lb in y.labels if lb.visible]
    if chart.x_title:
        boxes.append(shift(text_bounds(plot_w / 2, x_title_y, chart.x_title, TITLE_SIZE, "center", "top"), 0,
                           plot_h))
    if chart.y_title and text_width(chart.y_title, TITLE_SIZE) > plot_h:
        return None  # a title longer than its axis: Vega's bounds for it are not reproduced here
    boxes += y_title_box(chart.y_title, y.title_x)
    defined = [(x, v) for x, v in chart.points if v is not None]
    r = chart.radius
    for px in (sx(min(x for x, _ in defined)), sx(max(x for x, _ in defined))):  # the scales are monotonic:
        for v in (min(v for _, v in defined), max(v for _, v in defined)):  # the extremes suffice
            py = y_scale(v, chart.y_domain, plot_h)
            boxes.append((px - r, py - r, px + r, py + r))
    boxes += [(-TICK, 0, 0, plot_h), (0, plot_h, plot_w, plot_h + TICK)]  # the ticks
    points = [(sx(x), None if v is None else y_scale(v, chart.y_domain, plot_h)) for x, v in chart.points] \
        if draw else []
    return _Layout(extents(boxes, plot_w, plot_h), x_ticks, x_labels, x_title_y, y, points)


def _svg(chart: _Chart, layout: _Layout, width: int, height: int, plot: Plot) -> str:
    color = CONFIG["mark"]["color"]
    w, h = plot.w, plot.h
    bottom = coordinate(h + 0.5)
    r = coordinate(round(chart.radius, 3))
    circle = f'M{r},0A{r},{r},0,1,1,-{r},0A{r},{r},0,1,1,{r},0'
    return "".join([
        svg_start(width, height, plot),
        grid_svg(bottom, [f'<line transform="translate({js_round(x)},{number(-h)})" x2="0" y2="{number(h)}" {GRID}'
                          for x in layout.x_ticks]),
        y_grid_svg(layout.y.ticks, w),
        axis_svg(bottom, [f'<line transform="translate({js_round(x)},0)" x2="0" y2="{TICK}" {RULE}'
                          for x in layout.x_ticks], layout.x_labels,
                 f'<line transform="translate(0,0)" x2="{number(w)}" y2="0" {RULE}', chart.x_title,
                 x_title_svg_transform(w, layout.x_title_y)),
        y_axis_svg(layout.y, chart.y_title, h),
        # the marks: the line (sorted by x, broken where y is missing), then a point per defined row
        f'<g class="mark-line role-mark layer_0_marks"><path d="{_line_path(layout.points)}" '
        f'stroke="{color}" stroke-width="{CONFIG["line"]["strokeWidth"]}" stroke-linecap="round" '
        f'stroke-linejoin="round"/></g><g class="mark-symbol role-mark layer_1_marks">',
        *(f'<path transform="translate({coordinate(x)},{coordinate(y)})" d="{circle}" fill="{color}" '
          f'stroke-width="2" opacity="1"/>' for x, y in layout.points if y is not None),
        "</g>", svg_end()])


def _line_path(points: list[tuple[float, float | None]]) -> str:
    """d3's line with `defined`: one subpath per run of defined points, a lone point closed (Z)."""
    parts, run = [], []
    for x, y in sorted(points, key=lambda p: p[0]):
        if y is None:
            parts.append(_run(run))
            run = []
        else:
            run.append((x, y))
    parts.append(_run(run))
    return "".join(parts)


def _run(run: list[tuple[float, float]]) -> str:
    if not run:
        return ""
    text = "L".join(f"{coordinate(round(x, 3))},{coordinate(round(y, 3))}" for x, y in run)
    return f"M{text}Z" if len(run) == 1 else f"M{text}"

