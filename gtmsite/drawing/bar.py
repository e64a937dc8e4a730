"""A bar chart of one series over text categories or dates (gtmsite's `bar_chart` with a text or date x), drawn
as Vega draws it.

`bar_chart_svg(spec)` reads the Vega-Lite spec that charts.py made and returns the SVG vl-convert would (after
svg.slim_svg): the band scale, the labels flat or tilted as the spec's width expression says (text) or flat
with overlapping ones hidden (dates), the stacked bars with their rounded ends (Vega-Lite draws each stack as
a clipped group with rounded top corners); or None when the spec is not exactly of this shape, for vl-convert
to draw.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..chartstyle import CONFIG
from .axes import Label, without_overlaps
from .frame import (
    AXIS,
    LABEL_LIMIT,
    LABEL_PAD,
    LABEL_SIZE,
    RULE,
    TICK,
    TITLE_SIZE,
    Box,
    Plot,
    YAxis,
    axis_svg,
    extents,
    field_of,
    fitted,
    frame_of,
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
from .scales import MONTHS, default_number, nice, number_format
from .svgtext import coordinate, number, text_element
from .text import baseline_offset, js_round, measured, text_bounds, text_width, truncated

_PADDING_INNER, _PADDING_OUTER = 0.1, 0.05  # Vega-Lite's band padding for bars (outer = inner / 2)
_RADIUS = CONFIG["bar"]["cornerRadiusEnd"]
_C = 0.448084975506  # vega-scenegraph's rounded corners: the Bézier control points sit at (1 - C) of the radius
_ANGLE = re.compile(r"\(width / (\d+) >= (\d+) \? 0 : width / \1 >= 30 \? -30 : width / \1 >= 20 \? -45 : -90\)")
_VALUE_COLOR, _VALUE_DY = "#5b6475", -6  # charts.py's value labels (`labels=True`)
_PRECISION = re.compile(r"\.\d+")
_SORTS = (None, "-y", "y")  # the domain's order: data order, or by total, descending or not
_ORDINARY = 1e-250  # the smallest bar total drawn here: below, d3's ticks lose their precision
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,6})?)?")

Tilt = Callable[[float], tuple[int, str, str]]  # plot width -> (label angle, align, baseline)


@dataclass(frozen=True)
class _Categories:
    """The x axis's categories as this chart's spec makes them."""
    field: str
    key: Callable[[Any], Any]  # a row's x value -> its category, or None if it is not one drawn here
    label: Callable[[Any], str]  # a category -> its label's text
    order: str | None  # None: first appearance; "-y" / "y": by total; "key": ascending
    tilt: Tilt
    hide_overlaps: bool  # Vega-Lite's labelOverlap, true but for nominal fields


def bar_chart_svg(spec: dict) -> str | None:
    """The SVG of a one-series vertical bar chart over text categories or months, its values written above
    the bars or not (`labels=True`: a text layer), or None if `spec` is anything else."""
    frame = frame_of(spec)
    bars, values = _layers(spec)
    encoding = bars.get("encoding") if bars is not None else None
    if frame is None or bars is None or set(bars) != {"mark", "encoding"} \
            or bars["mark"] != {"type": "bar", "tooltip": True} or not isinstance(encoding, dict) \
            or set(encoding) - {"tooltip"} != {"x", "y"}:
        return None
    y = encoding["y"]
    categories = _texts(encoding["x"]) or _months(encoding["x"])
    y_field = field_of(y, "quantitative", {"field", "type", "title", "stack", "axis"})
    known, y_format = y_format_of(y) if y_field else (False, None)
    if categories is None or not known or y.get("stack") != "zero":
        return None
    value_text = _value_text(values, encoding, y_field) if values is not None else None
    if values is not None and value_text is None:
        return None
    rows = _rows(spec["data"]["values"], categories, y_field)
    titles = [t for t in (encoding["x"].get("title"), y.get("title")) if t]
    if not rows or not all(measured(t) for t in titles):
        return None
    width, height, padding = frame
    return _draw(_stacks(rows, categories), encoding["x"].get("title"), y.get("title"), y_format, categories,
                 value_text, width, height, padding)


def _layers(spec: dict) -> tuple[dict | None, dict | None]:
    """(the bars' layer, the value labels' layer or None) of a plain or a layered spec."""
    if "layer" not in spec:
        return ({"mark": spec["mark"], "encoding": spec.get("encoding")} if "mark" in spec else None), None
    layers = spec["layer"]
    if "mark" in spec or "encoding" in spec or not isinstance(layers, list) or len(layers) != 2 \
            or not all(isinstance(layer, dict) for layer in layers):
        return None, None
    return layers[0], layers[1]


def _value_text(layer: dict, encoding: dict, y_field: str) -> Callable[[float], str] | None:
    """How the text layer charts.py adds for `labels=True` writes a value, if it is exactly that layer."""
    encoding = layer.get("encoding") if set(layer) == {"mark", "encoding"} else None
    text = encoding.get("text") if isinstance(encoding, dict) else None
    if layer.get("mark") != {"type": "text", "dy": -6, "color": _VALUE_COLOR} or not isinstance(text, dict) \
            or layer["encoding"] != {"x": encoding["x"], "y": encoding["y"], "text": text} \
            or text.get("field") != y_field or text.get("type") != "quantitative":
        return None
    if set(text) == {"field", "type"}:
        return default_number
    pattern = text.get("format")
    if set(text) != {"field", "type", "format", "formatType"} or text["formatType"] != "number" \
            or not isinstance(pattern, str) or not _PRECISION.search(pattern):
        return None  # d3 works out a precision from the data: not reproduced here
    return number_format(pattern, 0, 1, 1)


def _texts(x: dict) -> _Categories | None:
    """Text categories (a nominal x), in data order or by total, labels tilted by the spec's expressions."""
    field = field_of(x, "nominal", {"field", "type", "title", "sort", "axis"})
    sort = x.get("sort") if field else None
    tilt = _tilt(x.get("axis")) if field else None
    if tilt is None or not isinstance(sort, (str, type(None))) or sort not in _SORTS:
        return None

    def key(value: Any) -> str | None:
        """A text Vega writes as it is: no control characters, nothing its SVG writer trims or shortens."""
        ok = isinstance(value, str) and value and value == value.strip() and not _CONTROL.search(value)
        return value if ok and measured(value) else None
    return _Categories(field, key, str, sort, tilt, hide_overlaps=False)


