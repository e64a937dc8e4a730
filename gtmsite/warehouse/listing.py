"""`gtmsite sources [NAME...] [--refresh]`: run (or show the stored) source queries and list their results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from rich.table import Table

from ..config import CONFIG_FILE, load_config
from ..errors import BuildFailed, ConfigError
from .fetch import FetchPolicy, RemoteTable, age_text, discover_queries, fetch_external

_CHANGED = {"new": "new", "changed": "yes", "unchanged": "no", "kept": "kept"}


def source_results(project: Path, names: list[str], refresh: bool, log: Callable[[str], None]
                   ) -> tuple[list[RemoteTable], dict[str, str], dt.datetime]:
    """The results of the named sources' queries (all when none is named): fetched as their `refresh`
    says, or all again with `refresh`. Also each source's `refresh` setting, and the time now."""
    config = load_config(project)
    declared = {s.name: s for s in config.external_sources}
    if not declared:
        raise ConfigError("no external databases in site.toml: declare one as [sources.NAME] with url = \"...\" "
                          "and put its queries in sources/NAME/*.sql", CONFIG_FILE)
    unknown = [n for n in names if n not in declared]
    if unknown:
        raise ConfigError(f"no source {', '.join(repr(n) for n in unknown)} in site.toml "
                          f"(sources: {', '.join(declared)})", CONFIG_FILE)
    queries, problems = discover_queries(config)
    if problems:
        raise BuildFailed(problems)
    now = dt.datetime.now(dt.UTC)
    policy = FetchPolicy(force=refresh, only=frozenset(names) if names else None, now=now, log=log)
    external = fetch_external(config, queries, policy)
    return list(external.tables), {n: s.refresh for n, s in declared.items()}, now


def results_table(results: list[RemoteTable], refresh: dict[str, str], now: dt.datetime) -> Table:
    table = Table("table", "rows", "columns", "time", "age", "changed", "refresh", box=None, pad_edge=False)
    for column in ("rows", "columns", "time", "age"):
        table.columns[table.columns.index(next(c for c in table.columns if c.header == column))].justify = "right"
    for result in results:
        age = (now - dt.datetime.fromisoformat(result.fetched_at)).total_seconds()
        table.add_row(result.table, f"{result.rows:,}", str(len(result.columns)),
                      f"{result.seconds:.2f} s" if result.status != "kept" else "-", age_text(max(age, 0)),
                      _CHANGED[result.status], refresh.get(result.schema, ""))
    return table
