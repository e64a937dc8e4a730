"""What a rendered page shows: Markdown features, escaping of data, links at any base_url, navigation."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import article, build_ok, error_lines, make_site, page, run_cli, site_root

from gtmsite.queries import QueryResult
from gtmsite.render import compile_report, make_body_environment, page_url_function, render_body
from gtmsite.reports import parse_report


def sidebar(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link in the navigation, in order."""
    nav = re.search(r'<nav id="sidebar".*?</nav>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', nav)


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


# -- Markdown ----------------------------------------------------------------------------------


MARKDOWN = """
# Main heading

## Second section

### Third { #custom-id }

| stage | deals |
|-------|------:|
| Won   | 3     |

Text with a footnote[^1].

[^1]: The note.

!!! note "Heads up"
    Admonition body.

```python
print("<hi>")
```

Term
:   Definition.
"""


def test_markdown_features(site):
    project = site({"reports/index.md": MARKDOWN})
    build_ok(project)
    html = page(project)
    body = article(html)
    assert '<h1 id="main-heading">Main heading</h1>' in body
    assert '<h2 id="second-section">Second section</h2>' in body
    assert '<h3 id="custom-id">Third</h3>' in body
    assert "<th>stage</th>" in body and '<td style="text-align: right;">3</td>' in body
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in body
    assert '<li id="fn:1">' in body and "The note." in body
    assert '<div class="admonition note">\n<p class="admonition-title">Heads up</p>\n<p>Admonition body.</p>' in body
    assert '<pre><code class="language-python">print(&quot;&lt;hi&gt;&quot;)\n</code></pre>' in body
    assert "<dt>Term</dt>\n<dd>Definition.</dd>" in body
    toc = re.search(r'<aside class="toc".*?</aside>', html, re.S).group(0)
    assert re.findall(r'href="(#[^"]+)"', toc) == ["#second-section", "#custom-id"]


def test_render_body_is_pure():
    report = parse_report("# T\n\n```sql q\nselect 1\n```\n\n{{ q.first.n }} and {{ value(q, 'n', fmt='usd') }}\n",
                          "reports/t.md")
    env = make_body_environment()
    compiled = compile_report(env, report.rel, report.body, None)
    q = QueryResult("q", ("n",), ("INTEGER",), ((1234,),))
    out = render_body(compiled, report.rel, {"q": q}, {}, {}, False, page_url_function("/t/"), lambda n: n)
    assert out.problems == []
    assert '<p>1234 and <span class="gtm-value">$1,234.00</span></p>' in out.html
    assert [(k.component, k.query, k.column, k.value) for k in out.kpis] == [("value", "q", "n", 1234)]


def test_show_sql_adds_a_collapsed_toggle(site):
    body = "# T\n\n```sql q\nselect stage from deals where amount < 1000\n```\n\n{{ table(q) }}\n"
    toggle = ('<details class="gtm-sql"><summary>SQL</summary><pre><code class="language-sql">'
              "select stage from deals where amount &lt; 1000</code></pre></details>")
    project = site({"reports/index.md": body, "reports/shown.md": "---\nshow_sql: true\n---\n" + body})
    build_ok(project)
    assert "gtm-sql" not in article(page(project, "/"))
    assert toggle in article(page(project, "/shown/"))
    # site.toml turns it on everywhere; front matter turns it off again.
    project = site({"site.toml": "[site]\nshow_sql = true\n", "reports/index.md": body,
                    "reports/hidden.md": "---\nshow_sql: false\n---\n" + body})
    build_ok(project)
    assert toggle in article(page(project, "/"))
    assert "gtm-sql" not in article(page(project, "/hidden/"))


