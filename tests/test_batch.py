"""Templated reports' queries run once for all pages (issue 14): the same results as one page at a time,
one Parquet snapshot per query, and a new row re-renders only the page whose results it changes."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from conftest import build_ok, make_site, run_cli

import gtmsite.execute
from gtmsite.batch import plan_batch, run_batched
from gtmsite.queries import run_query
from gtmsite.reports import Query, parse_report

# Awkward page values: quotes, unicode, a NULL, a value twice, two values with one slug.
ACCOUNTS = [
    (1, "O'Brien & Sons", "EMEA"),
    (2, 'Say "hi"; drop table deals; --', "NA"),
    (3, "Zürich 東京", None),
    (4, None, "APAC"),
    (5, "O'Brien & Sons", "EMEA"),
    (6, "o-brien-sons", "NA"),
]
DEALS = [(10, 1, "Won", 100.5, "2026-01-02"), (11, 1, "Lost", None, "2026-01-02"), (12, 2, "Won", 7.0, "2026-02-01"),
         (13, 3, "Won", 12.25, "2026-03-01"), (14, 3, "Won", 12.25, "2026-03-02"), (15, 5, "Open", 3.0, None),
         (16, 6, "Won", 1.0, "2026-01-01"), (17, 1, "Won", 50.0, "2026-01-03")]

QUERIES = {
    "by_name": "select d.id, d.stage, d.amount from deals d join accounts a on a.id = d.account_id\n"
               "where a.name = $name order by d.amount desc nulls first, d.id",
    "ordinal": "select stage, count(*) as n, sum(amount) as total from deals d join accounts a on a.id = d.account_id "
               "where a.name = $name or (a.name is null and $name is null) group by 1 order by 2 desc, 1",
    "aggregate": "select count(*) as deals, max(closed) as last from deals where account_id = $id",
    "limited": "select id, closed from deals where account_id = $id order by closed desc nulls last, id limit 2 "
               "offset 0",
    "expression": "select stage, sum(amount) from deals where account_id = $id group by stage "
                  "order by sum(amount) desc nulls last, stage",
    "two_params": "select count(*) as n from accounts where region = $region and id <> $id",
    "literal": "select '$name' as text, count(*) as n from deals where account_id = $id -- $region",
    "alias": "select -id as id from deals where account_id = $id order by id",
}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create table accounts (id integer, name varchar, region varchar)")
    con.executemany("insert into accounts values (?, ?, ?)", ACCOUNTS)
    con.execute("create table deals (id integer, account_id integer, stage varchar, amount double, closed date)")
    con.executemany("insert into deals values (?, ?, ?, ?, ?)", DEALS)
    yield con
    con.close()


def pages(con) -> list[dict]:
    return [dict(zip(("id", "name", "region"), row)) for row in
            con.execute("select id, name, region from accounts order by id").fetchall()]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_batched_results_are_those_of_one_page_at_a_time(con, name):
    query = Query(name, QUERIES[name], 3)
    rows = pages(con)
    batched = run_batched(con, query, rows)
    assert batched is not None
    alone = [run_query(con, query, row, "reports/x.md", materialize=False) for row in rows]
    for got, want in zip(batched, alone, strict=True):
        assert (got.columns, got.types, got.rows) == (want.columns, want.types, want.rows)


def test_the_values_are_bound_not_pasted(con):
    query = Query("q", "select id from accounts where name = $name", 3)
    con.execute("create table traps as select 1")
    batched = run_batched(con, query, [{"name": "x'); drop table traps; --"}, {"name": None}])
    assert batched is not None and [len(r) for r in batched] == [0, 0]
    assert con.execute("select count(*) from traps").fetchone() == (1,)


def report(body: str):
    return parse_report(body, "reports/accounts/[id].md")


def test_what_cannot_be_batched_says_why(con):
    plan = plan_batch(report("""---
pages: select id from accounts
---
```sql base
select * from deals where account_id = $id
```

```sql top
select * from base order by amount limit 1
```

```sql hidden_key
select id from deals where account_id = $id order by amount
```

```sql two
select 1 as x; select 2 as x
```

```sql union
select id from deals where account_id = $id union select 0 order by 1
```

```sql fine
select id from deals where account_id = $id order by id
```

```checks
fine: row_count >= 0
```

