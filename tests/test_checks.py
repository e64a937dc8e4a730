"""Data checks: the grammar, every kind of check, warnings, and [[checks]] in site.toml."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from conftest import build_ok, error_lines, make_site, run_cli, site_root

from gtmsite.checks import Check, evaluate, parse_check
from gtmsite.errors import SiteError

LEADS_CSV = """\
id,email,stage,score,created_at
1,a@x.com,New,5,2026-01-10 08:00:00
2,,New,7,2026-01-12 09:30:00
3,,Qualified,-1,2026-01-15 10:00:00
4,d@x.com,Junk,9,2026-01-19 12:00:00
4,e@x.com,New,3,2026-01-20 12:00:00
"""

# 2026-01-25 12:00 UTC: the newest lead is 5 days old.
EPOCH = str(int(dt.datetime(2026, 1, 25, 12, tzinfo=dt.UTC).timestamp()))


def leads_site(tmp_path, checks: str, extra: dict[str, str] | None = None):
    body = "# Leads\n\n```sql q\nselect * from leads\n```\n\n```checks\n" + checks + "```\n"
    return make_site(tmp_path, {"site.toml": "", "sources/leads.csv": LEADS_CSV, "reports/index.md": body,
                                **(extra or {})})


def check_run(project, epoch: str = EPOCH):
    return run_cli("check", "--project", project, env={"SOURCE_DATE_EPOCH": epoch})


# -- grammar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("q: row_count > 0", dict(target="q", column=None, kind="row_count", op=">", threshold=0.0)),
    ("q: row_count>=10", dict(target="q", column=None, kind="row_count", op=">=", threshold=10.0)),
    ("q.email: not_null", dict(target="q", column="email", kind="not_null")),
    ("crm.accounts.id: unique", dict(target="crm.accounts", column="id", kind="unique")),
    ("q.score: min >= -1.5", dict(target="q", column="score", kind="min", op=">=", threshold=-1.5)),
    ("q.day: max <= '2026-12-31'", dict(target="q", column="day", kind="max", op="<=", threshold="2026-12-31")),
    ("q.stage: accepted_values [New, 'Closed Won']",
     dict(target="q", column="stage", kind="accepted_values", values=("New", "Closed Won"))),
    ("q.at: freshness < 3 days", dict(target="q", column="at", kind="freshness", op="<", seconds=3 * 86400)),
    ("q.at: freshness <= 12 hours", dict(target="q", column="at", kind="freshness", op="<=", seconds=12 * 3600)),
    ("warn: q.email: not_null", dict(target="q", column="email", kind="not_null", warn=True, text="q.email: not_null")),
])
def test_grammar(line, expected):
    check = parse_check(line, "reports/x.md", 4)
    assert (check.path, check.line) == ("reports/x.md", 4)
    for key, value in expected.items():
        assert getattr(check, key) == value, key


@pytest.mark.parametrize(("line", "message"), [
    ("row_count > 0", "check 'row_count > 0': expected `TABLE: row_count > N`"),
    ("q: looks fine", "check 'q: looks fine': expected `TABLE: row_count > N`"),
    ("q: not_null", "check 'q: not_null': name a column as q.COLUMN for 'not_null'"),
    ("q-x: row_count > 0", "check 'q-x: row_count > 0': 'q-x' is not a table or table.column name"),
    ("q: row_count > many", "check 'q: row_count > many': expected a number, got 'many'"),
    ("q.at: freshness < 3 fortnights", "check 'q.at: freshness < 3 fortnights': expected `TABLE: row_count > N`"),
])
def test_grammar_errors(line, message):
    with pytest.raises(SiteError) as info:
        parse_check(line, "reports/x.md", 9)
    assert (info.value.path, info.value.line) == ("reports/x.md", 9)
    assert info.value.message.startswith(message)


# -- evaluation --------------------------------------------------------------------------------


@pytest.fixture
def leads():
    con = duckdb.connect()
    con.execute("create table leads as select * from (values "
                "(1, 'a', 5, date '2026-01-20'), (2, null, 7, date '2026-01-21'), (2, 'c', null, null)) "
                "t(id, email, score, day)")
    yield con
    con.close()


NOW = dt.datetime(2026, 1, 24, tzinfo=dt.UTC)


@pytest.mark.parametrize(("line", "passed", "detail"), [
    ("leads: row_count = 3", True, "(3 rows)"),
    ("leads: row_count > 3", False, "(3 rows)"),
    ("leads.email: not_null", False, "(1 null)"),
    ("leads.id: not_null", True, "(0 nulls)"),
    ("leads.id: unique", False, "(1 duplicated value, e.g. 2 x2)"),
    ("leads.email: unique", True, "(no duplicates)"),
    ("leads.score: min >= 5", True, "(min is 5)"),
    ("leads.score: max < 7", False, "(max is 7)"),
    ("leads.day: max >= 2026-01-21", True, "(max is 2026-01-21)"),
    ("leads.email: accepted_values [a, c]", True, "(all values accepted)"),
    ("leads.email: accepted_values [a]", False, "(unexpected value: 'c')"),
    ("leads.day: freshness <= 3 days", True, "(newest is 2026-01-21 00:00, 3.0 days old)"),
    ("leads.day: freshness < 3 days", False, "(newest is 2026-01-21 00:00, 3.0 days old)"),
])
def test_evaluate(leads, line, passed, detail):
    result = evaluate(parse_check(line, "reports/x.md", 1), leads, "leads", NOW)
    assert (result.passed, result.detail) == (passed, detail)


def test_evaluate_unknown_column(leads):
    check = parse_check("leads.emial: not_null", "reports/x.md", 3)
    with pytest.raises(SiteError) as info:
        evaluate(check, leads, "leads", NOW)
    assert str(info.value) == ("reports/x.md:3: check 'leads.emial: not_null': column 'emial' is not in leads "
                               "(columns: id, email, score, day)")


def test_values_are_data_not_sql(leads):
    hostile = ("a'); drop table leads;--",)
    check = Check(text="x", target="leads", column="email", kind="accepted_values", values=hostile)
    assert not evaluate(check, leads, "leads", NOW).passed
    assert leads.execute("select count(*) from leads").fetchone() == (3,)


# -- in a build --------------------------------------------------------------------------------


def test_every_failing_check_is_reported_with_its_line_and_numbers(tmp_path):
    project = leads_site(tmp_path, """\
