"""Checks against the site's own history, and forecasts set against what happened.

    pipeline.amount: change < 20%       the column's total (its only value on a one-row result) moved by
                                        less than 20% since the previous version
    pipeline: row_count change < 10%    the row count did
    warn: total.new_arr: anomaly        the total lies outside what the last versions make likely

The earlier values come from the published versions' manifests (`v/<id>/_version.json`: each query
result's row count and numeric column totals, and for source tables named by a history check the same
measures), never from re-running old queries.

An anomaly is judged by the modified z-score (Iglewicz and Hoaglin): with the median M and the median
absolute deviation MAD of the last (at most) 8 versions' values, a value x is unusual when
0.6745 * |x - M| / MAD > 3.5. It needs 4 earlier values; over a history that never moved (MAD = 0),
any change is unusual.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .checks import Check, CheckResult
from .formats import column_format, format_value, is_numeric_type
from .queries import QueryResult
from .versions import PageSummary, QuerySummary, read_manifest

ANOMALY_WINDOW = 8
ANOMALY_MIN = 4
ANOMALY_Z = 3.5
HISTORY_DEPTH = 12  # earlier versions read for anomalies and forecasts


@dataclass(frozen=True)
class Measure:
    """What a history check compares: a result's row count and its numeric columns' totals."""

    rows: int
    totals: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PastVersion:
    id: str
    pages: dict[str, PageSummary]
    tables: dict[str, Measure]


def column_totals(result: QueryResult) -> dict[str, float | None]:
    """The sum of each numeric column (None when it holds no values)."""
    totals: dict[str, float | None] = {}
    for index, (column, kind) in enumerate(zip(result.columns, result.types)):
        if not is_numeric_type(kind):
            continue
        values = [row[index] for row in result.rows if row[index] is not None]
        total = sum(float(v) for v in values) if values else None
        totals[column] = total if total is None or total == total else None
    return totals


def measure_of_result(result: QueryResult) -> Measure:
    return Measure(len(result.rows), column_totals(result))


def measure_of_summary(summary: QuerySummary) -> Measure:
    return Measure(summary.rows, dict(getattr(summary, "totals", None) or {}))


def measure_table(cursor: Any, relation: str, columns: list[str]) -> Measure:
    """Row count and column totals of a source table, in DuckDB (for `[[checks]]` and table targets)."""
    from .sqltext import quote_ident

    parts = ", ".join(f"sum({quote_ident(c)})::double" for c in columns)
    row = cursor.execute(f"select count(*){', ' + parts if parts else ''} from {relation}").fetchone()
    return Measure(int(row[0]), {c: row[i + 1] for i, c in enumerate(columns)})


def tables_json(measures: dict[str, Measure]) -> dict[str, dict]:
    return {name: {"rows": m.rows, "totals": m.totals} for name, m in sorted(measures.items())}


class History(Sequence["PastVersion"]):
    """The newest published versions' measures, newest first (read-only), read the first time they are
    looked at: most builds have no history check and no forecast, and a 10,000-page site's manifests take
    seconds to read."""

    def __init__(self, output: Path, versions: list[dict], depth: int = HISTORY_DEPTH,
                 newest: dict[str, PageSummary] | None = None):
        """`newest`: the newest version's pages, when the caller has read them already."""
        self._output, self._entries, self._newest = output, versions[:depth], newest

    @cached_property
    def _past(self) -> list[PastVersion]:
        past = []
        for i, entry in enumerate(self._entries):
            folder = self._output / "v" / entry["id"]
            pages = self._newest if i == 0 and self._newest is not None else read_manifest(folder)
            past.append(PastVersion(entry["id"], pages, _read_tables(folder)))
        return past

    def __len__(self) -> int:
        return len(self._past)

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - as a list's
        return self._past[index]


def load_history(output: Path, versions: list[dict], depth: int = HISTORY_DEPTH,
                 newest: dict[str, PageSummary] | None = None) -> History:
    """The newest `depth` published versions' measures, newest first (read when first looked at)."""
    return History(output, versions, depth, newest)


def _read_tables(folder: Path) -> dict[str, Measure]:
    try:
        data = json.loads((folder / "_version.json").read_text(encoding="utf-8")).get("tables", {})
    except (OSError, ValueError, AttributeError):
        return {}
    out = {}
    for name, item in data.items() if isinstance(data, dict) else ():
        if isinstance(item, dict) and isinstance(item.get("rows"), int):
            out[name] = Measure(item["rows"], dict(item.get("totals") or {}))
    return out


def past_measures(history: Sequence[PastVersion], page_url: str | None, target: str) -> list[tuple[str, Measure]]:
    """The measures of one result (a page's query, or a source table) in earlier versions, newest first."""
    out = []
    for version in history:
        if page_url is not None:
            page = version.pages.get(page_url)
            summary = page.queries.get(target) if page else None
            if summary is not None:
                out.append((version.id, measure_of_summary(summary)))
        elif target in version.tables:
            out.append((version.id, version.tables[target]))
    return out


