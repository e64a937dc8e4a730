"""Static SVGs of the charts that gtmsite does not draw itself (drawing/ draws the standard shapes):
rendered by vl-convert (no browser) and cached by the spec's content hash.

Rendering with vl-convert is the expensive step of a build (tens of milliseconds a chart), so:
- an SVG is rendered at most once per distinct spec, ever: the cache survives between builds;
- uncached SVGs render in renderer processes, in parallel on larger builds (vl-convert serialises
  calls within one process).

vl-convert never runs inside gtmsite itself: it aborts its process on some inputs, so each renderer
is a child process (svgworker.py) and a crash costs one chart, reported at its call, not the build.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .errors import Problem
from .files import read_cached, store_in_cache
from .safety import safe_links
from .svgworker import RendererCrashed, Worker, render_svg

__all__ = ["RendererCrashed", "SvgRenderer", "chart_problem", "fill_svgs", "render_svg", "scoped_ids", "slim_svg",
           "user_cache_dir", "vega_bundle"]

_ID = re.compile(r'\bid="([^"]+)"')
_TINY = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x", "type": "quantitative"}}}


def scoped_ids(svg: str, prefix: str) -> str:
    """Make the SVG's element ids unique on a page that holds several charts."""
    if 'id="' not in svg:
        return svg
    ids = set(_ID.findall(svg))
    for name in ids:
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"').replace(f"url(#{name})", f"url(#{prefix}-{name})")
    return svg


class _Renderers:
    """Renderer processes, one per thread of a small thread pool: each thread sends its chart to its own
    child and waits. A child that died is replaced by a new one for the next chart."""

    def __init__(self, count: int):
        self.count = count
        self._local = threading.local()
        self._workers: list[Worker] = []
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(count, thread_name_prefix="gtmsite-svg")
        self.in_process = False  # no child can be started here: draw in this process instead

    def submit(self, spec: dict) -> Future:
        return self._threads.submit(self._render, spec)

    def _render(self, spec: dict) -> str:
        if self.in_process:
            return render_svg(spec)
        worker = getattr(self._local, "worker", None)
        if worker is None or not worker.alive:
            if worker is not None:  # it died drawing the last chart: reap it
                worker.close()
                with self._lock:
                    self._workers.remove(worker)
            try:
                worker = self._local.worker = Worker()
            except OSError:
                self.in_process = True
                return render_svg(spec)
            with self._lock:
                self._workers.append(worker)
        return worker.render(spec)

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()


_SHARED: dict[int, _Renderers] = {}
_SHARED_LOCK = threading.Lock()


def _renderers(count: int) -> _Renderers:
    """The process's renderers of this size: they outlive one build, so the preview's rebuilds (and a
    program building many sites) do not start vl-convert again each time; they stop when gtmsite exits."""
    with _SHARED_LOCK:
        if not _SHARED:
            atexit.register(_close_renderers)
        pool = _SHARED.get(count)
        if pool is None:
            pool = _SHARED[count] = _Renderers(count)
        return pool


def _close_renderers() -> None:
    with _SHARED_LOCK:
        pools = list(_SHARED.values())
        _SHARED.clear()
    for pool in pools:
        pool.close()


class SvgRenderer:
    """Hands out SVGs by key: drawn here (drawing/), from memory, from the disk cache, or rendered by
    vl-convert (in parallel) on demand."""

    def __init__(self, cache_dir: Path | None, workers: int, parallel: bool):
        self.cache_dir = cache_dir
        self.workers = max(1, workers)
        self.parallel = parallel and self.workers > 1
        self.rendered = 0
        self.cached = 0
        self._futures: dict[str, Future] = {}
        self._rendering: list[Future] = []  # charts vl-convert is drawing
        self._lock = threading.Lock()
        self._renderers: _Renderers | None = None

    def warm_up(self) -> None:
        """Start the renderers (vl-convert takes most of a second to start) while queries run, on a first
        build: one where the cache holds no SVG yet, so charts will surely be drawn."""
        if self.cache_dir is None or not self.cache_dir.exists() or not any(self.cache_dir.iterdir()):
            pool = self._pool()
            for _ in range(pool.count):
                pool.submit(_TINY)

    def _pool(self) -> _Renderers:
        if self._renderers is None:
            self._renderers = _renderers(self.workers if self.parallel else 1)
        return self._renderers

    def _path(self, key: str) -> Path | None:
        return self.cache_dir / key[:2] / f"{key}.svg" if self.cache_dir else None

    def request(self, key: str, spec: dict) -> Future:
        """A future SVG for this spec, ready for a page (links made safe, slimmed); the same key is never
        drawn twice. The cache is read outside the lock, so that other pages' requests do not wait on it."""
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future
            future = self._futures[key] = Future()
        cached = self._cached(key)
        with self._lock:
            if cached is None:
                self.rendered += 1
            else:
                self.cached += 1
        if cached is not None:
            future.set_result(page_ready(cached))
        else:
            rendering = self._pool().submit(spec)
            with self._lock:
                self._rendering.append(rendering)
            rendering.add_done_callback(lambda f: self._settle(key, f, future))
        return future

    def _settle(self, key: str, rendering: Future, future: Future) -> None:
        """vl-convert's SVG arrived: keep it in the cache as drawn, hand it on ready for a page."""
        if rendering.cancelled():
            future.cancel()
        elif rendering.exception() is not None:
            future.set_exception(rendering.exception())
        else:
            path = self._path(key)
            if path is not None:
                store_in_cache(path, rendering.result())
            future.set_result(page_ready(rendering.result()))

    def _cached(self, key: str) -> str | None:
        """The cached SVG for a key, if its entry is intact (checksum) and is an SVG; else None (a miss)."""
        path = self._path(key)
        data = read_cached(path) if path is not None else None
        if data is None:
            return None
        try:
            svg = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return svg if svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>") else None

    def svg(self, key: str) -> str:
        """The SVG for a requested key; raises the renderer's error (ValueError) or RendererCrashed."""
        return self._futures[key].result()

    def close(self) -> None:
        """Done with this build: the charts it still waits for are not drawn (the renderers stay for the next)."""
        for rendering in self._rendering:
            rendering.cancel()
        self._renderers = None


def chart_problem(rel: str, call: tuple[int | None, str] | None, exc: BaseException) -> Problem:
    """A chart that could not be drawn, located at its call: the renderer's message, or its crash."""
    line, name = call or (None, "chart")
    if isinstance(exc, RendererCrashed):
        return Problem(rel, line, f"{name}: {exc}: look for unusual values in its arguments, spec or data (a "
                                  "font name with < or &, a very long text, a huge number) and please report it")
    return Problem(rel, line, f"{name}: chart could not be drawn: {exc}")


_PLACEHOLDER = re.compile(r"<!--gtm-svg:([0-9a-f]{64})-->")


def page_ready(svg: str) -> str:
    """vl-convert's SVG as a page embeds it: slimmed, and a link a chart draws from its data (Vega-Lite's
    `href` channel) kept only with a safe URL, as in the rest of the page."""
    return slim_svg(safe_links(svg)[0])


def fill_svgs(html: str, svgs: dict[str, str]) -> str:
    """Put each chart's SVG (page_ready) in place of its placeholder."""
    return _PLACEHOLDER.sub(lambda m: scoped_ids(svgs[m.group(1)], "c" + m.group(1)[:8]), html)


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
        data = read_cached(path)  # checksummed: a garbled or truncated bundle is made again, never published
        if data is not None:
            return data
    data = vl_convert.javascript_bundle(snippet="window.vegaEmbed = vegaEmbed; window.vega = vega;").encode()
    for path in candidates:
        if store_in_cache(path, data):
            break
    return data
