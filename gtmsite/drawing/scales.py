"""Scales, ticks and tick labels as d3 (inside Vega) computes them: linear nice/ticks/tickFormat, UTC
month ticks, and the subset of d3-format and d3-time-format the standard charts use.

Every function here mirrors a d3 function of the same name; None means "not a case this subset
handles" and makes the drawing fall back to vl-convert.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from .text import js_round

_E10, _E5, _E2 = math.sqrt(50), math.sqrt(10), math.sqrt(2)
MINUS = "\u2212"  # d3-format writes negative numbers with a real minus sign
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _tick_spec(start: float, stop: float, count: float) -> tuple[int, int, float]:
    step = (stop - start) / max(0, count)
    power = math.floor(math.log10(step))
    error = step / 10 ** power
    factor = 10 if error >= _E10 else 5 if error >= _E5 else 2 if error >= _E2 else 1
    if power < 0:
        inc = 10 ** -power / factor
        i1, i2 = js_round(start * inc), js_round(stop * inc)
        if i1 / inc < start:
            i1 += 1
        if i2 / inc > stop:
            i2 -= 1
        inc = -inc
    else:
        inc = 10 ** power * factor
        i1, i2 = js_round(start / inc), js_round(stop / inc)
        if i1 * inc < start:
            i1 += 1
        if i2 * inc > stop:
            i2 -= 1
    if i2 < i1 and 0.5 <= count < 2:
        return _tick_spec(start, stop, count * 2)
    return i1, i2, inc


def ticks(start: float, stop: float, count: int) -> list[float]:
    """d3.ticks for start < stop."""
    i1, i2, inc = _tick_spec(start, stop, count)
    if i2 < i1:
        return []
    return [(i1 + i) / -inc for i in range(i2 - i1 + 1)] if inc < 0 else [(i1 + i) * inc for i in range(i2 - i1 + 1)]


def tick_increment(start: float, stop: float, count: float) -> float:
    return _tick_spec(start, stop, count)[2]


def tick_step(start: float, stop: float, count: float) -> float:
    inc = tick_increment(start, stop, count)
    return 1 / -inc if inc < 0 else inc


def nice(start: float, stop: float, count: int = 10) -> tuple[float, float]:
    """d3 linear scale.nice(count) for start < stop."""
    previous = None
    for _ in range(10):
        step = tick_increment(start, stop, count)
        if step == previous:
            break
        if step > 0:
            start, stop = math.floor(start / step) * step, math.ceil(stop / step) * step
        elif step < 0:
            start, stop = math.ceil(start * step) / step, math.floor(stop * step) / step
        else:
            break
        previous = step
    return start, stop


_SPECIFIER = re.compile(r"(?P<currency>\$)?(?P<comma>,)?(?:\.(?P<precision>\d+))?(?P<trim>~)?(?P<type>[fs%])?")


def number_format(specifier: str | None, start: float, stop: float, count: int):  # noqa: ANN201 - a formatter
    """d3 scale.tickFormat(count, specifier) for a linear scale over [start, stop], or None if the specifier
    is outside this subset ($ , .N ~ and the types f, s, % or none)."""
    match = _SPECIFIER.fullmatch(specifier if specifier is not None else ",f")
    if match is None:
        return None
    kind = match["type"] or ""
    if kind == "":
        return None  # d3's default type ("g"-like with trimming) is not needed by gtmsite's charts
    precision = int(match["precision"]) if match["precision"] is not None else None
    if precision is None:
        step = tick_step(start, stop, count)
        if kind in "f%":
            precision = max(0, -math.floor(math.log10(abs(step)))) - (2 if kind == "%" else 0)
            precision = max(0, precision)
        else:
            return None  # s without precision: d3 works it out from the domain; not needed here
    currency, comma, trim = bool(match["currency"]), bool(match["comma"]), bool(match["trim"])

    def fmt(value: float) -> str:
        negative = value < 0 or (value == 0 and math.copysign(1, value) < 0)
        magnitude = abs(value)
        if kind == "s":
            body = _si(magnitude, precision, trim)
        else:
            scaled = magnitude * 100 if kind == "%" else magnitude
            body = _fixed(scaled, precision)
            if trim:
                body = _trim(body)
            if comma:
                body = _group(body)
            if kind == "%":
                body += "%"
        if negative and float(re.sub(r"[^0-9.]", "", body) or 0) == 0:
            negative = False  # d3 drops the sign of a value that rounds to zero
        return (MINUS if negative else "") + ("$" if currency else "") + body

    return fmt


def _fixed(value: float, precision: int) -> str:
    """JavaScript's toFixed for a value >= 0: the exact binary value rounded, halves up (Python's format
    would round halves to even)."""
    return format(Decimal(value).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP), "f")


def _trim(body: str) -> str:
    """d3's ~: drop insignificant trailing zeros (and a bare decimal point)."""
    if "." not in body:
        return body
    body = body.rstrip("0")
    return body[:-1] if body.endswith(".") else body


