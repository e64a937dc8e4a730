"""`gtmsite build` and `gtmsite check` as a straight line:

    config -> sources -> parse reports -> plan pages (templated rows) -> checks on tables
           -> per page, in parallel: queries (cached by content) -> page checks -> render -> write

Nothing is published unless the whole site built without errors: pages are written to a staging
folder that `publish` moves into place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from markupsafe import Markup, escape

from . import __version__, progress
from .checks import Check, CheckResult, evaluate, parse_check
from .components import Kpi
from .config import Config
from .errors import BuildFailed, Problem, SiteError, per_page, raise_if_any
from .metricfences import annotate, checked_catalog, compile_fences, glossary
from .metrics import MetricCatalog, read_metrics
from .output import Writer, parquet_from_table, parquet_of
from .queries import QueryResult, ResultCache, order_queries, run_query
from .render import CompiledReport, compile_report, make_body_environment, page_url_function, render_body, render_title
from .reports import Query, Report, read_reports
from .site import NavItem, Page, breadcrumbs, build_nav, plan_pages
from .sources import Database, SourceSet, discover_sources, fingerprints
from .sqltext import quote_ident, quote_table
from .svg import SvgRenderer, chart_problem, fill_svgs, vega_bundle
from .theme import Theme, asset_url_function, has_asset_function, load_theme, make_theme_environment
from .versions import PageSummary, download_csv
from .warehouse import FetchPolicy

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class PageOutcome:
    page: Page
    problems: list[Problem] = field(default_factory=list)
    pending_html: str = ""  # the page, waiting for its charts' SVGs
    charts: dict[str, Future] = field(default_factory=dict)
    chart_calls: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # hash -> (line, component)
    checks: list[CheckResult] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    results: dict[str, QueryResult] = field(default_factory=dict)
    forecasts: list[Any] = field(default_factory=list)  # the ForecastRecords of the page's charts
    cached: bool = False
    warnings: list[Problem] = field(default_factory=list)
    key: str = ""  # the page's inputs (see Builder.page_keys)
    reused: PageSummary | None = None  # the previous version's page, linked instead of rendered again


@dataclass
class BuildResult:
    config: Config
    pages: list[Page]
    outcomes: list[PageOutcome]
    checks: list[CheckResult]
    notes: list[str]
    fingerprint: str
    seconds: float
    queries_run: int
    cache_hits: int
    charts_rendered: int = 0
    charts_cached: int = 0
    site_problems: list[Problem] = field(default_factory=list)  # not of one page: e.g. a report that did not parse
    site_warnings: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        found = self.site_problems + per_page([(p, _templated_url(o)) for o in self.outcomes for p in o.problems])
        found += [Problem(r.check.path, r.check.line, r.message) for r in self.checks if r.status == "failed"]
        return found

    @property
    def report_warnings(self) -> list[Problem]:
        """Doubtful things in the reports (a broken link, an unknown key): errors with --strict."""
        return self.site_warnings + per_page([(w, _templated_url(o)) for o in self.outcomes for w in o.warnings])

    @property
    def warnings(self) -> list[Problem]:
        """The report warnings and the `warn:` checks that did not pass."""
        checks = [Problem(r.check.path, r.check.line, r.message) for r in self.checks if r.status == "warned"]
        return self.report_warnings + checks

    def check_counts(self) -> dict[str, int]:
        counts = {"passed": 0, "warned": 0, "failed": 0}
        for result in self.checks:
            counts[result.status] += 1
        return counts


def _templated_url(outcome: PageOutcome) -> str:
    return outcome.page.url if outcome.page.templated else ""


def now_utc() -> dt.datetime:
    """The build's clock; SOURCE_DATE_EPOCH makes builds reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC)


