"""One small interface over every engine: connect once per source, `fetch(sql)` gives an Arrow table.

Drivers are optional extras, imported only when a source needs them; a missing one is a
MissingDriver naming the pip command. A database's error in a query is a QueryFailed with the
database's own message and, where the database says where, the line; a failure to connect is a
CannotConnect. Messages never contain the URL's password (see urls.scrub).
"""

from __future__ import annotations

import importlib
import logging
import re
import socket
import sqlite3
import warnings
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from .arrow import from_rows
from .load import NO_DOWNLOADS
from .urls import ENGINE_NAMES, file_path, host_of, scrub

BATCH_ROWS = 50_000
EXTRAS = {"postgres": "postgres", "spark": "spark", "sqlalchemy": "sqlalchemy"}


class MissingDriver(Exception):
    """The engine's driver is not installed; `command` installs it."""

    def __init__(self, engine: str, command: str):
        super().__init__(f"reading a {ENGINE_NAMES[engine]} database needs its driver: {command}")
        self.command = command


class CannotConnect(Exception):
    """The database could not be reached or refused the connection (message without secrets)."""


class QueryFailed(Exception):
    """The database's error for a source query: its message and the line of the query, when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class Connector(Protocol):
    engine: str

    def fetch(self, sql: str) -> pa.Table: ...

    def close(self) -> None: ...


def connect(engine: str, url: str, project: Path) -> Connector:
    """A connection to the source's database (raises MissingDriver or CannotConnect)."""
    kinds = {"postgres": PostgresConnector, "sqlite": SqliteConnector, "duckdb": DuckdbConnector,
             "spark": SparkConnector, "sqlalchemy": SqlalchemyConnector}
    return kinds[engine](url, project)


