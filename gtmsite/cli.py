"""The command line: a thin Typer layer over the library. Errors become output and exit codes here."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import typer

from . import __version__
from .build import BuildResult
from .errors import BuildFailed, ConfigError, Problem, SiteError, io_error
from .progress import build_log
from .release import build_site, check_site

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="gtmsite: go-to-market reports as code. Markdown + SQL in, a versioned static site out.")

SCAFFOLD = Path(__file__).parent / "scaffold"

ProjectOption = typer.Option(Path("."), "--project", "-p", help="The site project folder (holds site.toml).")
QuietOption = typer.Option(False, "--quiet", "-q", help="Print only errors and the summary.")
DebugOption = typer.Option(False, "--debug", help="Show Python tracebacks for unexpected errors.")
StrictOption = typer.Option(False, "--strict", help="Warnings about the reports (a broken link, an unknown front "
                                                   "matter key...) are errors: exit 1. warn: checks still warn.")


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
    except OSError as exc:  # the disk, not our code: full, read-only, a file gone (path and cause)
        typer.secho(str(io_error(exc)), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
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
    pages = f"{len(result.pages) - result.linked} rendered, {result.linked} unchanged; " if result.linked else ""
    return (f"{verb} {len(result.pages)} pages in {result.seconds:.2f} s "
            f"({pages}queries: {result.queries_run} run, {result.cache_hits} cached{charts}; {checks})")


def _report_result(result: BuildResult, quiet: bool) -> None:
    """Warnings and notes (e.g. a result too big to embed) print even in CI: they are about the site."""
    for warning in result.warnings:
        typer.secho(str(warning), err=True, fg=typer.colors.YELLOW)
    for note in result.notes:
        typer.secho(f"note: {note}", err=True, fg=typer.colors.YELLOW)


@app.command()
def build(project: Path = ProjectOption,
          output: Path | None = typer.Option(None, "--output", "-o",
                                             help="Publish here instead of the output folder set in site.toml."),
          label: str = typer.Option("", "--label", help="A label for this version (also its id)."),
          git_branch: str | None = typer.Option(None, "--git-branch",
                                                   help="Publish the version as one commit on this git branch."),
          no_cache: bool = typer.Option(False, "--no-cache", help="Run every query again, ignoring cached results."),
          strict: bool = StrictOption,
          pdf: bool = typer.Option(False, "--pdf", help="Also print the whole version to site.pdf (needs Chromium)."),
          quiet: bool = QuietOption, debug: bool = DebugOption) -> None:
    """Run every query and check, render the site and publish it as a new version."""
    def action() -> None:
        with build_log(_is_quiet(quiet), _logger(quiet)) as log:
            release = build_site(project, output, log=log, use_cache=not no_cache, label=label,
                                 git_branch=git_branch, strict=strict, pdf=pdf,
                                 debug=_logger(quiet) if debug else None)
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
          no_cache: bool = typer.Option(False, "--no-cache", help="Run every query again."),
          strict: bool = StrictOption) -> None:
    """Run sources, queries, checks and templates like a build; write nothing (the cache is only read)."""
    def action() -> None:
        with build_log(_is_quiet(quiet), _logger(quiet)) as log:
            result = check_site(project, log=log, use_cache=not no_cache, strict=strict,
                                debug=_logger(quiet) if debug else None)
        _report_result(result, quiet)
        typer.echo(_summary(result, "checked"))
    _run(action, debug)


@app.command()
def query(sql: str = typer.Argument(..., help="The SQL to run against the sources and models."),
          project: Path = ProjectOption,
          limit: int | None = typer.Option(None, "--limit",
                                           help="Rows to print (default: 50 in the table, all with --csv; 0 = all)."),
          csv_output: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
          debug: bool = DebugOption) -> None:
    """Run ad-hoc SQL against the sources and print the result."""
    from .adhoc import run_adhoc

    _run(lambda: typer.echo(run_adhoc(project, sql, limit, csv_output)), debug, builds=False)


@app.command()
def sources(names: list[str] = typer.Argument(None, help="Only these sources ([sources.NAME] in site.toml)."),
            project: Path = ProjectOption,
            refresh: bool = typer.Option(False, "--refresh", help="Fetch every result again, whatever `refresh` says."),
            quiet: bool = QuietOption, debug: bool = DebugOption) -> None:
    """Run the external databases' source queries (as their `refresh` says) and list the results."""
    from rich.console import Console

    from .warehouse.listing import results_table, source_results

    def action() -> None:
        terminal = Console(stderr=True)
        if terminal.is_terminal and not _is_quiet(quiet):
            with terminal.status("running source queries...") as status:
                found = source_results(project, names or [], refresh, lambda m: status.update(m))
        else:
            found = source_results(project, names or [], refresh, _logger(quiet))
        results, settings, now = found
        out = Console(width=None if Console().is_terminal else 120)
        out.print(results_table(results, settings, now))
        if not results:
            out.print("no source queries: put them in sources/NAME/*.sql")
    _run(action, debug, builds=False)


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


