"""Render a page: Jinja over the report body, Markdown to HTML, components in, theme around it.

Pure: `render_body` and `render_page` read no files and run no queries; everything they need
(query results, the theme's templates, navigation) is passed in.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import secrets
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path
from types import CodeType
from typing import Any
from xml.etree import ElementTree

import jinja2
import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

from . import charts as _charts  # noqa: F401 - registers the chart components
from .components import COMPONENTS, ComponentContext, Kpi, RenderState, bind_arguments
from .errors import Problem, SiteError
from .files import read_cached, store_in_cache
from .formats import format_value
from .links import broken_links
from .queries import QueryFailed, QueryResult
from .safety import safe_links, shown_url
from .site import relative_url, slugify

_ESCAPES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}|~#'\""} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_text(value: Any) -> Markup:
    """Escape a value for Markdown-then-HTML: HTML specials and Markdown syntax both become entities,
    so `<script>` stays text, `[x](javascript:...)` never becomes a link and `{: onclick=...}` never
    becomes an attribute (attr_list)."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    text = format_value(value) if value is None else str(value)
    return Markup("".join(_ESCAPES.get(c, c) for c in text))


def _finalize(value: Any) -> Any:
    if value is None:
        return Markup(format_value(None))
    return escape_text(value)


def make_body_environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, finalize=_finalize, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = lambda value, fmt=None: format_value(value, fmt)
    env.filters["slug"] = slugify
    env.globals.update(len=len, slug=slugify, min=min, max=max, abs=abs, round=round, sum=sum)
    return env


@dataclass(frozen=True)
class CompiledReport:
    template: jinja2.Template | None
    title: jinja2.Template | None
    problem: Problem | None = None
    source: str = field(default="", repr=False)  # the body, to locate what the rendered page shows


def compile_report(env: jinja2.Environment, rel: str, body: str, title: str | None,
                   code_cache: Path | None = None, title_line: int = 1) -> CompiledReport:
    """Compile a report's body once (templated reports render it once per row); the compiled code is
    kept in `code_cache` by the body's hash, so an unchanged report is not compiled again."""
    try:
        code = _compiled_code(env, rel, body, code_cache)
        template = env.template_class.from_code(env, code, env.make_globals(None), None)
    except jinja2.TemplateSyntaxError as exc:
        return CompiledReport(None, None, Problem(rel, exc.lineno, f"template error: {exc.message}"))
    except (RecursionError, SyntaxError, MemoryError):  # Jinja's parser or Python's compiler gave up
        return CompiledReport(None, None, too_deep(env, rel, body))
    try:
        title_template = env.from_string(title) if title and "{" in title else None
    except jinja2.TemplateSyntaxError as exc:
        return CompiledReport(None, None, Problem(rel, title_line, f"title: template error: {exc.message}"))
    except (RecursionError, SyntaxError, MemoryError):
        return CompiledReport(None, None, Problem(rel, title_line, "title: template error: nested too deeply"))
    return CompiledReport(template, title_template, source=body)