def evaluate_history(check: Check, current: Measure, past: list[tuple[str, Measure]],
                     history: Sequence[PastVersion], page: str = "") -> CheckResult:
    """A history check's result. `past` is this result's measures in earlier versions, newest first."""
    if check.kind == "anomaly":
        return _anomaly(check, current, past, page)
    if not history:
        return CheckResult(check, True, "(no previous version to compare with: passes)", page)
    previous_id = history[0].id
    before = next((m for vid, m in past if vid == previous_id), None)
    if before is None:
        return CheckResult(check, True, f"(no earlier result of {check.target} in {previous_id}: passes)", page)
    new, old, what = _values(check, current, before)
    if new is None or old is None:
        if new is None and check.column is not None and check.column not in current.totals:
            return CheckResult(check, False, f"(column '{check.column}' of {check.target} is not a numeric column)",
                               page)
        return CheckResult(check, True, f"({what} has no values to compare: passes)", page)
    fmt = None if check.column is None else column_format(check.column)
    shown = f"({what} {_show(new, fmt)} vs {_show(old, fmt)} in {previous_id}"
    limit = f"allowed {check.op} {_percent(float(check.threshold or 0))}"
    if old == 0:
        if new == 0:
            return CheckResult(check, True, f"{shown}: no change, {limit})", page)
        return CheckResult(check, False, f"{shown}: a change from zero has no percentage, {limit})", page)
    change = (new - old) / abs(old)
    passed = (abs(change) < check.threshold) if check.op == "<" else (abs(change) <= check.threshold)
    return CheckResult(check, passed, f"{shown}: {'+' if change > 0 else ''}{_percent(change)}, {limit})", page)


def _values(check: Check, current: Measure, before: Measure) -> tuple[float | None, float | None, str]:
    if check.column is None:
        return float(current.rows), float(before.rows), "row count"
    word = "value" if current.rows == 1 else "total"
    return current.totals.get(check.column), before.totals.get(check.column), f"{check.column} {word}"


def _anomaly(check: Check, current: Measure, past: list[tuple[str, Measure]], page: str) -> CheckResult:
    value, _, what = _values(check, current, current)
    if value is None:
        if check.column is not None and check.column not in current.totals:
            return CheckResult(check, False, f"(column '{check.column}' of {check.target} is not a numeric column)",
                               page)
        return CheckResult(check, True, f"({what} has no value: passes)", page)
    earlier = [v for v in (_values(check, m, m)[0] for _, m in past[:ANOMALY_WINDOW]) if v is not None]
    if len(earlier) < ANOMALY_MIN:
        return CheckResult(check, True, f"(only {len(earlier)} earlier value{'s' if len(earlier) != 1 else ''}; "
                                        f"an anomaly check needs {ANOMALY_MIN}: passes)", page)
    fmt = None if check.column is None else column_format(check.column)
    median = statistics.median(earlier)
    mad = statistics.median(abs(v - median) for v in earlier)
    low, high = min(earlier), max(earlier)
    span = (f"the last {len(earlier)} versions ranged {_show(low, fmt)} to {_show(high, fmt)}, "
            f"median {_show(median, fmt)}")
    if mad == 0:
        unusual = abs(value - median) > 1e-9 * max(1.0, abs(median))
    else:
        unusual = 0.6745 * abs(value - median) / mad > ANOMALY_Z
    verdict = "unusual" if unusual else "usual"
    return CheckResult(check, not unusual, f"({what} {_show(value, fmt)} is {verdict}: {span})", page)


def _show(value: float, fmt: str | None) -> str:
    if fmt:
        return format_value(value, fmt)
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%".replace(".0%", "%")


@dataclass(frozen=True)
class HistoryOutcome:
    results: list[CheckResult]
    problems: list[Any]  # Problems: a history check naming no query or table
    tables: dict[str, Measure]  # the source tables' measures, for this version's manifest