```sql ok
select count(*) as n from deals where account_id = $id
```
"""), con)
    assert [q.name for q in plan.batched] == ["ok"]
    assert dict(plan.reasons) == {
        "base": "another query of the page reads it",
        "top": "it reads another query of the page",
        "hidden_key": "its ORDER BY sorts on something that is not one of its output columns",
        "two": "it is not a single SELECT that DuckDB can parse",
        "union": "it is not a single SELECT that DuckDB can parse",
        "fine": "a check reads it",
    }


def test_a_param_in_the_output_with_another_type_alone_runs_one_page_at_a_time(con):
    query = Query("q", "select $id as id, count(*) as n from deals where account_id = $id", 3)
    same = run_batched(con, query, [{"id": 1}, {"id": 2}])
    assert same is not None and [r.rows for r in same] == [((1, 3),), ((2, 1),)]
    assert run_batched(con, query, [{"id": 1}, {"id": 3_000_000_000}]) is None  # INTEGER alone, BIGINT batched


TEMPLATED = """
---
title: "{{ params.name }}"
pages: select id, name, region from accounts order by id
---

# {{ params.name }}

```sql by_name
""" + QUERIES["by_name"] + """
```

```sql limited
""" + QUERIES["limited"] + """
```

```sql same
select count(*) as all_deals from deals
```

```sql base
select * from deals where account_id = $id
```

```sql from_base
select count(*) as n from base
```

