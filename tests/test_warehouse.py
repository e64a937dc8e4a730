"""External databases (SPEC section 4), against real servers: PostgreSQL, Spark Connect, SQLite and
DuckDB files. Source queries run on the database; results are exact, never stale, and no secret
reaches the site, the cache or any message."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from conftest import build_ok, error_lines, make_site, page, run_cli, run_gtmsite, site_root

ENV = "CRM_DATABASE_URL"


def pg_site(root: Path, files: dict[str, str], refresh: str = "always") -> Path:
    toml = f'[site]\ntitle = "Warehouse"\n\n[sources.crm]\nurl = "env:{ENV}"\nrefresh = "{refresh}"\n'
    return make_site(root, {"site.toml": toml, **files})


def table_name() -> str:
    return "t_" + uuid.uuid4().hex[:8]


def all_bytes_under(*folders: Path) -> bytes:
    return b"".join(p.read_bytes() for folder in folders if folder.exists() for p in sorted(folder.rglob("*"))
                    if p.is_file())


# -- PostgreSQL --------------------------------------------------------------------------------


def test_a_row_inserted_in_postgres_is_on_the_next_page(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int, amount numeric(12,2))", f"insert into {deals} values (1, 10.50)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/open_deals.sql": f"select count(*) as deals, sum(amount) as amount from {deals}\n",
        "reports/index.md": "# Pipeline\n\n```sql d\nselect * from crm.open_deals\n```\n\n"
                            "Open deals: {{ d.first.deals }}, worth {{ d.first.amount }}.\n"})
    env = {ENV: postgres.url}
    build_ok_env(project, env)
    assert "Open deals: 1, worth 10.50." in page(project)
    postgres.execute(f"insert into {deals} values (2, 4.25)")
    build_ok_env(project, env)
    assert "Open deals: 2, worth 14.75." in page(project)


def test_refresh_1d_keeps_the_stored_result_and_says_so(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int)", f"insert into {deals} values (1)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/deals.sql": f"select count(*) as n from {deals}",
        "reports/index.md": "```sql d\nselect n from crm.deals\n```\n\nDeals: {{ d.first.n }}.\n"}, refresh="1d")
    env = {ENV: postgres.url}
    build_ok_env(project, env)
    postgres.execute(f"insert into {deals} values (2)")
    result = run_cli("build", "--project", project, env=env)
    assert result.exit_code == 0, result.output
    assert "Deals: 1." in page(project)
    assert re.search(r'note: sources/crm/deals\.sql: crm\.deals: using the result fetched \d+ s ago '
                     r'\(refresh = "1d"\); `gtmsite sources --refresh` fetches it now', result.stderr), result.stderr
    refreshed = run_cli("sources", "--refresh", "--project", project, env=env)
    assert refreshed.exit_code == 0, refreshed.output
    build_ok_env(project, env)
    assert "Deals: 2." in page(project)


def test_types_are_exact(tmp_path, postgres):
    money = table_name()
    postgres.execute(f"create table {money} (id bigint, amount numeric(12,2), booked timestamptz, day date)",
                     f"insert into {money} values (9007199254740993, 0.10, '2026-03-01 12:00:00+02', '2026-03-01'),"
                     "(2, 0.20, '2026-03-02 00:00:00+00', '2026-03-02')")
    project = pg_site(tmp_path / "site", {
        "sources/crm/money.sql": f"select * from {money}",
        "sources/crm/total.sql": f"select sum(amount) as total, avg(amount) as mean from {money}",
        "reports/index.md": """
            ```sql t
            select total, typeof(total) as total_type, mean from crm.total
            ```

            ```sql types
            select typeof(id) as id_t, typeof(amount) as amount_t, typeof(booked) as booked_t, typeof(day) as day_t,
                   max(id) as big
            from crm.money group by all
            ```

            Total {{ t.first.total }} ({{ t.first.total_type }}); {{ types.first.amount_t }}, {{ types.first.id_t }},
            {{ types.first.booked_t }}, {{ types.first.day_t }}; big {{ types.first.big }}.
            """})
    build_ok_env(project, {ENV: postgres.url})
    html = page(project)
    assert "Total 0.30 (DECIMAL(38,2)); DECIMAL(12,2), BIGINT,\nTIMESTAMP WITH TIME ZONE, DATE; big 9007199254740993." \
        in html
    csv = (site_root(project) / "_data" / "index" / "t.csv").read_text()
    assert csv.splitlines()[1] == '0.30,"DECIMAL(38,2)",0.15000000000000000000'  # avg(): PostgreSQL's own scale


def test_the_password_is_nowhere(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int)", f"insert into {deals} values (1)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/deals.sql": f"select count(*) as n from {deals}",
        "sources/crm/broken.sql": "select nothing_here",
        "reports/index.md": "```sql d\nselect * from crm.deals\n```\n\n{{ d.first.n }} deals\n"})
    env = {ENV: postgres.url, "CI": ""}
    failed = run_gtmsite("build", "--project", project, "--debug", env=env)
    assert failed.returncode == 1
    (project / "sources/crm/broken.sql").unlink()
    built = run_gtmsite("build", "--project", project, "--debug", env=env)
    assert built.returncode == 0, built.stderr
    listed = run_gtmsite("sources", "--project", project, env=env)
    assert listed.returncode == 0, listed.stderr
    secret = postgres.password.encode()
    logs = (failed.stdout + failed.stderr + built.stdout + built.stderr + listed.stdout + listed.stderr).encode()
    assert secret not in logs
    assert secret not in all_bytes_under(project)  # the site, the cache, versions.json
    assert (project / ".gtmsite-cache" / "sources" / "crm").is_dir()
    record = json.loads((project / "build" / "versions.json").read_text())[0]
    assert list(record["sources"]) == ["crm.deals"]
    assert record["sources"]["crm.deals"]["rows"] == 1


def test_a_source_query_error_names_its_file_and_line_and_others_still_report(tmp_path, postgres):
    project = pg_site(tmp_path / "site", {
        "sources/crm/x.sql": "select id,\n       amount\nfrom no_such_table\n",
        "sources/crm/y.sql": "select 1 as one,\n  2 +* 3 as bad\n",
        "reports/index.md": "```sql x\nselect * from crm.x\n```\n"})
    result = run_cli("build", "--project", project, env={ENV: postgres.url})
    assert result.exit_code == 1
    assert error_lines(result) == [
        'sources/crm/x.sql:3: source query on PostgreSQL [sources.crm]: relation "no_such_table" does not exist',
        "sources/crm/y.sql:2: source query on PostgreSQL [sources.crm]: operator does not exist: integer +* integer; "
        "No operator matches the given name and argument types. You might need to add explicit type casts."]
    assert not (project / "build" / "versions.json").exists()


def test_an_unreachable_database_names_the_host_not_the_password(tmp_path):
    port = _closed_port()
    project = pg_site(tmp_path / "site", {"sources/crm/x.sql": "select 1 as one",
                                          "reports/index.md": "# x\n"})
    url = f"postgresql://analyst:s3cret-never-shown@127.0.0.1:{port}/crm"
    result = run_cli("build", "--project", project, env={ENV: url})
    assert result.exit_code == 1
    assert "s3cret-never-shown" not in result.output
    (line,) = error_lines(result)
    assert line.startswith(f"site.toml:4: [sources.crm]: cannot connect to the PostgreSQL database at 127.0.0.1:{port} "
                           f"(postgresql://analyst@127.0.0.1:{port}/crm): cannot reach the PostgreSQL server at "
                           f"127.0.0.1:{port} (Connection refused)")


def test_a_wrong_password_is_not_repeated(tmp_path, postgres):
    project = pg_site(tmp_path / "site", {"sources/crm/x.sql": "select 1 as one", "reports/index.md": "# x\n"})
    url = postgres.url.replace(postgres.password, "wrong-pass-1234")
    result = run_cli("build", "--project", project, env={ENV: url})
    assert result.exit_code == 1
    assert "wrong-pass-1234" not in result.output and postgres.password not in result.output
    assert 'password authentication failed for user "analyst"' in result.output
    assert f"(postgresql://analyst@127.0.0.1:{postgres.port}/crm)" in result.output


def test_a_missing_driver_names_its_pip_command(tmp_path):
    blocker = make_site(tmp_path / "blocker", {"adbc_driver_postgresql/__init__.py":
                                               "raise ImportError('No module named adbc_driver_postgresql')\n"})
    project = pg_site(tmp_path / "site", {"sources/crm/x.sql": "select 1 as one", "reports/index.md": "# x\n"})
    result = run_gtmsite("build", "--project", project,
                         env={ENV: "postgresql://u:p@127.0.0.1:1/db", "PYTHONPATH": str(blocker)})
    assert result.returncode == 2
    assert "site.toml:4: [sources.crm]: reading a PostgreSQL database needs its driver: " \
           "pip install 'gtmsite[postgres]'" in result.stderr


def test_a_missing_sqlalchemy_dialect_driver_names_it(tmp_path):
    project = pg_site(tmp_path / "site", {"sources/crm/x.sql": "select 1 as one", "reports/index.md": "# x\n"})
    result = run_cli("build", "--project", project, env={ENV: "mysql+pymysql://u:topsecret@127.0.0.1:1/db"})
    assert result.exit_code == 2, result.output
    assert "pip install 'gtmsite[sqlalchemy]' pymysql" in result.output
    assert "topsecret" not in result.output


def test_an_unset_variable_is_a_configuration_error(tmp_path):
    project = pg_site(tmp_path / "site", {"sources/crm/x.sql": "select 1 as one", "reports/index.md": "# x\n"})
    result = run_cli("build", "--project", project, env={ENV: ""})
    assert result.exit_code == 2
    assert error_lines(result) == [f"site.toml:4: [sources.crm] url: environment variable {ENV} is not set; set it "
                                   "to the database URL (e.g. postgresql://user:password@host:5432/db)"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_ok_env(project: Path, env: dict[str, str]) -> str:
    result = run_cli("build", "--project", project, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout or "ok"
