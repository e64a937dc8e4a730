"""External databases (SPEC section 4): source queries pushed down to PostgreSQL, SQLite, DuckDB
files, Spark Connect or any SQLAlchemy database; results stored as Parquet in the project cache and
loaded into the report database, which is then locked down.

    site.toml [sources.NAME] -> discover_queries -> fetch_external (connectors, store) -> load_external
"""

from .fetch import (
    AttachedFile,
    External,
    FetchPolicy,
    RemoteTable,
    SourceQuery,
    age_text,
    declared_folders,
    discover_queries,
    fetch_external,
)
from .load import connect_database, load_external, lock_down

__all__ = ["AttachedFile", "External", "FetchPolicy", "RemoteTable", "SourceQuery", "age_text", "connect_database",
           "declared_folders", "discover_queries", "fetch_external", "load_external", "lock_down"]
