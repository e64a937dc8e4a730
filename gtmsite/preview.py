"""The preview's incremental rebuild: the same Builder as `gtmsite build`, into a scratch folder,
re-rendering only the pages whose inputs changed and keeping the loaded sources between rebuilds.

A page's inputs: its report's text, its parameters, the data fingerprint, the theme, the site's
navigation and settings. Query results come from the content-addressed cache, so a theme change
re-renders pages without running a query, and a one-report edit runs only that report's queries.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .build import Builder, Log, _quiet
from .config import load_config
from .errors import BuildFailed, Problem, SiteError
from .files import ensure_cache_folder
from .output import Writer
from .plan import Plan
from .site import Page
from .sources import Database
from .warehouse import FetchPolicy


@dataclass
class Rebuild:
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # URLs written
    seconds: float = 0.0


def internal_problem(exc: Exception) -> Problem:
    """A failure that is gtmsite's own bug, for the overlay and the terminal (with the innermost place)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return Problem("gtmsite", None, f"internal error: {type(exc).__name__}: {exc}{where}; the preview keeps "
                                    "serving the last good pages (please report it)")


class Preview:
    """Holds what survives between rebuilds: the database, and each page's input key."""

    def __init__(self, project: Path, site_dir: Path, log: Log = _quiet):
        self.project = project
        self.site_dir = site_dir
        self.log = log
        self.database: Database | None = None
        self.fingerprint = ""
        self.page_keys: dict[str, str] = {}
        self.fetched = False  # after the first build, stored source results are kept until their query changes

    def close(self) -> None:
        if self.database is not None:
            self.database.close()
            self.database = None

    def rebuild(self) -> Rebuild:
        started = time.perf_counter()
        try:
            outcome = self._rebuild()
        except BuildFailed as exc:
            outcome = Rebuild(False, exc.problems)
        except SiteError as exc:
            outcome = Rebuild(False, [exc.problem])
        except Exception as exc:  # noqa: BLE001 - our own bug: say it, and keep serving the last good pages
            outcome = Rebuild(False, [internal_problem(exc)])
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _rebuild(self) -> Rebuild:
        config = load_config(self.project)
        ensure_cache_folder(self.project / config.cache_dir)
        chosen_keys: dict[str, str] = {}

        def select(plan: Plan) -> list[Page]:
            chosen = []
            for page in plan.pages:
                key = plan.keys[page.url]
                if self.page_keys.get(page.url) != key or not (self.site_dir / page.output_path).exists():
                    chosen.append(page)
                    chosen_keys[page.url] = key
            return chosen

        builder = Builder(config, Writer(self.site_dir, atomic=True), self.log, use_cache=True, select_pages=select,
                          fetch=FetchPolicy(reuse_stored=self.fetched, log=self.log), processes=False)
        self.fetched = True
        if self.database is not None and builder.fingerprint == self.fingerprint and \
                self.database.sources == builder.sources:
            builder.db = self.database
        else:
            self.close()
            self.database, self.fingerprint = builder.db, builder.fingerprint
        try:
            result = builder.run()
        finally:
            builder.cache.flush()
        if result.site_problems:  # nothing was written: the pages served are the last good ones
            return Rebuild(False, result.problems, [])
        failed = {o.page.url for o in result.outcomes if o.problems}
        for url, key in chosen_keys.items():
            if url not in failed:
                self.page_keys[url] = key
        urls = {p.url for p in result.pages}
        for gone in set(self.page_keys) - urls:
            del self.page_keys[gone]
            folder = self.site_dir / gone.strip("/")
            (folder / "index.html").unlink(missing_ok=True)
            shutil.rmtree(self.site_dir / "_data" / (gone.strip("/") or "index"), ignore_errors=True)
        changed = sorted(set(chosen_keys) - failed)
        return Rebuild(not result.problems, result.problems, changed)
