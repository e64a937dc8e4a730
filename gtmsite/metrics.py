"""`sources/metrics.yml`: the business's metrics, defined once, read and validated once into a frozen
MetricCatalog. Every mistake is a Problem at `sources/metrics.yml:LINE` saying what was expected.

    datasets:  NAME: {table, time, dimensions, description}
    metrics:   NAME: {dataset, agg, expr, filter, time}          a simple metric (an aggregate)
               NAME: {type: ratio, numerator, denominator}       a ratio of two metrics' totals
               NAME: {type: derived, expr: "spend / new_customers"}  an expression over other metrics
               and on any metric: label, description, format, down_is_good, owner

`read_metrics` checks the structure (pure); `check_columns` asks DuckDB whether the columns and SQL
expressions exist in the datasets' tables.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .errors import Problem, undecodable
from .formats import column_label
from .queries import duckdb_message
from .sqltext import IDENTIFIER, quote_table
from .yamlnodes import LocatedList, LocatedMap, YamlSyntaxError, load_located

METRICS_FILE = "sources/metrics.yml"
AGGREGATES = ("sum", "count", "count_distinct", "avg", "min", "max")
TYPES = ("simple", "ratio", "derived")
GRAINS = ("day", "week", "month", "quarter", "year")
_DATASET_KEYS = {"table", "time", "dimensions", "description"}
_COMMON_KEYS = {"type", "label", "description", "format", "down_is_good", "owner"}
_KEYS = {"simple": _COMMON_KEYS | {"dataset", "agg", "expr", "filter", "time"},
         "ratio": _COMMON_KEYS | {"numerator", "denominator"},
         "derived": _COMMON_KEYS | {"expr"}}
# Words a derived metric's expression may use besides metric names and function calls.
SQL_WORDS = {"and", "or", "not", "null", "is", "case", "when", "then", "else", "end", "true", "false", "cast", "as",
             "double", "integer", "bigint", "decimal", "float", "numeric", "between", "in", "distinct", "from",
             "date", "timestamp", "interval", "like", "ilike"}
_WORD = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    time: str | None
    dimensions: tuple[str, ...] | None  # None: any column of the table may be a `by` column
    description: str
    line: int
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # simple | ratio | derived
    label: str
    description: str
    format: str | None
    down_is_good: bool
    owner: str
    line: int
    dataset: str | None = None  # simple metrics
    agg: str | None = None
    expr: str | None = None  # simple: the aggregated SQL expression; derived: the expression over metrics
    filter: str | None = None
    time: str | None = None
    numerator: str | None = None  # ratio metrics
    denominator: str | None = None
    uses: tuple[str, ...] = ()  # the metrics a ratio or derived metric is computed from
    definition: str = ""  # hash of what the metric computes (not its label, description or format)
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    def definition_text(self) -> str:
        """The definition as YAML-like text, for the glossary."""
        keys = {"simple": ("dataset", "agg", "expr", "filter", "time"), "ratio": ("numerator", "denominator"),
                "derived": ("expr",)}[self.type]
        parts = [] if self.type == "simple" else [f"type: {self.type}"]
        parts += [f"{k}: {getattr(self, k)}" for k in keys if getattr(self, k) is not None]
        return "\n".join(parts)


@dataclass(frozen=True)
class MetricCatalog:
    datasets: dict[str, Dataset] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    digest: str = ""  # of the file's text; "" when there is no metrics.yml
    path: str = METRICS_FILE

    def __bool__(self) -> bool:
        return bool(self.metrics)

    def leaves(self, names: tuple[str, ...] | list[str]) -> list[Metric]:
        """The simple metrics that `names` are computed from, each once, in a stable order."""
        out: dict[str, Metric] = {}

        def visit(name: str) -> None:
            metric = self.metrics[name]
            if metric.type == "simple":
                out.setdefault(name, metric)
            for part in metric.uses:
                visit(part)
        for name in names:
            visit(name)
        return list(out.values())

    def time_of(self, metric: Metric) -> str | None:
        return metric.time or self.datasets[metric.dataset].time


def metric_refs(expr: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each bare word of a derived metric's expression that is neither a function
    call, an SQL word nor inside a string: the names of the metrics it uses."""
    refs = []
    for match in _WORD.finditer(expr):
        word = match.group(0)
        if word[0] in "'\"" or word.lower() in SQL_WORDS or expr[match.end():].lstrip().startswith("("):
            continue
        refs.append((match.start(), match.end(), word))
    return refs


