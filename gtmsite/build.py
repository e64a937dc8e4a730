"""`gtmsite build` and `gtmsite check` as a straight line of stages that pass frozen values:

    plan (plan.py: pages, navigation, keys) -> execute (execute.py: queries, checks, cache; templated
    reports batched) -> each page (makepages.py): render (pages.py: HTML; drawing/ and svg.py: charts)
    -> write (write.py: files, data, assets) -> PageOutcome

Pages stream through render and write as their results arrive (in threads, or in worker processes for
a big templated report), so memory holds what is in flight, not the whole site. Nothing is published
unless the whole site built without errors: pages are written to a staging folder that `publish` moves
into place.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import progress
from .checks import CheckResult
from .config import Config
from .errors import Problem, per_page
from .execute import Executed, QueryRunner, execute_batched
from .makepages import PageMaker, PageOutcome
from .metricfences import checked_catalog, compile_fences, glossary
from .metrics import MetricCatalog, read_metrics
from .output import Writer
from .pages import PageRenderer
from .plan import KeyInputs, Plan, plan_site
from .queries import ResultCache
from .reports import Report
from .site import Page
from .sources import Database, SourceSet, discover_sources, fingerprints
from .svg import SvgRenderer
from .theme import Theme, load_theme
from .versions import PageSummary
from .warehouse import FetchPolicy
from .write import SiteOutput

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


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
    plan: Plan | None = None  # the pages' navigation, keys and the metrics, for what is made after the pages

    @property
    def catalog(self) -> MetricCatalog:
        """The site's metrics (sources/metrics.yml)."""
        return self.plan.catalog if self.plan is not None else MetricCatalog()

    @property
    def linked(self) -> int:
        """Pages linked from the previous version (their inputs and results did not change)."""
        return sum(1 for o in self.outcomes if o.reused is not None)

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
    """One build (or check) of a site: sets up its effects (database, caches, writer), then runs the stages,
    each of which takes and returns values; the Builder itself is not filled in as they run."""

    def __init__(self, config: Config, writer: Writer, log: Log = _quiet, use_cache: bool = True,
                 versioned: bool = False, database: Database | None = None,
                 select_pages: Callable[[Plan], list[Page]] | None = None,
                 previous: tuple[Path, dict[str, PageSummary]] | None = None, debug: Log = _quiet,
                 fetch: FetchPolicy | None = None, processes: bool = True):
        """`database` lets the preview server keep the loaded sources between rebuilds; `select_pages`
        lets it rebuild only the pages whose keys changed; `previous` (a version's folder and its pages)
        lets a build link the pages whose inputs did not change instead of rendering them again; `debug`
        hears how queries run; `fetch` says which stored results of external source queries to use (the
        preview keeps them between rebuilds); `processes`: a big site's pages may be made in worker processes
        (the preview, a server with threads of its own, makes them in threads)."""
        self.config = config
        self.writer = writer
        self.log = log
        self.now = now_utc()
        self.use_cache = use_cache
        self.versioned = versioned
        self.sources: SourceSet = discover_sources(config, fetch or FetchPolicy(force=not use_cache, log=log))
        self.prints = fingerprints(self.sources, config)
        self.fingerprint = self.prints.site
        db = database if database is not None and database.sources == self.sources else Database(config, self.sources)
        self.select_pages = select_pages
        self.processes = processes
        self.cache = ResultCache(self.cache_dir("results"))
        self.theme: Theme = load_theme(config)
        self.runner = QueryRunner(config, self.sources, self.prints, db, self.cache, self.now,
                                  versioned and writer.root is not None, debug)
        self.output = SiteOutput(writer, config, self.theme, versioned, previous, self.runner.scratch)

    def cache_dir(self, name: str) -> Path | None:
        return self.config.project / self.config.cache_dir / name if self.use_cache else None

    @property
    def db(self) -> Database:
        return self.runner.db

    @db.setter
    def db(self, database: Database) -> None:
        self.runner.db = database

    def cursor(self):  # noqa: ANN201 - this thread's DuckDB cursor on the loaded sources
        return self.runner.cursor()

    @property
    def queries_run(self) -> int:
        return self.runner.queries_run

    # -- the stages -----------------------------------------------------------------------------

    def run(self) -> BuildResult:
        started = time.perf_counter()
        plan = plan_site(self.config, self.runner.cached_query, self.runner.page_fingerprint,
                         KeyInputs(self.theme.fingerprint, self.config, self.versioned, self.now),
                         self.cache_dir("templates"), lambda: self.db.cursor().close(), self.compile_metrics)
        problems = list(plan.problems)
        self.log(f"{len(plan.reports)} reports, {len(plan.pages)} pages")
        pages = list(plan.pages)
        chosen = self.select_pages(plan) if self.select_pages else pages
        chosen = [p for p in chosen if p.report is None or plan.compiled[p.report.rel].problem is None]
        workers = max(1, self.config.worker_count)
        svg = SvgRenderer(self.cache_dir("svg"), workers, parallel=len(chosen) >= 8)
        if any(needs_vl_convert(r.body) for r in plan.reports):
            svg.warm_up()
        self.output.link_ahead(chosen, plan.base_keys)
        try:
            executed = execute_batched(self.runner, list(plan.reports), chosen)
            problems += executed.problems
            self.output.finish_linking_ahead()
            # A build that fails still makes its pages, for their own errors, but writes them nowhere.
            output = self.output.nowhere() if problems else self.output
            output.link_snapshots(executed.snapshots)
            outcomes = self.build_pages(plan, chosen, executed, output, svg)
            self.output.drop_ahead({o.page.url for o in outcomes} if output is self.output else set())
        finally:
            self.output.finish_linking_ahead()
            svg.close()
        notes = list(self.sources.notes) + [n for o in outcomes for n in o.notes]
        all_checks = list(executed.table_checks) + [c for o in outcomes for c in o.checks]
        return BuildResult(self.config, pages, outcomes, all_checks, notes, self.fingerprint,
                           time.perf_counter() - started, self.queries_run, self.cache.hits,
                           svg.rendered + sum(o.charts_drawn for o in outcomes), svg.cached, problems,
                           list(plan.warnings), plan)

    def compile_metrics(self, reports: list[Report]) -> tuple[list[Report], list[Problem], MetricCatalog]:
        """Read sources/metrics.yml and compile the reports' `metrics` fences to SQL."""
        catalog, metric_problems = read_metrics(self.config.project, self.sources.tables)
        problems = metric_problems or checked_catalog(catalog, self.runner.cache, self.prints, self.cursor)
        reports, fence_problems = compile_fences(reports, catalog, not metric_problems)
        return reports, problems + fence_problems, catalog

    def renderer(self, plan: Plan) -> PageRenderer:
        """The theme side of the build, for the pages of this plan."""
        return PageRenderer(self.config, self.theme, plan.nav, plan.by_url, self.versioned, self.now,
                            self.output.vega_url, self.cache_dir("theme"), self.cache_dir("forecasts"), plan.catalog)

    def build_pages(self, plan: Plan, chosen: list[Page], executed: Executed, output: SiteOutput,
                    svg: SvgRenderer) -> list[PageOutcome]:
        """Make the `chosen` pages (all of them, except in the preview) with the whole site's navigation
        (makepages.py), then the theme's assets and the pages the site makes itself."""
        renderer = self.renderer(plan)
        maker = PageMaker(plan, executed, self.runner, renderer, output, svg)
        progress = Progress(len(chosen), self.log)
        outcomes = maker.make_all(chosen, max(1, self.config.worker_count), progress.tick,
                                  processes=self.processes)
        output.write_assets()
        extras = ExtraPages(renderer, output.writer)
        home = self.config.base_url + ("latest/" if self.versioned else "")
        extras.write("/404.html", "Page not found", "404.html", base_href=home)
        if plan.catalog:
            extras.write("/_metrics/", "Metrics", "metrics.html", glossary=glossary(plan.catalog, plan.by_url.values()))
        return outcomes

    def extra_pages(self, result: BuildResult) -> ExtraPages:
        """What writes the pages the site makes itself after a build (what changed, checks), in its theme."""
        assert result.plan is not None
        return ExtraPages(self.renderer(result.plan), self.writer)


