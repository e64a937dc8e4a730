"""`gtmsite serve` (issue 5) on a real port with real HTTP: pages with the injected live script, edits
served within about a second with a reload event, errors pushed to the page while the last good page is
still served, recovery, safe static serving, content types, 404s and a busy port."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import make_site
from versioning import HOME, PIPELINE, versioned_site

from gtmsite.serve import serve

# watchdog warns when a folder it is adding a watch for (.gtmsite-cache/...) was already added
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\n'


def preview_site(root: Path) -> Path:
    project = versioned_site(root, {"themes/custom/static/logo.svg": SVG,
                                    "themes/custom/static/meta.json": '{"ok": true}\n'})
    (project / "site.toml").write_text('[site]\ntitle = "Test Site"\ntheme = "custom"\n')
    return project


class Server:
    def __init__(self, port: int, site_dir: Path, logs: list[str]):
        self.port, self.site_dir, self.logs = port, site_dir, logs

    def request(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        """One raw request: the path goes on the wire exactly as given (no client-side normalising)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def get(self, path: str) -> str:
        status, _, body = self.request(path)
        assert status == 200, (path, status)
        return body.decode()


@contextmanager
def running(project: Path, tmp_path: Path, monkeypatch):
    """`serve()` in a thread on a free port; its scratch folder under tmp_path so a test can look inside."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ready, stop, logs, failure = threading.Event(), threading.Event(), [], []
    port = free_port()

    def run() -> None:
        try:
            serve(project, port=port, log=logs.append, ready=ready, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), logs
    assert not failure, failure
    served = int(re.search(r"serving http://127\.0\.0\.1:(\d+)/", "\n".join(logs)).group(1))
    try:
        yield Server(served, next(scratch.glob("gtmsite-serve-*")) / "site", logs)
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "serve() did not stop"
    assert not list(scratch.iterdir()), "the scratch folder is removed on exit"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Events:
    """The /_gtmsite/events stream, read in a thread: each `status` event's data, in order."""

    def __init__(self, port: int):
        self.queue: queue.Queue = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/_gtmsite/events")
        self.sock = self.conn.sock  # the response takes it over
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name, data = None, []
        try:
            for raw in iter(self.response.fp.readline, b""):
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    self.queue.put((name, json.loads("\n".join(data)), time.perf_counter()))
                    name, data = None, []
        except (OSError, ValueError):
            pass

    def next(self, predicate=lambda state: True, timeout: float = 5) -> tuple[dict, float]:
        """The next status event whose data satisfies `predicate` (and when it arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no such event in time"
            try:
                name, state, when = self.queue.get(timeout=left)
            except queue.Empty:
                raise AssertionError("no such event in time") from None
            assert name == "status"
            if predicate(state):
                return state, when

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


@contextmanager
def events(port: int):
    stream = Events(port)
    try:
        yield stream
    finally:
        stream.close()


def wait_for_text(server: Server, path: str, text: str, timeout: float = 5) -> float:
    """Poll the page until it contains `text`; the time it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        status, _, body = server.request(path)
        if status == 200 and text in body.decode():
            return time.perf_counter() - started
        time.sleep(0.005)
    raise AssertionError(f"{text!r} not served at {path} within {timeout} s")


def edit(project: Path, rel: str, old: str, new: str, atomic: bool = False) -> None:
    path = project / rel
    text = path.read_text()
    assert old in text, (rel, old)
    text = text.replace(old, new)
    if atomic:  # as editors save: write a temporary file, rename it over the original
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    else:
        path.write_text(text)


# -- the tests --------------------------------------------------------------------------------------


