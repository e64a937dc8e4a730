"""Components: the Jinja functions a report calls (`table()`, `value()`, `big_value()`, ...).

A component is a function `fn(ctx, *args, **kwargs) -> html` registered with `@component`. It
raises SiteError for a user mistake; the caller turns that into a located problem and keeps
rendering, so one page reports all its mistakes at once. Everything from query results is
escaped here: components are the only place where data becomes HTML.
"""

from __future__ import annotations

import decimal
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .columns import description_of, down_is_good_of, format_of, label_of, metric_of
from .errors import SiteError
from .formats import (
    auto_format,
    check_format,
    column_format,
    column_label,
    compact_format,
    format_value,
    is_numeric_type,
    is_rate,
    script_format,
)
from .queries import QueryFailed, QueryResult

EMBED_ROW_LIMIT = 5000

COMPONENTS: dict[str, Callable[..., str]] = {}


def component(name: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    def register(fn: Callable[..., str]) -> Callable[..., str]:
        COMPONENTS[name] = fn
        return fn
    return register


@dataclass(frozen=True)
class Kpi:
    """A single number shown on a page (big_value, value): versions compare these."""

    component: str
    query: str
    column: str
    value: Any
    fmt: str | None
    label: str = ""
    detail: str = ""  # what picks the value out of the column: "row 2", "agg last"
    down_is_good: bool | None = None  # a fall is good news (CAC, churn); None: the component does not say
    metric: str = ""  # the metric the column stands for (sources/metrics.yml), if any


@dataclass
class RenderState:
    """What components collect while one page renders (the page's own scratch, never shared)."""

    kpis: list[Kpi] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # build-output notes, e.g. capped results
    used_queries: set[str] = field(default_factory=set)
    charts: dict[str, dict] = field(default_factory=dict)  # static spec by content hash, rendered to SVG later
    chart_calls: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # hash -> (line, component)
    inputs: dict[str, str] = field(default_factory=dict)  # dropdown name -> the column it filters on
    forecasts: list[Any] = field(default_factory=list)  # ForecastRecords of the page's charts
    forecast_cache: Path | None = None  # where fitted forecasts are kept, by the series' content
    warnings: list[str] = field(default_factory=list)  # doubtful calls, said as located warnings


@dataclass(frozen=True)
class ComponentContext:
    """What a component may read: the page's results, site settings and helpers."""

    results: dict[str, QueryResult]
    show_sql: bool
    url: Callable[[str], str]
    data_url: Callable[[str], str]  # query name -> URL of its CSV download
    state: RenderState

    def result(self, q: Any, component_name: str) -> QueryResult:
        if isinstance(q, QueryResult):
            self.state.used_queries.add(q.name)
            return q
        if isinstance(q, str) and q in self.results:
            self.state.used_queries.add(q)
            return self.results[q]
        known = ", ".join(self.results) or "none"
        raise SiteError(f"expected a query result as first argument, got {q!r} (queries on this page: {known})")


def check_column(result: QueryResult, column: str) -> int:
    if result.failed:
        raise QueryFailed(result.name)
    if not isinstance(column, str):
        raise SiteError(f"expected a column name, got {column!r}")
    if column not in result.columns:
        raise SiteError(result.missing_column_message(column))
    return result.columns.index(column)


def require_numbers(result: QueryResult, column: str) -> None:
    """A column that is summed, averaged or drawn must hold numbers: say which value does not."""
    for raw in result.column(column):
        if raw is not None and not isinstance(raw, (int, float, decimal.Decimal)):
            raise SiteError(f"column '{column}' of query '{result.name}' must hold numbers, but holds {raw!r} "
                            f"({result.types[result.columns.index(column)]}); choose a numeric column or cast it "
                            "in SQL")


def as_number(raw: Any, column: str, result: QueryResult) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise SiteError(f"column '{column}' of query '{result.name}' must hold numbers, but holds {raw!r}; "
                        "choose a numeric column or cast it in SQL") from None


@functools.cache
def _signature(fn: Callable[..., str]) -> inspect.Signature:
    return inspect.signature(fn)


def bind_arguments(fn: Callable[..., str], name: str, args: tuple, kwargs: dict) -> inspect.BoundArguments:
    """Check a call's arguments against the component's signature, with a message a user can act on."""
    signature = _signature(fn)
    try:
        return signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        params = [p for p in signature.parameters if p != "ctx"]
        raise SiteError(f"{exc} (arguments: {', '.join(params)})".replace(f"{fn.__name__}()", name)) from None


def sql_toggle(ctx: ComponentContext, result: QueryResult) -> str:
    if not ctx.show_sql or not result.sql:
        return ""
    return (f'<details class="gtm-sql"><summary>SQL</summary>'
            f'<pre><code class="language-sql">{escape(result.sql)}</code></pre></details>')


def cell(value: Any, fmt: str | Callable[[Any], str] | None) -> Markup:
    """A value formatted by a `fmt` name, or by a column's own formatter (see formats.auto_format)."""
    return escape(fmt(value) if callable(fmt) else format_value(value, fmt))


@component("value")
def value(ctx: ComponentContext, q: Any, column: str, row: int = 0, fmt: str | None = None,
          down_is_good: bool = False) -> str:
    result = ctx.result(q, "value")
    index = check_column(result, column)
    if not isinstance(row, int) or isinstance(row, bool):
        raise SiteError(f"row must be a row number such as 0 (the first row), got {row!r}")
    if result.rows and not -len(result.rows) <= row < len(result.rows):
        raise SiteError(f"row {row} is out of range: query '{result.name}' has {len(result.rows)} rows")
    raw = result.rows[row][index] if result.rows else None
    fmt = format_of(result, column, fmt)
    check_format(fmt)
    down_is_good = down_is_good_of(result, column, down_is_good)
    ctx.state.kpis.append(Kpi("value", result.name, column, raw, fmt, label_of(result, column),
                              f"row {row}" if row else "", down_is_good, _metric_name(result, column)))
    return f'<span class="gtm-value"{_tooltip_attr(result, column)}>{cell(raw, fmt)}</span>'


def _metric_name(result: QueryResult, column: str) -> str:
    metric = metric_of(result, column)
    return metric.name if metric is not None else ""


def _tooltip_attr(result: QueryResult, column: str) -> str:
    description = description_of(result, column)
    return f' title="{escape(description)}"' if description else ""


def glossary_link(ctx: ComponentContext, result: QueryResult, column: str) -> str:
    """A link from a KPI to its metric's entry on the metrics page."""
    name = _metric_name(result, column)
    if not name:
        return ""
    href = escape(ctx.url("/_metrics/") + "#metric-" + name)
    return (f' <a class="gtm-metric-link" href="{href}" title="Definition of {escape(label_of(result, column))}" '
            f'aria-label="Definition of {escape(label_of(result, column))}">?</a>')


@component("delta")
def delta(ctx: ComponentContext, q: Any, column: str, fmt: str | None = None, row: int = 0,
          down_is_good: bool | None = None) -> str:
    """A signed change, green when it is good news (a rise, or a fall with `down_is_good`, e.g. CAC).
    Its format: `fmt`, else the metric's, else the column's suffix (`change_usd0`), else pct1."""
    result = ctx.result(q, "delta")
    index = check_column(result, column)
    fmt = column_format(column, fmt) or "pct1"  # a change, not the metric itself: its suffix, else pct1
    check_format(fmt)
    raw = result.rows[row][index] if len(result.rows) > row else None
    return delta_html(as_number(raw, column, result), fmt, down_is_good=down_is_good_of(result, column, down_is_good))


def delta_html(raw: Any, fmt: str | None, suffix: str = "", down_is_good: bool = False) -> str:
    if raw is None:
        return f'<span class="gtm-delta neutral">{format_value(None)}</span>'
    number = float(raw)
    direction = "up" if number > 0 else "down" if number < 0 else "neutral"
    arrow = {"up": "\u25b2", "down": "\u25bc", "neutral": "\u25b6"}[direction]
    mood = "neutral" if direction == "neutral" else ("good" if (direction == "up") != down_is_good else "bad")
    sign = "+" if number > 0 else ""
    text = format_value(raw, fmt)
    if sign and not text.startswith(("-", "+")):
        text = sign + text
    return (f'<span class="gtm-delta {direction} {mood}"><span aria-hidden="true">{arrow}</span> '
            f'{escape(text)}{escape(suffix)}</span>')


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


_AGGREGATES: dict[str, Callable[[list], Any]] = {
    "sum": lambda xs: sum(x for x in xs if x is not None) if any(x is not None for x in xs) else None,
    "avg": lambda xs: _mean([float(x) for x in xs if x is not None]),
    "min": lambda xs: min((x for x in xs if x is not None), default=None),
    "max": lambda xs: max((x for x in xs if x is not None), default=None),
    "count": lambda xs: sum(x is not None for x in xs),
    "first": lambda xs: xs[0] if xs else None,
    "last": lambda xs: xs[-1] if xs else None,
}


@component("big_value")
def big_value(ctx: ComponentContext, q: Any, value: str, agg: str | None = None, title: str | None = None,
              fmt: str | None = None, comparison: str | None = None, comparison_fmt: str | None = None,
              comparison_title: str | None = None, sparkline: str | None = None,
              down_is_good: bool | None = None) -> str:
    result = ctx.result(q, "big_value")
    check_column(result, value)
    if agg is not None and agg not in _AGGREGATES:
        raise SiteError(f"agg '{agg}' is not one of {', '.join(_AGGREGATES)}")
    if agg in ("sum", "avg") or comparison or sparkline:
        require_numbers(result, value)
    values = result.column(value)
    if agg is None and not sparkline and len(values) > 1:
        ctx.state.warnings.append(f"query '{result.name}' has {len(values):,} rows and no agg is given, so only "
                                  f"the first row's {value} is shown; add agg=\"sum\" (or avg, min, max, count, "
                                  "first, last), or make the query return one row")
    raw = _AGGREGATES[agg or "first"](values)
    fmt = format_of(result, value, fmt)
    check_format(fmt)
    check_format(comparison_fmt)
    title = title or label_of(result, value)
    down_is_good = down_is_good_of(result, value, down_is_good)
    ctx.state.kpis.append(Kpi("big_value", result.name, value, raw, fmt, title, f"agg {agg}" if agg else "",
                              down_is_good, _metric_name(result, value)))
    shown = cell(raw, fmt) if fmt or not isinstance(raw, (int, float, decimal.Decimal)) else \
        escape(compact_format(raw))  # no format: compact (4.18M)
    parts = [f'<div class="gtm-big-value"><div class="gtm-bv-title"{_tooltip_attr(result, value)}>{escape(title)}'
             f'{glossary_link(ctx, result, value)}</div>',
             f'<div class="gtm-bv-number">{shown}</div>']
    if comparison:
        check_column(result, comparison)
        require_numbers(result, comparison)
        previous = _AGGREGATES[agg or "first"](result.column(comparison))
        change = None
        points = comparison_fmt is None and is_rate(fmt)  # a rate's change is in points: 41.2% -> 40.0% is -1.2
        if points and previous is not None and raw is not None:
            change = (float(raw) - float(previous)) * 100
        elif previous not in (None, 0) and raw is not None:
            change = (float(raw) - float(previous)) / abs(float(previous))
        label = comparison_title or f"vs {column_label(comparison).lower()}"
        html = delta_html(change, "num1", " points", down_is_good=down_is_good) if points else \
            delta_html(change, comparison_fmt or "pct1", down_is_good=down_is_good)
        parts.append(f'<div class="gtm-bv-comparison">{html} <span class="gtm-bv-label">{escape(label)}</span></div>')
    if sparkline:
        check_column(result, sparkline)
        parts.append(sparkline_svg(result.column(value)))
    parts.append("</div>")
    return "".join(parts)


_RATE_WORDS = ("rate", "ratio", "pct", "percent", "share", "avg", "average", "mean", "median", "margin",
               "probability", "conversion", "per_", "_per", "cac", "ltv", "payback", "score", "nps")


def is_additive(column: str, fmt: str | None) -> bool:
    """Whether a totals row should add this column up: counts and amounts yes, rates and averages no."""
    name = column.lower()
    if fmt in ("pct", "pct1", "date", "month", "datetime") or any(w in name for w in _RATE_WORDS):
        return False
    return not name.endswith(("_id", "id", "year", "month", "day"))


def _is_integer_type(type_name: str) -> bool:
    return type_name.upper().lstrip("U").startswith(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"))


def sparkline_svg(values: list[Any], width: int = 120, height: int = 28) -> str:
    points = [float(v) for v in values if v is not None]
    if len(points) < 2:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = width / (len(points) - 1)
    coords = " ".join(f"{i * step:.1f},{height - 2 - (p - low) / span * (height - 4):.1f}"
                      for i, p in enumerate(points))
    return (f'<svg class="gtm-sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="trend"><polyline fill="none" stroke="currentColor" stroke-width="1.5" '
            f'points="{coords}"/></svg>')


@component("table")
def table(ctx: ComponentContext, q: Any, columns: list[str] | None = None, fmt: dict[str, str] | None = None,
          sort: bool = True, search: bool = True, page_size: int = 25, totals: bool | list[str] = False,
          download: bool = True, title: str | None = None, filter: str | None = None) -> str:
    result = ctx.result(q, "table")
    if isinstance(columns, str):
        columns = [columns]
    shown = list(columns) if columns else list(result.columns)
    for column in shown:
        check_column(result, column)
    fmt = fmt or {}
    if not isinstance(fmt, dict):
        raise SiteError("fmt must map column names to formats, e.g. fmt={\"amount\": \"usd0\"}")
    for column, name in fmt.items():
        check_column(result, column)
        try:
            check_format(name)
        except SiteError as exc:
            raise SiteError(f"fmt for column '{column}': {exc.message}") from None
    indexes = [result.columns.index(c) for c in shown]
    formats = [format_of(result, c, fmt.get(c)) for c in shown]
    numeric = [is_numeric_type(result.types[i]) for i in indexes]
    formats = [f if f or not is_num else auto_format(result.column(c), c)
               for c, f, is_num in zip(shown, formats, numeric)]
    rows = result.rows
    if len(rows) > EMBED_ROW_LIMIT:
        ctx.state.notes.append(f"table: query '{result.name}' returned {len(rows):,} rows; "
                               f"the page embeds the first {EMBED_ROW_LIMIT:,} (the CSV download has all)")
        rows = rows[:EMBED_ROW_LIMIT]
    attrs = [f'data-page-size="{int(page_size)}"', f'data-sort="{str(bool(sort)).lower()}"',
             f'data-search="{str(bool(search)).lower()}"']
    if filter:
        attrs.append(f'data-filter="{escape(filter)}"')
    out = [f'<div class="gtm-table" {" ".join(attrs)}>']
    if title:
        out.append(f'<div class="gtm-table-title">{escape(title)}</div>')
    # A focusable, named region: a table wider than the screen scrolls sideways by keyboard too.
    region = escape(title or f"Table of {column_label(result.name).lower()}")
    out.append(f'<div class="gtm-table-scroll" tabindex="0" role="region" aria-label="{region}"><table><thead><tr>')
    for column, is_num in zip(shown, numeric):
        out.append(f'<th scope="col"{" class=num" if is_num else ""} data-column="{escape(column)}"'
                   f'{_tooltip_attr(result, column)}>{escape(label_of(result, column))}</th>')
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for i, f, is_num in zip(indexes, formats, numeric):
            raw = row[i]
            sort_key = "" if raw is None else escape(str(raw))
            out.append(f'<td{" class=num" if is_num else ""} data-value="{sort_key}">{cell(raw, f)}</td>')
        out.append("</tr>")
    out.append("</tbody>")
    if totals:
        summed = set(totals) if isinstance(totals, (list, tuple)) else {
            c for c, f, is_num in zip(shown, formats, numeric) if is_num and is_additive(c, f)}
        for column in summed:
            check_column(result, column)
        # The page's script sums the rows a search or a dropdown leaves visible (data-fmt: how to show it).
        out.append(f'<tfoot><tr data-rows="{len(result.rows)}">')
        for n, (column, i, f) in enumerate(zip(shown, indexes, formats)):
            if column in summed:
                total = _AGGREGATES["sum"]([row[i] for row in result.rows])
                kind = ' data-int=""' if _is_integer_type(result.types[i]) else ""
                out.append(f'<td class="num" data-fmt="{escape(script_format(f))}"{kind}>{cell(total, f)}</td>')
            else:
                out.append(f'<td{" class=gtm-total-label" if n == 0 else ""}>{"Total" if n == 0 else ""}</td>')
        out.append("</tr></tfoot>")
    out.append("</table></div>")
    if not result.rows:
        out.append('<p class="gtm-empty">No rows.</p>')
    if download:
        out.append(f'<a class="gtm-download" href="{escape(ctx.data_url(result.name))}" download>'
                   f'Download CSV ({len(result.rows):,} rows)</a>')
    out.append(sql_toggle(ctx, result))
    out.append("</div>")
    return "".join(out)
