"""A templated report's results for all of its pages, in a shape that stores and loads fast.

Stored as they are, 10,000 pages' results are 30,000 `QueryResult`s holding half a million `date` and
`datetime` objects, and pickle spends about 2 µs on each of those: a second to store the cache entry of
a build where one row changed. Packed, each query's rows of all pages are one set of columns, dates as
day numbers and naive timestamps as ISO text (exact, and turned back into the same types), with
the number of rows each page has:

    [(page results, page checks), ...]  <->  ("packed", 2, checks, [(query name, kind, payload), ...])
    [one query's result on each page]     <->  ("packed query", 1, pages, kind, payload)

A query whose results differ in shape from page to page (another column list, a failed page) is kept
as its `QueryResult`s; an entry that is not packed (an older gtmsite's) is used as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .queries import QueryResult, collector_paused

PageEntry = tuple[dict[str, QueryResult], list]  # (results by query name, [(passed, detail)] of its checks)

_TAG = ("packed", 2)  # a cache entry of another layout is a miss
_QUERY_TAG = ("packed query", 1)
_PLAIN, _DAYS, _ISO = 0, 1, 2


def packed(pages: list[PageEntry]) -> Any:
    """What the cache stores for these pages (the pages themselves if they cannot be packed)."""
    if not pages:
        return pages
    names = list(pages[0][0])
    if any(list(results) != names for results, _ in pages):
        return pages
    queries = [(name, *_packed_query([results[name] for results, _ in pages])) for name in names]
    return (*_TAG, [checks for _, checks in pages], queries)


def unpacked(value: Any) -> list[PageEntry] | None:
    """The pages a cache entry holds, or None if it is not such an entry."""
    if isinstance(value, list):
        return value
    if not (isinstance(value, tuple) and value[:2] == _TAG):
        return None
    _, _, checks, queries = value
    with collector_paused():
        per_query = {name: _unpacked_query(kind, payload, len(checks)) for name, kind, payload in queries}
    return [({name: results[i] for name, results in per_query.items()}, page_checks)
            for i, page_checks in enumerate(checks)]


def packed_query(results: list[QueryResult]) -> Any:
    """One query's results for all the pages (one per page), as the cache stores them."""
    return (*_QUERY_TAG, len(results), *_packed_query(results))


def unpacked_query(value: Any) -> list[QueryResult] | None:
    """The results a `packed_query` entry holds, or None if it is not such an entry."""
    if not (isinstance(value, tuple) and value[:2] == _QUERY_TAG):
        return None
    _, _, pages, kind, payload = value
    with collector_paused():
        return _unpacked_query(kind, payload, pages)


def _packed_query(results: list[QueryResult]) -> tuple[str, Any]:
    first = results[0]
    if all(r is first for r in results):
        return "same", first
    shape = (first.name, first.columns, first.types, first.sql, first.line, first.failed)
    if any((r.name, r.columns, r.types, r.sql, r.line, r.failed) != shape for r in results) or not first.columns:
        return "each", results
    columns = [[row[i] for r in results for row in r.rows] for i in range(len(first.columns))]
    kinds = [_kind(column) for column in columns]
    for i, kind in enumerate(kinds):
        if kind == _DAYS:
            columns[i] = [None if v is None else v.toordinal() for v in columns[i]]
        elif kind == _ISO:
            columns[i] = [None if v is None else v.isoformat() for v in columns[i]]
    digests = [r.digest for r in results]  # kept with the rows: the next build keys its pages without hashing
    return "rows", (shape, [len(r.rows) for r in results], kinds, columns, digests)


def _kind(column: list) -> int:
    """How a column's values are stored: only a column of nothing but plain dates (or of naive
    timestamps) and nulls is turned into numbers."""
    values = [v for v in column if v is not None]
    if values and all(type(v) is date for v in values):
        return _DAYS
    if values and all(type(v) is datetime and v.tzinfo is None and not v.fold for v in values):
        return _ISO
    return _PLAIN


def _unpacked_query(kind: str, payload: Any, pages: int) -> list[QueryResult]:
    if kind == "same":
        return [payload] * pages
    if kind == "each":
        return payload
    (name, columns, types, sql, line, failed), lengths, kinds, values, digests = payload
    values = list(values)
    for i, stored in enumerate(kinds):
        if stored == _DAYS:
            values[i] = [None if v is None else date.fromordinal(v) for v in values[i]]
        elif stored == _ISO:
            values[i] = [None if v is None else datetime.fromisoformat(v) for v in values[i]]
    rows = list(zip(*values))
    results, start = [], 0
    for length, digest in zip(lengths, digests):
        result = QueryResult(name, columns, types, tuple(rows[start:start + length]), sql, line, failed)
        if digest is not None:
            result.__dict__["digest"] = digest  # the cached_property, as it was stored
        results.append(result)
        start += length
    return results