def test_null_and_column_suffix_formats_in_text_and_tables(site):
    project = site({"reports/index.md": """
        # F

        ```sql q
        select 'Acme' as account, 0.4567 as win_rate_pct1, 12345.6 as arr_usd0, null as note
        ```

        Note: {{ q.first.note }}; rate {{ value(q, "win_rate_pct1") }}; arr {{ q.first.arr_usd0 | fmt("usdk") }}

        {{ table(q) }}
    """})
    build_ok(project)
    html = article(page(project))
    assert 'Note: \u2013; rate <span class="gtm-value">45.7%</span>; arr $12.3k' in html
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert headers == ["Account", "Win Rate", "ARR", "Note"]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["Acme", "45.7%", "$12,346", "\u2013"]


# -- escaping -------------------------------------------------------------------------------------


HOSTILE_CSV = """\
name,amount
<script>alert(1)</script>,1
[click](javascript:alert(1)),2
**bold** _it_ `code`,3
<img src=x onerror=alert(1)>,4
"""

HOSTILE_MD = """
# Data

```sql t_q
select * from t order by amount
```

{% for row in t_q %}
- {{ row.name }} | {{ value(t_q, "name", row=loop.index0) }}
{% endfor %}

First: {{ t_q.first.name }}

{{ table(t_q) }}
"""


@pytest.fixture
def hostile(tmp_path):
    project = make_site(tmp_path, {"sources/t.csv": HOSTILE_CSV, "reports/index.md": HOSTILE_MD})
    build_ok(project)
    return article(page(project))


def test_script_in_data_is_escaped_inline_in_value_and_in_tables(hostile):
    assert "<script" not in hostile
    assert "<img" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | " in hostile  # {{ row.name }}
    assert '<span class="gtm-value">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in hostile  # value()
    assert "First: &lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    cells = re.findall(r"<td[^>]*>(.*?)</td>", hostile)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cells
    assert "&lt;img src=x onerror=alert(1)&gt;" in cells


def test_markdown_in_data_never_becomes_markup(hostile):
    assert "javascript:" not in " ".join(links(hostile))
    assert "<a " not in hostile.split("<table>")[0]
    assert "<strong>" not in hostile and "<em>" not in hostile and "<code>" not in hostile
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", hostile))
    assert "[click](javascript:alert(1)) | [click](javascript:alert(1))" in text
    assert "**bold** _it_ `code` | **bold** _it_ `code`" in text


# -- links and base_url ---------------------------------------------------------------------------


def check_links_resolve(build: Path, base_url: str) -> int:
    """Every local link and asset of every page resolves to a file of the output folder `build`,
    served at base_url (pages may sit in a version folder such as latest/; shared assets beside it)."""
    origin = "https://example.com"
    checked = 0
    for path in build.rglob("index.html"):
        if path.parent == build and (build / "latest").is_dir():
            continue  # the redirect to latest/
        page_url = base_url + path.parent.relative_to(build).as_posix() + "/"
        page_url = page_url.replace("/./", "/")
        for link in links(path.read_text(encoding="utf-8")):
            if link.startswith(("#", "data:", "mailto:")) or "://" in link:
                continue
            target = urlsplit(urljoin(origin + page_url, link)).path
            assert target.startswith(base_url), (path, link)
            local = build / unquote(target[len(base_url):])
            if target.endswith("/"):
                local = local / "index.html"
            assert local.is_file(), (path, link, local)
            checked += 1
    return checked


SECTIONED = {
    "reports/index.md": "---\ntitle: Overview\n---\n# Overview\n\n"
                        "[Pipeline](/pipeline/) and [Paid](/channels/paid-search/)\n",
    "reports/pipeline.md": "---\ntitle: Pipeline\norder: 1\n---\n# Pipeline\n\n"
                           "[home](/) [organic](/channels/organic/)\n",
    "reports/channels/[channel].md": "---\npages: select distinct channel from deals order by 1\n---\n"
                                     "# {{ params.channel }}\n\n[all]({{ url('/channels/') }}) [top](/)\n",
}


