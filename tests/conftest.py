"""Shared helpers: tiny fixture sites written into tmp_path, and ways to run the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gtmsite.cli import app

DEALS_CSV = """\
id,account,channel,stage,amount,created_at
1,Acme,Paid Search,Closed Won,1200,2026-01-14
2,Globex,Organic,Proposal,800,2026-02-03
3,Initech,Paid Search,Closed Lost,400,2026-02-20
4,Umbrella,Partner,Closed Won,2200,2026-03-08
"""


def make_site(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (path -> text, dedented; or bytes) under `root` and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def deals_site(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A site with `sources/deals.csv` and a small site.toml, plus `files`."""
    base = {"site.toml": '[site]\ntitle = "Test Site"\n', "sources/deals.csv": DEALS_CSV}
    return make_site(root, {**base, **(files or {})})


_runner = CliRunner()


def run_cli(*args: str | Path, env: dict[str, str] | None = None):
    """Run the Typer app in-process; `result.stdout`, `result.stderr`, `result.exit_code`."""
    environment = {"CI": "true", **(env or {})}
    return _runner.invoke(app, [str(a) for a in args], env=environment)


def run_gtmsite(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python -m gtmsite ...` as a real process."""
    environment = {**os.environ, "CI": "true", **(env or {})}
    environment.pop("GTMSITE_TIMING", None)
    return subprocess.run([sys.executable, "-m", "gtmsite", *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def build_ok(project: Path, *extra: str) -> str:
    """Build the site and assert it succeeded; return what it printed on stdout."""
    result = run_cli("build", "--project", project, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


def site_root(project: Path, output: str = "build") -> Path:
    """The folder of the newest built version (`build/latest/` once versions exist, else `build/`)."""
    latest = project / output / "latest"
    return latest if latest.is_dir() else project / output


def page(project: Path, url: str = "/", output: str = "build") -> str:
    """The HTML of a built page by its URL ("/", "/pipeline/") in the newest version."""
    path = site_root(project, output) / url.strip("/") / "index.html"
    return path.read_text(encoding="utf-8")


def article(html: str) -> str:
    """Just the report's own content (without navigation and theme chrome)."""
    match = re.search(r'<article class="report">(.*)</article>', html, re.S)
    assert match, "no <article> in the page"
    return match.group(1)


_SUMMARY = re.compile(r"^\d+ errors?[.;]")


def error_lines(result) -> list[str]:
    """The problem lines a failed command printed (without the closing "N errors." summary line)."""
    return [line for line in result.stderr.splitlines() if line and not _SUMMARY.match(line)]


@pytest.fixture
def site(tmp_path: Path):
    """`site({...})` writes a deals site with extra files into a fresh folder and returns it."""
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        return deals_site(tmp_path / f"site{next(counter)}", files)
    return make


from warehouse_fixtures import postgres, spark  # noqa: E402, F401 - session fixtures: real database servers
