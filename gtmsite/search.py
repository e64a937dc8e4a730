"""Full-text search for one version: a Pagefind index in `v/<id>/_pagefind/`, made at publish time.

    version folder -> the pages to index (reports, listings, the metrics glossary) -> Pagefind -> _pagefind/

The index holds that version's pages only, so a search never offers a page of another version. Pagefind
ships its own binary in the `pagefind[bin]` wheel: nothing is downloaded at run time. The browser loads
`_pagefind/pagefind.js` (and the index chunks it needs) only when someone types in the search box.

When no page changed since the previous version (every page file is the same), the previous index is
linked instead of made again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import SiteError

INDEX_DIR = "_pagefind"
FINGERPRINT_FILE = "gtmsite-pages.sha256"
# Folders starting with "_" are the site's own (_changes, _checks, _data, ...): not searched, except the
# metrics glossary.
_INDEXED_OWN = ("_metrics",)
# The pages Pagefind reads: the home page, every folder not starting with "_", and the metrics glossary.
GLOB = "{index.html,[!_]*/**/*.html,_metrics/**/*.html}"
# The chrome around a page's text; the text, titles and tables are what is searched.
EXCLUDE_SELECTORS = (".breadcrumbs", ".page-footer", ".gtm-chart-view", ".gtm-sql", ".gtm-table-tools", ".gtm-pager",
                     ".gtm-download", "script", "style")
# What Pagefind says when no page has any text to index (a site of bare queries and checks).
_NO_TEXT = "not able to build an index"
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
    seconds: float = 0.0  # from the start of indexing to its end


def pages_to_index(folder: Path) -> list[IndexedPage]:
    """The version's pages: every `index.html` outside the folders the site keeps for itself (which are
    not even listed: `_data/` holds several files a page)."""
    found = []
    for root, folders, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        if not rel.parts:
            folders[:] = [f for f in folders if not f.startswith("_") or f in _INDEXED_OWN]
        if "index.html" in files:
            found.append((rel.parts, IndexedPage("/" + "".join(f"{p}/" for p in rel.parts), Path(root) / "index.html")))
    return [page for _, page in sorted(found, key=lambda item: item[0])]


def fingerprint(pages: list[IndexedPage]) -> str:
    digest = hashlib.sha256()
    for page in pages:
        digest.update(page.url.encode() + b"\0" + hashlib.sha256(page.path.read_bytes()).digest())
    return digest.hexdigest()


def index_version(folder: Path, previous: Path | None = None) -> SearchIndex:
    """Write `folder/_pagefind/` for the version in `folder` (a staging folder, before it is published)."""
    return start_index(folder, previous).finish()


def start_index(folder: Path, previous: Path | None = None) -> IndexJob:
    """Start indexing the version's pages (all written) in the background: the build finishes its own
    pages (what changed, checks, manifest, PDF) meanwhile, and `finish()` waits for the index."""
    return IndexJob(folder, previous)


class IndexJob:
    def __init__(self, folder: Path, previous: Path | None):
        self.target = folder / INDEX_DIR
        self.pages = pages_to_index(folder)
        self.prints = fingerprint(self.pages)
        self.started = time.perf_counter()
        self.process: subprocess.Popen | None = None
        old = previous / INDEX_DIR if previous is not None else None
        self.reused = old is not None and _read(old / FINGERPRINT_FILE) == self.prints
        if self.reused:
            shutil.copytree(old, self.target, copy_function=_link_or_copy)
            return
        command = [str(_pagefind()), "--site", str(folder), "--output-path", str(self.target), "--root-selector",
                   "main", "--glob", GLOB, "--silent"]
        for selector in EXCLUDE_SELECTORS:
            command += ["--exclude-selectors", selector]
        try:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            raise SiteError(f"search index: Pagefind did not start: {exc}", str(self.target)) from None

    def finish(self) -> SearchIndex:
        if self.process is not None:
            output, _ = self.process.communicate()
            if self.process.returncode != 0 and _NO_TEXT in output:
                self.process = None  # no page has any text yet: no index; the search box says so when used
                shutil.rmtree(self.target, ignore_errors=True)
                return SearchIndex(0, False, time.perf_counter() - self.started)
            if self.process.returncode != 0:
                detail = " / ".join(output.strip().splitlines()[-3:]) or f"exit {self.process.returncode}"
                raise SiteError(f"search index: Pagefind failed: {detail}", str(self.target))
            for path in self.target.iterdir():
                if path.name.startswith(_UNUSED):
                    path.unlink()
            (self.target / FINGERPRINT_FILE).write_text(self.prints + "\n", encoding="utf-8")
            self.process = None
        return SearchIndex(len(self.pages), self.reused, time.perf_counter() - self.started)

    def cancel(self) -> None:
        """Stop an index that will not be used (the build failed after it started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pagefind() -> Path:
    try:
        from pagefind.service import get_executable
    except ImportError:
        raise SiteError("search index: Pagefind is not installed; run: pip install 'pagefind[bin]'") from None
    executable = get_executable()
    if executable is None:
        raise SiteError("search index: the Pagefind binary is missing; run: pip install 'pagefind[bin]'")
    return executable


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
