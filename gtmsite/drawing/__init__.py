"""gtmsite's own drawing of the standard charts: the static SVG vl-convert would make, without it.

vl-convert runs Vega in V8 and needs 15-70 ms a chart; a site of 10,000 account pages has 20,000 of
them (each chart is drawn wide and for phones). The common shapes (a monthly line, bars over text
categories or months) are drawn here in Python in about a millisecond, to the same layout, text and marks
(tests/test_drawing.py compares the two on many data sets); any other spec returns None and goes to
vl-convert.
"""

from __future__ import annotations

from .bar import bar_chart_svg
from .line import line_chart_svg

__all__ = ["draw"]


def draw(spec: dict) -> str | None:
    """The static SVG of `spec` if it is one of the shapes drawn here, else None."""
    layers = spec.get("layer")
    first = layers[0] if isinstance(layers, list) and layers and isinstance(layers[0], dict) else spec
    mark = first.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else None
    try:
        return line_chart_svg(spec) if kind == "line" else bar_chart_svg(spec) if kind == "bar" else None
    except Exception:  # noqa: BLE001 - a spec or value this subset did not foresee: vl-convert draws it
        return None