def read_metrics(project: Path, tables: frozenset[str]) -> tuple[MetricCatalog, list[Problem]]:
    """The catalog of `sources/metrics.yml` (empty when there is none) and its problems."""
    path = project / METRICS_FILE
    if not path.is_file():
        return MetricCatalog(), []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return MetricCatalog(), [undecodable(METRICS_FILE, exc)]
    except OSError as exc:
        return MetricCatalog(), [Problem(METRICS_FILE, None, f"cannot read this file: {exc}")]
    return parse_metrics(text, tables)


def parse_metrics(text: str, tables: frozenset[str] | set[str]) -> tuple[MetricCatalog, list[Problem]]:
    """Validate the text of metrics.yml against the project's tables. Pure."""
    problems: list[Problem] = []

    def problem(line: int | None, message: str) -> None:
        problems.append(Problem(METRICS_FILE, line, message))

    try:
        data = load_located(text)
    except YamlSyntaxError as exc:
        return MetricCatalog(), [Problem(METRICS_FILE, exc.line, exc.message)]
    if data is None:
        return MetricCatalog(digest=_digest(text)), []
    if not isinstance(data, LocatedMap):
        return MetricCatalog(), [Problem(METRICS_FILE, 1, "expected `datasets:` and `metrics:` sections")]
    for key in data:
        if key not in ("datasets", "metrics"):
            problem(data.line_of(key), f"unknown section '{key}': expected datasets or metrics")
    datasets = _datasets(data.get("datasets"), data.line_of("datasets"), tables, problem)
    declared = set(data["datasets"]) if isinstance(data.get("datasets"), dict) else set()
    metrics = _metrics(data.get("metrics"), data.line_of("metrics"), datasets, declared, problem)
    _check_cycles(metrics, problem)
    if problems:
        return MetricCatalog(), problems
    return MetricCatalog(datasets, _with_definitions(metrics, datasets), _digest(text)), []


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _text(value: Any, key: str, line: int, problem: Any, what: str = "a string") -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problem(line, f"{key}: expected {what}, got {value!r}")
        return None
    return str(value)


def _datasets(raw: Any, line: int, tables: frozenset[str] | set[str], problem: Any) -> dict[str, Dataset]:
    if raw is None:
        return {}
    if not isinstance(raw, LocatedMap):
        problem(line, "datasets: expected a mapping of dataset names to {table, time, dimensions}")
        return {}
    out = {}
    for name, spec in raw.items():
        where = raw.line_of(name)
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            problem(where, f"dataset name {name!r} is not an identifier (letters, digits and _)")
            continue
        if not isinstance(spec, LocatedMap):
            problem(where, f"dataset '{name}': expected a mapping with table, time and dimensions")
            continue
        for key in spec:
            if key not in _DATASET_KEYS:
                problem(spec.line_of(key), f"dataset '{name}': unknown key '{key}' (expected: "
                                           f"{', '.join(sorted(_DATASET_KEYS))})")
        table = _text(spec.get("table"), f"dataset '{name}': table", spec.line_of("table"), problem)
        if table is None:
            if "table" not in spec:
                problem(where, f"dataset '{name}': expected `table:` (a source table or model)")
            continue
        if table.lower() not in {t.lower() for t in tables}:
            problem(spec.line_of("table"), f"dataset '{name}': table '{table}' is neither a source table nor a "
                                           f"model (tables: {', '.join(sorted(tables)) or 'none'})")
            continue
        dims = spec.get("dimensions")
        dimensions = None
        if dims is not None:
            if isinstance(dims, str):
                dims = LocatedList([(dims, spec.line_of("dimensions"))], spec.line_of("dimensions"))
            if not isinstance(dims, LocatedList) or not all(isinstance(d, str) for d in dims):
                problem(spec.line_of("dimensions"), f"dataset '{name}': dimensions: expected a list of column "
                                                    f"names, e.g. [segment, channel], got {dims!r}")
                continue
            dimensions = tuple(dims)
        time = _text(spec.get("time"), f"dataset '{name}': time", spec.line_of("time"), problem, "a column name")
        description = _text(spec.get("description"), f"dataset '{name}': description", spec.line_of("description"),
                            problem) or ""
        out[name] = Dataset(name, table, time, dimensions, description, where, dict(spec.lines))
    return out


