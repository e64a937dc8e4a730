"""Data checks: the grammar of a ```checks fence line, and its evaluation in DuckDB.

    pipeline: row_count > 0
    pipeline.amount: not_null | unique | min >= 0 | max < 1e6
    pipeline.stage: accepted_values [Prospecting, Proposal]
    opportunities.created_at: freshness < 3 days
    warn: leads.email: not_null

Column and table names are quoted identifiers; thresholds and accepted values are bound parameters.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from dataclasses import dataclass

import duckdb

from .errors import SiteError
from .formats import format_value
from .sqltext import fetchable, quote_ident

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
        "=": operator.eq, "==": operator.eq, "!=": operator.ne, "<>": operator.ne}
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400,
          "week": 604800, "weeks": 604800}
_COMPARE = re.compile(r"^(row_count|min|max)\s*(>=|<=|==|!=|<>|>|<|=)\s*(.+)$")
_FRESH = re.compile(r"^freshness\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*([a-z]+)$")
_ACCEPTED = re.compile(r"^accepted_values\s*\[(.*)\]$")
_CHANGE = re.compile(r"^(row_count\s+)?change\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*%$")
_ANOMALY = re.compile(r"^(row_count\s+)?anomaly$")
_COLUMN_KINDS = ("not_null", "unique", "min", "max", "accepted_values", "freshness", "change", "anomaly")
HISTORY_KINDS = ("change", "anomaly")  # compared with earlier versions (history.py), not evaluated here
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

GRAMMAR_HELP = ("expected `TABLE: row_count > N`, `TABLE: row_count change < N%` or `TABLE.COLUMN: CHECK` where "
                "CHECK is not_null, unique, min >= N, max <= N, accepted_values [a, b], freshness < N days, "
                "change < N% or anomaly")


@dataclass(frozen=True)
class Check:
    text: str  # the line as written, without `warn:`
    target: str  # a query of the page, or a source table/model ("crm.accounts")
    column: str | None
    kind: str  # row_count | not_null | unique | min | max | accepted_values | freshness
    op: str = ""
    threshold: float | str | None = None
    values: tuple[str, ...] = ()
    seconds: float = 0.0
    warn: bool = False
    path: str = ""
    line: int | None = None

    @property
    def is_history(self) -> bool:
        """Compared with earlier versions of the site (see history.py) rather than measured alone."""
        return self.kind in HISTORY_KINDS


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    detail: str  # "(17 nulls)"
    page: str = ""  # for a templated page: which of its pages ("/channels/paid-search/")

    @property
    def status(self) -> str:
        return "passed" if self.passed else ("warned" if self.check.warn else "failed")

    @property
    def message(self) -> str:
        label = "check warning" if self.check.warn else "check failed"
        where = f" on page {self.page}" if self.page else ""
        return f"{label}: {self.check.text} {self.detail}{where}"


def parse_check(line: str, path: str, lineno: int | None, warn: bool = False) -> Check:
    text = line.strip()
    if text.startswith("warn:"):
        warn, text = True, text[5:].strip()
    if ":" not in text:
        raise SiteError(f"check '{text}': {GRAMMAR_HELP}", path, lineno)
    left, right = (part.strip() for part in text.split(":", 1))
    if not _TARGET.match(left):
        raise SiteError(f"check '{text}': '{left}' is not a table or table.column name", path, lineno)
    base = dict(text=text, warn=warn, path=path, line=lineno)
    history = _history_check(left, right, base)
    if history is not None:
        return history
    compare = _COMPARE.match(right)
    if compare and compare.group(1) == "row_count":
        return Check(target=left, column=None, kind="row_count", op=compare.group(2),
                     threshold=_number(compare.group(3), text, path, lineno), **base)
    if "." not in left:
        if re.split(r"[\s\[<>=!]", right, maxsplit=1)[0] not in _COLUMN_KINDS:
            raise SiteError(f"check '{text}': {GRAMMAR_HELP}", path, lineno)
        raise SiteError(f"check '{text}': name a column as {left}.COLUMN for '{right.split()[0]}'", path, lineno)
    target, column = left.rsplit(".", 1)
    if right in ("not_null", "unique"):
        return Check(target=target, column=column, kind=right, **base)
    if compare:
        return Check(target=target, column=column, kind=compare.group(1), op=compare.group(2),
                     threshold=_threshold(compare.group(3)), **base)
    accepted = _ACCEPTED.match(right)
    if accepted:
        values = tuple(v.strip().strip("'\"") for v in accepted.group(1).split(",") if v.strip())
        return Check(target=target, column=column, kind="accepted_values", values=values, **base)
    fresh = _FRESH.match(right)
    if fresh and fresh.group(3) in _UNITS:
        return Check(target=target, column=column, kind="freshness", op=fresh.group(1),
                     seconds=float(fresh.group(2)) * _UNITS[fresh.group(3)], **base)
    raise SiteError(f"check '{text}': {GRAMMAR_HELP}", path, lineno)


def _history_check(left: str, right: str, base: dict) -> Check | None:
    """`q.col: change < 20%`, `q: row_count change < 10%`, `q.col: anomaly`, `q: row_count anomaly`."""
    change, anomaly = _CHANGE.match(right), _ANOMALY.match(right)
    if not change and not anomaly:
        return None
    on_rows = bool((change or anomaly).group(1))
    if not on_rows and "." not in left:
        kind = "change" if change else "anomaly"
        raise SiteError(f"check '{base['text']}': name a column as {left}.COLUMN for '{kind}', or write "
                        f"`{left}: row_count {right}`", base["path"], base["line"])
    target, column = (left, None) if on_rows else left.rsplit(".", 1)
    if change:
        return Check(target=target, column=column, kind="change", op=change.group(2),
                     threshold=float(change.group(3)) / 100, **base)
    return Check(target=target, column=column, kind="anomaly", **base)


def _number(text: str, check: str, path: str, line: int | None) -> float:
    try:
        return float(text)
    except ValueError:
        raise SiteError(f"check '{check}': expected a number, got '{text}'", path, line) from None


def _threshold(text: str) -> float | str:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        return text.strip("'\"")


def evaluate(check: Check, cursor: duckdb.DuckDBPyConnection, relation: str, now: dt.datetime) -> CheckResult:
    """Run one check against `relation` (a quoted table name). Raises SiteError for a bad column."""
    col = ""
    if check.column is not None:
        description = cursor.execute(f"select * from {relation} limit 0").description
        columns = [d[0] for d in description]
        if check.column not in columns:
            raise SiteError(f"check '{check.text}': column '{check.column}' is not in {check.target} "
                            f"(columns: {', '.join(columns)})", check.path, check.line)
        kind = description[columns.index(check.column)][1]
        if check.kind == "freshness":
            _require_time(check, str(kind))
        col = fetchable(check.column, kind) or quote_ident(check.column)
    try:
        return _MEASURES[check.kind](check, cursor, relation, col, now)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise SiteError(f"check '{check.text}': {message}", check.path, check.line) from None


def _require_time(check: Check, kind: str) -> None:
    """Freshness is the age of the newest date or timestamp (or ISO text); say so for any other column."""
    if not kind.upper().startswith(("DATE", "TIMESTAMP", "VARCHAR")):
        raise SiteError(f"check '{check.text}': column '{check.column}' is {kind}, not a date or timestamp; "
                        f"freshness needs one (check a date column, or cast it in the query: "
                        f"{check.column}::timestamp)", check.path, check.line)


def _newest_time(check: Check, newest: object) -> dt.datetime:
    if isinstance(newest, str):
        try:
            newest = dt.datetime.fromisoformat(newest)
        except ValueError:
            raise SiteError(f"check '{check.text}': column '{check.column}' holds text that is not a date "
                            f"({newest!r}); freshness needs dates such as 2026-01-31 (or a timestamp column)",
                            check.path, check.line) from None
    if isinstance(newest, dt.date) and not isinstance(newest, dt.datetime):
        newest = dt.datetime.combine(newest, dt.time())
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.UTC)
    return newest


def _row_count(check, cursor, relation, col, now) -> CheckResult:
    (count,) = cursor.execute(f"select count(*) from {relation}").fetchone()
    return CheckResult(check, _OPS[check.op](count, check.threshold), f"({count:,} rows)")


def _not_null(check, cursor, relation, col, now) -> CheckResult:
    (nulls,) = cursor.execute(f"select count(*) from {relation} where {col} is null").fetchone()
    return CheckResult(check, nulls == 0, f"({nulls:,} null{'s' if nulls != 1 else ''})")


def _unique(check, cursor, relation, col, now) -> CheckResult:
    dupes = cursor.execute(f"select {col}, count(*) from {relation} where {col} is not null "
                           f"group by {col} having count(*) > 1 order by count(*) desc, {col} limit 3").fetchall()
    if not dupes:
        return CheckResult(check, True, "(no duplicates)")
    (total,) = cursor.execute(f"select count(*) from (select {col} from {relation} where {col} is not null "
                              f"group by {col} having count(*) > 1)").fetchone()
    examples = ", ".join(f"{repr(v) if isinstance(v, str) else format_value(v)} x{n}" for v, n in dupes)
    return CheckResult(check, False, f"({total:,} duplicated value{'s' if total != 1 else ''}, e.g. {examples})")


def _extreme(check, cursor, relation, col, now) -> CheckResult:
    (value,) = cursor.execute(f"select {check.kind}({col}) from {relation}").fetchone()
    if value is None:
        return CheckResult(check, True, f"({check.kind} is null: no values)")
    threshold = check.threshold
    try:
        passed = _OPS[check.op](value, type(value)(threshold) if not isinstance(value, (int, float)) else threshold)
    except (TypeError, ValueError):
        passed = _OPS[check.op](str(value), str(threshold))
    return CheckResult(check, passed, f"({check.kind} is {format_value(value)})")


def _accepted(check, cursor, relation, col, now) -> CheckResult:
    bad = cursor.execute(f"select distinct cast({col} as varchar) as v from {relation} "
                         f"where {col} is not null and cast({col} as varchar) not in (select unnest($values)) "
                         f"order by v limit 6", {"values": list(check.values)}).fetchall()
    if not bad:
        return CheckResult(check, True, "(all values accepted)")
    shown = ", ".join(repr(v) for (v,) in bad[:5]) + (", ..." if len(bad) > 5 else "")
    return CheckResult(check, False, f"(unexpected value{'s' if len(bad) != 1 else ''}: {shown})")


def _freshness(check, cursor, relation, col, now) -> CheckResult:
    (newest,) = cursor.execute(f"select max({col}) from {relation}").fetchone()
    if newest is None:
        return CheckResult(check, False, "(no values)")
    newest = _newest_time(check, newest)
    age = (now - newest).total_seconds()
    days = age / 86400
    detail = f"(newest is {newest:%Y-%m-%d %H:%M}, {days:.1f} days old)"
    return CheckResult(check, _OPS[check.op](age, check.seconds), detail)


_MEASURES = {"row_count": _row_count, "not_null": _not_null, "unique": _unique, "min": _extreme,
             "max": _extreme, "accepted_values": _accepted, "freshness": _freshness}
