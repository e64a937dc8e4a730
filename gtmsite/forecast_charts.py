"""The forecast and trend layers of `line_chart` and `area_chart` (`forecast=N`, `trend="linear"`).

The chart's own spec stays as it is; this adds layers with their own data: an 80% interval band, a
dashed forecast line starting at the last actual point, and a dotted least-squares trend line. A
`strokeDash` legend ("actual", "forecast", "trend") labels them, in the static SVG and the interactive
chart alike (both draw this one spec). What a chart forecast is also returned as a `ForecastRecord`, so a
version keeps it and a later version can show the forecast next to what actually happened.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SiteError
from .forecast import LEVEL, Forecast, forecast, linear_trend
from .queries import QueryResult

PART = "__part"
FORECAST_DATA = "gtm_forecast"  # the forecast rows, shared by the band, line and point layers
LOW, HIGH = "__lo", "__hi"
TREND_COLOR = "#7f8c9a"
_DASHES = {"actual": [1, 0], "forecast": [6, 4], "trend": [2, 3]}
_UNITS = {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters", "year": "years"}


@dataclass(frozen=True)
class ForecastPoint:
    x: Any  # the period, as JSON (an ISO date or a number)
    series: Any
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class ForecastRecord:
    """One chart's forecast as a version keeps it: what it predicted, and the actuals it started from."""

    query: str
    x: str
    y: str
    series: str | None
    method: str
    unit: str  # the series' step: day, week, month, quarter, year or number
    points: tuple[ForecastPoint, ...]
    actuals: tuple[tuple[Any, Any, float | None], ...]  # (x, series, y) as drawn

    @property
    def key(self) -> str:
        return f"{self.query}:{self.x}:{self.y}:{self.series or ''}"


@dataclass(frozen=True)
class Projection:
    spec: dict
    records: list[dict]
    note: str
    record: ForecastRecord | None


def parse_options(horizon: Any, trend: Any, ys: list[str], stacked_series: bool) -> tuple[int | None, bool]:
    """Validate `forecast=` and `trend=`: the number of periods (or None) and whether to draw a trend."""
    if horizon is not None and (not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1):
        raise SiteError(f"forecast must be a number of periods such as 6, got {horizon!r}")
    if trend not in (None, False, "linear"):
        raise SiteError(f"trend must be \"linear\", got {trend!r}")
    if (horizon or trend) and len(ys) > 1:
        raise SiteError("forecast= and trend= take one y column; draw one chart per column, or use series=")
    if horizon and stacked_series:
        raise SiteError("forecast= on a stacked area_chart with series would stack forecasts: pass stack=false, "
                        "or use a line_chart")
    return horizon or None, trend == "linear"


def project(spec: dict, records: list[dict], result: QueryResult, x: str, y: str, series: str | None,
            horizon: int | None, trend: bool, cache: Path | None) -> Projection:
    """The chart's spec with forecast and trend layers added, and the data records they need."""
    groups = _series_of(result, x, y, series)
    base = spec["layer"][0] if "layer" in spec else spec
    encoding = base["encoding"]
    layers: list[dict] = []
    parts = ["actual"]
    note: list[str] = []
    record = None
    if horizon:
        fc = {name: forecast(xs, ys, horizon, _what(result, y, series, name), cache) for name, (xs, ys) in
              groups.items()}
        forecast_rows, forecast_layers = _forecast_layers(encoding, groups, fc, x, y, series)
        layers += forecast_layers
        parts.append("forecast")
        first = next(iter(fc.values()))
        unit = _UNITS.get(first.unit, "periods")
        unit = unit[:-1] if horizon == 1 else unit
        note.append(f"Dashed: forecast of the next {horizon} {unit} ({first.method}, {LEVEL}% interval shaded)")
        record = _record(result, x, y, series, groups, fc)
    if trend:
        lines = {name: linear_trend(xs, ys) for name, (xs, ys) in groups.items()}
        layers.append(_trend_layer(encoding, groups, lines, x, y, series))
        parts.append("trend")
        note.append("dotted: linear trend" if note else "Dotted: linear trend")
    dash = {"field": PART, "type": "nominal", "title": None,
            "scale": {"domain": parts, "range": [_DASHES[p] for p in parts]},
            "legend": {"symbolType": "stroke", "symbolStrokeColor": "#5b6475"}}
    base = copy.deepcopy(base)
    base["encoding"]["strokeDash"] = dash
    records = [{**r, PART: "actual"} for r in records]
    for layer in layers:
        if layer["mark"]["type"] == "line":
            layer["encoding"]["strokeDash"] = dash
    layered = [base, *spec["layer"][1:]] if "layer" in spec else [base]
    out = {k: v for k, v in spec.items() if k not in ("layer", "mark", "encoding")}
    out["layer"] = layers[:1] + layered + layers[1:] if horizon else layered + layers
    if horizon:
        out["datasets"] = {FORECAST_DATA: forecast_rows}
    return Projection(out, records, "; ".join(note) + ".", record)


