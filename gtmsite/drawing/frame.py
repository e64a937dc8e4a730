"""What every drawn chart shares: reading the spec's common parts, the y axis of a linear scale, and the SVG
of the frame, grid and axes, element for element as Vega writes them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..chartstyle import CONFIG
from .axes import Label, vertical_labels, without_overlaps
from .scales import number_format, ticks
from .svgtext import coordinate, number, text_element
from .text import baseline_offset, js_round

AXIS = CONFIG["axis"]
LABEL_SIZE = AXIS["labelFontSize"]
TITLE_SIZE = AXIS["titleFontSize"]
TICK, LABEL_PAD, LABEL_LIMIT = 5, 2, 180  # Vega's axis defaults: tick size, label padding, label limit
SPEC_KEYS = {"mark", "encoding", "layer", "data", "config", "background", "description", "height", "width",
             "autosize", "padding"}
FIT = {"type": "fit", "contains": "padding"}
Box = tuple[float, float, float, float]


def field_of(channel: Any, kind: str, keys: set[str]) -> str | None:
    """The channel's field if it is a plain field of this type with no keys but `keys`, else None."""
    if not isinstance(channel, dict) or channel.get("type") != kind or not set(channel) <= keys:
        return None
    field, title = channel.get("field"), channel.get("title")
    if not isinstance(field, str) or "\\" in field or not (title is None or isinstance(title, str)):
        return None
    return field


def y_format_of(y: dict) -> tuple[bool, str | None]:
    """(whether the y axis's format is one drawn here, its d3 specifier or None for the default)."""
    axis = y.get("axis")
    if axis is None:
        return True, None
    if not isinstance(axis, dict) or set(axis) != {"format", "formatType"} or axis["formatType"] != "number" \
            or not isinstance(axis["format"], str):
        return False, None
    return True, axis["format"]


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def frame_of(spec: dict) -> tuple[int, int, dict] | None:
    """(width, height, padding) of a spec made by charts.py with its standard config and a fitted size, or
    None if it has keys or settings drawn only by vl-convert."""
    if not set(spec) <= SPEC_KEYS or spec.get("config") is not CONFIG and spec.get("config") != CONFIG:
        return None
    width, height = spec.get("width"), spec.get("height")
    padding = spec.get("padding", CONFIG["padding"])
    if spec.get("autosize") != FIT or not whole(width) or not whole(height) or not isinstance(padding, dict) \
            or set(padding) != {"top", "right", "bottom", "left"} or not all(whole(v) for v in padding.values()):
        return None
    data = spec.get("data")
    if not isinstance(data, dict) or set(data) != {"values"} or not isinstance(data["values"], list):
        return None
    return width, height, padding


def shift(box: Box, dx: float, dy: float) -> Box:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


@dataclass(frozen=True)
class YAxis:
    """A left axis over a linear scale: tick values and positions, labels (overlapping ones hidden) and the
    title's x."""
    values: list[float]
    ticks: list[float]
    labels: list[Label]
    title_x: float

    def after(self, first: YAxis) -> YAxis:
        """This axis in the order Vega's second layout pass leaves its ticks in: Vega joins ticks by value, so
        those of the first pass keep their places and new ones come after them."""
        kept = set(first.values)
        order = [i for i, v in enumerate(self.values) if v in kept] + \
                [i for i, v in enumerate(self.values) if v not in kept]
        return YAxis([self.values[i] for i in order], [self.ticks[i] for i in order],
                     [self.labels[i] for i in order], self.title_x)


def y_axis(domain: tuple[float, float], plot_h: float, y_format: str | None) -> YAxis | None:
    """Vega's left axis for a zero-based linear y scale over `domain` (niced) in a plot `plot_h` high; None if
    its tick format is outside the subset drawn here."""
    y0, y1 = domain
    count = math.ceil(plot_h / 40)
    fmt = number_format(y_format, y0, y1, count) if count > 0 else None
    if fmt is None:
        return None
    values = ticks(y0, y1, count)
    positions = [y_scale(v, domain, plot_h) for v in values]
    labels = without_overlaps(vertical_labels(
        positions, [fmt(v) for v in values], -(TICK + LABEL_PAD), LABEL_SIZE, LABEL_LIMIT),
        AXIS["labelSeparation"])
    title_x = min([-TICK] + [lb.bounds[0] for lb in labels if lb.visible]) - AXIS["titlePadding"]
    return YAxis(values, positions, labels, title_x)


def y_scale(value: float, domain: tuple[float, float], plot_h: float) -> float:
    """d3's interpolation, operation for operation, so that the pixels round the same way."""
    t = (value - domain[0]) / (domain[1] - domain[0])
    return plot_h * (1 - t) + 0 * t


def y_title_box(title: str | None, title_x: float) -> list[Box]:
    """The y title's bounds as Vega measures them for the layout (rotated text: only its thickness)."""
    return [(title_x - TITLE_SIZE, 0, title_x, 0)] if title else []


def extents(boxes: list[Box], plot_w: float, plot_h: float) -> tuple[int, int, int, int]:
    """How far the boxes stick out of the plot: left, top, right, bottom, in whole pixels."""
    return (math.ceil(max(0.0, -min(b[0] for b in boxes))), math.ceil(max(0.0, -min(b[1] for b in boxes))),
            math.ceil(max(0.0, max(b[2] for b in boxes) - plot_w)),
            math.ceil(max(0.0, max(b[3] for b in boxes) - plot_h)))