def _cache_dir(project: Path) -> Path:
    """The project's cache folder; the default one when the project has no readable site.toml."""
    from .config import Config, load_config
    from .errors import ConfigError

    try:
        config = load_config(project)
    except ConfigError:
        return project.resolve() / Config.cache_dir
    return config.project / config.cache_dir


OutputOption = typer.Option(None, "--output", "-o",
                            help="The published site (default: the output folder set in site.toml).")


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
    from .history import calibration_lines, forecast_vs_actual, load_history
    from .metricfences import definition_changes
    from .publish import read_versions
    from .versions import compare, compare_sources, comparison_text, csv_rows, read_manifest

    def action() -> None:
        root = _output_dir(project, output)
        ids = [v["id"] for v in read_versions(root)]
        resolved = []
        for name in (a, b):
            vid = ids[0] if name == "latest" and ids else name
            if vid not in ids:
                raise ConfigError(f"no version '{name}' (versions: {', '.join(ids) or 'none'})")
            resolved.append(vid)

        def rows(vid: str, url: str, query: str) -> list:
            return csv_rows(root / "v" / vid / "_data" / (url.strip("/") or "index") / f"{query}.csv")

        after = read_manifest(root / "v" / resolved[1])
        comparison = compare(read_manifest(root / "v" / resolved[0]), after, resolved[0], resolved[1], rows)
        records = {v["id"]: v for v in read_versions(root)}
        comparison = replace(comparison, sources=compare_sources(records[resolved[0]].get("sources") or {},
                                                                 records[resolved[1]].get("sources") or {}))
        typer.echo(comparison_text(comparison))
        versions = read_versions(root)
        earlier = versions[[v["id"] for v in versions].index(resolved[0]):]
        for line in calibration_lines(forecast_vs_actual(after, load_history(root, earlier))):
            typer.echo(line)
        for name, change in definition_changes(records[resolved[0]].get("metrics"),
                                               records[resolved[1]].get("metrics") or {}):
            typer.echo(f"metric {name}: {change}")
    _run(action, debug, builds=False)


@versions_app.command("prune")
def versions_prune(keep: int = typer.Option(..., "--keep", min=1, help="How many of the newest versions to keep."),
                   project: Path = ProjectOption, output: Path | None = OutputOption,
                   debug: bool = DebugOption) -> None:
    """Remove all but the newest N versions."""
    from .publish import prune, spare_folder

    def action() -> None:
        target = _output_dir(project, output)
        dropped = prune(target, keep, spare_folder(_cache_dir(project), target))
        typer.echo(f"removed {len(dropped)} version(s){': ' + ', '.join(v['id'] for v in dropped) if dropped else ''}")
    _run(action, debug, builds=False)


SiteOption = typer.Option(None, "--site", help="The published site (default: [build] output).")


@app.command("pdf")
def pdf_command(pages: list[str] = typer.Argument(None, help="Pages to print, by URL (pipeline, /channels/organic/); "
                                                               "default: all."),
                version: str = typer.Option("latest", "--version", help="The published version to print."),
                output: Path | None = typer.Option(None, "--output", "-o",
                                                   help="The PDF file to write (default: <version>.pdf here)."),
                project: Path = ProjectOption, site: Path | None = SiteOption, debug: bool = DebugOption) -> None:
    """Print a published version (or some of its pages) as one PDF."""
    from .config import load_config
    from .pdf import make_pdf
    from .publish import read_versions

    def action() -> None:
        config = load_config(project)
        root = site.resolve() if site else config.output_dir
        vid = _resolve_version(read_versions(root), version)
        result = make_pdf(root / "v" / vid, config, (output or Path(f"{vid}.pdf")).resolve(), pages or ())
        typer.echo(f"wrote {result.path} ({result.pages} pages of version {vid}, {result.sheets} PDF pages)")
    _run(action, debug, builds=False)


