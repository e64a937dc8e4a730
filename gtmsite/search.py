"""Full-text search for one version: a Pagefind index in `v/<id>/_pagefind/`, made at publish time.

    version folder -> the pages to index (reports, listings, the metrics glossary) -> Pagefind -> _pagefind/

The index holds that version's pages only, so a search never offers a page of another version. Pagefind
ships its own binary in the `pagefind[bin]` wheel: nothing is downloaded at run time. The browser loads
`_pagefind/pagefind.js` (and the index chunks it needs) only when someone types in the search box.

When no page changed since the previous version (every page file is the same), the previous index is
linked instead of made again. A big site's index is split into shards by a hash of each page's URL, and
only the shards with a changed page are made again; the search box merges the shards when it loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import SiteError
from .files import link_or_copy, link_tree, replace_file, same_file

INDEX_DIR = "_pagefind"
# Beside each bundle: {url: sha256 of the page's file} for the pages it indexes. A shard whose pages all have
# the digests the previous version's shard has is linked, not made again.
PAGES_FILE = "gtmsite-pages.json"
BUNDLES_FILE = "gtmsite-bundles.json"  # the bundles the search box loads: ["_pagefind/"] or one per shard
# Past this many pages, the index is split into shards, each made again only when one of its pages changed
# (Pagefind indexes a site as a whole, about 1 ms a page: 10 s for 10,000 pages).
SHARD_PAGES = 500
_LINKED = ".gtmsite-search"  # in the staging folder while indexing: each shard's pages, linked
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
    path: str  # its file (a string: a big site lists thousands)


@dataclass(frozen=True)
class SearchIndex:
    pages: int
    reused: bool  # linked from the previous version, nothing changed
    seconds: float = 0.0  # from the start of indexing to its end


def pages_to_index(folder: Path) -> list[IndexedPage]:
    """The version's pages: every `index.html` outside the folders the site keeps for itself (which are
    not even listed: `_data/` holds several files a page)."""
    found = []
    top = str(folder)
    for root, folders, files in os.walk(top):
        parts = tuple(root[len(top) + 1:].split(os.sep)) if root != top else ()
        if not parts:
            folders[:] = [f for f in folders if not f.startswith("_") or f in _INDEXED_OWN]
        if "index.html" in files:
            found.append((parts, IndexedPage("/" + "".join(f"{p}/" for p in parts), os.path.join(root, "index.html"))))
    return [page for _, page in sorted(found, key=lambda item: item[0])]


def page_digests(folder: Path, pages: list[IndexedPage], previous: Path | None, known: dict[str, str]
                 ) -> dict[str, str]:
    """{url: sha256 of its file}. A page that is the previous version's file (the same inode: an unchanged
    page is linked, and a published file is never written again) keeps the digest `known` gives it, so an
    unchanged build of 10,000 pages reads none of them."""
    digests = {}
    cut = len(str(folder)) + 1
    for page in pages:
        old = known.get(page.url)
        if old is not None and previous is not None and same_file(page.path, os.path.join(previous, page.path[cut:])):
            digests[page.url] = old
            continue
        with open(page.path, "rb") as handle:
            digests[page.url] = hashlib.file_digest(handle, "sha256").hexdigest()
    return digests


def index_version(folder: Path, previous: Path | None = None) -> SearchIndex:
    """Write `folder/_pagefind/` for the version in `folder` (a staging folder, before it is published)."""
    return start_index(folder, previous).finish()


def start_index(folder: Path, previous: Path | None = None) -> IndexJob:
    """Start indexing the version's pages (all written) in the background: the build finishes its own
    pages (what changed, checks, manifest, PDF) meanwhile, and `finish()` waits for the index."""
    return IndexJob(folder, previous)


def shard_count(pages: int) -> int:
    """How many indexes a version's pages are split into: a power of two, so that the count (and so which
    shard a page is in) changes only when the site doubles or halves."""
    count = 1
    while pages > count * SHARD_PAGES:
        count *= 2
    return count


def shards_of(pages: list[IndexedPage]) -> list[tuple[str, list[IndexedPage]]]:
    """(bundle folder, its pages): one index for a site of up to SHARD_PAGES pages, else one per shard of the
    pages, a page's shard chosen by a hash of its URL (so a changed page re-indexes its shard only)."""
    count = shard_count(len(pages))
    if count == 1:
        return [(INDEX_DIR, pages)]
    groups: list[list[IndexedPage]] = [[] for _ in range(count)]
    for page in pages:
        groups[zlib.crc32(page.url.encode()) % count].append(page)
    return [(f"{INDEX_DIR}/shard-{i}", group) for i, group in enumerate(groups) if group]


