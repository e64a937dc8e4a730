"""The report database's side: external results become tables, DuckDB files are attached read-only,
and then the database is locked down, so a report's SQL reads tables only: no file outside the
cache's Parquet folder, no environment variable, no extension download, no settings change.
"""

from __future__ import annotations

import atexit
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..config import CONFIG_FILE, Config
from ..errors import Problem
from ..files import cache_writable, scratch_folder
from ..sqltext import quote_ident

if TYPE_CHECKING:
    from .fetch import AttachedFile, RemoteTable

HIDDEN = "_gtmsite_file_"
NO_DOWNLOADS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def connect_database(workers: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads an extension (nothing is fetched at build time)."""
    con = duckdb.connect(":memory:", config=NO_DOWNLOADS)
    if workers:
        con.execute(f"set threads = {int(workers)}")
    return con


def load_external(con: duckdb.DuckDBPyConnection, config: Config, tables: Iterable[RemoteTable],
                  attached: Iterable[AttachedFile], bare_names: set[str]) -> list[Problem]:
    """Each declared source a catalog of its own: its query results as tables, and for a DuckDB file the
    file's tables and views (attached read-only under a hidden name) as views. Bare names where unique."""
    tables, attached = list(tables), list(attached)
    problems: list[Problem] = []
    for name in sorted({t.schema for t in tables} | {a.name for a in attached}):
        con.execute(f"attach ':memory:' as {quote_ident(name)}")
    for table in tables:
        con.execute(f"create table {quote_ident(table.schema)}.main.{quote_ident(table.name)} as "
                    "select * from read_parquet($path)", {"path": str(table.parquet)})
        if table.name in bare_names:
            con.execute(f"create view main.{quote_ident(table.name)} as select * from "
                        f"{quote_ident(table.schema)}.main.{quote_ident(table.name)}")
    for source in attached:
        taken = {t.name.lower() for t in tables if t.schema == source.name}
        try:
            _attach_file(con, source, taken)
        except duckdb.Error as exc:
            line = next((s.line for s in config.external_sources if s.name == source.name), None)
            problems.append(Problem(CONFIG_FILE, line, f"[sources.{source.name}]: cannot attach the DuckDB file "
                                    f"{source.path} ({str(exc).strip().splitlines()[0]}); is it a DuckDB database?"))
    return problems


def _attach_file(con: duckdb.DuckDBPyConnection, source: AttachedFile, taken: set[str]) -> None:
    hidden = quote_ident(HIDDEN + source.name)
    con.execute(f"attach $path as {hidden} (read_only)", {"path": str(source.path)})
    relations = con.execute("select table_schema, table_name from information_schema.tables where table_catalog = $db "
                            "order by all", {"db": HIDDEN + source.name}).fetchall()
    for schema, table in relations:
        if schema == "main" and table.lower() in taken:
            continue  # a source query of the same name wins
        if schema != "main":
            con.execute(f"create schema if not exists {quote_ident(source.name)}.{quote_ident(schema)}")
        con.execute(f"create view {quote_ident(source.name)}.{quote_ident(schema)}.{quote_ident(table)} as "
                    f"select * from {hidden}.{quote_ident(schema)}.{quote_ident(table)}")


def lock_down(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """From here on the database reads no file but its own tables and the build's Parquet snapshots
    folder (where the build itself writes), reads no environment variable and changes no setting."""
    cache = config.project / config.cache_dir
    snapshots = _made(cache / "parquet")
    scratch = _made(cache / "duckdb-tmp") or _spill_folder()
    if snapshots is None:  # `gtmsite check` (writes nothing) or a read-only project: no snapshots to write
        allowed = [_folder(scratch)]
    else:
        allowed = [_folder(snapshots), _folder(scratch)]
    con.execute("set temp_directory = $dir", {"dir": str(scratch)})
    con.execute("set allowed_directories = $dirs", {"dirs": allowed})
    con.execute("set python_enable_replacements = false")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


def _made(folder: Path) -> Path | None:
    """`folder`, made if needed; None where the cache may not or cannot be written."""
    if not cache_writable():
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _spill_folder() -> Path:
    """Where DuckDB may spill a large query when the project's cache cannot take it: a scratch folder of
    this process, removed when it exits (or by the next run, after a kill)."""
    global _SPILL
    if _SPILL is None:
        _SPILL = scratch_folder("duckdb")
        atexit.register(shutil.rmtree, _SPILL, True)
    return _SPILL


_SPILL: Path | None = None


def _folder(path: Path) -> str:
    return str(path.resolve()) + "/"
