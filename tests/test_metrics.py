"""Metrics: sources/metrics.yml, `metrics` fences, metric columns in components, the glossary, and
"What changed" telling a definition change from a data change."""

from __future__ import annotations

import csv
import html as htmllib
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import article, build_ok, error_lines, make_site, page, run_cli

from gtmsite.metrics import parse_metrics

# Paid: January 1 won of 1 closed (100%), February 1 won of 4 closed (25%): over both months the win rate
# is 2 / 5 = 40% (a ratio of sums), where the average of the monthly rates would be 62.5%.
# Organic: February 1 won of 2 closed (50%); one Organic deal is still open.
DEALS = """\
id,account,channel,segment,amount,created_at,close_date,is_won,is_closed
1,A1,Paid,SMB,100,2026-01-02,2026-01-20,true,true
2,A2,Paid,SMB,200,2026-01-05,2026-02-03,false,true
3,A3,Paid,SMB,300,2026-01-09,2026-02-10,false,true
4,A4,Paid,Enterprise,400,2026-01-12,2026-02-14,false,true
5,A5,Paid,Enterprise,1000,2026-02-01,2026-02-20,true,true
6,A6,Organic,SMB,250,2026-01-20,2026-02-05,true,true
7,A7,Organic,SMB,150,2026-02-02,2026-02-25,false,true
8,A8,Organic,Enterprise,900,2026-02-03,,false,false
"""

SPEND = """\
month,channel,amount
2026-01-01,Paid,500
2026-01-01,Organic,120
2026-02-01,Paid,800
2026-02-01,Organic,90
"""

METRICS_YML = """\
datasets:
  deals:
    table: deals
    time: created_at
    dimensions: [channel, segment]
  spend:
    table: spend
    time: month
    dimensions: [channel]
metrics:
  pipeline:
    dataset: deals
    agg: sum
    expr: amount
    label: Pipeline created
    description: New pipeline by the date the deal was created.
    format: usd0
    owner: Revenue operations
  deals_won: {dataset: deals, agg: count, filter: "is_won", time: close_date}
  deals_closed: {dataset: deals, agg: count, filter: "is_closed", time: close_date}
  win_rate: {type: ratio, numerator: deals_won, denominator: deals_closed, format: pct1, label: Win rate,
             description: Deals won per deal closed.}
  new_customers: {dataset: deals, agg: count_distinct, expr: account, filter: "is_won", time: close_date}
  spend: {dataset: spend, agg: sum, expr: amount, format: usd0, label: Marketing spend}
  cac: {type: derived, expr: "spend / new_customers", format: usd0, down_is_good: true, label: CAC,
        description: Marketing spend per new customer., owner: Marketing}
"""


def metrics_site(root: Path, reports: dict[str, str], metrics: str = METRICS_YML, deals: str = DEALS) -> Path:
    return make_site(root, {"site.toml": '[site]\ntitle = "Metrics Site"\n', "sources/deals.csv": deals,
                            "sources/spend.csv": SPEND, "sources/metrics.yml": metrics, **reports})


def data_rows(project: Path, url_key: str, query: str) -> list[dict[str, str]]:
    path = project / "build" / "latest" / "_data" / url_key / f"{query}.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_ratio_is_a_ratio_of_sums_not_an_average_of_ratios(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Win rate

        ```metrics by_channel
        metrics: [win_rate, deals_won, deals_closed]
        by: [channel]
        ```

        ```metrics by_month
        metrics: [win_rate]
        by: channel
        grain: month
        ```

        {{ table(by_channel) }}
        {{ table(by_month) }}
    """})
    build_ok(project)
    rows = {r["channel"]: r for r in data_rows(project, "index", "by_channel")}
    assert float(rows["Paid"]["win_rate"]) == pytest.approx(2 / 5)  # not (1/1 + 1/4) / 2 = 0.625
    assert (rows["Paid"]["deals_won"], rows["Paid"]["deals_closed"]) == ("2", "5")
    assert float(rows["Organic"]["win_rate"]) == pytest.approx(1 / 2)
    monthly = [(r["channel"], r["month"], r["win_rate"]) for r in data_rows(project, "index", "by_month")]
    # the open Organic deal has no close date, so no period: it is left out, not a row of its own
    assert monthly == [("Paid", "2026-01-01", "1.0"), ("Organic", "2026-02-01", "0.5"), ("Paid", "2026-02-01", "0.25")]
    shown = article(page(project))
    assert ">40.0%</td>" in shown and ">25.0%</td>" in shown  # the metric's format, pct1


def test_metrics_of_two_datasets_joined_by_channel_and_month_and_a_derived_metric(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # CAC

        ```metrics cac_monthly
        metrics: [spend, new_customers, cac]
        by: [channel]
        grain: month
        ```

        ```metrics cac_total
        metrics: [cac]
        ```

        {{ big_value(cac_total, "cac") }}
    """})
    build_ok(project)
    rows = [(r["month"], r["channel"], r["spend"], r["new_customers"], r["cac"])
            for r in data_rows(project, "index", "cac_monthly")]
    # new customers by close month: Paid Jan A1, Paid Feb A5, Organic Feb A6; Organic had none in January
    assert rows == [("2026-01-01", "Organic", "120", "0", ""),
                    ("2026-01-01", "Paid", "500", "1", "500.0"),
                    ("2026-02-01", "Organic", "90", "1", "90.0"),
                    ("2026-02-01", "Paid", "800", "1", "800.0")]
    total = data_rows(project, "index", "cac_total")
    assert float(total[0]["cac"]) == pytest.approx((500 + 120 + 800 + 90) / 3)
    tile = article(page(project))
    assert 'title="Marketing spend per new customer."' in tile and ">CAC" in tile and ">$503</div>" in tile
    assert 'href="_metrics/#metric-cac"' in tile  # the tile links to the metric's definition


