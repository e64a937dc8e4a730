"""Parsing a report: front matter, named SQL fences, code fences, checks fences, and their lines."""

from __future__ import annotations

import textwrap

import pytest
from conftest import article, build_ok, error_lines, page, run_cli

from gtmsite.errors import SiteError
from gtmsite.reports import FrontMatter, Query, parse_report, read_reports, report_problems


def parse(text: str, rel: str = "reports/x.md"):
    return parse_report(textwrap.dedent(text).lstrip("\n"), rel)


def problems_of(text: str, rel: str = "reports/x.md") -> list[str]:
    with pytest.raises(SiteError) as info:
        parse(text, rel)
    return [str(p) for p in report_problems(info.value)]


REPORT = """
---
title: Pipeline
description: Open pipeline by stage
order: 2
hidden: false
owner: revops
---

# Open pipeline

```sql pipeline
select stage, sum(amount) as amount
from deals
group by all
```

```sql
select 'shown, not run'
```

```checks
pipeline: row_count > 0
# a comment line
warn: pipeline.amount: min >= 0
```

```sql biggest
select * from ${pipeline} order by amount desc limit 1
```
"""


def test_front_matter_queries_and_checks():
    report = parse(REPORT, "reports/pipeline.md")
    assert report.meta == FrontMatter(title="Pipeline", description="Open pipeline by stage", order=2, hidden=False,
                                      title_line=2)
    assert report.meta.extra == {"owner": "revops"}
    assert report.queries == (
        Query("pipeline", "select stage, sum(amount) as amount\nfrom deals\ngroup by all", 11),
        Query("biggest", "select * from ${pipeline} order by amount desc limit 1", 27),
    )
    assert [(c.target, c.column, c.kind, c.warn, c.line) for c in report.checks] == [
        ("pipeline", None, "row_count", False, 22),
        ("pipeline", "amount", "min", True, 24),
    ]
    assert report.route == ("pipeline",)
    assert report.query("biggest").line == 27 and report.query("nope") is None


def test_body_keeps_the_file_lines():
    report = parse(REPORT)
    body = report.body.split("\n")
    source = textwrap.dedent(REPORT).lstrip("\n").split("\n")
    assert len(body) == len(source)
    assert body[8] == source[8] == "# Open pipeline"
    # Query and checks fences and front matter are blanked, not removed.
    assert body[0] == body[10] == body[12] == body[20] == body[22] == ""
    # An unnamed fence stays, shown verbatim (Jinja raw).
    assert body[16].endswith("```sql") and body[17] == "select 'shown, not run'"


def test_no_front_matter():
    report = parse("# Just text\n")
    assert report.meta == FrontMatter() and report.queries == () and report.checks == ()


def test_routes():
    assert parse("x", "reports/index.md").route == ("index",)
    assert parse("x", "reports/index.md").is_index
    report = parse("---\npages: select 1 as channel\n---\n", "reports/channels/[channel].md")
    assert report.route == ("channels", "[channel]")
    assert report.param == "channel"
    assert report.meta.pages == "select 1 as channel" and report.meta.pages_line == 2


def test_tilde_fences_and_longer_fences():
    report = parse("""
        ~~~sql first
        select 1 as a
        ~~~

        ````sql second
        select '```' as ticks
        ````
    """)
    assert [(q.name, q.sql, q.line) for q in report.queries] == [
        ("first", "select 1 as a", 1), ("second", "select '```' as ticks", 5)]


def test_invalid_and_duplicate_query_names_are_all_reported():
    assert problems_of("""
        ```sql 1st
        select 1
        ```

        ```sql total-amount
        select 1
        ```

        ```sql total
        select 1
        ```

        ```sql total
        select 2
        ```
    """) == [
        "reports/x.md:1: query name '1st' is not an identifier (use letters, digits and _, not starting with a digit)",
        "reports/x.md:5: query name 'total-amount' is not an identifier "
        "(use letters, digits and _, not starting with a digit)",
        "reports/x.md:13: query 'total' is defined twice (first on line 9); rename one of them",
    ]


def test_bad_yaml_names_the_line():
    assert problems_of("""
        ---
        title: Pipeline
        order: [1, 2
        ---
    """) == ["reports/x.md:3: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'"]
    assert problems_of("""
        ---
        title: Pipeline
        description: a: b
        ---
    """) == ["reports/x.md:3: front matter is not valid YAML: mapping values are not allowed here"]


