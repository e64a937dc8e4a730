"""Source queries: find them (sources/<name>/*.sql for each declared database), run each on its
database as its `refresh` policy says, and store the results; every error is collected and each
names the query's file and line, or the source and its host (never a password).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import CONFIG_FILE, Config, ExternalSource, refresh_seconds
from ..errors import BuildFailed, ConfigError, Problem, undecodable
from .urls import ENGINE_NAMES, engine_of, file_path, host_of, redact, resolve_url, scrub

if TYPE_CHECKING:
    from .connectors import Connector
    from .store import FileFingerprints, ResultStore, Stored

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".ndjson", ".jsonl")
Log = Callable[[str], None]


@dataclass(frozen=True)
class SourceQuery:
    """`sources/crm/open_deals.sql`: runs on the database [sources.crm]; its result is crm.open_deals."""

    source: ExternalSource
    path: Path
    rel: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def table(self) -> str:
        return f"{self.source.name}.{self.path.stem}"


@dataclass(frozen=True)
class RemoteTable:
    """A source query's result, stored as Parquet: the table `schema.name` for reports."""

    rel: str
    table: str
    parquet: Path
    digest: str
    rows: int
    columns: tuple[str, ...]
    # When and how it was fetched: not part of its identity (the same content is the same table).
    fetched_at: str = field(compare=False)  # ISO 8601
    seconds: float = field(compare=False)  # how long the database took (0 when the stored result was used)
    status: str = field(compare=False)  # "new", "changed", "unchanged" (same content again) or "kept" (stored)

    @property
    def schema(self) -> str:
        return self.table.split(".")[0]

    @property
    def name(self) -> str:
        return self.table.split(".")[-1]


@dataclass(frozen=True)
class AttachedFile:
    """A DuckDB file source: attached read-only, its own tables reachable as `name.<table>`."""

    name: str
    path: Path
    digest: str


