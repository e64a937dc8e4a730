"""A line chart over months (gtmsite's `line_chart` with a monthly x axis), drawn as Vega draws it.

`line_chart_svg(spec)` reads the Vega-Lite spec that charts.py made and returns the same SVG that
vl-convert would (after svg.slim_svg): same layout (autosize fit), ticks, labels, hidden overlapping
labels, line and points; or None when the spec is not exactly of this shape, for vl-convert to draw.
"""

from __future__ import annotations

import datetime as dt
import math
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


def _draw(points: list[tuple[float, float | None]], x_title: str | None, y_title: str | None,
          y_format: str | None, step: int, size: float, width: int, height: int, padding: dict) -> str | None:
    defined = [(x, y) for x, y in points if y is not None]
    xs = [x for x, _ in points]
    x0, x1 = min(xs), max(xs)
    if not defined or x0 == x1:
        return None
    ys = [y for _, y in defined]
    low, high = min(0, min(ys)), max(0, max(ys))
    if low == high:
        return None  # a flat zero line: Vega centres it; left to vl-convert
    y0, y1 = nice(low, high)
    radius = math.sqrt(size) / 2
    # Vega's autosize "fit" resizes once: it lays the chart out at the requested size less the padding,
    # measures what sticks out past the plot (labels, titles, points), shrinks the plot by that, and draws.
    first = _layout(points, x0, x1, y0, y1, x_title, y_title, y_format, step, radius,
                    width, height, draw=False)
    if first is None:
        return None
    left, top, right, bottom = first["extents"]
    plot_w = width - padding["left"] - padding["right"] - left - right
    plot_h = height - padding["top"] - padding["bottom"] - top - bottom
    layout = _layout(points, x0, x1, y0, y1, x_title, y_title, y_format, step, radius, plot_w, plot_h) \
        if plot_w > 0 and plot_h > 0 else None
    if layout is None:
        return None
    return _svg(layout, width, height, padding["left"] + left, padding["top"] + top, plot_w, plot_h, radius)


