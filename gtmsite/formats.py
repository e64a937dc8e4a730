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
            "mau", "dau", "wau", "roi", "roas", "cpl", "cpc", "ctr", "sdr", "bdr", "ae", "crm", "yoy", "mom", "qoq",
            "ytd", "mtd", "qtd", "wtd", "gdp", "nps", "sku", "aov", "arpu", "cpa", "cpm", "csat", "gmv", "ebitda"}


def _num(value: Any) -> float:
    """A number from a number, a Decimal or a string that holds one ("1234.5"); TypeError otherwise."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            raise TypeError(f"not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return value


def _fixed(number: float, decimals: int) -> str:
    """`1,234.50`, never `-0`: a value that rounds to zero loses its sign."""
    text = f"{number:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _money(symbol: str, decimals: int) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        text = _fixed(_num(value), decimals)
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return fmt


_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def _in_unit(symbol: str, divisor: float, suffix: str, decimals: int | None) -> Callable[[Any], str]:
    """A value in a fixed unit (`$3.4M`); `decimals=None` keeps one decimal below 100 (`$3.4M`, `$250k`).
    A non-zero value too small to show in that unit (`$0M`) is shown in the largest unit that fits."""
    def fmt(value: Any) -> str:
        number = _num(value)
        scaled = abs(number) / divisor
        places = (1 if scaled < 100 else 0) if decimals is None else decimals
        if number and round(scaled, places) == 0:
            smaller = next(((d, s) for d, s in _UNITS if d < divisor and abs(number) / d >= 0.95), (1.0, ""))
            return _in_unit(symbol, *smaller, None if decimals is None else decimals)(number) \
                if smaller[0] < divisor else _money(symbol, 2)(number)
        text = f"{scaled:,.{places}f}"
        if decimals is None:
            text = text.removesuffix(".0")
        sign = "-" if number < 0 and text.strip("0.,") else ""
        return f"{sign}{symbol}{text}{suffix}"
    return fmt


def _compact(symbol: str) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        number = _num(value)
        for divisor, suffix in _UNITS[1:]:
            if abs(number) >= divisor * 0.9995 or divisor == 1.0:
                return _in_unit(symbol, divisor, suffix, None)(number)
        return _in_unit(symbol, 1.0, "", None)(number)
    return fmt


def _percent(decimals: int) -> Callable[[Any], str]:
    return lambda v: _fixed(_num(v) * 100, decimals) + "%"


def _number(decimals: int, suffix: str = "") -> Callable[[Any], str]:
    return lambda v: _fixed(_num(v), decimals) + suffix


def _as_date(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip())
    if not isinstance(value, dt.date):
        raise TypeError(f"not a date: {value!r}")
    return value


def _date(pattern: str) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        when = _as_date(value)
        if not isinstance(when, dt.datetime):
            when = dt.datetime(when.year, when.month, when.day)
        return (when.strftime(pattern).replace("{d}", str(when.day)).replace("{m}", str(when.month))
                .replace("{H}", str(when.hour % 12 or 12)))
    return fmt


def _id(value: Any) -> str:
    number = _num(value)
    return str(int(number)) if float(number).is_integer() else str(number)


FORMATS: dict[str, Callable[[Any], str]] = {
    "usd": _money("$", 2),
    "usd0": _money("$", 0),
    "usdk": _in_unit("$", 1e3, "k", None),
    "usdm": _in_unit("$", 1e6, "M", None),
    "eur": _money("\u20ac", 2),
    "pct": _percent(0),
    "pct1": _percent(1),
    "num0": _number(0),
    "num1": _number(1),
    "num2": _number(2),
    "numk": _compact(""),
    "date": _date("%Y-%m-%d"),
    "month": _date("%b %Y"),
    "datetime": _date("%Y-%m-%d %H:%M"),
}

# Evidence's built-in format tags (`usd0k`, `num1m`, `pct2`, `longdate`, ...), for reports written for Evidence.
CURRENCIES = {"usd": "$", "aud": "A$", "brl": "R$", "cad": "C$", "cny": "\u00a5", "eur": "\u20ac", "gbp": "\u00a3",
              "jpy": "\u00a5", "inr": "\u20b9", "krw": "\u20a9", "ngn": "\u20a6", "rub": "rub", "sek": "kr"}
for _code, _symbol in CURRENCIES.items():
    FORMATS.setdefault(_code, _money(_symbol, 2))
    for _places in range(3):
        FORMATS.setdefault(f"{_code}{_places}", _money(_symbol, _places))
        for _divisor, _unit in ((1e3, "k"), (1e6, "M"), (1e9, "B")):
            FORMATS[f"{_code}{_places}{_unit.lower()}"] = _in_unit(_symbol, _divisor, _unit, _places)
for _places in range(5):
    FORMATS.setdefault(f"num{_places}", _number(_places))
for _places in range(3):
    for _divisor, _unit in ((1e3, "k"), (1e6, "M"), (1e9, "B")):
        FORMATS[f"num{_places}{_unit.lower()}"] = _in_unit("", _divisor, _unit, _places)
for _places in range(4):
    FORMATS.setdefault(f"pct{_places}", _percent(_places))
FORMATS.update({
    "mult": _number(1, "x"), "mult0": _number(0, "x"), "mult1": _number(1, "x"), "mult2": _number(2, "x"),
    "sci": lambda v: f"{_num(v):.2E}".replace("E+0", "E+").replace("E-0", "E-"),
    "id": _id,
    "ddd": _date("%a"), "dddd": _date("%A"), "mmm": _date("%b"), "mmmm": _date("%B"), "yyyy": _date("%Y"),
    "shortdate": _date("%b {d}/%y"), "longdate": _date("%B {d}, %Y"), "fulldate": _date("%A %B {d}, %Y"),
    "mdy": _date("{m}/{d}/%y"), "dmy": _date("{d}/{m}/%y"), "hms": _date("{H}:%M:%S %p"),
})

# The same formats for Vega-Lite axes and tooltips (d3-format / d3-time-format).
VEGA_FORMATS: dict[str, tuple[str, str]] = {
    "usd": ("number", "$,.2f"), "usd0": ("number", "$,.0f"), "usdk": ("number", "$,.3~s"),
    "usdm": ("number", "$,.3~s"), "eur": ("number", ",.2f"), "pct": ("number", ".0%"), "pct1": ("number", ".1%"),
    "num0": ("number", ",.0f"), "num1": ("number", ",.1f"), "num2": ("number", ",.2f"), "numk": ("number", ",.3~s"),
    "date": ("time", "%Y-%m-%d"), "month": ("time", "%b %Y"), "datetime": ("time", "%Y-%m-%d %H:%M"),
    "ddd": ("time", "%a"), "dddd": ("time", "%A"), "mmm": ("time", "%b"), "mmmm": ("time", "%B"),
    "yyyy": ("time", "%Y"), "shortdate": ("time", "%b %-d/%y"), "longdate": ("time", "%B %-d, %Y"),
    "fulldate": ("time", "%A %B %-d, %Y"), "mdy": ("time", "%-m/%-d/%y"), "dmy": ("time", "%-d/%-m/%y"),
    "hms": ("time", "%-I:%M:%S %p"), "sci": ("number", ".2e"), "id": ("number", "d"),
}
for _name in FORMATS:
    if _name not in VEGA_FORMATS:
        _match = re.fullmatch(r"([a-z]+?)(\d)?([kmb])?", _name)
        _kind, _places, _unit = _match.groups() if _match else (_name, None, None)
        _digits = int(_places or 0)
        if _kind == "pct":
            VEGA_FORMATS[_name] = ("number", f".{_digits}%")
        elif _unit:
            VEGA_FORMATS[_name] = ("number", f"{'$' if _kind == 'usd' else ''},.3~s")
        else:
            VEGA_FORMATS[_name] = ("number", f"{'$' if _kind == 'usd' else ''},.{_digits if _places else 2}f")

_SUFFIX = re.compile(r"_(" + "|".join(sorted(FORMATS, key=len, reverse=True)) + r")$", re.IGNORECASE)
SPEC_FORMATS = ("usd", "usd0", "usdk", "usdm", "eur", "pct", "pct1", "num0", "num1", "num2", "numk", "date", "month",
                "datetime")


def known_formats_hint() -> str:
    return (f"known formats: {', '.join(SPEC_FORMATS)}, Evidence's format tags (usd0k, usd1m, num2b, pct2, "
            "mult1, longdate, ...), or a Python format spec such as ',.2f'")


def is_format(fmt: Any) -> bool:
    """A `fmt` gtmsite understands: a format name, or a Python format spec for numbers or dates."""
    if not isinstance(fmt, str) or not fmt:
        return False
    if fmt in FORMATS or fmt.lower() in FORMATS:
        return True
    if "%" in fmt and fmt != "%":
        return True  # a strftime pattern for dates, or a percent spec (checked just below for numbers)
    for sample in (1.5, 1):
        try:
            format(sample, fmt)
            return True
        except (TypeError, ValueError):
            continue
    return False


def check_format(fmt: Any) -> None:
    """Raise a SiteError naming the known formats for a `fmt` that is none of them."""
    if fmt is not None and not is_format(fmt):
        from .errors import SiteError

        raise SiteError(f"unknown format {fmt!r}; {known_formats_hint()}")


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, decimal.Decimal):
        return not value.is_finite()
    return False


def format_value(value: Any, fmt: str | None = None) -> str:
    """Format one value: a `fmt` name, a Python format spec, or (None) a sensible default.
    Null, NaN and infinity render as an en dash; an unknown `fmt` is a SiteError."""
    check_format(fmt)
    if _is_null(value):
        return NULL
    if fmt:
        named = FORMATS.get(fmt) or FORMATS.get(fmt.lower())
        if named is not None:
            try:
                return named(value)
            except (TypeError, ValueError, AttributeError, OverflowError):
                return default_format(value)
        try:
            if isinstance(value, (dt.date, dt.datetime)):
                return value.strftime(fmt)
            if isinstance(value, str) and "%" in fmt and not fmt.endswith("%"):
                return _as_date(value).strftime(fmt)
            return format(_num(value), fmt)
        except (TypeError, ValueError):
            return str(value)
    return default_format(value)


def default_format(value: Any) -> str:
    """A value without a format (Evidence's fallback): thousands separators, at most two decimals, and
    small numbers to three significant digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, decimal.Decimal)):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{number:,.0f}"
        if abs(number) >= 1:
            return f"{number:,.2f}".rstrip("0").rstrip(".")
        return f"{number:.3g}" if abs(number) >= 1e-4 else f"{number:.2e}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def auto_format(values: list[Any], column: str = "") -> Callable[[Any], str]:
    """The format of a numeric column that has none (Evidence's auto format): units (k, M, B) picked from the
    median's magnitude, with enough decimals for three significant digits of the median; `year` and `id`
    columns plain."""
    numbers = sorted(float(v) for v in values if isinstance(v, (int, float, decimal.Decimal))
                     and not isinstance(v, bool) and not _is_null(v))
    name = column.lower()
    if not numbers:
        return default_format
    if name in ("year", "id") or name.endswith("_id"):
        return lambda v: default_format(v) if _is_null(v) or not isinstance(v, (int, float, decimal.Decimal)) \
            else _id(v)
    middle = len(numbers) // 2
    median = numbers[middle] if len(numbers) % 2 else (numbers[middle - 1] + numbers[middle]) / 2
    divisor, unit = next(((d, u) for d, u in _UNITS if abs(median) >= 5 * d), (1.0, ""))
    whole = all(n.is_integer() for n in numbers)
    if not unit and whole:
        places = 0
    else:
        in_unit = abs(median) / divisor
        exponent = math.floor(math.log10(in_unit)) if in_unit else 0
        places = min(max(3 - 1 - exponent, 0), 7)

    def fmt(value: Any) -> str:
        if _is_null(value):
            return NULL
        try:
            return _fixed(_num(value) / divisor, places) + unit
        except TypeError:
            return default_format(value)
    fmt.script_name = f"auto:{divisor:g}:{places}:{unit}"  # how the page's script shows totals it sums (gtmsite.js)
    return fmt


