"""What a result column is called and how it is shown: a metric's label, format, description and
direction when the column is a metric (see metricfences.MetricResult), else what its name says."""

from __future__ import annotations

from typing import Any

from .formats import column_format, column_label


def metric_of(result: Any, column: str) -> Any | None:
    """The metric a result column stands for, if any."""
    return (getattr(result, "metrics", None) or {}).get(column)


def format_of(result: Any, column: str, explicit: str | None = None) -> str | None:
    """The call's format, else the metric's, else the one the column's name ends in."""
    metric = metric_of(result, column)
    return explicit or (metric.format if metric is not None else None) or column_format(column)


def label_of(result: Any, column: str) -> str:
    metric = metric_of(result, column)
    return metric.label if metric is not None else column_label(column)


def description_of(result: Any, column: str) -> str:
    metric = metric_of(result, column)
    return metric.description if metric is not None else ""


def down_is_good_of(result: Any, column: str, explicit: bool | None) -> bool:
    """The call's `down_is_good`, else the metric's (CAC: a fall is good news)."""
    if explicit is not None:
        return bool(explicit)
    metric = metric_of(result, column)
    return bool(metric.down_is_good) if metric is not None else False


def metric_key(result: Any, columns: list[str] | tuple[str, ...]) -> tuple:
    """What the metrics change about a chart of these columns (part of a chart's cache key)."""
    return tuple((c, label_of(result, c), format_of(result, c)) for c in columns if metric_of(result, c) is not None)