_OPENS = {"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "raw"}
_NESTING = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def too_deep(env: jinja2.Environment, rel: str, body: str) -> Problem:
    """A template nested too deeply to compile (hundreds of brackets, dozens of `{% for %}` inside each
    other), located at the line where its nesting is deepest."""
    depth, deepest, line = 0, 0, None
    try:
        previous = ""
        for lineno, kind, value in env.lex(body):
            if kind == "operator" and value in _NESTING:
                depth += _NESTING[value]
            elif kind == "name" and previous == "block_begin":
                depth += 1 if value in _OPENS else -1 if value.startswith("end") else 0
            if depth > deepest:
                deepest, line = depth, lineno
            if kind not in ("whitespace",):
                previous = kind
    except (jinja2.TemplateSyntaxError, RecursionError):
        pass
    return Problem(rel, line, f"template error: nested too deeply ({deepest} levels of blocks and brackets "
                              "inside each other); flatten it, e.g. with {% elif %}, a macro or a query")


def _compiled_code(env: jinja2.Environment, rel: str, body: str, code_cache: Path | None) -> CodeType:
    if code_cache is None:
        return env.compile(body, name=rel, filename=rel)
    key = hashlib.sha256(f"{jinja2.__version__}\0{sys.version}\0{rel}\0{body}".encode()).hexdigest()
    path = code_cache / f"{key}.code"
    data = read_cached(path)  # checksummed: garbled bytecode is never run, only compiled again
    if data is not None:
        try:
            return marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            pass
    code = env.compile(body, name=rel, filename=rel)
    store_in_cache(path, marshal.dumps(code))
    return code


def render_title(compiled: CompiledReport, title: str, params: dict[str, Any], rel: str, line: int = 1) -> str:
    if compiled.title is None:
        return title
    try:
        return Markup(compiled.title.render(params=params)).unescape()
    except Exception as exc:  # noqa: BLE001 - any template failure becomes a located problem
        raise SiteError(f"title: template error: {exc}", rel, line) from None


@dataclass
class BodyOutput:
    html: str
    toc: list[dict[str, Any]]
    problems: list[Problem]
    kpis: list[Kpi] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used_queries: set[str] = field(default_factory=set)
    charts: dict[str, dict] = field(default_factory=dict)
    forecasts: list[Any] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    chart_calls: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # where each chart was called


def render_body(compiled: CompiledReport, rel: str, results: dict[str, QueryResult], params: dict[str, Any],
                page_vars: dict[str, Any], show_sql: bool, url: Callable[[str], str],
                data_url: Callable[[str], str], page_url: str = "/",
                site_urls: frozenset[str] | None = None, forecast_cache: Path | None = None) -> BodyOutput:
    """Jinja, then Markdown, then the components' HTML put in place of their placeholders. With
    `site_urls` (every page of the site), a link to no page is a warning."""
    if compiled.template is None:
        return BodyOutput("", [], [compiled.problem] if compiled.problem else [])
    state = RenderState(forecast_cache=forecast_cache)
    ctx = ComponentContext(results, show_sql, url, data_url, state)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    fragments: list[str] = []
    nonce = secrets.token_hex(6)
    functions = {name: _bind(name, fn, ctx, compiled.template, rel, (problems, warnings), fragments, nonce)
                 for name, fn in COMPONENTS.items()}
    variables = {**page_vars, **functions, **results, "params": params, "url": url}
    try:
        text = compiled.template.render(variables)
    except QueryFailed:
        return BodyOutput("", [], problems)
    except Exception as exc:  # noqa: BLE001 - any template failure becomes a located problem
        problems.append(_template_problem(exc, rel, results))
        return BodyOutput("", [], problems)
    md = _markdown(url)
    html = md.convert(text)
    toc = _plain_toc(getattr(md, "toc_tokens", []))
    html = put_components(html, nonce, fragments)
    if site_urls is not None:
        warnings += broken_links(md.gtm_holder["links"], page_url, site_urls, rel, compiled.source)
    html, removed = safe_links(html)
    state.notes += [f"a link to {shown_url(u)} was made plain text: only http, https, mailto and relative links "
                    "are kept" for u in dict.fromkeys(removed)]
    return BodyOutput(html, toc, problems, state.kpis, state.notes, state.used_queries, state.charts,
                      forecasts=state.forecasts, warnings=warnings, chart_calls=state.chart_calls)


def _plain_toc(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The toc's names as plain text: Markdown gives them HTML-escaped, and the theme escapes them again."""
    return [{**t, "name": html_unescape(t.get("name", "")), "children": _plain_toc(t.get("children", []))}
            for t in tokens]


def put_components(html: str, nonce: str, fragments: list[str]) -> str:
    """Put each component's HTML where its placeholder is. Components stand in the Markdown as
    `gtmX<nonce>X<n>Xgtm` (the nonce is new for every page, so data can never spell one); a paragraph
    made of placeholders only is replaced whole, so a block (a table, a chart) is not left inside <p>."""
    def fragment(match: re.Match) -> str:
        index = int(match.group(2))
        return fragments[index] if match.group(1) == nonce and index < len(fragments) else match.group(0)

    def alone(match: re.Match) -> str:
        if any(found.group(1) != nonce for found in _PLACEHOLDER.finditer(match.group(1))):
            return match.group(0)  # text that only looks like placeholders (the page's nonce is secret)
        return _PLACEHOLDER.sub(fragment, match.group(1)).strip()

    html = _PLACEHOLDERS_ALONE.sub(alone, html)
    return _PLACEHOLDER.sub(fragment, html)


# A component's placeholder (see put_components), and a paragraph of nothing else: compiled once, not per page.
_PLACEHOLDER = re.compile(r"gtmX([0-9a-f]+)X(\d+)Xgtm")
_PLACEHOLDERS_ALONE = re.compile(r"<p>((?:\s*gtmX[0-9a-f]+X\d+Xgtm)+)\s*</p>")


def _bind(name: str, fn: Callable[..., str], ctx: ComponentContext, template: jinja2.Template, rel: str,
          found: tuple[list[Problem], list[Problem]], fragments: list[str], nonce: str) -> Callable[..., Markup]:
    problems, warnings = found

    def call(*args: Any, **kwargs: Any) -> Markup:
        line = _calling_line(template, rel)
        said = len(ctx.state.warnings)
        try:
            bind_arguments(fn, name, args, kwargs)
            html = fn(ctx, *args, **kwargs)
        except QueryFailed as exc:
            html = f'<div class="gtm-error">{escape(name)}: {escape(exc.message)}</div>'
        except SiteError as exc:
            problems.append(Problem(rel, line, f"{name}: {exc.message}"))
            html = f'<div class="gtm-error">{escape(name)}: {escape(exc.message)}</div>'
        except (TypeError, ValueError, ArithmeticError) as exc:  # e.g. an argument of the wrong kind
            problems.append(Problem(rel, line, f"{name}: {type(exc).__name__}: {exc}"))
            html = f'<div class="gtm-error">{escape(name)}: {escape(str(exc))}</div>'
        warnings.extend(Problem(rel, line, f"{name}: {w}") for w in ctx.state.warnings[said:])
        for key in ctx.state.charts:
            ctx.state.chart_calls.setdefault(key, (line, name))
        fragments.append(html)
        return Markup(f"gtmX{nonce}X{len(fragments) - 1}Xgtm")
    call.__name__ = name
    return call


def _calling_line(template: jinja2.Template, rel: str) -> int | None:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == rel:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _template_problem(exc: Exception, rel: str, results: dict[str, QueryResult]) -> Problem:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == rel:
            line = lineno
    if isinstance(exc, SiteError):
        return Problem(rel, line, exc.message)
    if isinstance(exc, jinja2.UndefinedError):
        known = ", ".join(results) or "none"
        return Problem(rel, line, f"{exc.message} (queries on this page: {known}; "
                                  f"check the spelling or add a ```sql NAME fence)")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem(rel, exc.lineno, f"template error: {exc.message}")
    return Problem(rel, line, f"template error: {type(exc).__name__}: {exc}")


class _LinkRewriter(Treeprocessor):
    """Root-relative links in Markdown (`/channels/x/`) become relative to the page."""

    def __init__(self, md: markdown.Markdown, holder: dict[str, Any]):
        super().__init__(md)
        self.holder = holder

    def run(self, root: ElementTree.Element) -> None:
        url = self.holder["url"]
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value:
                    self.holder["links"].append(value)
                if value and value.startswith("/") and not value.startswith("//"):
                    element.set(attribute, url(value))


class _LinkExtension(Extension):
    def __init__(self, holder: dict[str, Any]):
        super().__init__()
        self.holder = holder

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API name
        md.treeprocessors.register(_LinkRewriter(md, self.holder), "gtm_links", 1)


_local = threading.local()


def _markdown(url: Callable[[str], str]) -> markdown.Markdown:
    """A Markdown converter per thread (they are not thread-safe), reset for each page."""
    md = getattr(_local, "md", None)
    if md is None:
        holder: dict[str, Any] = {}
        md = markdown.Markdown(extensions=["tables", "fenced_code", "footnotes", "admonition", "attr_list",
                                           "sane_lists", "def_list", "toc", _LinkExtension(holder)],
                               extension_configs={"toc": {"permalink": False, "toc_depth": "2-3"}})
        md.gtm_holder = holder
        _local.md = md
    md.reset()
    md.gtm_holder["url"] = url
    md.gtm_holder["links"] = []
    return md


def page_url_function(page_url: str) -> Callable[[str], str]:
    return lambda target: relative_url(target, page_url)