def _series_of(result: QueryResult, x: str, y: str, series: str | None) -> dict[Any, tuple[list, list]]:
    """Each series' periods and values, in period order (one series, None, without `series=`)."""
    xi, yi = result.columns.index(x), result.columns.index(y)
    si = result.columns.index(series) if series else None
    groups: dict[Any, list[tuple[Any, Any]]] = {}
    for row in result.rows:
        groups.setdefault(row[si] if si is not None else None, []).append((row[xi], row[yi]))
    out = {}
    for name, points in groups.items():
        try:
            points.sort(key=lambda p: p[0])
        except TypeError:
            raise SiteError(f"x column '{x}' mixes kinds of values (or holds nulls): a forecast or trend needs "
                            "dates or numbers") from None
        periods = [p for p, _ in points]
        if len(set(periods)) != len(periods):
            dup = next(p for p in periods if periods.count(p) > 1)
            raise SiteError(f"{_what(result, y, series, name)} has two rows for {_json(dup)}: aggregate to one row "
                            f"per period{' and series' if series else ''} in SQL (or pass series=)")
        out[name] = (periods, [None if v is None else float(v) for _, v in points])
    return out


def _what(result: QueryResult, y: str, series: str | None, name: Any) -> str:
    return f"series {name!r} of '{y}' in query '{result.name}'" if series else f"'{y}' in query '{result.name}'"


def _json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _forecast_layers(encoding: dict, groups: dict, fc: dict[Any, Forecast], x: str, y: str, series: str | None
                     ) -> tuple[list[dict], list[dict]]:
    """The band (first, under the actual line) and the forecast line with its points (after it)."""
    rows: list[dict] = []
    for name, (xs, ys) in groups.items():
        last = {x: _json(xs[-1]), y: ys[-1], LOW: ys[-1], HIGH: ys[-1], PART: "forecast", "__start": True}
        if series:
            last[series] = name
        rows.append(last)
        f = fc[name]
        for period, mean, low, high in zip(f.periods, f.mean, f.lower, f.upper):
            row = {x: _json(period), y: mean, LOW: low, HIGH: high, PART: "forecast", "__start": False}
            if series:
                row[series] = name
            rows.append(row)
    x_enc, y_enc = copy.deepcopy(encoding["x"]), copy.deepcopy(encoding["y"])
    color = copy.deepcopy(encoding.get("color"))
    y_format = {k: v for k, v in y_enc.get("axis", {}).items() if k in ("format", "formatType")}
    tip_x = next((copy.deepcopy(t) for t in encoding.get("tooltip", []) if t.get("field") == x_enc["field"]),
                 {"field": x_enc["field"], "type": x_enc["type"]})
    tooltip = [tip_x, {"field": y_enc["field"], "type": "quantitative", "title": "Forecast", **y_format},
               {"field": LOW, "type": "quantitative", "title": f"{LEVEL}% interval, low", **y_format},
               {"field": HIGH, "type": "quantitative", "title": f"{LEVEL}% interval, high", **y_format}]
    if series and color:
        tooltip.insert(1, {"field": color["field"], "type": "nominal", "title": color.get("title")})
    band_color = {k: v for k, v in color.items() if k != "legend"} if color else None
    band = {"data": {"name": FORECAST_DATA}, "mark": {"type": "area", "opacity": 0.16, "tooltip": False},
            "encoding": {"x": x_enc, "y": {**{k: v for k, v in y_enc.items() if k != "stack"}, "field": LOW,
                                           "stack": None},
                         "y2": {"field": HIGH}}}
    line = {"data": {"name": FORECAST_DATA}, "mark": {"type": "line", "tooltip": False},
            "encoding": {"x": x_enc, "y": {**y_enc, "stack": None}}}
    points = {"data": {"name": FORECAST_DATA}, "transform": [{"filter": "!datum.__start"}],
              "mark": {"type": "point", "filled": False, "size": 30, "tooltip": True},
              "encoding": {"x": x_enc, "y": {**y_enc, "stack": None}, "tooltip": tooltip}}
    for layer in (band, line, points):
        if band_color:
            layer["encoding"]["color"] = band_color if layer is band else color
        elif "color" in encoding:
            layer["encoding"]["color"] = copy.deepcopy(encoding["color"])
    return rows, [band, line, points]


def _trend_layer(encoding: dict, groups: dict, lines: dict, x: str, y: str, series: str | None) -> dict:
    rows = []
    for name, (xs, _) in groups.items():
        line = lines[name]
        if line is None:
            continue
        for period in (xs[0], xs[-1]):
            row = {x: _json(period), y: round(line.at(period), 6), PART: "trend"}
            if series:
                row[series] = name
            rows.append(row)
    y_enc = {**copy.deepcopy(encoding["y"]), "stack": None}
    layer = {"data": {"values": rows}, "mark": {"type": "line", "strokeWidth": 1.5, "tooltip": False},
             "encoding": {"x": copy.deepcopy(encoding["x"]), "y": y_enc}}
    if series and "color" in encoding:
        layer["encoding"]["color"] = copy.deepcopy(encoding["color"])
    else:
        layer["encoding"]["color"] = {"value": TREND_COLOR}
    return layer


def _record(result: QueryResult, x: str, y: str, series: str | None, groups: dict,
            fc: dict[Any, Forecast]) -> ForecastRecord:
    points = tuple(ForecastPoint(_json(p), _json(name), m, lo, hi) for name, f in fc.items()
                   for p, m, lo, hi in zip(f.periods, f.mean, f.lower, f.upper))
    actuals = tuple((_json(p), _json(name), v) for name, (xs, ys) in groups.items() for p, v in zip(xs, ys))
    first = next(iter(fc.values()))
    return ForecastRecord(result.name, x, y, series, first.method, first.unit, points, actuals)