def _driver(module: str, engine: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        raise MissingDriver(engine, f"pip install 'gtmsite[{EXTRAS[engine]}]'") from None


def line_at(sql: str, position: int) -> int:
    """The line of a 1-based character position in the query text."""
    return sql[:max(position - 1, 0)].count("\n") + 1


def _line_from_message(message: str) -> int | None:
    found = re.search(r"(?m)^LINE (\d+):", message) or re.search(r"\bline (\d+),? pos \d+", message)
    return int(found.group(1)) if found else None


def _reachable(url: str, engine: str, default_port: int) -> None:
    """Fail fast (instead of a driver's long retries) when nothing listens at the URL's host and port."""
    host = host_of(url)
    if not host:
        return  # a local socket or a default the driver knows: it says itself when it cannot connect
    name, _, port = host.partition(":")
    try:
        socket.create_connection((name or "localhost", int(port or default_port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise CannotConnect(f"cannot reach the {ENGINE_NAMES[engine]} server at {host or name} ({reason})") from None


class PostgresConnector:
    """PostgreSQL through ADBC (libpq inside the wheel): results arrive as Arrow, no Python per row."""

    engine = "postgres"

    def __init__(self, url: str, project: Path):
        dbapi = _driver("adbc_driver_postgresql.dbapi", self.engine)
        self.url = url
        _reachable(url, self.engine, 5432)
        try:
            self.connection = dbapi.connect(url, autocommit=True)
        except Exception as exc:  # noqa: BLE001 - any driver failure to connect is the user's to fix
            message = str(exc).replace("IO: [libpq] Failed to connect: ", "").strip()
            raise CannotConnect(scrub(message, url)) from None

    def fetch(self, sql: str) -> pa.Table:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetch_arrow_table()
        except Exception as exc:  # noqa: BLE001 - the database's error, reported at the query's file
            details = dict((k.decode(), v.decode(errors="replace")) for k, v in getattr(exc, "details", None) or []
                           if isinstance(k, bytes) and isinstance(v, bytes))
            primary = details.get("PG_DIAG_MESSAGE_PRIMARY")
            if primary is None:
                raise QueryFailed(scrub(_first_line(str(exc)), self.url), _line_from_message(str(exc))) from None
            message = primary + "".join(f"; {details[k]}" for k in ("PG_DIAG_MESSAGE_DETAIL", "PG_DIAG_MESSAGE_HINT")
                                        if details.get(k))
            position = details.get("PG_DIAG_STATEMENT_POSITION", "")
            raise QueryFailed(scrub(message, self.url), line_at(sql, int(position)) if position.isdigit() else
                              None) from None
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


class SqliteConnector:
    """A SQLite file through Python's own sqlite3, opened read-only."""

    engine = "sqlite"

    def __init__(self, url: str, project: Path):
        self.path = file_path(url, project)
        if not self.path.is_file():
            raise CannotConnect(f"no SQLite file at {self.path}")
        try:
            self.connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CannotConnect(f"cannot open {self.path}: {exc}") from None

    def fetch(self, sql: str) -> pa.Table:
        try:
            cursor = self.connection.execute(sql)
            names = [d[0] for d in cursor.description or []]
            return from_rows(names, iter(lambda: cursor.fetchmany(BATCH_ROWS), []))
        except sqlite3.Error as exc:
            raise QueryFailed(str(exc)) from None

    def close(self) -> None:
        self.connection.close()


class DuckdbConnector:
    """A DuckDB file (an ELT tool's output, say), opened read-only, with extension downloads off."""

    engine = "duckdb"

    def __init__(self, url: str, project: Path):
        import duckdb

        self.path = file_path(url, project)
        if not self.path.is_file():
            raise CannotConnect(f"no DuckDB file at {self.path}")
        try:
            self.connection = duckdb.connect(str(self.path), read_only=True, config=NO_DOWNLOADS)
        except duckdb.Error as exc:
            raise CannotConnect(f"cannot open {self.path}: {_first_line(str(exc))}") from None

    def fetch(self, sql: str) -> pa.Table:
        import duckdb

        try:
            relation = self.connection.sql(sql)
            if relation is None:
                raise QueryFailed("the query returns no rows: a source query is a SELECT")
            to_arrow = getattr(relation, "to_arrow_table", None) or relation.arrow  # DuckDB 2 / 1
            return to_arrow()
        except duckdb.Error as exc:
            text = str(exc)
            return_line = _line_from_message(text)
            raise QueryFailed(" ".join(x.strip() for x in text.split("\nLINE ")[0].splitlines() if x.strip()),
                              return_line) from None

    def close(self) -> None:
        self.connection.close()



class SparkConnector:
    """Apache Spark through Spark Connect: the query runs on the cluster, only its result comes back."""

    engine = "spark"

    def __init__(self, url: str, project: Path):
        sql_module = _driver("pyspark.sql", self.engine)
        _driver("pyspark.sql.connect.session", self.engine)
        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # they print each error with its
            logging.getLogger(name).disabled = True  # JVM stack trace; the error is reported at the query's file
        self.url = url
        _reachable(url, self.engine, 15002)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.session = sql_module.SparkSession.builder.remote(url).create()
        except Exception as exc:  # noqa: BLE001 - a failure to connect is the user's to fix
            raise CannotConnect(scrub(_first_line(str(exc)), url)) from None

    def fetch(self, sql: str) -> pa.Table:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return self.session.sql(sql).toArrow()
        except Exception as exc:  # noqa: BLE001 - Spark's error, reported at the query's file
            text = str(exc).split("\nJVM stacktrace:")[0].split("\n== SQL")[0].strip()
            message = text.splitlines()[0].strip() if text else type(exc).__name__
            state = re.search(r"SQLSTATE: \w+", text)
            if state and state.group(0) not in message:
                message += f" ({state.group(0)})"
            raise QueryFailed(scrub(message, self.url), _line_from_message(str(exc))) from None

    def close(self) -> None:
        try:
            self.session.stop()
        except Exception:  # noqa: BLE001, S110 - closing a session that is gone already
            pass


class SqlalchemyConnector:
    """Any other database SQLAlchemy has a dialect for; rows fetched in batches into Arrow."""

    engine = "sqlalchemy"

    def __init__(self, url: str, project: Path):
        sqlalchemy = _driver("sqlalchemy", self.engine)
        self.url = url
        self.sqlalchemy = sqlalchemy
        try:
            self.db = sqlalchemy.create_engine(url)
            self.connection = self.db.connect()
        except ImportError as exc:
            module = exc.name or "its driver"
            raise MissingDriver(self.engine, f"pip install 'gtmsite[sqlalchemy]' {module}") from None
        except sqlalchemy.exc.NoSuchModuleError:
            dialect = url.split("://", 1)[0]
            raise MissingDriver(self.engine, f"pip install 'gtmsite[sqlalchemy]' and the SQLAlchemy dialect for "
                                             f"{dialect}") from None
        except Exception as exc:  # noqa: BLE001 - a failure to connect is the user's to fix
            raise CannotConnect(scrub(_first_line(str(exc)), url)) from None

    def fetch(self, sql: str) -> pa.Table:
        try:
            result = self.connection.exec_driver_sql(sql)
            names = list(result.keys())
            return from_rows(names, iter(lambda: [tuple(r) for r in result.fetchmany(BATCH_ROWS)], []))
        except self.sqlalchemy.exc.DBAPIError as exc:
            message = str(exc.orig) if exc.orig is not None else _first_line(str(exc))
            raise QueryFailed(scrub(message.strip().splitlines()[0] if message.strip() else type(exc).__name__,
                                    self.url), _line_from_message(message)) from None
        except self.sqlalchemy.exc.SQLAlchemyError as exc:
            raise QueryFailed(scrub(_first_line(str(exc)), self.url)) from None

    def close(self) -> None:
        self.connection.close()
        self.db.dispose()


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else "unknown error"
