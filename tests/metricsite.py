"""A small site for the metrics tests: deals and marketing spend with hand-countable numbers, and
sources/metrics.yml defining metrics over both."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import error_lines, make_site, run_cli

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


def build_errors(project: Path) -> list[str]:
    """The problem lines of a build that must fail."""
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1, result.output
    return error_lines(result)