class IndexJob:
    """The version's search index: Pagefind run on each shard whose pages changed (at most one run per core
    at a time), the other shards linked from the previous version; `_pagefind/gtmsite-bundles.json` lists
    the bundles the search box loads (the first) and merges (the others)."""

    def __init__(self, folder: Path, previous: Path | None):
        self.folder = folder
        self.started = time.perf_counter()
        pages = pages_to_index(folder)
        self.pages = len(pages)
        self._lock = threading.Lock()
        self._running: list[subprocess.Popen] = []
        self._cancelled = False
        self.shards = [_Shard(folder, name, group) for name, group in shards_of(pages)]
        self._pool = ThreadPoolExecutor(max(1, min(len(self.shards), os.cpu_count() or 1)))
        self._made = {s.name: self._pool.submit(self._index, s, previous) for s in self.shards}

    def _index(self, shard: _Shard, previous: Path | None) -> str:
        """One shard's index: linked from the previous version if its pages are the same, else made by
        Pagefind. "linked", "made", or "none" (none of its pages has any text)."""
        if shard.link_previous(previous):
            return "linked"
        with self._lock:
            if self._cancelled:
                return "none"
            process = shard.start()
            self._running.append(process)
        try:
            return "made" if shard.wait(process) else "none"
        finally:
            with self._lock:
                self._running.remove(process)

    def finish(self) -> SearchIndex:
        try:
            made = {name: future.result() for name, future in self._made.items()}
        finally:
            self._close()
        bundles = [s.name for s in self.shards if made[s.name] != "none"]
        if not bundles:
            shutil.rmtree(self.folder / INDEX_DIR, ignore_errors=True)
            return SearchIndex(0, False, time.perf_counter() - self.started)
        reused = all(made[s.name] == "linked" for s in self.shards)
        # A new file, not written into: a linked index shares its files with the previous version.
        replace_file(self.folder / INDEX_DIR / BUNDLES_FILE, json.dumps([f"{b}/" for b in bundles]))
        return SearchIndex(self.pages, reused, time.perf_counter() - self.started)

    def cancel(self) -> None:
        """Stop an index that will not be used (the build failed after it started)."""
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            if process.poll() is None:
                process.kill()
        self._close()

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder / _LINKED, ignore_errors=True)


class _Shard:
    """Some of a version's pages and their Pagefind bundle (`_pagefind/` or `_pagefind/shard-<i>/`)."""

    def __init__(self, folder: Path, name: str, pages: list[IndexedPage]):
        self.folder, self.name, self.pages = folder, name, pages
        self.target = folder / name
        self.digests: dict[str, str] = {}

    def link_previous(self, previous: Path | None) -> bool:
        """Link the previous version's bundle of this shard if its pages were the same (byte for byte)."""
        old = previous / self.name if previous is not None else None
        known = _read_digests(old / PAGES_FILE) if old is not None else {}
        self.digests = page_digests(self.folder, self.pages, previous, known)
        if old is None or known != self.digests:
            return False
        link_tree(str(old), str(self.target))
        return True

    def site(self) -> Path:
        """The folder Pagefind reads: the version itself for one index, else the shard's pages linked into a
        hidden folder of their own (at the same paths, so their URLs are the same)."""
        if self.name == INDEX_DIR:
            return self.folder
        site = self.folder / _LINKED / self.name.rsplit("/", 1)[-1]
        for page in self.pages:
            linked = site / page.url.strip("/") / "index.html"
            linked.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(page.path, str(linked))
        return site

    def start(self) -> subprocess.Popen:
        command = [str(_pagefind()), "--site", str(self.site()), "--output-path", str(self.target),
                   "--root-selector", "main", "--glob", GLOB, "--silent"]
        for selector in EXCLUDE_SELECTORS:
            command += ["--exclude-selectors", selector]
        try:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            raise SiteError(f"search index: Pagefind did not start: {exc}", str(self.target)) from None

    def wait(self, process: subprocess.Popen) -> bool:
        output, _ = process.communicate()
        if process.returncode != 0 and _NO_TEXT in output:
            shutil.rmtree(self.target, ignore_errors=True)  # no page has any text yet: no index
            return False
        if process.returncode != 0:
            detail = " / ".join(output.strip().splitlines()[-3:]) or f"exit {process.returncode}"
            raise SiteError(f"search index: Pagefind failed: {detail}", str(self.target))
        for path in self.target.iterdir():
            if path.name.startswith(_UNUSED):
                path.unlink()
        replace_file(self.target / PAGES_FILE, json.dumps(self.digests, separators=(",", ":")))
        return True


def _pagefind() -> Path:
    try:
        from pagefind.service import get_executable
    except ImportError:
        raise SiteError("search index: Pagefind is not installed; run: pip install 'pagefind[bin]'") from None
    executable = get_executable()
    if executable is None:
        raise SiteError("search index: the Pagefind binary is missing; run: pip install 'pagefind[bin]'")
    return executable


def _read_digests(path: Path) -> dict[str, str]:
    """The page digests beside a previous bundle; none if it has no such file (made by an older gtmsite) or
    it cannot be read, which makes the shard again."""
    try:
        digests = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return digests if isinstance(digests, dict) else {}