def test_front_matter_types():
    assert problems_of("---\ntitle: x\norder: high\n---\n") == [
        "reports/x.md:3: front matter: order: expected a number, got 'high'"]
    assert problems_of("---\nhidden: 'yes'\n---\n") == [
        "reports/x.md:2: front matter: hidden: expected true or false, got 'yes'"]
    assert problems_of("---\n- a\n- b\n---\n") == [
        "reports/x.md:2: front matter must be YAML keys and values (title: ...)"]
    assert problems_of("---\ntitle: x\n") == [
        "reports/x.md:1: front matter starts with --- but never ends; add a closing --- line"]
    # A number as title is taken as text.
    assert parse("---\ntitle: 2026\n---\n").meta.title == "2026"


def test_check_grammar_error_has_its_line():
    assert problems_of("""
        # Title

        ```checks
        deals: row_count > 0
        deals: looks fine
        ```
    """) == ["reports/x.md:5: check 'deals: looks fine': expected `TABLE: row_count > N`, `TABLE: row_count change "
             "< N%` or `TABLE.COLUMN: CHECK` where CHECK is not_null, unique, min >= N, max <= N, accepted_values "
             "[a, b], freshness < N days, change < N% or anomaly"]


def test_read_reports_collects_every_file_and_skips_private_ones(tmp_path):
    reports = tmp_path / "reports"
    (reports / "_drafts").mkdir(parents=True)
    (reports / "index.md").write_text("# Home\n")
    (reports / "bad.md").write_text("```sql a b\nselect 1\n```\n```sql a\nselect 1\n```\n")
    (reports / "worse.md").write_text("---\ntitle: [\n---\n")
    (reports / "_drafts" / "wip.md").write_text("```sql 9\n```\n")
    (reports / ".hidden.md").write_text("```sql 9\n```\n")
    found, problems = read_reports(reports, tmp_path)
    assert [r.rel for r in found] == ["reports/index.md"]
    assert [str(p) for p in problems] == [
        "reports/bad.md:4: query 'a' is defined twice (first on line 1); rename one of them",
        "reports/worse.md:2: front matter is not valid YAML: expected the node content, but found '<stream end>'",
    ]


# -- what users see after a build -------------------------------------------------------------


def test_unnamed_fence_is_shown_as_code_and_its_jinja_is_not_evaluated(site):
    project = site({"reports/index.md": """
        # Code

        ```sql
        select {{ 1 + 1 }} from deals -- {% if x %}
        ```
        Text right after the fence, {{ 40 + 2 }}.

        ```jinja
        {% raw %}{{ x }}{% endraw %} and {{ 2 * 3 }}
            {% endraw %}
        ```
    """})
    build_ok(project)
    html = article(page(project))
    assert '<pre><code class="language-sql">select {{ 1 + 1 }} from deals -- {% if x %}\n</code></pre>' in html
    assert "<p>Text right after the fence, 42.</p>" in html
    assert ('<pre><code class="language-jinja">{% raw %}{{ x }}{% endraw %} and {{ 2 * 3 }}\n'
            "    {% endraw %}\n</code></pre>") in html


def test_named_query_text_is_not_shown(site):
    project = site({"reports/index.md": """
        # Deals

        ```sql n
        select count(*) as n from deals
        ```

        There are {{ n.first.n }} deals.
    """})
    build_ok(project)
    html = article(page(project))
    assert "<p>There are 4 deals.</p>" in html
    assert "select count" not in html


def test_jinja_error_lines_count_every_line_of_the_file(site):
    project = site({"reports/index.md": """
        ---
        title: Lines
        ---

        ```sql n
        select count(*) as n
        from deals
        ```

        ```
        {{ not evaluated }}
        ```
        Text.

        {{ n.first.n }} deals, {{ nn.first }}
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:15: 'nn' is undefined "
        "(queries on this page: n; check the spelling or add a ```sql NAME fence)"]


def test_jinja_syntax_error_line(site):
    project = site({"reports/index.md": "# A\n\n```sql n\nselect 1\n```\n\n{% for row in n %}\n- {{ row }}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/index.md:8: template error: Unexpected end of template.")
