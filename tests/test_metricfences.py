"""Metrics in a build: metric columns in components, the glossary page, and "What changed" telling a
definition change from a data change."""

from __future__ import annotations

import html as htmllib
import json
import re

from conftest import article, build_ok, page, run_cli
from metricsite import DEALS, METRICS_YML, metrics_site


def test_metric_columns_carry_label_format_description_and_direction_unless_the_call_says_otherwise(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Components

        ```metrics monthly
        metrics: [cac, pipeline]
        grain: month
        ```

        ```sql change
        select cac / lag(cac) over (order by month) - 1 as cac, month from monthly order by month desc limit 1
        ```

        {{ big_value(monthly, "pipeline", agg="sum") }}
        {{ big_value(monthly, "pipeline", agg="sum", title="Own title", fmt="usdk") }}
        Change: {{ delta(change, "cac") }}; forced: {{ delta(change, "cac", down_is_good=false) }}
        {{ table(monthly) }}
        {{ line_chart(monthly, x="month", y="pipeline") }}
    """})
    build_ok(project)
    shown = article(page(project))
    assert "Pipeline created" in shown and ">$3,300</div>" in shown
    assert "Own title" in shown and ">$3.3k</div>" in shown
    # CAC: January 620 / 1, February 890 / 2 = 445: a fall, which is good news for CAC
    assert re.search(r'Change: <span class="gtm-delta down good">.*?-28\.2%', shown)
    assert re.search(r'forced: <span class="gtm-delta down bad">', shown)
    assert '<th scope="col" class=num data-column="cac" title="Marketing spend per new customer.">CAC</th>' in shown
    spec = re.search(r'<script type="application/json" class="gtm-chart-spec">(.*?)</script>', shown).group(1)
    spec = json.loads(spec)
    assert spec["encoding"]["y"]["title"] == "Pipeline created"
    assert spec["encoding"]["y"]["axis"]["format"].startswith("$,")

def test_the_glossary_lists_every_metric_with_its_definition_sql_and_pages(tmp_path):
    project = metrics_site(tmp_path, {
        "reports/index.md": "# Home\n\n```metrics t\nmetrics: [win_rate, cac]\n```\n\n{{ value(t, 'win_rate') }}\n",
        "reports/pipeline.md": "# Pipeline\n\n```metrics p\nmetrics: pipeline\n```\n\n{{ value(p, 'pipeline') }}\n",
    })
    build_ok(project)
    glossary = page(project, "/_metrics/")
    entry = re.search(r'<section class="metric" id="metric-pipeline">(.*?)</section>', glossary, re.S).group(1)
    assert "Pipeline created" in entry and "New pipeline by the date the deal was created." in entry
    assert "<dd>Revenue operations</dd>" in entry and "<code>usd0</code>" in entry
    assert "dataset: deals\nagg: sum\nexpr: amount" in htmllib.unescape(entry)
    assert 'sum(amount) as "pipeline"' in htmllib.unescape(entry)
    assert '<a href="../pipeline/">Pipeline</a>' in entry and "Metrics Site" not in entry
    cac = re.search(r'id="metric-cac">(.*?)</section>', glossary, re.S).group(1)
    assert "computed from spend, new_customers" in cac and "<dd>lower</dd>" in cac
    assert '<a href="../">Metrics Site</a>' in cac
    assert "no page yet" in re.search(r'id="metric-deals_won">(.*?)</section>', glossary, re.S).group(1)
    assert '<a class="metrics-link" href="_metrics/">Metrics</a>' in page(project)

def _kpi_rows(changes_html: str) -> dict[str, tuple[str, str, str]]:
    """KPI label -> (cause, before, after) from a What changed page."""
    out = {}
    for row in re.findall(r"<tr><td>(.*?)</td></tr>", changes_html, re.S):
        cells = re.split(r"</td>\s*<td[^>]*>", row)
        cause = re.search(r'class="kpi-cause[^"]*">([^<]*)<', cells[0])
        label = htmllib.unescape(re.sub(r"<[^>]+>", "", re.sub(r'<span class="kpi-cause.*', "", cells[0]))).strip()
        before, after = (re.sub(r"<[^>]+>", "", c) for c in cells[1:3])
        out[label] = (cause.group(1) if cause else "", before, after)
    return out

def test_what_changed_tells_a_definition_change_from_a_data_change(tmp_path):
    report = {"reports/index.md": """
        # Home

        ```metrics t
        metrics: [win_rate, pipeline]
        ```

        ```sql big
        select count(*) as big_deals from deals where amount >= 300
        ```

        {{ big_value(t, "win_rate") }}
        {{ big_value(t, "pipeline") }}
        {{ big_value(big, "big_deals") }}
    """}
    project = metrics_site(tmp_path, report)
    build_ok(project, "--label", "one")
    # data only: deal 2 is won now, and a new open deal adds pipeline
    (project / "sources/deals.csv").write_text(DEALS.replace("2026-02-03,false,true", "2026-02-03,true,true")
                                               + "9,A9,Paid,SMB,500,2026-02-26,,false,false\n")
    # and a new description: words about a metric are not its definition
    (project / "sources/metrics.yml").write_text(METRICS_YML.replace("Deals won per deal closed.", "Won / closed."))
    build_ok(project, "--label", "two")
    # definition only: a deal counts as won only from 500 up; the SQL query's text changes too
    (project / "sources/metrics.yml").write_text(METRICS_YML.replace('filter: "is_won", time', 'filter: "is_won and '
                                                                     'amount >= 500", time'))
    (project / "reports/index.md").write_text((project / "reports/index.md").read_text().replace(">= 300", ">= 400"))
    build_ok(project, "--label", "three")
    two = _kpi_rows((project / "build/v/two/_changes/index.html").read_text())
    assert two == {"Win rate": ("data changed", "42.9%", "57.1%"),
                   "Pipeline created": ("data changed", "$3,300", "$3,800"),
                   "Big Deals": ("data changed", "4", "5")}
    three_html = (project / "build/v/three/_changes/index.html").read_text()
    three = _kpi_rows(three_html)
    assert three == {"Win rate": ("definition changed", "57.1%", "14.3%"),
                     "Big Deals": ("definition changed", "5", "4")}  # pipeline's definition did not change
    assert 'href="../_metrics/#metric-win_rate">Win rate</a>' in three_html
    changed = re.search(r'<ul class="metric-changes">(.*?)</ul>', three_html).group(1)
    assert re.findall(r"<code>(\w+)</code></a>: ([a-z ]+)<", changed) == [
        ("cac", "definition changed"), ("deals_won", "definition changed"), ("new_customers", "definition changed"),
        ("win_rate", "definition changed")]  # and those computed from them
    assert "metric-changes" not in (project / "build/v/two/_changes/index.html").read_text()
    diff = run_cli("versions", "diff", "two", "three", "--project", project)
    assert diff.exit_code == 0, diff.output
    assert "    Win rate: 57.1% -> 14.3% (-42.9%, -75.0%) worse [definition changed]" in diff.stdout.splitlines()
    assert diff.stdout.splitlines()[-4:] == ["metric cac: definition changed", "metric deals_won: definition changed",
                                             "metric new_customers: definition changed",
                                             "metric win_rate: definition changed"]
    older = run_cli("versions", "diff", "one", "two", "--project", project).stdout
    assert "    Pipeline created: $3,300 -> $3,800 (+$500, +15.2%) better [data changed]" in older.splitlines()
    versions = json.loads((project / "build/versions.json").read_text())
    assert versions[0]["metrics"]["win_rate"] != versions[1]["metrics"]["win_rate"]
    assert versions[0]["metrics"]["pipeline"] == versions[1]["metrics"]["pipeline"]
    assert set(versions[0]["queries"]) == {"reports/index.md#t", "reports/index.md#big"}

def test_check_runs_the_metrics_and_writes_nothing(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n\n```metrics t\nmetrics: [cac]\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert "checked 1 pages" in result.stdout and not (project / "build").exists()