q: row_count > 10
q.email: not_null
q.id: unique
q.score: min >= 0
q.score: max < 9
q.stage: accepted_values [New, Qualified]
leads.created_at: freshness < 3 days
q: row_count >= 5
""")
    result = check_run(project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:14: check failed: leads.created_at: freshness < 3 days "
        "(newest is 2026-01-20 12:00, 5.0 days old)",
        "reports/index.md:8: check failed: q: row_count > 10 (5 rows)",
        "reports/index.md:9: check failed: q.email: not_null (2 nulls)",
        "reports/index.md:10: check failed: q.id: unique (1 duplicated value, e.g. 4 x2)",
        "reports/index.md:11: check failed: q.score: min >= 0 (min is -1)",
        "reports/index.md:12: check failed: q.score: max < 9 (max is 9)",
        "reports/index.md:13: check failed: q.stage: accepted_values [New, Qualified] (unexpected value: 'Junk')",
    ]
    assert result.stderr.splitlines()[-1].startswith("7 errors")


def test_passing_checks_build_and_are_counted(tmp_path):
    project = leads_site(tmp_path, """\
q: row_count = 5
q.stage: accepted_values [New, Qualified, Junk]
leads.created_at: freshness < 6 days
""")
    result = check_run(project)
    assert result.exit_code == 0, result.output
    assert "checks: 3 passed, 0 warned, 0 failed" in result.stdout


def test_freshness_follows_source_date_epoch(tmp_path):
    project = leads_site(tmp_path, "leads.created_at: freshness < 1 day\n")
    day_after = str(int(dt.datetime(2026, 1, 21, 6, tzinfo=dt.UTC).timestamp()))
    assert check_run(project, day_after).exit_code == 0
    result = check_run(project, EPOCH)
    assert result.exit_code == 1
    assert error_lines(result) == ["reports/index.md:8: check failed: leads.created_at: freshness < 1 day "
                                   "(newest is 2026-01-20 12:00, 5.0 days old)"]


def test_warn_lines_report_without_failing(tmp_path):
    project = leads_site(tmp_path, "warn: q.email: not_null\nwarn: leads: row_count > 100\nq: row_count > 0\n")
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert error_lines(result) == [
        "reports/index.md:9: check warning: leads: row_count > 100 (5 rows)",
        "reports/index.md:8: check warning: q.email: not_null (2 nulls)",
    ]
    assert "checks: 1 passed, 2 warned, 0 failed" in result.stdout
    assert (site_root(project) / "index.html").exists()


def test_warnings_are_shown_when_the_build_fails(tmp_path):
    project = leads_site(tmp_path, "warn: q.email: not_null\nq: row_count > 100\n")
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:8: check warning: q.email: not_null (2 nulls)",
        "reports/index.md:9: check failed: q: row_count > 100 (5 rows)",
    ]


def test_site_toml_checks(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 0\n", {"site.toml": """
        [[checks]]
        table = "leads"
        check = "row_count > 100"

        [[checks]]
        table = "leads.email"
        check = "not_null"
        warn = true

        [[checks]]
        table = "leads.id"
        check = "not_null"
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "site.toml:5: check warning: leads.email: not_null (2 nulls)",
        "site.toml:1: check failed: leads: row_count > 100 (5 rows)",
    ]
    assert result.stderr.splitlines()[-1].startswith("1 error")


