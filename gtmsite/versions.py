"""Versions as data: the manifest of one version (pages, query results, KPIs), version ids, and the
comparison of two versions. Pure functions over plain values; publish.py does the file work.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .formats import format_value

MANIFEST = "_version.json"


@dataclass(frozen=True)
class QuerySummary:
    rows: int
    columns: list[str]
    digest: str
    totals: dict[str, float | None] = field(default_factory=dict)  # numeric columns' sums (history checks)


@dataclass(frozen=True)
class KpiValue:
    label: str  # "big_value pipeline.amount"
    value: Any
    fmt: str | None
    component: str = ""  # "big_value" or "value"
    down_is_good: bool | None = None  # None: unknown (the move is then neither good nor bad)


@dataclass(frozen=True)
class PageSummary:
    url: str
    title: str
    queries: dict[str, QuerySummary] = field(default_factory=dict)
    kpis: list[KpiValue] = field(default_factory=list)
    key: str = ""  # the page's inputs: an equal key in the next build means the same page
    forecasts: list[dict] = field(default_factory=list)  # the charts' forecasts (forecast_charts.ForecastRecord)


@dataclass(frozen=True)
class VersionRecord:
    """One entry of versions.json."""

    id: str
    label: str
    created: str
    git_commit: str | None
    data_fingerprint: str
    pages: int
    checks: dict[str, int]
    aliases: list[str] = field(default_factory=list)
    previous: str | None = None
    pdf: str | None = None  # "site.pdf" when the version was built with --pdf
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> fetched_at, rows, hash (SPEC 4)


def result_digest(columns: tuple, types: tuple, rows: tuple) -> str:
    digest = hashlib.sha256()
    digest.update(repr((columns, types)).encode())
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def next_version_id(existing: set[str], when: dt.datetime, label: str = "") -> str:
    """`2026-11-23`, then `2026-11-23.2` for a second build that day; or the label's slug."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") if label else when.strftime("%Y-%m-%d")
    base = base or when.strftime("%Y-%m-%d")
    existing = existing | {"latest"}  # the alias of the newest version (`latest/`, `versions diff A latest`)
    if base not in existing:
        return base
    n = 2
    while f"{base}.{n}" in existing:
        n += 1
    return f"{base}.{n}"


def manifest_json(pages: list[PageSummary], record: VersionRecord, tables: dict | None = None) -> str:
    """The version's manifest; `tables` holds the measures of source tables named by history checks."""
    data = {"version": asdict(record), "pages": [asdict(p) for p in pages]}
    if tables:
        data["tables"] = tables
    return json.dumps(data, indent=1, default=str)


def read_manifest(version_dir: Path) -> dict[str, PageSummary]:
    try:
        data = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    pages = {}
    for page in data.get("pages", []):
        queries = {name: QuerySummary(**q) for name, q in page.get("queries", {}).items()}
        kpis = [KpiValue(**k) for k in page.get("kpis", [])]
        forecasts = [f for f in page.get("forecasts", []) if isinstance(f, dict)]
        pages[page["url"]] = PageSummary(page["url"], page.get("title", ""), queries, kpis, page.get("key", ""),
                                         forecasts)
    return pages


# -- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryChange:
    name: str
    rows_before: int
    rows_after: int
    added: int
    removed: int


_FINER = {"usdm": "usd0", "usdk": "usd0", "usd0": "usd", "numk": "num0", "num0": "num2", "pct": "pct1", "pct1": ".3%"}


@dataclass(frozen=True)
class KpiChange:
    label: str
    before: Any
    after: Any
    fmt: str | None

    @property
    def delta(self) -> float | None:
        try:
            return float(self.after) - float(self.before)
        except (TypeError, ValueError):
            return None

    @property
    def relative(self) -> float | None:
        try:
            before = float(self.before)
            return (float(self.after) - before) / abs(before) if before else None
        except (TypeError, ValueError):
            return None

    @property
    def delta_text(self) -> str:
        """The signed change in the KPI's format, or finer when that format rounds it away
        ($6.6M -> $6.6M is "+$4,210", not "+$0M")."""
        if self.delta is None:
            return ""
        text = format_value(self.delta, self.fmt)
        if self.delta and not any(c in "123456789" for c in text):
            text = format_value(self.delta, _FINER.get(self.fmt or "", ".3g"))
        return ("+" if self.delta > 0 and not text.startswith("+") else "") + text

    def text(self) -> str:
        before, after = format_value(self.before, self.fmt), format_value(self.after, self.fmt)
        if self.delta is None:
            return f"{self.label}: {before} -> {after}"
        sign = "+" if self.relative and self.relative > 0 else ""
        rel = f", {sign}{self.relative * 100:.1f}%" if self.relative is not None else ""
        return f"{self.label}: {before} -> {after} ({self.delta_text}{rel})"


