"""Measure the chart font's advance widths and kerning with vl-convert, for gtmsite/drawing's text layout.

vl-convert lays out a chart's text with Liberation Sans (metric-compatible with Arial and Helvetica, the
fonts the site's stylesheet falls back to). gtmsite's own drawing of the standard charts (drawing/) must
place labels exactly where vl-convert would, so it needs the same widths; this script reads them back from
vl-convert (an axis title sits exactly one label's width from the axis) and writes
gtmsite/drawing/font.json. Run it again after upgrading vl-convert:

    python scripts/measure_chart_font.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import vl_convert

FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
SIZE = 100  # widths in hundredths of the font size (vl-convert caps labels near 200 px)
CHARS = [chr(c) for c in range(32, 127)] + [chr(c) for c in range(160, 256)] + list("–—‘’“”•…€™−")
_TITLE_X = re.compile(r'role-axis-title.*?translate\(([-\d.e]+),', re.S)


def widths(texts: list[str]) -> list[float]:
    """The width of each text at SIZE px, laid out by vl-convert (one axis per text, in one spec)."""
    scales = [{"name": f"s{i}", "type": "point", "domain": [t], "range": "height"} for i, t in enumerate(texts)]
    axes = [{"orient": "left", "scale": f"s{i}", "title": "T", "titlePadding": 0, "labelPadding": 0, "ticks": False,
             "domain": False, "labelFont": FONT, "labelFontSize": SIZE, "labelLimit": 1e9, "labelOverlap": False,
             "labelBound": False, "zindex": i}
            for i in range(len(texts))]
    svg = vl_convert.vega_to_svg({"width": 10, "height": 10, "autosize": "none", "scales": scales, "axes": axes})
    groups = svg.split('class="mark-group role-axis"')[1:]
    return [round(-float(_TITLE_X.search(g).group(1)), 4) for g in groups]


def main() -> None:
    single = dict(zip(CHARS, widths([c if c != " " else "\u00a0" for c in CHARS])))
    single[" "] = widths(["a a"])[0] - 2 * single["a"]
    kerning = {}
    ascii_chars = [chr(c) for c in range(33, 127)]
    for first in ascii_chars:
        pairs = [first + second for second in ascii_chars]
        for pair, width in zip(pairs, widths(pairs)):
            kern = round(width - single[pair[0]] - single[pair[1]], 4)
            if abs(kern) > 0.001:
                kerning[pair] = kern
    out = Path(__file__).resolve().parent.parent / "gtmsite" / "drawing" / "font.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"font": "Liberation Sans (as vl-convert lays it out)", "units": SIZE,
                               "vl_convert": vl_convert.__version__, "widths": single, "kerning": kerning},
                              ensure_ascii=False, sort_keys=True, indent=0) + "\n")
    print(f"{len(single)} widths, {len(kerning)} kerning pairs -> {out}")


if __name__ == "__main__":
    main()
