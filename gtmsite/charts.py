"""Chart components: Vega-Lite specs built with Altair, embedded as a static SVG plus the spec.

Each chart call returns a <figure> holding a placeholder for its static SVG (rendered later, in
parallel and cached by the spec's hash: see svg.py) and the interactive spec as JSON, which the
site's script hands to vega-embed when JavaScript runs.

Altair builds the spec *skeleton* once per distinct call (kind, arguments, column types); the data
values are attached afterwards. A templated report with 5,000 pages builds each chart's skeleton
once, not 5,000 times.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import hashlib
import json
import re
from typing import Any

from markupsafe import escape

from . import chartlimits
from .chartstyle import CONFIG, DEFAULT_HEIGHT, NARROW_WIDTH, STATIC_WIDTH
from .columns import format_of, label_of, metric_key
from .components import EMBED_ROW_LIMIT, ComponentContext, check_column, component, require_numbers, sql_toggle
from .errors import SiteError
from .forecast_charts import parse_options, project
from .formats import VEGA_FORMATS, check_format, column_format, column_label, format_value, is_numeric_type
from .queries import QueryResult

_FIELD_SPECIALS = str.maketrans({c: "\\" + c for c in "\\.[]'\""})


def field_ref(column: str) -> str:
    """A column name as a Vega-Lite field: `.` and `[` would otherwise mean a nested field, and a quote
    the start of a quoted part of one (Vega's access paths), so each is escaped with a backslash."""
    return column.translate(_FIELD_SPECIALS)


def _type_of(result: QueryResult, column: str) -> str:
    kind = result.types[result.columns.index(column)].upper()
    if kind.startswith(("DATE", "TIMESTAMP")):
        return "temporal"
    return "quantitative" if is_numeric_type(kind) else "nominal"


def _axis_format(fmt: str | None, kind: str) -> dict[str, Any]:
    """Vega-Lite `format`/`formatType` for a gtmsite fmt name (or a d3 format string)."""
    if not fmt:
        return {"format": "%b %Y"} if kind == "temporal" else {}
    if fmt.lower() in VEGA_FORMATS:
        family, pattern = VEGA_FORMATS[fmt.lower()]
        return {"format": pattern} if family == "time" else {"format": pattern, "formatType": "number"}
    check_format(fmt)  # an unknown name is a located error here, not a JavaScript stack trace at render time
    return {"format": fmt}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def chart_rows(result: QueryResult, ctx: ComponentContext, kind: str) -> tuple:
    """The rows a chart draws: at most EMBED_ROW_LIMIT of them (the build says so when it cuts)."""
    rows = result.rows
    if len(rows) > EMBED_ROW_LIMIT:
        ctx.state.notes.append(f"{kind}: query '{result.name}' returned {len(rows):,} rows; the chart embeds the "
                               f"first {EMBED_ROW_LIMIT:,} (aggregate in SQL to chart them all)")
        rows = rows[:EMBED_ROW_LIMIT]
    return rows


def chart_records(result: QueryResult, columns: list[str], ctx: ComponentContext, kind: str) -> list[dict]:
    rows = chart_rows(result, ctx, kind)
    indexes = [result.columns.index(c) for c in columns]
    return [{c: _json_value(row[i]) for c, i in zip(columns, indexes)} for row in rows]


def _tick_format(formats: dict[str, Any]) -> dict[str, Any]:
    """Axis ticks drop insignificant zeros (`12`, `12.5` rather than `12.0`, `12.5`); tooltips keep them."""
    pattern = formats.get("format")
    if formats.get("formatType") == "number" and isinstance(pattern, str) and \
            len(pattern) > 2 and pattern[-1] in "f%" and pattern[-2].isdigit() and pattern[-3] == ".":
        return {**formats, "format": pattern[:-1] + "~" + pattern[-1]}
    return formats


def _field(result: QueryResult, column: str, fmt: str | None, axis: bool = True, **extra: Any) -> dict:
    kind = _type_of(result, column)
    spec: dict[str, Any] = {"field": field_ref(column), "type": kind, "title": label_of(result, column), **extra}
    formats = _tick_format(_axis_format(format_of(result, column, fmt), kind))
    if kind == "temporal":
        spec["scale"] = {"type": "utc"}
    if formats and axis:
        spec["axis"] = {**spec.get("axis", {}), **formats}
    return spec


def _tooltip(result: QueryResult, columns: list[tuple[str, str | None]]) -> list[dict]:
    out = []
    for column, fmt in columns:
        kind = _type_of(result, column)
        item = {"field": field_ref(column), "type": kind, "title": label_of(result, column)}
        formats = _axis_format(format_of(result, column, fmt), kind)
        if kind == "temporal":
            item["timeUnit"] = "utcyearmonthdate"
            formats = formats if format_of(result, column, fmt) else {"format": "%Y-%m-%d"}
        item.update(formats)
        out.append(item)
    return out


def _colors(colors: Any, domain: list | None = None) -> dict[str, Any]:
    if colors is None:
        return {}
    if isinstance(colors, str):
        return {"scale": {"range": [colors]}}
    if isinstance(colors, dict):
        return {"scale": {"domain": list(colors), "range": list(colors.values())}}
    if isinstance(colors, (list, tuple)):
        return {"scale": {"range": list(colors)}}
    raise SiteError(f"colors must be a colour, a list of colours or a mapping of value to colour, got {colors!r}")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


_UNESCAPE = re.compile(r"\\(.)")


def _title_escaped_fields(spec: Any) -> None:
    """Give a title to each field whose name holds an escaped character (a quote, a backslash): Vega-Lite
    pastes a field's default title, escapes and all, into an expression (the marks' ARIA description),
    which then fails to parse."""
    if isinstance(spec, list):
        for item in spec:
            _title_escaped_fields(item)
    elif isinstance(spec, dict):
        for channel in (spec.get("encoding") or {}).values():
            for field in channel if isinstance(channel, list) else [channel]:
                if isinstance(field, dict) and "\\" in str(field.get("field", "")) and "title" not in field:
                    field["title"] = column_label(_UNESCAPE.sub(r"\1", field["field"]))
        for part in ("layer", "hconcat", "vconcat", "concat", "spec"):
            _title_escaped_fields(spec.get(part))


def _skeleton(key: tuple, build: Any) -> dict:
    return copy.deepcopy(_cached_skeleton(key, build))


_SKELETONS: dict[tuple, dict] = {}


def _cached_skeleton(key: tuple, build: Any) -> dict:
    spec = _SKELETONS.get(key)
    if spec is None:
        chart = build()
        spec = chart.to_dict(validate=False) if hasattr(chart, "to_dict") else chart
        spec.pop("config", None)
        spec.pop("data", None)
        spec.pop("datasets", None)
        _title_escaped_fields(spec)
        if len(_SKELETONS) > 2048:
            _SKELETONS.clear()
        _SKELETONS[key] = spec
    return spec


def figure(ctx: ComponentContext, result: QueryResult, kind: str, spec: dict, records: list[dict],
           title: str | None, height: int | None, filter: str | None = None) -> str:
    """The HTML of one chart: caption, static SVG placeholder, interactive spec, SQL toggle."""
    height = chartlimits.height(height) or DEFAULT_HEIGHT
    summary = chart_summary(kind, title, len(records))
    spec = {**spec, "data": {"values": records}, "config": CONFIG, "background": "transparent",
            "description": summary}
    if "height" not in spec:
        spec["height"] = height
    static = {**spec, "width": STATIC_WIDTH, "autosize": {"type": "fit", "contains": "padding"}}
    interactive = {**spec, "width": "container", "autosize": {"type": "fit", "contains": "padding"}}
    if not ("layer" in spec or "mark" in spec):  # concat, facet, repeat: widths belong to the parts
        static.pop("width")
        interactive.pop("width")
    key = chart_key(static)
    ctx.state.charts[key] = static
    narrow_key = None
    if "width" in static:
        narrow = narrow_spec(static, kind, len(records))
        narrow_key = derived_key(key, narrow, static)
        ctx.state.charts[narrow_key] = narrow
    payload = json.dumps(interactive, separators=(",", ":"), default=str).replace("<", "\\u003c")
    caption = f'<figcaption>{escape(title)}</figcaption>' if title else ""
    filter_attr = f' data-filter="{escape(filter)}"' if filter else ""
    return (f'<figure class="gtm-chart gtm-{kind}" data-chart="{key[:12]}"{filter_attr}>{caption}'
            f'<div class="gtm-chart-view" style="min-height:{height}px">'
            f'<div class="gtm-chart-static" role="img" aria-label="{escape(summary)}"><!--gtm-svg:{key}--></div>'
            # The phone drawing costs the page nothing where it is not shown: read as text by the script
            # (which puts it in place when the chart is narrow), and as HTML by a browser without JavaScript.
            + (f'<noscript class="gtm-narrow-src"><div class="gtm-chart-static gtm-narrow" role="img" '
               f'aria-label="{escape(summary)}"><!--gtm-svg:{narrow_key}--></div></noscript>' if narrow_key else '')
            + '</div>'
            f'<script type="application/json" class="gtm-chart-spec">{payload}</script>'
            f'<p class="gtm-chart-data"><a href="{escape(ctx.data_url(result.name))}" download>'
            f'Chart data (CSV, {len(result.rows):,} rows)</a></p>{sql_toggle(ctx, result)}</figure>')


def narrow_spec(static: dict, kind: str, points: int) -> dict:
    """The phone drawing: the same chart at NARROW_WIDTH, without the value labels that would run into each
    other there (bars, points: the tooltip and the data table still have the numbers)."""
    narrow = {**static, "width": NARROW_WIDTH,
              "padding": {**CONFIG["padding"], "left": 14}}  # browsers' fonts run a little wider than measured
    crowded = kind == "scatter_chart" or points > 6
    if crowded and kind in ("bar_chart", "line_chart", "area_chart", "scatter_chart") and "layer" in narrow:
        narrow["layer"] = [layer for layer in narrow["layer"]
                           if not (isinstance(layer.get("mark"), dict) and layer["mark"].get("type") == "text")]
    return narrow


_KINDS = {"line_chart": "Line chart", "area_chart": "Area chart", "bar_chart": "Bar chart",
          "scatter_chart": "Scatter chart", "histogram": "Histogram", "funnel_chart": "Funnel chart",
          "heatmap": "Heatmap", "chart": "Chart"}


def chart_summary(kind: str, title: str | None, rows: int) -> str:
    """The chart's text alternative: what it is and how much data it draws (the data table is linked)."""
    what = _KINDS.get(kind, "Chart") + (f": {title}" if title else "")
    return f"{what} ({rows:,} data {'point' if rows == 1 else 'points'})."


def chart_key(spec: dict) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def derived_key(key: str, spec: dict, base: dict) -> str:
    """The key of `spec`, a variant of the chart `base` (whose key is `key`) that shares its data: from the
    entries that differ, without serialising the data again. Specs are never changed once made."""
    changed = {name: value for name, value in spec.items() if base.get(name) is not value}
    removed = sorted(name for name in base if name not in spec)
    text = json.dumps([key, changed, removed], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _ys(y: Any) -> list[str]:
    if isinstance(y, str):
        return [y]
    if isinstance(y, (list, tuple)) and y and all(isinstance(c, str) for c in y):
        chartlimits.y_columns(list(y))
        return list(y)
    raise SiteError(f"y must be a column name or a list of column names, got {y!r}")


def _columns(result: QueryResult, *names: str | None) -> list[str]:
    out = []
    for name in names:
        if name is not None:
            check_column(result, name)
            if name not in out:
                out.append(name)
    return out


def _xy_chart(ctx: ComponentContext, q: Any, kind: str, mark: str, x: str, y: Any, series: str | None,
              title: str | None, fmt: str | None, x_fmt: str | None, height: int | None, sort: Any,
              labels: bool, filter: str | None, colors: Any, stack: bool | None = None,
              horizontal: bool = False, forecast: Any = None, trend: Any = None) -> str:
    result = ctx.result(q, kind)
    ys = _ys(y)
    horizon, draw_trend = parse_options(forecast, trend, ys, bool(series) and stack is not False and mark == "area")
    columns = _columns(result, x, *ys, series)
    if series:
        chartlimits.series(result.column(series), series)
    if filter:
        columns = _columns(result, *columns, *_filter_columns(ctx, filter, result))
    records = chart_records(result, columns, ctx, kind)
    types = tuple(_type_of(result, c) for c in columns)
    key = (kind, mark, x, tuple(ys), series, fmt, x_fmt, _freeze(sort), labels, _freeze(colors), stack,
           horizontal, types, metric_key(result, columns))
    spec = _skeleton(key, lambda: _build_xy(result, mark, x, ys, series, fmt, x_fmt, sort, labels, colors,
                                            stack, horizontal))
    if mark != "bar" and types[0] == "temporal":
        _month_ticks(spec, result.column(x))
    if types[0] == "temporal":
        _month_tooltips(spec, x, result.column(x))
    if types[0] == "nominal" and not horizontal:
        _fit_category_labels(spec, result.column(x))
    if horizontal and height is None:
        groups = len(ys) if len(ys) > 1 else len(set(result.column(series))) if series else 1
        per_category = 30 if stack is not False else max(30, 16 * groups)
        legend = 44 if series or len(ys) > 1 else 0
        height = chartlimits.auto_height(max(DEFAULT_HEIGHT // 2,
                                             len(set(result.column(x))) * per_category + 40 + legend))
    if horizon or draw_trend:
        require_numbers(result, ys[0])
        projection = project(spec, records, result, x, ys[0], series, horizon, draw_trend, ctx.state.forecast_cache)
        if projection.record is not None:
            ctx.state.forecasts.append(projection.record)
        html = figure(ctx, result, kind, projection.spec, projection.records, title, height, filter)
        return html.replace("</figure>", f'<p class="gtm-chart-note">{escape(projection.note)}</p></figure>', 1)
    return figure(ctx, result, kind, spec, records, title, height, filter)


def _fit_category_labels(spec: dict, values: list[Any]) -> None:
    """Category labels lie flat when they fit side by side at the chart's width, else they tilt."""
    labels = {str(v) for v in values if v is not None}
    if not labels:
        return
    fits = f"width / {len(labels)} >= {6.4 * max(map(len, labels)) + 10:.0f}"
    # Tilted labels need room between their baselines (step * sin(angle) >= the font's height): -30 degrees
    # where the step is 30px or more, steeper on narrow charts, upright below 20px.
    angle = f"({fits} ? 0 : width / {len(labels)} >= 30 ? -30 : width / {len(labels)} >= 20 ? -45 : -90)"
    for layer in spec.get("layer", [spec]):
        axis = layer.get("encoding", {}).get("x", {}).get("axis")
        if axis is not None and axis.get("labelAngle") == -30:
            axis["labelAngle"] = {"expr": angle}
            axis["labelAlign"] = {"expr": f"{fits} ? 'center' : 'right'"}
            axis["labelBaseline"] = {"expr": f"{angle} == -90 ? 'middle' : 'top'"}


def _month_ticks(spec: dict, values: list[Any]) -> None:
    """One tick per month (or every few months on long ranges), instead of repeated month labels."""
    dates = [v for v in values if isinstance(v, dt.date)]
    if len(dates) < 2:
        return
    months = (max(dates).year - min(dates).year) * 12 + max(dates).month - min(dates).month
    layers = spec.get("layer", [spec])
    for layer in layers:
        axis = layer.get("encoding", {}).get("x", {}).get("axis")
        if axis is not None and axis.get("format") == "%b %Y":
            axis["tickCount"] = {"interval": "month", "step": max(1, -(-months // 10))}


def _month_tooltips(spec: dict, x: str, values: list[Any]) -> None:
    """Monthly data: the tooltip says "Oct 2025", as the axis does, not 2025-10-01."""
    dates = [v for v in values if isinstance(v, dt.date)]
    if not dates or any(d.day != 1 for d in dates):
        return
    for layer in spec.get("layer", [spec]):
        for item in layer.get("encoding", {}).get("tooltip", []):
            if item.get("field") == field_ref(x) and item.get("format") == "%Y-%m-%d":
                item["format"] = "%b %Y"


def _filter_columns(ctx: ComponentContext, name: str, result: QueryResult) -> list[str]:
    column = ctx.state.inputs.get(name)
    if column is None:
        raise SiteError(f"filter='{name}' names no dropdown on this page; add "
                        f"{{{{ dropdown(\"{name}\", query, \"column\") }}}} above the chart")
    return [column]


def _build_xy(result: QueryResult, mark: str, x: str, ys: list[str], series: str | None, fmt: str | None,
              x_fmt: str | None, sort: Any, labels: bool, colors: Any, stack: bool | None,
              horizontal: bool) -> dict:
    y_fmt = format_of(result, ys[0], fmt)
    x_field = _field(result, x, x_fmt)
    tooltip_cols = [(x, x_fmt)]
    transform = [{"fold": [field_ref(y) for y in ys], "as": ["series", "value"]}] if len(ys) > 1 else []
    if len(ys) > 1:
        y_field = {"field": "value", "type": "quantitative", "title": None,
                   "axis": _tick_format(_axis_format(y_fmt, "quantitative")) or None}
        color = {"field": "series", "type": "nominal", "title": None, **_colors(colors)}
        labels_expr = "".join(f"datum.series === {json.dumps(c)} ? {json.dumps(label_of(result, c))} : " for c in ys)
        transform.append({"calculate": labels_expr + "datum.series", "as": "series"})
        tooltip = _tooltip(result, tooltip_cols) + [{"field": "series", "type": "nominal", "title": "Series"},
                                                     {"field": "value", "type": "quantitative", "title": "Value",
                                                      **_axis_format(y_fmt, "quantitative")}]
    else:
        y_field = _field(result, ys[0], fmt)
        color = {"field": field_ref(series), "type": "nominal", "title": column_label(series), **_colors(colors)} \
            if series \
            else ({"value": _colors(colors)["scale"]["range"][0]} if colors else None)
        tooltip = _tooltip(result, tooltip_cols + ([(series, None)] if series else []) + [(ys[0], fmt)])
    if y_field.get("axis") is None:
        y_field.pop("axis", None)
    if mark == "bar" and x_field["type"] == "temporal":
        x_field.update(type="ordinal", timeUnit="utcyearmonthdate", sort="ascending")
        x_field.pop("scale", None)
        x_field.setdefault("axis", {}).setdefault("format", "%b %Y")
    if x_field["type"] == "nominal":
        if sort is False or sort is None:
            x_field["sort"] = None
        elif sort is True and mark == "bar" and len(ys) == 1:
            x_field["sort"] = "-x" if horizontal else "-y"
        elif isinstance(sort, (str, list)):
            x_field["sort"] = sort
        x_field.setdefault("axis", {})["labelAngle"] = 0 if horizontal else -30
    if stack is not None and mark in ("bar", "area"):
        y_field["stack"] = "zero" if stack else None
    encoding: dict[str, Any] = {"x": x_field, "y": y_field, "tooltip": tooltip}
    if color:
        encoding["color"] = color
    if mark == "bar" and stack is False and (series or len(ys) > 1):
        encoding["yOffset" if horizontal else "xOffset"] = {"field": field_ref(series) if series else "series",
                                                            "type": "nominal"}
    if horizontal:
        encoding["x"], encoding["y"] = encoding["y"], encoding["x"]
    mark_spec: dict[str, Any] = {"type": mark, "tooltip": True}
    if mark == "line":
        mark_spec["point"] = {"size": 28}
    if mark == "area":
        mark_spec["opacity"] = 0.85 if stack is not False else 0.45
        mark_spec["line"] = True
    spec: dict[str, Any] = {"mark": mark_spec, "encoding": encoding}
    if labels:
        value_channel = "x" if horizontal else "y"
        text = {"field": encoding[value_channel]["field"], "type": "quantitative",
                **_axis_format(y_fmt, "quantitative")}
        label_mark = {"type": "text", "dy": -6} if not horizontal else {"type": "text", "dx": 4, "align": "left"}
        label_mark["color"] = "#5b6475"
        label_encoding = {k: v for k, v in encoding.items() if k not in ("tooltip", "color")}
        label_encoding["text"] = text
        spec = {"layer": [spec, {"mark": label_mark, "encoding": label_encoding}]}
    return {**spec, "transform": transform} if transform else spec


@component("line_chart")
def line_chart(ctx: ComponentContext, q: Any, x: str, y: Any, series: str | None = None, title: str | None = None,
               fmt: str | None = None, x_fmt: str | None = None, height: int | None = None, sort: Any = True,
               labels: bool = False, filter: str | None = None, colors: Any = None, forecast: int | None = None,
               trend: str | None = None) -> str:
    return _xy_chart(ctx, q, "line_chart", "line", x, y, series, title, fmt, x_fmt, height, sort, labels, filter,
                     colors, forecast=forecast, trend=trend)


@component("area_chart")
def area_chart(ctx: ComponentContext, q: Any, x: str, y: Any, series: str | None = None, stack: bool = True,
               title: str | None = None, fmt: str | None = None, x_fmt: str | None = None, height: int | None = None,
               sort: Any = True, labels: bool = False, filter: str | None = None, colors: Any = None,
               forecast: int | None = None, trend: str | None = None) -> str:
    return _xy_chart(ctx, q, "area_chart", "area", x, y, series, title, fmt, x_fmt, height, sort, labels, filter,
                     colors, stack=stack, forecast=forecast, trend=trend)


@component("bar_chart")
def bar_chart(ctx: ComponentContext, q: Any, x: str, y: Any, series: str | None = None, stack: bool = True,
              horizontal: bool = False, title: str | None = None, fmt: str | None = None, x_fmt: str | None = None,
              height: int | None = None, sort: Any = True, labels: bool = False, filter: str | None = None,
              colors: Any = None) -> str:
    return _xy_chart(ctx, q, "bar_chart", "bar", x, y, series, title, fmt, x_fmt, height, sort, labels, filter,
                     colors, stack=stack, horizontal=horizontal)


@component("scatter_chart")
def scatter_chart(ctx: ComponentContext, q: Any, x: str, y: str, size: str | None = None, series: str | None = None,
                  title: str | None = None, fmt: str | None = None, x_fmt: str | None = None,
                  height: int | None = None, sort: Any = True, labels: Any = False, filter: str | None = None,
                  colors: Any = None, tooltip: list[str] | None = None) -> str:
    result = ctx.result(q, "scatter_chart")
    label_column = labels if isinstance(labels, str) else None
    extra = list(tooltip or [])
    columns = _columns(result, x, y, size, series, label_column, *extra)
    if series:
        chartlimits.series(result.column(series), series)
    if filter:
        columns = _columns(result, *columns, *_filter_columns(ctx, filter, result))
    records = chart_records(result, columns, ctx, "scatter_chart")
    types = tuple(_type_of(result, c) for c in columns)
    key = ("scatter", x, y, size, series, fmt, x_fmt, label_column, tuple(extra), _freeze(colors), types,
           metric_key(result, [x, y]))

    def build() -> dict:
        encoding: dict[str, Any] = {"x": {**_field(result, x, x_fmt), "scale": {"zero": False}},
                                    "y": {**_field(result, y, fmt), "scale": {"zero": False}},
                                    "tooltip": _tooltip(result, [(c, None) for c in (label_column, *extra) if c]
                                                        + [(series, None)] * bool(series)
                                                        + [(x, x_fmt), (y, fmt)] + [(size, None)] * bool(size))}
        if series:
            encoding["color"] = {"field": field_ref(series), "type": "nominal", "title": column_label(series),
                                 **_colors(colors)}
        elif colors:
            encoding["color"] = {"value": _colors(colors)["scale"]["range"][0]}
        if size:
            encoding["size"] = {"field": field_ref(size), "type": "quantitative", "title": column_label(size)}
        point = {"mark": {"type": "circle", "opacity": 0.8, "tooltip": True}, "encoding": encoding}
        if not label_column:
            return point
        # Neighbours along x take turns above and below their points, so close points keep legible labels.
        texts = [{"transform": [{"filter": f"datum.{_BELOW} == {below}"}],
                  "mark": {"type": "text", "dy": 14 if below else -10, "color": "#5b6475", "fontSize": 11},
                  "encoding": {"x": encoding["x"], "y": encoding["y"], "text": {"field": field_ref(label_column)}}}
                 for below in (0, 1)]
        return {"layer": [point, *texts]}

    if label_column:
        _alternate_labels(records, x)
    return figure(ctx, result, "scatter_chart", _skeleton(key, build), records, title, height, filter)


_BELOW = "__gtm_label_below"


def _alternate_labels(records: list[dict], x: str) -> None:
    ranked = sorted(range(len(records)), key=lambda i: (records[i].get(x) is None, str(type(records[i].get(x))),
                                                       records[i].get(x) or 0))
    for rank, index in enumerate(ranked):
        records[index][_BELOW] = rank % 2


@component("histogram")
def histogram(ctx: ComponentContext, q: Any, x: str, bins: int = 20, title: str | None = None,
              fmt: str | None = None, x_fmt: str | None = None, height: int | None = None, sort: Any = True,
              labels: bool = False, filter: str | None = None, colors: Any = None) -> str:
    result = ctx.result(q, "histogram")
    columns = _columns(result, x)
    if filter:
        columns = _columns(result, *columns, *_filter_columns(ctx, filter, result))
    if _type_of(result, x) != "quantitative":
        raise SiteError(f"histogram needs a numeric column; '{x}' is {result.types[result.columns.index(x)]}")
    bins = chartlimits.bins(bins)
    records = chart_records(result, columns, ctx, "histogram")
    key = ("histogram", x, bins, x_fmt, fmt, _freeze(colors))

    def build() -> Any:
        import altair as alt  # imported on first use: it costs a quarter second at start-up

        x_axis = _axis_format(column_format(x, x_fmt), "quantitative")
        color = _colors(colors)
        return alt.Chart().mark_bar(tooltip=True, **({"color": color["scale"]["range"][0]} if color else {})).encode(
            x=alt.X(field=field_ref(x), type="quantitative", bin=alt.Bin(maxbins=bins), title=column_label(x),
                    axis=alt.Axis(**x_axis) if x_axis else alt.Undefined),
            y=alt.Y("count():Q", title="Count"),
            tooltip=[alt.Tooltip(field=field_ref(x), type="quantitative", bin=alt.Bin(maxbins=bins),
                                 title=column_label(x), **x_axis),
                     alt.Tooltip("count():Q", title="Count")])

    return figure(ctx, result, "histogram", _skeleton(key, build), records, title, height, filter)


@component("funnel_chart")
def funnel_chart(ctx: ComponentContext, q: Any, stage: str, value: str, title: str | None = None,
                 fmt: str | None = None, x_fmt: str | None = None, height: int | None = None, sort: Any = False,
                 labels: bool = True, filter: str | None = None, colors: Any = None) -> str:
    """Centred horizontal bars in the query's row order, each labelled with the step conversion rate."""
    result = ctx.result(q, "funnel_chart")
    _columns(result, stage, value)
    require_numbers(result, value)
    fmt = format_of(result, value, fmt)
    rows = chart_rows(result, ctx, "funnel_chart")
    stages = [row[result.columns.index(stage)] for row in rows]
    values = [float(row[result.columns.index(value)] or 0.0) for row in rows]
    top = max(values, default=0.0) or 1.0
    records = []
    previous = None
    for row_stage, amount in zip(stages, values):
        step = (amount / previous) if previous else None
        label = format_value(amount, fmt) + (f" · {format_value(step, 'pct1')}" if step is not None else "")
        records.append({"stage": _json_value(row_stage), "value": amount, "top": top,
                        "start": (top - amount) / 2, "end": (top + amount) / 2, "center": top / 2,
                        "label": label, "label_px": round(7.2 * len(label) + 16),
                        "of_first": format_value(amount / values[0], "pct1") if values and values[0] else "",
                        "step": format_value(step, "pct1") if step is not None else "\u2013"})
        previous = amount
    key = ("funnel", stage, value, fmt, _freeze(colors), labels)
    value_title = column_label(value)

    def build() -> dict:
        color = _colors(colors)
        y = {"field": "stage", "type": "nominal", "sort": None, "title": None,
             "axis": {"labelFontSize": 12, "labelPadding": 8, "ticks": False, "domain": False}}
        bars = {"mark": {"type": "bar", "tooltip": True, "cornerRadius": 3,
                         **({"color": color["scale"]["range"][0]} if color else {})},
                "encoding": {"y": y, "x": {"field": "start", "type": "quantitative", "axis": None},
                             "x2": {"field": "end"},
                             "tooltip": [{"field": "stage", "title": column_label(stage)},
                                         {"field": "label", "title": value_title},
                                         {"field": "step", "title": "Step conversion"},
                                         {"field": "of_first", "title": "Of first step"}]}}
        layer = [bars]
        if labels:
            # White on the bar where the label fits inside it at the chart's width, dark beside it where not.
            fits = "datum.value / datum.top * width >= datum.label_px"
            text = {"fontWeight": 600, "fontSize": 12}
            layer.append({"transform": [{"filter": fits}],
                          "mark": {"type": "text", "color": "#ffffff", **text},
                          "encoding": {"y": y, "x": {"field": "center", "type": "quantitative", "axis": None},
                                       "text": {"field": "label"}}})
            layer.append({"transform": [{"filter": f"!({fits})"}],
                          "mark": {"type": "text", "color": "#1c2230", "align": "left", "dx": 6, **text},
                          "encoding": {"y": y, "x": {"field": "end", "type": "quantitative", "axis": None},
                                       "text": {"field": "label"}}})
        return {"layer": layer}

    height = height or chartlimits.auto_height(max(DEFAULT_HEIGHT // 2, 44 * len(records)))
    return figure(ctx, result, "funnel_chart", _skeleton(key, build), records, title, height, filter)


@component("heatmap")
def heatmap(ctx: ComponentContext, q: Any, x: str, y: str, value: str, title: str | None = None,
            fmt: str | None = None, x_fmt: str | None = None, height: int | None = None, sort: Any = False,
            labels: bool = True, filter: str | None = None, colors: Any = None, y_fmt: str | None = None) -> str:
    """E.g. cohort retention: x = months since start, y = cohort, colour = the value."""
    result = ctx.result(q, "heatmap")
    _columns(result, x, y, value)
    fmt = format_of(result, value, fmt)
    records = []
    for row in chart_rows(result, ctx, "heatmap"):
        cells = dict(zip(result.columns, row))
        records.append({"x": _axis_label(cells[x], column_format(x, x_fmt)), "y": _axis_label(cells[y], y_fmt),
                        "value": _json_value(cells[value]), "label": format_value(cells[value], fmt)})
    scheme = colors if isinstance(colors, str) else "blues"
    n_rows = len({r["y"] for r in records})
    key = ("heatmap", x, y, value, fmt, scheme, labels)

    def build() -> dict:
        enc = {"x": {"field": "x", "type": "ordinal", "sort": None, "title": column_label(x),
                     "axis": {"labelAngle": 0, "labelOverlap": "greedy", "labelSeparation": 4}},
               "y": {"field": "y", "type": "ordinal", "sort": None, "title": column_label(y)}}
        rect = {"mark": {"type": "rect", "tooltip": True},
                "encoding": {**enc, "color": {"field": "value", "type": "quantitative", "title": column_label(value),
                                              "scale": {"scheme": scheme},
                                              "legend": {"format": _axis_format(fmt, "quantitative").get("format")}},
                             "tooltip": [{"field": "y", "title": column_label(y)},
                                         {"field": "x", "title": column_label(x)},
                                         {"field": "label", "title": column_label(value)}]}}
        layer = [rect]
        if labels:  # the label carries the cell's tooltip too: hovering the middle of a cell shows it
            layer.append({"mark": {"type": "text", "fontSize": 10, "tooltip": True},
                          "encoding": {**enc, "text": {"field": "label"}, "tooltip": rect["encoding"]["tooltip"],
                                       "color": {"condition": {"test": "datum.value > 0.5 * 1", "value": "white"},
                                                 "value": "#1c2230"}}})
        return {"layer": layer}

    spec = _skeleton(key, build)
    if labels:
        values = [r["value"] for r in records if isinstance(r["value"], (int, float))]
        middle = (min(values) + max(values)) / 2 if values else 0
        spec["layer"][1]["encoding"]["color"]["condition"]["test"] = f"datum.value > {middle!r}"
        # Labels as large as a cell allows (at most 11px), hidden where the cells get too narrow to read them.
        n_cols = max(1, len({r["x"] for r in records}))
        chars = max((len(r["label"]) for r in records), default=1)
        size = f"min(11, width / {n_cols} / {0.62 * chars + 0.6:.2f})"
        spec["layer"][1]["mark"].update(fontSize={"expr": size}, opacity={"expr": f"{size} >= 7.5 ? 1 : 0"})
    height = height or chartlimits.auto_height(max(DEFAULT_HEIGHT, 26 * n_rows + 100))
    return figure(ctx, result, "heatmap", spec, records, title, height, filter)


def _axis_label(value: Any, fmt: str | None) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        if fmt:
            return format_value(value, fmt)
        is_month = value.day == 1 and (not isinstance(value, dt.datetime) or value.time() == dt.time())
        return format_value(value, "month" if is_month else "date")
    return _json_value(value) if not fmt else format_value(value, fmt)


@component("chart")
def chart(ctx: ComponentContext, q: Any, spec: Any, title: str | None = None, height: int | None = None,
          filter: str | None = None) -> str:
    """The escape hatch: any Vega-Lite spec (a dict, or an Altair chart) drawn over the query's rows."""
    result = ctx.result(q, "chart")
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict(validate=False)
    if not isinstance(spec, dict):
        raise SiteError(f"spec must be a Vega-Lite specification (a dict), got {type(spec).__name__}")
    spec = copy.deepcopy(spec)
    chartlimits.custom_spec(spec)
    spec.pop("data", None)
    spec.pop("$schema", None)
    records = chart_records(result, list(result.columns), ctx, "chart")
    return figure(ctx, result, "chart", spec, records, title, height, filter)


@component("dropdown")
def dropdown(ctx: ComponentContext, name: str, q: Any, column: str, label: str | None = None,
             all_label: str = "All") -> str:
    """A select input; charts and tables given `filter=name` show only the chosen value in the browser."""
    result = ctx.result(q, "dropdown")
    check_column(result, column)
    ctx.state.inputs[name] = column
    options = []
    seen = set()
    for value in result.column(column):
        if value not in seen:
            seen.add(value)
            options.append(value)
    option_html = "".join(f'<option value="{escape(str(_json_value(v)))}">{escape(format_value(v))}</option>'
                          for v in options)
    return (f'<label class="gtm-dropdown"><span>{escape(label or column_label(column))}</span>'
            f'<select data-input="{escape(name)}" data-column="{escape(column)}">'
            f'<option value="">{escape(all_label)}</option>{option_html}</select></label>')
