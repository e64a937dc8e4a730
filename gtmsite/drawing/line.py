"""A line chart over months (gtmsite's `line_chart` with a monthly x axis), drawn as Vega draws it.

`line_chart_svg(spec)` reads the Vega-Lite spec that charts.py made and returns the same SVG that
vl-convert would (after svg.slim_svg): same layout (autosize fit), ticks, labels, hidden overlapping
labels, line and points; or None when the spec is not exactly of this shape, for vl-convert to draw.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from ..chartstyle import CONFIG
from .axes import Label, horizontal_labels, vertical_labels, without_overlaps
from .scales import month_label, nice, number_format, ticks, utc_month_ticks
from .svgtext import coordinate, number, text_element
from .text import baseline_offset, js_round, text_bounds, text_width, truncated

_AXIS = CONFIG["axis"]
_LABEL_SIZE = _AXIS["labelFontSize"]
_TITLE_SIZE = _AXIS["titleFontSize"]
_TICK, _LABEL_PAD, _LABEL_LIMIT = 5, 2, 180  # Vega's axis defaults: tick size, label padding, label limit
_SPEC_KEYS = {"mark", "encoding", "data", "config", "background", "description", "height", "width", "autosize",
              "padding"}
_FIT = {"type": "fit", "contains": "padding"}


def _field(channel: Any, kind: str, keys: set[str]) -> str | None:
    if not isinstance(channel, dict) or channel.get("type") != kind or not set(channel) <= keys:
        return None
    field, title = channel.get("field"), channel.get("title")
    if not isinstance(field, str) or "\\" in field or not (title is None or isinstance(title, str)):
        return None
    return field


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


def _y_format(y: dict) -> tuple[bool, str | None]:
    axis = y.get("axis")
    if axis is None:
        return True, None
    if not isinstance(axis, dict) or set(axis) != {"format", "formatType"} or axis["formatType"] != "number" \
            or not isinstance(axis["format"], str):
        return False, None
    return True, axis["format"]


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
    if not set(spec) <= _SPEC_KEYS or spec.get("config") is not CONFIG and spec.get("config") != CONFIG:
        return None
    mark, encoding = spec.get("mark"), spec.get("encoding")
    if not isinstance(mark, dict) or mark.get("type") != "line" or set(mark) != {"type", "tooltip", "point"} \
            or not isinstance(mark["point"], dict) or set(mark["point"]) != {"size"}:
        return None
    if not isinstance(encoding, dict) or set(encoding) - {"tooltip"} != {"x", "y"}:
        return None
    x_field = _field(encoding["x"], "temporal", {"field", "type", "title", "scale", "axis"})
    y_field = _field(encoding["y"], "quantitative", {"field", "type", "title", "axis"})
    step = _month_step(encoding["x"]) if x_field else None
    known, y_format = _y_format(encoding["y"]) if y_field else (False, None)
    size, width, height = mark["point"]["size"], spec.get("width"), spec.get("height")
    padding = spec.get("padding", CONFIG["padding"])
    if step is None or not known or spec.get("autosize") != _FIT or not _whole(width) or not _whole(height) \
            or not isinstance(size, (int, float)) or size <= 0 or not isinstance(padding, dict) \
            or set(padding) != {"top", "right", "bottom", "left"} or not all(_whole(v) for v in padding.values()):
        return None
    data = spec.get("data")
    values = data.get("values") if isinstance(data, dict) and set(data) == {"values"} else None
    if not isinstance(values, list):
        return None
    points = _points(values, x_field, y_field)
    if points is None:
        return None
    return _draw(points, encoding["x"].get("title"), encoding["y"].get("title"), y_format, step, size, width,
                 height, padding)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


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
    y_ticks: list[float]
    x_labels: list[Label]
    y_labels: list[Label]
    x_title_y: float
    y_title_x: float
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
    # Vega's autosize "fit" resizes once: it lays the chart out with the plot at the requested size,
    # measures what sticks out past the plot (labels, titles, points), shrinks the plot by that and padding,
    # and draws at that size (it does not measure again).
    first = _layout(chart, width, height, draw=False)
    if first is None:
        return None
    left, top, right, bottom = first.extents
    plot_w = width - padding["left"] - padding["right"] - left - right
    plot_h = height - padding["top"] - padding["bottom"] - top - bottom
    layout = _layout(chart, plot_w, plot_h) if plot_w > 0 and plot_h > 0 else None
    if layout is None:
        return None
    return _svg(chart, layout, width, height, padding["left"] + left, padding["top"] + top, plot_w, plot_h)


def _layout(chart: _Chart, plot_w: float, plot_h: float, draw: bool = True) -> _Layout | None:
    """The chart laid out in a plot of this size (`draw`=False: enough to know how far it sticks out)."""
    (x0, x1), (y0, y1) = chart.x_domain, chart.y_domain

    def sx(ms: float) -> float:  # d3's interpolation, operation for operation: the pixels round the same way
        t = (ms - x0) / (x1 - x0)
        return 0 * (1 - t) + plot_w * t

    def sy(value: float) -> float:
        t = (value - y0) / (y1 - y0)
        return plot_h * (1 - t) + 0 * t

    count = math.ceil(plot_h / 40)
    fmt = number_format(chart.y_format, y0, y1, count) if count > 0 else None
    if fmt is None:
        return None
    epoch = dt.datetime(1970, 1, 1)
    months = utc_month_ticks(epoch + dt.timedelta(milliseconds=x0), epoch + dt.timedelta(milliseconds=x1), chart.step)
    x_ticks = [sx((m - epoch).total_seconds() * 1000) for m in months]
    y_values = ticks(y0, y1, count)
    y_ticks = [sy(v) for v in y_values]
    separation, label_y = _AXIS["labelSeparation"], _TICK + _LABEL_PAD
    x_labels = without_overlaps(horizontal_labels(
        x_ticks, [truncated(month_label(m), _LABEL_SIZE, _LABEL_LIMIT) for m in months], label_y, _LABEL_SIZE,
        plot_w, flush=True), separation)
    y_labels = without_overlaps(vertical_labels(
        y_ticks, [truncated(fmt(v), _LABEL_SIZE, _LABEL_LIMIT) for v in y_values], -label_y, _LABEL_SIZE), separation)
    x_title_y = max([_TICK] + [lb.bounds[3] for lb in x_labels if lb.visible]) + _AXIS["titlePadding"]
    y_title_x = min([-_TICK] + [lb.bounds[0] for lb in y_labels if lb.visible]) - _AXIS["titlePadding"]
    # what sticks out of the plot: the labels shown (not those hidden as overlapping), titles, points, ticks
    boxes = [_shift(lb.bounds, 0, plot_h) for lb in x_labels if lb.visible]
    boxes += [lb.bounds for lb in y_labels if lb.visible]
    if chart.x_title:
        boxes.append(_shift(text_bounds(plot_w / 2, x_title_y, chart.x_title, _TITLE_SIZE, "center", "top"), 0,
                            plot_h))
    if chart.y_title:
        if text_width(chart.y_title, _TITLE_SIZE) > plot_h:
            return None  # a title longer than its axis: Vega's bounds for it are not reproduced here
        boxes.append((y_title_x - _TITLE_SIZE, 0, y_title_x, 0))
    defined = [(x, y) for x, y in chart.points if y is not None]
    r = chart.radius
    for px in (sx(min(x for x, _ in defined)), sx(max(x for x, _ in defined))):  # the scales are monotonic:
        for py in (sy(min(y for _, y in defined)), sy(max(y for _, y in defined))):  # the extremes suffice
            boxes.append((px - r, py - r, px + r, py + r))
    boxes += [(-_TICK, 0, 0, plot_h), (0, plot_h, plot_w, plot_h + _TICK)]  # the ticks
    extents = (math.ceil(max(0.0, -min(b[0] for b in boxes))), math.ceil(max(0.0, -min(b[1] for b in boxes))),
               math.ceil(max(0.0, max(b[2] for b in boxes) - plot_w)),
               math.ceil(max(0.0, max(b[3] for b in boxes) - plot_h)))
    points = [(sx(x), None if y is None else sy(y)) for x, y in chart.points] if draw else []
    return _Layout(extents, x_ticks, y_ticks, x_labels, y_labels, x_title_y, y_title_x, points)


def _shift(box: tuple[float, float, float, float], dx: float, dy: float) -> tuple[float, float, float, float]:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


_GRID = f'stroke="{_AXIS["gridColor"]}" stroke-width="1" opacity="1"/>'
_RULE = f'stroke="{_AXIS["tickColor"]}" stroke-width="1" opacity="1"/>'
_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
_AXIS_START = ('<g class="mark-group role-axis"><g transform="translate(0.5,{})">'
               '<path class="background" d="M0,0h0v0h0Z" pointer-events="none"/><g>')
_AXIS_END = '</g><path class="foreground" d="" pointer-events="none" display="none"/></g></g>'
_TITLE = (f'font-size="{_TITLE_SIZE}px" font-weight="{_AXIS["titleFontWeight"]}" fill="{_AXIS["titleColor"]}" '
          'opacity="1"')


def _label(lb: Label) -> str:
    y = lb.y + baseline_offset(lb.baseline, _LABEL_SIZE)
    return text_element(lb.text, f'text-anchor="{_ANCHOR[lb.align]}" '
                        f'transform="translate({coordinate(lb.x)},{coordinate(y)})" font-size="{_LABEL_SIZE}px" '
                        f'fill="{_AXIS["labelColor"]}" opacity="{1 if lb.visible else 0}"')


def _grid(origin_y: str, lines: list[str]) -> str:
    """One axis's grid lines, in a group of their own as Vega-Lite makes them."""
    return (_AXIS_START.format(origin_y) + '<g class="mark-rule role-axis-grid" pointer-events="none">'
            + "".join(lines) + "</g>" + _AXIS_END)


