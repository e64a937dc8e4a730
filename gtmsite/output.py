"""Where a build's files go: the Writer (the one effect of a build), and the Parquet snapshots."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

import duckdb

from .errors import SiteError, io_error
from .files import cache_writable, replace_file
from .queries import QueryResult
from .sqltext import quote_ident
from .versions import csv_text

MAX_NAME = 255  # bytes in one file or folder name (ext4, APFS, NTFS...)


class Writer:
    """Where a build's files go. The build writes through this, so `check` can write nothing."""

    def __init__(self, root: Path | None, atomic: bool = False):
        """`atomic`: each file replaced in one rename (the preview rewrites a folder being served)."""
        self.root = root
        self._root = str(root) if root is not None else None  # paths as text: 40,000 Path objects cost 0.7 s
        self.atomic = atomic
        self._written: set[str] = set()
        self._folders: set[str] = set()  # made already: a big site writes thousands of files per folder
        self._lock = threading.Lock()

    def _claim(self, rel: str) -> str | None:
        """Where `rel` goes (None when writing nothing); the same path twice is an error, as it means two
        pages would overwrite each other. A name too long for a file system is an error here, so that
        `check` (which writes nothing) finds it as `build` would."""
        too_long = next((part for part in rel.split("/") if len(part.encode("utf-8")) > MAX_NAME), None)
        if too_long is not None:
            raise SiteError(f"the file name {too_long[:40]}... in {rel[:80]}... is {len(too_long.encode())} bytes "
                            f"long; file systems allow {MAX_NAME}: shorten the name that makes it")
        with self._lock:
            if rel in self._written:
                raise SiteError(f"two pages write the same file {rel}; rename one of them")
            self._written.add(rel)
        return None if self._root is None else os.path.join(self._root, rel)

    def claim(self, rel: str) -> None:
        """Count a file placed ahead of time (`place_ahead`) as written by this build."""
        self._claim(rel)

    def place_ahead(self, rel: str, source: str) -> None:
        """Hard-link `source` at `rel` before any page claims it (the previous version's copy of a page likely
        unchanged); OSError if it cannot. The page's maker then claims it, or removes it (`remove_ahead`)."""
        path = os.path.join(self._root, rel)
        self._make_folder(path)
        os.link(source, path)

    def remove_ahead(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self._root, rel))

    def write(self, rel: str, data: str | bytes, immutable: bool = False) -> None:
        """Write a file; `immutable` (content-hashed names) skips a file that is already there. Outside the
        preview a file is always new ("x" mode): a name still linked to a previous version's file is an
        error, never a write into that version."""
        path = self._claim(rel)
        if path is None or immutable and os.path.exists(path):
            return
        try:
            if self.atomic:
                replace_file(Path(path), data)
                return
            self._make_folder(path)
            with open(path, "xb") as handle:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        except OSError as exc:
            raise io_error(exc, "writing", path) from None

    def link(self, rel: str, source: Path | str) -> None:
        """Place an existing file (e.g. from the cache) at `rel`: a hard link where possible."""
        claimed = self._claim(rel)
        if claimed is None:
            return
        try:
            self._make_folder(claimed)
            if not self.atomic:
                os.link(source, claimed)  # a fresh folder (staging): nothing to replace, in one system call
                return
        except OSError:
            pass  # already there, or another file system: link or copy beside it, then replace
        path = Path(claimed)
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and os.path.samefile(source, path):
                return
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise io_error(exc, "writing", path) from None

    def _make_folder(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder not in self._folders:
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)


def parquet_from_table(result: QueryResult, table: str, folder: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Write a result that is still a (temp) table in DuckDB to the Parquet cache: no round trip."""
    path = folder / f"{result.digest}.parquet"
    if intact_parquet(path) or not cache_writable():
        return
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.parquet")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = str(tmp).replace("'", "''")
        con.execute(f"copy {table} to '{target}' (format parquet)")
        os.replace(tmp, path)
    except (duckdb.Error, OSError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def parquet_of(result: QueryResult, folder: Path, con: duckdb.DuckDBPyConnection) -> Path | None:
    """A query result as a Parquet file in `folder`, named by the result's content (so made once).
    The rows go through a CSV file and are cast back to the query's own column types."""
    digest = result.digest
    path = folder / f"{digest}.parquet"
    if intact_parquet(path):
        return path
    tmp = folder / f"{digest}.{os.getpid()}.{threading.get_ident()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if result.rows:
            tmp.with_suffix(".csv").write_text(csv_text(result.columns, result.rows), encoding="utf-8")
            columns = ", ".join(f"cast(#{i + 1} as {kind}) as {quote_ident(name)}"
                                for i, (name, kind) in enumerate(zip(result.columns, result.types)))
            source = f"read_csv($csv, header = true, all_varchar = true, max_line_size = {_MAX_LINE})"
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
        for leftover in (tmp.with_suffix(".csv"), tmp.with_suffix(".parquet")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


_MAX_LINE = 1 << 30  # a result row as CSV: DuckDB's default (2 MB) would refuse a very large cell
_PARQUET_MAGIC = b"PAR1"


def intact_parquet(path: Path) -> bool:
    """Whether a cached Parquet file is whole: the format's magic at both ends and a footer that fits. A
    truncated or garbled file is made again rather than linked into a version."""
    try:
        size = path.stat().st_size
        if size < 12:
            return False
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError:
        return False
    footer = int.from_bytes(tail[:4], "little")
    return head == _PARQUET_MAGIC and tail[4:] == _PARQUET_MAGIC and footer + 12 <= size
