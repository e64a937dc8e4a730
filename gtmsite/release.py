"""`gtmsite build`, end to end: build a new version, compare it with the previous one, publish it.

    lock -> tidy -> build pages (staging) -> data snapshot + manifest -> what changed -> publish

`gtmsite check` is the same build with a writer that writes nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .build import Builder, BuildResult, Log, _quiet
from .config import Config, load_config
from .errors import BuildFailed, ConfigError
from .output import Writer
from .publish import LOCK_FILE, VERSIONS_FILE, publish_lock, publish_version, read_versions, staging_folder, tidy
from .versions import (
    Comparison,
    KpiValue,
    PageSummary,
    QuerySummary,
    VersionRecord,
    compare,
    csv_rows,
    json_safe,
    manifest_json,
    next_version_id,
    read_manifest,
    result_digest,
)


@dataclass(frozen=True)
class Release:
    """What a build published."""

    result: BuildResult
    record: VersionRecord | None
    comparison: Comparison | None
    output: Path


def check_site(project: Path | str, log: Log = _quiet, use_cache: bool = True, debug: Log | None = None
               ) -> BuildResult:
    """Everything a build does (sources, queries, checks, templates), writing nothing. `debug` hears how
    queries run (which ones of a templated report run once per page, and why)."""
    config = load_config(project)
    builder = Builder(config, Writer(None), log, use_cache, debug=debug or _quiet)
    try:
        return _successful(builder.run())
    finally:
        builder.db.close()


def build_site(project: Path | str, output: Path | str | None = None, log: Log = _quiet, use_cache: bool = True,
               label: str = "", git_branch: str | None = None, debug: Log | None = None) -> Release:
    """Build a new version and publish it into the output folder (or as a commit on a git branch)."""
    config = load_config(project)
    if git_branch:
        from .gitbranch import publish_to_branch

        return publish_to_branch(config, git_branch,
                                 lambda folder: _release(config, folder, log, use_cache, label, debug))
    target = Path(output).resolve() if output else config.output_dir
    check_output_folder(target, "--output" if output else "[build] output")
    return _release(config, target, log, use_cache, label, debug)


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


def _successful(result: BuildResult) -> BuildResult:
    if result.problems:
        raise BuildFailed(result.problems, warnings=result.warnings)
    return result


def _release(config: Config, target: Path, log: Log, use_cache: bool, label: str, debug: Log | None = None
             ) -> Release:
    if target == config.project or config.project.is_relative_to(target):
        raise ConfigError(f"[build] output: {target} would hold the project itself; choose a folder inside it",
                          "site.toml")
    with publish_lock(target):
        tidy(target)
        versions = read_versions(target)
        previous = versions[0]["id"] if versions else None
        staging = staging_folder(target)
        before = read_manifest(target / "v" / previous) if previous else {}
        builder = Builder(config, Writer(staging), log, use_cache, versioned=True,
                          previous=(target / "v" / previous, before) if previous and use_cache else None,
                          debug=debug or _quiet)
        try:
            result = _successful(builder.run())
            existing = {v["id"] for v in versions} | {p.name for p in (target / "v").glob("*")}
            version_id = next_version_id(existing, builder.now, label or config.label)
            summaries = page_summaries(result)
            comparison = compare(before, {s.url: s for s in summaries}, previous, version_id,
                                 lambda vid, url, query: _rows(target, staging, version_id, vid, url, query))
            counts = result.check_counts()
            record = VersionRecord(
                id=version_id, label=label or config.label or builder.now.strftime("%Y-%m-%d %H:%M UTC"),
                created=builder.now.isoformat(timespec="seconds"), git_commit=git_commit(config.project),
                data_fingerprint=result.fingerprint, pages=len(result.pages), checks=counts, previous=previous)
            builder.render_extra("/_changes/", "What changed", "changes.html", comparison=comparison, record=record)
            builder.render_extra("/_checks/", "Data checks", "checks.html", checks=result.checks, record=record)
            builder.writer.write("_version.json", manifest_json(summaries, record))
            builder.writer.write("_pages.json", json.dumps(sorted(p.url for p in result.pages)))
            redirect = builder.theme_env.get_template("redirect.html").render(target="latest/")
            publish_version(staging, target, record, config.keep, redirect)
            staging = None
            log(f"published version {version_id} -> {target / 'v' / version_id}")
            return Release(result, record, comparison, target)
        finally:
            builder.db.close()
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def page_summaries(result: BuildResult) -> list[PageSummary]:
    summaries = []
    for outcome in result.outcomes:
        if outcome.reused is not None:
            summaries.append(outcome.reused)
            continue
        queries = {name: QuerySummary(len(r.rows), list(r.columns), result_digest(r.columns, r.types, r.rows))
                   for name, r in outcome.results.items() if not r.failed}
        kpis, seen = [], {}
        for kpi in outcome.kpis:
            label = kpi.label or f"{kpi.query}.{kpi.column}"
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:
                label = f"{label} #{seen[label]}"
            kpis.append(KpiValue(label, json_safe(kpi.value), kpi.fmt))
        summaries.append(PageSummary(outcome.page.url, outcome.page.title, queries, kpis, outcome.key))
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
