"""Text as Vega lays it out: widths from the chart font's metrics, baseline offsets, truncation.

The widths are those vl-convert measures (Liberation Sans, metric-compatible with Arial and Helvetica),
read back from vl-convert by scripts/measure_chart_font.py into font.json, kerning included; a character
the table lacks counts as the width of an average lowercase letter.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

_FONT = json.loads(Path(__file__).with_name("font.json").read_text(encoding="utf-8"))
_EM = 2048  # Liberation Sans' units per em: the measured widths are whole numbers of these
_WIDTHS = {c: round(w * _EM / _FONT["units"]) for c, w in _FONT["widths"].items()}
_KERNING = {pair: round(k * _EM / _FONT["units"]) for pair, k in _FONT["kerning"].items()}
_AVERAGE = round(sum(_WIDTHS[c] for c in "abcdefghijklmnopqrstuvwxyz") / 26)
ELLIPSIS = "\u2026"


def js_round(value: float) -> int:
    """JavaScript's Math.round: halves go up (towards +infinity), as in Vega."""
    return math.floor(value + 0.5)


@lru_cache(maxsize=4096)
def _units(text: str) -> int:
    total = sum(_WIDTHS.get(c, _AVERAGE) for c in text)
    if len(text) > 1:
        total += sum(_KERNING.get(text[i:i + 2], 0) for i in range(len(text) - 1))
    return total


def measured(text: str) -> bool:
    """Whether every character of `text` is in the width table: a text with others (Cyrillic, Greek, CJK,
    most of Latin Extended) is left to vl-convert, whose layout depends on widths not known here."""
    return all(c in _WIDTHS for c in text)


def text_width(text: str, size: float) -> float:
    return _units(text) * size / _EM


def truncated(text: str, size: float, limit: float) -> str:
    """`text` cut to fit `limit` pixels with an ellipsis, as Vega's labelLimit does (limit 0: no limit)."""
    if not limit or text_width(text, size) <= limit:
        return text
    lo, hi = 0, len(text)
    room = limit - text_width(ELLIPSIS, size)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid], size) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ELLIPSIS


def baseline_offset(baseline: str, size: float) -> int:
    """How far Vega moves text down from its anchor for a baseline (vega-scenegraph's textOffset)."""
    factor = {"top": 0.79, "middle": 0.30, "bottom": -0.21}.get(baseline, 0.0)
    return js_round(factor * size)


def text_bounds(x: float, y: float, text: str, size: float, align: str, baseline: str,
                limit: float = 0) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of one line of text anchored at (x, y), as Vega bounds it: a text cut to `limit` counts
    as the limit's width, whatever the cut text measures."""
    width = text_width(text, size)
    if limit:
        width = min(width, limit)
    top = y + baseline_offset(baseline, size) - js_round(0.8 * size)
    left = x - width / 2 if align == "center" else x - width if align == "right" else x
    return left, top, left + width, top + size
