"""Source results in the project cache: `<cache>/sources/<name>/<key>.json` says which result a query
gave and when, `<cache>/sources/<name>/<digest>.parquet` holds it. The key is the source's name, its
engine, its URL without secrets and the query's text; the Parquet file is named by the content, so
an identical result is stored once and changes nothing downstream. Nothing here holds a password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..files import read_cached, store_in_cache
from .load import NO_DOWNLOADS


@dataclass(frozen=True)
class Stored:
    """What the cache knows about a query's last result."""

    digest: str
    rows: int
    columns: tuple[str, ...]
    fetched_at: dt.datetime
    seconds: float
    input: str  # the file's fingerprint, for file databases ("" for servers)
    parquet: Path


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def key(name: str, engine: str, redacted_url: str, sql: str) -> str:
        text = "\0".join((name, engine, redacted_url, sql))
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def get(self, name: str, key: str) -> Stored | None:
        try:
            meta = _read_json(self.folder / name / f"{key}.json")
            stored = Stored(meta["digest"], int(meta["rows"]), tuple(meta["columns"]),
                            dt.datetime.fromisoformat(meta["fetched_at"]), float(meta["seconds"]),
                            meta.get("input", ""), self.folder / name / f"{meta['digest'][:32]}.parquet")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return stored if stored.parquet.is_file() else None

    def put(self, name: str, key: str, table: pa.Table, digest: str, fetched_at: dt.datetime, seconds: float,
            input_fingerprint: str) -> Stored:
        """Store a fresh result (its Parquet file only when that content is new) and what it was."""
        folder = self.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        parquet = folder / f"{digest[:32]}.parquet"
        if not parquet.is_file():
            write_parquet(table, parquet)
        previous = self.get(name, key)
        meta = {"digest": digest, "rows": table.num_rows, "columns": table.column_names,
                "fetched_at": fetched_at.isoformat(), "seconds": round(seconds, 4), "input": input_fingerprint}
        store_in_cache(folder / f"{key}.json", json.dumps(meta))
        if previous is not None and previous.digest != digest:
            self._drop_unused(folder, previous.parquet)
        return Stored(digest, table.num_rows, tuple(table.column_names), fetched_at, seconds, input_fingerprint,
                      parquet)

    @staticmethod
    def _drop_unused(folder: Path, parquet: Path) -> None:
        """Remove a result file no stored query points to any more (the cache does not grow every day)."""
        for meta in folder.glob("*.json"):
            try:
                if _read_json(meta).get("digest", "")[:32] == parquet.stem:
                    return
            except (OSError, ValueError):
                continue
        parquet.unlink(missing_ok=True)


def _read_json(path: Path) -> dict:
    """A JSON object written by `store_in_cache`; a missing or damaged entry raises ValueError (a miss)."""
    raw = read_cached(path)
    data = json.loads(raw) if raw is not None else None
    if not isinstance(data, dict):
        raise ValueError(f"no usable cache entry at {path}")
    return data


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write the result into one rename: with pyarrow (the fastest), or through DuckDB for the types Parquet
    has no Arrow mapping for (INTERVAL), which DuckDB writes and reads back as they were."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        try:
            pq.write_table(table, tmp, compression="zstd", compression_level=1)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            con = duckdb.connect(config={**NO_DOWNLOADS, "python_enable_replacements": False})
            try:
                con.register("result", table)
                con.execute(f"copy result to '{_literal(tmp)}' (format parquet, compression zstd)")
            finally:
                con.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


class FileFingerprints:
    """Content hashes of database files (and their write-ahead logs), remembered by size and mtime so an
    unchanged multi-gigabyte file is not read just to learn that it did not change."""

    def __init__(self, memo: Path):
        self.memo_path = memo
        try:
            self.memo = _read_json(memo)
        except ValueError:
            self.memo = {}

    def of(self, path: Path, *companions: str) -> str:
        parts = []
        for candidate in (path, *(path.with_name(path.name + c) for c in companions)):
            if candidate.is_file():
                parts.append(f"{candidate.name}={self._hash(candidate)}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]

    def _hash(self, path: Path) -> str:
        stat = path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
        known = self.memo.get(str(path))
        if known and known[0] == stamp:
            return known[1]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.memo[str(path)] = [stamp, digest.hexdigest()]
        store_in_cache(self.memo_path, json.dumps(self.memo))
        return digest.hexdigest()
