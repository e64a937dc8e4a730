"""Benchmarks of external sources (not tests): a throwaway PostgreSQL cluster and, with --spark, a Spark
Connect server, both started here and stopped at the end.

    python scripts/bench_warehouse.py [--rows 1000000] [--spark]

Prints: the time a build spends pulling N rows (int, text, numeric(12,2), timestamptz) from PostgreSQL,
split into stages; an aggregate pushed down (the database's own time vs. the build's); a second build
with the source unchanged (pages re-rendered); and with --spark a 10M-row aggregation end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import warehouse_fixtures as fx  # noqa: E402 - the tests' own server fixtures, called as plain generators


def timed(label: str, fn):
    started = time.perf_counter()
    value = fn()
    print(f"{label}: {time.perf_counter() - started:.3f} s")
    return value


def build(project: Path, env: dict[str, str]) -> tuple[float, str]:
    from gtmsite.release import build_site

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        started = time.perf_counter()
        release = build_site(project)
        seconds = time.perf_counter() - started
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    reused = sum(1 for o in release.result.outcomes if o.reused is not None)
    return seconds, f"{len(release.result.pages)} pages, {reused} linked from the previous version, " \
                    f"{release.result.queries_run} queries run"


def site(root: Path, env: str, sql: dict[str, str], report: str, name: str = "crm") -> Path:
    root.mkdir(parents=True)
    (root / "site.toml").write_text(f'[sources.{name}]\nurl = "env:{env}"\n' if sql else '[site]\ntitle = "Bench"\n')
    (root / "sources" / name).mkdir(parents=True)
    for stem, text in sql.items():
        (root / "sources" / name / f"{stem}.sql").write_text(text)
    (root / "reports").mkdir()
    (root / "reports" / "index.md").write_text(report)
    (root / "reports" / "other.md").write_text("# Other\n\n```sql o\nselect 1 as one\n```\n")
    return root


def postgres_bench(rows: int, work: Path) -> None:
    import adbc_driver_postgresql.dbapi as pg

    fixture = fx.postgres._get_wrapped_function()()
    server = next(fixture)
    try:
        server.execute("create table big (id int, name text, amount numeric(12,2), at timestamptz)",
                       f"insert into big select i, 'name ' || i, (i % 100000) / 100.0, "
                       f"timestamptz '2026-01-01' + i * interval '1 second' from generate_series(1, {rows}) i",
                       "analyze big")
        env = {"CRM_DATABASE_URL": server.url}
        with pg.connect(server.url) as con, con.cursor() as cur:
            times = []
            for _ in range(3):  # the database's own time for the aggregate (with one round trip), best of 3
                started = time.perf_counter()
                cur.execute("select count(*) as n, sum(amount) as total, avg(amount) as mean from big")
                cur.fetch_arrow_table()
                times.append(time.perf_counter() - started)
            db_ms = min(times) * 1000
            started = time.perf_counter()
            cur.execute("select * from big")
            table = cur.fetch_arrow_table()
            fetch_only = time.perf_counter() - started
        from gtmsite.warehouse.arrow import digest, normalize
        from gtmsite.warehouse.store import write_parquet

        normal = timed("  normalize (NUMERIC -> DECIMAL)", lambda: normalize(table))
        timed("  content hash", lambda: digest(normal))
        timed("  write Parquet", lambda: write_parquet(normal, work / "x.parquet"))
        print(f"  ADBC fetch of {rows:,} rows alone: {fetch_only:.3f} s")

        report = "```sql n\nselect count(*) as n from crm.big\n```\n\n{{ n.first.n }} rows\n"
        baseline = site(work / "base", "X", {}, report.replace("crm.big", "range(1)"), name="none")
        base_seconds, _ = build(baseline, {})
        project = site(work / "pull", "CRM_DATABASE_URL", {"big": "select * from big"}, report)
        seconds, info = build(project, env)
        print(f"pull {rows:,} rows: build {seconds:.2f} s vs {base_seconds:.2f} s without the source "
              f"(+{seconds - base_seconds:.2f} s); {info}")
        seconds, info = build(project, env)
        print(f"second build, source unchanged: {seconds:.2f} s; {info}")

        agg = site(work / "agg", "CRM_DATABASE_URL",
                   {"totals": "select count(*) as n, sum(amount) as total, avg(amount) as mean from big"},
                   "```sql t\nselect * from crm.totals\n```\n\n{{ t.first.total }}\n")
        seconds, _ = build(agg, env)
        agg_base, _ = build(site(work / "aggbase", "X", {}, "```sql t\nselect 1 as total\n```\n\n{{ t.first.total }}\n",
                                 name="none"), {})
        print(f"aggregate pushed down: database {db_ms:.0f} ms; build {seconds:.2f} s vs {agg_base:.2f} s "
              f"without the source (+{(seconds - agg_base) * 1000:.0f} ms)")
    finally:
        next(fixture, None)


def spark_bench(work: Path) -> None:
    fixture = fx.spark._get_wrapped_function()()
    server = next(fixture)
    try:
        print(f"Spark Connect server start: {server.start_seconds:.1f} s")
        project = site(work / "spark", "LAKE_URL", {
            "agg": "select id % 10 as k, count(*) as n, sum(id) as total from range(10000000) group by id % 10"},
            "```sql a\nselect sum(n) as n from lake.agg\n```\n\n{{ a.first.n }}\n", name="lake")
        seconds, _ = build(project, {"LAKE_URL": server.url})
        print(f"Spark 10M-row aggregation, build end to end: {seconds:.2f} s")
        seconds, _ = build(project, {"LAKE_URL": server.url})
        print(f"  again (warm server): {seconds:.2f} s")
    finally:
        next(fixture, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--spark", action="store_true")
    args = parser.parse_args()
    os.environ["GTMSITE_REQUIRE_SERVICES"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        if args.rows:
            postgres_bench(args.rows, Path(folder))
        if args.spark:
            spark_bench(Path(folder))


if __name__ == "__main__":
    main()