def test_base_url_assets_are_absolute_and_page_links_relative(site):
    project = site({**SECTIONED, "site.toml": '[site]\ntitle = "T"\nbase_url = "/analytics/"\n'})
    build_ok(project)
    build = project / "build"
    html = page(project, "/channels/paid-search/")
    assets = [link for link in links(html) if "_assets/" in link]
    assert assets and all(re.match(r"^/analytics/_assets/[\w.-]+\.(css|js)$", a) for a in assets)
    page_links = [link for link in links(html) if link.endswith("/")]
    assert len(page_links) > 5 and not any(link.startswith("/") for link in page_links)
    assert all(link.startswith("/analytics/") for link in links(html) if link.startswith("/"))
    assert check_links_resolve(build, "/analytics/") > 20


def test_links_resolve_at_the_root_too(site):
    project = site(SECTIONED)
    build_ok(project)
    html = page(project, "/pipeline/")
    assert all(a.startswith("/_assets/") for a in links(html) if "_assets/" in a)
    assert check_links_resolve(project / "build", "/") > 20


def test_no_request_to_another_host(site):
    project = site({"reports/index.md": """
        # Chart

        ```sql by_stage
        select stage, sum(amount) as amount from deals group by stage order by stage
        ```

        {{ bar_chart(by_stage, x="stage", y="amount", title="By stage") }}

        {{ table(by_stage) }}
    """})
    build_ok(project)
    html = page(project)
    assert "<svg" in html
    external = [link for link in re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"', html)
                if "://" in link or link.startswith("//")]
    assert external == []