class Builder:
    """One build (or check) of a site: holds the database and caches for its duration."""

    def __init__(self, config: Config, writer: Writer, log: Log = _quiet, use_cache: bool = True,
                 versioned: bool = False, database: Database | None = None,
                 select_pages: Callable[[list[Page], tuple[NavItem, ...]], list[Page]] | None = None,
                 previous: tuple[Path, dict[str, PageSummary]] | None = None, fetch: FetchPolicy | None = None):
        """`database` lets the preview server keep the loaded sources between rebuilds; `select_pages`
        lets it rebuild only the pages whose inputs changed; `previous` (a version's folder and its pages)
        lets a build link the pages whose inputs did not change instead of rendering them again; `fetch` says
        which stored results of external source queries to use (the preview keeps them between rebuilds)."""
        self.config = config
        self.writer = writer
        self.log = log
        self.now = now_utc()
        self.use_cache = use_cache
        self.versioned = versioned
        self.sources: SourceSet = discover_sources(config, fetch or FetchPolicy(force=not use_cache, log=log))
        self.prints = fingerprints(self.sources, config)
        self.fingerprint = self.prints.site
        self.db = database if database is not None and database.sources == self.sources else Database(
            config, self.sources)
        self.select_pages = select_pages
        self.previous = previous
        self.keys: dict[str, str] = {}
        self.cache = ResultCache(config.project / config.cache_dir / "results" if use_cache else None)
        self.theme: Theme = load_theme(config)
        self.body_env = make_body_environment()
        self.svg_cache = config.project / config.cache_dir / "svg" if use_cache else None
        self.svg: SvgRenderer | None = None
        self._vega_lock = threading.Lock()
        self._vega_url: str | None = None
        self.queries_run = 0
        self.warnings: list[Problem] = []  # not of one page (e.g. a `pages:` query with no rows)
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self.catalog = MetricCatalog()

    # -- the database, per thread ---------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.db.cursor()
        return cursor

    # -- stages ---------------------------------------------------------------------------------

    def run(self) -> BuildResult:
        started = time.perf_counter()
        reports, unread = read_reports(self.config.reports_dir, self.config.project)
        self.catalog, metric_problems = read_metrics(self.config.project, self.sources.tables)
        unread += metric_problems or checked_catalog(self.catalog, self.cache, self.prints, self.cursor)
        reports, fence_problems = compile_fences(reports, self.catalog, not metric_problems)
        unread += fence_problems
        if not self.config.reports_dir.is_dir():
            raise_if_any([Problem("reports/", None, "no reports/ folder: write reports/index.md")])
        self.warnings += [w for r in reports for w in r.warnings]
        if unread:  # the build fails: if the sources fail too, say both
            try:
                self.db.cursor().close()
            except BuildFailed as exc:
                raise BuildFailed(unread + exc.problems, exc.exit_code) from None
        code_cache = self.config.project / self.config.cache_dir / "templates" if self.use_cache else None
        compiled = {r.rel: compile_report(self.body_env, r.rel, r.body, r.meta.title, code_cache, r.meta.title_line)
                    for r in reports}
        template_rows, problems = self.template_rows(reports)
        pages, plan_problems = plan_pages(reports, template_rows, self.config.title)
        problems += plan_problems
        problems += [c.problem for c in compiled.values() if c.problem]
        pages, title_problems = self.render_titles(pages, compiled)
        problems = unread + problems + title_problems  # reported with the pages' own, so one run shows them all
        self.log(f"{len(reports)} reports, {len(pages)} pages")
        nav = build_nav(pages)
        self.keys = self.page_keys(pages, nav)
        chosen = self.select_pages(pages, nav) if self.select_pages else pages
        chosen = [p for p in chosen if p.report is None or compiled[p.report.rel].problem is None]
        if any(_CHART_CALL.search(r.body) for r in reports):
            self.svg = SvgRenderer(self.svg_cache, self.config.worker_count, parallel=len(chosen) >= 8)
            self.svg.warm_up()
        try:
            try:
                table_checks = self.table_checks(reports)
            except BuildFailed as exc:
                table_checks, problems = [], problems + exc.problems
            if problems:  # this build fails: its pages are still made, for their own errors, but written nowhere
                self.writer = Writer(None)
            outcomes = self.build_pages(pages, nav, chosen, compiled)
        finally:
            if self.svg is not None:
                self.svg.close()
        notes = list(self.sources.notes) + [n for o in outcomes for n in o.notes]
        all_checks = table_checks + [c for o in outcomes for c in o.checks]
        svg = self.svg
        return BuildResult(self.config, pages, outcomes, all_checks, notes, self.fingerprint,
                           time.perf_counter() - started, self.queries_run, self.cache.hits,
                           svg.rendered if svg else 0, svg.cached if svg else 0, problems, self.warnings)

    def template_rows(self, reports: list[Report]) -> tuple[dict[str, list[dict[str, Any]]], list[Problem]]:
        """Run each templated report's `pages` query: one dict of parameters per page."""
        rows: dict[str, list[dict[str, Any]]] = {}
        problems: list[Problem] = []
        for report in reports:
            if report.param is None:
                continue
            sql = report.meta.pages
            if not sql:
                problems.append(Problem(report.rel, 1, f"a templated report needs a `pages:` query in its front "
                                        f"matter, e.g. pages: select distinct {report.param} from ..."))
                continue
            try:
                result = self.cached_query("pages", sql, report.rel, report.meta.pages_fence_line)
            except SiteError as exc:
                problems.append(exc.problem)
                continue
            if report.param not in result.columns:
                problems.append(Problem(report.rel, report.meta.pages_line,
                                        f"pages: the query has no column '{report.param}' (named by the file "
                                        f"name [{report.param}].md); columns: {', '.join(result.columns)}"))
                continue
            rows[report.rel] = [dict(zip(result.columns, row)) for row in result.rows]
            if not result.rows:
                self.warnings.append(Problem(report.rel, report.meta.pages_line,
                                             "pages: the query returned no rows, so this report makes no page"))
        return rows, problems

    def cached_query(self, name: str, sql: str, rel: str, line: int) -> QueryResult:
        key = ResultCache.key("query", self.prints.of_sql(sql), sql)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        result = run_query(self.cursor(), Query(name, sql, line), {}, rel, materialize=False)
        self.count_query()
        self.cache.put(key, result)
        return result

    def render_titles(self, pages: list[Page], compiled: dict[str, CompiledReport]) -> tuple[list[Page], list[Problem]]:
        out, found = [], []
        for page in pages:
            if page.templated and page.report is not None and page.report.meta.title:
                try:
                    title = render_title(compiled[page.report.rel], page.report.meta.title, page.params,
                                         page.report.rel, page.report.meta.title_line)
                except SiteError as exc:
                    found.append((exc.problem, page.url))  # the same mistake on many pages: said once, naming them
                    title = page.title
                page = Page(page.url, title, page.report, page.params, page.order, page.hidden, page.templated)
            out.append(page)
        return out, per_page(found)

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

    def count_query(self, n: int = 1) -> None:
        with self._count_lock:
            self.queries_run += n

    # -- pages ----------------------------------------------------------------------------------

    def build_pages(self, pages: list[Page], nav: tuple[NavItem, ...], chosen: list[Page],
                    compiled: dict[str, CompiledReport]) -> list[PageOutcome]:
        """Build the `chosen` pages (all of them, except in the preview) with the whole site's navigation."""
        by_url = {p.url: p for p in pages}
        asset = asset_url_function(self.theme, self.config.base_url)
        env = make_theme_environment(self.theme, {"asset": asset, "site": self.config, "nav": nav,
                                                  "sidebar": self.sidebar, "versioned": self.versioned,
                                                  "has_asset": has_asset_function(self.theme),
                                                  "metrics_page": bool(self.catalog)},
                                     self.config.project / self.config.cache_dir / "theme" if self.use_cache else None)
        self.nav = nav
        self._sidebars: dict[int, str] = {}
        self.theme_env = env
        self.pages_by_url = by_url
        self.site_urls = frozenset(by_url)
        workers = max(1, self.config.worker_count)
        if self.svg is None:
            self.svg = SvgRenderer(self.svg_cache, workers, parallel=len(chosen) >= 8)
        pages = chosen
        progress = Progress(len(pages), self.log)
        try:
            if workers == 1 or len(pages) < 4:
                outcomes = [progress.tick(self.build_page(p, compiled)) for p in pages]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    outcomes = list(pool.map(lambda p: progress.tick(self.build_page(p, compiled)), pages))
            for outcome in outcomes:
                if outcome.charts:
                    self.write_page_with_charts(outcome)
        finally:
            self.svg.close()
        self.write_assets()
        home = self.config.base_url + ("latest/" if self.versioned else "")
        self.render_extra("/404.html", "Page not found", "404.html", base_href=home)
        if self.catalog:
            self.render_extra("/_metrics/", "Metrics", "metrics.html",
                              glossary=glossary(self.catalog, self.pages_by_url.values()))
        return outcomes

    def sidebar(self, page: Page) -> Markup:
        """The navigation for a page: rendered once per folder depth, then the page's own link marked."""
        depth = page.url.count("/") - 1
        html = self._sidebars.get(depth)
        if html is None:
            tree = self.theme_env.get_template("nav.html").module.tree
            html = self._sidebars[depth] = str(tree(self.nav, page_url_function("/" + "x/" * depth)))
        marker = f'data-nav="{escape(page.url)}"'
        return Markup(html.replace(marker, f'{marker} aria-current="page"'))

    def write_page_with_charts(self, outcome: PageOutcome) -> None:
        svgs = {}
        for key in outcome.charts:
            try:
                svgs[key] = self.svg.svg(key)
            except Exception as exc:  # noqa: BLE001 - a chart vl-convert cannot draw is the user's spec
                outcome.problems.append(chart_problem(outcome.page.rel, outcome.chart_calls.get(key), exc))
                svgs[key] = '<p class="gtm-error">This chart could not be drawn.</p>'
        self.write_html(outcome, fill_svgs(outcome.pending_html, svgs))
        outcome.pending_html, outcome.charts = "", {}

    def write_html(self, outcome: PageOutcome, html: str) -> None:
        try:
            self.writer.write(outcome.page.output_path, html)
        except SiteError as exc:
            outcome.problems.append(Problem(outcome.page.rel or outcome.page.url, None, exc.message))

    def vega_url(self) -> str:
        """The URL of the Vega bundle; made (or taken from the cache) the first time a page has a chart."""
        with self._vega_lock:
            if self._vega_url is None:
                data = vega_bundle(self.config.project / self.config.cache_dir)
                name = f"vega.{hashlib.sha256(data).hexdigest()[:10]}.js"
                self.writer.write(f"_assets/{name}", data, immutable=True)
                self._vega_url = f"{self.config.base_url}_assets/{name}"
            return self._vega_url

    def page_keys(self, pages: list[Page], nav: tuple[NavItem, ...]) -> dict[str, str]:
        """Each page's inputs as one hash: its report's text, its parameters, the data its queries read, and
        what all pages share (theme, navigation, page titles, settings). Same key, same page."""
        sitemap = sorted((p.url, p.title) for p in pages)
        shared = hashlib.sha256(f"{__version__}\0{self.theme.fingerprint}\0{nav!r}\0{sitemap!r}\0{self.config!r}\0"
                                f"{self.versioned}".encode()).hexdigest()
        keys = {}
        for page in pages:
            report = page.report
            inputs = f"{report.source_hash}\0{self.page_fingerprint(report)}" if report else repr(page.listing)
            if report and any(c.kind == "freshness" for c in report.checks):
                inputs += self.now.isoformat(timespec="minutes")
            text = f"{page.url}\0{page.title}\0{inputs}\0{sorted(page.params.items())!r}\0{shared}"
            keys[page.url] = hashlib.sha256(text.encode()).hexdigest()[:24]
        return keys

    def reuse_previous(self, page: Page, outcome: PageOutcome) -> bool:
        """Link the previous version's copy of an unchanged page (and its data files) into this version."""
        if self.previous is None or self.writer.root is None or page.report is None:
            return False
        folder, summaries = self.previous
        summary = summaries.get(page.url)
        source = folder / page.output_path
        if summary is None or summary.key != outcome.key or not source.is_file():
            return False
        results, checks, problems, cached = self.page_results(page)
        if not cached or problems:
            return False
        outcome.results, outcome.checks, outcome.cached, outcome.reused = results, checks, True, summary
        self.writer.link(page.output_path, source)
        data = folder / "_data" / page.data_key
        if data.is_dir():
            for item in sorted(data.iterdir()):
                if item.is_file():
                    self.writer.link(f"_data/{page.data_key}/{item.name}", item)
        return True

    def build_page(self, page: Page, compiled: dict[str, CompiledReport]) -> PageOutcome:
        outcome = PageOutcome(page, key=self.keys.get(page.url, ""))
        if self.reuse_previous(page, outcome):
            return outcome
        url = page_url_function(page.url)
        body_html, toc, charts = "", [], {}
        if page.report is not None:
            report = page.report
            results, checks, problems, cached = self.page_results(page)
            outcome.checks, outcome.problems, outcome.cached, outcome.results = checks, problems, cached, results
            for query in report.queries:
                if query.name not in results:
                    results[query.name] = QueryResult(query.name, (), (), (), query.sql, query.line, failed=True)
            body = render_body(compiled[report.rel], report.rel, annotate(report, results, self.catalog), page.params,
                               {"page": page, "site": self.config, "children": self.children(page)},
                               self.show_sql(report), url, lambda name: url(self.data_url(page, name)),
                               page.url, self.site_urls,
                               self.config.project / self.config.cache_dir / "forecasts" if self.use_cache else None)
            outcome.problems += body.problems
            outcome.warnings += body.warnings
            outcome.kpis, outcome.notes = body.kpis, [f"{report.rel}: {n}" for n in body.notes]
            outcome.forecasts = body.forecasts
            body_html, toc, charts = body.html, body.toc, body.charts
            outcome.chart_calls = body.chart_calls
            self.write_data(page, results)
        try:
            html = self.render_page(page, body_html, toc, url, bool(charts))
        except SiteError as exc:
            outcome.problems.append(exc.problem)
        if outcome.problems:
            return outcome
        if charts:
            outcome.charts = {key: self.svg.request(key, spec) for key, spec in charts.items()}
            if all(f.done() for f in outcome.charts.values()):
                outcome.pending_html = html
                self.write_page_with_charts(outcome)
            else:
                outcome.pending_html = html
            return outcome
        self.write_html(outcome, html)
        return outcome

    def page_fingerprint(self, report: Report) -> str:
        """The fingerprint of the data a report's queries read (a change elsewhere leaves it alone)."""
        return self.prints.of_sql(*(q.sql for q in report.queries))

    def show_sql(self, report: Report) -> bool:
        return report.meta.show_sql if report.meta.show_sql is not None else self.config.show_sql

    def children(self, page: Page) -> list[Page]:
        """The pages directly under this page's folder (for section index pages)."""
        if not page.url.endswith("/") or (page.report and not page.report.is_index):
            return []
        return [p for p in self.pages_by_url.values() if p.section == page.url and p.url != page.url]

    @staticmethod
    def data_url(page: Page, query: str) -> str:
        return f"/_data/{page.data_key}/{query}.csv"

    def render_page(self, page: Page, body_html: str, toc: list[dict[str, Any]], url: Callable[[str], str],
                    has_charts: bool) -> str:
        listing = [self.pages_by_url[u] for u in page.listing]
        return self.render_theme("listing.html" if page.report is None else "page.html",
                                 page=page, content=Markup(body_html), toc=toc, url=url, listing=listing,
                                 breadcrumbs=breadcrumbs(page, self.pages_by_url), generated=self.now,
                                 vega_url=self.vega_url() if has_charts else None)

    def render_theme(self, name: str, **variables: Any) -> str:
        """Render a theme template; a mistake in a site's own template is an error at its file and line."""
        try:
            return self.theme_env.get_template(name).render(**variables)
        except jinja2.TemplateError as exc:
            where, line = name, getattr(exc, "lineno", None)
            for frame, lineno in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename.endswith(".html"):
                    where, line = frame.f_code.co_filename, lineno
            path = Path(where)
            shown = path.relative_to(self.config.project).as_posix() if path.is_relative_to(self.config.project) \
                else f"built-in theme {path.name}"
            raise SiteError(f"template error: {exc}", shown, line) from None

    def page_results(self, page: Page) -> tuple[dict[str, QueryResult], list[CheckResult], list[Problem], bool]:
        """The page's query results and page-level check results, from the cache or from DuckDB; on a
        templated page each check result says which page it is about."""
        results, checks, problems, cached = self._page_results(page.report, page.params)
        if page.templated:
            checks = [replace(c, page=page.url) for c in checks]
        return results, checks, problems, cached

    def _page_results(self, report: Report, params: dict[str, Any]
                      ) -> tuple[dict[str, QueryResult], list[CheckResult], list[Problem], bool]:
        names = {q.name for q in report.queries}
        page_checks = [c for c in report.checks if c.target in names and not c.is_history]
        clock = self.now.isoformat(timespec="minutes") if any(c.kind == "freshness" for c in page_checks) else ""
        key = ResultCache.key("page", self.page_fingerprint(report), [(q.name, q.sql) for q in report.queries],
                              [c.text for c in page_checks], sorted(params.items(), key=lambda kv: kv[0]), clock)
        cached = self.cache.get(key)
        if cached is not None:
            results, check_values = cached
            checks = [CheckResult(c, passed, detail) for c, (passed, detail) in zip(page_checks, check_values)]
            return results, checks, [], True
        results, checks, problems = self.run_page_queries(report, params, page_checks)
        if not problems:
            self.cache.put(key, (results, [(c.passed, c.detail) for c in checks]))
        return results, checks, problems, False

    def run_page_queries(self, report: Report, params: dict[str, Any], page_checks: list[Check]
                         ) -> tuple[dict[str, QueryResult], list[CheckResult], list[Problem]]:
        ordered, deps, problems = order_queries(report.queries, report.rel)
        needed_as_table = {d for ds in deps.values() for d in ds} | {c.target for c in page_checks}
        snapshots = self.versioned and self.writer.root is not None  # each result to Parquet, from its temp table
        if snapshots:
            needed_as_table = {q.name for q in report.queries}
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
                    if snapshots:
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

    # -- files besides pages --------------------------------------------------------------------

    def write_data(self, page: Page, results: dict[str, QueryResult]) -> None:
        """The data behind the page: every query's result as CSV (the download links), and in a version
        also as Parquet (the data snapshot; the preview does without)."""
        for name, result in sorted(results.items()):
            if result.failed:
                continue
            folder = f"_data/{page.data_key}"
            self.writer.write(f"{folder}/{name}.csv", download_csv(result.columns, result.rows))
            parquet = self.parquet_file(result) if self.versioned else None
            if parquet is not None:
                self.writer.link(f"{folder}/{name}.parquet", parquet)

    def parquet_file(self, result: QueryResult) -> Path | None:
        """The result as Parquet in the cache (made once per distinct result), to link into the version."""
        if self.writer.root is None:
            return None
        con = getattr(self._local, "scratch", None)
        if con is None:
            con = self._local.scratch = duckdb.connect()
        return parquet_of(result, self.parquet_cache, con)

    @property
    def parquet_cache(self) -> Path:
        return self.config.project / self.config.cache_dir / "parquet"

    def render_extra(self, url: str, title: str, template: str, **variables: Any) -> None:
        """A page the site makes itself (what changed, checks), in the theme, at `url`."""
        page = Page(url, title, None, hidden=True)
        html = self.render_theme(template, page=page, url=page_url_function(url if url.endswith("/") else "/"),
                                 toc=[], breadcrumbs=[], generated=self.now, vega_url=None, **variables)
        self.writer.write(page.output_path if url.endswith("/") else url.lstrip("/"), html)

    def write_assets(self) -> None:
        for asset in self.theme.assets:
            if self.writer.root is None or not (self.writer.root / "_assets" / asset.hashed).exists():
                self.writer.write(f"_assets/{asset.hashed}", asset.path.read_bytes(), immutable=True)


_CHART_CALL = re.compile(r"\b(\w+_chart|histogram|heatmap|chart)\s*\(")


class Progress:
    """`built 250/1000 pages` every tenth of a long build (the CLI hides it in CI and with --quiet)."""

    def __init__(self, total: int, log: Log):
        self.total, self.log, self.done = total, log, 0
        self.step = max(1, total // 10) if total >= 100 else 0
        self.lock = threading.Lock()
        progress.start_pages(log, total)

    def tick(self, outcome: PageOutcome) -> PageOutcome:
        with self.lock:
            self.done += 1
            if self.step and self.done % self.step == 0 and self.done < self.total:
                self.log(f"built {self.done}/{self.total} pages")
            progress.page_done(self.log)
        return outcome