@app.command()
def digest(a: str | None = typer.Argument(None, help="The older version (default: the one before the newest)."),
           b: str | None = typer.Argument(None, help="The newer version (default: the newest)."),
           form: str = typer.Option("markdown", "--format", help="markdown (for an issue), html (mail-safe) or text."),
           output: Path | None = typer.Option(None, "--output", "-o", help="Write the digest to this file."),
           email: str | None = typer.Option(None, "--email", help="Send it to these addresses (comma-separated)."),
           smtp: str | None = typer.Option(None, "--smtp", help="smtp://user:password@host:port, or env:VARIABLE."),
           sender: str | None = typer.Option(None, "--from", help="The sender address (default: the SMTP user)."),
           project: Path = ProjectOption, site: Path | None = SiteOption, debug: bool = DebugOption) -> None:
    """What changed between two versions: headline KPIs, checks, sources and pages, to paste or to mail."""
    from .config import load_config
    from .digest import make_digest, pick_versions, render_digest
    from .publish import read_versions

    def action() -> None:
        if email and not smtp:
            raise ConfigError("--email needs --smtp (smtp://user:password@host:port or env:VARIABLE)")
        config = load_config(project)
        root = site.resolve() if site else config.output_dir
        versions = read_versions(root)
        older, newer = pick_versions(versions, a, b)
        made = make_digest(config, root, versions, older, newer)
        text = render_digest(config, made, form)
        if email:
            from .mail import build_message, default_sender, parse_recipients, parse_smtp_url, send

            server = parse_smtp_url(smtp)
            recipients = parse_recipients(email)
            message = build_message(sender or default_sender(server), recipients, made.title,
                                    render_digest(config, made, "text"), render_digest(config, made, "html"))
            send(server, message)
            typer.echo(f"sent the digest of {newer} to {', '.join(recipients)} via {server.shown}", err=True)
        if output:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}", err=True)
        elif not email:
            typer.echo(text, nl=False)
    _run(action, debug, builds=False)


def _resolve_version(versions: list[dict], name: str) -> str:
    ids = [v["id"] for v in versions]
    vid = ids[0] if name == "latest" and ids else name
    if vid not in ids:
        raise ConfigError(f"no version '{name}' (versions: {', '.join(ids) or 'none: run gtmsite build'})")
    return vid


metrics_app = typer.Typer(help="The metrics of sources/metrics.yml: list them, or compute them.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
def metrics_list(project: Path = ProjectOption, debug: bool = DebugOption) -> None:
    """Every metric: name, label, type, format, dataset and owner."""
    from .metricquery import list_metrics

    _run(lambda: typer.echo(list_metrics(project)), debug, builds=False)


@metrics_app.command("query")
def metrics_query(names: list[str] = typer.Argument(..., help="The metrics to compute."),
                  by: list[str] = typer.Option([], "--by", help="Group by this column (repeat for several)."),
                  grain: str | None = typer.Option(None, "--grain", help="Per day, week, month, quarter or year."),
                  where: str | None = typer.Option(None, "--where", help="An SQL condition applied to each dataset."),
                  project: Path = ProjectOption,
                  limit: int = typer.Option(50, "--limit", help="Rows to print (0 = all)."),
                  sql: bool = typer.Option(False, "--sql", help="Print the compiled SQL instead of running it."),
                  debug: bool = DebugOption) -> None:
    """Compute metrics from the project's data, grouped by columns and a time grain."""
    from .metricquery import query_metrics

    _run(lambda: typer.echo(query_metrics(project, names, by, grain, where, limit, sql)), debug, builds=False)


@metrics_app.command("export")
def metrics_export(project: Path = ProjectOption,
                   fmt: str = typer.Option("ossie", "--format", help="The interchange format: ossie (Apache Ossie)."),
                   output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
                   debug: bool = DebugOption) -> None:
    """The metric definitions in an interchange format other tools read (Apache Ossie YAML)."""
    from .metricquery import export_metrics

    def action() -> None:
        text = export_metrics(project, fmt)
        if output is None:
            typer.echo(text)
            return
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}")
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
    from .publish import stop_cleanly_on_sigterm

    stop_cleanly_on_sigterm()
    # Python's cycle collector, tuned for a build: the modules imported (a few hundred thousand objects) are
    # left out of its passes, and it runs every 20,000 allocations rather than 700. A build of 10,000 pages
    # makes millions of objects that hold no cycles; the defaults spent most of a second scanning them.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    started = time.perf_counter()
    try:
        app()
    finally:
        if os.environ.get("GTMSITE_TIMING"):
            print(f"[{time.perf_counter() - started:.2f} s]", file=sys.stderr)
