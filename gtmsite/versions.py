"""Versions as data: the manifest of one version (pages, query results, KPIs), version ids, and the
comparison of two versions. Pure functions over plain values; publish.py does the file work.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .components import Kpi
from .formats import column_format, format_value
from .queries import collector_paused
from .safety import csv_cell, raw_cell

MANIFEST = "_version.json"


@dataclass(frozen=True)
class QuerySummary:
    rows: int
    columns: list[str]
    digest: str
    totals: dict[str, float | None] = field(default_factory=dict)  # numeric columns' sums (history checks)


@dataclass(frozen=True)
class KpiValue:
    label: str  # what the page calls it: the big_value's title, or the column's label
    value: Any
    fmt: str | None
    key: str = ""  # what it is: "big_value pipeline.amount agg sum"; the same KPI in two versions has the same key
    column: str = ""
    down_is_good: bool | None = None  # None: unknown (the move is then neither good nor bad)
    component: str = ""  # "big_value" or "value"
    definition: str = ""  # hash of the query (and metric) definition behind the value (metricfences.Definitions)
    metric: str = ""  # the metric of sources/metrics.yml the value is, if any


@dataclass(frozen=True)
class PageSummary:
    url: str
    title: str
    queries: dict[str, QuerySummary] = field(default_factory=dict)
    kpis: list[KpiValue] = field(default_factory=list)
    key: str = ""  # the page's inputs: an equal key in the next build means the same page
    forecasts: list[dict] = field(default_factory=list)  # the charts' forecasts (forecast_charts.ForecastRecord)
    base: str = ""  # the page's inputs without its results (plan.base_keys): its copy may be linked ahead


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
    metrics: dict[str, str] = field(default_factory=dict)  # metric name -> definition hash
    queries: dict[str, str] = field(default_factory=dict)  # "reports/x.md#query" -> definition hash


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


def kpi_values(kpis: list[Kpi], definitions: dict[str, str] | None = None) -> list[KpiValue]:
    """A page's KPIs, each once: a `value()` showing the same column and number as a KPI before or after it
    (the same figure written into the text under its tile) is that KPI, under the tile's title, and a fall
    is good news when either says so. Labels shared by two KPIs name their queries. `definitions`: each
    query's definition hash, so a later version can tell a definition change from a data change."""
    kept: list[Kpi] = []
    for kpi in kpis:
        same = [k for k in kept if _same_kpi(k, kpi)]
        if kpi.component == "big_value":  # a tile takes in the value()s that repeat it (never another tile)
            same = [k for k in same if k.component != "big_value" or _same_call(k, kpi)]
        else:  # a value() joins the first tile it repeats
            same = [next((k for k in same if k.component == "big_value"), same[0])] if same else []
        if not same:
            kept.append(kpi)
            continue
        merged = kpi if kpi.component == "big_value" else same[0]
        said = [k.down_is_good for k in [*same, kpi] if k.down_is_good is not None]
        kept[kept.index(same[0])] = replace(merged, down_is_good=any(said) if said else None)
        kept = [k for k in kept if all(k is not other for other in same[1:])]
    labels = Counter(k.label for k in kept)
    out, seen = [], Counter()
    for kpi in kept:
        label = kpi.label or f"{kpi.query}.{kpi.column}"
        if labels[kpi.label] > 1 and kpi.component != "big_value":
            label = f"{label} ({kpi.query})"
        seen[label] += 1
        if seen[label] > 1:
            label = f"{label} #{seen[label]}"
        key = " ".join(filter(None, [kpi.component, f"{kpi.query}.{kpi.column}", kpi.detail]))
        out.append(KpiValue(label, json_safe(kpi.value), kpi.fmt, key, kpi.column, kpi.down_is_good, kpi.component,
                            (definitions or {}).get(kpi.query, ""), kpi.metric))
    return out


def _same_call(a: Kpi, b: Kpi) -> bool:
    return (a.component, a.query, a.column, a.detail) == (b.component, b.query, b.column, b.detail)


def _same_kpi(a: Kpi, b: Kpi) -> bool:
    """The same call twice, or a `value()` repeating a tile's number (same column, same value)."""
    if _same_call(a, b):
        return True
    return {a.component, b.component} == {"value", "big_value"} and a.column == b.column and \
        json_safe(a.value) == json_safe(b.value)


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
    with collector_paused():  # 10,000 pages' dicts hold no cycles
        data = {"version": asdict(record), "pages": [_page_json(p) for p in pages]}
        if tables:
            data["tables"] = tables
        return json.dumps(data, default=str)  # not indented: JSON's C encoder, seconds faster on 10,000 pages


def _page_json(page: PageSummary) -> dict[str, Any]:
    """A page's summary as JSON (what `asdict` gives, without its deep copies)."""
    return {"url": page.url, "title": page.title,
            "queries": {name: {"rows": q.rows, "columns": q.columns, "digest": q.digest, "totals": q.totals}
                        for name, q in page.queries.items()},
            "kpis": [asdict(k) for k in page.kpis], "key": page.key, "forecasts": page.forecasts, "base": page.base}


def read_manifest(version_dir: Path) -> dict[str, PageSummary]:
    try:
        with collector_paused():
            data = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    pages = {}
    with collector_paused():  # 10,000 pages' summaries: a quarter of the time was the cycle collector's
        for page in data.get("pages", []):
            queries = {name: QuerySummary(**q) for name, q in page.get("queries", {}).items()}
            kpis = [KpiValue(**k) for k in page.get("kpis", [])]
            forecasts = [f for f in page.get("forecasts", []) if isinstance(f, dict)]
            pages[page["url"]] = PageSummary(page["url"], page.get("title", ""), queries, kpis,
                                             page.get("key", ""), forecasts, page.get("base", ""))
    return pages