@dataclass(frozen=True)
class External:
    """Everything the external databases give a build."""

    tables: tuple[RemoteTable, ...] = ()
    attached: tuple[AttachedFile, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchPolicy:
    """`force`: fetch every result again (`gtmsite sources --refresh`); `reuse_stored`: use any stored
    result of the same query text (the preview, between rebuilds); `only`: these sources."""

    force: bool = False
    reuse_stored: bool = False
    only: frozenset[str] | None = None
    now: dt.datetime | None = None
    log: Log | None = field(default=None, compare=False)


def declared_folders(config: Config) -> dict[str, ExternalSource]:
    """sources/<name>/ folders that belong to a declared database (lowercased name -> source)."""
    return {s.name.lower(): s for s in config.external_sources}


def discover_queries(config: Config) -> tuple[list[SourceQuery], list[Problem]]:
    """The source queries of every declared database; a data file (or a sub-folder) in such a folder is
    an error naming it."""
    queries: list[SourceQuery] = []
    problems: list[Problem] = []
    for source in config.external_sources:
        folder = config.sources_dir / source.name
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            rel = path.relative_to(config.project).as_posix()
            if path.parent != folder:
                problems.append(Problem(rel, None, f"sources/{source.name}/ holds the source queries of "
                                        f"[sources.{source.name}], directly in it; move this file up into it"))
            elif path.suffix.lower() == ".sql":
                queries.append(SourceQuery(source, path, rel))
            elif path.suffix.lower() in DATA_SUFFIXES:
                problems.append(Problem(rel, None, f"a data file in sources/{source.name}/, the folder of the "
                                        f"database [sources.{source.name}] (it holds .sql queries run on that "
                                        "database); move the file to another folder under sources/"))
    return queries, problems


def fetch_external(config: Config, queries: list[SourceQuery], policy: FetchPolicy) -> External:
    """Run (or reuse, as `refresh` allows) every source query; attach-ready DuckDB files. Raises
    BuildFailed with every problem found: exit 2 for configuration (a missing variable or driver),
    else 1 (a query's error, a database that cannot be reached)."""
    from .connectors import CannotConnect
    from .store import FileFingerprints, ResultStore

    store = ResultStore(config.project / config.cache_dir / "sources")
    files = FileFingerprints(config.project / config.cache_dir / "sources" / "files.json")
    now = policy.now or dt.datetime.now(dt.UTC)
    tables: list[RemoteTable] = []
    attached: list[AttachedFile] = []
    notes: list[str] = []
    problems: list[Problem] = []
    config_problem = False
    for source in config.external_sources:
        if policy.only is not None and source.name not in policy.only:
            continue
        mine = [q for q in queries if q.source == source]
        try:
            url = resolve_url(source)
            engine = engine_of(url, source.type)
            fingerprint = _file_fingerprint(engine, url, config.project, files)
        except ConfigError as exc:
            problems.append(exc.problem)
            config_problem = True
            continue
        except CannotConnect as exc:
            problems.append(Problem(CONFIG_FILE, source.line, f"[sources.{source.name}]: {exc}"))
            continue
        if engine == "duckdb":
            attached.append(AttachedFile(source.name, file_path(url, config.project), fingerprint))
        run = _SourceRun(source, url, engine, fingerprint, config.project, store, now, policy)
        found, source_notes, source_problems, is_config = run.all(mine)
        tables += found
        notes += source_notes
        problems += source_problems
        config_problem = config_problem or is_config
    if problems:
        raise BuildFailed(problems, 2 if config_problem else 1)
    return External(tuple(tables), tuple(attached), tuple(notes))


def _file_fingerprint(engine: str, url: str, project: Path, files: FileFingerprints) -> str:
    from .connectors import CannotConnect

    if engine not in ("duckdb", "sqlite"):
        return ""
    path = file_path(url, project)
    if not path.is_file():
        raise CannotConnect(f"no {ENGINE_NAMES[engine]} file at {path}")
    return files.of(path, ".wal") if engine == "duckdb" else files.of(path, "-wal", "-journal")


@dataclass
class _SourceRun:
    """The queries of one source: decide which to fetch, connect once for them, fetch, store."""

    source: ExternalSource
    url: str
    engine: str
    fingerprint: str
    project: Path
    store: ResultStore
    now: dt.datetime
    policy: FetchPolicy

    def all(self, queries: list[SourceQuery]) -> tuple[list[RemoteTable], list[str], list[Problem], bool]:
        from .arrow import TypeProblem
        from .connectors import CannotConnect, MissingDriver, QueryFailed, connect
        from .store import ResultStore

        tables, notes, problems = [], [], []
        pending: list[tuple[SourceQuery, str, str, Stored | None]] = []
        for query in queries:
            try:
                sql = _query_text(query)
            except UnicodeDecodeError as exc:
                problems.append(undecodable(query.rel, exc))
                continue
            key = ResultStore.key(self.source.name, self.engine, redact(self.url), sql)
            stored = self.store.get(self.source.name, key)
            reason = self.reuse(stored)
            if stored is not None and reason is not None:
                tables.append(_table(query, stored, "kept" if reason else "unchanged"))
                if reason:
                    notes.append(f"{query.rel}: {query.table}: {reason}")
            else:
                pending.append((query, sql, key, stored))
        if not pending:
            return tables, notes, problems, False
        try:
            connector = connect(self.engine, self.url, self.project)
        except MissingDriver as exc:
            return tables, notes, problems + [Problem(CONFIG_FILE, self.source.line,
                                                      f"[sources.{self.source.name}]: {exc}")], True
        except CannotConnect as exc:
            where = host_of(self.url)
            problems.append(Problem(CONFIG_FILE, self.source.line,
                                    f"[sources.{self.source.name}]: cannot connect to the {ENGINE_NAMES[self.engine]} "
                                    f"database{' at ' + where if where else ''} ({redact(self.url)}): "
                                    f"{scrub(str(exc), self.url)}; check that it is running and reachable and "
                                    "that the URL is right"))
            return tables, notes, problems, False
        try:
            for query, sql, key, stored in pending:
                try:
                    tables.append(self.fetch(connector, query, sql, key, stored))
                except QueryFailed as exc:
                    problems.append(Problem(query.rel, exc.line or 1,
                                            f"source query on {ENGINE_NAMES[self.engine]} [sources.{self.source.name}]"
                                            f": {scrub(exc.message, self.url)}", sql=sql))
                except TypeProblem as exc:
                    problems.append(Problem(query.rel, 1, str(exc)))
        finally:
            connector.close()
        return tables, notes, problems, False

    def reuse(self, stored: Stored | None) -> str | None:
        """None: fetch again. "": the stored result is as good as a fresh one (same file, same query).
        Otherwise why the stored result is used although the database may have changed."""
        if stored is None or self.policy.force:
            return None
        if self.fingerprint and stored.input == self.fingerprint:
            return ""
        if self.policy.reuse_stored:
            return "kept from the first build of this preview (`gtmsite sources --refresh` fetches it again)"
        limit = refresh_seconds(self.source.refresh)
        age = (self.now - stored.fetched_at).total_seconds()
        if limit is None or (limit and age < limit):
            return (f"using the result fetched {age_text(age)} ago (refresh = \"{self.source.refresh}\"); "
                    "`gtmsite sources --refresh` fetches it now")
        return None

    def fetch(self, connector: Connector, query: SourceQuery, sql: str, key: str, stored: Stored | None
              ) -> RemoteTable:
        from .arrow import digest, normalize

        started = time.perf_counter()
        result = connector.fetch(sql)
        seconds = time.perf_counter() - started
        result = normalize(result)
        content = digest(result)
        fresh = self.store.put(self.source.name, key, result, content, self.now, seconds, self.fingerprint)
        status = "new" if stored is None else "unchanged" if stored.digest == content else "changed"
        if self.policy.log:
            self.policy.log(f"{query.table}: {result.num_rows} rows in {seconds:.2f} s ({status})")
        return _table(query, fresh, status)


def _query_text(query: SourceQuery) -> str:
    """The query as sent: the file's text, leading lines kept (so the database's position is the file's
    line), without a final semicolon."""
    return query.path.read_text(encoding="utf-8").rstrip().rstrip(";").rstrip()


def _table(query: SourceQuery, stored: Stored, status: str) -> RemoteTable:
    return RemoteTable(query.rel, query.table, stored.parquet, stored.digest, stored.rows, stored.columns,
                       stored.fetched_at.isoformat(timespec="seconds"), stored.seconds if status != "kept" else 0.0,
                       status)


def age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 129600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"