def script_format(fmt: str | Callable[[Any], str] | None) -> str:
    """A column format as the page's script knows it (data-fmt): a format's name, an auto format's
    `auto:divisor:places:unit`, or `auto` for one only Python can write (its totals stay those of all rows)."""
    if fmt is None or isinstance(fmt, str):
        return fmt or ""
    return getattr(fmt, "script_name", "auto")


def column_format(column: str, explicit: str | None = None) -> str | None:
    """The format of a column: the explicit one, else its name's suffix in any case (`arr_usd`, `GROWTH_PCT1`)."""
    if explicit:
        return explicit
    match = _SUFFIX.search(column)
    return match.group(1).lower() if match else None


_CALL = re.compile(r"^\s*(\w+)\((.*)\)\s*$", re.DOTALL)


def column_label(column: str) -> str:
    """A column's title: `win_rate_pct1` -> `Win Rate`; `new_arr_usd` -> `New ARR`; `sum(revenue)` -> `Sum of
    Revenue`; `sales_ytd` -> `Sales YTD`. A name written out with spaces (`Revenue (USD)`) stays as written."""
    call = _CALL.match(column)
    if call:
        inner = call.group(2).strip()
        outer = _word(call.group(1).lower())
        return outer if inner in ("", "*") else f"{outer} of {column_label(inner)}"
    match = _SUFFIX.search(column)
    base = column if match and match.group(1).lower() == "id" else (_SUFFIX.sub("", column) or column)
    if " " in base.strip() and "_" not in base:
        return base.strip()
    if base.isupper():
        base = base.lower()
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


def is_rate(fmt: str | None) -> bool:
    """Whether a format shows a rate (pct, pct1, ...): a rate's change is told in points."""
    return bool(fmt) and re.fullmatch(r"pct\d?", fmt.lower()) is not None


def compact_format(value: Any) -> str:
    """One number on its own (a KPI tile without a format): three significant digits in its own unit
    (4.18M, 12.5k, 950, 0.125)."""
    if _is_null(value):
        return NULL
    try:
        number = _num(value)
    except TypeError:
        return default_format(value)
    divisor, unit = next(((d, u) for d, u in _UNITS if abs(number) >= d * 0.9995), (1.0, ""))
    scaled = abs(number) / divisor
    if not unit and float(number).is_integer():
        return _fixed(number, 0)
    if unit:
        scaled = max(scaled, 1.0)  # 999,960 is 1.00M, not 1.000M
    places = max(0, 2 - (math.floor(math.log10(scaled)) if scaled else 0))
    text = _fixed(scaled, places)
    if round(float(text.replace(",", "")), 6) >= 1000 and unit != "T":  # 999.96k rounds to 1,000k: say 1.00M
        return compact_format(math.copysign(1000 * divisor, number))
    return ("-" if number < 0 and text.strip("0.,") else "") + text + unit
