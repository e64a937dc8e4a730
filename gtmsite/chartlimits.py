"""Bounds on what a chart may ask of the renderer.

Each argument that sets how much the renderer draws (bins, pixels, series, generated rows) is checked
before a spec is made: a value out of bounds is the user's mistake, reported at the call, instead
of a renderer that runs for minutes, takes gigabytes and aborts (`histogram(q, x, bins=10**9)`).
"""

from __future__ import annotations

from typing import Any

from .errors import SiteError

MAX_BINS = 200
MIN_HEIGHT, MAX_HEIGHT = 40, 4000  # pixels
MAX_WIDTH = 4000
MAX_SERIES = 100  # lines, bar groups or colours a chart can tell apart
MAX_GENERATED = 100_000  # rows a custom spec's sequence transform may make


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def bins(value: Any) -> int:
    """`histogram(bins=...)`: a whole number from 1 to MAX_BINS."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_BINS:
        raise SiteError(f"bins must be a whole number from 1 to {MAX_BINS}, got {value!r}")
    return value


def height(value: Any) -> int | None:
    """A chart's `height` in pixels (None: the chart's own default)."""
    if value is None:
        return None
    if not _is_number(value) or not MIN_HEIGHT <= value <= MAX_HEIGHT:
        raise SiteError(f"height must be a number of pixels from {MIN_HEIGHT} to {MAX_HEIGHT:,}, got {value!r}")
    return int(value)


def auto_height(pixels: float) -> int:
    """A height the chart works out from its data (one row per category), kept within bounds."""
    return int(min(MAX_HEIGHT, pixels))


def series(values: list[Any], column: str) -> None:
    """A `series` column: at most MAX_SERIES distinct values."""
    count = len(set(values))
    if count > MAX_SERIES:
        raise SiteError(f"series '{column}' has {count:,} distinct values; a chart can tell at most {MAX_SERIES} "
                        "apart: keep the largest in SQL and group the rest (e.g. as 'Other'), or choose another "
                        "column")


def y_columns(columns: list[str]) -> None:
    if len(columns) > MAX_SERIES:
        raise SiteError(f"y names {len(columns)} columns; a chart can tell at most {MAX_SERIES} apart")


def custom_spec(spec: Any, path: str = "spec") -> None:
    """A `chart()` spec: its sizes, bins and generated rows within the same bounds as the components'."""
    if isinstance(spec, list):
        for i, item in enumerate(spec):
            custom_spec(item, f"{path}[{i}]")
        return
    if not isinstance(spec, dict):
        return
    for key, limit in (("width", MAX_WIDTH), ("height", MAX_HEIGHT)):
        value = spec.get(key)
        if _is_number(value) and not 0 <= value <= limit:
            raise SiteError(f"{path}.{key} must be from 0 to {limit:,} pixels, got {value!r}")
    value = spec.get("maxbins")
    if _is_number(value) and not 1 <= value <= MAX_BINS:
        raise SiteError(f"{path}.maxbins must be from 1 to {MAX_BINS}, got {value!r}")
    sequence = spec.get("sequence")
    if isinstance(sequence, dict) and all(_is_number(sequence.get(k, 1)) for k in ("start", "stop", "step")):
        step = sequence.get("step", 1) or 1
        count = (sequence.get("stop", 0) - sequence.get("start", 0)) / step
        if count > MAX_GENERATED:
            raise SiteError(f"{path}.sequence makes {count:,.0f} rows; at most {MAX_GENERATED:,} may be generated")
    for key, value in spec.items():
        if isinstance(value, (dict, list)):
            custom_spec(value, f"{path}.{key}")
