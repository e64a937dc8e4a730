"""A `metrics` fence (or `gtmsite metrics query`) compiled to one DuckDB query.

    metrics: [win_rate, cac]
    by: [segment]
    grain: quarter          # day | week | month | quarter | year (DuckDB's date_trunc; weeks start on Monday)
    where: "region = 'EMEA'"
    since: 2025-01-01       # optional: each metric's own time column >= since (and < until)

The simple metrics behind the request are aggregated per dataset (and, with a grain, per time column)
in one subquery each, grouped by the `by` columns and the period; the subqueries are joined on those
columns; ratio and derived metrics are computed from the joined totals of their parts, so a ratio is
always a ratio of sums, never an average of ratios.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import SiteError
from .metrics import AGGREGATES, GRAINS, Metric, MetricCatalog, metric_refs
from .sqltext import IDENTIFIER, quote_ident, quote_table
from .yamlnodes import LocatedList, LocatedMap, YamlSyntaxError, load_located

_FENCE_KEYS = ("metrics", "by", "grain", "where", "since", "until")


@dataclass(frozen=True)
class MetricRequest:
    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    grain: str | None = None
    where: str | None = None
    since: dt.date | None = None  # on each metric's own time column: since <= time < until
    until: dt.date | None = None


class RequestError(SiteError):
    """A mistake in a request; `line` is relative to the fence's first line when it is known."""


def parse_request(text: str, catalog: MetricCatalog, first_line: int = 1) -> MetricRequest:
    """Read a `metrics` fence's YAML. Errors carry the file line (`first_line` is that of the text's first line)."""
    try:
        data = load_located(text, first_line)
    except YamlSyntaxError as exc:
        raise RequestError(exc.message, line=exc.line) from None
    if not isinstance(data, LocatedMap):
        raise RequestError("expected `metrics: [name, ...]` and optionally by, grain and where", line=first_line)
    for key in data:
        if key not in _FENCE_KEYS:
            raise RequestError(f"unknown key '{key}' (expected: {', '.join(_FENCE_KEYS)})", line=data.line_of(key))
    if "metrics" not in data:
        raise RequestError("expected `metrics: [name, ...]` naming metrics of sources/metrics.yml", line=first_line)
    metrics = _names(data, "metrics")
    by = _names(data, "by") if "by" in data else ()
    grain = data.get("grain")
    if grain is not None and grain not in GRAINS:
        raise RequestError(f"grain: expected one of {', '.join(GRAINS)}, got {grain!r}", line=data.line_of("grain"))
    where = data.get("where")
    if where is not None and not isinstance(where, str):
        raise RequestError(f"where: expected an SQL condition as a string, got {where!r}", line=data.line_of("where"))
    since, until = (_date(data, key) for key in ("since", "until"))
    request = MetricRequest(metrics, by, grain, where, since, until)
    try:
        validate_request(request, catalog)
    except SiteError as exc:
        key = "by" if exc.message.startswith("by:") else "grain" if exc.message.startswith("grain:") else "metrics"
        raise RequestError(exc.message, line=data.line_of(key)) from None
    return request


def _date(data: LocatedMap, key: str) -> dt.date | None:
    value = data.get(key)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise RequestError(f"{key}: expected a date such as 2025-01-01, got {value!r}", line=data.line_of(key))


def _names(data: LocatedMap, key: str) -> tuple[str, ...]:
    value = data[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, LocatedList)) or not items or not all(isinstance(v, str) for v in items):
        raise RequestError(f"{key}: expected a name or a list of names, got {value!r}", line=data.line_of(key))
    return tuple(items)


def validate_request(request: MetricRequest, catalog: MetricCatalog) -> None:
    """Every metric known, every `by` column a dimension of every dataset involved, a time column for a grain."""
    if not catalog.metrics:
        raise SiteError("metrics: there is no metric to ask for: define metrics in sources/metrics.yml")
    for name in request.metrics:
        if name not in catalog.metrics:
            raise SiteError(f"metrics: unknown metric '{name}' (metrics of sources/metrics.yml: "
                            f"{', '.join(sorted(catalog.metrics))})")
    if len(set(request.metrics)) != len(request.metrics):
        raise SiteError("metrics: a metric is named twice")
    for column in request.by:
        if not IDENTIFIER.match(column):
            raise SiteError(f"by: '{column}' is not a column name")
        if column in request.metrics or column == request.grain:
            raise SiteError(f"by: column '{column}' has the name of a metric or of the grain; rename it in a model")
    leaves = catalog.leaves(request.metrics)
    several = len({leaf.dataset for leaf in leaves}) > 1
    for leaf in leaves:
        dataset = catalog.datasets[leaf.dataset]
        for column in request.by:
            if dataset.dimensions is not None and column not in dataset.dimensions:
                raise SiteError(f"by: dataset '{dataset.name}' (of metric '{leaf.name}') has no dimension '{column}' "
                                f"(its dimensions: {', '.join(dataset.dimensions) or 'none'})"
                                + ("; metrics of several datasets can only be grouped by columns they all have"
                                   if several else ""))
        if (request.grain or request.since or request.until) and not catalog.time_of(leaf):
            raise SiteError(f"grain: metric '{leaf.name}' has no time column (dataset '{dataset.name}' declares "
                            "none): add `time:` to the metric or its dataset, or drop the grain")


