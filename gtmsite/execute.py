"""The execute stage: every query and check a build needs, from the cache or from DuckDB.

    Plan -> execute(plan, pages) -> Executed: each page's results, checks and problems, its key

A templated report's queries run once for all of its pages (see batch.py); a static page's queries
run in a thread of their own. Results are cached by content (the SQL, the parameters and the data the
queries read), so a page whose key is cached never touches DuckDB.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from .batch import plan_batch, run_batched
from .checks import Check, CheckResult, evaluate, parse_check
from .config import Config
from .errors import BuildFailed, Problem, SiteError, raise_if_any
from .files import cache_writable
from .output import intact_parquet, parquet_from_table
from .queries import QueryResult, ResultCache, order_queries, run_query
from .reports import Query, Report
from .resultpack import packed, packed_query, unpacked, unpacked_query
from .site import Page
from .sources import Database, Fingerprints, SourceSet
from .sqltext import parameter_names, quote_ident, quote_table

Log = Callable[[str], None]


@dataclass(frozen=True)
class PageData:
    """What the execute stage gives a page: its query results and check results."""

    results: Mapping[str, QueryResult] = field(default_factory=dict)
    checks: tuple[CheckResult, ...] = ()
    problems: tuple[Problem, ...] = ()
    cached: bool = False


@dataclass(frozen=True)
class Snapshot:
    """One Parquet file of a batched query's rows for all pages: where it goes in the version, and the file."""

    rel: str
    path: Path


@dataclass(frozen=True)
class Executed:
    pages: Mapping[str, PageData]  # by URL, for the chosen pages with a report
    table_checks: tuple[CheckResult, ...]
    snapshots: tuple[Snapshot, ...] = ()
    bulk: Mapping[str, frozenset[str]] = field(default_factory=dict)  # report -> queries snapshotted in bulk
    problems: tuple[Problem, ...] = ()  # of the checks on tables: the build fails, its pages are still made