{{ table(by_name) }} {{ table(limited) }} {{ value(same, "all_deals") }} {{ value(from_base, "n") }}
"""


def csv_site(root: Path) -> Path:
    accounts = "id,name,region\n" + "".join(
        f'{i},{"" if n is None else chr(34) + n.replace(chr(34), chr(34) * 2) + chr(34)},{r or ""}\n'
        for i, n, r in ACCOUNTS)
    deals = "id,account_id,stage,amount,closed\n" + "".join(
        f"{i},{a},{s},{'' if m is None else m},{c or ''}\n" for i, a, s, m, c in DEALS)
    return make_site(root, {"site.toml": '[site]\ntitle = "T"\n', "sources/accounts.csv": accounts,
                            "sources/deals.csv": deals, "reports/index.md": "# Home\n",
                            "reports/accounts/[name].md": TEMPLATED})


def data_files(project: Path) -> dict[str, str]:
    root = project / "build" / "latest"
    return {p.relative_to(root / "_data").as_posix(): p.read_text(encoding="utf-8")
            for p in sorted((root / "_data" / "accounts").rglob("*.csv"))}


def test_a_site_built_batched_and_one_page_at_a_time_is_the_same(tmp_path, monkeypatch):
    batched = csv_site(tmp_path / "batched")
    out = build_ok(batched, "--no-cache")
    assert "queries: " in out
    alone = csv_site(tmp_path / "alone")
    monkeypatch.setattr(gtmsite.execute, "run_batched", lambda *args, **kwargs: None)
    build_ok(alone, "--no-cache")
    files = data_files(batched)
    assert len(files) == 6 * 5 and "accounts/o-brien-sons-2/by_name.csv" in files and \
        "accounts/page/by_name.csv" in files  # the NULL name
    assert files == data_files(alone)
    assert files["accounts/o-brien-sons/by_name.csv"] == \
        "id,stage,amount\n11,Lost,\n10,Won,100.5\n17,Won,50.0\n15,Open,3.0\n"  # accounts 1 and 5
    for page in ("o-brien-sons", "o-brien-sons-2", "zürich-東京"):
        assert (batched / "build/latest/accounts" / page / "index.html").read_text() == \
            (alone / "build/latest/accounts" / page / "index.html").read_text()


def test_one_parquet_snapshot_per_query_with_the_parameter_column(tmp_path):
    project = csv_site(tmp_path / "site")
    build_ok(project)
    folder = project / "build" / "latest" / "_data" / "accounts"
    assert sorted(p.name for p in (folder / "_by_name").iterdir()) == ["by_name.parquet", "limited.parquet"]
    assert not list(folder.glob("[!_]*/by_name.parquet")), "no per-page Parquet for a batched query"
    assert (folder / "o-brien-sons" / "from_base.parquet").is_file()  # run one page at a time: its own
    snapshot = duckdb.sql(f"select * from read_parquet('{folder / '_by_name' / 'by_name.parquet'}')")
    assert snapshot.columns == ["name", "id", "stage", "amount"]
    assert ("Zürich 東京", 13, "Won", 12.25) in snapshot.fetchall()


def summary(stdout: str) -> tuple[int, int]:
    match = re.search(r"built (\d+) pages .*\((\d+) rendered, (\d+) unchanged", stdout)
    assert match, stdout
    return int(match.group(2)), int(match.group(3))


def test_a_new_row_renders_only_the_page_whose_results_it_changes(tmp_path):
    project = csv_site(tmp_path / "site")
    build_ok(project)
    assert summary(build_ok(project)) == (0, 8)  # 6 accounts, the index and the accounts listing
    deals = project / "sources" / "deals.csv"
    deals.write_text(deals.read_text() + "18,2,Won,9.5,2026-04-01\n")
    rendered, unchanged = summary(build_ok(project))
    # The page of account 2, and the pages showing the deal count of all deals (`same`): all six.
    assert (rendered, unchanged) == (6, 2)
    without_totals = TEMPLATED.replace('```sql same\nselect count(*) as all_deals from deals\n```\n', "")
    (project / "reports" / "accounts" / "[name].md").write_text(
        without_totals.replace('{{ value(same, "all_deals") }}', "").lstrip("\n"))
    build_ok(project)
    deals.write_text(deals.read_text() + "19,3,Won,1.5,2026-04-02\n")
    assert summary(build_ok(project)) == (1, 7)
    html = (project / "build" / "latest" / "accounts" / "zürich-東京" / "index.html").read_text()
    assert "<td>19</td>" in html or ">19<" in html


def test_debug_says_which_queries_run_one_page_at_a_time(tmp_path):
    project = csv_site(tmp_path / "site")
    result = run_cli("build", "--project", project, "--debug", env={"CI": ""})
    assert result.exit_code == 0, result.output
    assert "reports/accounts/[name].md: query 'base' runs once per page: another query of the page reads it" \
        in result.stderr


def account_report(fences: dict[str, str], body: str) -> str:
    """A templated report of one page per account, with these ```sql fences (name: SQL) and this body."""
    sql = "".join(f"```sql {name}\n{text}\n```\n\n" for name, text in fences.items())
    return ('---\ntitle: "{{ params.name }}"\npages: select id, name, region from accounts order by id\n---\n\n'
            f"# {{{{ params.name }}}}\n\n{sql}{body}\n")


PER_QUERY = account_report({"neighbours": QUERIES["two_params"], "by_name": QUERIES["by_name"],
                            "aggregate": QUERIES["aggregate"]},
                           "{{ table(neighbours) }} {{ table(by_name) }} {{ table(aggregate) }}")


def queries_run(stdout: str) -> int:
    match = re.search(r"queries: (\d+) run", stdout)
    assert match, stdout
    return int(match.group(1))


@pytest.mark.parametrize("report", [PER_QUERY, TEMPLATED], ids=["batched only", "with queries run per page"])
def test_a_changed_table_runs_again_only_the_batched_queries_that_read_it(tmp_path, report):
    project = csv_site(tmp_path / "site")
    (project / "reports" / "accounts" / "[name].md").write_text(report.lstrip("\n"))
    build_ok(project)
    assert queries_run(build_ok(project)) == 0
    deals = project / "sources" / "deals.csv"
    deals.write_text(deals.read_text() + "18,2,Won,9.5,2026-04-01\n")
    out = build_ok(project)
    if report is PER_QUERY:
        assert queries_run(out) == 2  # by_name and aggregate read deals; neighbours reads accounts only
        assert summary(out) == (1, 7)
    fresh = csv_site(tmp_path / "fresh")
    (fresh / "reports" / "accounts" / "[name].md").write_text(report.lstrip("\n"))
    (fresh / "sources" / "deals.csv").write_text(deals.read_text())
    build_ok(fresh, "--no-cache")
    assert data_files(project) == data_files(fresh)


def same_sql(name: str) -> str:
    fences = {name: "select count(*) as n from deals", "mine": "select * from deals where account_id = $id"}
    return account_report(fences, f"{{{{ table({name}) }}}} {{{{ table(mine) }}}}")


def test_two_queries_of_the_same_text_keep_their_own_names(tmp_path):
    """The same SQL under two names (in two reports) is two results: each page's download is its own."""
    project = csv_site(tmp_path / "site")
    (project / "reports" / "accounts" / "[name].md").write_text(same_sql("alpha"))
    (project / "reports" / "other").mkdir()
    (project / "reports" / "other" / "[name].md").write_text(same_sql("beta"))
    for _ in range(2):  # from DuckDB, then from the cache
        build_ok(project)
        latest = project / "build" / "latest"
        links = [(html, href) for html in latest.rglob("index.html")
                 for href in re.findall(r'href="[^"]*?(_data/[^"]+\.csv)"', html.read_text(encoding="utf-8"))]
        assert any("/beta.csv" in href for _, href in links) and any("/alpha.csv" in href for _, href in links)
        assert [(str(html), href) for html, href in links if not (latest / href).is_file()] == []
