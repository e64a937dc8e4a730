"""Each page through render and write, in parallel: the pages' half of a build.

    Page -> (its results: batched already, or its own queries) -> linked from the previous version, or
    rendered (pages.py), its charts drawn (drawing/, else vl-convert through svg.py), written (write.py)
    -> PageOutcome

A page whose results are at hand (a templated report's, batched by the execute stage) needs no database:
a big set of them is made in worker processes forked from the build, since the GIL lets threads use one
core only. Pages that run their own queries are made in threads (they share the build's DuckDB). Either
way each page is written as soon as it is made, so memory holds the pages in flight, not the site.
"""

from __future__ import annotations

import gc
import multiprocessing
import re
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

from .checks import CheckResult
from .components import Kpi
from .drawing import draw
from .errors import Problem, SiteError
from .execute import Executed, PageData, QueryRunner, content_key
from .pages import PageRenderer
from .plan import Plan
from .queries import QueryResult
from .site import Page
from .svg import SvgRenderer, chart_problem, fill_svgs
from .versions import PageSummary
from .write import SiteOutput

# Below this many pages with their results at hand, starting worker processes does not pay.
PROCESS_THRESHOLD = 200
_FAILED_CHART = '<p class="gtm-error">This chart could not be drawn.</p>'
_CHART_CALL = re.compile(r"\b(\w+_chart|histogram|heatmap|chart)\s*\(")


@dataclass(frozen=True)
class PageOutcome:
    """What making one page gave: its results and checks, what it found wrong, what the version records."""

    page: Page
    key: str = ""  # the page's inputs and its own results (see execute.content_key)
    results: Mapping[str, QueryResult] = field(default_factory=dict)
    checks: tuple[CheckResult, ...] = ()
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    notes: tuple[str, ...] = ()
    forecasts: tuple[Any, ...] = ()  # the ForecastRecords of the page's charts
    cached: bool = False
    reused: PageSummary | None = None  # the previous version's page, linked instead of rendered again
    charts_drawn: int = 0  # by drawing/, in the process that made the page


@dataclass(frozen=True)
class Unfinished:
    """A rendered page with charts that drawing/ cannot draw: vl-convert draws them, then it is written."""

    outcome: PageOutcome
    html: str  # with a placeholder where each chart goes
    charts: Mapping[str, dict]  # chart key -> spec, for vl-convert
    drawn: Mapping[str, str]  # chart key -> SVG, drawn already
    chart_calls: Mapping[str, tuple[int | None, str]]  # chart key -> (line, component), for its errors


