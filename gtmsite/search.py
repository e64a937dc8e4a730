"""Full-text search for one version: a Pagefind index in `v/<id>/_pagefind/`, made at publish time.

    version folder -> the pages to index (reports, listings, the metrics glossary) -> Pagefind -> _pagefind/

The index holds that version's pages only, so a search never offers a page of another version. Pagefind
ships its own binary in the `pagefind[bin]` wheel: nothing is downloaded at run time. The browser loads
`_pagefind/pagefind.js` (and the index chunks it needs) only when someone types in the search box.

When no page changed since the previous version (every page file is the same), the previous index is
linked instead of made again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import SiteError

INDEX_DIR = "_pagefind"
FINGERPRINT_FILE = "gtmsite-pages.sha256"
# Pages the site makes about itself, not about the business: not offered by search.
_NOT_INDEXED = ("_changes", "_checks", "_assets", "_data", INDEX_DIR)
# The chrome around a page's text; the text, titles and tables are what is searched.
EXCLUDE_SELECTORS = (".breadcrumbs", ".page-footer", ".gtm-chart-view", ".gtm-sql", ".gtm-table-tools", ".gtm-pager",
                     ".gtm-download", "script", "style")
# Pagefind's own ready-made interfaces: the theme has its own search box, so they are not published.
_UNUSED = ("pagefind-ui", "pagefind-modular-ui", "pagefind-component-ui", "pagefind-highlight")


@dataclass(frozen=True)
class IndexedPage:
    url: str  # "/pipeline/"
    path: Path


@dataclass(frozen=True)
class SearchIndex:
    pages: int
    reused: bool  # linked from the previous version, nothing changed


def pages_to_index(folder: Path) -> list[IndexedPage]:
    """The version's pages: every `index.html` outside the folders the site keeps for itself."""
    pages = []
    for path in sorted(folder.rglob("index.html")):
        rel = path.parent.relative_to(folder)
        if rel.parts and rel.parts[0] in _NOT_INDEXED:
            continue
        pages.append(IndexedPage("/" + "".join(f"{p}/" for p in rel.parts), path))
    return pages


def fingerprint(pages: list[IndexedPage]) -> str:
    digest = hashlib.sha256()
    for page in pages:
        digest.update(page.url.encode() + b"\0" + hashlib.sha256(page.path.read_bytes()).digest())
    return digest.hexdigest()


def index_version(folder: Path, previous: Path | None = None) -> SearchIndex:
    """Write `folder/_pagefind/` for the version in `folder` (a staging folder, before it is published)."""
    pages = pages_to_index(folder)
    prints = fingerprint(pages)
    target = folder / INDEX_DIR
    old = previous / INDEX_DIR if previous is not None else None
    if old is not None and _read(old / FINGERPRINT_FILE) == prints:
        shutil.copytree(old, target, copy_function=_link_or_copy)
        return SearchIndex(len(pages), reused=True)
    asyncio.run(_write_index(pages, target))
    for path in target.iterdir():
        if path.name.startswith(_UNUSED):
            path.unlink()
    (target / FINGERPRINT_FILE).write_text(prints + "\n", encoding="utf-8")
    return SearchIndex(len(pages), reused=False)


async def _write_index(pages: list[IndexedPage], target: Path) -> None:
    index_class = _pagefind()
    config = {"root_selector": "main", "exclude_selectors": list(EXCLUDE_SELECTORS), "output_path": str(target)}
    try:
        async with index_class(config) as index:
            for page in pages:
                await index.add_html_file(content=page.path.read_text(encoding="utf-8"), url=page.url)
    except Exception as exc:  # noqa: BLE001 - the Pagefind service reports its failures as plain exceptions
        raise SiteError(f"search index: Pagefind failed: {exc}", str(target)) from None


def _pagefind() -> type:
    try:
        from pagefind.index import PagefindIndex
        from pagefind.service import get_executable
    except ImportError:
        raise SiteError("search index: Pagefind is not installed; run: pip install 'pagefind[bin]'") from None
    if get_executable() is None:
        raise SiteError("search index: the Pagefind binary is missing; run: pip install 'pagefind[bin]'")
    return PagefindIndex


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