def run_history_checks(result: Any, site_checks: list[Check], tables: set[str], cursor: Callable[[], Any],
                       history: Sequence[PastVersion]) -> HistoryOutcome:
    """Every history check of the build (`result`: a BuildResult): those on a page's queries per page,
    those on source tables (from reports and `[[checks]]`) once. `cursor()` gives a DuckDB cursor on the
    sources, asked for only when a table is measured (loading the sources is what an unchanged build skips)."""
    from .errors import Problem, SiteError
    from .sqltext import quote_table

    results: list[CheckResult] = []
    problems: list[Problem] = []
    on_tables: dict[tuple, Check] = {(c.text, c.path, c.line): c for c in site_checks if c.is_history}
    for outcome in result.outcomes:
        page = outcome.page
        report = page.report
        if report is None:
            continue
        names = {q.name for q in report.queries}
        for check in report.checks:
            if not check.is_history:
                continue
            if check.target not in names:
                on_tables.setdefault((check.text, check.path, check.line), check)
                continue
            current = outcome.results.get(check.target)
            if current is None or current.failed:
                continue
            past = past_measures(history, page.url, check.target)
            results.append(evaluate_history(check, measure_of_result(current), past, history,
                                            page.url if page.templated else ""))
    columns: dict[str, set[str]] = {}
    for check in on_tables.values():
        if check.target not in tables:
            problems.append(Problem(check.path, check.line,
                                    f"check '{check.text}': '{check.target}' is neither a query on this page nor a "
                                    f"source table (tables: {', '.join(sorted(tables)) or 'none'})"))
            continue
        columns.setdefault(check.target, set()).update([check.column] if check.column else [])
    measures: dict[str, Measure] = {}
    for table, cols in sorted(columns.items()):
        try:
            measures[table] = measure_table(cursor(), quote_table(table), sorted(cols))
        except Exception as exc:  # noqa: BLE001 - a DuckDB error on the user's column becomes a located problem
            bad = next(c for c in on_tables.values() if c.target == table)
            problems.append(SiteError(f"check '{bad.text}': {str(exc).strip().splitlines()[0]}", bad.path,
                                      bad.line).problem)
    for check in on_tables.values():
        if check.target in measures:
            results.append(evaluate_history(check, measures[check.target],
                                            past_measures(history, None, check.target), history))
    return HistoryOutcome(results, problems, measures)


@dataclass(frozen=True)
class Calibration:
    """A forecast an earlier version drew for a period that has since become actual."""

    url: str
    title: str
    label: str  # the forecast column's label
    series: Any
    period: Any
    forecast: float
    low: float
    high: float
    actual: float
    made_in: str  # the version that drew the forecast
    fmt: str | None
    unit: str = ""  # the period's step (month, quarter, ...)

    @property
    def period_text(self) -> str:
        """`Jul 2026` for a month, `Q3 2026` for a quarter, else the period as recorded."""
        try:
            day = dt.date.fromisoformat(str(self.period)[:10])
        except ValueError:
            return str(self.period)
        if self.unit == "month":
            return day.strftime("%b %Y")
        if self.unit == "quarter":
            return f"Q{(day.month - 1) // 3 + 1} {day.year}"
        return str(self.period)[:10] if self.unit in ("day", "week") else str(self.period)

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high

    @property
    def error(self) -> float | None:
        return (self.actual - self.forecast) / abs(self.forecast) if self.forecast else None


def forecast_vs_actual(current: dict[str, PageSummary], history: Sequence[PastVersion]) -> list[Calibration]:
    """For each chart forecast, the periods that became actual since the previous version, each next to
    the newest earlier forecast made for it."""
    from .formats import column_label

    if not any(page.forecasts for page in current.values()) or not history:
        return []
    rows: list[Calibration] = []
    for url, page in sorted(current.items()):
        for record in page.forecasts:
            before = _same_chart(history[0].pages.get(url), record)
            if before is None:
                continue
            last_before: dict[Any, Any] = {}
            for x, series, _ in before.get("actuals", []):
                if series not in last_before or _later(x, last_before[series]):
                    last_before[series] = x
            for x, series, actual in record.get("actuals", []):
                if actual is None or series not in last_before or not _later(x, last_before[series]):
                    continue
                found = _earlier_forecast(history, url, record, x, series)
                if found is not None:
                    version_id, point = found
                    rows.append(Calibration(url, page.title, column_label(record["y"]), series, x, point["value"],
                                            point["low"], point["high"], actual, version_id,
                                            column_format(record["y"]), record.get("unit", "")))
    return rows


def _same_chart(page: PageSummary | None, record: dict) -> dict | None:
    if page is None:
        return None
    key = (record.get("query"), record.get("x"), record.get("y"), record.get("series"))
    return next((r for r in page.forecasts if (r.get("query"), r.get("x"), r.get("y"), r.get("series")) == key),
                None)


def _earlier_forecast(history: Sequence[PastVersion], url: str, record: dict, x: Any, series: Any
                      ) -> tuple[str, dict] | None:
    for version in history:
        earlier = _same_chart(version.pages.get(url), record)
        for point in (earlier or {}).get("points", []):
            if point.get("x") == x and point.get("series") == series:
                return version.id, point
    return None


def _later(a: Any, b: Any) -> bool:
    try:
        return a > b
    except TypeError:
        return str(a) > str(b)


def calibration_lines(rows: list[Calibration]) -> list[str]:
    """The terminal form of forecast vs actual (`gtmsite versions diff`)."""
    lines = ["forecasts and what happened:"] if rows else []
    for row in rows:
        def show(value: float, fmt: str | None = row.fmt) -> str:
            return format_value(value, fmt)
        series = f" ({row.series})" if row.series is not None else ""
        error = f", {'+' if row.error > 0 else ''}{row.error * 100:.1f}%" if row.error is not None else ""
        where = "inside" if row.inside else "outside"
        lines.append(f"    {row.url} {row.label}{series} {row.period_text}: forecast {show(row.forecast)} "
                     f"({show(row.low)} to {show(row.high)}) made in {row.made_in}, actual {show(row.actual)}"
                     f"{error}, {where} the interval")
    return lines