@dataclass(frozen=True)
class ExtraPages:
    """Pages the site makes itself (what changed, checks, 404), in the theme, through the build's writer."""

    renderer: PageRenderer
    writer: Writer

    @property
    def env(self):  # noqa: ANN201 - the theme's jinja2 Environment
        return self.renderer.env

    def write(self, url: str, title: str, template: str, **variables: Any) -> None:
        path, html = self.renderer.render_extra(url, title, template, **variables)
        self.writer.write(path, html)


# Chart calls that will need vl-convert (which takes most of a second to start): line charts and vertical
# bars of one series (with their values or not) are mostly drawn by gtmsite itself (drawing/), so a site of
# them alone does not start it ahead of time.
_CHART_CALL = re.compile(r"\b(\w+_chart|histogram|heatmap|chart)\s*\(([^}]*)")
_NOT_DRAWN_BARS = re.compile(r"\b(horizontal|series|colors)\s*=|y\s*=\s*\[")


def needs_vl_convert(body: str) -> bool:
    """Whether a report's chart calls include one that gtmsite does not draw itself (a guess from the text:
    it decides only whether vl-convert starts early)."""
    for name, arguments in _CHART_CALL.findall(body):
        if name == "line_chart" or name == "bar_chart" and not _NOT_DRAWN_BARS.search(arguments):
            continue
        return True
    return False


class Progress:
    """`built 250/1000 pages` every tenth of a long build (the CLI hides it in CI and with --quiet)."""

    def __init__(self, total: int, log: Log):
        self.total, self.log, self.done = total, log, 0
        self.step = max(1, total // 10) if total >= 100 else 0
        self.lock = threading.Lock()
        progress.start_pages(log, total)

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.step and self.done % self.step == 0 and self.done < self.total:
                self.log(f"built {self.done}/{self.total} pages")
            progress.page_done(self.log)
