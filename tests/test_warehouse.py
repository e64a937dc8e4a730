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
        "sources/crm/spans.sql": "select interval '1 day 2 hours' as span",  # no Parquet type in pyarrow
        "reports/index.md": """
            ```sql t
            select total, typeof(total) as total_type, mean from crm.total
            ```

            ```sql types
            select typeof(id) as id_t, typeof(amount) as amount_t, typeof(booked) as booked_t, typeof(day) as day_t,
                   max(id) as big
            from crm.money group by all
            ```

            ```sql spans
            select typeof(span) as t, span + date '2026-01-01' as later from crm.spans
            ```

            Spans {{ spans.first.t }} {{ spans.first.later }}.
            Total {{ t.first.total }} ({{ t.first.total_type }}); {{ types.first.amount_t }}, {{ types.first.id_t }},
            {{ types.first.booked_t }}, {{ types.first.day_t }}; big {{ types.first.big }}.
            """})
    build_ok_env(project, {ENV: postgres.url})
    html = page(project)
    assert "Spans INTERVAL 2026-01-02 02:00:00." in html
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
        "reports/index.md": "```sql d\nselect * from crm.deals\n```\n\n{{ d.first.n }} deals\n\n"
                            "```sql dbs\nselect database_name, path from duckdb_databases()\n```\n\n"
                            "{{ table(dbs) }}\n\n```sql settings\nselect name, value from duckdb_settings()\n```\n\n"
                            "{{ table(settings) }}\n"})
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
    assert "autoinstall_known_extensions" in page(project)  # the settings were published, without a secret
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


def test_unchanged_source_result_rerenders_no_page_and_changes_are_listed(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int)", f"insert into {deals} values (1)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/deals.sql": f"select count(*) as n from {deals}",
        "reports/index.md": "```sql d\nselect n from crm.deals\n```\n\nDeals: {{ d.first.n }}.\n",
        "reports/other.md": "# Other\n\n```sql o\nselect 1 as one\n```\n"})
    env = {ENV: postgres.url}
    build_ok_env(project, env)
    second = build_ok_env(project, env)
    assert "queries: 0 run" in second
    v1, v2 = (v["id"] for v in reversed(json.loads((project / "build/versions.json").read_text())))
    for url in ("index.html", "other/index.html"):  # linked from the previous version, not rendered again
        assert (project / "build/v" / v1 / url).stat().st_ino == (project / "build/v" / v2 / url).stat().st_ino
    assert "Changed source results" not in (project / "build/v" / v2 / "_changes/index.html").read_text()
    postgres.execute(f"insert into {deals} values (2)")
    build_ok_env(project, env)
    versions = json.loads((project / "build/versions.json").read_text())
    assert versions[0]["sources"]["crm.deals"]["hash"] != versions[1]["sources"]["crm.deals"]["hash"]
    changes = page(project, "/_changes/")
    assert "Changed source results" in changes and "<code>crm.deals</code>: 1 → 1 rows" in changes
    v3 = versions[0]["id"]
    assert (project / "build/v" / v2 / "other/index.html").stat().st_ino == \
        (project / "build/v" / v3 / "other/index.html").stat().st_ino  # the page that does not read it
    diff = run_cli("versions", "diff", v2, v3, "--project", project)
    assert "~ source result crm.deals: 1 -> 1 rows" in diff.stdout


def test_gtmsite_sources_lists_results(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int, name text)", f"insert into {deals} values (1, 'a'), (2, 'b')")
    project = pg_site(tmp_path / "site", {"sources/crm/deals.sql": f"select * from {deals}",
                                          "sources/crm/names.sql": f"select name from {deals}",
                                          "reports/index.md": "# x\n"}, refresh="manual")
    env = {ENV: postgres.url}
    first = run_cli("sources", "--project", project, env=env)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["table", "rows", "columns", "time", "age", "changed", "refresh"]
    assert lines[1].split()[:3] == ["crm.deals", "2", "2"] and lines[1].split()[-2:] == ["new", "manual"]
    assert lines[2].split()[:3] == ["crm.names", "2", "1"]
    kept = run_cli("sources", "crm", "--project", project, env=env)
    assert [line.split()[-2:] for line in kept.stdout.splitlines()[1:]] == [["kept", "manual"]] * 2
    again = run_cli("sources", "--refresh", "--project", project, env=env)
    assert [line.split()[-2:] for line in again.stdout.splitlines()[1:]] == [["no", "manual"]] * 2
    unknown = run_cli("sources", "nope", "--project", project, env=env)
    assert unknown.exit_code == 2 and "no source 'nope' in site.toml (sources: crm)" in unknown.stderr


