"""Metrics in a build: the catalog checked against the data, `metrics` fences compiled into queries,
metric columns carried into results, definition hashes for versions, and the glossary page.

    read catalog -> check its columns (cached) -> compile each report's metrics fences
      -> (queries run as usual) -> annotate results -> glossary, definition hashes
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from .errors import Problem, SiteError
from .metrics import METRICS_FILE, Metric, MetricCatalog, check_columns
from .metricsql import MetricRequest, compile_request, parse_request
from .queries import QueryResult, ResultCache
from .reports import Report
from .sources import Fingerprints, SourceSet
from .sqltext import referenced_names


@dataclass(frozen=True, eq=False)
class MetricResult(QueryResult):
    """A query result whose columns may be metrics: `metrics` maps such a column to its Metric."""

    metrics: dict[str, Metric] = field(default_factory=dict)


def checked_catalog(catalog: MetricCatalog, cache: ResultCache, prints: Fingerprints,
                    cursor: Callable[[], duckdb.DuckDBPyConnection]) -> list[Problem]:
    """The catalog's columns and expressions checked against the tables; remembered while neither changes."""
    if not catalog:
        return []
    tables = sorted({d.table for d in catalog.datasets.values()})
    key = ResultCache.key("metrics-columns", catalog.digest, prints.of_sql(*(f"select * from {t}" for t in tables)))
    if cache.get(key) is not None:
        return []
    problems = check_columns(catalog, cursor())
    if not problems:
        cache.put(key, True)
    return problems


def compile_fences(reports: list[Report], catalog: MetricCatalog, catalog_ok: bool = True
                   ) -> tuple[list[Report], list[Problem]]:
    """Each report with its `metrics` fences turned into SQL queries. A report's source hash also covers
    the catalog (a new label or definition is a new page) when it uses metrics."""
    out, problems = [], []
    for report in reports:
        fences = [q for q in report.queries if q.kind == "metrics"]
        if not fences:
            out.append(_with_hash(report, "y" if catalog else "") if catalog else report)
            continue
        queries = []
        for query in report.queries:
            if query.kind != "metrics":
                queries.append(query)
                continue
            if not catalog_ok:
                continue
            try:
                request = _request(query.sql, catalog, query.line)
                queries.append(replace(query, sql=compile_request(request, catalog), metrics=request.metrics,
                                       definition=_request_definition(request, catalog)))
            except SiteError as exc:
                problems.append(Problem(report.rel, exc.line or query.line, f"metrics '{query.name}': {exc.message}"))
        out.append(_with_hash(replace(report, queries=tuple(queries)), catalog.digest))
    return out, problems


def _request(text: str, catalog: MetricCatalog, line: int) -> MetricRequest:
    if not catalog.digest:
        raise SiteError(f"there is no {METRICS_FILE}: define the metrics there first (see the README, Metrics)")
    return parse_request(text, catalog, line + 1)


def _request_definition(request: MetricRequest, catalog: MetricCatalog) -> str:
    """What a fence computes, independent of the SQL gtmsite compiles it to (which may change between
    releases without any definition changing)."""
    metrics = [(name, catalog.metrics[name].definition) for name in request.metrics]
    return _hash(repr((metrics, request.by, request.grain, request.where, request.since, request.until)))


def _with_hash(report: Report, extra: str) -> Report:
    digest = hashlib.sha256(f"{report.source_hash}\0metrics\0{extra}".encode()).hexdigest()[:16]
    return replace(report, source_hash=digest)


def annotate(report: Report, results: dict[str, QueryResult], catalog: MetricCatalog) -> dict[str, QueryResult]:
    """Results whose columns are metrics, marked as such: a metrics fence's metric columns, and the same
    columns in a query that selects them from that fence's result (`select * from by_segment where ...`)."""
    if not catalog or not any(q.kind == "metrics" for q in report.queries):
        return results
    marked: dict[str, dict[str, Metric]] = {}
    by_name = {q.name: q for q in report.queries}

    def columns_of(name: str, trail: frozenset[str]) -> dict[str, Metric]:
        if name in marked:
            return marked[name]
        query, result = by_name.get(name), results.get(name)
        found: dict[str, Metric] = {}
        if query is not None and result is not None and not result.failed:
            if query.kind == "metrics":
                found = {m: catalog.metrics[m] for m in query.metrics if m in result.columns}
            else:
                for upstream in referenced_names(query.sql, set(by_name) - trail - {name}):
                    found.update({c: m for c, m in columns_of(upstream, trail | {name}).items()
                                  if c in result.columns})
        marked[name] = found
        return found

    out = dict(results)
    for name, result in results.items():
        columns = columns_of(name, frozenset())
        if columns:
            out[name] = MetricResult(result.name, result.columns, result.types, result.rows, result.sql, result.line,
                                     result.failed, metrics=columns)
    return out