# -- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellChange:
    """A value of a one-row result that changed (e.g. a rank the text quotes), as the CSV download has it."""

    column: str
    before: str
    after: str

    def shown(self, text: str) -> str:
        fmt = column_format(self.column)
        try:
            number = float(text)
        except ValueError:
            return text
        return format_value(int(number) if number.is_integer() and "." not in text else number, fmt)

    @property
    def before_text(self) -> str:
        return self.shown(self.before)

    @property
    def after_text(self) -> str:
        return self.shown(self.after)


@dataclass(frozen=True)
class QueryChange:
    name: str
    rows_before: int
    rows_after: int
    added: int
    removed: int
    cells: list[CellChange] = field(default_factory=list)


_FINER = {"usdm": "usd0", "usdk": "usd0", "usd0": "usd", "numk": "num0", "num0": "num2", "pct": "pct1", "pct1": ".3%"}


@dataclass(frozen=True)
class KpiChange:
    label: str
    before: Any
    after: Any
    fmt: str | None
    cause: str = ""  # "definition changed" | "data changed" | "" (the older version did not record it)
    metric: str = ""
    down_is_good: bool | None = False

    @property
    def direction(self) -> str:
        """up, down or neutral (unchanged, or not a number)."""
        delta = self.delta
        return "neutral" if not delta else "up" if delta > 0 else "down"

    @property
    def mood(self) -> str:
        """good, bad or neutral: a rise is good news, unless the KPI is one where a fall is (`down_is_good`)."""
        if self.direction == "neutral":
            return "neutral"
        return "good" if (self.direction == "up") != bool(self.down_is_good) else "bad"

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
        cause = f" [{self.cause}]" if self.cause else ""
        if self.delta is None:
            return f"{self.label}: {before} -> {after}{cause}"
        sign = "+" if self.relative and self.relative > 0 else ""
        rel = f", {sign}{self.relative * 100:.1f}%" if self.relative is not None else ""
        verdict = {"good": " better", "bad": " worse"}.get(self.mood, "")
        return f"{self.label}: {before} -> {after} ({self.delta_text}{rel}){verdict}{cause}"


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
        kpis = _kpi_changes(old.kpis, new.kpis)
        kpi_columns = {k.column for k in new.kpis if k.column}
        queries = []
        for name in sorted(set(old.queries) | set(new.queries)):
            a, b = old.queries.get(name), new.queries.get(name)
            if a is not None and b is not None and a.digest == b.digest:
                continue
            old_list = rows_of(before_id, url, name) if a else []
            new_list = rows_of(after_id, url, name) if b else []
            old_rows, new_rows = Counter(old_list), Counter(new_list)
            cells = []
            if a and b and a.columns == b.columns and len(old_list) == len(new_list) == 1:
                cells = [CellChange(c, x, y) for c, x, y in zip(b.columns, old_list[0], new_list[0])
                         if x != y and c not in kpi_columns]
            queries.append(QueryChange(name, a.rows if a else 0, b.rows if b else 0,
                                       sum((new_rows - old_rows).values()), sum((old_rows - new_rows).values()),
                                       cells))
        if queries or kpis:
            changed.append(PageChange(url, new.title, queries, kpis))
        else:
            unchanged += 1
    return Comparison(before_id, after_id, added, removed, changed, unchanged)


def _kpi_changes(old: list[KpiValue], new: list[KpiValue]) -> list[KpiChange]:
    """The KPIs whose value moved: the same KPI is the same key (or, in a manifest older than keys, label)."""
    by_key = {k.key: k for k in old if k.key}
    by_label = {k.label: k for k in old}
    changes = []
    for kpi in new:
        before = by_key.get(kpi.key) if kpi.key and by_key else by_label.get(kpi.label)
        if before is not None and before.value != kpi.value:
            changes.append(KpiChange(kpi.label, before.value, kpi.value, kpi.fmt, change_cause(before, kpi), kpi.metric,
                                     kpi.down_is_good))
    return changes


def change_cause(old: KpiValue, new: KpiValue) -> str:
    """Why a KPI moved: its definition (query text, models or metric definition) changed, or only the data."""
    if not old.definition or not new.definition:
        return ""
    return "definition changed" if old.definition != new.definition else "data changed"


def csv_rows(path: Path) -> list[tuple[str, ...]]:
    """A download's rows as text, as the query gave them (without `download_csv`'s apostrophes), whatever the
    size of a cell (the csv module's default limit of 131,072 characters would make one big cell break the
    comparison of every later build)."""
    if csv.field_size_limit() < _NO_FIELD_LIMIT:
        csv.field_size_limit(_NO_FIELD_LIMIT)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [tuple(raw_cell(c) for c in r) for r in rows[1:]]


_NO_FIELD_LIMIT = 2**31 - 1  # the largest the csv module takes on every platform


def csv_text(columns: tuple[str, ...], rows: tuple[tuple, ...]) -> str:
    """CSV as RFC 4180 writes it: lines end in CRLF, so a cell holding a carriage return is quoted (with
    LF line ends, Python's writer leaves it bare and the row splits in two when read back)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def download_csv(columns: tuple[str, ...], rows: tuple[tuple, ...]) -> str:
    """A query result as the page's CSV download: text cells a spreadsheet would run as formulas
    (`=HYPERLINK(...)`, `@SUM(...)`, `-2+3`) start with an apostrophe; numbers and dates stay as they are."""
    return csv_text(tuple(csv_cell(c) for c in columns), tuple(tuple(csv_cell(v) for v in row) for row in rows))


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
            lines += [f"      {c.column}: {c.before_text} -> {c.after_text}" for c in q.cells]
    lines.append(f"{comparison.unchanged_pages} pages unchanged")
    return "\n".join(lines)
