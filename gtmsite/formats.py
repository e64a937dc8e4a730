"""Value formats (`fmt` names), column-suffix formats and prettified column labels. Pure functions."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Callable
from typing import Any

NULL = "\u2013"  # en dash

SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "per", "the", "to", "vs"}
ACRONYMS = {"arr", "mrr", "cac", "ltv", "id", "sql", "mql", "kpi", "url", "usd", "eur", "acv", "nrr", "grr",
            "mau", "dau", "wau", "roi", "roas", "cpl", "cpc", "ctr", "sdr", "bdr", "ae", "crm", "yoy", "mom", "qoq"}


def _num(value: Any) -> float:
    return float(value) if isinstance(value, decimal.Decimal) else value


def _money(symbol: str, decimals: int) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        value = _num(value)
        text = f"{abs(value):,.{decimals}f}"
        sign = "-" if value < 0 and text.strip("0.,") else ""  # no "-$0" for a tiny negative
        return f"{sign}{symbol}{text}"
    return fmt


def _scaled(symbol: str, divisor: float, suffix: str) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        value = _num(value)
        sign = "-" if value < 0 else ""
        scaled = abs(value) / divisor
        text = f"{scaled:,.1f}".removesuffix(".0") if scaled < 100 else f"{scaled:,.0f}"
        return f"{sign}{symbol}{text}{suffix}"
    return fmt


def _compact(symbol: str) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        value = _num(value)
        for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= divisor:
                return _scaled(symbol, divisor, suffix)(value)
        return _scaled(symbol, 1, "")(value)
    return fmt


def _as_date(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


FORMATS: dict[str, Callable[[Any], str]] = {
    "usd": _money("$", 2),
    "usd0": _money("$", 0),
    "usdk": _scaled("$", 1e3, "k"),
    "usdm": _scaled("$", 1e6, "M"),
    "eur": _money("\u20ac", 2),
    "pct": lambda v: f"{_num(v) * 100:,.0f}%",
    "pct1": lambda v: f"{_num(v) * 100:,.1f}%",
    "num0": lambda v: f"{_num(v):,.0f}",
    "num1": lambda v: f"{_num(v):,.1f}",
    "num2": lambda v: f"{_num(v):,.2f}",
    "numk": _compact(""),
    "date": lambda v: f"{_as_date(v):%Y-%m-%d}",
    "month": lambda v: f"{_as_date(v):%b %Y}",
    "datetime": lambda v: f"{_as_date(v):%Y-%m-%d %H:%M}",
}

# The same formats for Vega-Lite axes and tooltips (d3-format / d3-time-format).
VEGA_FORMATS: dict[str, tuple[str, str]] = {
    "usd": ("number", "$,.2f"), "usd0": ("number", "$,.0f"), "usdk": ("number", "$,.3~s"),
    "usdm": ("number", "$,.3~s"), "eur": ("number", ",.2f"), "pct": ("number", ".0%"), "pct1": ("number", ".1%"),
    "num0": ("number", ",.0f"), "num1": ("number", ",.1f"), "num2": ("number", ",.2f"), "numk": ("number", ",.3~s"),
    "date": ("time", "%Y-%m-%d"), "month": ("time", "%b %Y"), "datetime": ("time", "%Y-%m-%d %H:%M"),
}

_SUFFIX = re.compile(r"_(" + "|".join(sorted(FORMATS, key=len, reverse=True)) + r")$")


def format_value(value: Any, fmt: str | None = None) -> str:
    """Format one value: a `fmt` name, a Python format spec, or (None) a sensible default."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL
    if fmt:
        if fmt in FORMATS:
            try:
                return FORMATS[fmt](value)
            except (TypeError, ValueError, AttributeError):
                return str(value)
        try:
            return format(_num(value), fmt)
        except (TypeError, ValueError):
            return str(value)
    return default_format(value)


def default_format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, (float, decimal.Decimal)):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{number:,.0f}"
        return f"{number:,.2f}" if abs(number) >= 1 else f"{number:.4g}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def column_format(column: str, explicit: str | None = None) -> str | None:
    """The format of a column: the explicit one, else its name's suffix (`arr_usd` -> usd)."""
    if explicit:
        return explicit
    match = _SUFFIX.search(column)
    return match.group(1) if match else None


def column_label(column: str) -> str:
    """`win_rate_pct1` -> `Win Rate`; `new_arr_usd` -> `New ARR`; `share_of_spend` -> `Share of Spend`."""
    base = _SUFFIX.sub("", column) or column
    words = [w for w in re.split(r"[_\s]+", base) if w]
    return " ".join(w.lower() if n and w.lower() in SMALL_WORDS else _word(w) for n, w in enumerate(words)) or column


def _word(word: str) -> str:
    lower = word.lower()
    if lower in ACRONYMS:
        return word.upper()
    if lower.endswith("s") and lower[:-1] in ACRONYMS:  # mqls -> MQLs
        return word[:-1].upper() + "s"
    return word if word[:1].isupper() else word.capitalize()


def is_numeric_type(type_name: str) -> bool:
    return bool(re.match(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|"
                         r"FLOAT|DOUBLE|DECIMAL|REAL)", type_name.upper()))