@dataclass(frozen=True)
class Plot:
    """The plot's size after Vega's autosize "fit", and where it sits in the SVG."""
    w: int
    h: int
    dx: int
    dy: int


def fitted(sticking_out: tuple[int, int, int, int], width: int, height: int, padding: dict) -> Plot | None:
    """The plot's size and place, as Vega's autosize "fit" makes them in one resize: the chart is laid out with
    the plot at the requested size, what sticks out past it (labels, titles, marks) is measured, and the plot
    shrinks by that and the padding; Vega does not measure again. None if nothing is left of the plot."""
    left, top, right, bottom = sticking_out
    w = width - padding["left"] - padding["right"] - left - right
    h = height - padding["top"] - padding["bottom"] - top - bottom
    return Plot(w, h, padding["left"] + left, padding["top"] + top) if w > 0 and h > 0 else None


GRID = f'stroke="{AXIS["gridColor"]}" stroke-width="1" opacity="1"/>'
RULE = f'stroke="{AXIS["tickColor"]}" stroke-width="1" opacity="1"/>'
_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
_AXIS_START = ('<g class="mark-group role-axis"><g transform="translate(0.5,{})">'
               '<path class="background" d="M0,0h0v0h0Z" pointer-events="none"/><g>')
_AXIS_END = '</g><path class="foreground" d="" pointer-events="none" display="none"/></g></g>'
_TITLE = (f'font-size="{TITLE_SIZE}px" font-weight="{AXIS["titleFontWeight"]}" fill="{AXIS["titleColor"]}" '
          'opacity="1"')


def label_svg(lb: Label) -> str:
    offset = baseline_offset(lb.baseline, LABEL_SIZE)
    place = (f"translate({coordinate(lb.x)},{coordinate(lb.y + offset)})" if not lb.angle else
             f"translate({coordinate(lb.x)},{coordinate(lb.y)}) rotate({number(lb.angle)}) translate(0,{offset})")
    return text_element(lb.text, f'text-anchor="{_ANCHOR[lb.align]}" transform="{place}" '
                        f'font-size="{LABEL_SIZE}px" fill="{AXIS["labelColor"]}" opacity="{1 if lb.visible else 0}"')


def grid_svg(origin_y: str, lines: list[str]) -> str:
    """One axis's grid lines, in a group of their own as Vega-Lite makes them."""
    return (_AXIS_START.format(origin_y) + '<g class="mark-rule role-axis-grid" pointer-events="none">'
            + "".join(lines) + "</g>" + _AXIS_END)


def axis_svg(origin_y: str, ticks: list[str], labels: list[Label], domain: str, title: str | None,
             title_transform: str) -> str:
    """One axis: its ticks, labels, domain line and title."""
    title_group = ('<g class="mark-text role-axis-title" pointer-events="none">'
                   + text_element(title, f'text-anchor="middle" transform="{title_transform}" {_TITLE}')
                   + "</g>") if title else ""
    return (_AXIS_START.format(origin_y) + '<g class="mark-rule role-axis-tick" pointer-events="none">'
            + "".join(ticks) + '</g><g class="mark-text role-axis-label" pointer-events="none">'
            + "".join(map(label_svg, labels)) + '</g><g class="mark-rule role-axis-domain" pointer-events="none">'
            + domain + "</g>" + title_group + _AXIS_END)


def y_grid_svg(y_ticks: list[float], w: float) -> str:
    return grid_svg("0.5", [f'<line transform="translate(0,{js_round(y)})" x2="{number(w)}" y2="0" {GRID}'
                            for y in y_ticks])


def y_axis_svg(axis: YAxis, title: str | None, h: float) -> str:
    return axis_svg("0.5", [f'<line transform="translate(0,{js_round(y)})" x2="-{TICK}" y2="0" {RULE}'
                            for y in axis.ticks], axis.labels,
                    f'<line transform="translate(0,{number(h)})" x2="0" y2="{number(-h)}" {RULE}', title,
                    f"translate({coordinate(axis.title_x)},{coordinate(h / 2)}) rotate(-90) "
                    f"translate(0,{baseline_offset('bottom', TITLE_SIZE)})")


def x_title_svg_transform(w: float, title_y: float) -> str:
    return f"translate({coordinate(w / 2)},{coordinate(title_y + baseline_offset('top', TITLE_SIZE))})"


def svg_start(width: int, height: int, plot: Plot) -> str:
    """The SVG element, the padding's translation and the plot's frame, up to its first axis."""
    w, h = number(plot.w), number(plot.h)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'class="marks" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<g fill="none" stroke-miterlimit="10" transform="translate({plot.dx},{plot.dy})">'
            f'<g class="mark-group role-frame root"><g transform="translate(0,0)">'
            f'<path class="background" d="M0,0h{w}v{h}h-{w}Z"/><g>')


def svg_end(defs: str = "") -> str:
    """The frame's groups closed, then the definitions (clip paths) Vega puts last."""
    return f"</g></g></g></g>{defs}</svg>"