def test_component_column_error_names_file_line_component_and_columns(site):
    project = site({"reports/pipeline.md": """
        ---
        title: Pipeline
        ---

        ```sql pipeline
        select stage, count(*) as deals, sum(amount) as amount from deals group by all
        ```

        {{ table(pipeline, columns=["stage", "amout"]) }}

        {{ bar_chart(pipeline, x="stage", y="amout") }}

        {{ big_value(pipeline, value="amount", agg="median") }}
    """, "reports/index.md": "# Home\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/pipeline.md:9: table: column 'amout' is not in query 'pipeline' (columns: stage, deals, amount)",
        "reports/pipeline.md:11: bar_chart: column 'amout' is not in query 'pipeline' (columns: stage, deals, amount)",
        "reports/pipeline.md:13: big_value: agg 'median' is not one of sum, avg, min, max, count, first, last",
    ]


def test_component_wrong_argument(site):
    project = site({"reports/index.md": "# A\n\n```sql q\nselect 1 as n\n```\n\n{{ value(q, 'n', colour='red') }}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/index.md:7: value: got an unexpected keyword argument 'colour'")


# -- navigation -----------------------------------------------------------------------------------


def test_navigation_from_the_reports_tree(site):
    project = site({
        "reports/index.md": "---\ntitle: Overview\n---\n# Overview\n",
        "reports/zebra.md": "# Z\n",
        "reports/pipeline.md": "---\ntitle: Open pipeline\norder: 1\n---\n# P\n",
        "reports/secret.md": "---\ntitle: Secret\nhidden: true\n---\n# S\n",
        "reports/sales/index.md": "---\ntitle: Sales team\norder: 2\n---\n# Sales\n",
        "reports/sales/quota.md": "---\ntitle: Quota\norder: 2\n---\n# Q\n",
        "reports/sales/ramp.md": "---\ntitle: Ramp\norder: 1\n---\n# R\n",
        "reports/channels/[channel].md": "---\npages: select distinct channel from deals\n---\n# C\n",
    })
    build_ok(project)
    nav = sidebar(page(project, "/"))
    assert [text for _, text in nav] == ["Overview", "Open pipeline", "Sales team", "Ramp", "Quota", "Channels",
                                         "Zebra"]
    assert dict((text, href) for href, text in nav)["Ramp"] == "sales/ramp/"
    # Hidden pages and templated pages are built but not listed.
    assert (site_root(project) / "secret" / "index.html").exists()
    assert (site_root(project) / "channels" / "organic" / "index.html").exists()
    # From a deeper page the same navigation links up.
    assert dict((text, href) for href, text in sidebar(page(project, "/sales/ramp/")))["Overview"] == "../../"
    assert 'aria-current="page">Ramp</a>' in page(project, "/sales/ramp/")


def test_page_title_in_head(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": "---\ntitle: Open pipeline\n---\n# P\n"})
    build_ok(project)
    assert "<title>Test Site</title>" in page(project, "/")
    assert "<title>Open pipeline · Test Site</title>" in page(project, "/pipeline/")


def test_data_spelled_like_a_placeholder_stays_text(site):
    project = site({"reports/index.md": """
        # P

        ```sql q
        select 'gtmX0Xgtm' as a, 1 as n
        ```

        A: {{ q.first.a }}

        {{ value(q, "n") }}
    """})
    build_ok(project)
    assert "<p>A: gtmX0Xgtm</p>" in article(page(project))


def test_data_spelled_like_a_whole_paragraph_of_placeholders_stays_a_paragraph(site):
    project = site({"reports/index.md": """
        # P

        ```sql q
        select 'gtmXabc123X0Xgtm' as a, 1 as n
        ```

        {{ q.first.a }}

        {{ value(q, "n") }}
    """})
    build_ok(project)
    assert "<p>gtmXabc123X0Xgtm</p>" in article(page(project))


def test_data_spelled_like_a_missing_placeholder_does_not_crash(site):
    project = site({"reports/index.md": "# P\n\n```sql q\nselect 'gtmX7Xgtm' as b\n```\n\nB: {{ q.first.b }}\n"})
    result = run_cli("build", "--project", project)
    assert "internal error" not in result.stderr
    assert result.exit_code == 0


def test_attribute_list_syntax_in_data_never_becomes_an_attribute(site):
    project = site({"reports/index.md": """
        # P

        ```sql q
        select 'x {: onmouseover=alert(1) }' as name, 'a' || chr(10) || '{: onclick=alert(2) }' as two
        ```

        ## {{ q.first.name }}

        Text {{ q.first.two }}
    """})
    build_ok(project)
    html = article(page(project))
    tags = re.findall(r"<[^>]+>", html)
    assert not [t for t in tags if re.search(r"\son\w+=", t)], tags
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", html))
    assert "x {: onmouseover=alert(1) }" in text
    assert "{: onclick=alert(2) }" in text


def test_table_of_contents_names_are_escaped_once(site):
    project = site({"reports/index.md": "# P\n\n## Sales & Marketing\n\n## R&D's \"plan\"\n"})
    build_ok(project)
    toc = re.search(r'<aside class="toc".*?</aside>', page(project), re.S).group(0)
    assert ">Sales &amp; Marketing</a>" in toc
    assert ">R&amp;D&#39;s &#34;plan&#34;</a>" in toc


def test_components_on_text_columns_say_which_column_and_keep_going(site):
    project = site({"reports/index.md": """
        # P

        ```sql q
        select 'x' as s, 1 as n
        ```

        {{ delta(q, "s") }}
        {{ big_value(q, value="s", agg="sum") }}
        {{ big_value(q, value="n", comparison="s") }}
        {{ funnel_chart(q, stage="s", value="s") }}
        {{ table(q, page_size="many") }}
        {{ value(q, "n", row="1") }}
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.output
    must = "must hold numbers, but holds 'x'"
    lines = error_lines(result)
    assert [line.split(": ")[0] for line in lines] == [f"reports/index.md:{n}" for n in range(7, 13)]
    assert lines[0] == (f"reports/index.md:7: delta: column 's' of query 'q' {must}; "
                        "choose a numeric column or cast it in SQL")
    assert f"column 's' of query 'q' {must} (VARCHAR)" in lines[1]
    assert f"column 's' of query 'q' {must} (VARCHAR)" in lines[2]
    assert f"column 's' of query 'q' {must} (VARCHAR)" in lines[3]
    assert lines[4].startswith("reports/index.md:11: table: ValueError: ")
    assert lines[5] == "reports/index.md:12: value: row must be a row number such as 0 (the first row), got '1'"


def test_a_syntax_error_in_a_theme_template_names_its_file_and_line(site):
    project = site({"site.toml": '[site]\ntitle = "T"\ntheme = "mine"\n', "reports/index.md": "# P\n",
                    "themes/mine/templates/page.html": '{% extends "base.html" %}\n{% block content %}\n'
                                                       "{{ oops( }}\n{% endblock %}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == ["themes/mine/templates/page.html:3: template error: unexpected '}', expected ')'"]


def test_a_runtime_error_in_a_theme_template_names_its_file_and_line(site):
    project = site({"site.toml": '[site]\ntitle = "T"\ntheme = "mine"\n', "reports/index.md": "# P\n",
                    "themes/mine/templates/page.html": '{% extends "base.html" %}\n{% block content %}\n'
                                                       "{{ page.nope }}\n{% endblock %}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert error_lines(result) == ["themes/mine/templates/page.html:3: template error: "
                                   "'gtmsite.site.Page object' has no attribute 'nope'"]


def test_charts_of_columns_named_with_dots_and_brackets_are_drawn(site):
    project = site({"reports/index.md": """
        # Dots

        ```sql q
        select 'a' as "cat.name", 3 as "val[1]" union all select 'b', 5
        ```

        {{ bar_chart(q, x="cat.name", y="val[1]") }}
    """})
    build_ok(project)
    html = page(project)
    static = re.search(r'<div class="gtm-chart-static"[^>]*>(.*?)</div>', html, re.S).group(1)
    bars = "".join(re.findall(r'<g class="mark-rect role-mark[^"]*"[^>]*>.*?</g>', static, re.S))
    heights = [float(h) for h in re.findall(r'<path[^>]*d="M[-\d.]+,[-\d.]+h[-\d.]+v([-\d.]+)', bars)]
    assert len(heights) == 2 and abs(heights[0] / heights[1] - 3 / 5) < 0.01, heights
    assert re.search(r">a</text>", static) and re.search(r">b</text>", static)


def test_components_on_consecutive_lines_are_not_left_inside_a_paragraph(site):
    project = site({"reports/index.md": """
        # P

        ```sql q
        select count(*) as n, sum(amount) as amount from deals
        ```

        {{ big_value(q, "n") }}
        {{ big_value(q, "amount") }}

        Deals: {{ value(q, "n") }}.
    """})
    build_ok(project)
    html = article(page(project))
    assert "<p><div" not in html and "</div></p>" not in html
    assert html.count('<div class="gtm-big-value">') == 2
    assert '<p>Deals: <span class="gtm-value">4</span>.</p>' in html


URL_CSV = """\
name,site
Acme,javascript:alert(1)
Globex,https://globex.example/
Initech,JaVaScRiPt:alert(2)
Hooli,"data:text/html,<script>alert(4)</script>"
Soylent,vbscript:msgbox(5)
Mail,mailto:sales@example.com
Pages,../pipeline/
"""

URL_MD = """\
# Links

```sql s
select * from sites
```

{% for r in s %}
- [{{ r.name }}]({{ r.site }}) <a href="{{ r.site }}">{{ r.name }} (html)</a>
  <img alt="{{ r.name }}" src="{{ r.site }}">
{% endfor %}
"""


def test_links_from_data_keep_only_safe_schemes(site):
    project = site({"sources/sites.csv": URL_CSV, "reports/index.md": URL_MD})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    html = article(page(project))
    kept = {"https://globex.example/", "mailto:sales@example.com", "../pipeline/"}
    assert set(links(html)) == kept
    assert set(re.findall(r'<img [^>]*src="([^"]*)"', html)) == kept
    for name in ("Acme", "Initech", "Hooli", "Soylent"):
        assert f"<a>{name}</a>" in html and f"<a>{name} (html)</a>" in html  # still there, as text
    assert "note: reports/index.md: a link to 'javascript:alert(1)' was made plain text: only http, https, " \
           "mailto and relative links are kept" in result.stderr