def test_checks_on_models_and_schema_tables(tmp_path):
    project = make_site(tmp_path, {
        "site.toml": '[[checks]]\ntable = "crm.accounts.id"\ncheck = "unique"\n',
        "sources/crm/accounts.csv": "id,name\n1,a\n2,b\n",
        "sources/models/big.sql": "select * from accounts where id > 1",
        "reports/index.md": "# A\n\n```checks\nbig: row_count = 1\naccounts.name: not_null\n```\n",
    })
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert "checks: 3 passed, 0 warned, 0 failed" in result.stdout


def test_check_target_that_does_not_exist(tmp_path):
    project = leads_site(tmp_path, "laeds: row_count > 0\nq.emial: not_null\n")
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:8: check 'laeds: row_count > 0': 'laeds' is neither a query on this page nor a source "
        "table (tables: leads)",
        "reports/index.md:9: check 'q.emial: not_null': column 'emial' is not in q (columns: id, email, stage, "
        "score, created_at)",
    ]


def test_check_on_a_missing_column_of_a_query(tmp_path):
    project = leads_site(tmp_path, "q.emial: not_null\n")
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:8: check 'q.emial: not_null': column 'emial' is not in q "
        "(columns: id, email, stage, score, created_at)"]


def test_grammar_error_in_a_report_has_its_line(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 0\nq.email: not null\n")
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/index.md:9: check 'q.email: not null': expected `TABLE: row_count > N`")


def test_grammar_error_in_site_toml_exits_2(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 0\n", {"site.toml": '[[checks]]\ntable = "leads"\ncheck = "big"\n'})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert line.startswith("site.toml:1: check 'leads: big': expected `TABLE: row_count > N`")


def test_build_keeps_going_after_a_failed_check(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 100\n", {
        "reports/other.md": "# Other\n\n```sql n\nselect 1 as n\n```\n\n{{ value(n, 'm') }}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert sorted(error_lines(result)) == [
        "reports/index.md:8: check failed: q: row_count > 100 (5 rows)",
        "reports/other.md:7: value: column 'm' is not in query 'n' (columns: n)",
    ]


def test_passing_build_with_checks_writes_the_site(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 0\n")
    build_ok(project)
    assert (site_root(project) / "index.html").exists()


def test_checks_on_a_timestamp_with_time_zone(tmp_path):
    project = make_site(tmp_path, {
        "sources/events.csv": "id,ts\n1,2026-01-20 12:00:00+02\n2,2026-01-20 12:00:00+02\n",
        "reports/index.md": """
            # Events

            ```sql e
            select id, cast(ts as timestamptz) as ts from events
            ```

            ```checks
            e.ts: freshness < 6 days
            e.ts: max <= 2026-02-01
            warn: e.ts: unique
            ```
        """,
    })
    result = check_run(project)
    assert result.exit_code == 0, result.output
    assert error_lines(result) == [
        "reports/index.md:10: check warning: e.ts: unique "
        "(1 duplicated value, e.g. 2026-01-20 10:00 x2)"]


def test_a_check_on_a_templated_page_names_the_page(tmp_path):
    project = leads_site(tmp_path, "q: row_count > 0\n", {"reports/stages/[stage].md": """
        ---
        pages: select distinct stage from leads order by 1
        ---
        ```sql mine
        select * from leads where stage = $stage
        ```

        ```checks
        mine: row_count >= 2
        ```
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/stages/[stage].md:9: check failed: mine: row_count >= 2 (1 rows) on page /stages/junk/",
        "reports/stages/[stage].md:9: check failed: mine: row_count >= 2 (1 rows) on page /stages/qualified/",
    ]