class QueryRunner:
    """The database side of one build: a cursor per thread, the result cache, the count of queries run."""

    def __init__(self, config: Config, sources: SourceSet, prints: Fingerprints, database: Database,
                 cache: ResultCache, now: dt.datetime, snapshots: bool, debug: Log):
        """`snapshots`: keep each result as Parquet in the cache (a versioned build that writes files)."""
        self.config = config
        self.sources = sources
        self.prints = prints
        self.db = database
        self.cache = cache
        self.now = now
        self.snapshots = snapshots
        self.debug = debug
        self.queries_run = 0
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._prints: dict[tuple[str, ...], str] = {}

    # -- connections ----------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "db", None) is not self.db:
            cursor = self._local.cursor = self.db.cursor()
            self._local.db = self.db
        return cursor

    def scratch(self) -> duckdb.DuckDBPyConnection:
        """An empty DuckDB of this thread's own (no sources loaded): for parsing SQL and writing files."""
        con = getattr(self._local, "scratch", None)
        if con is None:
            con = self._local.scratch = duckdb.connect()
        return con

    def count_query(self, n: int = 1) -> None:
        with self._count_lock:
            self.queries_run += n

    @property
    def parquet_cache(self) -> Path:
        return self.config.project / self.config.cache_dir / "parquet"

    # -- queries outside pages ------------------------------------------------------------------

    def cached_query(self, name: str, sql: str, rel: str, line: int) -> QueryResult:
        key = ResultCache.key("query", self.prints.of_sql(sql), sql, name, line)  # the result carries both
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        result = run_query(self.cursor(), Query(name, sql, line), {}, rel, materialize=False)
        self.count_query()
        self.cache.put(key, result)
        return result

    def table_checks(self, reports: list[Report]) -> list[CheckResult]:
        """Checks on source tables and models: from [[checks]] and from reports' fences, each run once."""
        checks: list[Check] = []
        problems: list[Problem] = []
        for site_check in self.config.checks:
            try:
                checks.append(parse_check(f"{site_check.table}: {site_check.check}", "site.toml", site_check.line,
                                          site_check.warn))
            except SiteError as exc:
                problems.append(exc.problem)
        for report in reports:
            names = {q.name for q in report.queries}
            checks += [c for c in report.checks if c.target not in names]
        checks = [c for c in checks if not c.is_history]  # compared with earlier versions at release
        results: list[CheckResult] = []
        tables = self.sources.tables
        for check in checks:
            if check.target not in tables:
                problems.append(Problem(check.path, check.line,
                                        f"check '{check.text}': '{check.target}' is neither a query on this page nor a "
                                        f"source table (tables: {', '.join(sorted(tables)) or 'none'})"))
                continue
            try:
                results.append(self.cached_check(check))
            except SiteError as exc:
                problems.append(exc.problem)
            except BuildFailed as exc:
                problems.extend(exc.problems)
                break
        raise_if_any(problems)
        return results

    def cached_check(self, check: Check) -> CheckResult:
        clock = self.now.isoformat(timespec="minutes") if check.kind == "freshness" else ""
        key = ResultCache.key("check", self.prints.of_sql(f"select * from {check.target}"), check.text, clock)
        cached = self.cache.get(key)
        if cached is not None:
            return CheckResult(check, cached[0], cached[1])
        result = evaluate(check, self.cursor(), quote_table(check.target), self.now)
        self.cache.put(key, (result.passed, result.detail))
        return result

    # -- one page -------------------------------------------------------------------------------

    def page_fingerprint(self, report: Report) -> str:
        """The fingerprint of the data a report's queries read (a change elsewhere leaves it alone); worked
        out once per report, not once for each of its pages."""
        sql = tuple(q.sql for q in report.queries)
        found = self._prints.get(sql)
        if found is None:
            found = self._prints[sql] = self.prints.of_sql(*sql)
        return found

    @staticmethod
    def page_checks(report: Report) -> list[Check]:
        names = {q.name for q in report.queries}
        return [c for c in report.checks if c.target in names and not c.is_history]

    def results_key(self, report: Report, params: dict[str, Any]) -> str:
        """The cache key of a page's query results: its queries, checks, parameters and the data they read."""
        page_checks = self.page_checks(report)
        clock = self.now.isoformat(timespec="minutes") if any(c.kind == "freshness" for c in page_checks) else ""
        return ResultCache.key("page", self.page_fingerprint(report), [(q.name, q.sql) for q in report.queries],
                               [c.text for c in page_checks], sorted(params.items(), key=lambda kv: kv[0]), clock)

    def cached_page(self, report: Report, params: dict[str, Any]) -> PageData | None:
        cached = self.cache.get(self.results_key(report, params))
        if cached is None:
            return None
        results, check_values = cached
        checks = tuple(CheckResult(c, passed, detail)
                       for c, (passed, detail) in zip(self.page_checks(report), check_values))
        return PageData(results, checks, (), True)

    def page_data(self, page: Page) -> PageData:
        """A page's query results and page-level check results, from the cache or from DuckDB."""
        assert page.report is not None
        data = self.cached_page(page.report, page.params)
        if data is None:
            data = self.run_page(page.report, page.params)
        return on_page(data, page)

    def run_page(self, report: Report, params: dict[str, Any], queries: tuple[Query, ...] | None = None,
                 done: Mapping[str, QueryResult] | None = None, store: bool = True) -> PageData:
        """Run a page's queries (or those of `queries`, the others being `done`) and its checks; cache
        them (`store`) unless that failed."""
        results, checks, problems = self.run_page_queries(report, params, self.page_checks(report), queries)
        if done:
            merged = {**done, **results}
            results = {q.name: merged[q.name] for q in report.queries if q.name in merged}
        if store and not problems:
            self.cache.put(self.results_key(report, params), (results, [(c.passed, c.detail) for c in checks]))
        return PageData(results, tuple(checks), tuple(problems), False)

    def run_page_queries(self, report: Report, params: dict[str, Any], page_checks: list[Check],
                         queries: tuple[Query, ...] | None = None
                         ) -> tuple[dict[str, QueryResult], list[CheckResult], list[Problem]]:
        queries = report.queries if queries is None else queries
        ordered, deps, problems = order_queries(queries, report.rel)
        needed_as_table = {d for ds in deps.values() for d in ds} | {c.target for c in page_checks}
        if self.snapshots:  # each result to Parquet, from its temp table
            needed_as_table = {q.name for q in queries}
        cursor = self.cursor()
        results: dict[str, QueryResult] = {}
        failed: set[str] = set()
        checks: list[CheckResult] = []
        try:
            for query in ordered:
                if deps[query.name] & failed:
                    failed.add(query.name)
                    continue
                try:
                    results[query.name] = run_query(cursor, query, params, report.rel,
                                                    materialize=query.name in needed_as_table)
                    self.count_query()
                    if self.snapshots:
                        parquet_from_table(results[query.name], quote_ident(query.name), self.parquet_cache, cursor)
                except SiteError as exc:
                    failed.add(query.name)
                    problems.append(exc.problem)
            for check in page_checks:
                if check.target in failed:
                    continue
                try:
                    checks.append(evaluate(check, cursor, quote_ident(check.target), self.now))
                except SiteError as exc:
                    problems.append(exc.problem)
        finally:
            for name in needed_as_table & set(results):
                cursor.execute(f"drop table if exists temp.{quote_ident(name)}")
        return results, checks, problems

    # -- a templated report: its queries once for all pages -------------------------------------

    def templated(self, pages: list[Page]) -> tuple[dict[str, PageData], list[Snapshot], frozenset[str]]:
        """The results of a templated report's pages, each batched query's run once for all the pages or
        taken from the cache (one entry per query for all the pages, so that a changed table re-runs only
        the queries that read it). The queries that run one page at a time and the page checks are kept in
        one more entry for the whole report. In a version, each batched query's rows for all pages also go
        to one Parquet snapshot (with the parameter column)."""
        report = pages[0].report
        assert report is not None
        plan = plan_batch(report, self.scratch())
        whole = bool(plan.single or self.page_checks(report))  # per-page work beyond the batched queries
        key = self.templated_key(report, pages)
        cached = unpacked(self.cache.get(key, count=len(pages))) if whole else None
        if cached is not None and len(cached) == len(pages):
            checks = self.page_checks(report)
            data = {page.url: PageData(results, tuple(CheckResult(c, passed, detail)
                                                      for c, (passed, detail) in zip(checks, check_values)), (), True)
                    for page, (results, check_values) in zip(pages, cached)}
            if not self.snapshots:
                return data, [], frozenset()
            linked = self.earlier_snapshots(report, plan.batched, pages)
            if linked is not None:
                return data, linked, frozenset(q.name for q in plan.batched if parameter_names(q.sql))
        for name, reason in plan.reasons:
            self.debug(f"{report.rel}: query '{name}' runs once per page: {reason}")
        batched, snapshots = self.run_batched(report, plan.batched, pages)
        single = tuple(q for q in report.queries if q.name not in batched)
        data = {}
        for i, page in enumerate(pages):
            done = {name: per_page[i] for name, per_page in batched.items()}
            data[page.url] = self.run_page(report, page.params, single, done, store=False) if single \
                else PageData({q.name: done[q.name] for q in report.queries})
        if whole and not any(d.problems for d in data.values()):
            self.cache.put(key, packed([(d.results, [(c.passed, c.detail) for c in d.checks]) for d in data.values()]))
        bulk = frozenset(s.rel.rsplit("/", 1)[-1].removesuffix(".parquet") for s in snapshots)
        return data, snapshots, bulk

    def templated_key(self, report: Report, pages: list[Page]) -> str:
        """The cache key of the results of a templated report's pages: one entry for all of them."""
        page_checks = self.page_checks(report)
        clock = self.now.isoformat(timespec="minutes") if any(c.kind == "freshness" for c in page_checks) else ""
        return ResultCache.key("templated", 2, self.page_fingerprint(report), [(q.name, q.sql) for q in report.queries],
                               [c.text for c in page_checks], [sorted(p.params.items()) for p in pages], clock)

    def batched_key(self, query: Query, pages: list[Page]) -> str:
        """The cache key of one batched query's results for all the pages: its text, the data it reads,
        and the pages' values of the parameters it uses."""
        params = sorted(parameter_names(query.sql))
        return ResultCache.key("batched", self.prints.of_sql(query.sql), query.name, query.sql, query.line,
                               params, [[p.params.get(name) for name in params] for p in pages])

    def run_batched(self, report: Report, queries: tuple[Query, ...], pages: list[Page]
                    ) -> tuple[dict[str, list[QueryResult]], list[Snapshot]]:
        """Each query once for all `pages` (or from the cache): one result per page, by query name (a query
        DuckDB cannot run batched is left out: it runs one page at a time), and the Parquet snapshots."""
        out: dict[str, list[QueryResult]] = {}
        snapshots: list[Snapshot] = []
        rows = [page.params for page in pages]
        for query in queries:
            if not parameter_names(query.sql):
                try:
                    result = self.cached_query(query.name, query.sql, report.rel, query.line)
                except SiteError:
                    continue
                out[query.name] = [result] * len(pages)
                continue
            key = self.batched_key(query, pages)
            target = self.snapshot_path(query, pages) if self.snapshots else None
            found = unpacked_query(self.cache.get(key, count=len(pages)))
            if found is not None and len(found) == len(pages) and (target is None or intact_parquet(target)):
                out[query.name] = found
                if target is not None:
                    snapshots.append(Snapshot(snapshot_name(query, pages), target))
                continue
            per_page = run_batched(self.cursor(), query, rows, table="__gtm_bulk" if target else None)
            if per_page is None:
                self.debug(f"{report.rel}: query '{query.name}' runs once per page: DuckDB could not run it batched")
                continue
            self.count_query()
            out[query.name] = per_page
            for result in per_page:
                result.digest  # noqa: B018 - computed here, in the main thread, before the entry is packed
            self.cache.put_later(key, lambda per_page=per_page: packed_query(per_page))
            if target is not None:
                snapshots.append(self.write_snapshot(self.cursor(), query, per_page[0].columns, target, pages))
        return out, snapshots

    def earlier_snapshots(self, report: Report, queries: tuple[Query, ...], pages: list[Page]
                          ) -> list[Snapshot] | None:
        """The snapshots an earlier build made of these very results, when all of them are in the cache."""
        snapshots = [Snapshot(snapshot_name(q, pages), self.snapshot_path(q, pages))
                     for q in queries if parameter_names(q.sql)]
        return snapshots if all(intact_parquet(s.path) for s in snapshots) else None

    def snapshot_path(self, query: Query, pages: list[Page]) -> Path:
        key = ResultCache.key("bulk", self.prints.of_sql(query.sql), query.sql, [p.params for p in pages])
        return self.parquet_cache / f"bulk-{key[:32]}.parquet"

    def write_snapshot(self, cursor: duckdb.DuckDBPyConnection, query: Query, columns: tuple[str, ...],
                       path: Path, pages: list[Page]) -> Snapshot:
        """The batched rows (still in the temp table) as one Parquet file in the cache: the pages'
        parameters, then the query's columns."""
        params = sorted(parameter_names(query.sql))
        try:
            if not intact_parquet(path) and cache_writable():  # a damaged file is made again
                names = [p if p not in columns else f"page_{p}" for p in params] + list(columns)
                select = ", ".join(f"#{i + 2} as {quote_ident(n)}" for i, n in enumerate(names))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
                target = str(tmp).replace("'", "''")
                cursor.execute(f"copy (select {select} from __gtm_bulk) to '{target}' (format parquet)")
                os.replace(tmp, path)
        finally:
            cursor.execute("drop table if exists temp.__gtm_bulk")
        return Snapshot(snapshot_name(query, pages), path)


