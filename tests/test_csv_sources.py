"""CSV sources (issue 9, item 18): what DuckDB cannot read, or reads silently wrong, is said at the file,
line and column with what to do: one message, not the errors of every query that reads the table."""

from __future__ import annotations

import pytest
from conftest import error_lines, run_cli

SUMS = "# Deals\n\n" + "".join(f"```sql q{i}\nselect sum(amount) as total from deals\n```\n\n" for i in range(6))


def amounts(values: list[str]) -> str:
    return "id,channel,amount\n" + "".join(f"{i},Organic,{v}\n" for i, v in enumerate(values, start=1))


def test_one_12k_among_numbers_is_one_located_error_not_an_error_per_query(site):
    project = site({"sources/deals.csv": amounts(["100", "250", "300", "12k", "80", "90"]),
                    "reports/index.md": SUMS})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/deals.csv:5: column 3 (amount): '12k' is not a number, but the column's other values are numbers, "
        "so the whole column was read as text; write a plain number (12000, not 12k, $12,000 or 12 000), or leave "
        "the cell empty",
    ]


def test_a_placeholder_among_numbers_says_to_leave_the_cell_empty(site):
    project = site({"sources/deals.csv": amounts(["100", "250", "n/a", "300", "80"]), "reports/index.md": SUMS})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/deals.csv:4: column 3 (amount): 'n/a' is not a number, but the column's other values are numbers, "
        "so the whole column was read as text; leave the cell empty for no value",
    ]


def test_a_bad_value_after_duckdbs_sample_names_line_and_column(site):
    rows = ["10"] * 25000 + ["12k"]
    project = site({"sources/deals.csv": amounts(rows), "reports/index.md": SUMS})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/deals.csv:25002: column 3 (amount): '12k' is not a number like the values above it; write a plain "
        "number (12000, not 12k, $12,000 or 12 000), or leave the cell empty",
    ]


@pytest.mark.parametrize("rows", [5, 25000])
def test_a_row_with_a_value_too_many_is_located(site, rows):
    text = amounts([str(i) for i in range(rows)]) + "99,Partner,Acme, Inc.\n"
    project = site({"sources/deals.csv": text, "reports/index.md": SUMS})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"sources/deals.csv:{rows + 2}: this row has 4 values but the header has 3 (id, channel, amount); quote a "
        "value that holds the delimiter (\"Acme, Inc.\"), or fix the row",
    ]


def test_text_columns_that_hold_many_numbers_are_left_alone(site):
    codes = "id,code,amount\n" + "".join(f"{i},{1000 + i},{i}\n" for i in range(20)) + "21,A-113,5\n"
    report = "# P\n\n```sql q\nselect count(*) as n from parts\n```\n\n{{ value(q, 'n') }}\n"
    project = site({"sources/parts.csv": codes, "reports/index.md": report})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output


def test_a_file_that_is_not_utf8_or_not_csv_or_empty(site):
    project = site({
        "sources/latin.csv": "id,name\n1,Zürich\n".encode("latin-1"),
        "sources/mixed.csv": b"id,name\r\n1,a\n2,b\r\n",
        "sources/empty.csv": b"",
        "reports/index.md": "# A\n\n```sql q\nselect 1 as x\n```\n",
    })
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/empty.csv:1: the file is empty; write a header line with the column names, then the rows",
        "sources/latin.csv:2: cannot read this file: byte 0xfc is not UTF-8 (invalid start byte); save it as "
        "UTF-8 text",
        "sources/mixed.csv:2: this line ends with \\n but the first one with \\r\\n; save the file with one kind of "
        "line ending",
    ]


def test_a_semicolon_file_is_located_with_its_own_delimiter(site):
    project = site({"sources/deals.csv": "id;channel;amount\n1;Organic;10\n2;Organic;20\n3;Partner;12k\n4;Organic;5\n",
                    "reports/index.md": SUMS})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "sources/deals.csv:4: column 3 (amount): '12k' is not a number, but the column's other values are numbers, "
        "so the whole column was read as text; write a plain number (12000, not 12k, $12,000 or 12 000), or leave "
        "the cell empty",
    ]
