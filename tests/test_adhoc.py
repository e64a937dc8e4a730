"""`gtmsite query`: CSV output is all rows unless --limit says otherwise (issue 9, item 24)."""

from __future__ import annotations

from conftest import run_cli


def test_query_csv_prints_every_row_unless_limited(site):
    project = site({"reports/index.md": "# A\n"})
    sql = "select range as n from range(120)"
    result = run_cli("query", sql, "--project", project, "--csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "n" and len(lines) == 121 and lines[-1] == "119"
    limited = run_cli("query", sql, "--project", project, "--csv", "--limit", "7")
    assert limited.stdout.splitlines() == ["n", "0", "1", "2", "3", "4", "5", "6"]


def test_the_text_table_still_shows_50_rows_and_says_how_to_see_all(site):
    project = site({"reports/index.md": "# A\n"})
    result = run_cli("query", "select range as n from range(120)", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("(120 rows (showing 50; use --limit 0 for all))")
