"""sources/: data files become tables named by stem, sub-folders are schemas, *.sql files are models."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import error_lines, make_site, run_cli

from gtmsite.config import load_config
from gtmsite.errors import BuildFailed
from gtmsite.sources import Database, discover_sources, fingerprints


def open_db(project: Path) -> Database:
    config = load_config(project)
    return Database(config, discover_sources(config))


def scalar(db: Database, sql: str):
    return db.connection.execute(sql).fetchone()[0]


def write_parquet(path: Path, select: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"copy ({select}) to '{path}' (format parquet)")
    con.close()


def test_every_format_becomes_a_table_named_by_stem(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id,amount\n1,10\n2,20\n",
        "sources/leads.tsv": "id\temail\n1\ta@x.com\n",
        "sources/events.json": '[{"id": 1, "kind": "visit"}, {"id": 2, "kind": "signup"}]',
        "sources/clicks.ndjson": '{"id": 1}\n{"id": 2}\n{"id": 3}\n',
    })
    write_parquet(tmp_path / "sources" / "invoices.parquet", "select range as id, range * 1.5 as total from range(4)")
    db = open_db(tmp_path)
    try:
        assert scalar(db, "select sum(amount) from deals") == 30
        assert scalar(db, "select email from leads") == "a@x.com"
        assert scalar(db, "select string_agg(kind, ',' order by id) from events") == "visit,signup"
        assert scalar(db, "select count(*) from clicks") == 3
        assert scalar(db, "select sum(total) from invoices") == 9.0
    finally:
        db.close()


def test_subfolder_is_a_schema_and_unique_names_are_also_bare(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/crm/accounts.csv": "id,name\n1,Acme\n2,Globex\n",
        "sources/crm/contacts.csv": "id,account_id\n1,1\n",
        "sources/billing/contacts.csv": "id\n1\n2\n3\n",
    })
    config = load_config(tmp_path)
    sources = discover_sources(config)
    assert sorted(f.table for f in sources.data) == ["billing.contacts", "crm.accounts", "crm.contacts"]
    # `contacts` is in two schemas, so only the qualified names are offered for it.
    assert sources.tables == {"billing.contacts", "crm.accounts", "crm.contacts", "accounts"}
    db = Database(config, sources)
    try:
        assert scalar(db, "select count(*) from crm.accounts") == 2
        assert scalar(db, "select count(*) from accounts") == 2
        assert scalar(db, "select count(*) from billing.contacts") == 3
        with pytest.raises(duckdb.CatalogException):
            db.connection.execute("select * from contacts")
    finally:
        db.close()


def test_models_run_in_dependency_order(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id,amount\n1,10\n2,20\n3,30\n",
        # Alphabetical order is the reverse of the dependency order.
        "sources/models/a_top.sql": "select count(*) as n from b_big",
        "sources/models/b_big.sql": "select * from c_clean where amount > 10",
        "sources/models/c_clean.sql": "select * from deals where amount is not null;",
    })
    config = load_config(tmp_path)
    sources = discover_sources(config)
    assert [m.table for m in sources.models] == ["c_clean", "b_big", "a_top"]
    db = Database(config, sources)
    try:
        assert scalar(db, "select n from a_top") == 2
    finally:
        db.close()


def test_model_cycle_is_an_error_naming_the_files(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id\n1\n",
        "sources/models/first.sql": "select * from second",
        "sources/models/second.sql": "select * from first",
    })
    with pytest.raises(BuildFailed) as info:
        discover_sources(load_config(tmp_path))
    assert [str(p) for p in info.value.problems] == [
        "sources/models/first.sql: models depend on each other in a cycle: sources/models/first.sql -> "
        "sources/models/second.sql -> sources/models/first.sql; break the cycle so one of them reads only "
        "source tables"]
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 1
    assert "sources/models/first.sql -> sources/models/second.sql" in result.stderr


def test_model_with_bad_sql_names_the_file(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id\n1\n",
        "sources/models/won.sql": "select * from dealz",
        "sources/models/won_count.sql": "select count(*) from won",
    })
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 1
    # One error: the model that reads the failed one is not reported a second time.
    assert error_lines(result) == [
        "sources/models/won.sql:1: model 'won': Catalog Error: Table with name dealz does not exist! "
        'Did you mean "deals"?']


def test_unreadable_source_file_is_an_error_naming_the_file(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/good.csv": "id\n1\n",
        "sources/broken.parquet": b"\x00\x01 this is not parquet",
        "sources/broken2.json": "{not json",
    })
    with pytest.raises(BuildFailed) as info:
        open_db(tmp_path).connection  # noqa: B018 - loading happens on first use
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 2
    assert messages[0].startswith("sources/broken.parquet: cannot read this file as a table: ")
    assert messages[1].startswith("sources/broken2.json: cannot read this file as a table: ")


def test_hidden_files_and_other_extensions_are_ignored(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id\n1\n",
        "sources/.deals.csv.swp": "junk",
        "sources/README.txt": "about the data",
    })
    sources = discover_sources(load_config(tmp_path))
    assert [f.rel for f in sources.files] == ["sources/deals.csv"]


def test_fingerprint_follows_the_data(tmp_path):
    make_site(tmp_path, {"reports/index.md": "# Hi\n", "sources/deals.csv": "id\n1\n"})
    config = load_config(tmp_path)
    first = fingerprints(discover_sources(config), config).site
    assert fingerprints(discover_sources(config), config).site == first
    (tmp_path / "sources" / "deals.csv").write_text("id\n2\n")
    assert fingerprints(discover_sources(config), config).site != first


def test_query_command_sees_sources_and_models(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/crm/accounts.csv": "id,name\n1,Acme\n2,Globex\n",
        "sources/models/named.sql": "select upper(name) as name from accounts",
    })
    result = run_cli("query", "select name from named order by name", "--project", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["name", "------", "ACME", "GLOBEX", "(2 rows)"]


def test_model_error_line_is_the_line_in_the_model_file(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id\n1\n",
        "sources/models/won.sql": "-- the won deals\n\nselect id\nfrom deals\nwhere amount = = 1\n",
    })
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("sources/models/won.sql:5: model 'won': Parser Error: syntax error at or near")


def test_two_files_for_one_table_is_an_error_naming_both(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id\n1\n",
        "sources/deals.ndjson": '{"id": 2}\n',
        "sources/models/deals.sql": "select 1 as id",
    })
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/deals.ndjson: defines table 'deals', as sources/deals.csv does; rename one of them",
        "sources/models/deals.sql: defines table 'deals', as sources/deals.csv does; rename one of them",
    ]


def test_a_model_named_like_a_schema_table_takes_the_bare_name(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/crm/deals.csv": "id\n1\n2\n",
        "sources/models/deals.sql": "select * from crm.deals where id > 1",
    })
    db = open_db(tmp_path)
    try:
        assert scalar(db, "select count(*) from deals") == 1
        assert scalar(db, "select count(*) from crm.deals") == 2
    finally:
        db.close()


def test_a_model_column_named_like_another_model_is_not_a_dependency(tmp_path):
    make_site(tmp_path, {
        "reports/index.md": "# Hi\n",
        "sources/deals.csv": "id,amount\n1,10\n2,20\n",
        "sources/models/by_id.sql": "select id, amount as total from deals",
        "sources/models/total.sql": "select sum(total) as total from by_id",
    })
    db = open_db(tmp_path)
    try:
        assert scalar(db, "select total from total") == 30
    finally:
        db.close()
