"""Source URLs: read from the environment, which engine they name, and their secret-free form.

A URL may hold a password; it never leaves this process in that form. `redact` gives the form
used in messages and cache keys (`postgresql://user@host:5432/db`), `scrub` removes the URL and
its password from any text (a driver's error message) before it is shown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..config import CONFIG_FILE, ExternalSource
from ..errors import ConfigError

ENGINE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite", "duckdb": "DuckDB", "spark": "Spark",
                "sqlalchemy": "SQLAlchemy"}
_TYPES = {"duckdb": "duckdb", "sqlite": "sqlite", "postgres": "postgres", "mysql": "sqlalchemy", "spark": "spark",
          "sqlalchemy": "sqlalchemy"}
_SECRET_PARAMS = re.compile(r"(?i)^(password|passwd|pwd|token|secret|access_token|private_key.*|.*_secret)$")


def resolve_url(source: ExternalSource) -> str:
    """The URL to connect with: `env:VAR` is read from the environment now (never stored)."""
    if not source.url.startswith("env:"):
        return source.url
    variable = source.url[4:]
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ConfigError(f"[sources.{source.name}] url: environment variable {variable} is not set; set it to the "
                          "database URL (e.g. postgresql://user:password@host:5432/db)", CONFIG_FILE, source.line)
    return value


def engine_of(url: str, kind: str = "") -> str:
    """postgres, sqlite, duckdb, spark or sqlalchemy: the old `type` key when given, else the URL's scheme."""
    if kind:
        return _TYPES[kind]
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("duckdb", ""):
        return "duckdb"
    if scheme == "sc":
        return "spark"
    return "sqlalchemy"


def file_path(url: str, project: Path) -> Path:
    """The file of a `sqlite:///path`, `duckdb:///path` or plain-path URL (relative to the project)."""
    path = url
    for prefix in ("sqlite:///", "duckdb:///", "sqlite://", "duckdb://"):
        if url.lower().startswith(prefix):
            path = url[len(prefix):]
            break
    path = path.split("?", 1)[0]
    return (project / path).resolve() if path else project


def redact(url: str) -> str:
    """The URL without its password or secret parameters: `postgresql://user@host:5432/db`."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        if len(netloc) == 2:
            user = netloc[0].split(":", 1)[0]
            netloc = [f"{user}@{netloc[1]}"]
        query = urlencode([(k, v if not _SECRET_PARAMS.match(k) else "***")
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)])
        path = ";".join(p if not _SECRET_PARAMS.match(p.split("=", 1)[0]) else p.split("=", 1)[0] + "=***"
                        for p in parts.path.split(";"))
        return urlunsplit((parts.scheme, netloc[0], path, query, ""))
    except ValueError:
        return url.split("://", 1)[0] + "://***"


def host_of(url: str) -> str:
    """`host:port` of a network URL ("" for a file)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if host and parts.port else host
    except ValueError:
        return ""


def secrets_of(url: str) -> list[str]:
    """The secret parts of a URL (its password, secret parameters), to be removed from any message."""
    found = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found.append(parts.password)
        found += [v for k, v in parse_qsl(parts.query) if _SECRET_PARAMS.match(k) and v]
        found += [p.split("=", 1)[1] for p in parts.path.split(";") if "=" in p and
                  _SECRET_PARAMS.match(p.split("=", 1)[0])]
    except ValueError:
        pass
    return [s for s in found if len(s) >= 3]


def scrub(text: str, url: str) -> str:
    """`text` with the URL replaced by its redacted form and every secret of it masked."""
    if url:
        text = text.replace(url, redact(url))
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return text
