"""`gtmsite build`, end to end: build a new version, compare it with the previous one, publish it.

    lock -> tidy -> build pages (staging) -> data snapshot + manifest -> what changed -> publish

`gtmsite check` is the same build with a writer that writes nothing (it reads the cache, never writes it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .build import Builder, BuildResult, Log, _quiet
from .checks import parse_check
from .config import MAX_LABEL, Config, input_holding, load_config
from .digest import CHECKS_FILE, checks_json
from .errors import BuildFailed, ConfigError, Problem, SiteError, io_error
from .files import cache_read_only, ensure_cache_folder, links_leaving, scratch_folder
from .history import PastVersion, column_totals, forecast_vs_actual, load_history, run_history_checks, tables_json
from .metricfences import Definitions, definition_changes, metric_hashes
from .output import Writer
from .pdf import PDF_FILE, VersionInfo, make_pdf
from .publish import (
    LOCK_FILE,
    VERSIONS_FILE,
    publish_lock,
    publish_version,
    read_versions,
    spare_folder,
    staging_folder,
    tidy,
    used_ids,
)
from .search import IndexJob, start_index
from .versions import (
    Comparison,
    PageSummary,
    QuerySummary,
    VersionRecord,
    compare,
    compare_sources,
    csv_rows,
    kpi_values,
    manifest_json,
    next_version_id,
    read_manifest,
)


@dataclass(frozen=True)
class Release:
    """What a build published."""

    result: BuildResult
    record: VersionRecord | None
    comparison: Comparison | None
    output: Path


def check_site(project: Path | str, log: Log = _quiet, use_cache: bool = True, strict: bool = False,
               debug: Log | None = None) -> BuildResult:
    """Everything a build does (sources, queries, checks, templates), writing nothing: not even the cache,
    which it only reads. `strict`: a warning fails it too; `debug` hears how queries run (which ones of a
    templated report run once per page, and why)."""
    config = load_config(project)
    notes = refuse_outside_links(config)
    with cache_read_only(), environment_faults():
        builder = Builder(config, Writer(None), log, use_cache, debug=debug or _quiet)
        try:
            versions = read_versions(config.output_dir) if config.output_dir.is_dir() else []
            result, _ = with_history_checks(builder, builder.run(), load_history(config.output_dir, versions))
            result = _successful(result, strict)
        finally:
            builder.db.close()
    result.notes.extend(notes)
    return result


@contextmanager
def environment_faults() -> Iterator[None]:
    """A fault of the file system (a disk full, a source deleted mid-build) as a message naming the path
    and the cause, not an internal error."""
    try:
        yield
    except OSError as exc:
        raise io_error(exc) from None


def build_site(project: Path | str, output: Path | str | None = None, log: Log = _quiet, use_cache: bool = True,
               label: str = "", git_branch: str | None = None, strict: bool = False, pdf: bool = False,
               debug: Log | None = None) -> Release:
    """Build a new version and publish it into the output folder (or as a commit on a git branch).
    `strict`: a warning fails the build too, and nothing is published; `pdf` also prints the whole version
    to `site.pdf` in it; `debug` hears how queries run."""
    config = load_config(project)
    check_label(label, "--label")
    if pdf:
        config = replace(config, pdf=True)
    if git_branch:
        from .gitbranch import publish_to_branch

        return publish_to_branch(config, git_branch,
                                 lambda folder: _release(config, folder, log, use_cache, label, strict, debug,
                                                         keep_spare=False))
    target = Path(output).resolve() if output else config.output_dir
    if output:
        held = input_holding(config.project, target)
        if held:
            raise ConfigError(f"--output: {target} is inside the project's {held}, which gtmsite reads: the next "
                              "build would read the site as input; choose a folder outside it (e.g. build/)")
    check_output_folder(target, "--output" if output else "[build] output")
    return _release(config, target, log, use_cache, label, strict, debug)


def check_label(label: str, option: str) -> None:
    """A label becomes the version's id, a folder name: bounded, so it is an error here, not a failed write."""
    if len(label) > MAX_LABEL:
        raise ConfigError(f"{option}: the label is {len(label)} characters long; at most {MAX_LABEL} are allowed "
                          "(it names the version's folder): use a shorter one")


def refuse_outside_links(config: Config) -> list[str]:
    """Symbolic links in the project that lead out of it: never followed into the site. In reports/ and
    themes/ (published as they are) they are errors; in sources/ (read only through queries) a note."""
    problems, notes = [], []
    for folder in (config.reports_dir, config.themes_dir, config.sources_dir):
        for link, target in links_leaving(folder, config.project):
            rel = link.relative_to(config.project).as_posix()
            if folder == config.sources_dir:
                notes.append(f"{rel} is a symbolic link to {target}, outside the project: its data is read by "
                             "queries, so only what they select is published")
            else:
                problems.append(Problem(rel, None, f"a symbolic link to {target}, outside the project: gtmsite "
                                        "does not publish files from outside the project; copy the file in instead"))
    if problems:
        raise BuildFailed(problems)
    return notes


