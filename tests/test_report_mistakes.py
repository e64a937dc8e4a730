"""Issue 9: mistakes in reports and project files, said once, located, all of them in one run
(items 16 BOM, 20 every front matter error, 21 code fences)."""

from __future__ import annotations

import re

from conftest import article, build_ok, error_lines, page, run_cli

BOM = "\ufeff"


def test_a_report_saved_with_a_byte_order_mark_keeps_its_front_matter(site):
    project = site({"reports/index.md": BOM + "---\ntitle: Pipeline\n---\n\n# Open pipeline\n"})
    build_ok(project)
    html = page(project)
    assert "<title>Pipeline" in html
    assert "title: Pipeline" not in article(html)
    assert "<hr" not in article(html)


def test_site_toml_and_models_with_a_byte_order_mark_are_read(site):
    project = site({
        "site.toml": BOM + '[site]\ntitle = "Bom Site"\n',
        "sources/won.sql": BOM + "select * from deals where stage = 'Closed Won'",
        "reports/index.md": "# Won\n\n```sql q\nselect count(*) as n from won\n```\n\n{{ value(q, 'n') }} deals\n",
    })
    build_ok(project)
    html = page(project)
    assert "Bom Site" in html
    assert '<span class="gtm-value">2</span> deals' in article(html)


def test_every_front_matter_mistake_is_said_and_other_reports_errors_too(site):
    project = site({
        "reports/index.md": "# Home\n",
        "reports/a.md": "---\ntitle: [unclosed\n---\n\n# A\n",
        "reports/b.md": "---\ntitle: [1]\norder: soon\nhidden: 3\n---\n\n# B\n",
        "reports/c.md": "# C\n\n```sql q\nselect * from dealz\n```\n\n{{ q.first.id }}\n",
    })
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/a.md:2: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'",
        "reports/b.md:2: front matter: title: expected a string, got [1]",
        "reports/b.md:3: front matter: order: expected a number, got 'soon'",
        "reports/b.md:4: front matter: hidden: expected true or false, got 3",
        "reports/c.md:4: query 'q': Catalog Error: Table with name dealz does not exist! Did you mean \"deals\"?",
    ]
    assert result.stderr.strip().endswith("5 errors; nothing was published.")
    assert not (project / "build" / "latest").exists()