def compile_request(request: MetricRequest, catalog: MetricCatalog) -> str:
    """The SQL that answers the request (validated first)."""
    validate_request(request, catalog)
    keys = list(request.by) + ([request.grain] if request.grain else [])
    groups: dict[tuple[str, str | None], list[Metric]] = {}
    for leaf in catalog.leaves(request.metrics):
        timed = request.grain or request.since or request.until
        groups.setdefault((leaf.dataset, catalog.time_of(leaf) if timed else None), []).append(leaf)
    ctes = [f"{quote_ident(f'm-{i}')} as (\n{_group_sql(catalog, dataset, time, leaves, request)}\n)"
            for i, ((dataset, time), leaves) in enumerate(groups.items(), start=1)]
    joined = len(groups) > 1
    names = [quote_ident(f"m-{i}") for i in range(1, len(groups) + 1)]
    source = names[0] + "".join(_join(names[:i], name, keys) for i, name in enumerate(names[1:], start=1))
    columns = [f"{_key(names, k)} as {quote_ident(k)}" for k in keys]
    columns += [f"{_expression(catalog, name, joined)} as {quote_ident(name)}" for name in request.metrics]
    sort = ([request.grain] if request.grain else []) + list(request.by)  # periods first, then the groups
    order = "\norder by " + ", ".join(f"{quote_ident(k)} nulls last" for k in sort) if sort else ""
    return f"with {', '.join(ctes)}\nselect {', '.join(columns)}\nfrom {source}{order}"


def _key(names: list[str], key: str) -> str:
    """A group column of the joined subqueries: whichever of them has the group."""
    columns = [f"{n}.{quote_ident(key)}" for n in names]
    return columns[0] if len(columns) == 1 else f"coalesce({', '.join(columns)})"


def _join(before: list[str], name: str, keys: list[str]) -> str:
    """Another subquery joined on the groups so far; a null group (no segment) matches a null group."""
    if not keys:
        return f"\ncross join {name}"
    on = " and ".join(f"{_key(before, k)} is not distinct from {name}.{quote_ident(k)}" for k in keys)
    return f"\nfull join {name} on {on}"


def _group_sql(catalog: MetricCatalog, dataset_name: str, time: str | None, leaves: list[Metric],
               request: MetricRequest) -> str:
    dataset = catalog.datasets[dataset_name]
    select = [quote_ident(c) for c in request.by]
    if request.grain:
        select.append(f"cast(date_trunc('{request.grain}', {time}) as date) as {quote_ident(request.grain)}")
    select += [f"{_aggregate(leaf)} as {quote_ident(leaf.name)}" for leaf in leaves]
    conditions = [f"({request.where})"] if request.where else []
    if all(leaf.filter for leaf in leaves):  # rows no metric counts make no group (an open deal's future close date)
        conditions.append("(" + " or ".join(f"({leaf.filter})" for leaf in leaves) + ")" if len(leaves) > 1
                          else f"({leaves[0].filter})")
    if request.since:
        conditions.append(f"({time}) >= date '{request.since.isoformat()}'")
    if request.until:
        conditions.append(f"({time}) < date '{request.until.isoformat()}'")
    where = f"\n  where {' and '.join(conditions)}" if conditions else ""
    group = "\n  group by all" if request.by or request.grain else ""
    if request.grain:  # rows without a time have no period: dropped as a group (cheaper than a row filter)
        group += f"\n  having {quote_ident(request.grain)} is not null"
    return f"  select {', '.join(select)}\n  from {quote_table(dataset.table)}{where}{group}"


def _aggregate(metric: Metric) -> str:
    assert metric.agg in AGGREGATES
    if metric.agg == "count":
        inner = f"count({metric.expr})" if metric.expr else "count(*)"
    elif metric.agg == "count_distinct":
        inner = f"count(distinct {metric.expr})"
    else:
        inner = f"{metric.agg}({metric.expr})"
    return f"{inner} filter (where {metric.filter})" if metric.filter else inner


def _expression(catalog: MetricCatalog, name: str, joined: bool) -> str:
    """A metric's value from the joined totals: a column for a simple metric, computed for the others."""
    metric = catalog.metrics[name]
    if metric.type == "simple":
        column = quote_ident(name)
        return f"coalesce({column}, 0)" if joined and metric.agg in ("count", "count_distinct") else column
    if metric.type == "ratio":
        numerator = _expression(catalog, metric.numerator, joined)
        denominator = _expression(catalog, metric.denominator, joined)
        return f"(cast({numerator} as double) / nullif({denominator}, 0))"
    expr, out, last = metric.expr, [], 0
    for start, end, word in metric_refs(expr):
        out.append(expr[last:start])
        out.append(_safe_part(catalog, word, joined))
        last = end
    out.append(expr[last:])
    value = f"({''.join(out)})"
    return f"(case when isfinite({value}) then {value} end)"  # x / 0 is null, not infinity


def _safe_part(catalog: MetricCatalog, name: str, joined: bool) -> str:
    """A part of a derived metric; as a double, so `a / b` divides without rounding (and b = 0 gives null)."""
    return f"cast({_expression(catalog, name, joined)} as double)"