def _months(x: dict) -> _Categories | None:
    """Dates as categories (charts.py's bars over a date column), in time order, labelled "Jan 2026"."""
    field = field_of(x, "ordinal", {"field", "type", "title", "axis", "timeUnit", "sort"})
    if field is None or x.get("axis") != {"format": "%b %Y"} or x.get("timeUnit") != "utcyearmonthdate" \
            or x.get("sort") != "ascending":
        return None

    def key(value: Any) -> dt.date | None:
        """The day of a date or a naive timestamp as charts.py writes them (read as UTC, as Vega does)."""
        if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
            return None
        try:
            day = dt.datetime.fromisoformat(value).date()
        except ValueError:
            return None
        return day if day.year >= 1000 else None  # Vega labels years before 1000 "NaN"

    def label(day: dt.date) -> str:
        return f"{MONTHS[day.month - 1]} {day.year}"
    return _Categories(field, key, label, "key", lambda _width: (0, "center", "top"), hide_overlaps=True)


def _tilt(axis: Any) -> Tilt | None:
    """How the labels lie at a plot width, from the expressions charts.py writes (_fit_category_labels)."""
    if not isinstance(axis, dict) or set(axis) != {"labelAngle", "labelAlign", "labelBaseline"}:
        return None
    angle = axis["labelAngle"].get("expr") if isinstance(axis["labelAngle"], dict) else None
    match = _ANGLE.fullmatch(angle) if isinstance(angle, str) else None
    if match is None:
        return None
    count, fits = int(match[1]), int(match[2])
    if count == 0 or axis["labelAlign"] != {"expr": f"width / {count} >= {fits} ? 'center' : 'right'"} \
            or axis["labelBaseline"] != {"expr": f"{angle} == -90 ? 'middle' : 'top'"}:
        return None

    def at(plot_w: float) -> tuple[int, str, str]:
        step = plot_w / count
        turn = 0 if step >= fits else -30 if step >= 30 else -45 if step >= 20 else -90
        return turn, "center" if step >= fits else "right", "middle" if turn == -90 else "top"
    return at


