"""A page's queries: dependency order, references, errors with lines, and the QueryResult API."""

from __future__ import annotations

import duckdb
import pytest
from conftest import article, build_ok, error_lines, page, run_cli

from gtmsite.errors import SiteError
from gtmsite.queries import QueryResult, bound_parameters, order_queries, run_query
from gtmsite.reports import Query
from gtmsite.sqltext import relation_names


def names(queries) -> list[str]:
    return [q.name for q in queries]


def test_dependency_order_whatever_the_order_on_the_page():
    queries = (
        Query("top", "select * from ${ranked} limit 1", 1),
        Query("ranked", "select * from base order by n desc", 5),
        Query("base", "select 1 as n from deals", 9),
        Query("alone", "select 'base' as word -- base in a string or comment is not a reference", 13),
    )
    ordered, deps, problems = order_queries(queries, "reports/x.md")
    assert problems == []
    assert names(ordered) == ["base", "ranked", "top", "alone"]
    assert deps == {"top": {"ranked"}, "ranked": {"base"}, "base": set(), "alone": set()}


def test_cycle_names_the_queries_and_the_line():
    queries = (Query("a", "select * from b", 3), Query("b", "select * from ${a}", 7), Query("c", "select 1", 11))
    ordered, _, problems = order_queries(queries, "reports/x.md")
    assert names(ordered) == ["c"]
    assert [str(p) for p in problems] == ["reports/x.md:3: queries depend on each other in a cycle: a -> b -> a"]


def test_missing_reference_names_both_and_its_dependents_do_not_run():
    queries = (Query("a", "select * from ${nope}", 3), Query("b", "select * from a", 7))
    ordered, _, problems = order_queries(queries, "reports/x.md")
    assert ordered == []
    assert [str(p) for p in problems] == [
        "reports/x.md:3: query 'a' uses ${nope}, which is not a query on this page (queries: a, b)"]


def test_bound_parameters_only_those_used():
    sql = "select * from t where channel = $channel and note = '$region' -- $other"
    assert bound_parameters(sql, {"channel": "x", "region": "y", "other": "z"}) == {"channel": "x"}


def test_run_query_reports_the_sql_line():
    con = duckdb.connect()
    query = Query("pipeline", "select *\nfrom opportunitiez", 14)
    with pytest.raises(SiteError) as info:
        run_query(con, query, {}, "reports/pipeline.md", materialize=False)
    assert str(info.value).startswith("reports/pipeline.md:16: query 'pipeline': Catalog Error: Table with name "
                                      "opportunitiez does not exist!")


RESULT = QueryResult("deals", ("account", "amount"), ("VARCHAR", "INTEGER"), (("Acme", 10), ("Globex", 20)))


def test_query_result_api():
    assert len(RESULT) == 2 and bool(RESULT)
    assert RESULT.columns == ("account", "amount")
    assert RESULT.first.account == "Acme" and RESULT.first["amount"] == 10 and RESULT.first[1] == 10
    assert [row.account for row in RESULT] == ["Acme", "Globex"]
    assert RESULT.column("amount") == [10, 20]
    assert RESULT.records() == [{"account": "Acme", "amount": 10}, {"account": "Globex", "amount": 20}]
    assert RESULT.first.as_dict() == {"account": "Acme", "amount": 10}


def test_empty_result_first_is_all_nulls():
    empty = QueryResult("none", ("a", "b"), ("INTEGER", "INTEGER"), ())
    assert len(empty) == 0 and not empty
    assert empty.first.a is None and empty.first["b"] is None


def test_unknown_column_message():
    with pytest.raises(SiteError) as info:
        RESULT.column("amout")
    assert str(info.value) == "column 'amout' is not in query 'deals' (columns: account, amount)"
    with pytest.raises(SiteError, match="column 'stage' is not in query 'deals'"):
        RESULT.first.stage  # noqa: B018


# -- in a built page ---------------------------------------------------------------------------


def test_queries_run_in_dependency_order_on_a_page(site):
    project = site({"reports/index.md": """
        # Order

        ```sql biggest
        select * from ${by_stage} order by amount desc limit 1
        ```

        ```sql by_stage
        select stage, sum(amount) as amount from won group by stage
        ```

        ```sql won
        select * from deals where stage = 'Closed Won'
        ```

        Biggest: {{ biggest.first.stage }} with {{ biggest.first.amount }}.
    """})
    build_ok(project)
    assert "<p>Biggest: Closed Won with 3400.</p>" in article(page(project))


def test_query_result_api_in_jinja(site):
    project = site({"reports/index.md": """
        # API

        ```sql deals_by_channel
        select channel, count(*) as n from deals group by channel order by channel
        ```

        len={{ len(deals_by_channel) }} | {{ deals_by_channel | length }}
        first={{ deals_by_channel.first.channel }}
        columns={{ deals_by_channel.columns | join(",") }}
        column={{ deals_by_channel.column("n") | join(",") }}

        {% for row in deals_by_channel %}
        - {{ row.channel }}={{ row["n"] }}
        {% endfor %}
    """})
    build_ok(project)
    html = article(page(project))
    assert "len=3 | 3" in html
    assert "first=Organic" in html
    assert "columns=channel,n" in html
    assert "column=1,2,1" in html
    assert "<li>Organic=1</li>\n<li>Paid Search=2</li>\n<li>Partner=1</li>" in html


