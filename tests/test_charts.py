"""Chart components: every kind draws a static SVG and carries its interactive spec; mistakes are errors."""

from __future__ import annotations

import json
import re

import pytest
from conftest import build_ok, deals_site, error_lines, page, run_cli

MONTHLY = """
```sql monthly
select date_trunc('month', created_at) as month, channel, sum(amount) as amount_usd0, count(*) as deals
from deals group by all order by 1, 2
```

```sql by_channel
select channel, count(*) as deals, sum(amount) as amount from deals group by 1 order by 1
```

```sql steps
select * from (values ('Leads', 100, 1), ('MQLs', 40, 2), ('Won', 10, 3)) t(stage, n, ord) order by ord
```

```sql cohorts
select date '2026-01-01' + to_months(c::int) as cohort, m as months, 1.0 / (1 + m) as retention_pct
from range(2) a(c), range(3) b(m)
```
"""

CHARTS = {
    "line": '{{ line_chart(monthly, x="month", y="amount_usd0", series="channel", title="Line") }}',
    "area": '{{ area_chart(monthly, x="month", y="amount_usd0", series="channel", stack=false) }}',
    "stacked": '{{ bar_chart(monthly, x="month", y="amount_usd0", series="channel") }}',
    "grouped": '{{ bar_chart(monthly, x="month", y="amount_usd0", series="channel", stack=false) }}',
    "horizontal": '{{ bar_chart(by_channel, x="channel", y=["deals", "amount"], horizontal=true, labels=true) }}',
    "scatter": '{{ scatter_chart(by_channel, x="deals", y="amount", size="deals", series="channel") }}',
    "histogram": '{{ histogram(monthly, x="amount_usd0", bins=5) }}',
    "funnel": '{{ funnel_chart(steps, stage="stage", value="n") }}',
    "heatmap": '{{ heatmap(cohorts, x="months", y="cohort", value="retention_pct") }}',
    "custom": '{{ chart(by_channel, {"mark": "arc", "encoding": {"theta": {"field": "deals", "type": '
              '"quantitative"}, "color": {"field": "channel"}}}) }}',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    body = "# Charts\n" + MONTHLY + "\n\n".join(CHARTS.values()) + "\n"
    project = deals_site(tmp_path_factory.mktemp("charts") / "site", {"reports/index.md": body})
    build_ok(project)
    return page(project)


def figures(html: str) -> list[str]:
    return re.findall(r'<figure class="gtm-chart.*?</figure>', html, re.S)


def spec_of(figure: str) -> dict:
    payload = re.search(r'<script type="application/json" class="gtm-chart-spec">(.*?)</script>', figure, re.S)
    return json.loads(payload.group(1))


def test_every_chart_kind_has_a_static_svg_and_its_spec(built):
    found = figures(built)
    assert len(found) == len(CHARTS)
    for figure in found:
        static = re.search(r'<div class="gtm-chart-static"[^>]*>(.*?)</div>', figure, re.S).group(1)
        assert static.startswith("<svg") and "<!--gtm-svg" not in figure
        narrow = re.search(r'<noscript class="gtm-narrow-src"><div class="gtm-chart-static gtm-narrow"[^>]*>(.*?)'
                           r'</div></noscript>', figure, re.S).group(1)
        assert narrow.startswith("<svg") and 'width="360"' in narrow
        assert spec_of(figure)["data"]["values"], "the interactive spec carries its rows"


def test_chart_options_reach_the_spec(built):
    specs = dict(zip(CHARTS, (spec_of(f) for f in figures(built))))
    assert specs["line"]["mark"]["type"] == "line" and specs["line"]["encoding"]["color"]["field"] == "channel"
    assert specs["area"]["encoding"]["y"]["stack"] is None
    assert specs["stacked"]["encoding"]["y"]["stack"] == "zero"
    assert "xOffset" in specs["grouped"]["encoding"]
    horizontal = specs["horizontal"]["layer"][0]["encoding"]
    assert horizontal["y"]["field"] == "channel" and horizontal["x"]["field"] == "value"
    assert specs["scatter"]["encoding"]["size"]["field"] == "deals"
    assert specs["histogram"]["encoding"]["x"]["bin"] == {"maxbins": 5}
    assert [r["stage"] for r in specs["funnel"]["data"]["values"]] == ["Leads", "MQLs", "Won"]
    assert specs["funnel"]["data"]["values"][1]["step"] == "40.0%"
    assert specs["heatmap"]["data"]["values"][0]["y"] == "Jan 2026"
    assert specs["custom"]["mark"] == "arc"


def test_formats_reach_axes_and_labels(built):
    line = spec_of(figures(built)[0])
    assert line["encoding"]["y"]["axis"]["format"].startswith("$,.0")  # amount_usd0 -> usd0: dollars, no cents
    assert line["encoding"]["y"]["title"] == "Amount"


def test_data_in_the_spec_cannot_close_the_script_tag(site):
    project = site({"sources/evil.csv": 'name,n\n"</script><script>alert(1)</script>",1\n',
                    "reports/index.md": "# E\n\n```sql q\nselect * from evil\n```\n\n"
                                        '{{ bar_chart(q, x="name", y="n") }}\n'})
    build_ok(project)
    html = page(project)
    assert "</script><script>alert(1)" not in html
    assert json.loads(re.search(r'class="gtm-chart-spec">(.*?)</script>', html, re.S).group(1))["data"]["values"][0][
        "name"] == "</script><script>alert(1)</script>"


@pytest.mark.parametrize("call, message", [
    ('line_chart(q, x="month", y="amout")', "line_chart: column 'amout' is not in query 'q' (columns: month, amount)"),
    ('area_chart(q, x="mnth", y="amount")', "area_chart: column 'mnth' is not in query 'q' (columns: month, amount)"),
    ('bar_chart(q, x="month", y="amount", series="chan")',
     "bar_chart: column 'chan' is not in query 'q' (columns: month, amount)"),
    ('scatter_chart(q, x="month", y="amount", size="sz")',
     "scatter_chart: column 'sz' is not in query 'q' (columns: month, amount)"),
    ('histogram(q, x="nope")', "histogram: column 'nope' is not in query 'q' (columns: month, amount)"),
    ('funnel_chart(q, stage="stage", value="amount")',
     "funnel_chart: column 'stage' is not in query 'q' (columns: month, amount)"),
    ('heatmap(q, x="month", y="amount", value="v")',
     "heatmap: column 'v' is not in query 'q' (columns: month, amount)"),
    ('chart(q, "not a spec")', "chart: spec must be a Vega-Lite specification (a dict), got str"),
    ('bar_chart(q, x="month", y="amount", filter="region")', "bar_chart: filter='region' names no dropdown"),
])
def test_mistakes_name_the_component_column_query_and_line(site, call, message):
    project = site({"reports/index.md": "# E\n\n```sql q\nselect created_at as month, amount from deals\n```\n\n"
                                        f"{{{{ {call} }}}}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith(f"reports/index.md:7: {message}"), line


def test_a_histogram_of_text_says_it_needs_numbers(site):
    project = site({"reports/index.md": "# E\n\n```sql q\nselect account from deals\n```\n\n"
                                        '{{ histogram(q, x="account") }}\n'})
    result = run_cli("check", "--project", project)
    assert error_lines(result) == ["reports/index.md:7: histogram: histogram needs a numeric column; "
                                   "'account' is VARCHAR"]


def test_large_results_are_capped_and_the_build_says_so(site):
    project = site({"reports/index.md": "# Big\n\n```sql big\nselect range as i, range % 7 as v from range(6000)\n"
                                        '```\n\n{{ scatter_chart(big, x="i", y="v") }}\n'})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert "scatter_chart: query 'big' returned 6,000 rows; the chart embeds the first 5,000" in result.stderr
    assert len(spec_of(figures(page(project))[0])["data"]["values"]) == 5000


def test_dropdown_lists_values_and_charts_follow_it(site):
    project = site({"reports/index.md": "# D\n\n```sql q\nselect channel, amount from deals order by 1\n```\n\n"
                                        '{{ dropdown("ch", q, "channel", label="Channel") }}\n\n'
                                        '{{ bar_chart(q, x="channel", y="amount", filter="ch") }}\n\n'
                                        '{{ table(q, filter="ch") }}\n'})
    build_ok(project)
    html = page(project)
    assert '<select data-input="ch" data-column="channel">' in html
    assert '<option value="Organic">Organic</option>' in html
    assert 'data-filter="ch"' in html and html.count('data-filter="ch"') == 2


def test_monthly_tooltips_name_the_month(site):
    project = site({"reports/index.md": """
        # Months

        ```sql q
        select date_trunc('month', created_at)::date as month, sum(amount) as amount from deals group by 1 order by 1
        ```

        {{ line_chart(q, x="month", y="amount") }}

        {{ bar_chart(q, x="month", y="amount") }}
    """})
    build_ok(project)
    for figure in figures(page(project)):
        tooltip = spec_of(figure)["encoding"]["tooltip"]
        assert [t["format"] for t in tooltip if t["field"] == "month"] == ["%b %Y"]


QUOTED = r'''# Quotes

```sql q
select 'Acme' as "it's", 1 as "say ""hi""", 2.5 as "back\slash", date '2026-01-01' as "o'clock", 'x' as "s""er",
       3 as "a.b[c]"
union all select 'Globex', 4, 1.5, date '2026-02-01', 'y', 5
```

{{ bar_chart(q, x="it's", y="say \"hi\"", labels=true) }}

{{ line_chart(q, x="o'clock", y=["say \"hi\"", "back\\slash", "a.b[c]"]) }}

{{ scatter_chart(q, x="say \"hi\"", y="back\\slash", series="s\"er", labels="it's") }}

{{ histogram(q, x="back\\slash") }}

{{ bar_chart(q, x="it's", y="back\\slash", series="s\"er", stack=false, labels=true) }}

{{ area_chart(q, x="o'clock", y="a.b[c]", series="it's") }}
'''


def test_columns_with_quotes_and_backslashes_can_be_charted(site):
    project = site({"reports/index.md": QUOTED})
    build_ok(project)
    found = figures(page(project))
    assert len(found) == 6
    for figure in found:
        static = re.search(r'<div class="gtm-chart-static"[^>]*>(<svg.*?</svg>)</div>', figure, re.S).group(1)
        assert static.startswith("<svg"), static[:200]
    first = re.search(r'<div class="gtm-chart-static"[^>]*>(<svg.*?</svg>)</div>', found[0], re.S).group(1)
    assert "It&#39;s" in first or "It's" in first  # the axis title
    assert 'say "hi"' in first  # a name with a space is a title as written
    assert spec_of(found[0])["data"]["values"][0] == {"it's": "Acme", 'say "hi"': 1}


@pytest.mark.parametrize("call, message", [
    ('histogram(q, x="v", bins=10**9)', "histogram: bins must be a whole number from 1 to 200, got 1000000000"),
    ('histogram(q, x="v", bins=0)', "histogram: bins must be a whole number from 1 to 200, got 0"),
    ('histogram(q, x="v", bins="many")', "histogram: bins must be a whole number from 1 to 200, got 'many'"),
    ('bar_chart(q, x="s", y="v", height=10**6)',
     "bar_chart: height must be a number of pixels from 40 to 4,000, got 1000000"),
    ('heatmap(q, x="i", y="s", value="v", height=-5)',
     "heatmap: height must be a number of pixels from 40 to 4,000, got -5"),
    ('line_chart(q, x="i", y="v", series="s")',
     "line_chart: series 's' has 150 distinct values; a chart can tell at most 100 apart"),
    ('scatter_chart(q, x="i", y="v", series="s")',
     "scatter_chart: series 's' has 150 distinct values; a chart can tell at most 100 apart"),
    ('chart(q, {"mark": "bar", "width": 10**7})', "chart: spec.width must be from 0 to 4,000 pixels, got 10000000"),
    ('chart(q, {"layer": [{"mark": "bar", "encoding": {"x": {"field": "v", "bin": {"maxbins": 10**9}}}}]})',
     "chart: spec.layer[0].encoding.x.bin.maxbins must be from 1 to 200, got 1000000000"),
    ('chart(q, {"transform": [{"sequence": {"start": 0, "stop": 1e9}}], "mark": "point"})',
     "chart: spec.transform[0].sequence makes 1,000,000,000 rows; at most 100,000 may be generated"),
])
def test_chart_arguments_are_bounded(site, call, message):
    project = site({"reports/index.md": "# B\n\n```sql q\nselect range as i, range::varchar as s, 1 as v "
                                        f"from range(150)\n```\n\n{{{{ {call} }}}}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith(f"reports/index.md:7: {message}"), line


@pytest.mark.slow  # 6,000 categories drawn twice (desktop and phone): minutes on 2 cores
def test_heights_worked_out_from_the_data_stay_bounded(site):
    project = site({"reports/index.md": "# B\n\n```sql q\nselect range::varchar as s, range as v from range(6000)\n"
                                        '```\n\n{{ bar_chart(q, x="s", y="v", horizontal=true) }}\n\n'
                                        '{{ heatmap(q, x="v", y="s", value="v", labels=false) }}\n'})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert "heatmap: query 'q' returned 6,000 rows; the chart embeds the first 5,000" in result.stderr
    found = figures(page(project))
    assert [re.search(r'min-height:(\d+)px', f).group(1) for f in found] == ["4000", "4000"]
    assert len(spec_of(found[1])["data"]["values"]) == 5000