class PageMaker:
    """Makes pages with one build's plan, results, renderer, output and chart renderer."""

    def __init__(self, plan: Plan, executed: Executed, runner: QueryRunner, renderer: PageRenderer,
                 output: SiteOutput, svg: SvgRenderer):
        self.plan = plan
        self.executed = executed
        self.runner = runner
        self.renderer = renderer
        self.output = output
        self.svg = svg

    def prepare(self, page: Page) -> PageOutcome | Unfinished:
        """A page linked from the previous version, or rendered and written (with its charts drawn here);
        or, if vl-convert must draw some of its charts, Unfinished."""
        outcome, data = self.keyed(page)
        reused = self.output.link_previous(page, None if outcome.problems else outcome.key)
        if reused is not None:
            return replace(outcome, reused=reused)
        rendered = self.renderer.render(page, data, self.plan.compiled)
        outcome = replace(outcome, problems=outcome.problems + rendered.problems, warnings=rendered.warnings,
                          kpis=rendered.kpis, notes=rendered.notes, forecasts=rendered.forecasts)
        if data is not None:
            self.output.write_data(page, data.results, self.executed.bulk.get(page.rel, frozenset()))
        if outcome.problems:
            return outcome
        drawn = {key: svg for key, spec in rendered.charts.items() if (svg := draw(spec)) is not None}
        outcome = replace(outcome, charts_drawn=len(drawn))
        if len(drawn) < len(rendered.charts):
            rest = {key: spec for key, spec in rendered.charts.items() if key not in drawn}
            return Unfinished(outcome, rendered.html, rest, drawn, rendered.chart_calls)
        return self.written(outcome, fill_svgs(rendered.html, drawn) if drawn else rendered.html)

    def keyed(self, page: Page) -> tuple[PageOutcome, PageData | None]:
        """The page's outcome before it is made: its key, results and checks (running its own queries, if it
        has any), and its data."""
        outcome = PageOutcome(page, self.plan.keys.get(page.url, ""))
        if page.report is None:
            return outcome, None
        data = self.executed.pages.get(page.url) or self.runner.page_data(page)
        return replace(outcome, key=content_key(self.plan.base_keys[page.url], data), results=data.results,
                       checks=data.checks, problems=data.problems, cached=data.cached), data

    def linked_ahead(self, page: Page) -> PageOutcome | None:
        """A page whose previous copy was linked ahead (write.py) and whose key is the same: made, here and
        now; None for any other page (its copy, if any, removed: it is made as usual)."""
        if not self.output.is_ahead(page.url):
            return None
        outcome, _ = self.keyed(page)
        reused = self.output.link_previous(page, None if outcome.problems else outcome.key)
        return replace(outcome, reused=reused) if reused is not None else None

    def finish(self, unfinished: Unfinished) -> Future[PageOutcome]:
        """The page once vl-convert has drawn its other charts (and the page is written)."""
        charts = {key: self.svg.request(key, spec) for key, spec in unfinished.charts.items()}
        result: Future[PageOutcome] = Future()
        lock = threading.Lock()
        waiting = [len(charts)]

        def one_drawn(_: Future) -> None:
            with lock:
                waiting[0] -= 1
                if waiting[0]:
                    return
            try:
                result.set_result(self.with_charts(unfinished, charts))
            except BaseException as exc:  # noqa: BLE001 - handed on to whoever waits for the page
                result.set_exception(exc)

        for future in charts.values():
            future.add_done_callback(one_drawn)
        return result

    def with_charts(self, unfinished: Unfinished, charts: Mapping[str, Future]) -> PageOutcome:
        svgs, problems = dict(unfinished.drawn), []
        for key, future in charts.items():
            try:
                svgs[key] = future.result()
            except Exception as exc:  # noqa: BLE001 - a chart vl-convert cannot draw is the user's spec
                problems.append(chart_problem(unfinished.outcome.page.rel, unfinished.chart_calls.get(key), exc))
                svgs[key] = _FAILED_CHART
        outcome = unfinished.outcome
        return self.written(replace(outcome, problems=outcome.problems + tuple(problems)),
                            fill_svgs(unfinished.html, svgs))

    def written(self, outcome: PageOutcome, html: str) -> PageOutcome:
        problem = self.output.write_html(outcome.page, html)
        return outcome if problem is None else replace(outcome, problems=(*outcome.problems, problem))

    # -- all of them ----------------------------------------------------------------------------

    def make_all(self, pages: list[Page], workers: int, done: Callable[[], None], processes: bool = True
                 ) -> list[PageOutcome]:
        """Every page's outcome, in the order given; `done()` is called as each page is made. `processes`:
        pages whose results are at hand may be made in worker processes."""
        made: dict[str, PageOutcome | Future[PageOutcome]] = {}
        for page in pages:  # unchanged pages linked ahead: done at once, not sent to a worker
            if page.url in self.executed.pages and (linked := self.linked_ahead(page)) is not None:
                made[page.url] = linked
                done()
        at_hand = [p for p in pages if p.url in self.executed.pages and p.url not in made]
        forked = processes and workers > 1 and len(at_hand) >= PROCESS_THRESHOLD \
            and "fork" in multiprocessing.get_all_start_methods()
        if forked:
            made.update(self.in_processes(at_hand, workers, done))
        rest = [p for p in pages if p.url not in made]

        def one(page: Page) -> PageOutcome | Future[PageOutcome]:
            item = self.prepare(page)
            done()
            return self.finish(item) if isinstance(item, Unfinished) else item

        if workers == 1 or len(rest) < 4:
            made.update((p.url, one(p)) for p in rest)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                made.update(zip((p.url for p in rest), pool.map(one, rest)))
        return [_outcome(made[p.url]) for p in pages]

    def in_processes(self, pages: list[Page], workers: int, done: Callable[[], None]
                     ) -> Iterable[tuple[str, PageOutcome | Future[PageOutcome]]]:
        """Make pages in `workers` processes forked from this one (which has their results and the renderer
        already): each sends back its pages' outcomes, without the results, which this process has."""
        global _FORKED
        if any(_CHART_CALL.search(p.report.body) for p in pages if p.report is not None):
            self.output.vega_url()  # written once, here, not by each process
        self.output.make_parquet_files(self.executed, pages)  # DuckDB is not used after the fork
        size = max(8, min(100, len(pages) // (workers * 10)))
        chunks = [[p.url for p in pages[i:i + size]] for i in range(0, len(pages), size)]
        by_url = {p.url: p for p in pages}
        made: list[tuple[str, PageOutcome | Future[PageOutcome]]] = []
        _FORKED = (self, by_url)
        gc.freeze()  # the pages stay shared with the workers: their garbage collector does not touch them
        pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"), _worker_signals)
        try:
            for future in as_completed([pool.submit(_make_chunk, chunk) for chunk in chunks]):
                for url, item in _unpacked(_chunk_result(future)):
                    item = _with_page(item, by_url[url], self.executed.pages[url].results)
                    made.append((url, self.finish(item) if isinstance(item, Unfinished) else item))
                    done()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl+C or an error: only the chunks under way
            _FORKED = None
            gc.unfreeze()
        return made


_FORKED: tuple[PageMaker, Mapping[str, Page]] | None = None  # what a worker inherits: the maker, its pages


def _worker_signals() -> None:
    """A worker leaves Ctrl+C to the build (which stops the workers) and dies at once on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _make_chunk(urls: list[str]) -> tuple[str, Any]:
    """In a worker: make these pages; their outcomes without results (the build has them), or the error."""
    assert _FORKED is not None
    maker, by_url = _FORKED
    try:
        return "made", [(url, _without_results(maker.prepare(by_url[url]))) for url in urls]
    except SiteError as exc:
        return "site_error", (exc.message, exc.path, exc.line, exc.sql, type(exc).__name__)
    except BaseException:  # noqa: BLE001 - our own bug: sent to the build, which stops with it
        return "crashed", traceback.format_exc()


def _chunk_result(future: Future) -> tuple[str, Any]:
    """A worker's pages; a worker that died (killed, out of memory) is an error, not a build that hangs."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise SiteError("a process making pages stopped before it finished (killed, or out of memory?); run "
                        "again, or set [build] workers = 1 in site.toml to make the pages in one process") from None


def _unpacked(chunk: tuple[str, Any]) -> list[tuple[str, PageOutcome | Unfinished]]:
    kind, value = chunk
    if kind == "made":
        return value
    if kind == "site_error":
        message, path, line, sql, _ = value
        raise SiteError(message, path, line, sql)
    raise RuntimeError(f"a page worker process failed:\n{value}")


def _without_results(item: PageOutcome | Unfinished) -> PageOutcome | Unfinished:
    if isinstance(item, Unfinished):
        return replace(item, outcome=replace(item.outcome, results={}))
    return replace(item, results={})


def _with_page(item: PageOutcome | Unfinished, page: Page, results: Mapping[str, QueryResult]
               ) -> PageOutcome | Unfinished:
    """The outcome with this process's own page and results (a page made in a worker came back as a copy)."""
    if isinstance(item, Unfinished):
        return replace(item, outcome=replace(item.outcome, page=page, results=results))
    return replace(item, page=page, results=results)


def _outcome(item: PageOutcome | Future[PageOutcome]) -> PageOutcome:
    return item.result() if isinstance(item, Future) else item