@contextmanager
def usable_cache(config: Config, use_cache: bool, notes: list[str]) -> Iterator[Config]:
    """The config to build with: its cache folder if it can be written, else (a read-only project) a
    throw-away one for this build only, with a note saying so. The cache is optional, never a failure."""
    folder = config.project / config.cache_dir
    if ensure_cache_folder(folder) or not use_cache:  # made (with its .gitignore) even for --no-cache
        yield config
        return
    notes.append(f"the cache folder {folder} cannot be written; built without it (slower). Set [build] cache "
                 "to a writable folder to keep it between builds")
    scratch = scratch_folder("cache")
    try:
        yield replace(config, cache_dir=str(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_output_folder(target: Path, option: str) -> None:
    """Refuse to publish into a file, or into a folder of other files: publishing replaces `index.html`,
    `404.html` and `latest/` and removes unlisted folders under `v/`, which would destroy them."""
    blocker = next((p for p in (target, *target.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"{option}: expected a folder, but {blocker} is a file; choose another path", "site.toml"
                          if option.startswith("[") else "")
    if not target.is_dir() or (target / VERSIONS_FILE).exists() or (target / LOCK_FILE).exists():
        return
    foreign = sorted(p.name for p in target.iterdir())
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ConfigError(f"{option}: {target} is not empty and holds no gtmsite site ({shown}); publishing "
                          "there would replace or delete those files: choose an empty or new folder",
                          "site.toml" if option.startswith("[") else "")


def with_history_checks(builder: Builder, result: BuildResult, history: Sequence[PastVersion]
                        ) -> tuple[BuildResult, dict]:
    """The build's result with its history checks (`change < 20%`, `anomaly`) judged against earlier
    versions, and the source tables' measures for this version's manifest."""
    site_checks = []
    for item in builder.config.checks:
        try:
            site_checks.append(parse_check(f"{item.table}: {item.check}", "site.toml", item.line, item.warn))
        except SiteError:
            continue  # reported by the build already
    outcome = run_history_checks(result, site_checks, set(builder.sources.tables), builder.cursor, history)
    if outcome.problems:
        raise BuildFailed(result.problems + outcome.problems, warnings=result.warnings)
    return replace(result, checks=result.checks + outcome.results), tables_json(outcome.tables)


def _successful(result: BuildResult, strict: bool = False) -> BuildResult:
    if strict and result.report_warnings:
        raise BuildFailed(result.problems + [strict_error(w) for w in result.report_warnings],
                          warnings=[w for w in result.warnings if w not in result.report_warnings])
    if result.problems:
        raise BuildFailed(result.problems, warnings=result.warnings)
    return result


def strict_error(warning: Problem) -> Problem:
    return Problem(warning.path, warning.line, f"{warning.message} (a warning; --strict makes it an error)",
                   warning.sql)


def _release(config: Config, target: Path, log: Log, use_cache: bool, label: str, strict: bool = False,
             debug: Log | None = None, keep_spare: bool = True) -> Release:
    """`keep_spare`: keep the tree leaving `latest/` for the next build (not for a --git-branch build's
    scratch checkout, which the next build does not publish into)."""
    if target == config.project or config.project.is_relative_to(target):
        raise ConfigError(f"[build] output: {target} would hold the project itself; choose a folder inside it",
                          "site.toml")
    notes = refuse_outside_links(config)
    with environment_faults(), usable_cache(config, use_cache, notes) as config, publish_lock(target):
        tidy(target)
        versions = read_versions(target)
        previous = versions[0]["id"] if versions else None
        staging = staging_folder(target)
        before = read_manifest(target / "v" / previous) if previous else {}
        try:
            builder = Builder(config, Writer(staging), log, use_cache, versioned=True,
                              previous=(target / "v" / previous, before) if previous and use_cache else None,
                              debug=debug or _quiet)
        except BaseException:  # e.g. a cycle of models: no empty staging folder stays behind
            shutil.rmtree(staging, ignore_errors=True)
            raise
        index = None
        try:
            history = load_history(target, versions, newest=before if previous else None)
            result, tables = with_history_checks(builder, builder.run(), history)
            result = _successful(result, strict)
            if config.search:
                index = start_index(staging, target / "v" / previous if previous else None)
            version_id = next_version_id(used_ids(target, versions), builder.now, label or config.label)
            definitions = Definitions(builder.sources)
            summaries = page_summaries(result, definitions)
            comparison = compare(before, {s.url: s for s in summaries}, previous, version_id,
                                 lambda vid, url, query: _rows(target, staging, version_id, vid, url, query))
            counts = result.check_counts()
            used = {t.table: {"fetched_at": t.fetched_at, "rows": t.rows, "hash": t.digest[:16]}
                    for t in builder.sources.remote}
            comparison = replace(comparison, sources=compare_sources(versions[0].get("sources") or {}, used)
                                 if versions else [])
            record = VersionRecord(
                id=version_id, label=label or config.label or builder.now.strftime("%Y-%m-%d %H:%M UTC"),
                created=builder.now.isoformat(timespec="seconds"), git_commit=git_commit(config.project),
                data_fingerprint=result.fingerprint, pages=len(result.pages), checks=counts, previous=previous,
                pdf=PDF_FILE if config.pdf else None, sources=used, metrics=metric_hashes(result.catalog),
                queries=definitions.all_queries({p.report.rel: p.report for p in result.pages if p.report}.values()))
            metric_changes = definition_changes(versions[0].get("metrics") if versions else None, record.metrics)
            calibration = forecast_vs_actual({s.url: s for s in summaries}, history)
            extras = builder.extra_pages(result)
            extras.write("/_changes/", "What changed", "changes.html", comparison=comparison, record=record,
                                 calibration=calibration, metric_changes=metric_changes)
            extras.write("/_checks/", "Data checks", "checks.html", checks=result.checks, record=record)
            builder.writer.write("_version.json", manifest_json(summaries, record, tables))
            builder.writer.write("_pages.json", json.dumps(sorted(p.url for p in result.pages)))
            builder.writer.write(CHECKS_FILE, checks_json(result.checks, result.pages))
            deliver(config, staging, index, record, log)
            redirect = extras.env.get_template("redirect.html").render(target="latest/")
            publish_version(staging, target, record, config.keep, redirect,
                            spare=spare_folder(config.project / config.cache_dir, target) if keep_spare else None)
            staging = None
            log(f"published version {version_id} -> {target / 'v' / version_id}")
            result.notes.extend(notes)
            return Release(result, record, comparison, target)
        finally:
            try:
                builder.cache.flush()
            finally:
                builder.db.close()
                if index is not None:
                    index.cancel()
                if staging is not None:
                    shutil.rmtree(staging, ignore_errors=True)


def deliver(config: Config, staging: Path, index: IndexJob | None, record: VersionRecord, log: Log) -> None:
    """What the version carries for its readers: with --pdf the whole site as a PDF (printed while the search
    index, started when the pages were written, is made), and the search index."""
    if config.pdf:
        started = time.perf_counter()
        made = make_pdf(staging, config, staging / PDF_FILE, version=VersionInfo(record.id, record.label,
                                                                                  record.created))
        log(f"PDF: {made.pages} pages on {made.sheets} PDF pages, {time.perf_counter() - started:.2f} s")
    if index is None:
        return
    done = index.finish()
    if not done.pages:
        log("search index: no page has any text yet; no index")
        return
    log(f"search index: {done.pages} pages, " + ("unchanged, linked from the previous version" if done.reused
                                                else f"{done.seconds:.2f} s (alongside the rest of the build)"))


def page_summaries(result: BuildResult, definitions: Definitions | None = None) -> list[PageSummary]:
    summaries = []
    for outcome in result.outcomes:
        if outcome.reused is not None:
            reused = outcome.reused  # a manifest of an older gtmsite has no base keys: this one has
            summaries.append(reused if reused.base or result.plan is None
                             else replace(reused, base=result.plan.base_keys.get(reused.url, "")))
            continue
        queries = {name: QuerySummary(len(r.rows), list(r.columns), r.digest,
                                      column_totals(r))
                   for name, r in outcome.results.items() if not r.failed}
        report = outcome.page.report
        defined = definitions.of(report) if definitions is not None and report is not None else {}
        kpis = kpi_values(outcome.kpis, defined)
        forecasts = [json.loads(json.dumps(asdict(f), default=str)) for f in outcome.forecasts]
        key = "" if outcome.warnings else outcome.key  # rendered again next time, so its warnings are said again
        base = result.plan.base_keys.get(outcome.page.url, "") if key and result.plan is not None else ""
        summaries.append(PageSummary(outcome.page.url, outcome.page.title, queries, kpis, key, forecasts, base))
    return summaries


def _rows(target: Path, staging: Path, new_id: str, version_id: str | None, url: str, query: str) -> list[tuple]:
    key = url.strip("/") or "index"
    folder = staging if version_id == new_id else target / "v" / str(version_id)
    return csv_rows(folder / "_data" / key / f"{query}.csv")


def git_commit(project: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
