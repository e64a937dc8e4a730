"""A templated report's cache entry: packed as columns, it comes back as the very same results."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

from gtmsite.queries import QueryResult
from gtmsite.resultpack import packed, packed_query, unpacked, unpacked_query

COLUMNS = ("day", "at", "at_utc", "mixed", "amount", "name")
TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "VARCHAR", "DECIMAL(18,2)", "VARCHAR")


def _result(rows: list[tuple], name: str = "activity") -> QueryResult:
    return QueryResult(name, COLUMNS, TYPES, tuple(rows), "select ... where id = $id", 7)


def _pages() -> list[tuple[dict[str, QueryResult], list]]:
    everyone = QueryResult("total", ("n",), ("BIGINT",), ((3,),), "select 3 as n", 2)
    rows = [
        [(date(2026, 1, 31), datetime(2026, 1, 31, 23, 59, 59, 999999), datetime(2026, 1, 1, tzinfo=UTC),
          date(2026, 1, 1), Decimal("1.10"), "O'Brien \"quoted\""),
         (None, None, None, datetime(2026, 1, 1), None, None)],
        [],  # a page with no rows
        [(date(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59), datetime(2026, 3, 29, 1, 30, tzinfo=timezone(
            timedelta(hours=2))), time(12, 0), Decimal("-0.00"), "日本 ☃")],
    ]
    return [({"total": everyone, "activity": _result(r)}, [(True, "")]) for r in rows]


def _exactly(a: list, b: list) -> None:
    assert len(a) == len(b)
    for (results, checks), (other, other_checks) in zip(a, b):
        assert checks == other_checks and list(results) == list(other)
        for name, result in results.items():
            twin = other[name]
            assert (result.name, result.columns, result.types, result.sql, result.line, result.failed) == \
                (twin.name, twin.columns, twin.types, twin.sql, twin.line, twin.failed)
            assert result.rows == twin.rows
            for row, other_row in zip(result.rows, twin.rows):
                assert [type(v) for v in row] == [type(v) for v in other_row]
                assert [getattr(v, "tzinfo", None) for v in row] == [getattr(v, "tzinfo", None) for v in other_row]
            assert result.digest == twin.digest


def test_packed_results_come_back_the_same_values_types_and_digests():
    pages = _pages()
    pages[0][0]["activity"].digest  # noqa: B018 - a digest worked out before packing travels with it
    stored = pickle.loads(pickle.dumps(packed(pages), protocol=pickle.HIGHEST_PROTOCOL))
    back = unpacked(stored)
    _exactly(back, _pages())
    assert back[0][0]["activity"].__dict__["digest"] == pages[0][0]["activity"].digest
    assert all(r["total"] is back[0][0]["total"] for r, _ in back), "a result shared by every page stays one"


def test_results_of_different_shapes_are_kept_as_they_are():
    pages = _pages()
    odd = QueryResult("activity", ("only",), ("BIGINT",), ((1,),), "select 1 as only", 7)
    pages[1] = ({"total": pages[1][0]["total"], "activity": odd}, [(True, "")])
    _exactly(unpacked(pickle.loads(pickle.dumps(packed(pages)))), pages)
    reordered = [*pages[:2], ({"activity": pages[2][0]["activity"], "total": pages[2][0]["total"]}, [])]
    assert packed(reordered) is reordered


def test_an_entry_of_another_layout_is_a_miss_and_an_old_list_is_used():
    assert unpacked(("packed", 1, [], [])) is None
    assert unpacked(None) is None
    pages = _pages()
    assert unpacked(pages) is pages


def test_a_querys_entry_carries_every_pages_digest():
    """The next build keys its pages from the digests stored with the rows, without hashing them again."""
    results = [_result(r) for r in ([], [(None, None, None, None, None, "x")])]
    back = unpacked_query(pickle.loads(pickle.dumps(packed_query(results))))
    assert [r.__dict__.get("digest") for r in back] == [r.digest for r in results]
