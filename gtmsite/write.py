"""The write stage: pages, their data files, the snapshots, the theme's assets and the Vega bundle, through
the build's one Writer; or, for a page whose key did not change, the previous version's copy, linked.

A page's key is known once its queries have run, but on a build for new data most pages come out the same:
their copies are linked ahead, while the queries run, and the few that changed are removed again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import duckdb

from .config import Config
from .errors import Problem, SiteError
from .execute import Executed, Snapshot
from .output import Writer, intact_parquet, parquet_of
from .queries import QueryResult
from .site import Page
from .svg import vega_bundle
from .theme import Theme
from .versions import PageSummary, download_csv

LINK_AHEAD_FROM = 200  # pages likely unchanged: below this, linking them as they come is as quick


class SiteOutput:
    """Where a build's pages and files go (a version's staging folder, the preview's folder, or nowhere)."""

    def __init__(self, writer: Writer, config: Config, theme: Theme, versioned: bool,
                 previous: tuple[Path, dict[str, PageSummary]] | None,
                 scratch: Callable[[], duckdb.DuckDBPyConnection]):
        """`previous`: the previous version's folder and pages, to link unchanged pages from; `scratch`: an
        empty DuckDB connection (of the calling thread) for writing Parquet files."""
        self.writer = writer
        self.config = config
        self.theme = theme
        self.versioned = versioned
        self.previous = previous
        self.scratch = scratch
        self._vega_lock = threading.Lock()
        self._vega_url: str | None = None
        self._ahead: dict[str, list[str]] = {}  # url -> the files of its previous copy, linked ahead
        self._linking: threading.Thread | None = None

    def nowhere(self) -> SiteOutput:
        """The same output, writing nothing (a build that failed still makes its pages, for their errors)."""
        return SiteOutput(Writer(None), self.config, self.theme, self.versioned, self.previous, self.scratch)

    @property
    def parquet_cache(self) -> Path:
        return self.config.project / self.config.cache_dir / "parquet"

    def link_ahead(self, pages: Iterable[Page], base_keys: Mapping[str, str]) -> None:
        """Start linking, in a thread, the previous version's copies of the pages whose inputs other than their
        results are unchanged (`base_keys`), while the queries run; `finish_linking_ahead` waits for it."""
        if self.previous is None or self.writer.root is None:
            return
        folder, summaries = self.previous
        likely = [p for p in pages
                  if (s := summaries.get(p.url)) is not None and s.base and s.base == base_keys.get(p.url)]
        if len(likely) >= LINK_AHEAD_FROM:
            self._linking = threading.Thread(target=self._place_ahead, args=(folder, likely), daemon=True)
            self._linking.start()

    def _place_ahead(self, folder: str, pages: list[Page]) -> None:
        for page in pages:
            placed: list[str] = []
            try:
                source = os.path.join(folder, page.output_path)
                if not os.path.isfile(source):
                    continue
                self.writer.place_ahead(page.output_path, source)
                placed.append(page.output_path)
                if page.report is not None:
                    data = f"_data/{page.data_key}"
                    for name, item in _files_in(os.path.join(folder, data)):
                        self.writer.place_ahead(f"{data}/{name}", item)
                        placed.append(f"{data}/{name}")
            except OSError:
                self._remove(placed)  # this page is linked or written as usual, after its queries
                continue
            self._ahead[page.url] = placed

    def is_ahead(self, url: str) -> bool:
        """Whether the previous copy of this page was linked ahead (and is not yet kept or removed)."""
        return url in self._ahead

    def finish_linking_ahead(self) -> None:
        """Wait for the linking ahead (before the pages are made, in this process or forked workers)."""
        if self._linking is not None:
            self._linking.join()
            self._linking = None

    def drop_ahead(self, made: set[str]) -> None:
        """Remove the copies linked ahead for pages that were not made (they are not in this version)."""
        for url, placed in self._ahead.items():
            if url not in made:
                self._remove(placed)
        self._ahead = {}

    def _remove(self, placed: list[str]) -> None:
        for rel in placed:
            self.writer.remove_ahead(rel)

    def link_previous(self, page: Page, key: str | None) -> PageSummary | None:
        """Link the previous version's copy of a page with the same key (and its data files) into this
        version; its summary, or None when there is none to link (`key` None: not to be linked). A copy
        linked ahead is kept if the key is the same, else removed, so the page is written anew."""
        if self.previous is None or self.writer.root is None:
            return None
        folder, summaries = self.previous
        summary = summaries.get(page.url)
        ahead = self._ahead.pop(page.url, None)
        if summary is None or summary.key != key:
            self._remove(ahead or [])
            return None
        if ahead is not None:
            for rel in ahead:
                self.writer.claim(rel)
            return summary
        source = os.path.join(folder, page.output_path)
        if not os.path.isfile(source):
            return None
        self.writer.link(page.output_path, source)
        if page.report is not None:
            data = f"_data/{page.data_key}"
            for name, item in _files_in(os.path.join(folder, data)):
                self.writer.link(f"{data}/{name}", item)
        return summary

    def write_html(self, page: Page, html: str) -> Problem | None:
        try:
            self.writer.write(page.output_path, html)
        except SiteError as exc:
            return Problem(page.rel or page.url, None, exc.message)
        return None

    def write_data(self, page: Page, results: Mapping[str, QueryResult], bulk: frozenset[str]) -> None:
        """The data behind the page: every query's result as CSV (the download links), and in a version
        also as Parquet (the data snapshot; the preview does without), unless the query's rows for all
        pages are in one snapshot (`bulk`)."""
        for name, result in sorted(results.items()):
            if result.failed:
                continue
            folder = f"_data/{page.data_key}"
            self.writer.write(f"{folder}/{name}.csv", download_csv(result.columns, result.rows))
            parquet = self.parquet_file(result) if self.versioned and name not in bulk else None
            if parquet is not None:
                self.writer.link(f"{folder}/{name}.parquet", parquet)

    def parquet_file(self, result: QueryResult) -> Path | None:
        """The result as Parquet in the cache (made once per distinct result), to link into the version."""
        if self.writer.root is None:
            return None
        made = self.parquet_cache / f"{result.digest}.parquet"
        if intact_parquet(made):  # no DuckDB connection needed (a worker process has none)
            return made
        return parquet_of(result, self.parquet_cache, self.scratch())

    def make_parquet_files(self, executed: Executed, pages: Iterable[Page]) -> None:
        """Make (or find in the cache) the Parquet file of each of these pages' results that is not in a
        bulk snapshot, ahead of `write_data`: it then only links them, which worker processes can do."""
        if not self.versioned or self.writer.root is None:
            return
        for page in pages:
            bulk = executed.bulk.get(page.rel, frozenset())
            data = executed.pages.get(page.url)
            for name, result in data.results.items() if data is not None else ():
                if not result.failed and name not in bulk:
                    self.parquet_file(result)

    def link_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        for snapshot in snapshots:
            self.writer.link(snapshot.rel, snapshot.path)

    def vega_url(self) -> str:
        """The URL of the Vega bundle; made (or taken from the cache) the first time a page has a chart."""
        with self._vega_lock:
            if self._vega_url is None:
                data = vega_bundle(self.config.project / self.config.cache_dir)
                name = f"vega.{hashlib.sha256(data).hexdigest()[:10]}.js"
                self.writer.write(f"_assets/{name}", data, immutable=True)
                self._vega_url = f"{self.config.base_url}_assets/{name}"
            return self._vega_url

    def write_assets(self) -> None:
        for asset in self.theme.assets:
            if self.writer.root is None or not (self.writer.root / "_assets" / asset.hashed).exists():
                self.writer.write(f"_assets/{asset.hashed}", asset.path.read_bytes(), immutable=True)


def _files_in(folder: str) -> list[tuple[str, str]]:
    """(name, path) of the files in a folder, by name; none when there is no such folder."""
    try:
        with os.scandir(folder) as entries:
            return sorted((e.name, e.path) for e in entries if e.is_file(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []
