"""A templated report's queries, run once for all of its pages instead of once per page.

Each `$param` of a query becomes a column of a table of the pages' parameter values (bound as lists,
never pasted into SQL), and the query runs as a LATERAL join against it: SQL's own meaning of "this
query, for each page". The rows come back ordered by page, then by the query's own ORDER BY, and are
split into one result per page. A query that batching cannot express the same way runs one page at a
time, with the reason given (`gtmsite build --debug` prints it):

- it reads another query of the page, another query or a check reads it (they need it per page);
- it is not one SELECT (several statements, UNION at the top), or DuckDB cannot parse it;
- its ORDER BY sorts on something that is not one of its output columns (the order could not be
  kept across the join);
- its first page's result has other column types when run alone (a `$param` in the output).

Rows that tie on every ORDER BY key (and the rows of a query without ORDER BY) have no order in SQL;
batched, they may come in another order than the same query run alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from .queries import QueryResult
from .reports import Query, Report
from .sqltext import (
    explicit_refs,
    fetchable_select,
    parameter_names,
    quote_ident,
    referenced_names,
    substitute_parameters,
)

PAGE = "__gtm_page"
_PAGES_ALIAS = "__gtm_p"
_QUERY_ALIAS = "__gtm_q"


@dataclass(frozen=True)
class BatchPlan:
    """Which of a report's queries run once for all pages, and why the others run one page at a time."""

    batched: tuple[Query, ...]
    single: tuple[Query, ...]
    reasons: tuple[tuple[str, str], ...]  # (query name, why it runs once per page)


@dataclass(frozen=True)
class BatchedQuery:
    """A batched query's SQL and what it needs bound: the pages' values of the parameters it uses."""

    query: Query
    sql: str  # columns: the page index, the parameter columns, then the query's own
    params: tuple[str, ...]


def plan_batch(report: Report, con: duckdb.DuckDBPyConnection) -> BatchPlan:
    """Sort a templated report's queries into batched and one-page-at-a-time."""
    names = {q.name for q in report.queries}
    reads = {q.name: referenced_names(q.sql, names) - {q.name} for q in report.queries}
    read_by_others = {dep for deps in reads.values() for dep in deps}
    checked = {c.target for c in report.checks}
    batched: list[Query] = []
    single: list[Query] = []
    reasons: list[tuple[str, str]] = []
    for query in report.queries:
        reason = _why_single(query, reads[query.name], query.name in read_by_others, query.name in checked, con)
        if reason:
            single.append(query)
            reasons.append((query.name, reason))
        else:
            batched.append(query)
    return BatchPlan(tuple(batched), tuple(single), tuple(reasons))


def _why_single(query: Query, reads: set[str], read: bool, checked: bool, con: duckdb.DuckDBPyConnection) -> str:
    if reads or explicit_refs(query.sql):
        return "it reads another query of the page"
    if read:
        return "another query of the page reads it"
    if checked:
        return "a check reads it"
    tree = _parse(query.sql, con)
    if tree is None:
        return "it is not a single SELECT that DuckDB can parse"
    if _order_positions(tree) is None:
        return "its ORDER BY sorts on something that is not one of its output columns"
    return ""


def _parse(sql: str, con: duckdb.DuckDBPyConnection) -> dict | None:
    try:
        text = con.execute("select json_serialize_sql($sql)", {"sql": sql.strip().rstrip(";")}).fetchone()[0]
        tree = json.loads(text)
    except (duckdb.Error, ValueError, TypeError):
        return None
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    node = tree["statements"][0].get("node", {})
    return node if node.get("type") == "SELECT_NODE" else None


def _plain(expression: Any) -> Any:
    """An expression tree without where it stands in the text or what it is called."""
    if isinstance(expression, dict):
        return {k: _plain(v) for k, v in expression.items() if k not in ("query_location", "query_location_length",
                                                                          "alias")}
    if isinstance(expression, list):
        return [_plain(v) for v in expression]
    return expression


def _order_positions(node: dict) -> list[tuple[int, str]] | None:
    """The query's ORDER BY as (1-based output column, direction and nulls), or None when a key is not an
    output column. A query without ORDER BY gives []."""
    select = node.get("select_list", [])
    orders = [o for m in node.get("modifiers", []) if m.get("type") == "ORDER_MODIFIER" for o in m.get("orders", [])]
    star = any(e.get("class") == "STAR" for e in select)
    positions = []
    for order in orders:
        expression = order.get("expression", {})
        position = _output_position(expression, select, star)
        if position is None:
            return None
        direction = {"ASCENDING": " asc", "DESCENDING": " desc"}.get(order.get("type"), "")
        nulls = {"NULLS FIRST": " nulls first", "NULLS LAST": " nulls last",
                 "NULLS_FIRST": " nulls first", "NULLS_LAST": " nulls last"}.get(order.get("null_order"), "")
        positions.append((position, direction + nulls))
    return positions


