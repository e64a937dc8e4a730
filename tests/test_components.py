"""Components as a reader sees them: formats chosen by name, suffix or magnitude; KPI tiles and deltas;
an unknown format is one located error wherever it is used."""

from __future__ import annotations

import re

from conftest import article, build_ok, error_lines, page, run_cli


def test_an_unknown_format_is_one_located_error_in_every_component(site):
    project = site({"reports/index.md": """
        # Formats

        ```sql q
        select stage, sum(amount) as amount from deals group by all order by 1
        ```

        {{ table(q, fmt={"amount": "usd3"}) }}

        {{ value(q, "amount", fmt="dollars") }}

        {{ big_value(q, "amount", agg="sum", fmt="bogus") }}

        {{ delta(q, "amount", fmt="pts") }}

        {{ bar_chart(q, x="stage", y="amount", fmt="money") }}

        {{ line_chart(q, x="stage", y="amount", x_fmt="wat") }}

        Total {{ q.first.amount | fmt("usd9") }}
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    lines = error_lines(result)
    expected = [(7, "table", "usd3"), (9, "value", "dollars"), (11, "big_value", "bogus"), (13, "delta", "pts"),
                (15, "bar_chart", "money"), (17, "line_chart", "wat"), (19, None, "usd9")]
    assert len(lines) == len(expected), lines
    for line, (number, name, fmt) in zip(lines, expected):
        assert line.startswith(f"reports/index.md:{number}: " + (f"{name}: " if name else "")), line
        assert f"unknown format '{fmt}'" in line
        assert "known formats: usd, usd0" in line and "Python format spec" in line
        assert "Traceback" not in line


def test_delta_takes_the_column_suffix_format(site):
    project = site({"reports/index.md": """
        # Deltas

        ```sql q
        select 91460 as change_usd0, 0.034 as growth, -0.012 as rate_change_pct1
        ```

        A {{ delta(q, "change_usd0") }}; B {{ delta(q, "growth") }}; C {{ delta(q, "rate_change_pct1") }}
    """})
    build_ok(project)
    text = re.sub(r"<[^>]+>", "", article(page(project)))
    assert "A \u25b2 +$91,460;" in text
    assert "B \u25b2 +3.4%;" in text
    assert "C \u25bc -1.2%" in text


def test_a_rate_tile_compares_in_points_and_a_tile_without_format_is_compact(site):
    project = site({"reports/index.md": """
        # Tiles

        ```sql q
        select 0.40 as win_rate_pct1, 0.412 as prev_rate, 4184000 as new_arr, 3900000 as prev_arr
        ```

        {{ big_value(q, "win_rate_pct1", comparison="prev_rate") }}
        {{ big_value(q, "new_arr", comparison="prev_arr") }}
        {{ big_value(q, "win_rate_pct1", comparison="prev_rate", comparison_fmt="pct1") }}
    """})
    build_ok(project)
    tiles = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r'<div class="gtm-big-value">.*?</div></div>',
                                                          article(page(project)), re.S)]
    assert "40.0%" in tiles[0] and "\u25bc -1.2 points" in tiles[0]
    assert "4.18M" in tiles[1] and "\u25b2 +7.3%" in tiles[1]
    assert "\u25bc -2.9%" in tiles[2]


def test_tables_format_plain_numbers_by_magnitude(site):
    project = site({"reports/index.md": """
        # Table

        ```sql q
        select * from (values (2024, 1250000.5, 12), (2025, 2400000.25, 1234), (2026, 3100000.0, 7)) t(year, arr, deals)
        ```

        {{ table(q) }}
    """})
    build_ok(project)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", article(page(project)))]
    assert cells[:3] == ["2024", "1,250k", "12"]
    assert cells[3:6] == ["2025", "2,400k", "1,234"]