def _rows(values: list, categories: _Categories, y_field: str) -> list[tuple[Any, float]] | None:
    """(category, value) per row that has a value (Vega-Lite leaves out the others, and their categories with
    them); None if a row is not a category and a finite number, or is null where the domain is sorted (by
    totals over all rows, nulls included, or by time: an order not reproduced here)."""
    out = []
    for row in values:
        if not isinstance(row, dict):
            return None
        category, value = categories.key(row.get(categories.field)), row.get(y_field)
        if category is None:
            return None
        if value is None and categories.order is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        out.append((category, value))
    return out


@dataclass(frozen=True)
class _Stack:
    """One category's bars: (start, end) of each row's segment, in data order, as Vega's stack "zero" makes them."""
    label: str
    segments: list[tuple[float, float]]
    seen: int  # where the category first appears in the data: Vega draws the stacks in this order
    rows: list[tuple[int, float]]  # (index in the data, value) of each segment's row

    @property
    def low(self) -> float:
        return min(min(s) for s in self.segments)

    @property
    def high(self) -> float:
        return max(max(s) for s in self.segments)


def _stacks(rows: list[tuple[Any, float]], categories: _Categories) -> list[_Stack]:
    """The categories in the x domain's order (first appearance, by total with ties in that order, or
    ascending), each with its rows stacked: positive values upwards from zero, negative ones downwards."""
    by_category: dict[Any, list[tuple[int, float]]] = {}
    for index, (category, value) in enumerate(rows):
        by_category.setdefault(category, []).append((index, value))
    order = list(by_category)
    first_seen = {category: i for i, category in enumerate(order)}
    if categories.order == "key":
        order.sort()
    elif categories.order is not None:
        order.sort(key=lambda c: sum(v for _, v in by_category[c]), reverse=categories.order == "-y")
    stacks = []
    for category in order:
        up = down = 0
        segments = []
        for _, value in by_category[category]:
            if value < 0:
                segments.append((down, down + value))
                down += value
            else:
                segments.append((up, up + value))
                up += value
        stacks.append(_Stack(categories.label(category), segments, first_seen[category], by_category[category]))
    return stacks


@dataclass(frozen=True)
class _Chart:
    stacks: list[_Stack]
    y_domain: tuple[float, float]
    x_title: str | None
    y_title: str | None
    y_format: str | None
    categories: _Categories
    value_text: Callable[[float], str] | None  # the values written above the bars, or None


@dataclass(frozen=True)
class _Band:
    """d3's band scale over the categories: where each band starts, and its width."""
    starts: list[float]
    width: float

    @staticmethod
    def over(count: int, plot_w: float) -> _Band:
        step = plot_w / max(1, count - _PADDING_INNER + _PADDING_OUTER * 2)
        start = (plot_w - step * (count - _PADDING_INNER)) * 0.5
        return _Band([start + step * i for i in range(count)], step * (1 - _PADDING_INNER))

    def centres(self) -> list[float]:
        """Where the axis puts each band's tick and label (its middle, half a pixel left, as Vega does)."""
        return [start + self.width * 0.5 - 0.5 for start in self.starts]


@dataclass(frozen=True)
class _Value:
    """A value written above its bar (a text mark: centred on the band, 6px above the segment's end)."""
    row: int  # its row's place in the data: Vega writes them in this order
    x: float
    y: float
    text: str

    def bounds(self) -> Box:
        return text_bounds(self.x, self.y + _VALUE_DY, self.text, LABEL_SIZE, "center", "middle")


@dataclass(frozen=True)
class _Layout:
    extents: tuple[int, int, int, int]
    band: _Band
    x_labels: list[Label]
    x_title_y: float
    y: YAxis
    values: list[_Value]