def _group(body: str) -> str:
    whole, dot, fraction = body.partition(".")
    return f"{int(whole):,}" + dot + fraction


_PREFIXES = {-8: "y", -7: "z", -6: "a", -5: "f", -4: "p", -3: "n", -2: "\u00b5", -1: "m", 0: "", 1: "k", 2: "M",
             3: "G", 4: "T", 5: "P", 6: "E", 7: "Z", 8: "Y"}


def _si(value: float, precision: int, trim: bool) -> str:
    """d3-format's s type: `precision` significant digits and an SI prefix."""
    precision = max(1, precision)
    if value == 0:
        digits = f"{0:.{precision - 1}f}"
        return _trim(digits) if trim else digits
    mantissa = f"{value:.{precision - 1}e}"
    exponent = int(mantissa.split("e")[1])
    tier = max(-8, min(8, math.floor(exponent / 3)))
    shift = exponent - tier * 3
    digits = mantissa.split("e")[0].replace(".", "")
    n = len(digits)
    if shift >= n - 1:
        body = digits + "0" * (shift - n + 1)
    elif shift >= 0:
        body = digits[:shift + 1] + "." + digits[shift + 1:]
    else:
        body = "0." + "0" * (-shift - 1) + digits
    if trim:
        body = _trim(body)
    return body + _PREFIXES[tier]


def utc_month_ticks(start: dt.datetime, stop: dt.datetime, step: int) -> list[dt.datetime]:
    """d3 utcMonth.every(step).range(start, stop + 1ms): month starts in [start, stop] whose month index
    (0 = January) is a multiple of `step`."""
    year, month = start.year, start.month
    first = dt.datetime(year, month, 1)
    if first < start:
        month += 1
        if month > 12:
            year, month = year + 1, 1
    out = []
    while True:
        when = dt.datetime(year, month, 1)
        if when > stop:
            return out
        if (month - 1) % step == 0:
            out.append(when)
        month += 1
        if month > 12:
            year, month = year + 1, 1


def month_label(when: dt.datetime) -> str:
    """d3 utcFormat("%b %Y")."""
    return f"{MONTHS[when.month - 1]} {when.year}"


def default_number(value: float) -> str:
    """d3-format with no specifier (".12~g"), as Vega-Lite writes a number it has no format for: twelve
    significant digits, insignificant zeros dropped, a real minus sign (1234567, 12.5, 0.3, 1e-7)."""
    body = _trim_before_exponent(_to_precision(abs(value), 12))
    negative = (value < 0 or (value == 0 and math.copysign(1, value) < 0)) and float(body) != 0
    return (MINUS if negative else "") + body


def _to_precision(value: float, digits: int) -> str:
    """JavaScript's Number.prototype.toPrecision for a finite value >= 0: the exact binary value rounded
    half up to `digits` significant digits, in exponent form below 1e-6 or from 10**digits up."""
    if value == 0:
        return "0" if digits == 1 else "0." + "0" * (digits - 1)
    exact = Decimal(value)
    exponent = exact.adjusted()
    mantissa = exact.scaleb(-exponent).quantize(Decimal(1).scaleb(1 - digits), rounding=ROUND_HALF_UP)
    if mantissa >= 10:
        exponent += 1
        mantissa = (mantissa / 10).quantize(Decimal(1).scaleb(1 - digits), rounding=ROUND_HALF_UP)
    figures = str(mantissa).replace(".", "")
    if exponent < -6 or exponent >= digits:
        whole = figures[0] + ("." + figures[1:] if digits > 1 else "")
        return f"{whole}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if exponent >= 0:
        point = exponent + 1
        return figures[:point] + ("." + figures[point:] if digits > point else "")
    return "0." + "0" * (-exponent - 1) + figures


def _trim_before_exponent(body: str) -> str:
    """d3's ~ on a number that may have an exponent: drop the fraction's trailing zeros (and a bare point)."""
    number_part, e, exponent = body.partition("e")
    return _trim(number_part) + (e + exponent if e else "")
