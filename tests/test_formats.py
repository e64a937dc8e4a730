"""Value formats, column-suffix formats and column labels."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from gtmsite.formats import NULL, column_format, column_label, format_value, is_numeric_type

WHEN = dt.datetime(2026, 11, 22, 13, 5)


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (1234.5, "usd", "$1,234.50"),
    (-1234.5, "usd", "-$1,234.50"),
    (1234.5, "usd0", "$1,234"),
    (-0.2, "usd0", "$0"),
    (1200, "usdk", "$1.2k"),
    (250_000, "usdk", "$250k"),
    (3_400_000, "usdm", "$3.4M"),
    (-3_400_000, "usdm", "-$3.4M"),
    (99.5, "eur", "\u20ac99.50"),
    (0.123, "pct", "12%"),
    (0.1234, "pct1", "12.3%"),
    (1234567.891, "num0", "1,234,568"),
    (1234.56, "num1", "1,234.6"),
    (1234.567, "num2", "1,234.57"),
    (999, "numk", "999"),
    (1500, "numk", "1.5k"),
    (2_500_000, "numk", "2.5M"),
    (WHEN, "date", "2026-11-22"),
    (WHEN, "month", "Nov 2026"),
    (WHEN, "datetime", "2026-11-22 13:05"),
    ("2026-11-22", "date", "2026-11-22"),
    (dt.date(2026, 11, 22), "month", "Nov 2026"),
    (1234.5678, ",.3f", "1,234.568"),
    (decimal.Decimal("12.5"), "usd", "$12.50"),
])
def test_named_formats(value, fmt, expected):
    assert format_value(value, fmt) == expected


@pytest.mark.parametrize("fmt", [None, "usd", "pct1", "date", ",.2f"])
def test_null_is_an_en_dash(fmt):
    assert format_value(None, fmt) == NULL == "\u2013"
    assert format_value(float("nan"), fmt) == NULL


@pytest.mark.parametrize(("value", "expected"), [
    (12, "12"), (12345, "12,345"), (1.5, "1.50"), (2.0, "2"), (0.01234, "0.01234"), (True, "true"),
    (dt.date(2026, 1, 2), "2026-01-02"), (dt.datetime(2026, 1, 2), "2026-01-02"),
    (dt.datetime(2026, 1, 2, 3, 4), "2026-01-02 03:04"), ("text", "text"),
])
def test_default_format(value, expected):
    assert format_value(value) == expected


def test_a_format_that_does_not_fit_the_value_shows_the_value():
    assert format_value("n/a", "usd") == "n/a"
    assert format_value("n/a", ",.2f") == "n/a"


@pytest.mark.parametrize(("column", "fmt", "label"), [
    ("arr_usd", "usd", "ARR"),
    ("new_arr_usd", "usd", "New ARR"),
    ("win_rate_pct1", "pct1", "Win Rate"),
    ("amount_usd0", "usd0", "Amount"),
    ("pipeline_usdm", "usdm", "Pipeline"),
    ("amount", None, "Amount"),
    ("cac_payback", None, "CAC Payback"),
    ("Already Nice", None, "Already Nice"),
    ("usd", None, "USD"),
])
def test_column_suffix_format_and_label(column, fmt, label):
    assert column_format(column) == fmt
    assert column_label(column) == label


def test_explicit_format_wins_over_the_suffix():
    assert column_format("arr_usd", "num0") == "num0"


def test_numeric_types():
    assert all(is_numeric_type(t) for t in ("INTEGER", "BIGINT", "DOUBLE", "DECIMAL(18,3)", "hugeint"))
    assert not any(is_numeric_type(t) for t in ("VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"))