def test_a_bad_front_matter_and_a_mistake_in_the_same_reports_body_are_both_said(site):
    project = site({"reports/index.md": "---\norder: first\n---\n\n```sql q\nselect 1\n```\n\n"
                                        "```sql q\nselect 2\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:2: front matter: order: expected a number, got 'first'",
        "reports/index.md:9: query 'q' is defined twice (first on line 5); rename one of them",
    ]


def test_an_unclosed_sql_fence_is_named_with_its_line_and_nothing_else(site):
    project = site({"reports/index.md": "# A\n\n```sql totals\nselect count(*) as n from deals\n\n"
                                        "Total: {{ value(totals, 'n') }}\n\n```sql other\nselect 1 as x\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    # the fence swallowed the text below it and the next fence's opening line closes it: one message only
    assert error_lines(result) == [
        "reports/index.md:3: the ```sql totals fence opened at line 3 is not closed; add a line ``` where it ends",
    ]


def test_an_unclosed_checks_fence_is_an_error(site):
    project = site({"reports/index.md": "# A\n\n```checks\ndeals: row_count > 0\n\nSome prose.\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:3: the ```checks fence opened at line 3 is not closed; add a line ``` where it ends",
    ]


def test_an_empty_query_fence_is_a_located_error_not_an_internal_one(site):
    project = site({"reports/index.md": "# A\n\n```sql empty\n```\n\n```sql blank\n\n-- nothing yet\n```\n\n"
                                        "```sql semi\n;\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert error_lines(result) == [
        "reports/index.md:3: query 'empty' is empty: write its SQL between the fences, or remove the fence",
        "reports/index.md:6: query 'blank' is empty: write its SQL between the fences, or remove the fence",
        "reports/index.md:11: query 'semi' is empty: write its SQL between the fences, or remove the fence",
    ]


def test_an_unclosed_code_fence_at_the_end_keeps_its_last_line_and_warns(site):
    project = site({"reports/index.md": "# A\n\n```python\nfirst = 1\nlast = 2"})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert "reports/index.md:3: the ```python fence opened at line 3 is not closed; add a line ``` where it ends" \
        in result.stderr
    code = article(page(project))
    assert "first = 1" in code and "last = 2" in code


def test_deep_jinja_nesting_is_a_located_error(site):
    fors = "{% for i in [1] %}" * 40 + "x" + "{% endfor %}" * 40
    project = site({
        "reports/index.md": "# A\n\n" + fors + "\n",
        "reports/b.md": "# B\n\nok\n\n{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}\n",
    })
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error" not in result.output and "RecursionError" not in result.output
    assert error_lines(result) == [
        "reports/b.md:5: template error: nested too deeply (3000 levels of blocks and brackets inside each other); "
        "flatten it, e.g. with {% elif %}, a macro or a query",
        "reports/index.md:3: template error: nested too deeply (41 levels of blocks and brackets inside each "
        "other); flatten it, e.g. with {% elif %}, a macro or a query",
    ]


def test_a_freshness_check_on_a_column_that_is_not_a_date_is_a_located_error(site):
    project = site({"reports/index.md": "# A\n\n```sql q\nselect * from deals\n```\n\n```checks\n"
                                        "q.amount: freshness < 3 days\ndeals.stage: freshness < 3 days\n```\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert sorted(error_lines(result)) == [
        "reports/index.md:8: check 'q.amount: freshness < 3 days': column 'amount' is BIGINT, not a date or "
        "timestamp; freshness needs one (check a date column, or cast it in the query: amount::timestamp)",
        "reports/index.md:9: check 'deals.stage: freshness < 3 days': column 'stage' holds text that is not a date "
        "('Proposal'); freshness needs dates such as 2026-01-31 (or a timestamp column)",
    ]


CHANNEL_REPORT = """\
---
title: "Channel {{ params.channel }}"
pages: select distinct channel from deals order by 1
---

```sql q
select * from deals where channel = $channel
```

{{ value(q, "AMOUNT_COLUMN") }}

```checks
q.amount: max < 100000
```
"""


def test_a_mistake_in_a_templated_report_is_said_once_with_its_pages(site):
    project = site({"reports/index.md": "# Home\n",
                    "reports/channels/[channel].md": CHANNEL_REPORT.replace("AMOUNT_COLUMN", "amout")})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/channels/[channel].md:10: value: column 'amout' is not in query 'q' (columns: id, account, channel, "
        "stage, amount, created_at) (on 3 pages: /channels/organic/, /channels/paid-search/, /channels/partner/)",
    ]


def test_the_checks_page_names_the_page_of_each_templated_check_and_formats_numbers(site):
    deals = "id,channel,amount\n1,Paid Search,1200.123456\n2,Organic,800.5\n3,Paid Search,400\n"
    project = site({"sources/deals.csv": deals, "reports/index.md": "# Home\n",
                    "reports/channels/[channel].md": CHANNEL_REPORT.replace("AMOUNT_COLUMN", "amount")})
    build_ok(project)
    checks_page = page(project, "/_checks/")
    rows = re.findall(r"<tr><td>.*?</tr>", checks_page)
    assert len(rows) == 2
    assert "(max is 800.5)" in rows[0] and 'on page <a href="../channels/organic/">/channels/organic/</a>' in rows[0]
    assert "(max is 1,200.12)" in rows[1] and "/channels/paid-search/</a>" in rows[1]
    assert "1200.123456" not in checks_page


def test_a_bad_front_matter_and_a_bad_source_file_are_both_said(site):
    project = site({"reports/index.md": "---\ntitle: [unclosed\n---\n\n# A\n",
                    "sources/extra.csv": "id,amount\n1,10\n2,20\n3,12k\n4,5\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/index.md:2: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'",
        "sources/extra.csv:4: column 2 (amount): '12k' is not a number, but the column's other values are numbers, "
        "so the whole column was read as text; write a plain number (12000, not 12k, $12,000 or 12 000), or leave "
        "the cell empty",
    ]
