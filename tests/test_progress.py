"""Build progress: a live stage-and-pages line on a terminal, nothing of it in CI, with --quiet or in a pipe."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from conftest import deals_site
from rich.console import Console

from gtmsite.progress import TerminalProgress, build_log


def test_the_terminal_shows_the_stage_and_the_pages_done():
    out = io.StringIO()
    progress = TerminalProgress(Console(file=out, force_terminal=True, width=100), delay=0)
    progress.timer.join()
    progress("9 reports, 3 pages")
    progress.start_pages(3)
    progress.page_done()
    progress.display.refresh()  # the live line redraws ten times a second; draw this state now
    progress.page_done()
    progress.page_done()
    progress.display.refresh()
    progress("published version 2026-12-02 -> build/v/2026-12-02")
    progress.close()
    text = out.getvalue()
    assert "9 reports, 3 pages" in text and "published version 2026-12-02" in text
    assert "Rendering pages" in text and "1/3" in text and "3/3" in text


def test_a_build_under_a_second_shows_no_live_line():
    out = io.StringIO()
    progress = TerminalProgress(Console(file=out, force_terminal=True, width=100), delay=60)
    progress.start_pages(2)
    progress.page_done()
    progress.close()
    assert "Rendering pages" not in out.getvalue()
    assert not progress.started


def test_quiet_and_pipes_get_no_progress():
    lines = []
    with build_log(True, lines.append) as log:
        log("9 reports, 3 pages")
    assert lines == []
    with build_log(False, lines.append) as log:  # pytest's stderr is no terminal
        log("9 reports, 3 pages")
        assert not isinstance(log, TerminalProgress)
    assert lines == ["9 reports, 3 pages"]


def _in_a_terminal(project, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "CI"} | env
    process = subprocess.Popen([sys.executable, "-m", "gtmsite", "build", "--project", str(project)],
                               stdin=follower, stdout=follower, stderr=follower, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(60) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_ci_is_silent_even_on_a_terminal(tmp_path):
    project = deals_site(tmp_path / "site", {"reports/index.md": "# Home\n"})
    text = _in_a_terminal(project, {"CI": "true"})
    assert "built 1 page" in text and "Rendering pages" not in text and "\x1b[?25l" not in text