class Definitions:
    """Definition hashes: of each query (its text, the page queries and models it reads, recursively)
    and of each metric. A change of hash is a change of definition; the same hash with other numbers
    is a change of data."""

    def __init__(self, sources: SourceSet):
        self._models = {m.name.lower(): m for m in sources.models}
        self._model_hashes: dict[str, str] = {}
        self._reports: dict[str, dict[str, str]] = {}

    def model(self, name: str, trail: frozenset[str] = frozenset()) -> str:
        key = name.lower()
        if key not in self._model_hashes:
            try:
                text = self._models[key].path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
            inner = referenced_names(text, set(self._models) - trail - {key})
            parts = "".join(f"\0{m}={self.model(m, trail | {key})}" for m in sorted(inner))
            self._model_hashes[key] = _hash(text + parts)
        return self._model_hashes[key]

    def of(self, report: Report) -> dict[str, str]:
        """Each query of the report: its definition hash."""
        if report.rel in self._reports:
            return self._reports[report.rel]
        by_name = {q.name: q for q in report.queries}
        done: dict[str, str] = {}

        def define(name: str, trail: frozenset[str]) -> str:
            if name in done:
                return done[name]
            query = by_name[name]
            sql = query.sql
            upstream = referenced_names(sql, set(by_name) - trail - {name})
            models = referenced_names(sql, set(self._models)) - set(by_name)
            text = (query.definition or sql) + "".join(f"\0q:{u}={define(u, trail | {name})}" for u in sorted(upstream))
            text += "".join(f"\0m:{m}={self.model(m)}" for m in sorted(models))
            done[name] = _hash(text)
            return done[name]

        self._reports[report.rel] = {q.name: define(q.name, frozenset()) for q in report.queries}
        return self._reports[report.rel]

    def all_queries(self, reports: Iterable[Report]) -> dict[str, str]:
        """`reports/x.md#query` -> definition hash, for every query of every report."""
        return {f"{r.rel}#{name}": digest for r in reports for name, digest in sorted(self.of(r).items())}


def metric_hashes(catalog: MetricCatalog) -> dict[str, str]:
    return {name: m.definition for name, m in sorted(catalog.metrics.items())}


def definition_changes(before: dict[str, str] | None, after: dict[str, str]) -> list[tuple[str, str]]:
    """(metric, "new" | "definition changed" | "removed") between two versions' metric hashes
    (versions.json `metrics`); nothing when the older version did not record them."""
    if before is None:
        return []
    changes = [(name, "new" if name not in before else "definition changed") for name, digest in after.items()
               if before.get(name) != digest]
    return sorted(changes + [(name, "removed") for name in before if name not in after])


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the glossary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlossaryEntry:
    metric: Metric
    definition: str  # as written in metrics.yml
    sql: str  # what it compiles to (no grouping)
    dataset: str  # the dataset and table, or the metrics it is computed from
    used_by: tuple[tuple[str, str], ...]  # (page title, url)


def glossary(catalog: MetricCatalog, pages: Iterable[Any]) -> list[GlossaryEntry]:
    """One entry per metric, in the order of metrics.yml, with the pages whose metrics fences ask for it
    (a templated report is listed once, by its folder)."""
    users: dict[str, dict[str, str]] = {name: {} for name in catalog.metrics}
    pages = list(pages)
    titles = {page.url: page.title for page in pages}
    for page in pages:
        report = getattr(page, "report", None)
        if report is None:
            continue
        asked = {m for q in report.queries if q.kind == "metrics" for m in q.metrics}
        if not asked:
            continue
        url, title = page.url, page.title
        if page.templated:
            url = page.section
            title = f"{titles.get(url, report.rel)} (every {report.param} page)"
        for name in asked:
            users[name].setdefault(url, title)
    entries = []
    for name, metric in catalog.metrics.items():
        if metric.type == "simple":
            dataset = catalog.datasets[metric.dataset]
            source = f"{dataset.name} (table {dataset.table})"
        else:
            source = "computed from " + ", ".join(metric.uses)
        sql = compile_request(MetricRequest((name,)), catalog)
        used = tuple(sorted(((t, u) for u, t in users[name].items()), key=lambda item: item[1]))
        entries.append(GlossaryEntry(metric, metric.definition_text(), sql, source, used))
    return entries
