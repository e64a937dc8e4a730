"""`gtmsite serve`: the preview. Build into a scratch folder, serve it on localhost, watch the
project, rebuild what changed and push a reload (Server-Sent Events) to the open pages; when a
rebuild fails, the open pages show the errors in an overlay and the server keeps serving.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import mimetypes
import shutil
import signal
import socket
import threading
import time
import webbrowser
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markupsafe import escape
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .build import Log, _quiet
from .config import CONFIG_FILE, load_config
from .errors import ConfigError
from .files import scratch_folder
from .preview import Preview, Rebuild

LIVE_SCRIPT = Path(__file__).parent / "themes" / "default" / "preview" / "live.js"
DEBOUNCE_SECONDS = 0.05
WATCHED = ("reports", "sources", "themes")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json",
                 ".csv": "text/csv", ".parquet": "application/octet-stream", ".html": "text/html"}


class LiveState:
    """The last rebuild's outcome and an epoch that increases with every successful rebuild."""

    def __init__(self) -> None:
        self.epoch = 0
        self.problems: list[dict] = []
        self.changed = threading.Condition()

    def publish(self, rebuild: Rebuild) -> None:
        with self.changed:
            if rebuild.ok:
                self.epoch += 1
                self.problems = []
            else:
                self.problems = [asdict(p) for p in rebuild.problems]
            self.changed.notify_all()

    def message(self) -> str:
        return json.dumps({"epoch": self.epoch, "problems": self.problems})


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], site_dir: Path, base_url: str, state: LiveState):
        super().__init__(address, PreviewHandler)
        self.host_names = HostNames(address[0])
        self.site_dir = site_dir.resolve()
        self.base_url = base_url
        self.state = state
        self.live_script = LIVE_SCRIPT.read_bytes()
        self.stopping = False


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return None

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802 - http.server's naming
        host = self.headers.get("Host")
        if not self.server.host_names.allows(host):
            return self.wrong_host(host, head)
        path = unquote(urlsplit(self.path).path)
        base = self.server.base_url
        if path == base + "_gtmsite/events":
            return self.events()
        if path == base + "_gtmsite/live.js":
            return self.send(HTTPStatus.OK, self.server.live_script, "text/javascript", head)
        if not path.startswith(base):
            if path in ("/", base.rstrip("/")):
                return self.redirect(base)
            return self.not_found(head)
        target = resolve_inside(self.server.site_dir, path[len(base):])
        if target is None:
            return self.not_found(head)
        if target.is_dir():
            if not path.endswith("/"):
                return self.redirect(path + "/")
            target = target / "index.html"
            if not target.is_file():
                return self.not_found(head)
        if not target.is_file():
            return self.not_found(head)
        body = target.read_bytes()
        kind = CONTENT_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or \
            "application/octet-stream"
        if kind == "text/html":
            body = self.inject(body)
        self.send(HTTPStatus.OK, body, kind, head)

    def inject(self, html: bytes) -> bytes:
        tag = (f'<script src="{escape(self.server.base_url)}_gtmsite/live.js" data-epoch="{self.server.state.epoch}" '
               f'defer></script>').encode()
        marker = b"</body>"
        return html.replace(marker, tag + marker, 1) if marker in html else html + tag

    def wrong_host(self, host: str | None, head: bool) -> None:
        """A page on another site that made its name point here (DNS rebinding) must not read the preview."""
        names = ", ".join(self.server.host_names.names)
        text = (f"This gtmsite preview answers only for {names}; the request named "
                f"{'no host' if host is None else repr(host)}. Open it as http://localhost:PORT/.\n")
        status = HTTPStatus.BAD_REQUEST if host is None else HTTPStatus.MISDIRECTED_REQUEST
        self.send(status, text.encode(), "text/plain", head)
        self.close_connection = True

    def not_found(self, head: bool) -> None:
        page = self.server.site_dir / "404.html"
        body = page.read_bytes() if page.is_file() else b"<!doctype html><title>Not found</title><h1>Not found</h1>"
        self.send(HTTPStatus.NOT_FOUND, self.inject(body), "text/html", head)

    def redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send(self, status: HTTPStatus, body: bytes, kind: str, head: bool = False) -> None:
        self.send_response(status)
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith(("json", "javascript")) else ""
        self.send_header("Content-Type", kind + charset)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def events(self) -> None:
        """Server-Sent Events: the state now, then every change; a comment every 15 s keeps it open."""
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.close_connection = True
        try:
            with state.changed:
                message = state.message()
            self.wfile.write(f"event: status\ndata: {message}\n\n".encode())
            self.wfile.flush()
            while not self.server.stopping:
                with state.changed:
                    before = message
                    state.changed.wait(timeout=15)
                    message = state.message()
                if message != before:
                    self.wfile.write(f"event: status\ndata: {message}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


class HostNames:
    """The names the preview answers for (the `Host` header): this machine's loopback names and the --host
    value; when listening on every interface (0.0.0.0), also any IP address and the machine's name."""

    LOOPBACK = ("localhost", "127.0.0.1", "::1")

    def __init__(self, bound: str):
        self.wildcard = bound in ("", "0.0.0.0", "::")
        extra = [socket.gethostname().lower()] if self.wildcard else [bound.lower().strip("[]")]
        self.names = tuple(dict.fromkeys([*self.LOOPBACK, *extra]))

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = _host_name(header)
        if name in self.names:
            return True
        if self.wildcard:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False


def _host_name(header: str) -> str:
    """`localhost:8000` -> `localhost`; `[::1]:8000` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return (header.rsplit(":", 1)[0] if header.count(":") == 1 else header).rstrip(".")


def resolve_inside(root: Path, rel: str) -> Path | None:
    """The file a request names, or None when it would leave `root` (`..`, absolute, symlinks out)."""
    if "\x00" in rel or "\\" in rel:
        return None
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    candidate = root.joinpath(*parts) if parts else root
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        return None
    if resolved != root and not resolved.is_relative_to(root):
        return None
    return resolved


class ChangeHandler(FileSystemEventHandler):
    """Collects relevant file events; the rebuild loop waits until they stop for a moment."""

    def __init__(self, project: Path, output: Path, cache: Path):
        self.project = project
        self.ignored = (output, cache)
        self.pending = threading.Event()
        self.last_event = 0.0
        self.paths: set[str] = set()
        self.lock = threading.Lock()
        self.observer: Observer | None = None  # set by watch_project, to watch a folder created later

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "deleted", "moved", "closed") or (
                event.is_directory and event.event_type == "modified"):
            return
        if event.is_directory and event.event_type == "created" and self.observer is not None and \
                Path(str(event.src_path)).parent == self.project and Path(str(event.src_path)).name in WATCHED:
            self.observer.schedule(self, str(event.src_path), recursive=True)
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw and self.relevant(Path(str(raw))):
                with self.lock:
                    self.paths.add(str(raw))
                    self.last_event = time.monotonic()
                self.pending.set()

    def relevant(self, path: Path) -> bool:
        name = path.name
        if name.startswith((".#", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913":
            return False
        if any(path.is_relative_to(p) for p in self.ignored):
            return False
        try:
            rel = path.relative_to(self.project)
        except ValueError:
            return False
        return rel.as_posix() == CONFIG_FILE or (bool(rel.parts) and rel.parts[0] in WATCHED)

    def take(self) -> set[str]:
        with self.lock:
            paths, self.paths = self.paths, set()
            self.pending.clear()
            return paths


def watch_project(observer: Observer, handler: ChangeHandler, project: Path) -> None:
    """Watch reports/, sources/ and themes/ recursively and the project folder itself (site.toml, and a
    watched folder created later), but not the output and cache folders, which every build rewrites."""
    handler.observer = observer
    observer.schedule(handler, str(project), recursive=False)
    for name in WATCHED:
        if (project / name).is_dir():
            observer.schedule(handler, str(project / name), recursive=True)


def wait_for_quiet(handler: ChangeHandler, stop: threading.Event) -> set[str]:
    """Debounce: wait for an event, then until none came for DEBOUNCE_SECONDS; editors that save by
    writing an empty file first get a little longer, so the rebuild sees the whole file."""
    while not stop.is_set():
        if not handler.pending.wait(timeout=0.5):
            continue
        while not stop.is_set():
            with handler.lock:
                quiet_for = time.monotonic() - handler.last_event
                paths = set(handler.paths)
            empty = any(_is_empty(Path(p)) for p in paths)
            needed = DEBOUNCE_SECONDS * (4 if empty else 1)
            if quiet_for >= needed:
                return handler.take()
            time.sleep(needed - quiet_for)
    return set()


def _is_empty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:  # removed or renamed meanwhile
        return False


def bind(host: str, port: int, site_dir: Path, base_url: str, state: LiveState, tries: int = 20) -> PreviewServer:
    """Bind to the port, or the next free one; a clear error when none is free."""
    last: OSError | None = None
    for candidate in range(port, port + tries):
        try:
            return PreviewServer((host, candidate), site_dir, base_url, state)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise ConfigError(f"--host {host} --port {candidate}: cannot listen there ({exc.strerror})") from None
            last = exc
            if port == 0:
                break
    raise ConfigError(f"--port {port}: the port and the {tries - 1} after it are in use "
                      f"({last.strerror if last else 'busy'}); choose another with --port")


def serve(project: Path, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          log: Log = _quiet, ready: threading.Event | None = None, stop: threading.Event | None = None) -> None:
    """Run the preview until interrupted (or until `stop` is set, for tests)."""
    interruptible()
    project = project.resolve()
    config = load_config(project)
    stop = stop or threading.Event()
    scratch = scratch_folder("serve")  # named by our pid: a killed server's folder is removed next time
    site_dir = scratch / "site"
    site_dir.mkdir()
    state = LiveState()
    preview = Preview(project, site_dir, _quiet)
    server = bind(host, port, site_dir, config.base_url, state)
    actual = server.server_address[1]
    url = f"http://{host if host not in ('0.0.0.0', '::') else 'localhost'}:{actual}{config.base_url}"
    if actual != port and port != 0:
        log(f"port {port} is in use; using {actual} instead")
    handler = ChangeHandler(project, config.output_dir, project / config.cache_dir)
    observer = Observer()
    watch_project(observer, handler, project)
    observer.start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    try:
        report(preview.rebuild(), state, log, first=True)
        where = "localhost only" if host in ("127.0.0.1", "localhost", "::1") else f"listening on {host}"
        log(f"serving {url} ({where}); watching reports/, sources/, themes/ and site.toml - Ctrl+C to stop")
        if open_browser:
            webbrowser.open(url)
        if ready is not None:
            ready.set()
        while not stop.is_set():
            changed = wait_for_quiet(handler, stop)
            if changed and not stop.is_set():
                names = ", ".join(sorted(Path(p).relative_to(project).as_posix() for p in changed
                                         if Path(p).is_relative_to(project)))
                log(f"changed: {names}")
                report(preview.rebuild(), state, log)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True
        with state.changed:
            state.changed.notify_all()
        observer.stop()
        server.shutdown()
        server.server_close()
        preview.close()
        shutil.rmtree(scratch, ignore_errors=True)


def interruptible() -> None:
    """Make Ctrl+C stop the preview, as it says, even when the program that started it left SIGINT ignored
    or blocked (a signal mask is inherited across exec, and every thread of ours would inherit it too):
    called before the preview starts its threads."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def report(rebuild: Rebuild, state: LiveState, log: Log, first: bool = False) -> None:
    state.publish(rebuild)
    if rebuild.ok:
        what = "built" if first else f"rebuilt {len(rebuild.changed)} page(s)"
        log(f"{what} in {rebuild.seconds * 1000:.0f} ms")
        return
    for problem in rebuild.problems:
        log(str(problem))
        if problem.sql:
            log("    " + problem.sql.strip().replace("\n", "\n    "))
    log(f"{len(rebuild.problems)} error(s); still serving the last good pages - save again to retry")