def _metrics(raw: Any, line: int, datasets: dict[str, Dataset], declared: set[str], problem: Any
             ) -> dict[str, Metric]:
    """The metrics; one naming a dataset that is declared but has its own error is left out silently."""
    if raw is None:
        problem(line if line > 1 else 1, "expected a `metrics:` section naming at least one metric")
        return {}
    if not isinstance(raw, LocatedMap):
        problem(line, "metrics: expected a mapping of metric names to their definitions")
        return {}
    names = set(raw)
    out = {}
    for name, spec in raw.items():
        where = raw.line_of(name)
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            problem(where, f"metric name {name!r} is not an identifier (letters, digits and _)")
            continue
        if not isinstance(spec, LocatedMap):
            problem(where, f"metric '{name}': expected a mapping such as {{dataset: ..., agg: sum, expr: ...}}")
            continue
        metric = _metric(name, spec, where, names, datasets, declared, problem)
        if metric is not None:
            out[name] = metric
    return out


def _metric(name: str, spec: LocatedMap, where: int, names: set[str], datasets: dict[str, Dataset],
            declared: set[str], problem: Any) -> Metric | None:
    failed: list[str] = []

    def fail(key: str, message: str) -> None:
        failed.append(message)
        problem(spec.line_of(key) if key else where, f"metric '{name}': {message}")

    kind = spec.get("type", "simple")
    if kind not in TYPES:
        fail("type", f"type: expected one of {', '.join(TYPES)}, got {kind!r}")
        return None
    for key in spec:
        if key not in _KEYS[kind]:
            fail(key, f"unknown key '{key}' for a {kind} metric (expected: {', '.join(sorted(_KEYS[kind]))})")

    def text(key: str, what: str = "a string") -> str | None:
        value = spec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            fail(key, f"{key}: expected {what}, got {value!r}")
            return None
        return str(value)

    label = text("label") or column_label(name)
    description = text("description") or ""
    fmt = text("format", "a format name such as usd0 or pct1")
    owner = text("owner") or ""
    down = spec.get("down_is_good", False)
    if not isinstance(down, bool):
        fail("down_is_good", f"down_is_good: expected true or false, got {down!r}")
    common = dict(name=name, type=kind, label=label, description=description, format=fmt,
                  down_is_good=down is True, owner=owner, line=where, lines=dict(spec.lines))
    if kind == "simple":
        dataset = text("dataset", "a dataset name")
        agg = text("agg", f"one of {', '.join(AGGREGATES)}")
        expr, filt, time = text("expr", "an SQL expression"), text("filter", "an SQL condition"), \
            text("time", "a column name")
        if dataset is None:
            fail("", f"expected `dataset:` (one of: {', '.join(sorted(datasets)) or 'none defined'})")
        elif dataset in declared and dataset not in datasets:
            failed.append("its dataset has an error")
        elif dataset not in datasets:
            fail("dataset", f"unknown dataset '{dataset}' (datasets: {', '.join(sorted(datasets)) or 'none'})")
        if agg is None:
            fail("", f"expected `agg:` (one of {', '.join(AGGREGATES)})")
        elif agg not in AGGREGATES:
            fail("agg", f"agg: expected one of {', '.join(AGGREGATES)}, got '{agg}'")
        elif agg != "count" and expr is None:
            fail("", f"agg {agg} needs `expr:` (the column or SQL expression to aggregate)")
        if failed:
            return None
        return Metric(**common, dataset=dataset, agg=agg, expr=expr, filter=filt, time=time)
    if kind == "ratio":
        parts = []
        for key in ("numerator", "denominator"):
            part = text(key, "a metric name")
            if part is None:
                fail("", f"a ratio needs `{key}:` (a metric name)")
            elif part not in names:
                fail(key, f"{key}: unknown metric '{part}' (metrics: {', '.join(sorted(names))})")
            parts.append(part)
        if failed:
            return None
        return Metric(**common, numerator=parts[0], denominator=parts[1], uses=tuple(dict.fromkeys(parts)))
    expr = text("expr", "an expression over other metrics, e.g. \"spend / new_customers\"")
    if expr is None:
        fail("", "a derived metric needs `expr:` (an expression over other metrics, e.g. \"spend / new_customers\")")
        return None
    uses = []
    for _, _, word in metric_refs(expr):
        if word not in names:
            fail("expr", f"expr: '{word}' is not a metric (metrics: {', '.join(sorted(names))})")
        elif word not in uses:
            uses.append(word)
    if not uses and not failed:
        fail("expr", "expr: expected an expression over other metrics, e.g. \"spend / new_customers\"")
    if failed:
        return None
    return Metric(**common, expr=expr, uses=tuple(uses))


