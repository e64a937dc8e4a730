"""Run a page's queries in dependency order and expose results to Jinja as QueryResult objects.

Query results are cached by content: the SQL of every query of the page, the parameter values
and the fingerprint of the source data. A page whose key is cached never touches DuckDB.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from .errors import Problem, SiteError
from .files import cache_writable, read_cached, store_in_cache
from .reports import Query
from .sqltext import (
    expand_refs,
    explicit_refs,
    fetchable_select,
    parameter_names,
    quote_ident,
    referenced_names,
)


class QueryFailed(SiteError):
    """Using the result of a query that failed: the failure itself was reported already."""

    def __init__(self, name: str):
        super().__init__(f"query '{name}' failed (see its error)")


class Row:
    """One result row: `row.col`, `row["col"]` or `row[0]`; an unknown column is a clear error."""

    __slots__ = ("_result", "_values")

    def __init__(self, result: QueryResult, values: tuple):
        self._result = result
        self._values = values

    def __getattribute__(self, name: str) -> Any:
        # A column wins over a method of the same name: `row.items` is the column `items` if there is one.
        if not name.startswith("_") and name in object.__getattribute__(self, "_result").columns:
            return self[name]
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self._values[key]
        index = self._result.index_of(key)
        return self._values[index] if self._values else None

    def keys(self) -> tuple[str, ...]:
        return self._result.columns

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._result.columns, self._values))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"Row({self.as_dict()!r})"


def result_digest(columns: tuple, types: tuple, rows: tuple) -> str:
    """The hash of the names, types and each row's repr, in turn (the rows' text made a few thousand at
    a time: 30,000 results of 10,000 pages in a fraction of the time one update per row takes)."""
    digest = hashlib.sha256()
    digest.update(repr((columns, types)).encode())
    for start in range(0, len(rows), _DIGEST_ROWS):
        digest.update("".join(map(repr, rows[start:start + _DIGEST_ROWS])).encode())
    return digest.hexdigest()[:16]


_DIGEST_ROWS = 4096


@dataclass(frozen=True, eq=False)
class QueryResult:
    """What a ```sql NAME fence gives to Jinja and to components."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple, ...]
    sql: str = ""
    line: int = 0
    failed: bool = False  # the query had an error (already reported); components show a placeholder

    def __iter__(self) -> Iterator[Row]:
        return (Row(self, values) for values in self.rows)

    @cached_property
    def digest(self) -> str:
        """The content's hash (names, types, rows): computed once, and kept with the result in the cache.
        (Python 3.11's cached_property computes under a lock shared by all results: only the build's main
        thread computes digests, so that no other thread holds it when page workers are forked.)"""
        return result_digest(self.columns, self.types, self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def first(self) -> Row:
        """The first row; on an empty result, a row whose every column is null."""
        return Row(self, self.rows[0] if self.rows else (None,) * len(self.columns))

    def index_of(self, column: str) -> int:
        if self.failed:
            raise QueryFailed(self.name)
        try:
            return self.columns.index(column)
        except ValueError:
            raise SiteError(self.missing_column_message(column)) from None

    def missing_column_message(self, column: str) -> str:
        return f"column '{column}' is not in query '{self.name}' (columns: {', '.join(self.columns)})"

    def column(self, name: str) -> list[Any]:
        index = self.index_of(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def __repr__(self) -> str:
        return f"<query {self.name}: {len(self.rows)} rows>"


def order_queries(queries: tuple[Query, ...], rel: str) -> tuple[list[Query], dict[str, set[str]], list[Problem]]:
    """Queries in dependency order, each query's dependencies, and problems (cycles, missing ${refs})."""
    names = {q.name for q in queries}
    deps: dict[str, set[str]] = {}
    problems: list[Problem] = []
    broken: set[str] = set()  # uses a ${ref} that is not a query: reported here, not run
    for query in queries:
        deps[query.name] = referenced_names(query.sql, names) - {query.name}
        for ref in explicit_refs(query.sql) - names:
            broken.add(query.name)
            problems.append(Problem(rel, query.line, f"query '{query.name}' uses ${{{ref}}}, which is not a query "
                                    f"on this page (queries: {', '.join(sorted(names)) or 'none'})"))
    ordered: list[Query] = []
    state: dict[str, int] = {}
    good: dict[str, bool] = {}  # ran through: neither in a cycle nor depending on a broken query
    by_name = {q.name: q for q in queries}

    def visit(name: str, trail: list[str]) -> bool:
        if state.get(name) == 2:
            return good[name]
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            problems.append(Problem(rel, by_name[name].line,
                                    f"queries depend on each other in a cycle: {' -> '.join(cycle)}"))
            return False
        state[name] = 1
        ok = all([visit(dep, trail + [name]) for dep in sorted(deps[name])]) and name not in broken
        good[name] = ok
        state[name] = 2
        if ok:
            ordered.append(by_name[name])
        return ok

    for query in queries:
        visit(query.name, [])
    return ordered, deps, problems


def bound_parameters(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the SQL uses (DuckDB refuses extra ones)."""
    used = parameter_names(sql)
    return {k: v for k, v in params.items() if k in used}


def run_query(cursor: duckdb.DuckDBPyConnection, query: Query, params: dict[str, Any], rel: str,
              materialize: bool) -> QueryResult:
    """Run one query; when another query or a check reads it, keep it as a temp table by its name."""
    sql = expand_refs(query.sql).strip().rstrip(";")
    bound = bound_parameters(sql, params)
    try:
        if materialize:
            cursor.execute(f"create or replace temp table {quote_ident(query.name)} as {sql}", bound)
            relation = cursor.execute(f"select * from {quote_ident(query.name)}")
        else:
            relation = cursor.execute(sql, bound)
        utc = fetchable_select(relation.description or [], quote_ident(query.name) if materialize else f"({sql}\n)")
        if utc:
            relation = cursor.execute(utc, {} if materialize else bound)
        rows = relation.fetchall()
        description = relation.description or []
    except duckdb.Error as exc:
        line = sql_error_line(exc, query.line) if query.kind == "sql" else query.line  # compiled SQL: the fence
        raise SiteError(f"query '{query.name}': {duckdb_message(exc)}", rel, line, sql=query.sql) from None
    columns = tuple(d[0] for d in description)
    types = tuple(str(d[1]) for d in description)
    return QueryResult(query.name, columns, types, tuple(rows), query.sql, query.line)


def duckdb_message(exc: Exception) -> str:
    """DuckDB's message without the echoed SQL (we point at the line ourselves)."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    kept = []
    for line in lines:
        if line.startswith("LINE "):
            break
        kept.append(line.strip())
    return " ".join(kept) or type(exc).__name__


def sql_error_line(exc: Exception, fence_line: int) -> int:
    """The file line of a SQL error: the fence line plus DuckDB's `LINE n` when it gives one."""
    for line in str(exc).splitlines():
        if line.startswith("LINE ") and ":" in line:
            try:
                return fence_line + int(line[5:line.index(":")])
            except ValueError:
                break
    return fence_line


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a block makes many objects that hold no cycles (the rows of
    10,000 pages): it would run hundreds of times, each over every object made so far."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class ResultCache:
    """Query results on disk, keyed by content. A missing or unreadable entry is just a miss."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.hits = 0
        self.misses = 0
        self._storing: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    @staticmethod
    def key(*parts: Any) -> str:
        digest = hashlib.sha256()
        for part in parts:
            digest.update(repr(part).encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def get(self, key: str, count: int = 1) -> Any | None:
        """The value stored under `key`, or None; `count`: how many results it holds (one per page), for
        the build summary's count of cached results."""
        if self.folder is None:
            return None
        data = read_cached(self.folder / key[:2] / key)  # checksummed: a damaged entry is a miss
        try:
            with collector_paused():
                value = pickle.loads(data) if data is not None else None
        except Exception:  # noqa: BLE001 - an entry an older gtmsite wrote may fail in any way: a miss
            value = None
        if value is None:
            self.misses += 1
            return None
        self.hits += count
        return value

    def put(self, key: str, value: Any) -> None:
        if self.folder is None:
            return
        store_in_cache(self.folder / key[:2] / key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def put_later(self, key: str, make: Callable[[], Any]) -> None:
        """Store `make()` under `key` in a thread of its own, while the build goes on: packing the results of
        10,000 pages takes most of a second the build need not wait for (`flush` waits for it). `make` must
        only read values that are complete (a result's digest computed already: see QueryResult.digest)."""
        if self.folder is None or not cache_writable():
            return
        if self._storing is None:
            self._storing = ThreadPoolExecutor(1, thread_name_prefix="gtmsite-cache")
        self._pending.append(self._storing.submit(self._store, key, make))

    def _store(self, key: str, make: Callable[[], Any]) -> None:
        try:
            self.put(key, make())
        except Exception:  # noqa: BLE001 - like an entry that cannot be written: it costs speed, not the build
            pass

    def flush(self) -> None:
        """Wait for the entries being stored (`put_later`), and let their thread go."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        if self._storing is not None:
            self._storing.shutdown(wait=True)
            self._storing = None
