"""The site's pages and navigation: reports (and templated rows) become Pages with URLs.

Pure functions: `plan_pages(reports, template_rows)` and `build_nav(pages)` read nothing.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .errors import Problem
from .formats import column_label, format_value
from .reports import Report


@dataclass(frozen=True)
class Page:
    url: str  # site-absolute, pretty: "/", "/pipeline/", "/channels/paid-search/"
    title: str
    report: Report | None  # None for a generated section index
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    order: float | None = None
    hidden: bool = False
    templated: bool = False
    listing: tuple[str, ...] = ()  # for a generated index: the URLs it lists

    @property
    def output_path(self) -> str:
        return (self.url.strip("/") + "/index.html").lstrip("/")

    @property
    def section(self) -> str:
        """The URL of the folder the page belongs to ("/channels/")."""
        if self.url == "/":
            return "/"
        parent = posixpath.dirname(self.url.rstrip("/"))
        return parent.rstrip("/") + "/"

    @property
    def data_key(self) -> str:
        """The page's folder name under `_data/`: its path, "index" for the home page."""
        return self.url.strip("/") or "index"

    @property
    def rel(self) -> str:
        return self.report.rel if self.report else ""


@dataclass(frozen=True)
class NavItem:
    title: str
    url: str | None
    order: float | None
    children: tuple[NavItem, ...] = ()


def slugify(value: Any) -> str:
    """`Paid Search` -> `paid-search`; keeps unicode letters (`Zürich` -> `zürich`)."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).lower()
    text = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    return _bounded(text) if text else "page"


MAX_SLUG = 100  # bytes: a slug names a folder, and file systems allow 255 bytes a name


def _bounded(slug: str) -> str:
    """A slug of at most MAX_SLUG bytes: a long one is cut and given a hash of the whole, so two long
    values that start alike still get two pages."""
    if len(slug.encode("utf-8")) <= MAX_SLUG:
        return slug
    digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:10]
    head = slug.encode("utf-8")[:MAX_SLUG - len(digest) - 1].decode("utf-8", "ignore").rstrip("-_")
    return f"{head}-{digest}"


def unique_slugs(values: list[Any], taken: set[str]) -> list[str]:
    """One slug per value, distinct even when two values slugify alike (`a-b`, `a-b-2`)."""
    used = set(taken)
    slugs = []
    for value in values:
        base = slugify(value)
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        slugs.append(slug)
    return slugs


def report_url(report: Report) -> str:
    parts = list(report.route)
    if parts[-1] == "index":
        parts = parts[:-1]
    return "/" + "".join(f"{p}/" for p in parts)


def default_title(report: Report) -> str:
    parts = [p for p in report.route if p != "index"]
    return column_label(parts[-1].replace("-", "_")) if parts else "Home"


def plan_pages(reports: list[Report], template_rows: dict[str, list[dict[str, Any]]],
               site_title: str) -> tuple[list[Page], list[Problem]]:
    """Every page of the site. `template_rows` maps a templated report's rel to its `pages` rows."""
    pages: list[Page] = []
    problems: list[Problem] = []
    static = [r for r in reports if r.param is None]
    taken_urls: dict[str, str] = {}
    for report in static:
        url = report_url(report)
        if url in taken_urls:
            problems.append(Problem(report.rel, None, f"publishes {url}, as {taken_urls[url]} does; "
                                    "rename or move one of them"))
            continue
        taken_urls[url] = report.rel
        title = report.meta.title or (site_title if url == "/" else default_title(report))
        pages.append(Page(url, title, report, {}, report.meta.order, report.meta.hidden))
    for report in reports:
        if report.param is None or report.rel not in template_rows:
            continue
        rows = template_rows[report.rel]
        folder = "/" + "".join(f"{p}/" for p in report.route[:-1])
        siblings = {u[len(folder):].strip("/") for u in taken_urls if u.startswith(folder) and u != folder}
        slugs = unique_slugs([row.get(report.param) for row in rows], siblings)
        urls = []
        for row, slug in zip(rows, slugs):
            url = f"{folder}{slug}/"
            taken_urls[url] = report.rel
            urls.append(url)
            pages.append(Page(url, report.meta.title or format_value(row.get(report.param)), report, row,
                              report.meta.order, True, templated=True))
        if folder not in taken_urls:
            taken_urls[folder] = report.rel
            title = column_label(report.route[-2].replace("-", "_")) if len(report.route) > 1 else site_title
            pages.append(Page(folder, title, None, {}, report.meta.order, False, listing=tuple(urls)))
    return pages, problems


def _parent(folder: str) -> str:
    """"/a/b/" -> "/a/"; "/a/" -> "/"."""
    return posixpath.dirname(folder.rstrip("/")).rstrip("/") + "/"


def build_nav(pages: list[Page]) -> tuple[NavItem, ...]:
    """The sidebar tree: folders are sections (titled by their index page), ordered by `order` then title."""
    visible = [p for p in pages if not p.hidden and not p.templated]
    by_url = {p.url: p for p in visible}
    in_folder: dict[str, list[Page]] = {}
    for page in visible:
        if page.url != "/":
            in_folder.setdefault(page.section, []).append(page)
    folders = {f for f in in_folder if f != "/"}
    for folder in list(folders):  # every ancestor of a folder with pages is a folder too
        while folder != "/":
            folders.add(folder)
            folder = _parent(folder)
    sub_folders: dict[str, list[str]] = {}
    for folder in folders:
        if folder not in by_url:
            sub_folders.setdefault(_parent(folder), []).append(folder)

    def children_of(folder: str) -> tuple[NavItem, ...]:
        items = [NavItem(p.title, p.url, p.order, children_of(p.url) if p.url in folders else ())
                 for p in in_folder.get(folder, [])]
        for sub in sorted(sub_folders.get(folder, [])):
            name = sub.rstrip("/").rsplit("/", 1)[-1]
            items.append(NavItem(column_label(name.replace("-", "_")), None, None, children_of(sub)))
        return tuple(sorted(items, key=lambda i: (i.order is None, i.order or 0, i.title.lower())))

    home = by_url.get("/")
    return ((NavItem(home.title, "/", None),) if home else ()) + children_of("/")


def relative_url(target: str, from_url: str) -> str:
    """A link from page `from_url` (a folder URL, "/a/b/") to site-absolute `target`, relative so a
    version folder can move: "/a/c/" from "/a/b/" is "../../a/c/"."""
    if not target.startswith("/") or target.startswith("//"):
        return target
    if target.startswith(from_url):
        return target[len(from_url):] or "./"
    depth = from_url.count("/") - 1
    return "../" * depth + target[1:] or "./"


def breadcrumbs(page: Page, pages_by_url: dict[str, Page]) -> list[tuple[str, str]]:
    """(title, url) of each folder above the page, from the home page down."""
    crumbs = []
    url = page.url
    while url != "/":
        url = posixpath.dirname(url.rstrip("/")).rstrip("/") + "/"
        parent = pages_by_url.get(url)
        if parent is not None:
            crumbs.append((parent.title, url))
    return list(reversed(crumbs))