def _check_cycles(metrics: dict[str, Metric], problem: Any) -> None:
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2 or name not in metrics:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            key = frozenset(cycle)
            if key not in reported:
                reported.add(key)
                first = metrics[cycle[0]]
                problem(first.line, f"metrics are computed from each other in a cycle: {' -> '.join(cycle)}; "
                                    "one of them must not use the others")
            return
        state[name] = 1
        for part in metrics[name].uses:
            visit(part, trail + [name])
        state[name] = 2

    for name in metrics:
        visit(name, [])


def _with_definitions(metrics: dict[str, Metric], datasets: dict[str, Dataset]) -> dict[str, Metric]:
    """Each metric with its definition hash: what it computes, including its parts' definitions."""
    done: dict[str, Metric] = {}

    def define(name: str) -> Metric:
        if name in done:
            return done[name]
        metric = metrics[name]
        core: dict[str, Any] = {k: getattr(metric, k) for k in ("type", "agg", "expr", "filter", "numerator",
                                                                 "denominator")}
        if metric.dataset:
            dataset = datasets[metric.dataset]
            core.update(table=dataset.table.lower(), time=metric.time or dataset.time)
        core["parts"] = {part: define(part).definition for part in metric.uses}
        digest = hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:16]
        done[name] = Metric(**{**metric.__dict__, "definition": digest})
        return done[name]

    return {name: define(name) for name in metrics}


def check_columns(catalog: MetricCatalog, cursor: duckdb.DuckDBPyConnection) -> list[Problem]:
    """Ask DuckDB whether every column and expression of the catalog exists in its dataset's table
    (`select ... limit 0`: nothing is read). Each mistake at the line of the key that holds it."""
    problems: list[Problem] = []

    def probe(sql: str, line: int, what: str) -> bool:
        try:
            cursor.execute(f"select * from ({sql}) limit 0")
        except duckdb.Error as exc:
            problems.append(Problem(METRICS_FILE, line, f"{what}: {duckdb_message(exc)}"))
            return False
        return True

    for dataset in catalog.datasets.values():
        table = quote_table(dataset.table)
        for column in ([dataset.time] if dataset.time else []) + list(dataset.dimensions or ()):
            key = "time" if column == dataset.time else "dimensions"
            probe(f"select {column} from {table}", dataset.lines.get(key, dataset.line),
                  f"dataset '{dataset.name}': {key}: column '{column}' of table '{dataset.table}'")
    for metric in catalog.metrics.values():
        if metric.type != "simple":
            continue
        table = quote_table(catalog.datasets[metric.dataset].table)
        if metric.expr is not None:
            probe(f"select {metric.expr} from {table}", metric.line_of("expr"), f"metric '{metric.name}': expr")
        if metric.filter is not None:
            probe(f"select 1 from {table} where {metric.filter}", metric.line_of("filter"),
                  f"metric '{metric.name}': filter")
        if metric.time is not None:
            probe(f"select {metric.time} from {table}", metric.line_of("time"), f"metric '{metric.name}': time")
    return problems
