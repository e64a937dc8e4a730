"""Where a build's files go: the Writer (the one effect of a build), and the Parquet snapshots."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import duckdb

from .errors import SiteError
from .files import replace_file
from .queries import QueryResult
from .sqltext import quote_ident
from .versions import csv_text, result_digest


class Writer:
    """Where a build's files go. The build writes through this, so `check` can write nothing."""

    def __init__(self, root: Path | None, atomic: bool = False):
        """`atomic`: each file replaced in one rename (the preview rewrites a folder being served)."""
        self.root = root
        self.atomic = atomic
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def _claim(self, rel: str) -> Path | None:
        """Where `rel` goes (None when writing nothing); the same path twice is an error, as it means two
        pages would overwrite each other."""
        with self._lock:
            if rel in self._written:
                raise SiteError(f"two pages write the same file {rel}; rename one of them")
            self._written.add(rel)
        return None if self.root is None else self.root / rel

    def write(self, rel: str, data: str | bytes, immutable: bool = False) -> None:
        """Write a file; `immutable` (content-hashed names) skips a file that is already there."""
        path = self._claim(rel)
        if path is None or immutable and path.exists():
            return
        if self.atomic:
            replace_file(path, data)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def link(self, rel: str, source: Path) -> None:
        """Place an existing file (e.g. from the cache) at `rel`: a hard link where possible."""
        path = self._claim(rel)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and os.path.samefile(source, path):
            return
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)

    @property
    def files(self) -> set[str]:
        return set(self._written)


def parquet_from_table(result: QueryResult, table: str, folder: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Write a result that is still a (temp) table in DuckDB to the Parquet cache: no round trip."""
    path = folder / f"{result_digest(result.columns, result.types, result.rows)}.parquet"
    if path.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.parquet")
    try:
        target = str(tmp).replace("'", "''")
        con.execute(f"copy {table} to '{target}' (format parquet)")
        os.replace(tmp, path)
    except (duckdb.Error, OSError):
        tmp.unlink(missing_ok=True)


def parquet_of(result: QueryResult, folder: Path, con: duckdb.DuckDBPyConnection) -> Path | None:
    """A query result as a Parquet file in `folder`, named by the result's content (so made once).
    The rows go through a CSV file and are cast back to the query's own column types."""
    digest = result_digest(result.columns, result.types, result.rows)
    path = folder / f"{digest}.parquet"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{digest}.{os.getpid()}.{threading.get_ident()}"
    try:
        if result.rows:
            tmp.with_suffix(".csv").write_text(csv_text(result.columns, result.rows), encoding="utf-8")
            columns = ", ".join(f"cast(#{i + 1} as {kind}) as {quote_ident(name)}"
                                for i, (name, kind) in enumerate(zip(result.columns, result.types)))
            source = "read_csv($csv, header = true, all_varchar = true)"
            params = {"csv": str(tmp.with_suffix(".csv"))}
        else:
            columns = ", ".join(f"cast(null as {kind}) as {quote_ident(name)}"
                                for name, kind in zip(result.columns, result.types))
            source, params = "(select 1) where false", {}
        target = str(tmp.with_suffix(".parquet")).replace("'", "''")
        con.execute(f"copy (select {columns} from {source}) to '{target}' (format parquet)", params)
        os.replace(tmp.with_suffix(".parquet"), path)
        return path
    except (duckdb.Error, OSError):
        return None
    finally:
        tmp.with_suffix(".csv").unlink(missing_ok=True)
        tmp.with_suffix(".parquet").unlink(missing_ok=True)