def _layout(points, x0, x1, y0, y1, x_title, y_title, y_format, step, radius, plot_w, plot_h,
            draw: bool = True) -> dict | None:
    """Where everything goes in a plot of this size, and how far it sticks out (`draw`=False: only that)."""
    def sx(ms: float) -> float:  # d3's interpolation, operation for operation: the pixels round the same way
        t = (ms - x0) / (x1 - x0)
        return 0 * (1 - t) + plot_w * t

    def sy(value: float) -> float:
        t = (value - y0) / (y1 - y0)
        return plot_h * (1 - t) + 0 * t

    epoch = dt.datetime(1970, 1, 1)
    start, stop = epoch + dt.timedelta(milliseconds=x0), epoch + dt.timedelta(milliseconds=x1)
    months = utc_month_ticks(start, stop, step)
    x_ticks = [sx((m - epoch).total_seconds() * 1000) for m in months]
    count = math.ceil(plot_h / 40)
    if count <= 0:
        return None
    y_values = ticks(y0, y1, count)
    fmt = number_format(y_format, y0, y1, count)
    if fmt is None:
        return None
    y_ticks = [sy(v) for v in y_values]
    separation = _AXIS["labelSeparation"]
    label_y = _TICK + _LABEL_PAD
    x_labels = without_overlaps(horizontal_labels(
        x_ticks, [truncated(month_label(m), _LABEL_SIZE, _LABEL_LIMIT) for m in months], label_y, _LABEL_SIZE,
        plot_w, flush=True), separation)
    y_labels = without_overlaps(vertical_labels(
        y_ticks, [truncated(fmt(v), _LABEL_SIZE, _LABEL_LIMIT) for v in y_values], -label_y, _LABEL_SIZE), separation)
    x_labels_bottom = max((lb.bounds[3] for lb in x_labels if lb.visible), default=_TICK)
    x_title_y = max(x_labels_bottom, _TICK) + _AXIS["titlePadding"]
    y_labels_left = min((lb.bounds[0] for lb in y_labels if lb.visible), default=-_TICK)
    y_title_x = min(y_labels_left, -_TICK) - _AXIS["titlePadding"]
    # what sticks out of the plot: the labels shown (not those hidden as overlapping), titles, points, ticks
    boxes = [_shift(lb.bounds, 0, plot_h) for lb in x_labels if lb.visible]
    boxes += [lb.bounds for lb in y_labels if lb.visible]
    if x_title:
        boxes.append(_shift(text_bounds(plot_w / 2, x_title_y, x_title, _TITLE_SIZE, "center", "top"), 0, plot_h))
    if y_title:
        if text_width(y_title, _TITLE_SIZE) > plot_h:
            return None  # a title longer than its axis: Vega's bounds for it are not reproduced here
        boxes.append((y_title_x - _TITLE_SIZE, 0, y_title_x, 0))
    ys = [y for _, y in points if y is not None]  # the points' extremes: the scales are monotonic
    xs = [x for x, y in points if y is not None]
    for px in (sx(min(xs)), sx(max(xs))):
        for py in (sy(min(ys)), sy(max(ys))):
            boxes.append((px - radius, py - radius, px + radius, py + radius))
    boxes.append((-_TICK, 0, 0, plot_h))  # y ticks
    boxes.append((0, plot_h, plot_w, plot_h + _TICK))  # x ticks
    left = math.ceil(max(0.0, -min(b[0] for b in boxes)))
    top = math.ceil(max(0.0, -min(b[1] for b in boxes)))
    right = math.ceil(max(0.0, max(b[2] for b in boxes) - plot_w))
    bottom = math.ceil(max(0.0, max(b[3] for b in boxes) - plot_h))
    return {"extents": (left, top, right, bottom), "x_ticks": x_ticks, "y_ticks": y_ticks, "x_labels": x_labels,
            "y_labels": y_labels, "x_title": x_title, "x_title_y": x_title_y, "y_title": y_title,
            "y_title_x": y_title_x,
            "points": [(sx(x), None if y is None else sy(y)) for x, y in points] if draw else []}


def _shift(box: tuple[float, float, float, float], dx: float, dy: float) -> tuple[float, float, float, float]:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


_GRID = 'stroke="#e3e6ec" stroke-width="1" opacity="1"/>'
_RULE = f'stroke="{_AXIS["tickColor"]}" stroke-width="1" opacity="1"/>'
_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
_GROUP_END = '</g><path class="foreground" d="" pointer-events="none" display="none"/></g></g>'


def _label(lb: Label) -> str:
    y = lb.y + baseline_offset(lb.baseline, _LABEL_SIZE)
    return text_element(lb.text, f'text-anchor="{_ANCHOR[lb.align]}" '
                        f'transform="translate({coordinate(lb.x)},{coordinate(y)})" font-size="{_LABEL_SIZE}px" '
                        f'fill="{_AXIS["labelColor"]}" opacity="{1 if lb.visible else 0}"')