def test_where_applies_to_each_dataset_and_params_are_bound(tmp_path):
    project = metrics_site(tmp_path, {"reports/channels/[channel].md": """
        ---
        pages: select distinct channel from deals
        ---
        # {{ params.channel }}

        ```metrics totals
        metrics: [spend, new_customers, win_rate]
        where: "channel = $channel"
        ```

        {{ value(totals, "spend") }} and {{ value(totals, "win_rate") }}
    """, "reports/index.md": "# Home\n"})
    build_ok(project)
    assert "$1,300 and 40.0%" in re.sub(r"<[^>]+>", "", article(page(project, "/channels/paid/")))
    assert "$210 and 50.0%" in re.sub(r"<[^>]+>", "", article(page(project, "/channels/organic/")))


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


def test_show_sql_shows_the_compiled_sql_and_a_second_build_uses_the_cache(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        ---
        show_sql: true
        ---
        # SQL

        ```metrics wins
        metrics: [win_rate]
        by: [segment]
        ```

        {{ table(wins) }}
    """})
    first = build_ok(project)
    assert "queries: 1 run" in first
    shown = htmllib.unescape(article(page(project)))
    assert 'count(*) filter (where is_won) as "deals_won"' in shown
    assert '(cast("deals_won" as double) / nullif("deals_closed", 0)) as "win_rate"' in shown
    assert "queries: 0 run" in build_ok(project)


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
    diff = run_cli("versions", "diff", "two", "three", "--project", project)
    assert diff.exit_code == 0, diff.output
    assert "    Win rate: 57.1% -> 14.3% (-42.9%, -75.0%) [definition changed]" in diff.stdout.splitlines()
    older = run_cli("versions", "diff", "one", "two", "--project", project).stdout
    assert "    Pipeline created: $3,300 -> $3,800 (+$500, +15.2%) [data changed]" in older.splitlines()
    versions = json.loads((project / "build/versions.json").read_text())
    assert versions[0]["metrics"]["win_rate"] != versions[1]["metrics"]["win_rate"]
    assert versions[0]["metrics"]["pipeline"] == versions[1]["metrics"]["pipeline"]
    assert set(versions[0]["queries"]) == {"reports/index.md#t", "reports/index.md#big"}


# -- mistakes ---------------------------------------------------------------------------------------


def _errors(project: Path) -> list[str]:
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1, result.output
    return error_lines(result)


def test_a_cycle_among_derived_metrics_is_named(tmp_path):
    bad = METRICS_YML + '  a: {type: derived, expr: "b * 2"}\n  b: {type: derived, expr: "a / 2 + cac"}\n'
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    line = bad.splitlines().index('  a: {type: derived, expr: "b * 2"}') + 1
    assert _errors(project) == [f"sources/metrics.yml:{line}: metrics are computed from each other in a cycle: "
                                "a -> b -> a; one of them must not use the others"]


def test_an_unknown_column_is_an_error_at_its_line_in_metrics_yml(tmp_path):
    bad = METRICS_YML.replace("    expr: amount\n", "    expr: amout\n")
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    errors = _errors(project)
    line = bad.splitlines().index("    expr: amout") + 1
    assert len(errors) == 1 and errors[0].startswith(f"sources/metrics.yml:{line}: metric 'pipeline': expr: ")
    assert "amout" in errors[0] and "amount" in errors[0]  # DuckDB's "did you mean"


@pytest.mark.parametrize("change, expected", [
    ("  spend: {dataset: spend,", "metric 'spend': unknown dataset 'spnd' (datasets: deals, spend)"),
    ("agg: sum, expr: amount, format: usd0, label: Marketing", "metric 'spend': agg: expected one of sum, count, "
                                                               "count_distinct, avg, min, max, got 'total'"),
    ("    table: spend", "dataset 'spend': table 'spending' is neither a source table nor a model "
                       "(tables: deals, spend)"),
    ('expr: "spend / new_customers"', "metric 'cac': expr: 'new_customer' is not a metric"),
    ("format: pct1, label: Win rate", "metric 'win_rate': unknown key 'fromat' for a ratio metric"),
])
def test_mistakes_in_metrics_yml_name_the_line_and_what_was_expected(tmp_path, change, expected):
    replacements = {"  spend: {dataset: spend,": "  spend: {dataset: spnd,",
                    "agg: sum, expr: amount, format: usd0, label: Marketing":
                        "agg: total, expr: amount, format: usd0, label: Marketing",
                    "    table: spend": "    table: spending",
                    'expr: "spend / new_customers"': 'expr: "spend / new_customer"',
                    "format: pct1, label: Win rate": "fromat: pct1, label: Win rate"}
    bad = METRICS_YML.replace(change, replacements[change])
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if replacements[change].strip() in text)
    errors = _errors(project)
    assert len(errors) == 1 and errors[0].startswith(f"sources/metrics.yml:{line}: {expected}"), errors


def test_parse_metrics_reports_every_problem_and_keeps_nothing_half_valid():
    catalog, problems = parse_metrics("datasets:\n  d: {table: t}\nmetrics:\n  m: {dataset: d}\n"
                                      "  r: {type: ratio, numerator: m}\n  x: [1]\nextra: 1\n", {"t"})
    assert not catalog
    assert [(p.line, p.message) for p in problems] == [
        (7, "unknown section 'extra': expected datasets or metrics"),
        (4, "metric 'm': expected `agg:` (one of sum, count, count_distinct, avg, min, max)"),
        (5, "metric 'r': a ratio needs `denominator:` (a metric name)"),
        (6, "metric 'x': expected a mapping such as {dataset: ..., agg: sum, expr: ...}"),
    ]


def test_fence_mistakes_name_the_report_line(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Home

        ```metrics a
        metrics: [cac]
        by: [segment]
        ```

        ```metrics b
        metrics: [win_rat]
        ```

        ```metrics c
        metrics: [win_rate]
        grain: fortnight
        ```
    """})
    assert _errors(project) == [
        "reports/index.md:5: metrics 'a': by: dataset 'spend' (of metric 'spend') has no dimension 'segment' "
        "(its dimensions: channel); metrics of several datasets can only be grouped by columns they all have",
        "reports/index.md:9: metrics 'b': metrics: unknown metric 'win_rat' (metrics of sources/metrics.yml: cac, "
        "deals_closed, deals_won, new_customers, pipeline, spend, win_rate)",
        "reports/index.md:14: metrics 'c': grain: expected one of day, week, month, quarter, year, got 'fortnight'",
    ]


