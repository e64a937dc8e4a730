"""Static SVGs of charts, rendered by vl-convert (no browser), cached by the spec's content hash.

Rendering is the expensive step of a build (tens of milliseconds a chart), so:
- an SVG is rendered at most once per distinct spec, ever: the cache survives between builds;
- uncached SVGs render in worker processes (vl-convert serialises calls within one process);
- small builds render in-process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .files import store_in_cache

_ID = re.compile(r'\bid="([^"]+)"')
_TINY = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x", "type": "quantitative"}}}


def render_svg(spec: dict) -> str:
    """Vega-Lite spec -> SVG text (runs in a worker process or in-process)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def scoped_ids(svg: str, prefix: str) -> str:
    """Make the SVG's element ids unique on a page that holds several charts."""
    if 'id="' not in svg:
        return svg
    ids = set(_ID.findall(svg))
    for name in ids:
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"').replace(f"url(#{name})", f"url(#{prefix}-{name})")
    return svg


class SvgRenderer:
    """Hands out SVGs by key: from memory, from the disk cache, or rendered (in parallel) on demand."""

    def __init__(self, cache_dir: Path | None, workers: int, parallel: bool):
        self.cache_dir = cache_dir
        self.workers = max(1, workers)
        self.parallel = parallel and self.workers > 1
        self.rendered = 0
        self.cached = 0
        self._futures: dict[str, Future] = {}
        self._specs: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._executor: Executor | None = None

    def warm_up(self) -> None:
        """Start the renderer (vl-convert takes most of a second to start) while queries run, on a first
        build: one where the cache holds no SVG yet, so charts will surely be drawn."""
        if self.cache_dir is None or not self.cache_dir.exists() or not any(self.cache_dir.iterdir()):
            pool = self._pool()
            try:
                for _ in range(self.workers if self.parallel else 1):
                    pool.submit(render_svg, _TINY)
            except BrokenProcessPool:
                pass

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.parallel:
                self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            else:
                self._executor = ThreadPoolExecutor(1)
        return self._executor

    def _path(self, key: str) -> Path | None:
        return self.cache_dir / key[:2] / f"{key}.svg" if self.cache_dir else None

    def request(self, key: str, spec: dict) -> Future:
        """A future SVG for this spec; the same key is never rendered twice."""
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future
            path = self._path(key)
            if path is not None and path.exists():
                future = Future()
                future.set_result(path.read_text(encoding="utf-8"))
                self.cached += 1
            else:
                future = self._submit(spec)
                future.add_done_callback(lambda f, key=key: self._store(key, f))
                self.rendered += 1
            self._futures[key] = future
            self._specs[key] = spec
            return future

    def svg(self, key: str) -> str:
        """The SVG for a requested key. Should the worker processes be unusable (they cannot start when
        the calling program has no importable main module), it is drawn here instead."""
        try:
            return self._futures[key].result()
        except BrokenProcessPool:
            svg = render_svg(self._specs[key])
            done: Future = Future()
            done.set_result(svg)
            self._store(key, done)
            return svg

    def _submit(self, spec: dict) -> Future:
        try:
            return self._pool().submit(render_svg, spec)
        except BrokenProcessPool:
            self.parallel = False
            self._executor = None
            return self._pool().submit(render_svg, spec)

    def _store(self, key: str, future: Future) -> None:
        path = self._path(key)
        if path is not None and future.exception() is None:
            store_in_cache(path, future.result())

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


_PLACEHOLDER = re.compile(r"<!--gtm-svg:([0-9a-f]{64})-->")


def fill_svgs(html: str, svgs: dict[str, str]) -> str:
    """Put each chart's SVG in place of its placeholder."""
    return _PLACEHOLDER.sub(lambda m: slim_svg(scoped_ids(svgs[m.group(1)], "c" + m.group(1)[:8])), html)


_REPEATED = re.compile(r' (?:font-family|role|aria-roledescription|aria-hidden|aria-label)="[^"]*"'
                       r'|<path class="(?:background|foreground)"(?: aria-hidden="true")? d="" display="none"/>')
_GEOMETRY = re.compile(r' (d|transform)="([^"]*)"')
_LONG_NUMBER = re.compile(r"(\d\.\d{2})\d+")


def slim_svg(svg: str) -> str:
    """A chart's SVG as embedded in a page, about 40% smaller: the page's stylesheet gives its text the
    font, the chart is one image described by its container (so no ARIA roles on every group), and
    coordinates keep two decimals. Text content is left alone."""
    svg = _REPEATED.sub("", svg)
    return _GEOMETRY.sub(lambda m: f' {m.group(1)}="{_LONG_NUMBER.sub(_two_decimals, m.group(2))}"', svg)


def _two_decimals(match: re.Match) -> str:
    return match.group(1)


def user_cache_dir() -> Path:
    """gtmsite's cache shared by every project of this user (`$XDG_CACHE_HOME/gtmsite`)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "gtmsite"


def vega_bundle(project_cache: Path) -> bytes:
    """The Vega + Vega-Lite + vega-embed bundle the site serves itself (no request to another host).

    Making it takes seconds and depends only on the vl-convert version, so it is kept in the user's
    cache (shared by all projects), or in the project's cache when that is not writable."""
    import vl_convert

    name = f"vega-bundle-{getattr(vl_convert, '__version__', '0')}.js"
    candidates = [user_cache_dir() / name, project_cache / name]
    for path in candidates:
        if path.exists():
            return path.read_bytes()
    data = vl_convert.javascript_bundle(snippet="window.vegaEmbed = vegaEmbed; window.vega = vega;").encode()
    for path in candidates:
        if store_in_cache(path, data):
            break
    return data
