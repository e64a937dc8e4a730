"""A version as one PDF: cover, table of contents with page numbers, every page with its static charts.

    version folder -> pages in navigation order (each page's <article>) -> the theme's pdf.html
                   -> Chromium prints it (pass 1: where each page starts) -> again with the page numbers

The pages are read from the version's own files (so `gtmsite pdf` works on any published version and
`build --pdf` on the staged one). Charts are already SVG in the page, so the printed document needs no
script: JavaScript is off and every request other than the version's own files is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from markupsafe import Markup

from .config import Config
from .errors import ConfigError, SiteError
from .theme import load_theme, make_theme_environment
from .versions import MANIFEST

PDF_FILE = "site.pdf"
_SKIPPED = ("_changes", "_checks", "_assets", "_data", "_pagefind")
_ARTICLE = re.compile(r'<article class="report[^"]*"[^>]*>')
_ARTICLE_TAG = re.compile(r"<(/?)article\b", re.I)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.I | re.S)
_ATTR = re.compile(r'\b(href|src|id)="([^"]*)"')
_URL_REF = re.compile(r'="url\(#([^)"]+)\)"')  # an SVG reference to an element id (clip paths)
_NAV = re.compile(r'data-nav="([^"]*)"')
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class VersionInfo:
    id: str
    label: str
    created: str  # ISO 8601

    @property
    def chosen_label(self) -> str:
        """The label when someone chose one (`--label`), not the default date and time of the build."""
        default = re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", self.label)
        return "" if default or self.label in ("", self.id) else self.label


@dataclass(frozen=True)
class PdfPage:
    url: str
    title: str
    anchor: str  # "p3": the page's id inside the document
    html: Markup  # the page's article, its links pointing inside the document


@dataclass(frozen=True)
class PdfResult:
    path: Path
    pages: int  # site pages in the document
    sheets: int  # PDF pages


def version_info(folder: Path) -> VersionInfo:
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["version"]
        return VersionInfo(record["id"], record.get("label", ""), record.get("created", ""))
    except (OSError, ValueError, KeyError, TypeError):
        raise SiteError("not a published version (no readable _version.json)", str(folder)) from None


def page_order(folder: Path) -> list[tuple[str, str]]:
    """(url, title) of the version's pages in the order of its navigation; a page the navigation does
    not list (a templated page, a hidden one) follows the nearest page above it that it does list."""
    titles = _titles(folder)
    home = folder / "index.html"
    nav = list(dict.fromkeys(_NAV.findall(home.read_text(encoding="utf-8")))) if home.is_file() else []
    nav = [u for u in nav if u in titles]
    rest = [u for u in titles if u not in nav]
    order: list[str] = []
    for url in nav:
        order.append(url)
        order += [u for u in rest if _parent_in(u, nav) == url and url != "/"]
    order += [u for u in rest if u not in order]
    glossary = folder / "_metrics" / "index.html"
    if glossary.is_file():
        order.append("/_metrics/")
        titles["/_metrics/"] = titles.get("/_metrics/", "")
    return [(u, titles[u]) for u in order]


def _titles(folder: Path) -> dict[str, str]:
    try:
        pages = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["pages"]
        return {p["url"]: p.get("title", "") for p in pages if (folder / p["url"].strip("/") / "index.html").is_file()}
    except (OSError, ValueError, KeyError, TypeError):
        urls = ["/" + "".join(f"{p}/" for p in path.parent.relative_to(folder).parts)
                for path in sorted(folder.rglob("index.html"))]
        return {u: "" for u in urls if not u.startswith(tuple(f"/{s}/" for s in _SKIPPED))}


def _parent_in(url: str, nav: list[str]) -> str | None:
    parent = url
    while parent != "/":
        parent = posixpath.dirname(parent.rstrip("/")).rstrip("/") + "/"
        if parent in nav:
            return parent
    return None


def select_pages(order: list[tuple[str, str]], wanted: Sequence[str]) -> list[tuple[str, str]]:
    """The pages named on the command line (`pipeline`, `/channels/organic/`), in document order."""
    if not wanted:
        return order
    known = {u for u, _ in order}
    chosen = set()
    for name in wanted:
        url = "/" + name.strip("/") + "/" if name.strip("/") else "/"
        if url not in known:
            shown = ", ".join(u for u, _ in order[:8]) + (", ..." if len(order) > 8 else "")
            raise ConfigError(f"pdf: no page '{name}' in this version (pages: {shown})")
        chosen.add(url)
    return [(u, t) for u, t in order if u in chosen]


def extract_article(html: str) -> str | None:
    """The inside of the page's `<article class="report">` (nested articles counted)."""
    start = _ARTICLE.search(html)
    if start is None:
        return None
    depth = 1
    for tag in _ARTICLE_TAG.finditer(html, start.end()):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return html[start.end():tag.start()]
    return html[start.end():]


