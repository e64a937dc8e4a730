"""Forecasts and trend lines: the model's periods and determinism, the chart layers in the spec and the
static SVG, and located errors for series that cannot be forecast."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import build_ok, error_lines, make_site, page, run_cli

from gtmsite.errors import SiteError
from gtmsite.forecast import Step, forecast, linear_trend, regular_step

pytest.importorskip("statsmodels")



def months(n: int, start: dt.date = dt.date(2025, 1, 1)) -> list[dt.date]:
    return [Step("month").after(start, i) for i in range(n)]


def noisy(n: int) -> list[float]:
    return [100 + 6 * i + (7, -4, 2, -6, 5)[i % 5] for i in range(n)]


def test_monthly_forecast_covers_the_next_periods_with_an_interval():
    result = forecast(months(18), noisy(18), 3, "arr")
    assert result.periods == (dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1))
    assert all(lo < mean < hi for lo, mean, hi in zip(result.lower, result.mean, result.upper))
    assert result.mean[0] > 180  # a series growing by 6 a month from 100 keeps growing
    assert result.method.startswith("ETS(")


def test_weekly_and_month_end_periods():
    weeks = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(10)]
    assert forecast(weeks, noisy(10), 2, "w").periods == (dt.date(2026, 3, 16), dt.date(2026, 3, 23))
    assert Step("month").after(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert regular_step([1, 2, 3, 4], "x") == Step("number", 1)


def test_forecast_is_deterministic_and_cached(tmp_path):
    first = forecast(months(14), noisy(14), 4, "arr", tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert forecast(months(14), noisy(14), 4, "arr", tmp_path) == first
    assert forecast(months(14), noisy(14), 4, "arr", None) == first
    (next(tmp_path.glob("*.json"))).write_bytes(b"garbled{")  # a broken entry is a miss
    assert forecast(months(14), noisy(14), 4, "arr", tmp_path) == first


@pytest.mark.parametrize("periods, values, message", [
    (months(3), [1.0, 2.0, 3.0], "'arr' has 3 periods: a forecast needs at least 5"),
    (months(3) + months(3, dt.date(2025, 5, 1)), noisy(6),
     "'arr' is not regular in time: 2025-03-01 is followed by 2025-05-01 (expected 2025-04-01, one month later"),
    (months(6), [1.0, None, 3.0, 4.0, 5.0, 6.0], "'arr' has an empty (null) value"),
])
def test_series_that_cannot_be_forecast(periods, values, message):
    with pytest.raises(SiteError) as err:
        forecast(periods, values, 3, "'arr'")
    assert message in str(err.value)


def test_linear_trend_matches_least_squares():
    line = linear_trend([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.5])
    assert line.slope == pytest.approx(2.15)
    assert line.intercept == pytest.approx(0.9)  # mean y 4.125 - 2.15 * mean x 1.5
    assert linear_trend([1], [2.0]) is None


def arr_csv(n: int, start: dt.date = dt.date(2025, 1, 1)) -> str:
    lines = ["month,channel,arr"]
    for i, month in enumerate(months(n, start)):
        lines.append(f"{month},Paid,{noisy(n)[i]}")
        lines.append(f"{month},Organic,{noisy(n)[i] / 2}")
    return "\n".join(lines) + "\n"


REPORT = """\
---
title: ARR
---
```sql total
select month, sum(arr) as arr_usd0 from arr group by month order by month
```

```sql by_channel
select month, channel, arr from arr order by month
```

{{ line_chart(total, x="month", y="arr_usd0", forecast=3, trend="linear", title="ARR") }}

{{ area_chart(by_channel, x="month", y="arr", series="channel", stack=false, forecast=2) }}
"""


def forecast_site(root, n: int = 18, report: str = REPORT):
    return make_site(root, {"site.toml": '[site]\ntitle = "F"\n', "sources/arr.csv": arr_csv(n),
                            "reports/index.md": report})


def specs(html: str) -> list[dict]:
    return [json.loads(s) for s in re.findall(r'class="gtm-chart-spec">(.*?)</script>', html, re.S)]


def layer_data(spec: dict, part: str) -> list[dict]:
    rows = [row for layer in spec["layer"] for row in layer.get("data", {}).get("values", [])]
    rows += [row for values in spec.get("datasets", {}).values() for row in values]
    return [row for row in rows if row.get("__part") == part]


def test_forecast_and_trend_layers_in_the_chart_and_its_static_svg(tmp_path):
    project = forecast_site(tmp_path / "site")
    build_ok(project)
    html = page(project)
    line, area = specs(html)
    future = [r for r in layer_data(line, "forecast") if not r["__start"]]
    assert [r["month"] for r in future] == ["2026-07-01", "2026-08-01", "2026-09-01"]
    assert all(r["__lo"] < r["arr_usd0"] < r["__hi"] for r in future)
    assert line["layer"][1]["encoding"]["strokeDash"]["scale"]["domain"] == ["actual", "forecast", "trend"]
    trend = layer_data(line, "trend")
    assert [r["month"] for r in trend] == ["2025-01-01", "2026-06-01"]
    per_series = {(r["channel"], r["month"]) for r in layer_data(area, "forecast") if not r["__start"]}
    assert per_series == {(c, m) for c in ("Paid", "Organic") for m in ("2026-07-01", "2026-08-01")}
    assert "Dashed: forecast of the next 3 months (ETS(" in html and "dotted: linear trend" in html
    svg = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svg) == 4  # each chart drawn wide and for phones (the phone drawing has the layers too)
    assert ">forecast</text>" in svg[0] and ">trend</text>" in svg[0]
    assert ">forecast</text>" in svg[1] and ">trend</text>" in svg[1]
    assert 'stroke-dasharray="6,4"' in svg[0] and 'stroke-dasharray="2,3"' in svg[0]  # the forecast and trend lines


def test_weekly_series_forecast_in_the_chart(tmp_path):
    weeks = "\n".join(f"{dt.date(2026, 1, 5) + dt.timedelta(weeks=i)},{noisy(12)[i]}" for i in range(12))
    report = """\
```sql weekly
select week, leads from leads order by week
```

{{ line_chart(weekly, x="week", y="leads", forecast=2) }}
"""
    project = make_site(tmp_path / "site", {"site.toml": '[site]\ntitle = "W"\n', "reports/index.md": report,
                                            "sources/leads.csv": f"week,leads\n{weeks}\n"})
    build_ok(project)
    html = page(project)
    (spec,) = specs(html)
    assert [r["week"] for r in layer_data(spec, "forecast") if not r["__start"]] == ["2026-03-30", "2026-04-06"]
    assert "Dashed: forecast of the next 2 weeks" in html


def test_two_builds_draw_the_same_forecast(tmp_path):
    project = forecast_site(tmp_path / "site")
    build_ok(project)
    first = specs(page(project))
    build_ok(project, "--no-cache")
    assert specs(page(project)) == first


def test_forecast_mistakes_are_located(tmp_path):
    report = """\
```sql short
select * from arr where month < '2025-04-01' and channel = 'Paid'
```

{{ line_chart(short, x="month", y="arr", forecast=3) }}

{{ line_chart(short, x="month", y="arr", forecast="soon") }}

{{ line_chart(short, x="month", y="arr", trend="cubic") }}
"""
    result = run_cli("build", "--project", forecast_site(tmp_path / "site", report=report))
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:5: line_chart: 'arr' in query 'short' has 3 periods: a forecast needs at least 5",
        "reports/index.md:7: line_chart: forecast must be a number of periods such as 6, got 'soon'",
        "reports/index.md:9: line_chart: trend must be \"linear\", got 'cubic'",
    ]