def _svg(layout: dict, width: int, height: int, dx: int, dy: int, w: float, h: float, radius: float) -> str:
    color = CONFIG["mark"]["color"]
    title_attrs = (f'font-size="{_TITLE_SIZE}px" font-weight="{_AXIS["titleFontWeight"]}" '
                   f'fill="{_AXIS["titleColor"]}" opacity="1"')
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
           f'class="marks" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
           f'<g fill="none" stroke-miterlimit="10" transform="translate({dx},{dy})">'
           f'<g class="mark-group role-frame root"><g transform="translate(0,0)">'
           f'<path class="background" d="M0,0h{number(w)}v{number(h)}h-{number(w)}Z"/><g>']
    axis_open = '<g class="mark-group role-axis"><g transform="translate({},{})">' \
                '<path class="background" d="M0,0h0v0h0Z" pointer-events="none"/><g>'
    out.append(axis_open.format("0.5", coordinate(h + 0.5)))
    out.append('<g class="mark-rule role-axis-grid" pointer-events="none">')
    out += [f'<line transform="translate({js_round(x)},{number(-h)})" x2="0" y2="{number(h)}" {_GRID}'
            for x in layout["x_ticks"]]
    out.append('</g>' + _GROUP_END)
    out.append(axis_open.format("0.5", "0.5"))
    out.append('<g class="mark-rule role-axis-grid" pointer-events="none">')
    out += [f'<line transform="translate(0,{js_round(y)})" x2="{number(w)}" y2="0" {_GRID}' for y in layout["y_ticks"]]
    out.append('</g>' + _GROUP_END)
    # the x axis: ticks, labels, domain, title
    out.append(axis_open.format("0.5", coordinate(h + 0.5)))
    out.append('<g class="mark-rule role-axis-tick" pointer-events="none">')
    out += [f'<line transform="translate({js_round(x)},0)" x2="0" y2="{_TICK}" {_RULE}' for x in layout["x_ticks"]]
    out.append('</g><g class="mark-text role-axis-label" pointer-events="none">')
    out += [_label(lb) for lb in layout["x_labels"]]
    out.append(f'</g><g class="mark-rule role-axis-domain" pointer-events="none">'
               f'<line transform="translate(0,0)" x2="{number(w)}" y2="0" {_RULE}</g>')
    if layout["x_title"]:
        ty = layout["x_title_y"] + baseline_offset("top", _TITLE_SIZE)
        out.append('<g class="mark-text role-axis-title" pointer-events="none">' + text_element(
            layout["x_title"],
            f'text-anchor="middle" transform="translate({coordinate(w / 2)},{coordinate(ty)})" {title_attrs}')
            + '</g>')
    out.append(_GROUP_END)
    # the y axis
    out.append(axis_open.format("0.5", "0.5"))
    out.append('<g class="mark-rule role-axis-tick" pointer-events="none">')
    out += [f'<line transform="translate(0,{js_round(y)})" x2="-{_TICK}" y2="0" {_RULE}' for y in layout["y_ticks"]]
    out.append('</g><g class="mark-text role-axis-label" pointer-events="none">')
    out += [_label(lb) for lb in layout["y_labels"]]
    out.append(f'</g><g class="mark-rule role-axis-domain" pointer-events="none">'
               f'<line transform="translate(0,{number(h)})" x2="0" y2="{number(-h)}" {_RULE}</g>')
    if layout["y_title"]:
        out.append('<g class="mark-text role-axis-title" pointer-events="none">' + text_element(
            layout["y_title"],
            f'text-anchor="middle" transform="translate({coordinate(layout["y_title_x"])},{coordinate(h / 2)}) '
            f'rotate(-90) translate(0,{baseline_offset("bottom", _TITLE_SIZE)})" {title_attrs}') + '</g>')
    out.append(_GROUP_END)
    # the marks: the line (sorted by x, broken where y is missing), then a point per defined row
    out.append(f'<g class="mark-line role-mark layer_0_marks"><path d="{_line_path(layout["points"])}" '
               f'stroke="{color}" stroke-width="{CONFIG["line"]["strokeWidth"]}" stroke-linecap="round" '
               f'stroke-linejoin="round"/></g>')
    r = coordinate(round(radius, 3))
    circle = f'M{r},0A{r},{r},0,1,1,-{r},0A{r},{r},0,1,1,{r},0'
    out.append('<g class="mark-symbol role-mark layer_1_marks">')
    out += [f'<path transform="translate({coordinate(x)},{coordinate(y)})" d="{circle}" fill="{color}" '
            f'stroke-width="2" opacity="1"/>' for x, y in layout["points"] if y is not None]
    out.append('</g></g></g></g></g></svg>')
    return "".join(out)


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