def _draw(stacks: list[_Stack], x_title: str | None, y_title: str | None, y_format: str | None,
          categories: _Categories, value_text: Callable[[float], str] | None, width: int, height: int,
          padding: dict) -> str | None:
    low, high = min(0, min(s.low for s in stacks)), max(0, max(s.high for s in stacks))
    if low == high or not _ORDINARY <= max(-low, high) < 1e21:
        return None  # all zero (Vega's domain is then not niced the same way), or numbers JavaScript and
        # Python write differently (1e+21): left to vl-convert
    chart = _Chart(stacks, nice(low, high), x_title, y_title, y_format, categories, value_text)
    first = _layout(chart, width, height)
    plot = fitted(first.extents, width, height, padding) if first is not None else None
    layout = _layout(chart, plot.w, plot.h) if plot is not None else None
    if layout is None or layout.band.width < 1:
        return None
    return _svg(chart, replace(layout, y=layout.y.after(first.y)), width, height, plot)


def _layout(chart: _Chart, plot_w: float, plot_h: float) -> _Layout | None:
    y = y_axis(chart.y_domain, plot_h, chart.y_format)
    if y is None:
        return None
    band = _Band.over(len(chart.stacks), plot_w)
    angle, align, baseline = chart.categories.tilt(plot_w)
    x_labels = [_x_label(x, stack.label, angle, align, baseline) for x, stack in zip(band.centres(), chart.stacks)]
    if chart.categories.hide_overlaps:
        x_labels = without_overlaps(x_labels, AXIS["labelSeparation"])
    x_title_y = max([TICK] + [lb.bounds[3] for lb in x_labels if lb.visible]) + AXIS["titlePadding"]
    boxes = [shift(lb.bounds, 0, plot_h) for lb in x_labels if lb.visible]
    boxes += [lb.bounds for lb in y.labels if lb.visible]
    if chart.x_title:
        boxes.append(shift(text_bounds(plot_w / 2, x_title_y, chart.x_title, TITLE_SIZE, "center", "top"), 0,
                           plot_h))
    if chart.y_title and text_width(chart.y_title, TITLE_SIZE) > plot_h:
        return None  # a title longer than its axis: Vega's bounds for it are not reproduced here
    boxes += y_title_box(chart.y_title, y.title_x)
    values = _values(chart, band, plot_h)
    boxes += [v.bounds() for v in values]
    boxes += [(-TICK, 0, 0, plot_h), (0, plot_h, plot_w, plot_h + TICK)]  # the ticks
    return _Layout(extents(boxes, plot_w, plot_h), band, x_labels, x_title_y, y, values)


def _values(chart: _Chart, band: _Band, plot_h: float) -> list[_Value]:
    """The values written above the bars, in data order (none without `labels=True`). Vega-Lite stacks the
    text layer by its text field, largest first, so where a category has several rows the values are at
    the ends of that stack, not of the bars' (which keep the data order)."""
    if chart.value_text is None:
        return []
    out = []
    for stack, start in zip(chart.stacks, band.starts):
        x = start + band.width * 0.5
        up = down = 0
        for row, value in sorted(stack.rows, key=lambda r: -r[1]):
            if value < 0:
                down += value
                end = down
            else:
                up += value
                end = up
            out.append(_Value(row, x, y_scale(end, chart.y_domain, plot_h), chart.value_text(value)))
    return sorted(out, key=lambda v: v.row)


def _x_label(x: float, text: str, angle: int, align: str, baseline: str) -> Label:
    """A category's label under the axis, cut to the label limit, its bounds turned with it (Vega's Bounds.rotate
    about the anchor)."""
    y = TICK + LABEL_PAD
    box = text_bounds(x, y, text, LABEL_SIZE, align, baseline, LABEL_LIMIT)
    return Label(x, y, truncated(text, LABEL_SIZE, LABEL_LIMIT), align, baseline, True,
                 _rotated(box, angle, x, y) if angle else box, angle)


def _rotated(box: Box, degrees: float, x: float, y: float) -> Box:
    angle = degrees * math.pi / 180
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = x - x * cos + y * sin, y - x * sin - y * cos
    (x1, y1, x2, y2) = box
    xs = [cos * x1 - sin * y1 + cx, cos * x1 - sin * y2 + cx, cos * x2 - sin * y1 + cx, cos * x2 - sin * y2 + cx]
    ys = [sin * x1 + cos * y1 + cy, sin * x1 + cos * y2 + cy, sin * x2 + cos * y1 + cy, sin * x2 + cos * y2 + cy]
    return min(xs), min(ys), max(xs), max(ys)