def document_pages(folder: Path, order: list[tuple[str, str]], site_url: str, version_id: str) -> list[PdfPage]:
    anchors = {url: f"p{n}" for n, (url, _) in enumerate(order, start=1)}
    pages = []
    for url, title in order:
        html = (folder / url.strip("/") / "index.html").read_text(encoding="utf-8")
        body = extract_article(html)
        if body is None or _is_listing(body):
            continue
        if not title:
            heading = _H1.search(body)
            title = _TAGS.sub("", heading.group(1)).strip() if heading else url
        body = _SCRIPT.sub("", body)
        body = _ATTR.sub(functools.partial(_rewrite, page_url=url, anchors=anchors, folder=folder, site_url=site_url,
                                           version_id=version_id), body)
        body = _URL_REF.sub(lambda m, a=anchors[url]: f'="url(#{a}-{m.group(1)})"', body)
        pages.append(PdfPage(url, title, anchors[url], Markup(body)))
    return pages


def _is_listing(body: str) -> bool:
    """A generated section index (only a list of links to its pages): the table of contents says that."""
    return '<ul class="listing">' in body and "gtm-" not in body


def _rewrite(match: re.Match, page_url: str, anchors: dict[str, str], folder: Path, site_url: str,
             version_id: str) -> str:
    attr, value = match.group(1), match.group(2)
    mine = anchors[page_url]
    if attr == "id":
        return f'id="{mine}-{value}"'
    if value.startswith("#"):
        return f'{attr}="#{mine}-{value[1:]}"'
    parts = urlsplit(value)
    if parts.scheme or value.startswith("//"):
        return match.group(0) if parts.scheme in ("http", "https", "mailto", "data") else ""
    target = urljoin(f"http://site{page_url}", value)
    path, fragment = urlsplit(target).path, urlsplit(target).fragment
    if attr == "href" and path in anchors:
        return f'href="#{anchors[path]}{"-" + fragment if fragment else ""}"'
    local = folder / path.lstrip("/")
    if attr == "src" and local.is_file():
        return f'src="{local.resolve().as_uri()}"'
    if attr == "href" and site_url:
        return f'href="{site_url}v/{version_id}{path}"'
    return ""


def render_document(config: Config, version: VersionInfo, pages: list[PdfPage]) -> str:
    """The whole document as HTML, from the theme's `pdf.html`."""
    theme = load_theme(config)
    css = "\n".join(a.path.read_text(encoding="utf-8") for name in ("style.css", "custom.css")
                    for a in theme.assets if a.name == name)
    env = make_theme_environment(theme, {"site": config})
    return env.get_template("pdf.html").render(version=version, created=_date(version.created), pages=pages,
                                               css=Markup(css.replace("</", "<\\/")),
                                               depth=lambda url: url.strip("/").count("/") if url != "/" else 0)


def _date(created: str) -> str:
    try:
        return dt.datetime.fromisoformat(created).strftime("%-d %B %Y")
    except ValueError:
        return created