def snapshot_name(query: Query, pages: list[Page]) -> str:
    """`_data/accounts/_by_account_id/activity.parquet` (a page's slug never starts with `_`)."""
    section = pages[0].section.strip("/")
    param = pages[0].report.param if pages[0].report else ""
    return f"_data/{section + '/' if section else ''}_by_{param}/{query.name}.parquet"


def on_page(data: PageData, page: Page) -> PageData:
    """On a templated page, each check result says which page it is about."""
    if not page.templated or not data.checks:
        return data
    return replace(data, checks=tuple(replace(c, page=page.url) for c in data.checks))


def execute_batched(runner: QueryRunner, reports: list[Report], pages: list[Page]) -> Executed:
    """Run the checks on tables, and the queries of the chosen pages of templated reports, each report's
    once for all its pages. The other pages' queries run page by page (`QueryRunner.page_data`), each
    as its page is built, so that rendering one page overlaps the queries of the next."""
    try:
        table_checks, problems = runner.table_checks(reports), []
    except BuildFailed as exc:
        table_checks, problems = [], exc.problems
    data: dict[str, PageData] = {}
    snapshots: list[Snapshot] = []
    bulk: dict[str, frozenset[str]] = {}
    groups: dict[str, list[Page]] = {}
    for page in pages:
        if page.templated and page.report is not None and page.report.queries:
            groups.setdefault(page.report.rel, []).append(page)
    for rel, group in groups.items():
        found, made, bulk[rel] = runner.templated(group)
        data.update((page.url, on_page(found[page.url], page)) for page in group)
        snapshots += made
    return Executed(data, tuple(table_checks), tuple(snapshots), bulk, tuple(problems))


def content_key(base: str, data: PageData) -> str:
    """A page's key from its inputs (`base`) and its own query results, not the fingerprint of the tables
    they read: a new row that changes one account's results changes that account's page only."""
    digest = hashlib.sha256(base.encode())
    for name, result in sorted(data.results.items()):
        digest.update(f"\0{name}\0{result.failed}\0{result.digest}".encode())
    for check in data.checks:
        digest.update(f"\0{check.passed}\0{check.detail}".encode())
    return digest.hexdigest()[:24]