def _axis(origin_y: str, ticks: list[str], labels: list[Label], domain: str, title: str | None,
          title_transform: str) -> str:
    """One axis: its ticks, labels, domain line and title."""
    title_group = ('<g class="mark-text role-axis-title" pointer-events="none">'
                   + text_element(title, f'text-anchor="middle" transform="{title_transform}" {_TITLE}')
                   + "</g>") if title else ""
    return (_AXIS_START.format(origin_y) + '<g class="mark-rule role-axis-tick" pointer-events="none">'
            + "".join(ticks) + '</g><g class="mark-text role-axis-label" pointer-events="none">'
            + "".join(map(_label, labels)) + '</g><g class="mark-rule role-axis-domain" pointer-events="none">'
            + domain + "</g>" + title_group + _AXIS_END)


def _svg(chart: _Chart, layout: _Layout, width: int, height: int, dx: int, dy: int, w: float, h: float) -> str:
    color = CONFIG["mark"]["color"]
    bottom = coordinate(h + 0.5)
    x_title_y = layout.x_title_y + baseline_offset("top", _TITLE_SIZE)
    r = coordinate(round(chart.radius, 3))
    circle = f'M{r},0A{r},{r},0,1,1,-{r},0A{r},{r},0,1,1,{r},0'
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'class="marks" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<g fill="none" stroke-miterlimit="10" transform="translate({dx},{dy})">'
        f'<g class="mark-group role-frame root"><g transform="translate(0,0)">'
        f'<path class="background" d="M0,0h{number(w)}v{number(h)}h-{number(w)}Z"/><g>',
        _grid(bottom, [f'<line transform="translate({js_round(x)},{number(-h)})" x2="0" y2="{number(h)}" {_GRID}'
                       for x in layout.x_ticks]),
        _grid("0.5", [f'<line transform="translate(0,{js_round(y)})" x2="{number(w)}" y2="0" {_GRID}'
                      for y in layout.y_ticks]),
        _axis(bottom, [f'<line transform="translate({js_round(x)},0)" x2="0" y2="{_TICK}" {_RULE}'
                       for x in layout.x_ticks], layout.x_labels,
              f'<line transform="translate(0,0)" x2="{number(w)}" y2="0" {_RULE}', chart.x_title,
              f"translate({coordinate(w / 2)},{coordinate(x_title_y)})"),
        _axis("0.5", [f'<line transform="translate(0,{js_round(y)})" x2="-{_TICK}" y2="0" {_RULE}'
                      for y in layout.y_ticks], layout.y_labels,
              f'<line transform="translate(0,{number(h)})" x2="0" y2="{number(-h)}" {_RULE}', chart.y_title,
              f"translate({coordinate(layout.y_title_x)},{coordinate(h / 2)}) rotate(-90) "
              f"translate(0,{baseline_offset('bottom', _TITLE_SIZE)})"),
        # the marks: the line (sorted by x, broken where y is missing), then a point per defined row
        f'<g class="mark-line role-mark layer_0_marks"><path d="{_line_path(layout.points)}" '
        f'stroke="{color}" stroke-width="{CONFIG["line"]["strokeWidth"]}" stroke-linecap="round" '
        f'stroke-linejoin="round"/></g><g class="mark-symbol role-mark layer_1_marks">',
        *(f'<path transform="translate({coordinate(x)},{coordinate(y)})" d="{circle}" fill="{color}" '
          f'stroke-width="2" opacity="1"/>' for x, y in layout.points if y is not None),
        '</g></g></g></g></g></svg>'])


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