def test_query_errors_are_all_reported_with_lines(site):
    project = site({"reports/pipeline.md": """
        ---
        title: Pipeline
        ---

        ```sql a
        select * from b
        ```

        ```sql b
        select * from ${a}
        ```

        ```sql c
        select * from ${missing}
        ```

        ```sql pipeline
        select stage, count(*) as deals
        from opportunitiez
        group by all
        ```

        ```sql ok
        select 1 as one
        ```

        {{ table(pipeline) }} {{ value(ok, "one") }} {{ value(ok, "two") }}
    """, "reports/index.md": "# Home\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    errors = error_lines(result)
    assert errors[:2] == [
        "reports/pipeline.md:13: query 'c' uses ${missing}, which is not a query on this page "
        "(queries: a, b, c, ok, pipeline)",
        "reports/pipeline.md:5: queries depend on each other in a cycle: a -> b -> a",
    ]
    # The SQL error is on the second line of the query (the fence is on line 17).
    assert errors[2].startswith("reports/pipeline.md:19: query 'pipeline': Catalog Error: Table with name "
                                "opportunitiez does not exist!")
    # Rendering went on after the failed query: the component mistake further down is reported too.
    assert errors[3:] == ["reports/pipeline.md:27: value: column 'two' is not in query 'ok' (columns: one)"]


def test_unknown_column_in_jinja_names_query_and_columns(site):
    project = site({"reports/index.md": """
        # Cols

        ```sql n
        select count(*) as deals from deals
        ```

        {{ n.first.deal }}
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == ["reports/index.md:7: column 'deal' is not in query 'n' (columns: deals)"]


def test_sql_error_line_inside_a_longer_query(site):
    project = site({"reports/index.md": "# T\n\n```sql q\nselect\n  stage,\n  amout\nfrom deals\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/index.md:6: query 'q': Binder Error: Referenced column \"amout\" not found")


def test_columns_named_like_row_methods():
    result = QueryResult("q", ("items", "keys", "as_dict"), ("INTEGER",) * 3, ((1, 2, 3),))
    row = result.first
    assert (row.items, row.keys, row.as_dict) == (1, 2, 3)
    assert (row["items"], row["keys"]) == (1, 2)
    other = QueryResult("q", ("a",), ("INTEGER",), ((1,),)).first
    assert other.items() == [("a", 1)] and other.keys() == ("a",)


def test_column_named_items_in_jinja(site):
    project = site({"reports/index.md": """
        # Orders

        ```sql orders
        select 'A-1' as id, 3 as items
        ```

        {% for row in orders %}
        - {{ row.id }}: {{ row.items }} items
        {% endfor %}
    """})
    build_ok(project)
    assert "<li>A-1: 3 items</li>" in article(page(project))


def test_timestamp_with_time_zone_reads_as_utc(site):
    project = site({"reports/index.md": """
        # TZ

        ```sql events
        select timestamptz '2026-01-20 12:00:00+02' as ts, [timestamptz '2026-01-01 00:00:00+00'] as tss
        -- a trailing comment
        ```

        ```sql later
        select ts + interval 1 hour as ts from events
        ```

        At {{ events.first.ts }}; later {{ value(later, "ts", fmt="datetime") }}.

        {{ table(events) }}
    """})
    build_ok(project)
    html = article(page(project))
    assert "At 2026-01-20 10:00:00; later" in html
    assert '<span class="gtm-value">2026-01-20 11:00</span>' in html
    assert "2026-01-01 00:00:00+00" in html


@pytest.mark.parametrize(("sql", "relations"), [
    ("select month, sum(amount) as total from deals group by 1", {"deals"}),
    ('select * from won w join "Lost" l on w.id = l.id, crm.accounts a where x in (select id from sub)',
     {"won", "lost", "crm.accounts", "sub"}),
    ("select * from read_csv('x.csv'), b", {"b"}),
    ("from won select stage where stage in (select stage from lost)", {"won", "lost"}),
    ("select (select max(x) from m1) as m from t1, t2 as z union all select * from t3", {"m1", "t1", "t2", "t3"}),
    ("select * from ${pipeline} order by amount", {"pipeline"}),
    ("select 'from y' as s, \"from\" from t -- from z", {"t"}),
    ("pivot monthly on stage using sum(total)", {"monthly"}),
])
def test_relation_names(sql, relations):
    assert relation_names(sql) == relations


def test_a_column_named_like_a_query_is_not_a_dependency(site):
    project = site({"reports/index.md": """
        # Totals

        ```sql monthly
        select date_trunc('month', created_at) as month, sum(amount) as total from deals group by 1
        ```

        ```sql total
        select sum(total) as total from monthly
        ```

        Total: {{ total.first.total }}
    """})
    build_ok(project)
    assert "Total: 4600" in article(page(project))


def test_an_entry_stored_later_is_there_once_flushed_and_never_in_a_read_only_cache(tmp_path):
    import threading

    from gtmsite.files import cache_read_only
    from gtmsite.queries import ResultCache

    cache = ResultCache(tmp_path / "results")
    cache.put_later("a" * 64, lambda: {"rows": [1, 2, 3]})
    cache.flush()
    assert cache.get("a" * 64) == {"rows": [1, 2, 3]}
    assert not [t for t in threading.enumerate() if t.name.startswith("gtmsite-cache")], "its thread stays"
    with cache_read_only():
        cache.put_later("b" * 64, lambda: "never")
        cache.flush()
    assert cache.get("b" * 64) is None


def test_an_entry_that_fails_to_pack_costs_only_the_entry(tmp_path):
    from gtmsite.queries import ResultCache

    cache = ResultCache(tmp_path / "results")
    cache.put_later("c" * 64, lambda: 1 / 0)
    cache.flush()  # no error: a cache entry not written only costs speed
    assert cache.get("c" * 64) is None