def _svg(chart: _Chart, layout: _Layout, width: int, height: int, plot: Plot) -> str:
    w, h = plot.w, plot.h
    bottom = coordinate(h + 0.5)
    groups, clips = [], []
    in_data_order = sorted(zip(chart.stacks, layout.band.starts), key=lambda pair: pair[0].seen)
    marks = "layer_0_marks" if chart.value_text is not None else "marks"  # Vega-Lite's name of the bars
    for number_, (stack, start) in enumerate(in_data_order, start=1):
        group, clip = _stack_svg(stack, start, layout.band.width, chart.y_domain, h, f"clip{number_}", marks)
        groups.append(group)
        clips.append(clip)
    return "".join([
        svg_start(width, height, plot),
        y_grid_svg(layout.y.ticks, w),
        axis_svg(bottom, [f'<line transform="translate({js_round(x)},0)" x2="0" y2="{TICK}" {RULE}'
                          for x in layout.band.centres()], layout.x_labels,
                 f'<line transform="translate(0,0)" x2="{number(w)}" y2="0" {RULE}', chart.x_title,
                 x_title_svg_transform(w, layout.x_title_y)),
        y_axis_svg(layout.y, chart.y_title, h),
        '<g class="mark-group role-scope">', *groups, "</g>", _values_svg(layout.values),
        svg_end("<defs>" + "".join(clips) + "</defs>")])


def _values_svg(values: list[_Value]) -> str:
    if not values:
        return ""
    offset = _VALUE_DY + baseline_offset("middle", LABEL_SIZE)
    return ('<g class="mark-text role-mark layer_1_marks">' + "".join(
        text_element(v.text, f'text-anchor="middle" transform="translate({coordinate(v.x)},'
                             f'{coordinate(v.y + offset)})" font-size="{LABEL_SIZE}px" fill="{_VALUE_COLOR}"')
        for v in values) + "</g>")


def _stack_svg(stack: _Stack, x: float, band: float, domain: tuple[float, float], h: float, clip: str,
               marks: str) -> tuple[str, str]:
    """One category's group (its outline rounded at the top, clipping the segments inside) and its clip path."""
    top, bottom = y_scale(stack.high, domain, h), y_scale(stack.low, domain, h)
    y = min(top, bottom)
    outline = _rounded(band, abs(bottom - top))
    color = CONFIG["mark"]["color"]
    bars = []
    for start, end in stack.segments:
        y1, y2 = y_scale(end, domain, h), y_scale(start, domain, h)
        bars.append(f'<path d="{_rect(0, min(y1, y2), band, abs(y2 - y1))}" fill="{color}"/>')
    group = (f'<g transform="translate({coordinate(x)},{coordinate(y)})"><path class="background" d="{outline}"/>'
             f'<g clip-path="url(#{clip})"><g class="mark-group role-scope"><g transform="translate(0,'
             f'{coordinate(-y)})"><path class="background" d="{_rect(0, 0, band, 0)}"/><g>'
             f'<g class="mark-rect role-mark {marks}">{"".join(bars)}</g></g></g></g></g></g>')
    return group, f'<clipPath id="{clip}"><path d="{outline}"/></clipPath>'


def _rect(x: float, y: float, w: float, h: float) -> str:
    """d3-path's rect, as Vega writes a rectangle without rounded corners."""
    return f"M{coordinate(x)},{coordinate(y)}h{coordinate(w)}v{coordinate(h)}h{coordinate(-w)}Z"


def _rounded(w: float, h: float) -> str:
    """vega-scenegraph's rectangle at (0, 0) with its top corners rounded (the radius at most half a side)."""
    r = min(max(_RADIUS, 0), min(w, h) / 2)
    if r <= 0:
        return _rect(0, 0, w, h)
    n = coordinate
    return (f"M{n(r)},0L{n(w - r)},0C{n(w - _C * r)},0,{n(w)},{n(_C * r)},{n(w)},{n(r)}"
            f"L{n(w)},{n(h)}C{n(w)},{n(h)},{n(w)},{n(h)},{n(w)},{n(h)}"
            f"L0,{n(h)}C0,{n(h)},0,{n(h)},0,{n(h)}"
            f"L0,{n(r)}C0,{n(_C * r)},{n(_C * r)},0,{n(r)},0Z")
