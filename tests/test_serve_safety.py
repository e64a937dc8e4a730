"""`gtmsite serve` (issue 9, items 26 and 27) over real HTTP: an internal error in a rebuild does not stop
the preview (the last good pages stay, the error shows in the page and the terminal), and the preview
answers only requests that name this machine (DNS rebinding)."""

from __future__ import annotations

import http.client
import time

import pytest
from test_serve import edit, events, preview_site, running

import gtmsite.build
from gtmsite.serve import HostNames

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


def inject_fault(monkeypatch) -> None:
    """Fault injection: rendering a report that holds the word FAULT fails like a bug in gtmsite would."""
    real = gtmsite.build.render_body

    def render_body(compiled, *args, **kwargs):
        if "FAULT" in compiled.source:
            raise ZeroDivisionError("injected fault")
        return real(compiled, *args, **kwargs)

    monkeypatch.setattr(gtmsite.build, "render_body", render_body)


def test_an_internal_error_in_a_rebuild_keeps_the_server_and_the_last_good_pages(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    inject_fault(monkeypatch)
    with running(project, tmp_path, monkeypatch) as server, events(server.port) as stream:
        good, _ = stream.next()
        before = server.get("/pipeline/")
        edit(project, "reports/pipeline.md", "# Pipeline", "# Pipeline FAULT")
        state, _ = stream.next(lambda s: bool(s["problems"]))
        (problem,) = state["problems"]
        assert problem["path"] == "gtmsite"
        assert problem["message"].startswith("internal error: ZeroDivisionError: injected fault at ")
        assert "keeps serving the last good pages" in problem["message"]
        deadline = time.monotonic() + 2
        while not any("still serving the last good pages" in line for line in server.logs):
            assert time.monotonic() < deadline, server.logs
            time.sleep(0.01)
        assert any("internal error: ZeroDivisionError: injected fault" in line for line in server.logs)
        assert server.get("/pipeline/") == before
        assert "Won revenue" in server.get("/")
        # the next save that works is served as usual
        edit(project, "reports/pipeline.md", "# Pipeline FAULT", "# Pipeline again")
        stream.next(lambda s: not s["problems"] and s["epoch"] > good["epoch"])
        assert "Pipeline again" in server.get("/pipeline/")


def request_with_host(port: int, host: str | None, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_only_requests_naming_this_machine_are_answered(tmp_path, monkeypatch):
    project = preview_site(tmp_path / "site")
    with running(project, tmp_path, monkeypatch) as server:
        port = server.port
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost", f"LOCALHOST:{port}"):
            status, body = request_with_host(port, host, "/pipeline/")
            assert status == 200 and b"Pipeline" in body, host
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.attacker.example:{port}",
                     f"localhost.attacker.example:{port}", f"192.168.1.20:{port}"):
            status, body = request_with_host(port, host, "/pipeline/")
            assert status == 421, host
            assert b"answers only for localhost, 127.0.0.1, ::1" in body
            assert b"Pipeline" not in body
        status, body = request_with_host(port, "attacker.example", "/_gtmsite/events")
        assert status == 421
        status, body = request_with_host(port, None, "/pipeline/")
        assert status == 400 and b"named no host" in body


def test_the_host_value_is_answered_and_a_wildcard_answers_addresses_not_names():
    named = HostNames("preview.internal")
    assert named.allows("preview.internal:8000") and named.allows("localhost:8000")
    assert not named.allows("10.0.0.5:8000") and not named.allows("evil.example")
    wildcard = HostNames("0.0.0.0")
    assert wildcard.allows("10.0.0.5:8000") and wildcard.allows("[fe80::1]:8000") and wildcard.allows("localhost")
    assert not wildcard.allows("evil.example:8000") and not wildcard.allows(None)
