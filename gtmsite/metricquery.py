"""`gtmsite metrics list` and `gtmsite metrics query NAME...`: the catalog and its numbers in the terminal."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .adhoc import text_table
from .config import Config, load_config
from .errors import BuildFailed, ConfigError, SiteError
from .formats import format_value
from .metrics import METRICS_FILE, MetricCatalog, check_columns, read_metrics
from .metricsql import MetricRequest, compile_request, validate_request
from .queries import duckdb_message
from .sources import Database, discover_sources
from .sqltext import fetchable_select


def load_catalog(config: Config) -> MetricCatalog:
    """The project's metrics, or the errors of metrics.yml (exit 1); no metrics.yml is a usage error."""
    catalog, problems = read_metrics(config.project, discover_sources(config).tables)
    if problems:
        raise BuildFailed(problems)
    if not catalog:
        raise ConfigError(f"{METRICS_FILE}: no metrics defined; write them there first (see the README, Metrics)")
    return catalog


def list_metrics(project: Path) -> str:
    """One line per metric: name, label, type, format and where it comes from."""
    catalog = load_catalog(load_config(project))
    rows = []
    for metric in catalog.metrics.values():
        if metric.type == "simple":
            source = f"{metric.dataset} ({catalog.datasets[metric.dataset].table})"
        elif metric.type == "ratio":
            source = f"{metric.numerator} / {metric.denominator}"
        else:
            source = metric.expr or ""
        rows.append((metric.name, metric.label, metric.type, metric.format or "-", source, metric.owner or "-"))
    return text_table(["name", "label", "type", "format", "dataset", "owner"], rows, 0)


def export_metrics(project: Path, fmt: str) -> str:
    """The metrics in an interchange format (only `ossie`, Apache Ossie YAML, for now)."""
    if fmt != "ossie":
        raise ConfigError(f"--format: expected ossie, got '{fmt}'")
    from .metricexport import ossie_yaml

    config = load_config(project)
    return ossie_yaml(load_catalog(config), config.title, config.description).rstrip("\n")


def query_metrics(project: Path, names: list[str], by: list[str], grain: str | None, where: str | None,
                  limit: int = 50, show_sql: bool = False) -> str:
    """The metrics, grouped as asked, computed from the project's data (or just the SQL with `show_sql`)."""
    config = load_config(project)
    catalog = load_catalog(config)
    request = MetricRequest(tuple(names), tuple(by), grain, where)
    try:
        validate_request(request, catalog)
    except SiteError as exc:
        raise ConfigError(exc.message) from None
    sql = compile_request(request, catalog)
    if show_sql:
        return sql
    database = Database(config, discover_sources(config))
    try:
        cursor = database.connection.cursor()
        problems = check_columns(catalog, cursor)
        if problems:
            raise BuildFailed(problems)
        try:
            relation = cursor.execute(sql)
            utc = fetchable_select(relation.description or [], f"({sql}\n)")
            if utc:
                relation = cursor.execute(utc)
            columns = [d[0] for d in relation.description or []]
            rows = relation.fetchall()
        except duckdb.Error as exc:
            raise SiteError(f"metrics query: {duckdb_message(exc)}") from None
    finally:
        database.close()
    return text_table(columns, [_formatted(catalog, columns, row) for row in rows], limit)


def _formatted(catalog: MetricCatalog, columns: list[str], row: tuple) -> tuple:
    """Metric values in their own format (a win rate as 41.2%), other columns as they are."""
    return tuple(format_value(v, catalog.metrics[c].format) if c in catalog.metrics and catalog.metrics[c].format
                 else v for c, v in zip(columns, row))
