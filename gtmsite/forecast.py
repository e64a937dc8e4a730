"""Forecasts and trend lines for charts: pure functions over a series' periods and values.

A forecast is an exponential-smoothing (ETS) model chosen by AICc among a few candidates (level only,
additive trend, damped trend, and an additive season when the series holds two full seasons), fitted by
statsmodels, and its N-step prediction with an 80% interval. statsmodels is an optional extra
(`gtmsite[forecast]`), imported only when a chart asks for a forecast. Results are deterministic (the
same series gives the same numbers, rounded to 6 significant digits) and cached by the series' content.

A series must be regular in time: consecutive periods one step apart (a day, a week, a month, a
quarter, a year, or a constant step of a number), with no gaps; otherwise there is nothing honest to
extrapolate and the chart call gets a located error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SiteError
from .files import read_cached, store_in_cache

LEVEL = 80  # the prediction interval drawn around a forecast, in percent
MIN_PERIODS = 5  # fewer actual periods than this cannot support a forecast
MAX_HORIZON = 120
_METHOD_VERSION = "ets-1"
_SEASONS = {"month": 12, "quarter": 4, "week": 52, "day": 7}


@dataclass(frozen=True)
class Step:
    """The spacing of a regular series: `unit` is day, week, month, quarter, year or number."""

    unit: str
    size: float = 1  # the step of a numeric x

    def after(self, period: Any, n: int) -> Any:
        """The period `n` steps after `period`."""
        if self.unit == "number":
            return period + n * self.size
        if self.unit in ("day", "week"):
            return period + dt.timedelta(days=n * (7 if self.unit == "week" else 1))
        months = n * {"month": 1, "quarter": 3, "year": 12}[self.unit]
        index = period.year * 12 + period.month - 1 + months
        year, month = index // 12, index % 12 + 1
        return period.replace(year=year, month=month, day=min(period.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Forecast:
    periods: tuple[Any, ...]
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    method: str  # "ETS(A,Ad,N)"
    unit: str  # the series' step: day, week, month, quarter, year or number
    level: int = LEVEL


@dataclass(frozen=True)
class Trend:
    slope: float  # per day for dates, per unit for numbers
    intercept: float

    def at(self, x: Any) -> float:
        return self.intercept + self.slope * _position(x)


def regular_step(periods: list[Any], what: str) -> Step:
    """The step between consecutive periods, or a SiteError naming the first gap."""
    if len(periods) < 2:
        raise SiteError(f"{what} has {len(periods)} period{'s' if len(periods) != 1 else ''}: a forecast or "
                        f"trend needs at least {MIN_PERIODS}")
    if any(p is None for p in periods):
        raise SiteError(f"{what} has an empty (null) period: filter out nulls in SQL before forecasting")
    if all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in periods):
        size = periods[1] - periods[0]
        bad = next((i for i in range(1, len(periods)) if not math.isclose(periods[i] - periods[i - 1], size)), None)
        if size <= 0 or bad is not None:
            raise SiteError(f"{what} is not regular: x steps from {periods[(bad or 1) - 1]} to {periods[bad or 1]} "
                            f"(expected a constant step of {size}); aggregate it to regular periods in SQL")
        return Step("number", size)
    if not all(isinstance(p, dt.date) for p in periods):
        raise SiteError(f"{what}: x must be dates or numbers to forecast, got {periods[0]!r}")
    for unit in ("day", "week", "month", "quarter", "year"):
        step = Step(unit)
        if all(step.after(periods[i - 1], 1) == periods[i] for i in range(1, len(periods))):
            return step
    first = periods[0]
    guess = _guess_step(periods)
    gap = next((i for i in range(1, len(periods)) if guess.after(periods[i - 1], 1) != periods[i]), 1)
    raise SiteError(f"{what} is not regular in time: {_show(periods[gap - 1])} is followed by {_show(periods[gap])} "
                    f"(expected {_show(guess.after(periods[gap - 1], 1))}, one {guess.unit} later; series starts "
                    f"{_show(first)}); fill the missing periods in SQL (e.g. with a calendar join) or aggregate "
                    f"to regular periods")


def _guess_step(periods: list[dt.date]) -> Step:
    days = sorted((periods[i] - periods[i - 1]).days if not isinstance(periods[i], dt.datetime)
                  else (periods[i] - periods[i - 1]).total_seconds() / 86400 for i in range(1, len(periods)))
    median = days[len(days) // 2]
    for unit, length in (("day", 1), ("week", 7), ("month", 30.4), ("quarter", 91.3), ("year", 365.2)):
        if median <= length * 1.4:
            return Step(unit)
    return Step("year")


def _show(period: Any) -> str:
    return period.isoformat() if isinstance(period, (dt.date, dt.datetime)) else str(period)


def _position(x: Any) -> float:
    if isinstance(x, dt.datetime):
        return x.timestamp() / 86400
    if isinstance(x, dt.date):
        return float(x.toordinal())
    return float(x)


def linear_trend(xs: list[Any], ys: list[float]) -> Trend | None:
    """The least-squares line through the points (as DuckDB's regr_slope/regr_intercept), or None
    when fewer than two points have distinct x."""
    points = [(_position(x), float(y)) for x, y in zip(xs, ys) if x is not None and y is not None]
    if len(points) < 2:
        return None
    mx = sum(p for p, _ in points) / len(points)
    my = sum(v for _, v in points) / len(points)
    sxx = sum((p - mx) ** 2 for p, _ in points)
    if sxx == 0:
        return None
    slope = sum((p - mx) * (v - my) for p, v in points) / sxx
    return Trend(slope, my - slope * mx)


def forecast(periods: list[Any], values: list[float], horizon: int, what: str,
             cache: Path | None = None) -> Forecast:
    """Forecast `horizon` periods past the last one. `what` names the series in error messages."""
    if not isinstance(horizon, int) or isinstance(horizon, bool) or not 1 <= horizon <= MAX_HORIZON:
        raise SiteError(f"forecast must be a number of periods from 1 to {MAX_HORIZON}, got {horizon!r}")
    if len(periods) < MIN_PERIODS:
        raise SiteError(f"{what} has {len(periods)} period{'s' if len(periods) != 1 else ''}: a forecast needs at "
                        f"least {MIN_PERIODS}")
    if any(v is None for v in values):
        raise SiteError(f"{what} has an empty (null) value: fill it (e.g. coalesce(x, 0)) or filter it in SQL")
    step = regular_step(periods, what)
    values = [float(v) for v in values]
    future = tuple(step.after(periods[-1], n) for n in range(1, horizon + 1))
    key = hashlib.sha256(json.dumps([_METHOD_VERSION, step.unit, values, horizon]).encode()).hexdigest()
    numbers = _cached(cache, key)
    if numbers is None:
        numbers = _fit_ets(values, horizon, _SEASONS.get(step.unit))
        _store(cache, key, numbers)
    return Forecast(future, tuple(numbers["mean"]), tuple(numbers["lower"]), tuple(numbers["upper"]),
                    numbers["method"], step.unit)


def _cached(cache: Path | None, key: str) -> dict | None:
    if cache is None:
        return None
    raw = read_cached(cache / f"{key}.json")
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    valid = isinstance(data, dict) and all(isinstance(data.get(k), list) for k in ("mean", "lower", "upper")) \
        and isinstance(data.get("method"), str)
    return data if valid else None  # an unreadable or garbled entry is a miss


def _store(cache: Path | None, key: str, numbers: dict) -> None:
    if cache is not None:
        store_in_cache(cache / f"{key}.json", json.dumps(numbers))


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _fit_ets(values: list[float], horizon: int, season: int | None) -> dict:
    """Fit the candidate ETS models, keep the one with the lowest AICc, and predict with an interval."""
    try:
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    except ImportError:
        raise SiteError("forecasts need statsmodels, which is not installed: pip install 'gtmsite[forecast]'") from None
    series = pd.Series(values)
    candidates = [("N", False, None), ("A", False, None), ("A", True, None)]
    if season and len(values) >= 2 * season + 2:
        candidates.append(("A", True, season))
    best, best_name = None, ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped, seasonal in candidates:
            try:
                model = ETSModel(series, error="add", trend=None if trend == "N" else "add", damped_trend=damped,
                                 seasonal="add" if seasonal else None, seasonal_periods=seasonal)
                fit = model.fit(disp=False, maxiter=200)
            except (ValueError, np_errors()):  # a candidate that cannot be fitted is skipped
                continue
            score = fit.aicc if math.isfinite(fit.aicc) else math.inf
            if best is None or score < best[0]:
                best = (score, fit)
                best_name = f"ETS(A,{'N' if trend == 'N' else 'Ad' if damped else 'A'},{'A' if seasonal else 'N'})"
        if best is None:
            raise SiteError("the series could not be fitted by any forecast model (is it constant or too short?)")
        frame = best[1].get_prediction(start=len(values), end=len(values) + horizon - 1).summary_frame(
            alpha=1 - LEVEL / 100)
    return {"mean": [_round(v) for v in frame["mean"]], "lower": [_round(v) for v in frame["pi_lower"]],
            "upper": [_round(v) for v in frame["pi_upper"]], "method": best_name}


def np_errors() -> type[Exception]:
    """numpy's LinAlgError (a singular fit), without importing numpy at module load."""
    import numpy

    return numpy.linalg.LinAlgError
