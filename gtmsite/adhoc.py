"""`gtmsite query "SQL"`: ad-hoc SQL against the project's sources and models, printed as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from .config import load_config
from .errors import SiteError
from .formats import format_value
from .queries import duckdb_message
from .sources import Database, discover_sources
from .sqltext import fetchable_select

TABLE_ROWS = 50  # rows the text table shows unless told otherwise; CSV is for machines: all rows


def run_adhoc(project: Path, sql: str, limit: int | None = None, as_csv: bool = False) -> str:
    config = load_config(project)
    database = Database(config, discover_sources(config))
    try:
        relation = database.connection.execute(sql)
        utc = fetchable_select(relation.description or [], f"({sql.strip().rstrip(';')}\n)")
        if utc:
            relation = database.connection.execute(utc)
        columns = [d[0] for d in relation.description or []]
        rows = relation.fetchall() if relation.description else []
    except duckdb.Error as exc:
        raise SiteError(f"query: {duckdb_message(exc)}") from None
    finally:
        database.close()
    if limit is None:
        limit = 0 if as_csv else TABLE_ROWS
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows if not limit else rows[:limit])
        return buffer.getvalue().rstrip("\n")
    return text_table(columns, rows, limit)


def text_table(columns: list[str], rows: list[tuple], limit: int) -> str:
    """A fixed-width text table, numbers right-aligned, with a row count footer."""
    if not columns:
        return "(no result)"
    shown = rows if not limit else rows[:limit]
    cells = [[format_value(v) for v in row] for row in shown]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in shown) and bool(shown)
               for i in range(len(columns))]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

    out = [line(columns), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    more = f" (showing {len(shown)}; use --limit 0 for all)" if len(shown) < len(rows) else ""
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})")
    return "\n".join(line.rstrip() for line in out)
