"""Checks against the site's own history (change, row_count change, anomaly) and forecasts set against
what happened, over real builds that publish versions."""

from __future__ import annotations

import json
import re

import pytest
from conftest import build_ok, error_lines, make_site, run_cli

from gtmsite.checks import Check, parse_check
from gtmsite.history import Measure, PastVersion, evaluate_history

DAY = 86400
EPOCH = 1_780_000_000  # 2026-05-28


def check(text: str) -> Check:
    return parse_check(text, "reports/index.md", 9)


def versions(*measures: Measure) -> tuple[list[tuple[str, Measure]], list[PastVersion]]:
    ids = [f"2026-11-{20 - i:02d}" for i in range(len(measures))]
    return list(zip(ids, measures)), [PastVersion(i, {}, {}) for i in ids]


@pytest.mark.parametrize("text, now, before, passed, detail", [
    ("total.arr_usd0: change < 20%", 4_180_000, 3_210_000, False,
     "(arr_usd0 value $4,180,000 vs $3,210,000 in 2026-11-20: +30.2%, allowed < 20%)"),
    ("total.arr_usd0: change < 20%", 3_500_000, 3_210_000, True,
     "(arr_usd0 value $3,500,000 vs $3,210,000 in 2026-11-20: +9%, allowed < 20%)"),
    ("total.arr_usd0: change <= 10%", 2_889_000, 3_210_000, True,
     "(arr_usd0 value $2,889,000 vs $3,210,000 in 2026-11-20: -10%, allowed <= 10%)"),
    ("total.arr_usd0: change < 5%", 7, 0, False,
     "(arr_usd0 value $7 vs $0 in 2026-11-20: a change from zero has no percentage, allowed < 5%)"),
])
def test_change_against_the_previous_version(text, now, before, passed, detail):
    past, history = versions(Measure(1, {"arr_usd0": before}))
    result = evaluate_history(check(text), Measure(1, {"arr_usd0": now}), past, history)
    assert (result.passed, result.detail) == (passed, detail)


def test_row_count_change_and_totals_of_many_rows():
    past, history = versions(Measure(100, {"amount": 5000.0}))
    rows = evaluate_history(check("deals: row_count change < 10%"), Measure(112, {}), past, history)
    assert (rows.passed, rows.detail) == (False, "(row count 112 vs 100 in 2026-11-20: +12%, allowed < 10%)")
    total = evaluate_history(check("deals.amount: change < 10%"), Measure(112, {"amount": 5100.0}), past, history)
    assert (total.passed, total.detail) == (True, "(amount total 5,100 vs 5,000 in 2026-11-20: +2%, allowed < 10%)")


def test_anomaly_needs_history_and_flags_an_outlier():
    steady = [Measure(1, {"n": v}) for v in (100, 104, 98, 101, 103, 99)]
    past, history = versions(*steady)
    usual = evaluate_history(check("warn: total.n: anomaly"), Measure(1, {"n": 102}), past, history)
    assert usual.passed and "is usual: the last 6 versions ranged 98 to 104, median 100.50" in usual.detail
    outlier = evaluate_history(check("warn: total.n: anomaly"), Measure(1, {"n": 160}), past, history)
    assert not outlier.passed and outlier.status == "warned"
    assert outlier.detail == "(n value 160 is unusual: the last 6 versions ranged 98 to 104, median 100.50)"
    few, short = versions(*steady[:3])
    assert evaluate_history(check("total.n: anomaly"), Measure(1, {"n": 500}), few, short).detail == \
        "(only 3 earlier values; an anomaly check needs 4: passes)"


REPORT = """\
---
title: ARR
---
```sql total
select sum(arr) as arr_usd0, count(*) as months from arr
```

```checks
total.arr_usd0: change < 20%
total: row_count change < 10%
warn: total.arr_usd0: anomaly
```
"""


def arr_site(root, values: list[float], report: str = REPORT, extra: dict | None = None):
    rows = "\n".join(f"2026-{i + 1:02d}-01,{v}" for i, v in enumerate(values))
    return make_site(root, {"site.toml": '[site]\ntitle = "H"\n', "sources/arr.csv": f"month,arr\n{rows}\n",
                            "reports/index.md": report, **(extra or {})})


def set_arr(project, values: list[float]) -> None:
    rows = "\n".join(f"2026-{i + 1:02d}-01,{v}" for i, v in enumerate(values))
    (project / "sources/arr.csv").write_text(f"month,arr\n{rows}\n", encoding="utf-8")


