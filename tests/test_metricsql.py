"""`metrics` fences compiled to SQL: ratios of sums, datasets joined on by columns and periods, derived
metrics, where/since/until, and mistakes located in the report."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from conftest import article, build_ok, page
from metricsite import DEALS, build_errors, data_rows, metrics_site


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
    assert build_errors(project) == [
        "reports/index.md:5: metrics 'a': by: dataset 'spend' (of metric 'spend') has no dimension 'segment' "
        "(its dimensions: channel); metrics of several datasets can only be grouped by columns they all have",
        "reports/index.md:9: metrics 'b': metrics: unknown metric 'win_rat' (metrics of sources/metrics.yml: cac, "
        "deals_closed, deals_won, new_customers, pipeline, spend, win_rate)",
        "reports/index.md:14: metrics 'c': grain: expected one of day, week, month, quarter, year, got 'fortnight'",
    ]

def test_a_metrics_fence_without_metrics_yml_says_where_to_define_them(site):
    project = site({"reports/index.md": "# Home\n\n```metrics m\nmetrics: [x]\n```\n"})
    assert build_errors(project) == ["reports/index.md:3: metrics 'm': there is no sources/metrics.yml: define the "
                                "metrics there first (see the README, Metrics)"]


def test_a_null_group_is_one_group_across_the_joined_subqueries(tmp_path):
    deals = DEALS + "9,A9,Paid,,700,2026-01-03,2026-01-25,true,true\n"  # no segment
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Segments

        ```metrics by_segment
        metrics: [pipeline, deals_won]
        by: [segment]
        since: 2026-01-01
        ```

        {{ table(by_segment) }}
    """}, deals=deals)
    build_ok(project)
    rows = [(r["segment"], r["pipeline"], r["deals_won"]) for r in data_rows(project, "index", "by_segment")]
    # pipeline by creation date, deals won by close date: two subqueries, one row per segment
    assert rows == [("Enterprise", "2300", "1"), ("SMB", "1000", "2"), ("", "700", "1")]


def test_an_sql_mistake_in_a_fence_where_is_an_error_at_the_fence(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": """
        # Home

        Text.

        ```metrics t
        metrics: [win_rate]
        where: "segmnt = 'SMB'"
        ```
    """})
    errors = build_errors(project)
    assert len(errors) == 1 and errors[0].startswith("reports/index.md:5: query 't': Binder Error: "), errors
    assert "segmnt" in errors[0]
