"""Axis labels as Vega places them: positions, flush alignment at the ends, and hiding overlapping labels
(Vega's `labelOverlap: true`, the "parity" strategy)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .text import text_bounds, truncated

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    align: str  # left | center | right
    baseline: str
    visible: bool
    bounds: Bounds
    angle: float = 0  # degrees, as Vega's labelAngle


def _intersect(a: Bounds, b: Bounds, separation: float) -> bool:
    return separation > max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])


def _has_overlap(labels: list[Label], separation: float) -> bool:
    return any(_intersect(labels[i - 1].bounds, labels[i].bounds, separation) for i in range(1, len(labels)))


def without_overlaps(labels: list[Label], separation: float) -> list[Label]:
    """The labels with every other one hidden, again and again, until none overlaps (at least 3 kept)."""
    shown = list(labels)
    hidden: set[int] = set()
    if len(shown) >= 3 and _has_overlap(shown, separation):
        indices = list(range(len(labels)))
        while True:
            hidden.update(indices[1::2])
            indices = indices[0::2]
            shown = [labels[i] for i in indices]
            if not (len(shown) >= 3 and _has_overlap(shown, separation)):
                break
        if len(shown) < 3 and len(labels) - 1 in hidden:
            if len(shown) > 1:
                hidden.add(indices[-1])
            hidden.discard(len(labels) - 1)
    return [replace(lb, visible=i not in hidden) for i, lb in enumerate(labels)]


def horizontal_labels(positions: list[float], texts: list[str], y: float, size: float, limit: float, span: float,
                      flush: bool) -> list[Label]:
    """Labels under a bottom axis: centred on their ticks, or flush with the ends of the range; each text cut to
    `limit` pixels."""
    out = []
    for x, text in zip(positions, texts):
        align = "center"
        if flush and x <= 1:
            align = "left"
        elif flush and x >= span - 1:
            align = "right"
        out.append(Label(x, y, truncated(text, size, limit), align, "top", True,
                         text_bounds(x, y, text, size, align, "top", limit)))
    return out


def vertical_labels(positions: list[float], texts: list[str], x: float, size: float, limit: float) -> list[Label]:
    """Labels left of a left axis, right-aligned and centred on their ticks; each text cut to `limit` pixels."""
    return [Label(x, y, truncated(text, size, limit), "right", "middle", True,
                  text_bounds(x, y, text, size, "right", "middle", limit))
            for y, text in zip(positions, texts)]
