"""Links in reports that lead nowhere: checked against every page of the site, as MkDocs does.

Pure: `broken_links(...)` is given the page's links (as written in the Markdown, after Jinja) and the
site's page URLs, and returns one located warning per link that points to no page.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from .errors import Problem

# Folders of the output that hold no report's page: versions (pages the build makes itself, data
# downloads and assets start with "_": /_checks/, /_data/, /_assets/).
_VERSION_FOLDERS = ("v", "latest")


def broken_links(links: Iterable[str], page_url: str, site_urls: frozenset[str], rel: str,
                 source: str) -> list[Problem]:
    """A warning for each internal link of the page (`/pipeline/`, `../organic/`, `b.md`) that is not a
    page of the site; located at the first line of the report's source that mentions it."""
    problems = []
    folder = "/" + "".join(f"{part}/" for part in rel.split("/")[1:-1])
    for link in dict.fromkeys(links):
        target = resolve(link, page_url, folder)
        if target is None or target in site_urls or (target + "/") in site_urls:
            continue
        problems.append(Problem(rel, _line_of(source, link), _message(link, target, site_urls)))
    return problems


def resolve(link: str, page_url: str, report_folder: str = "/") -> str | None:
    """The site path an internal link leads to, or None for a link that is not checked (another site, a
    fragment on the same page, mailto:, or a file the build makes itself such as /_data/...). A link to a
    report file (`b.md`) is taken from the report's folder, as MkDocs does."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = unquote(parts.path)
    if not path.startswith("/"):
        path = posixpath.join(report_folder if path.endswith(".md") else page_url, path)
    normal = posixpath.normpath(path)
    if normal in (".", "/."):
        normal = "/"
    if path.endswith("/") and not normal.endswith("/"):
        normal += "/"
    if normal.endswith("/index.html"):
        normal = normal[:-len("index.html")]
    first = normal.strip("/").split("/")[0]
    if first.startswith("_") or first in _VERSION_FOLDERS:
        return None
    return normal


def _message(link: str, target: str, site_urls: frozenset[str]) -> str:
    if target.endswith(".md"):
        route = target[:-3]
        page = (route[:-len("index")] if route.endswith("/index") or route == "/index" else route + "/") or "/"
        hint = f"link to the page, '{page}'" if page in site_urls else "link to a page's URL, such as '/pipeline/'"
        return f"link '{link}' names a report file, not a page; {hint}"
    close = difflib.get_close_matches(target if target.endswith("/") else target + "/", sorted(site_urls), n=1,
                                  cutoff=0.75)
    hint = f"did you mean '{close[0]}'?" if close else "fix or remove the link"
    return f"link '{link}' points to no page of this site ({target}); {hint}"


def _line_of(source: str, link: str) -> int | None:
    """The first line of the report that holds the link (None when Jinja made it)."""
    for number, line in enumerate(source.split("\n"), start=1):
        if link in line:
            return number
    return None
