"""`gtmsite metrics export --format ossie`: the metrics as an Apache Ossie semantic model (formerly Open
Semantic Interchange, OSI; core spec 0.2.0.dev0), so the definitions can travel to other tools.

Each dataset becomes an Ossie dataset whose fields are its time column and dimensions; each metric an
ANSI SQL aggregate over qualified columns (a filter becomes CASE WHEN, a ratio or derived metric the
expression of its parts). What Ossie has no place for (label, format, down_is_good, owner, time
column) goes into a `custom_extensions` entry of vendor GTMSITE, as the spec asks.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .metrics import Metric, MetricCatalog, metric_refs

OSSIE_VERSION = "0.2.0.dev0"
VENDOR = "GTMSITE"


def ossie_document(catalog: MetricCatalog, name: str, description: str = "") -> dict[str, Any]:
    model: dict[str, Any] = {"name": name}
    if description:
        model["description"] = description
    model["datasets"] = [_dataset(d, _time_columns(catalog, d.name)) for d in catalog.datasets.values()]
    model["metrics"] = [_metric(catalog, m) for m in catalog.metrics.values()]
    return {"version": OSSIE_VERSION, "semantic_model": [model], "dialects": ["ANSI_SQL"], "vendors": [VENDOR]}


def ossie_yaml(catalog: MetricCatalog, name: str, description: str = "") -> str:
    return yaml.safe_dump(ossie_document(catalog, name, description), sort_keys=False, allow_unicode=True, width=100)


def _sql(expression: str) -> dict[str, Any]:
    return {"dialects": [{"dialect": "ANSI_SQL", "expression": expression}]}


def _time_columns(catalog: MetricCatalog, dataset: str) -> list[str]:
    """The dataset's time column and the other time columns its metrics use (a close date), each once."""
    columns = [catalog.datasets[dataset].time] + [m.time for m in catalog.metrics.values() if m.dataset == dataset]
    return list(dict.fromkeys(c for c in columns if c))


def _dataset(dataset: Any, times: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": dataset.name, "source": dataset.table}
    if dataset.description:
        out["description"] = dataset.description
    fields = []
    for column in times + [d for d in dataset.dimensions or () if d not in times]:
        fields.append({"name": column, "expression": _sql(column), "dimension": {"is_time": column in times}})
    if fields:
        out["fields"] = fields
    return out


def _metric(catalog: MetricCatalog, metric: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {"name": metric.name, "expression": _sql(_expression(catalog, metric.name))}
    if metric.description:
        out["description"] = metric.description
    extra = {"label": metric.label, "type": metric.type, "dataset": metric.dataset, "format": metric.format,
             "down_is_good": metric.down_is_good,
             "owner": metric.owner or None, "time": catalog.time_of(metric) if metric.type == "simple" else None}
    out["custom_extensions"] = [{"vendor_name": VENDOR,
                                 "data": json.dumps({k: v for k, v in extra.items() if v not in (None, "")})}]
    return out


def _expression(catalog: MetricCatalog, name: str) -> str:
    metric = catalog.metrics[name]
    if metric.type == "ratio":
        return (f"CAST({_expression(catalog, metric.numerator)} AS DOUBLE PRECISION) / "
                f"NULLIF({_expression(catalog, metric.denominator)}, 0)")
    if metric.type == "derived":
        expr, out, last = metric.expr, [], 0
        for start, end, word in metric_refs(expr):
            out += [expr[last:start], f"CAST({_expression(catalog, word)} AS DOUBLE PRECISION)"]
            last = end
        return "".join(out) + expr[last:]
    value = _qualified(metric.expr, metric.dataset) if metric.expr else None
    if metric.filter:
        value = f"CASE WHEN {_qualified(metric.filter, metric.dataset)} THEN {value or 1} END"
    if metric.agg == "count":
        return f"COUNT({value or '*'})"
    if metric.agg == "count_distinct":
        return f"COUNT(DISTINCT {value})"
    return f"{metric.agg.upper()}({value})"


def _qualified(sql: str, dataset: str) -> str:
    """Column names qualified by their dataset (`amount` -> `opportunities.amount`), as Ossie's metrics,
    which may span datasets, write them."""
    out, last = [], 0
    for start, end, word in metric_refs(sql):
        if sql[:start].rstrip().endswith("."):
            continue
        out += [sql[last:start], f"{dataset}.{word}"]
        last = end
    return "".join(out) + sql[last:]