def test_the_preview_keeps_results_until_the_query_changes(tmp_path, postgres, monkeypatch):
    from gtmsite.preview import Preview

    deals = table_name()
    postgres.execute(f"create table {deals} (id int)", f"insert into {deals} values (1)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/deals.sql": f"select count(*) as n from {deals}",
        "reports/index.md": "```sql d\nselect n from crm.deals\n```\n\nDeals: {{ d.first.n }}.\n"})
    monkeypatch.setenv(ENV, postgres.url)
    site = tmp_path / "preview"
    preview = Preview(project, site)
    try:
        assert preview.rebuild().ok
        assert "Deals: 1." in (site / "index.html").read_text()
        postgres.execute(f"insert into {deals} values (2)")
        (project / "reports/index.md").write_text("```sql d\nselect n from crm.deals\n```\n\nNow: {{ d.first.n }}.\n")
        assert preview.rebuild().ok
        assert "Now: 1." in (site / "index.html").read_text()
        (project / "sources/crm/deals.sql").write_text(f"select count(*) as n\nfrom {deals}")
        assert preview.rebuild().ok
        assert "Now: 2." in (site / "index.html").read_text()
    finally:
        preview.close()


# -- the report database is locked down --------------------------------------------------------


def test_a_report_reading_the_environment_fails_located_and_publishes_nothing(tmp_path, postgres):
    deals = table_name()
    postgres.execute(f"create table {deals} (id int)", f"insert into {deals} values (1)")
    project = pg_site(tmp_path / "site", {
        "sources/crm/deals.sql": f"select count(*) as n from {deals}",
        "reports/index.md": """
            # Leak

            ```sql env
            select content from read_text('/proc/self/environ')
            ```

            ```sql dbs
            select getenv('CRM_DATABASE_URL') as url
            ```

            ```sql deals
            select * from crm.deals
            ```

            {{ env.first.content }} {{ dbs.first.url }}
            """})
    result = run_cli("build", "--project", project, env={ENV: postgres.url})
    assert result.exit_code == 1
    lines = error_lines(result)
    assert lines[0] == ("reports/index.md:4: query 'env': Permission Error: Cannot access file "
                        "\"/proc/self/environ\" - file system operations are disabled by configuration")
    assert lines[1].startswith("reports/index.md:8: query 'dbs': Catalog Error: Scalar Function with name getenv "
                               "does not exist!")
    assert not (project / "build" / "versions.json").exists()
    assert postgres.password.encode() not in all_bytes_under(project) + result.output.encode()