def make_pdf(folder: Path, config: Config, target: Path, wanted: Sequence[str] = (),
             version: VersionInfo | None = None) -> PdfResult:
    """Print the version in `folder` (or the pages named in `wanted`) to `target`."""
    version = version or version_info(folder)
    order = select_pages(page_order(folder), wanted)
    pages = document_pages(folder, order, config.url, version.id)
    if not pages:
        raise SiteError("pdf: no pages to print", str(folder))
    with tempfile.TemporaryDirectory(prefix="gtmsite-pdf-") as scratch, _Printer(folder) as printer:
        document = Path(scratch) / "document.html"
        document.write_text(render_document(config, version, pages), encoding="utf-8")
        final = printer.print(document, [p.anchor for p in pages])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(final)
    os.replace(partial, target)
    return PdfResult(target, len(pages), _sheet_count(final))


def _page_numbers(pdf: bytes, anchors: list[str]) -> dict[str, int]:
    """Where each page starts (1-based), from the named destinations Chromium writes for link targets."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    found = {}
    for name, destination in reader.named_destinations.items():
        key = str(name).lstrip("/")
        if key in anchors:
            found[key] = reader.get_destination_page_number(destination) + 1
    return found


def _sheet_count(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def chromium_path() -> str | None:
    """The browser to print with: $GTMSITE_CHROMIUM, else a Chromium or Chrome on the PATH."""
    chosen = os.environ.get("GTMSITE_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


_INSTALL = ("the PDF is printed by Chromium through Playwright: pip install 'gtmsite[pdf]' and install Chromium "
            "(Debian/Ubuntu: apt-get install chromium), or set GTMSITE_CHROMIUM to a Chromium or Chrome binary")


class _Printer:
    """One headless Chromium, JavaScript off, that may read only the version's files and the document."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()

    def __enter__(self) -> _Printer:
        try:
            import pypdf  # noqa: F401 - needed for the page numbers; fail before starting the browser
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise ConfigError(f"pdf: Playwright or pypdf is not installed; {_INSTALL}") from None
        executable = chromium_path()
        if executable is None:
            raise ConfigError(f"pdf: no Chromium found; {_INSTALL}")
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                  "--disable-background-networking", "--disable-component-update"])
        except Exception as exc:  # noqa: BLE001 - Playwright reports a browser that cannot start this way
            self._playwright.stop()
            raise ConfigError(f"pdf: Chromium ({executable}) did not start: {str(exc).splitlines()[0]}; "
                              f"{_INSTALL}") from None
        self._context = self._browser.new_context(java_script_enabled=False, color_scheme="light")
        self._context.route("**/*", self._only_local)
        return self

    def _only_local(self, route) -> None:  # noqa: ANN001 - Playwright's Route
        url = route.request.url
        if url.startswith("file://"):
            path = Path(urlsplit(url).path)
            if path.is_relative_to(self.folder) or path.name == "document.html":
                route.continue_()
                return
        route.abort()

    def print(self, document: Path, anchors: list[str]) -> bytes:
        """Print twice: the first print says on which PDF page each site page starts; those numbers go
        into the contents (`.pdf-toc-page[data-for=ANCHOR]`, fixed width: nothing moves) for the second."""
        page = self._context.new_page()
        try:
            page.goto(document.as_uri(), wait_until="load")
            numbers = _page_numbers(page.pdf(prefer_css_page_size=True, print_background=True), anchors)
            page.evaluate("""numbers => document.querySelectorAll(".pdf-toc-page[data-for]").forEach(
                node => { node.textContent = numbers[node.dataset.for] || ""; })""", numbers)
            return page.pdf(prefer_css_page_size=True, print_background=True, outline=True)
        finally:
            page.close()

    def __exit__(self, *exc: object) -> None:
        self._context.close()
        self._browser.close()
        self._playwright.stop()