def _output_position(expression: dict, select: list[dict], star: bool) -> int | None:
    if expression.get("class") == "CONSTANT" and expression.get("literal", {}).get("kind") in (
            "INTEGER", "BIGINT", "SMALLINT", "TINYINT"):
        value = int(expression["literal"]["text"])
        return value if not star and 1 <= value <= len(select) else None
    if star:
        return None
    if expression.get("class") == "COLUMN_REF" and len(expression.get("column_names", [])) == 1:
        name = expression["column_names"][0].lower()
        aliased = [i for i, e in enumerate(select) if (e.get("alias") or "").lower() == name]
        if len(aliased) == 1:
            return aliased[0] + 1
        if aliased:
            return None
    plain = _plain(expression)
    same = [i for i, e in enumerate(select) if _plain(e) == plain]
    return same[0] + 1 if len(same) == 1 else None


def batched_sql(query: Query, params: Sequence[str], order: list[tuple[int, str]]) -> BatchedQuery:
    """The query once for all pages: a LATERAL join against the pages' parameter values."""
    columns = {p: f"{_PAGES_ALIAS}.{quote_ident(p)}" for p in params}
    inner = substitute_parameters(query.sql.strip().rstrip(";"), columns)
    unnest = ", ".join([f"unnest(${_bind(p)}) as {quote_ident(p)}" for p in params] + [f"unnest($pages) as {PAGE}"])
    picked = ", ".join(f"{_PAGES_ALIAS}.{quote_ident(p)}" for p in params)
    keys = "".join(f", {position + 1 + len(params)}{how}" for position, how in order)
    sql = (f"select {_PAGES_ALIAS}.{PAGE}{', ' + picked if picked else ''}, {_QUERY_ALIAS}.*\n"
           f"from (select {unnest}) {_PAGES_ALIAS},\nlateral (\n{inner}\n) {_QUERY_ALIAS}\norder by 1{keys}")
    return BatchedQuery(query, sql, tuple(params))


def _bind(param: str) -> str:
    return "p_" + param


def run_batched(con: duckdb.DuckDBPyConnection, query: Query, pages: Sequence[dict[str, Any]],
                table: str | None = None) -> list[QueryResult] | None:
    """One result per page (in the order of `pages`), or None when the query cannot run batched (then it
    runs one page at a time, which reports any error at its line). With `table`, the batched rows stay
    in that temp table (page index, parameters, the query's columns) for a snapshot."""
    params = sorted(parameter_names(query.sql))
    if not params or any(p not in pages[0] for p in params):
        return None  # the same on every page (run it once), or an unknown parameter (the one-page path says so)
    tree = _parse(query.sql, con)
    order = _order_positions(tree) if tree is not None else None
    alone = _alone(con, query, pages[0], params) if order is not None else None
    if order is None or alone is None:
        return None
    names, raw_types = alone
    batch = batched_sql(query, params, order)
    bound: dict[str, Any] = {_bind(p): [page.get(p) for page in pages] for p in params}
    bound["pages"] = list(range(len(pages)))
    name = quote_ident(table or "__gtm_batch")
    skip = 1 + len(params)
    try:
        con.execute(f"create or replace temp table {name} as {batch.sql}", bound)
        relation = con.execute(f"select * from {name}")
        if tuple(str(d[1]) for d in (relation.description or [])[skip:]) != raw_types:
            return None  # e.g. a `$param` in the output: typed by one value alone, by the whole list batched
        utc = fetchable_select(relation.description or [], name)
        if utc:
            relation = con.execute(utc)
        rows = relation.fetchall()
        types = tuple(str(d[1]) for d in (relation.description or [])[skip:])
    except duckdb.Error:
        return None
    finally:
        if table is None:
            con.execute(f"drop table if exists temp.{name}")
    per_page: list[list[tuple]] = [[] for _ in pages]
    for row in rows:
        per_page[row[0]].append(row[skip:])
    return [QueryResult(query.name, names, types, tuple(r), query.sql, query.line) for r in per_page]


def _alone(con: duckdb.DuckDBPyConnection, query: Query, page: dict[str, Any],
           params: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The column names and types of the query run alone for one page, as the one-page path runs it."""
    try:
        relation = con.execute(query.sql.strip().rstrip(";"), {p: page.get(p) for p in params})
    except duckdb.Error:
        return None
    description = relation.description or []
    return tuple(d[0] for d in description), tuple(str(d[1]) for d in description)