def test_settings_cannot_be_changed_back_and_nothing_is_downloaded(tmp_path):
    project = make_site(tmp_path / "site", {"site.toml": '[sources.elt]\nurl = "elt.duckdb"\n',
                                            "reports/index.md": "# x\n"})
    with duckdb.connect(str(project / "elt.duckdb")) as con:
        con.execute("create table accounts as select 1 as id")
    for sql, message in [
            ("set enable_external_access = true", "the configuration has been locked"),
            ("install httpfs", "file system operations are disabled"),
            ("select * from read_csv('https://example.com/x.csv')", "file system operations are disabled"),
            ("select st_point(1, 2)", 'Scalar Function with name "st_point" is not in the catalog'),
            ("attach 'other.duckdb' as other", "disabled")]:
        result = run_cli("query", sql, "--project", project)
        assert result.exit_code == 1 and message in result.stderr, (sql, result.output)
    settings = run_cli("query", "select name, value from duckdb_settings() where name in "
                       "('autoinstall_known_extensions', 'autoload_known_extensions', 'enable_external_access', "
                       "'lock_configuration') order by name", "--project", project, "--csv")
    assert settings.stdout.splitlines()[1:] == ["autoinstall_known_extensions,false", "autoload_known_extensions,false",
                                                "enable_external_access,false", "lock_configuration,true"]
    assert run_cli("query", "select count(*) from elt.accounts", "--project", project).exit_code == 0


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1) for a network namespace")
def test_a_build_with_external_sources_needs_no_network(tmp_path):
    """In a network namespace with no interface up, a build with a DuckDB file and a SQLite source works."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    project = _file_sources_site(tmp_path / "site")
    result = subprocess.run(["unshare", "-rn", sys.executable, "-m", "gtmsite", "build", "--project", str(project)],
                            capture_output=True, text=True, env={**os.environ, "CI": "true"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Accounts 2, users 2, tap 1." in page(project)


# -- files: DuckDB and SQLite --------------------------------------------------------------------


def _file_sources_site(root: Path) -> Path:
    project = make_site(root, {
        "site.toml": '[sources.elt]\nurl = "data/elt.duckdb"\n\n[sources.app]\nurl = "sqlite:///data/app.db"\n',
        "sources/elt/big_accounts.sql": "select count(*) as n from accounts where amount > 1",
        "sources/app/users.sql": "select id, name, score from users order by id",
        "reports/index.md": """
            ```sql a
            select count(*) as n from elt.accounts
            ```

            ```sql u
            select count(*) as n from app.users
            ```

            ```sql tap
            select count(*) as n from elt.tap.commits
            ```

            Accounts {{ a.first.n }}, users {{ u.first.n }}, tap {{ tap.first.n }}.
            """})
    (project / "data").mkdir()
    with duckdb.connect(str(project / "data/elt.duckdb")) as con:
        con.execute("create table accounts as select * from (values (1, 0.5), (2, 3.0)) t(id, amount)")
        con.execute("create schema tap; create table tap.commits as select 'abc' as sha")
    with sqlite3.connect(project / "data/app.db") as con:
        con.execute("create table users (id integer, name text, score real)")
        con.executemany("insert into users values (?, ?, ?)", [(1, "Ada", 1.5), (2, "Bo", None)])
    return project


def test_a_duckdb_file_changed_between_builds_is_read_again(tmp_path):
    project = _file_sources_site(tmp_path / "site")
    project.joinpath("reports/big.md").write_text("```sql b\nselect n from elt.big_accounts\n```\n\n"
                                                  "Big {{ b.first.n }}.\n")
    build_ok(project)
    assert "Accounts 2, users 2, tap 1." in page(project) and "Big 1." in page(project, "/big/")
    unchanged = build_ok(project)
    assert "queries: 0 run" in unchanged
    with duckdb.connect(str(project / "data/elt.duckdb")) as con:
        con.execute("insert into accounts values (3, 9.0)")
    build_ok(project)
    assert "Accounts 3, users 2, tap 1." in page(project) and "Big 2." in page(project, "/big/")


def test_sqlite_source_queries(tmp_path):
    project = _file_sources_site(tmp_path / "site")
    project.joinpath("reports/users.md").write_text(
        "```sql u\nselect name, score from app.users order by id\n```\n\n{{ table(u) }}\n"
        "{% for r in u %}[{{ r.name }}={{ r.score }}]{% endfor %}\n")
    build_ok(project)
    assert "[Ada=1.5][Bo=–]" in page(project, "/users/")
    with sqlite3.connect(project / "data/app.db") as con:
        con.execute("insert into users values (3, 'Cy', 2.0)")
    build_ok(project)
    assert "[Ada=1.5][Bo=–][Cy=2.0]" in page(project, "/users/")


def test_sqlalchemy_url(tmp_path):
    pytest.importorskip("sqlalchemy")
    project = make_site(tmp_path / "site", {
        "site.toml": '[sources.legacy]\nurl = "env:LEGACY_URL"\n',
        "sources/legacy/orders.sql": "select region, sum(total) as total\nfrom orders group by region order by region",
        "reports/index.md": "```sql o\nselect * from legacy.orders\n```\n\n"
                            "{% for r in o %}{{ r.region }}:{{ r.total }};{% endfor %}\n"})
    with sqlite3.connect(tmp_path / "legacy.db") as con:
        con.execute("create table orders (region text, total integer)")
        con.executemany("insert into orders values (?, ?)", [("EU", 3), ("US", 4), ("EU", 5)])
    result = run_cli("build", "--project", project, env={"LEGACY_URL": f"sqlite+pysqlite:///{tmp_path / 'legacy.db'}"})
    assert result.exit_code == 0, result.output
    assert "EU:8;US:4;" in page(project)
    project.joinpath("sources/legacy/orders.sql").write_text("select region,\n  sum(totl) from orders group by 1")
    failed = run_cli("build", "--project", project, env={"LEGACY_URL": f"sqlite+pysqlite:///{tmp_path / 'legacy.db'}"})
    assert error_lines(failed) == ["sources/legacy/orders.sql:1: source query on SQLAlchemy [sources.legacy]: "
                                   "no such column: totl"]


def test_a_data_file_in_a_database_folder_is_an_error(tmp_path):
    project = make_site(tmp_path / "site", {"site.toml": '[sources.crm]\nurl = "env:CRM_DATABASE_URL"\n',
                                            "sources/crm/accounts.csv": "id\n1\n", "reports/index.md": "# x\n"})
    result = run_cli("build", "--project", project, env={ENV: "postgresql://u@127.0.0.1:1/db"})
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/crm/accounts.csv: a data file in sources/crm/, the folder of the database [sources.crm] (it holds "
        ".sql queries run on that database); move the file to another folder under sources/"]


# -- Spark Connect -------------------------------------------------------------------------------


@pytest.mark.slow
def test_spark_source_aggregation(tmp_path, spark):
    project = make_site(tmp_path / "site", {
        "site.toml": '[sources.lake]\nurl = "env:LAKE_URL"\n',
        "sources/lake/by_bucket.sql": """
            select id % 3 as bucket, count(*) as n, sum(id) as total,
                   cast(sum(id) / 100 as decimal(18,2)) as hundredths
            from range(300000)
            group by id % 3
            order by bucket
            """,
        "sources/lake/broken.sql": "select 1 as one\nfrom no_such_table",
        "reports/index.md": "```sql b\nselect bucket, n, total, hundredths, typeof(hundredths) as t\n"
                            "from lake.by_bucket\n```\n\n"
                            "{% for r in b %}[{{ r.bucket }} {{ r.n }} {{ r.total }} {{ r.hundredths }} {{ r.t }}]"
                            "{% endfor %}\n"})
    env = {"LAKE_URL": spark.url}
    failed = run_cli("build", "--project", project, env=env)
    assert failed.exit_code == 1
    assert error_lines(failed) == [
        "sources/lake/broken.sql:2: source query on Spark [sources.lake]: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
        "`no_such_table` cannot be found. Verify the spelling and correctness of the schema and catalog. "
        "(SQLSTATE: 42P01)"]
    project.joinpath("sources/lake/broken.sql").unlink()
    result = run_cli("build", "--project", project, env=env)
    assert result.exit_code == 0, result.output
    assert "[0 100000 14999850000 149998500.00 DECIMAL(18,2)][1 100000 14999950000 149999500.00 DECIMAL(18,2)]" \
           "[2 100000 15000050000 150000500.00 DECIMAL(18,2)]" in page(project)


# -- URLs ----------------------------------------------------------------------------------------


def test_urls_engines_and_redaction():
    from gtmsite.warehouse.urls import engine_of, host_of, redact, scrub

    assert [engine_of(u) for u in ("postgresql://u@h/db", "postgres://h/db", "sqlite:///a.db", "data/x.duckdb",
                                   "duckdb:///x.duckdb", "sc://spark:15002", "trino://u@h:8080/hive",
                                   "mysql+pymysql://u:p@h/db")] == \
        ["postgres", "postgres", "sqlite", "duckdb", "duckdb", "spark", "sqlalchemy", "sqlalchemy"]
    assert engine_of("x.db", "sqlite") == "sqlite" and engine_of("mysql://h/db", "mysql") == "sqlalchemy"
    assert redact("postgresql://ann:pa55word@db.example:5432/crm?sslmode=require&password=other") == \
        "postgresql://ann@db.example:5432/crm?sslmode=require&password=%2A%2A%2A"
    assert redact("sc://spark:15002/;token=abcdef;user_id=ann") == "sc://spark:15002/;token=***;user_id=ann"
    assert host_of("postgresql://ann:pw@db.example:5432/crm") == "db.example:5432"
    url = "postgresql://ann:pa55word@db:5432/crm"
    assert scrub(f"failed to connect to {url}: bad password pa55word", url) == \
        "failed to connect to postgresql://ann@db:5432/crm: bad password ***"


def test_one_failing_source_does_not_hide_another(tmp_path):
    port = _closed_port()
    project = make_site(tmp_path / "site", {
        "site.toml": f'[sources.crm]\nurl = "env:{ENV}"\n\n[sources.app]\nurl = "sqlite:///app.db"\n',
        "sources/crm/x.sql": "select 1 as one",
        "sources/app/good.sql": "select 1 as one",
        "sources/app/bad.sql": "select nope from missing_table",
        "reports/index.md": "# x\n"})
    sqlite3.connect(project / "app.db").close()
    result = run_cli("build", "--project", project, env={ENV: f"postgresql://u:hidden-pw@127.0.0.1:{port}/db"})
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 2 and "hidden-pw" not in result.output
    assert lines[0].startswith("site.toml:1: [sources.crm]: cannot connect to the PostgreSQL database at "
                               f"127.0.0.1:{port}")
    assert lines[1] == "sources/app/bad.sql:1: source query on SQLite [sources.app]: no such table: missing_table"
