"""Value formats, column-suffix formats and column labels."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from gtmsite.errors import SiteError
from gtmsite.formats import (
    NULL,
    auto_format,
    column_format,
    column_label,
    compact_format,
    format_value,
    is_format,
    is_numeric_type,
)

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
    (12, "12"), (12345, "12,345"), (1.5, "1.5"), (2.0, "2"), (0.01234, "0.0123"), (True, "true"),
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


# -- Evidence parity: cases ported from Evidence's own format and title tests ------------------------------
# (evidence-dev/evidence: component-utilities' autoFormatting.spec.js and formatting.spec.js, and the
# format tags of builtInFormats.js). Where SPEC chose differently, the SPEC's choice is asserted above:
# `pct` has no decimals, null is an en dash, and a suffix title drops its unit.

@pytest.mark.parametrize(("value", "expected"), [
    (12345, "12,345"), (12345.1, "12,345.1"), (9000.0, "9,000"), (12345.678, "12,345.68"), (-1234.56, "-1,234.56"),
    ("mystring", "mystring"), ("", ""), (1234, "1,234"),
])
def test_fallback_format_like_evidence(value, expected):
    assert format_value(value) == expected


@pytest.mark.parametrize(("values", "cases"), [
    # median 91,000 with decimals: thousands, one decimal
    ([1234567.8, -1234.56, 91000.314521],
     [(3121.12, "3.1k"), (0.001, "0.0k"), (91000.314521, "91.0k"), (1234567.8, "1,234.6k"), (-1234.56, "-1.2k")]),
    # large integers: the same unit
    ([1234567, -1234, 91000], [(3121, "3.1k"), (0, "0.0k"), (91000, "91.0k"), (1234567, "1,234.6k"), (-1234, "-1.2k")]),
    # small integers: no unit, thousands separators
    ([1234, -1234, 91], [(312, "312"), (0, "0"), (91, "91"), (1234, "1,234"), (-1234, "-1,234")]),
    # millions
    ([12_500_000, 8_000_000, 30_000_000], [(12_500_000, "12.5M"), (8_000_000, "8.0M")]),
])
def test_auto_format_picks_units_from_the_column_median(values, cases):
    fmt = auto_format(values)
    for value, expected in cases:
        assert fmt(value) == expected


def test_auto_format_leaves_years_and_ids_plain_and_nulls_as_an_en_dash():
    assert auto_format([2024, 2025, 2026], "year")(2026) == "2026"
    assert auto_format([921594675], "customer_id")(921594675) == "921594675"
    assert auto_format([1, 2, 3])(None) == NULL


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (3.14159, "num2", "3.14"), (3, "num2", "3.00"), (3000.1, "num2", "3,000.10"),
    (7043.123, "usd0", "$7,043"), (7043.123, "usd1", "$7,043.1"), (7043.123, "usd2", "$7,043.12"),
    (64301.12, "usd0k", "$64k"), (64301.12, "usd1k", "$64.3k"), (64301.12, "usd2k", "$64.30k"),
    (4564301.12, "usd0m", "$5M"), (4564301.12, "usd1m", "$4.6M"), (4564301.12, "usd2m", "$4.56M"),
    (9784564301.12, "usd1b", "$9.8B"), (-64301.12, "usd1k", "-$64.3k"),
    (7043.123, "gbp2", "\u00a37,043.12"), (7043.123, "eur0", "\u20ac7,043"), (7043.123, "cad1", "C$7,043.1"),
    (11.23168, "num3", "11.232"), (11.23168, "num4", "11.2317"),
    (64201, "num0k", "64k"), (64201, "num1k", "64.2k"), (42539483, "num1m", "42.5M"), (1384937584, "num2b", "1.38B"),
    (0.731, "pct0", "73%"), (0.731, "pct2", "73.10%"), (0.731, "pct3", "73.100%"),
    (5.32, "mult", "5.3x"), (5.32, "mult0", "5x"), (5.32, "mult2", "5.32x"), (16546.1561, "sci", "1.65E+4"),
    ("921594675", "id", "921594675"),
    (dt.datetime(2022, 1, 9, 12, 45), "ddd", "Sun"), (dt.datetime(2022, 1, 9, 12, 45), "dddd", "Sunday"),
    (dt.datetime(2022, 1, 9, 12, 45), "mmm", "Jan"), (dt.datetime(2022, 1, 9, 12, 45), "mmmm", "January"),
    (dt.datetime(2022, 1, 9, 12, 45), "yyyy", "2022"), (dt.datetime(2022, 1, 9, 12, 45), "shortdate", "Jan 9/22"),
    (dt.datetime(2022, 1, 9, 12, 45), "longdate", "January 9, 2022"),
    (dt.datetime(2022, 1, 9, 12, 45), "fulldate", "Sunday January 9, 2022"),
    (dt.datetime(2022, 1, 9, 12, 45), "mdy", "1/9/22"), (dt.datetime(2022, 1, 9, 12, 45), "dmy", "9/1/22"),
    (dt.datetime(2022, 1, 9, 11, 45, 3), "hms", "11:45:03 AM"),
    # strings that hold numbers or dates take numeric and date formats
    ("1234.5", "usd", "$1,234.50"), ("0.25", "pct", "25%"), ("2022-01-09", "longdate", "January 9, 2022"),
    ("2026-11-22", "month", "Nov 2026"),
])
def test_evidence_format_tags(value, fmt, expected):
    assert format_value(value, fmt) == expected


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (12_000, "usdm", "$12k"), (-12_000, "usdm", "-$12k"), (-0.4, "usdm", "-$0.4"), (0, "usdm", "$0M"),
    (40, "usdk", "$40"), (float("inf"), "pct", NULL), (float("-inf"), "usd", NULL),
    (decimal.Decimal("Infinity"), "pct1", NULL), (-0.0001, "pct1", "0.0%"), (-0.4, "usd0", "$0"),
])
def test_no_zero_units_negative_zeros_or_infinities(value, fmt, expected):
    assert format_value(value, fmt) == expected


@pytest.mark.parametrize(("column", "label"), [
    ("sum(revenue)", "Sum of Revenue"), ("count(*)", "Count"), ("avg(deal_size_usd)", "Avg of Deal Size"),
    ("sales_ytd", "Sales YTD"), ("Revenue (USD)", "Revenue (USD)"), ("Revenue per Rep", "Revenue per Rep"),
    ("GROWTH_PCT1", "Growth"), ("country_gdp", "Country GDP"), ("customer_id", "Customer ID"),
    ("id", "ID"), ("first_name", "First Name"), ("share_of_spend", "Share of Spend"),
])
def test_titles_like_evidence(column, label):
    assert column_label(column) == label


@pytest.mark.parametrize(("column", "fmt"), [("GROWTH_PCT1", "pct1"), ("Sales_USD0K", "usd0k"), ("arr_Usd", "usd")])
def test_suffixes_match_in_any_case(column, fmt):
    assert column_format(column) == fmt


@pytest.mark.parametrize("fmt", ["usd3", "percent", "bogus", "$,.2"])
def test_an_unknown_format_is_an_error_naming_the_known_ones(fmt):
    with pytest.raises(SiteError) as info:
        format_value(1.5, fmt)
    assert f"unknown format {fmt!r}" in info.value.message
    assert "usd0" in info.value.message and "pct1" in info.value.message
    with pytest.raises(SiteError):
        format_value(None, fmt)  # also when the value is null: the mistake is in the report, not the data
    assert not is_format(fmt)


@pytest.mark.parametrize("fmt", [",.3f", ".1%", "%d %b %Y", "d", "usd0k", "USD0", "pct2"])
def test_python_format_specs_and_format_names_are_known(fmt):
    assert is_format(fmt)


@pytest.mark.parametrize(("value", "expected"), [
    (4_184_000, "4.18M"), (22_160_000, "22.2M"), (12_500, "12.5k"), (950, "950"), (0.125, "0.125"),
    (999_960, "1.00M"), (-1_564_000, "-1.56M"), (None, NULL),
])
def test_a_number_on_its_own_is_compact(value, expected):
    assert compact_format(value) == expected
