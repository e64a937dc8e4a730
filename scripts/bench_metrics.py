"""A metrics fence over the 1M-row events table vs the hand-written SQL for the same numbers.

  python scripts/bench_metrics.py SITE     (SITE made by ../shared/bench/gen_site.py SITE --pages 0)
Times (1) the compiled SQL against the hand-written SQL in DuckDB, and (2) whole `gtmsite build --no-cache`
of a page with the metrics fence against a page with the SQL fence. It writes sources/metrics.yml and
reports/index.md into SITE.
"""
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from gtmsite.metrics import parse_metrics
from gtmsite.metricsql import MetricRequest, compile_request

METRICS = """\
datasets:
  events:
    table: events
    time: ts
    dimensions: [event_name, account_id]
metrics:
  events: {dataset: events, agg: count, format: num0}
  active_users: {dataset: events, agg: count_distinct, expr: user_id, format: num0}
  logins: {dataset: events, agg: count, filter: "event_name = 'login'", format: num0}
  events_per_user: {type: derived, expr: "events / active_users", format: num2}
  login_share: {type: ratio, numerator: logins, denominator: events, format: pct1}
"""

HAND = """select event_name, cast(date_trunc('month', ts) as date) as month,
       count(*) as events, count(distinct user_id) as active_users,
       count(*) / count(distinct user_id) as events_per_user,
       count(*) filter (where event_name = 'login') / count(*) as login_share
from events group by all order by month, event_name"""

HAND_TOTAL = """select date_trunc('month', ts)::date as month, count(*) as events,
       count(distinct user_id) as active_users,
       count(*) / count(distinct user_id) as events_per_user,
       count(*) filter (where event_name = 'login') / count(*) as login_share
from events group by all order by month"""


def timed(con, variants: dict[str, str], rounds: int = 15) -> dict[str, list[float]]:
    """Each query run `rounds` times, interleaved, so all see the same load of a shared machine."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, sql in variants.items():
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times[name].append(time.perf_counter() - started)
    return times


def main(site: Path) -> None:
    (site / "sources" / "metrics.yml").write_text(METRICS)
    catalog, problems = parse_metrics(METRICS, {"events", "accounts", "opportunities"})
    assert not problems, problems
    con = duckdb.connect()
    con.execute(f"create table events as select * from read_csv('{site / 'sources' / 'events.csv'}')")
    print("rows:", con.execute("select count(*) from events").fetchone()[0])
    metrics = ("events", "active_users", "events_per_user", "login_share")
    variants = {"metrics fence by event_name, month": compile_request(MetricRequest(metrics, ("event_name",), "month"),
                                                                      catalog),
                "hand-written by event_name, month": HAND,
                "metrics fence by month": compile_request(MetricRequest(metrics, (), "month"), catalog),
                "hand-written by month": HAND_TOTAL}
    same = _rounded(con.execute(variants["metrics fence by month"]).fetchall()) == _rounded(
        con.execute(HAND_TOTAL).fetchall())
    print("same numbers:", same)
    for name, times in timed(con, variants).items():
        print(f"{name}: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms")
    reports = site / "reports"
    fence = "```metrics m\nmetrics: [events, active_users, events_per_user, login_share]\nby: [event_name]\n" \
            "grain: month\n```\n\n{{ table(m) }}\n"
    hand = f"```sql m\n{HAND}\n```\n\n{{{{ table(m) }}}}\n"
    runs = {"metrics fence": [], "hand-written SQL": []}
    for _ in range(5):  # alternating, so both see the same load of a shared machine
        for label, body in (("metrics fence", fence), ("hand-written SQL", hand)):
            shutil.rmtree(site / "build", ignore_errors=True)
            (reports / "index.md").write_text("# Bench\n\n" + body)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "gtmsite", "build", "--no-cache", "-q", "-p", str(site)],
                                 capture_output=True, text=True, env={"CI": "true", "PATH": "/usr/bin:/bin"})
            runs[label].append(time.perf_counter() - t)
            assert out.returncode == 0, out.stderr
    for label, times in runs.items():
        print(f"build --no-cache, one page ({label}): median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f})")


def _rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(float(v), 9) if isinstance(v, (int, float)) else v for v in row) for row in rows]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