def test_a_metrics_fence_without_metrics_yml_says_where_to_define_them(site):
    project = site({"reports/index.md": "# Home\n\n```metrics m\nmetrics: [x]\n```\n"})
    assert _errors(project) == ["reports/index.md:3: metrics 'm': there is no sources/metrics.yml: define the "
                                "metrics there first (see the README, Metrics)"]


# -- the command line -------------------------------------------------------------------------------


def test_metrics_list_and_query_print_the_catalog_and_the_numbers(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"})
    listed = run_cli("metrics", "list", "--project", project)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["name", "label", "type", "format", "dataset", "owner"]
    assert lines[2].split() == ["pipeline", "Pipeline", "created", "simple", "usd0", "deals", "(deals)", "Revenue",
                                "operations"]
    assert ["win_rate", "Win", "rate", "ratio", "pct1", "deals_won", "/", "deals_closed", "-"] in [
        line.split() for line in lines]
    assert lines[-1] == "(7 rows)"
    queried = run_cli("metrics", "query", "win_rate", "cac", "--by", "channel", "--grain", "month",
                      "--project", project)
    assert queried.exit_code == 0, queried.output
    assert queried.stdout.splitlines() == [
        "channel  month       win_rate  cac",
        "-------  ----------  --------  ----",
        "Organic  2026-01-01  –         –",
        "Paid     2026-01-01  100.0%    $500",
        "Organic  2026-02-01  50.0%     $90",
        "Paid     2026-02-01  25.0%     $800",
        "(4 rows)",
    ]
    filtered = run_cli("metrics", "query", "win_rate", "--where", "segment = 'SMB'", "--project", project)
    assert filtered.stdout.splitlines()[2] == "40.0%"  # SMB: deals 1 and 6 won of 1, 2, 3, 6 and 7 closed
    sql = run_cli("metrics", "query", "spend", "--by", "channel", "--sql", "--project", project)
    assert 'sum(amount) as "spend"' in sql.stdout and "group by all" in sql.stdout
    unknown = run_cli("metrics", "query", "spend", "--by", "segment", "--project", project)
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == ("by: dataset 'spend' (of metric 'spend') has no dimension 'segment' "
                                      "(its dimensions: channel)")


def test_metrics_commands_without_metrics_yml_say_so(site):
    result = run_cli("metrics", "list", "--project", site())
    assert result.exit_code == 2
    assert "sources/metrics.yml: no metrics defined" in result.stderr


def test_weeks_start_on_monday_and_since_until_bound_each_metrics_time_column(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Weeks

        ```metrics weekly
        metrics: [pipeline, deals_won]
        grain: week
        since: 2026-01-05
        until: 2026-02-01
        ```

        {{ table(weekly) }}
    """})
    build_ok(project)
    rows = [(r["week"], r["pipeline"], r["deals_won"]) for r in data_rows(project, "index", "weekly")]
    # pipeline by creation date (deal 1, created on Friday 2026-01-02, is before `since`);
    # deals won by close date (deal 1 closed on Tuesday 2026-01-20: the week of Monday 2026-01-19)
    assert rows == [("2026-01-05", "500", "0"), ("2026-01-12", "400", "0"), ("2026-01-19", "250", "1")]


def test_a_yaml_mistake_in_metrics_yml_names_its_line(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"},
                           metrics="datasets:\n  deals: {table: deals\nmetrics: {}\n")
    errors = _errors(project)
    assert len(errors) == 1 and errors[0].startswith("sources/metrics.yml:3: not valid YAML: "), errors


def test_check_runs_the_metrics_and_writes_nothing(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n\n```metrics t\nmetrics: [cac]\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert "checked 1 pages" in result.stdout and not (project / "build").exists()


def test_metrics_export_writes_an_ossie_semantic_model(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"})
    result = run_cli("metrics", "export", "--format", "ossie", "--output", tmp_path / "model.yaml",
                     "--project", project)
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((tmp_path / "model.yaml").read_text())
    assert document["version"] == "0.2.0.dev0" and document["dialects"] == ["ANSI_SQL"]
    (model,) = document["semantic_model"]
    assert model["name"] == "Metrics Site"
    deals = next(d for d in model["datasets"] if d["name"] == "deals")
    assert deals["source"] == "deals"
    assert [(f["name"], f["dimension"]["is_time"]) for f in deals["fields"]] == [
        ("created_at", True), ("close_date", True), ("channel", False), ("segment", False)]
    metrics = {m["name"]: m for m in model["metrics"]}

    def sql(name):
        (dialect,) = metrics[name]["expression"]["dialects"]
        assert dialect["dialect"] == "ANSI_SQL"
        return dialect["expression"]
    assert sql("pipeline") == "SUM(deals.amount)"
    assert sql("win_rate") == ("CAST(COUNT(CASE WHEN deals.is_won THEN 1 END) AS DOUBLE PRECISION) / "
                               "NULLIF(COUNT(CASE WHEN deals.is_closed THEN 1 END), 0)")
    assert sql("cac") == ("CAST(SUM(spend.amount) AS DOUBLE PRECISION) / "
                          "CAST(COUNT(DISTINCT CASE WHEN deals.is_won THEN deals.account END) AS DOUBLE PRECISION)")
    assert metrics["cac"]["description"] == "Marketing spend per new customer."
    (extension,) = metrics["cac"]["custom_extensions"]
    assert extension["vendor_name"] == "GTMSITE"
    assert json.loads(extension["data"]) == {"label": "CAC", "type": "derived", "format": "usd0", "down_is_good": True,
                                             "owner": "Marketing"}
    unknown = run_cli("metrics", "export", "--format", "lookml", "--project", project)
    assert unknown.exit_code == 2 and "--format: expected ossie, got 'lookml'" in unknown.stderr


def test_a_metrics_fence_may_read_another_query_of_the_page_in_its_where(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Home

        ```metrics paid
        metrics: [spend, win_rate]
        where: "channel in (select channel from m1)"
        ```

        ```sql m1
        select 'Paid' as channel
        ```

        {{ value(paid, "spend") }} / {{ value(paid, "win_rate") }}
    """})
    build_ok(project)
    assert "$1,300 / 40.0%" in re.sub(r"<[^>]+>", "", article(page(project)))