def test_pages_are_served_with_the_live_script(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server:
        assert "(localhost only)" in "\n".join(server.logs)
        status, headers, body = server.request("/pipeline/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        html = body.decode()
        assert re.search(r'<script src="/_gtmsite/live\.js" data-epoch="1" defer></script></body>', html)
        assert "Closed Won" in html
        status, headers, body = server.request("/_gtmsite/live.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert b"EventSource" in body and b"gtm-error-overlay" in body
        status, headers, _ = server.request("/pipeline")
        assert status == 301 and headers["location"] == "/pipeline/"
        status, _, body = server.request("/pipeline/", method="HEAD")
        assert status == 200 and body == b""
        # a scratch folder, never the published output, and never a version
        assert server.site_dir.is_relative_to(tmp_path / "tmp")
        assert not (project / "build").exists()
        assert not (server.site_dir / "versions.json").exists()


def test_an_edit_is_served_within_a_second_with_a_reload_event(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server, events(server.port) as stream:
        first, _ = stream.next()
        assert first == {"epoch": 1, "problems": []}
        served, notified = [], []
        epoch = first["epoch"]
        for n in range(5):
            marker = f"Fresh text number {n}."
            previous = "{{ table(by_stage) }}" if n == 0 else f"Fresh text number {n - 1}."
            saved = time.perf_counter()
            edit(project, "reports/pipeline.md", previous, marker if n else marker + "\n\n{{ table(by_stage) }}",
                 atomic=n % 2 == 1)
            served.append(wait_for_text(server, "/pipeline/", marker))
            state, when = stream.next(lambda s, e=epoch: s["epoch"] > e, timeout=5)
            notified.append(when - saved)
            assert state["problems"] == []
            epoch = state["epoch"]
            assert f'data-epoch="{epoch}"' in server.get("/pipeline/")
        # only that page was rebuilt
        assert any(re.fullmatch(r"rebuilt 1 page\(s\) in \d+ ms", line) for line in server.logs), server.logs
        print(f"\nsave -> new text served: median {statistics.median(served) * 1000:.0f} ms, "
              f"max {max(served) * 1000:.0f} ms; save -> reload event: median "
              f"{statistics.median(notified) * 1000:.0f} ms (of {len(served)} edits)")
        assert max(served) < 1.5 and max(notified) < 1.5


def test_broken_sql_is_pushed_to_the_page_and_the_last_good_page_stays(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server, events(server.port) as stream:
        good, _ = stream.next()
        before = server.get("/pipeline/")
        edit(project, "reports/pipeline.md", "from deals group by stage", "from dealz group by stage")
        state, _ = stream.next(lambda s: bool(s["problems"]))
        assert state["epoch"] == good["epoch"], "a failed rebuild does not ask pages to reload"
        (problem,) = state["problems"]
        sql_line = PIPELINE.lstrip("\n").splitlines().index("```sql by_stage") + 2
        assert problem["path"] == "reports/pipeline.md" and problem["line"] == sql_line, problem
        assert "dealz" in problem["message"] and "does not exist" in problem["message"]
        assert "from dealz group by stage" in problem["sql"]
        # the terminal says the same, and the server goes on serving the last good pages
        deadline = time.monotonic() + 2
        while not any("still serving the last good pages" in line for line in server.logs):
            assert time.monotonic() < deadline, server.logs
            time.sleep(0.01)
        assert any(line.startswith(f"reports/pipeline.md:{sql_line}: ") and "dealz" in line for line in server.logs)
        assert any("from dealz group by stage" in line for line in server.logs)
        assert server.get("/pipeline/") == before
        assert "Won revenue" in server.get("/")
        # a new connection (a page opened now) gets the problems at once
        with events(server.port) as late:
            assert late.next()[0]["problems"] == state["problems"]
        # a second, different mistake replaces the first
        edit(project, "reports/pipeline.md", "from dealz group by stage", "from deals group by stagez")
        state, _ = stream.next(lambda s: bool(s["problems"]) and "stagez" in s["problems"][0]["message"])
        # fixed: the problems clear, the epoch moves on, the page shows the fix
        edit(project, "reports/pipeline.md", "from deals group by stagez", "from deals group by stage")
        edit(project, "reports/pipeline.md", "{{ table(by_stage) }}", "Recovered.\n\n{{ table(by_stage) }}")
        state, _ = stream.next(lambda s: not s["problems"] and s["epoch"] > good["epoch"])
        wait_for_text(server, "/pipeline/", "Recovered.")


def test_a_broken_template_and_a_bad_site_toml_recover_too(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server, events(server.port) as stream:
        good, _ = stream.next()
        edit(project, "reports/index.md", 'Won deals: {{ value(won, "deals") }}', "Won deals: {{ value(won, ")
        state, _ = stream.next(lambda s: bool(s["problems"]))
        assert state["problems"][0]["path"] == "reports/index.md"
        assert "Won revenue" in server.get("/")
        (project / "reports" / "index.md").write_text(HOME.lstrip("\n"))
        state, _ = stream.next(lambda s: not s["problems"] and s["epoch"] > good["epoch"])
        toml = (project / "site.toml").read_text()
        (project / "site.toml").write_text(toml + "\n[build]\nworkers = \"many\"\n")
        state, _ = stream.next(lambda s: bool(s["problems"]))
        assert state["problems"][0]["path"] == "site.toml" and "workers" in state["problems"][0]["message"]
        assert "Won revenue" in server.get("/")
        (project / "site.toml").write_text(toml)
        stream.next(lambda s: not s["problems"])


TRAVERSALS = [
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/pipeline/..%2f..%2f..%2f..%2f..%2fetc/passwd",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/_assets/../../../../../etc/passwd",
    "/..\\..\\..\\etc\\passwd",
    "/%5c..%5c..%5c..%5cetc%5cpasswd",
    "/pipeline/index.html%00.css",
    "/outside-file",
    "/outside-dir/passwd",
    "/outside-dir/",
]


def test_traversal_and_symlinks_out_all_404(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("top secret\n")
    with running(project, tmp_path, monkeypatch) as server:
        (server.site_dir / "outside-file").symlink_to(secret / "passwd")
        (server.site_dir / "outside-dir").symlink_to(secret, target_is_directory=True)
        (server.site_dir / "inside-link.html").symlink_to(server.site_dir / "pipeline" / "index.html")
        for path in TRAVERSALS:
            status, headers, body = server.request(path)
            assert status == 404, (path, status)
            assert b"root:" not in body and b"top secret" not in body, path
        # a symlink that stays inside the site is fine
        assert server.request("/inside-link.html")[0] == 200


def test_404_page_content_types_and_no_directory_listing(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server:
        status, headers, body = server.request("/no/such/page/")
        assert status == 404 and headers["content-type"].startswith("text/html")
        assert b"There is no page at this address" in body, "the theme's 404 page"
        assert b"_gtmsite/live.js" in body, "a 404 page reloads too, once the page exists"
        assets = {p.name for p in (server.site_dir / "_assets").iterdir()}
        expected = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                    ".svg": "image/svg+xml", ".json": "application/json; charset=utf-8"}
        for suffix, kind in expected.items():
            name = next(a for a in assets if a.endswith(suffix))
            status, headers, body = server.request(f"/_assets/{name}")
            assert status == 200 and headers["content-type"] == kind, (name, headers["content-type"])
            assert headers["x-content-type-options"] == "nosniff"
            assert body == (server.site_dir / "_assets" / name).read_bytes()
        status, headers, body = server.request("/_data/pipeline/by_stage.csv")
        assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
        assert body.decode().splitlines()[0] == "stage,deals,amount_usd0"
        (server.site_dir / "_data" / "pipeline" / "snapshot.parquet").write_bytes(b"PAR1")  # the preview makes none
        status, headers, _ = server.request("/_data/pipeline/snapshot.parquet")
        assert status == 200 and headers["content-type"] == "application/octet-stream"
        # folders without an index.html are not listed
        for folder in ("/_assets/", "/_data/", "/_data/pipeline/"):
            status, _, body = server.request(folder)
            assert status == 404, folder
            assert b"There is no page at this address" in body and b"by_stage" not in body, folder
        assert server.request("/_data")[0] == 301  # to /_data/, which is a 404 as above


def test_a_busy_port_moves_to_the_next_one_and_says_so(tmp_path):
    project = preview_site(tmp_path / "site")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    env = {**os.environ, "CI": "true", "TMPDIR": str(scratch), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gtmsite", "serve", "--project", str(project), "--port",
                             str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        said = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("serving ") for line in said):
            assert time.monotonic() < deadline and proc.poll() is None, said
            try:
                said.append(lines.get(timeout=1).rstrip("\n"))
            except queue.Empty:
                pass
        moved = re.search(rf"port {port} is in use; using (\d+) instead", "\n".join(said))
        assert moved, said
        actual = int(moved.group(1))
        assert actual > port
        assert any(line.startswith(f"serving http://127.0.0.1:{actual}/ (localhost only)") for line in said), said
        server = Server(actual, Path(), [])
        assert "Closed Won" in server.get("/pipeline/")
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # with PYTHONFAULTHANDLER: every thread's stack, on stderr
            proc.wait(timeout=10)
            time.sleep(0.5)
            stacks = []
            while not lines.empty():
                stacks.append(lines.get())
            pytest.fail("the preview did not stop within 30 s of Ctrl+C; where its threads were:\n" + "".join(stacks))
        assert code == 0
    finally:
        busy.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert not list(scratch.iterdir()), "the scratch folder is removed on Ctrl+C"
    assert not (project / "build").exists()


@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_a_port_nobody_else_has_is_used_as_given(tmp_path, monkeypatch, host):
    project = make_site(tmp_path / "site", {"site.toml": '[site]\ntitle = "T"\n', "reports/index.md": "# Hi\n"})
    with running(project, tmp_path, monkeypatch) as server:
        assert not any("in use" in line for line in server.logs)
        assert "Hi" in server.get("/")


def test_the_watcher_skips_the_output_and_follows_a_themes_folder_created_later(tmp_path):
    from watchdog.observers import Observer

    from gtmsite.serve import ChangeHandler, watch_project

    project = make_site(tmp_path / "site", {"site.toml": "[site]\ntitle = \"T\"\n", "reports/index.md": "# H\n",
                                            "build/old.html": "x"})
    handler = ChangeHandler(project, project / "build", project / ".gtmsite-cache")
    observer = Observer()
    watch_project(observer, handler, project)
    observer.start()
    try:
        (project / "build" / "new.html").write_text("ignored")
        (project / "themes" / "mine" / "static").mkdir(parents=True)
        time.sleep(0.3)  # the new folder gets its own watch
        (project / "themes" / "mine" / "static" / "custom.css").write_text("body {}")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(p.endswith("custom.css") for p in handler.paths):
            time.sleep(0.05)
        assert any(p.endswith("custom.css") for p in handler.paths)
        assert not any("/build/" in p for p in handler.paths)
    finally:
        observer.stop()
        observer.join()


@pytest.mark.parametrize("inherited", ["ignored", "blocked"])
def test_ctrl_c_stops_the_preview_even_if_its_parent_ignored_or_blocked_it(tmp_path, inherited):
    """A signal mask and an ignored SIGINT are inherited across exec (from a test runner, a script's `&`):
    the preview undoes both, so Ctrl+C stops it as it says."""
    project = make_site(tmp_path / "site", {"site.toml": '[site]\ntitle = "T"\n', "reports/index.md": "# Hi\n"})
    if inherited == "ignored":
        def before() -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        def before() -> None:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    env = {**os.environ, "CI": "true", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "gtmsite", "serve", "--project", str(project), "--port", "0"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=before)
    try:
        for line in proc.stderr:
            if line.startswith("serving "):
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