@dataclass(frozen=True)
class PageChange:
    url: str
    title: str
    queries: list[QueryChange]
    kpis: list[KpiChange]


@dataclass(frozen=True)
class SourceChange:
    """An external source result that differs from the one the previous version used."""

    table: str
    rows_before: int | None  # None: the previous version did not use it
    rows_after: int | None  # None: this version does not use it
    fetched_at: str


@dataclass(frozen=True)
class Comparison:
    before: str | None
    after: str
    added_pages: list[tuple[str, str]]  # (url, title)
    removed_pages: list[tuple[str, str]]
    changed_pages: list[PageChange]
    unchanged_pages: int
    sources: list[SourceChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added_pages or self.removed_pages or self.changed_pages or self.sources)


def compare_sources(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[SourceChange]:
    """The source results (versions.json `sources`) whose content differs between two versions."""
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table), after.get(table)
        if old and new and old.get("hash") == new.get("hash"):
            continue
        changes.append(SourceChange(table, old.get("rows") if old else None, new.get("rows") if new else None,
                                    (new or {}).get("fetched_at", "")))
    return changes


def compare(before: dict[str, PageSummary], after: dict[str, PageSummary], before_id: str | None, after_id: str,
            rows_of: Any) -> Comparison:
    """Compare two versions' manifests. `rows_of(version, url, query)` gives a query's rows (for added/removed)."""
    added = [(u, after[u].title) for u in sorted(after) if u not in before]
    removed = [(u, before[u].title) for u in sorted(before) if u not in after]
    changed: list[PageChange] = []
    unchanged = 0
    for url in sorted(set(before) & set(after)):
        old, new = before[url], after[url]
        queries = []
        for name in sorted(set(old.queries) | set(new.queries)):
            a, b = old.queries.get(name), new.queries.get(name)
            if a is not None and b is not None and a.digest == b.digest:
                continue
            old_rows = Counter(rows_of(before_id, url, name)) if a else Counter()
            new_rows = Counter(rows_of(after_id, url, name)) if b else Counter()
            queries.append(QueryChange(name, a.rows if a else 0, b.rows if b else 0,
                                       sum((new_rows - old_rows).values()), sum((old_rows - new_rows).values())))
        old_kpis = {k.label: k for k in old.kpis}
        kpis = [KpiChange(k.label, old_kpis[k.label].value, k.value, k.fmt) for k in new.kpis
                if k.label in old_kpis and old_kpis[k.label].value != k.value]
        if queries or kpis:
            changed.append(PageChange(url, new.title, queries, kpis))
        else:
            unchanged += 1
    return Comparison(before_id, after_id, added, removed, changed, unchanged)


def csv_rows(path: Path) -> list[tuple[str, ...]]:
    """The rows of a version's CSV download, whatever the size of a cell (the csv module's default limit of
    131,072 characters would make one big cell break the comparison of every later build)."""
    if csv.field_size_limit() < _NO_FIELD_LIMIT:
        csv.field_size_limit(_NO_FIELD_LIMIT)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [tuple(r) for r in rows[1:]]


_NO_FIELD_LIMIT = 2**31 - 1  # the largest the csv module takes on every platform


def csv_text(columns: tuple[str, ...], rows: tuple[tuple, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def comparison_text(comparison: Comparison) -> str:
    """The terminal form of a comparison (`gtmsite versions diff A B`)."""
    lines = [f"{comparison.before or '(nothing)'} -> {comparison.after}"]
    if comparison.is_empty:
        lines.append("no changes: every page's query results and KPIs are the same")
    for source in comparison.sources:
        before = "-" if source.rows_before is None else source.rows_before
        after = "-" if source.rows_after is None else source.rows_after
        lines.append(f"~ source result {source.table}: {before} -> {after} rows")
    for url, title in comparison.added_pages:
        lines.append(f"+ page {url} ({title})")
    for url, title in comparison.removed_pages:
        lines.append(f"- page {url} ({title})")
    for page in comparison.changed_pages:
        lines.append(f"~ page {page.url} ({page.title})")
        for kpi in page.kpis:
            lines.append(f"    {kpi.text()}")
        for q in page.queries:
            lines.append(f"    query {q.name}: {q.rows_before} -> {q.rows_after} rows (+{q.added} / -{q.removed})")
    lines.append(f"{comparison.unchanged_pages} pages unchanged")
    return "\n".join(lines)
