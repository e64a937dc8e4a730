"""The render stage: a page's HTML in the theme, from its report and its results (no query, no file).

    (Page, PageData) -> RenderedPage: the HTML, with a placeholder where each chart's SVG goes

Charts are drawn afterwards (svg.py) and put in place by the write stage.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from .components import Kpi
from .config import Config
from .errors import Problem, SiteError
from .execute import PageData
from .metricfences import annotate
from .metrics import MetricCatalog
from .queries import QueryResult
from .render import CompiledReport, page_url_function, render_body
from .reports import Report
from .site import NavItem, Page, breadcrumbs
from .theme import Theme, asset_url_function, has_asset_function, make_theme_environment


@dataclass(frozen=True)
class RenderedPage:
    page: Page
    html: str  # empty when the page could not be rendered (see problems)
    charts: Mapping[str, dict]  # chart key -> the spec of its static SVG
    problems: tuple[Problem, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()  # e.g. a broken link
    forecasts: tuple[Any, ...] = ()  # the ForecastRecords of the page's charts
    chart_calls: Mapping[str, tuple[int | None, str]] = field(default_factory=dict)  # hash -> (line, component)


def data_url(page: Page, query: str) -> str:
    return f"/_data/{page.data_key}/{query}.csv"


class PageRenderer:
    """The theme side of a build: its environment, the navigation rendered once per folder depth."""

    def __init__(self, config: Config, theme: Theme, nav: tuple[NavItem, ...], pages: Mapping[str, Page],
                 versioned: bool, now: dt.datetime, vega_url: Callable[[], str], theme_cache: Path | None,
                 forecast_cache: Path | None = None, catalog: MetricCatalog | None = None):
        """`forecast_cache`: where fitted forecasts are kept between builds (None: not kept); `catalog`: the
        metrics, whose labels, formats and descriptions the results' columns carry."""
        self.catalog = catalog if catalog is not None else MetricCatalog()
        self.config = config
        self.nav = nav
        self.pages_by_url = pages
        self.site_urls = frozenset(pages)  # for broken-link warnings
        self.forecast_cache = forecast_cache
        self.now = now
        self.vega_url = vega_url
        self._sidebars: dict[int, str] = {}
        self.env = make_theme_environment(theme, {"asset": asset_url_function(theme, config.base_url), "site": config,
                                                  "nav": nav, "sidebar": self.sidebar, "versioned": versioned,
                                                  "has_asset": has_asset_function(theme),
                                                  "metrics_page": bool(self.catalog)}, theme_cache)

    def sidebar(self, page: Page) -> Markup:
        """The navigation for a page: rendered once per folder depth, then the page's own link marked."""
        depth = page.url.count("/") - 1
        html = self._sidebars.get(depth)
        if html is None:
            tree = self.env.get_template("nav.html").module.tree
            html = self._sidebars[depth] = str(tree(self.nav, page_url_function("/" + "x/" * depth)))
        marker = f'data-nav="{escape(page.url)}"'
        return Markup(html.replace(marker, f'{marker} aria-current="page"'))

    def render(self, page: Page, data: PageData | None, compiled: Mapping[str, CompiledReport]) -> RenderedPage:
        url = page_url_function(page.url)
        body_html, toc, charts, problems, kpis, notes = "", [], {}, [], [], []
        warnings: list[Problem] = []
        forecasts: list[Any] = []
        chart_calls: dict[str, tuple[int | None, str]] = {}
        if page.report is not None and data is not None:
            report = page.report
            results = dict(data.results)
            for query in report.queries:
                if query.name not in results:
                    results[query.name] = QueryResult(query.name, (), (), (), query.sql, query.line, failed=True)
            body = render_body(compiled[report.rel], report.rel, annotate(report, results, self.catalog), page.params,
                               {"page": page, "site": self.config, "children": self.children(page)},
                               self.show_sql(report), url, lambda name: url(data_url(page, name)),
                               page.url, self.site_urls, self.forecast_cache)
            problems += body.problems
            warnings += body.warnings
            forecasts = list(body.forecasts)
            chart_calls = dict(body.chart_calls)
            kpis, notes = body.kpis, [f"{report.rel}: {n}" for n in body.notes]
            body_html, toc, charts = body.html, body.toc, body.charts
        html = ""
        try:
            html = self.render_page(page, body_html, toc, url, bool(charts))
        except SiteError as exc:
            problems.append(exc.problem)
        return RenderedPage(page, html, charts, tuple(problems), tuple(kpis), tuple(notes), tuple(warnings),
                            tuple(forecasts), chart_calls)

    def show_sql(self, report: Report) -> bool:
        return report.meta.show_sql if report.meta.show_sql is not None else self.config.show_sql

    def children(self, page: Page) -> list[Page]:
        """The pages directly under this page's folder (for section index pages)."""
        if not page.url.endswith("/") or (page.report and not page.report.is_index):
            return []
        return [p for p in self.pages_by_url.values() if p.section == page.url and p.url != page.url]

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
            return self.env.get_template(name).render(**variables)
        except jinja2.TemplateError as exc:
            where, line = name, getattr(exc, "lineno", None)
            for frame, lineno in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename.endswith(".html"):
                    where, line = frame.f_code.co_filename, lineno
            path = Path(where)
            shown = path.relative_to(self.config.project).as_posix() if path.is_relative_to(self.config.project) \
                else f"built-in theme {path.name}"
            raise SiteError(f"template error: {exc}", shown, line) from None

    def render_extra(self, url: str, title: str, template: str, **variables: Any) -> tuple[str, str]:
        """A page the site makes itself (what changed, checks), in the theme: (its file, its HTML)."""
        page = Page(url, title, None, hidden=True)
        html = self.render_theme(template, page=page, url=page_url_function(url if url.endswith("/") else "/"),
                                 toc=[], breadcrumbs=[], generated=self.now, vega_url=None, **variables)
        return (page.output_path if url.endswith("/") else url.lstrip("/")), html
