"""Files under sources/ become DuckDB tables; sources/**/*.sql are models built in dependency order.

The database is loaded lazily: a build whose every query is answered from the cache never pays
for reading the source files.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .config import Config
from .csvfiles import CSV_SUFFIXES, load_problem, table_problems
from .errors import BuildFailed, Problem, undecodable
from .files import read_cached, store_in_cache
from .sqltext import quote_ident, quote_table, referenced_names
from .warehouse import (
    AttachedFile,
    FetchPolicy,
    RemoteTable,
    connect_database,
    declared_folders,
    discover_queries,
    fetch_external,
    load_external,
    lock_down,
)

DATA_READERS = {
    ".csv": "read_csv",
    ".tsv": "read_csv",
    ".parquet": "read_parquet",
    ".json": "read_json_auto",
    ".ndjson": "read_json_auto",
    ".jsonl": "read_json_auto",
}


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # relative to the project, for messages
    table: str  # qualified name: "accounts" or "crm.accounts"
    is_model: bool

    @property
    def schema(self) -> str:
        return self.table.split(".")[0] if "." in self.table else "main"

    @property
    def name(self) -> str:
        return self.table.split(".")[-1]


@dataclass(frozen=True)
class SourceSet:
    data: tuple[SourceFile, ...]
    models: tuple[SourceFile, ...]  # in dependency order
    remote: tuple[RemoteTable, ...] = ()  # results of the source queries on external databases
    attached: tuple[AttachedFile, ...] = ()  # DuckDB file sources
    notes: tuple[str, ...] = field(default=(), compare=False)  # e.g. a stored result used as `refresh` allows

    @property
    def tables(self) -> frozenset[str]:
        """Every name a query may use: qualified names, and bare names where unique."""
        names = {f.table for f in (*self.data, *self.models, *self.remote)}
        names |= _unique_bare_names((*self.data, *self.remote), self.models) | {f.name for f in self.models}
        return frozenset(names)

    @property
    def files(self) -> tuple[SourceFile, ...]:
        return (*self.data, *self.models)


def discover_sources(config: Config, fetch: FetchPolicy | None = None) -> SourceSet:
    """List the source files and order the models; a model cycle is an error naming the files. The source
    queries of external databases (sources/<declared name>/*.sql) run as `fetch` and `refresh` say."""
    root = config.sources_dir
    data: list[SourceFile] = []
    models: list[SourceFile] = []
    declared = declared_folders(config)
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            rel = path.relative_to(config.project).as_posix()
            parts = path.relative_to(root).parts
            if len(parts) > 1 and parts[0].lower() in declared:
                continue  # the source queries of an external database (gtmsite.warehouse)
            suffix = path.suffix.lower()
            if suffix == ".sql":
                models.append(SourceFile(path, rel, path.stem, True))
            elif suffix in DATA_READERS:
                schema = ".".join(parts[:-1])
                table = f"{schema}.{path.stem}" if schema else path.stem
                data.append(SourceFile(path, rel, table, False))
    queries, problems = discover_queries(config)
    owners: dict[str, SourceFile] = {}
    for source in (*data, *models):
        first = owners.setdefault(source.table.lower(), source)
        if first is not source:
            problems.append(Problem(source.rel, None, f"defines table '{source.table}', as {first.rel} does; "
                                    "rename one of them"))
    if problems:
        raise BuildFailed(problems)
    ordered = order_models(models)
    external = fetch_external(config, queries, fetch or FetchPolicy()) if config.external_sources else None
    if external is None:
        return SourceSet(tuple(data), tuple(ordered))
    return SourceSet(tuple(data), tuple(ordered), external.tables, external.attached, external.notes)


def order_models(models: list[SourceFile]) -> list[SourceFile]:
    by_name = {m.name: m for m in models}
    deps = {}
    unreadable = []
    for model in models:
        try:
            sql = model.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            unreadable.append(undecodable(model.rel, exc))
            continue
        deps[model.name] = referenced_names(sql, set(by_name)) - {model.name}
    if unreadable:
        raise BuildFailed(unreadable)
    ordered: list[SourceFile] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            files = " -> ".join(by_name[n].rel for n in cycle)
            raise BuildFailed([Problem(by_name[name].rel, None,
                                       f"models depend on each other in a cycle: {files}; "
                                       "break the cycle so one of them reads only source tables")])
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, trail + [name])
        state[name] = 2
        ordered.append(by_name[name])

    for model in models:
        visit(model.name, [])
    return ordered


@dataclass(frozen=True)
class Fingerprints:
    """Hashes of the source data: of all of it, and of each table (a model's includes its inputs')."""

    site: str
    tables: dict[str, str]
    external: str

    def of_sql(self, *sql: str) -> str:
        """The fingerprint of the data some SQL reads: the tables it names (and any external source).
        A query is re-run when, and only when, the data it reads changed."""
        names = referenced_names("\n".join(sql), set(self.tables))
        text = "\0".join(f"{n}={self.tables[n]}" for n in sorted(names)) + "\0" + self.external
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprints(sources: SourceSet, config: Config) -> Fingerprints:
    """Fingerprints of the source data, per table and for the site."""
    hashes = file_hashes(sources, config)
    site = hashlib.sha256()
    for source in sources.files:
        site.update(f"{source.rel}\0{source.table}\0{hashes[source.rel]}\n".encode())
    # An attached DuckDB file's own tables may be read by any query: its content is part of every fingerprint.
    external = hashlib.sha256("".join(f"{a.name}\0{a.digest}\n" for a in sources.attached).encode()
                              ).hexdigest()[:16] if sources.attached else ""
    site.update(external.encode())
    tables: dict[str, str] = {}
    for source in sources.data:
        tables[source.table] = tables[source.name] = hashes[source.rel][:16]
    bare = _unique_bare_names((*sources.data, *sources.remote), sources.models)
    for result in sources.remote:  # a source result's fingerprint is its content
        site.update(f"{result.table}\0{result.digest}\n".encode())
        tables[result.table] = result.digest[:16]
        if result.name in bare:
            tables[result.name] = result.digest[:16]
    names = {m.name for m in sources.models} | set(tables)
    for model in sources.models:  # in dependency order: a model's inputs are fingerprinted first
        sql = model.path.read_text(encoding="utf-8-sig")
        inputs = sorted(referenced_names(sql, names) - {model.name})
        text = hashes[model.rel] + "".join(f"\0{n}={tables.get(n, '')}" for n in inputs)
        tables[model.name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Fingerprints(site.hexdigest()[:16], tables, external)


def file_hashes(sources: SourceSet, config: Config) -> dict[str, str]:
    """Each source file's content hash. They are remembered by (size, mtime) in the cache folder so an
    unchanged multi-megabyte CSV is not read again just to learn that it did not change."""
    memo_path = config.project / config.cache_dir / "file-hashes.json"
    try:
        memo = json.loads(read_cached(memo_path) or b"{}")
    except ValueError:
        memo = {}
    memo = {k: v for k, v in memo.items() if isinstance(v, list) and len(v) == 2} if isinstance(memo, dict) else {}
    fresh = {}
    for source in sources.files:
        stat = source.path.stat()
        key = f"{stat.st_size}:{stat.st_mtime_ns}"
        known = memo.get(source.rel)
        file_hash = known[1] if known and known[0] == key else _hash_file(source.path)
        fresh[source.rel] = [key, file_hash]
    if fresh != memo:
        store_in_cache(memo_path, json.dumps(fresh))
    return {rel: value[1] for rel, value in fresh.items()}


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Database:
    """One DuckDB database per build, with the sources loaded once (on first use)."""

    def __init__(self, config: Config, sources: SourceSet):
        self.config = config
        self.sources = sources
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._connection is None:
                self._connection = self._load()
            return self._connection

    @property
    def loaded(self) -> bool:
        return self._connection is not None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own (for one page or one thread) onto the same database."""
        return self.connection.cursor()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _load(self) -> duckdb.DuckDBPyConnection:
        con = connect_database(self.config.workers)
        bare_names = _unique_bare_names((*self.sources.data, *self.sources.remote), self.sources.models)
        problems = load_external(con, self.config, self.sources.remote, self.sources.attached, bare_names)
        if problems:
            con.close()
            raise BuildFailed(problems)
        schemas = {s.schema for s in self.sources.data} - {"main"}
        for schema in sorted(schemas):
            con.execute(f"create schema if not exists {quote_ident(schema)}")
        for source in self.sources.data:
            try:
                _load_data_file(con, source)
            except duckdb.Error as exc:
                problems.append(_load_problem(source, exc))
                continue
            problems += _misread(con, source)
            if source.schema != "main" and source.name in bare_names:
                con.execute(f"create view {quote_ident(source.name)} as select * from {quote_table(source.table)}")
        failed_models: set[str] = set()
        for model in self.sources.models:
            sql = model.path.read_text(encoding="utf-8-sig")
            if referenced_names(sql, failed_models):
                failed_models.add(model.name)
                continue
            try:
                # Leading lines are kept so DuckDB's `LINE n` is the line of the file.
                con.execute(f"create table {quote_ident(model.name)} as {sql.rstrip().rstrip(';')}")
            except duckdb.Error as exc:
                failed_models.add(model.name)
                problems.append(Problem(model.rel, _error_line(exc), f"model '{model.name}': {_message(exc)}"))
        if problems:
            con.close()
            raise BuildFailed(problems)
        lock_down(con, self.config)
        return con


def _unique_bare_names(data: tuple[SourceFile | RemoteTable, ...], models: tuple[SourceFile, ...] = ()) -> set[str]:
    """Names of schema tables reachable without their schema: unique, and not a model's name."""
    counts: dict[str, int] = {}
    for source in data:
        counts[source.name.lower()] = counts.get(source.name.lower(), 0) + 1
    taken = {m.name.lower() for m in models}
    return {s.name for s in data if counts[s.name.lower()] == 1 and s.name.lower() not in taken}


def _load_data_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    reader = DATA_READERS[source.path.suffix.lower()]
    options = ", delim = '\t'" if source.path.suffix.lower() == ".tsv" else ""
    con.execute(f"create table {quote_table(source.table)} as select * from {reader}($path{options})",
                {"path": str(source.path)})


def _load_problem(source: SourceFile, exc: duckdb.Error) -> Problem:
    """Why a data file could not be loaded: for a CSV file at its line and column, with what to do."""
    if source.path.suffix.lower() in CSV_SUFFIXES:
        return load_problem(source.rel, source.path, exc)
    return Problem(source.rel, None, f"cannot read this file as a table: {_first_line(exc)}")


def _misread(con: duckdb.DuckDBPyConnection, source: SourceFile) -> list[Problem]:
    """What DuckDB read without a word but not as the file means it (a CSV file's ragged row, a `12k`)."""
    if source.path.suffix.lower() not in CSV_SUFFIXES:
        return []
    return table_problems(con, source.rel, source.path, source.table)


def _message(exc: Exception) -> str:
    """DuckDB's message with its hints (`Did you mean "deals"?`), without the echoed SQL."""
    kept = []
    for line in str(exc).strip().splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            kept.append(line.strip())
    return " ".join(kept) or type(exc).__name__


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _error_line(exc: Exception) -> int | None:
    """DuckDB parser errors say `LINE n:`; return n when present."""
    for line in str(exc).splitlines():
        if line.startswith("LINE ") and ":" in line:
            try:
                return int(line[5:line.index(":")])
            except ValueError:
                return None
    return None
