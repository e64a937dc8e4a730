"""The plan stage: which pages the site has, its navigation, and each page's input key.

    reports -> compile -> templated rows (`pages:` queries) -> pages -> titles -> navigation -> keys

Nothing is rendered or written here; the only queries are templated reports' `pages:` queries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config
from .errors import BuildFailed, Problem, SiteError, per_page, raise_if_any
from .metrics import MetricCatalog
from .queries import QueryResult
from .render import CompiledReport, compile_report, make_body_environment, render_title
from .reports import Report, read_reports
from .site import NavItem, Page, build_nav, plan_pages

PagesQuery = Callable[[str, str, str, int], QueryResult]  # (name, sql, report, line) -> result


@dataclass(frozen=True)
class Plan:
    reports: tuple[Report, ...]
    compiled: Mapping[str, CompiledReport]  # by report
    pages: tuple[Page, ...]
    nav: tuple[NavItem, ...]
    keys: Mapping[str, str]  # a page's inputs, with the fingerprint of the data its queries read
    base_keys: Mapping[str, str]  # a page's inputs without the data (its results complete its key)
    problems: tuple[Problem, ...] = ()  # not of one page (a report that did not parse...): the build fails
    warnings: tuple[Problem, ...] = ()  # not of one page (a report's unknown key, a `pages:` query with no rows)
    catalog: MetricCatalog = field(default_factory=MetricCatalog)  # sources/metrics.yml

    @property
    def by_url(self) -> dict[str, Page]:
        return {p.url: p for p in self.pages}


@dataclass(frozen=True)
class KeyInputs:
    """What every page's key shares, and the clock (for pages with freshness checks)."""

    theme: str
    config: Config
    versioned: bool
    now: dt.datetime


def plan_site(config: Config, pages_query: PagesQuery, fingerprint: Callable[[Report], str], inputs: KeyInputs,
              code_cache: Path | None, check_sources: Callable[[], None] | None = None,
              compile_metrics: Callable[[list[Report]], tuple[list[Report], list[Problem], MetricCatalog]] | None = None
              ) -> Plan:
    """Read and compile the reports, expand templated ones into pages, and key every page. The mistakes
    found on the way are the plan's `problems` (the build goes on, so that one run shows them all with the
    pages' own); `check_sources` (raising BuildFailed) is called when a report did not parse, so that a
    source that does not load is said too; `compile_metrics` reads the metrics and turns `metrics` fences
    into SQL."""
    reports, unread = read_reports(config.reports_dir, config.project)
    catalog = MetricCatalog()
    if compile_metrics is not None:  # `metrics` fences become SQL before anything reads the reports' queries
        reports, metric_problems, catalog = compile_metrics(reports)
        unread += metric_problems
    if not config.reports_dir.is_dir():
        raise_if_any([Problem("reports/", None, "no reports/ folder: write reports/index.md")])
    warnings = [w for r in reports for w in r.warnings]
    if unread and check_sources is not None:  # the build fails: if the sources fail too, say both
        try:
            check_sources()
        except BuildFailed as exc:
            raise BuildFailed(unread + exc.problems, exc.exit_code) from None
    env = make_body_environment()
    compiled = {r.rel: compile_report(env, r.rel, r.body, r.meta.title, code_cache, r.meta.title_line)
                for r in reports}
    template_rows, problems, empty = templated_rows(reports, pages_query)
    warnings += empty
    pages, plan_problems = plan_pages(reports, template_rows, config.title)
    problems += plan_problems
    problems += [c.problem for c in compiled.values() if c.problem]
    pages, title_problems = render_titles(pages, compiled)
    problems = unread + problems + title_problems  # reported with the pages' own, so one run shows them all
    nav = build_nav(pages)
    base = base_keys(pages, nav, inputs)
    keys = {p.url: hashlib.sha256(f"{base[p.url]}\0{fingerprint(p.report) if p.report else ''}".encode())
            .hexdigest()[:24] for p in pages}
    return Plan(tuple(reports), compiled, tuple(pages), nav, keys, base, tuple(problems), tuple(warnings), catalog)


def templated_rows(reports: list[Report], pages_query: PagesQuery
                   ) -> tuple[dict[str, list[dict[str, Any]]], list[Problem], list[Problem]]:
    """Run each templated report's `pages` query: one dict of parameters per page; the problems, and
    the warnings (a query with no rows)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for report in reports:
        if report.param is None:
            continue
        sql = report.meta.pages
        if not sql:
            problems.append(Problem(report.rel, 1, f"a templated report needs a `pages:` query in its front "
                                    f"matter, e.g. pages: select distinct {report.param} from ..."))
            continue
        try:
            result = pages_query("pages", sql, report.rel, report.meta.pages_fence_line)
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
            warnings.append(Problem(report.rel, report.meta.pages_line,
                                    "pages: the query returned no rows, so this report makes no page"))
    return rows, problems, warnings


def render_titles(pages: list[Page], compiled: Mapping[str, CompiledReport]) -> tuple[list[Page], list[Problem]]:
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


def base_keys(pages: list[Page], nav: tuple[NavItem, ...], inputs: KeyInputs) -> dict[str, str]:
    """Each page's inputs as one hash, without the data: its report's text, its parameters, and what all
    pages share (theme, navigation, page titles, settings)."""
    sitemap = sorted((p.url, p.title) for p in pages)
    shared = hashlib.sha256(f"{__version__}\0{inputs.theme}\0{nav!r}\0{sitemap!r}\0{inputs.config!r}\0"
                            f"{inputs.versioned}".encode()).hexdigest()
    keys = {}
    for page in pages:
        report = page.report
        text = report.source_hash if report else repr(page.listing)
        if report and any(c.kind == "freshness" for c in report.checks):
            text += inputs.now.isoformat(timespec="minutes")
        text = f"{page.url}\0{page.title}\0{text}\0{sorted(page.params.items())!r}\0{shared}"
        keys[page.url] = hashlib.sha256(text.encode()).hexdigest()
    return keys