def checks_page(project) -> str:
    return (project / "build/latest/_checks/index.html").read_text(encoding="utf-8")


def epoch(days: int) -> dict[str, str]:
    return {"SOURCE_DATE_EPOCH": str(EPOCH + days * DAY)}


def test_first_build_passes_and_says_why(tmp_path):
    project = arr_site(tmp_path / "site", [100, 110])
    build_ok(project)
    assert checks_page(project).count("no previous version to compare with: passes") == 2
    assert "only 0 earlier values; an anomaly check needs 4: passes" in checks_page(project)


def test_a_change_too_large_fails_the_build_with_both_values(tmp_path):
    project = arr_site(tmp_path / "site", [100, 110])
    build_ok(project)
    set_arr(project, [100, 110, 130])
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    version = json.loads((project / "build/versions.json").read_text())[0]["id"]
    assert error_lines(result) == [  # the row count (1 vs 1) did not change
        f"reports/index.md:9: check failed: total.arr_usd0: change < 20% (arr_usd0 value $340 vs $210 in {version}: "
        "+61.9%, allowed < 20%)"]
    assert len(json.loads((project / "build/versions.json").read_text())) == 1  # nothing published


def test_check_command_judges_history_like_build(tmp_path):
    project = arr_site(tmp_path / "site", [100, 110])
    build_ok(project)
    set_arr(project, [100, 110, 130])
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1 and "change < 20% (arr_usd0 value $340 vs $210" in result.stderr


def test_anomaly_warns_after_a_few_versions_with_a_planted_outlier(tmp_path):
    report = REPORT.replace("total.arr_usd0: change < 20%\n", "").replace("total: row_count change < 10%\n", "")
    project = arr_site(tmp_path / "site", [100], report)
    for value in (101, 99, 102, 100, 98):
        set_arr(project, [value])
        build_ok(project)
    set_arr(project, [180])
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert "check warning: total.arr_usd0: anomaly (arr_usd0 value $180 is unusual: the last 5 versions ranged " \
           "$98 to $102, median $100)" in result.stderr


def test_history_checks_on_source_tables_from_site_toml(tmp_path):
    site_toml = '[site]\ntitle = "H"\n\n[[checks]]\ntable = "arr"\ncheck = "row_count change < 10%"\n'
    project = arr_site(tmp_path / "site", list(range(20)), "# H\n", {"site.toml": site_toml})
    build_ok(project)
    manifest = json.loads((project / "build/latest/_version.json").read_text())
    assert manifest["tables"] == {"arr": {"rows": 20, "totals": {}}}
    set_arr(project, list(range(25)))
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert re.search(r"site.toml:4: check failed: arr: row_count change < 10% \(row count 25 vs 20 in [\d-]+: "
                     r"\+25%, allowed < 10%\)", result.stderr)


FORECAST_REPORT = """\
---
title: ARR
---
```sql monthly
select month, arr as arr_usd0 from arr order by month
```

{{ line_chart(monthly, x="month", y="arr_usd0", forecast=2) }}
"""


def test_forecast_next_to_what_happened_a_month_later(tmp_path):
    values = [100, 108, 113, 121, 130, 134]
    project = arr_site(tmp_path / "site", values, FORECAST_REPORT)
    assert run_cli("build", "--project", project, env=epoch(0)).exit_code == 0
    first = json.loads((project / "build/latest/_version.json").read_text())
    points = first["pages"][0]["forecasts"][0]["points"]
    assert [p["x"] for p in points] == ["2026-07-01", "2026-08-01"]
    set_arr(project, [*values, 141])
    assert run_cli("build", "--project", project, env=epoch(31)).exit_code == 0
    changes = (project / "build/latest/_changes/index.html").read_text(encoding="utf-8")
    assert "Forecasts and what happened" in changes
    row = re.search(r'<table class="forecast-vs-actual">.*?<tbody>(.*?)</tbody>', changes, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    forecast_july = f"${points[0]['value']:,.0f}"
    assert cells[1:4] == ["ARR", "Jul 2026", forecast_july] and cells[5] == "$141"
    assert cells[7] == first["version"]["id"]
    assert row.count("<tr>") == 1  # only July became actual
    diff = run_cli("versions", "diff", first["version"]["id"], "--project", project)
    assert diff.exit_code == 0
    assert f"/ ARR Jul 2026: forecast {forecast_july} (" in diff.stdout and f"made in {first['version']['id']}, " \
        "actual $141" in diff.stdout
