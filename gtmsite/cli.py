"""The command line: a thin Typer layer over the library. Errors become output and exit codes here."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer

from . import __version__
from .build import BuildResult
from .errors import BuildFailed, Problem, SiteError
from .progress import build_log
from .release import build_site, check_site

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="gtmsite: go-to-market reports as code. Markdown + SQL in, a versioned static site out.")

SCAFFOLD = Path(__file__).parent / "scaffold"

ProjectOption = typer.Option(Path("."), "--project", "-p", help="The site project folder (holds site.toml).")
QuietOption = typer.Option(False, "--quiet", "-q", help="Print only errors and the summary.")
DebugOption = typer.Option(False, "--debug", help="Show Python tracebacks for unexpected errors.")


def _is_quiet(quiet: bool) -> bool:
    return quiet or os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _logger(quiet: bool) -> Callable[[str], None]:
    if _is_quiet(quiet):
        return lambda message: None
    return lambda message: typer.echo(message, err=True)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        typer.secho(str(problem), err=True, fg=typer.colors.RED)


def _run(action: Callable[[], None], debug: bool, builds: bool = True) -> None:
    """Run a command; turn the library's errors into messages and exit codes (0, 1, 2).
    `builds=False` for commands that never build or publish (query, versions)."""
    try:
        action()
    except BuildFailed as exc:
        for warning in exc.warnings:
            typer.secho(str(warning), err=True, fg=typer.colors.YELLOW)
        _print_problems(exc.problems)
        noun = "error" if len(exc.problems) == 1 else "errors"
        tail = "; nothing was published." if builds else "."
        typer.secho(f"{len(exc.problems)} {noun}{tail}", err=True, fg=typer.colors.RED, bold=True)
        raise typer.Exit(exc.exit_code) from None
    except SiteError as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.secho("interrupted; nothing was published." if builds else "interrupted.", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are reported
        if debug:
            raise
        typer.secho(f"internal error: {type(exc).__name__}: {exc}\n(run again with --debug for the traceback, "
                    "and please report it)", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def _summary(result: BuildResult, verb: str) -> str:
    counts = result.check_counts()
    checks = f"checks: {counts['passed']} passed, {counts['warned']} warned, {counts['failed']} failed"
    charts = f"; charts: {result.charts_rendered} rendered, {result.charts_cached} cached" if (
        result.charts_rendered or result.charts_cached) else ""
    return (f"{verb} {len(result.pages)} pages in {result.seconds:.2f} s "
            f"(queries: {result.queries_run} run, {result.cache_hits} cached{charts}; {checks})")


def _report_result(result: BuildResult, quiet: bool) -> None:
    """Warnings and notes (e.g. a result too big to embed) print even in CI: they are about the site."""
    for warning in result.warnings:
        typer.secho(str(warning), err=True, fg=typer.colors.YELLOW)
    for note in result.notes:
        typer.secho(f"note: {note}", err=True, fg=typer.colors.YELLOW)


@app.command()
def build(project: Path = ProjectOption,
          output: Path | None = typer.Option(None, "--output", "-o", help="Publish here instead of [build] output."),
          label: str = typer.Option("", "--label", help="A label for this version (also its id)."),
          git_branch: str | None = typer.Option(None, "--git-branch",
                                                   help="Publish the version as one commit on this git branch."),
          no_cache: bool = typer.Option(False, "--no-cache", help="Run every query again, ignoring cached results."),
          quiet: bool = QuietOption, debug: bool = DebugOption) -> None:
    """Run every query and check, render the site and publish it as a new version."""
    def action() -> None:
        with build_log(_is_quiet(quiet), _logger(quiet)) as log:
            release = build_site(project, output, log=log, use_cache=not no_cache, label=label,
                                 git_branch=git_branch)
        result = release.result
        _report_result(result, quiet)
        where = f"branch {git_branch}" if git_branch else str(release.output / "v" / release.record.id)
        typer.echo(_summary(result, "built") + f"\nversion {release.record.id} -> {where}")
    _run(action, debug)


@app.command()
def serve(project: Path = ProjectOption,
          host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
          port: int = typer.Option(8000, "--port", help="Port (the next free one is used if it is taken)."),
          open_browser: bool = typer.Option(False, "--open", help="Open the site in a browser."),
          debug: bool = DebugOption) -> None:
    """Preview the site with live reload: rebuild on every change, errors shown in the page."""
    from .serve import serve as run_server

    _run(lambda: run_server(project, host, port, open_browser, log=lambda m: typer.echo(m, err=True)), debug)


@app.command()
def check(project: Path = ProjectOption, quiet: bool = QuietOption, debug: bool = DebugOption,
          no_cache: bool = typer.Option(False, "--no-cache", help="Run every query again.")) -> None:
    """Run sources, queries, checks and templates like a build; write nothing."""
    def action() -> None:
        with build_log(_is_quiet(quiet), _logger(quiet)) as log:
            result = check_site(project, log=log, use_cache=not no_cache)
        _report_result(result, quiet)
        typer.echo(_summary(result, "checked"))
    _run(action, debug)


@app.command()
def query(sql: str = typer.Argument(..., help="The SQL to run against the sources and models."),
          project: Path = ProjectOption,
          limit: int = typer.Option(50, "--limit", help="Rows to print (0 = all)."),
          csv_output: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
          debug: bool = DebugOption) -> None:
    """Run ad-hoc SQL against the sources and print the result."""
    from .adhoc import run_adhoc

    _run(lambda: typer.echo(run_adhoc(project, sql, limit, csv_output)), debug, builds=False)


@app.command()
def init(directory: Path = typer.Argument(Path("."), help="Where to create the project."),
         force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty.")) -> None:
    """Create a small working site project."""
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()) and not force:
        typer.secho(f"{directory}: the folder is not empty; choose another or pass --force "
                    "(existing files with the same names are overwritten)", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    for path in sorted(SCAFFOLD.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            target = directory / path.relative_to(SCAFFOLD)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    typer.echo(f"created a gtmsite project in {directory}\n"
               f"next: gtmsite build --project {directory}   (or: cd {directory} && gtmsite build)")


versions_app = typer.Typer(help="List, compare and prune the published versions.", no_args_is_help=True)
app.add_typer(versions_app, name="versions")


def _output_dir(project: Path, output: Path | None) -> Path:
    from .config import load_config

    return output.resolve() if output else load_config(project).output_dir


OutputOption = typer.Option(None, "--output", "-o", help="The published site (default: [build] output).")


@versions_app.command("list")
def versions_list(project: Path = ProjectOption, output: Path | None = OutputOption,
                  debug: bool = DebugOption) -> None:
    """The published versions, newest first."""
    from .publish import read_versions

    def action() -> None:
        versions = read_versions(_output_dir(project, output))
        if not versions:
            typer.echo("no versions published yet (run gtmsite build)")
            return
        for v in versions:
            checks = v.get("checks", {})
            aliases = f" [{', '.join(v['aliases'])}]" if v.get("aliases") else ""
            commit = (v.get("git_commit") or "-")[:10]
            typer.echo(f"{v['id']:<16} {v.get('created', ''):<25} {v.get('pages', 0):>6} pages  "
                       f"checks {checks.get('passed', 0)}/{checks.get('warned', 0)}/{checks.get('failed', 0)}  "
                       f"data {v.get('data_fingerprint', '')[:10]}  git {commit}{aliases}")
    _run(action, debug, builds=False)


@versions_app.command("diff")
def versions_diff(a: str = typer.Argument(..., help="The older version id."),
                  b: str = typer.Argument("latest", help="The newer version id (default: latest)."),
                  project: Path = ProjectOption, output: Path | None = OutputOption,
                  debug: bool = DebugOption) -> None:
    """What changed between two versions: pages, query results, rows and KPIs."""
    from .publish import read_versions
    from .versions import compare, comparison_text, csv_rows, read_manifest

    def action() -> None:
        root = _output_dir(project, output)
        ids = [v["id"] for v in read_versions(root)]
        resolved = []
        for name in (a, b):
            vid = ids[0] if name == "latest" and ids else name
            if vid not in ids:
                raise SiteError(f"no version '{name}' (versions: {', '.join(ids) or 'none'})")
            resolved.append(vid)

        def rows(vid: str, url: str, query: str) -> list:
            return csv_rows(root / "v" / vid / "_data" / (url.strip("/") or "index") / f"{query}.csv")

        comparison = compare(read_manifest(root / "v" / resolved[0]), read_manifest(root / "v" / resolved[1]),
                             resolved[0], resolved[1], rows)
        typer.echo(comparison_text(comparison))
    _run(action, debug, builds=False)


@versions_app.command("prune")
def versions_prune(keep: int = typer.Option(..., "--keep", min=1, help="How many of the newest versions to keep."),
                   project: Path = ProjectOption, output: Path | None = OutputOption,
                   debug: bool = DebugOption) -> None:
    """Remove all but the newest N versions."""
    from .publish import prune

    def action() -> None:
        dropped = prune(_output_dir(project, output), keep)
        typer.echo(f"removed {len(dropped)} version(s){': ' + ', '.join(v['id'] for v in dropped) if dropped else ''}")
    _run(action, debug, builds=False)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gtmsite {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                      help="Show the version and exit.")) -> None:
    """gtmsite: go-to-market reports as code."""


def run() -> None:
    started = time.perf_counter()
    try:
        app()
    finally:
        if os.environ.get("GTMSITE_TIMING"):
            print(f"[{time.perf_counter() - started:.2f} s]", file=sys.stderr)
