"""Pages, URLs and navigation: plan_pages, slugs, templated pages, relative links."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urljoin

import pytest
from conftest import article, build_ok, error_lines, make_site, page, run_cli, site_root

from gtmsite.reports import parse_report
from gtmsite.site import NavItem, Page, breadcrumbs, build_nav, plan_pages, relative_url, slugify, unique_slugs


def text_of(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize(("value", "slug"), [
    ("Paid Search", "paid-search"),
    ("  Paid   Search!! ", "paid-search"),
    ("O'Brien", "o-brien"),
    ("Zürich", "zürich"),
    ("Zu\u0308rich", "zürich"),  # decomposed umlaut: the same slug as the composed one
    ("東京", "東京"),
    ("x'); drop table t;--", "x-drop-table-t"),
    (2026, "2026"),
    (None, "page"),
    ("!!!", "page"),
])
def test_slugify(value, slug):
    assert slugify(value) == slug


def test_unique_slugs_keep_values_apart():
    assert unique_slugs(["Paid Search", "paid-search", "PAID SEARCH", "Organic"], set()) == [
        "paid-search", "paid-search-2", "paid-search-3", "organic"]
    assert unique_slugs(["About"], {"about"}) == ["about-2"]


@pytest.mark.parametrize(("target", "page_url"), [
    ("/", "/"),
    ("/pipeline/", "/"),
    ("/", "/channels/paid-search/"),
    ("/channels/organic/", "/channels/paid-search/"),
    ("/channels/", "/channels/"),
    ("/channels/paid-search/", "/channels/"),
    ("/pipeline/#stages", "/channels/x/"),
    ("/_assets/style.css", "/a/"),
    ("/cities/zürich/", "/a/b/c/"),
])
def test_relative_url_resolves_to_the_target_from_the_page(target, page_url):
    link = relative_url(target, page_url)
    assert not link.startswith("/")
    for base in ("https://example.com", "https://example.com/analytics", "https://example.com/v/20261122"):
        assert urljoin(base + page_url, link) == base + target


@pytest.mark.parametrize("target", ["https://example.com/", "//cdn.example.com/x.js", "#top", "other/", "mailto:a@b"])
def test_relative_url_leaves_other_links_alone(target):
    assert relative_url(target, "/a/") == target


def report(rel: str, front: str = "") -> object:
    text = f"---\n{front}\n---\n# x\n" if front else "# x\n"
    return parse_report(text, rel)


def test_plan_pages_urls_titles_and_templated_rows():
    reports = [
        report("reports/index.md"),
        report("reports/pipeline.md", "title: Open pipeline\norder: 2"),
        report("reports/sales-team.md"),
        report("reports/channels/[channel].md", "pages: select 1"),
    ]
    rows = {"reports/channels/[channel].md": [{"channel": "Paid Search"}, {"channel": "paid search"},
                                              {"channel": None}]}
    pages, problems = plan_pages(reports, rows, "My Site")
    assert problems == []
    assert [(p.url, p.title, p.templated) for p in pages] == [
        ("/", "My Site", False),
        ("/pipeline/", "Open pipeline", False),
        ("/sales-team/", "Sales Team", False),
        ("/channels/paid-search/", "Paid Search", True),
        ("/channels/paid-search-2/", "paid search", True),
        ("/channels/page/", "\u2013", True),
        ("/channels/", "Channels", False),
    ]
    index = pages[-1]
    assert index.report is None
    assert index.listing == ("/channels/paid-search/", "/channels/paid-search-2/", "/channels/page/")
    assert pages[3].params == {"channel": "Paid Search"}
    assert pages[3].output_path == "channels/paid-search/index.html"
    assert pages[0].output_path == "index.html" and pages[0].data_key == "index"


def test_plan_pages_templated_slug_does_not_take_a_static_siblings_url():
    reports = [report("reports/channels/index.md"), report("reports/channels/overview.md"),
               report("reports/channels/[channel].md", "pages: select 1")]
    rows = {"reports/channels/[channel].md": [{"channel": "Overview"}]}
    pages, _ = plan_pages(reports, rows, "S")
    assert [p.url for p in pages] == ["/channels/", "/channels/overview/", "/channels/overview-2/"]


def test_two_reports_with_one_url_is_an_error():
    pages, problems = plan_pages([report("reports/about.md"), report("reports/about/index.md")], {}, "S")
    assert [str(p) for p in problems] == ["reports/about/index.md: publishes /about/, as reports/about.md does; "
                                          "rename or move one of them"]


def test_build_nav_title_order_hidden_and_sections():
    def p(url, title, order=None, hidden=False, templated=False):
        return Page(url, title, None, {}, order, hidden, templated)
    pages = [
        p("/", "Home"),
        p("/zeta/", "Zeta"),
        p("/alpha/", "Alpha"),
        p("/pipeline/", "Pipeline", order=1),
        p("/secret/", "Secret", hidden=True),
        p("/channels/", "All channels", order=5),
        p("/channels/paid/", "Paid", templated=True),
        p("/team/b/", "Bravo", order=2),
        p("/team/a/", "Able", order=3),
    ]
    assert build_nav(pages) == (
        NavItem("Home", "/", None),
        NavItem("Pipeline", "/pipeline/", 1),
        NavItem("All channels", "/channels/", 5),
        NavItem("Alpha", "/alpha/", None),
        NavItem("Team", None, None, (NavItem("Bravo", "/team/b/", 2), NavItem("Able", "/team/a/", 3))),
        NavItem("Zeta", "/zeta/", None),
    )


def test_breadcrumbs():
    home, channels = Page("/", "Home", None), Page("/channels/", "Channels", None)
    leaf = Page("/channels/paid/", "Paid", None)
    by_url = {p.url: p for p in (home, channels, leaf)}
    assert breadcrumbs(leaf, by_url) == [("Home", "/"), ("Channels", "/channels/")]
    assert breadcrumbs(home, by_url) == []


# -- templated pages in a build ------------------------------------------------------------------


PEOPLE_CSV = """\
name,city,amount
O'Brien,Zürich,1
"x'); drop table people;--",東京,2
Paid Search,Paris,3
paid-search,Paris,4
"""

PERSON_MD = """\
---
title: "Person: {{ params.name }}"
pages: select name from people order by amount
---

```sql me
select name, city, amount from people where name = $name
```

```sql everyone
select count(*) as n from people
```

City: {{ me.first.city }}; people: {{ everyone.first.n }}

Name: {{ params.name }}.

{{ table(me) }}
"""


@pytest.fixture(scope="module")
def people_site(tmp_path_factory):
    """Built once for the tests that only read it."""
    project = make_site(tmp_path_factory.mktemp("people"), {"site.toml": "", "sources/people.csv": PEOPLE_CSV,
                                   "reports/index.md": "# Home\n", "reports/people/[name].md": PERSON_MD})
    build_ok(project)
    return project


def test_one_page_per_row_with_the_parameter_bound(people_site):
    built = sorted(p.parent.name for p in (site_root(people_site) / "people").glob("*/index.html"))
    assert built == ["o-brien", "paid-search", "paid-search-2", "x-drop-table-people"]
    zurich = article(page(people_site, "/people/o-brien/"))
    assert "City: Zürich; people: 4" in zurich
    tokyo = article(page(people_site, "/people/x-drop-table-people/"))
    assert "City: 東京; people: 4" in tokyo


def test_hostile_values_are_just_data(people_site):
    tokyo = article(page(people_site, "/people/x-drop-table-people/"))
    # The value reached the query as a bound parameter (the page found its row) and the table as text...
    assert "City: 東京" in tokyo
    assert "x'); drop table people;--" in text_of(tokyo.split("<table>")[1])
    # ... and the SQL in it did nothing: `everyone`, run after `me` on that page, still reads the table.
    assert "people: 4" in tokyo
    assert "O'Brien" in text_of(article(page(people_site, "/people/o-brien/")).split("<table>")[1])
    assert "people: 4" in article(page(people_site, "/people/o-brien/"))


def test_values_that_slugify_alike_get_distinct_pages(people_site):
    assert "City: Paris" in article(page(people_site, "/people/paid-search/"))
    first = text_of(article(page(people_site, "/people/paid-search/")))
    second = text_of(article(page(people_site, "/people/paid-search-2/")))
    assert "Paid Search" in first and "paid-search" not in first
    assert "paid-search" in second and "Paid Search" not in second


def test_generated_index_lists_the_pages(people_site):
    index = article(page(people_site, "/people/"))
    assert "<h1>People</h1>" in index
    links = re.findall(r'<a href="([^"]+)">', index)
    assert links == ["o-brien/", "x-drop-table-people/", "paid-search/", "paid-search-2/"]
    for link in links:
        assert (site_root(people_site) / "people" / link / "index.html").exists()


def test_unicode_values_get_working_pages(tmp_path):
    project = make_site(tmp_path, {
        "site.toml": "",
        "sources/cities.csv": "city,n\nZürich,1\n東京,2\nSão Paulo,3\n",
        "reports/cities/[city].md": """
            ---
            pages: select city from cities order by n
            ---
            # {{ params.city }}

            ```sql c
            select n from cities where city = $city
            ```

            n={{ c.first.n }}
        """,
        "reports/index.md": """
            # Home

            ```sql cities_q
            select city from cities order by n
            ```

            {% for row in cities_q %}
            - [{{ row.city }}]({{ url("/cities/" ~ slug(row.city) ~ "/") }})
            {% endfor %}
        """,
    })
    build_ok(project)
    for name, n in (("zürich", 1), ("東京", 2), ("são-paulo", 3)):
        assert f"<p>n={n}</p>" in article(page(project, f"/cities/{name}/"))
    home = article(page(project, "/"))
    for href in re.findall(r'href="([^"]+)"', home):
        assert (site_root(project) / href / "index.html").exists(), href
    assert '<a href="cities/東京/">東京</a>' in home
    assert page(project, "/cities/zürich/").count("<title>Zürich · GTM Analytics</title>") == 1


def test_templated_title_from_params(people_site):
    assert "<title>Person: Paid Search · GTM Analytics</title>" in page(people_site, "/people/paid-search/")


def test_quote_in_an_inline_value_shows_as_a_quote(people_site):
    html = page(people_site, "/people/o-brien/")
    assert "Name: O'Brien." in text_of(article(html))
    assert "x'); drop table people;--." in text_of(article(page(people_site, "/people/x-drop-table-people/")))
    assert text_of(re.search(r"<title>(.*?)</title>", html).group(1)) == "Person: O'Brien · GTM Analytics"


def test_null_value_gets_a_page(tmp_path):
    project = make_site(tmp_path, {
        "sources/t.csv": "k,v\na,1\n,2\n",
        "reports/index.md": "# Home\n",
        "reports/k/[k].md": "---\npages: select k from t order by v\n---\n# K {{ params.k }}\n",
    })
    build_ok(project)
    assert '<a href="page/">\u2013</a>' in article(page(project, "/k/"))
    assert "K \u2013" in article(page(project, "/k/page/"))


def test_templated_report_without_pages_query(site):
    project = site({"reports/index.md": "# Home\n", "reports/channels/[channel].md": "# {{ params.channel }}\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/channels/[channel].md:1: a templated report needs a `pages:` query in its front matter, "
        "e.g. pages: select distinct channel from ..."]


def test_pages_query_without_the_parameter_column(site):
    project = site({"reports/index.md": "# Home\n",
                    "reports/channels/[channel].md": "---\ntitle: x\npages: select distinct stage from deals\n---\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "reports/channels/[channel].md:3: pages: the query has no column 'channel' (named by the file name "
        "[channel].md); columns: stage"]


def test_pages_query_with_bad_sql(site):
    project = site({"reports/index.md": "# Home\n",
                    "reports/channels/[channel].md": "---\npages: select channel from dealz\n---\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/channels/[channel].md:2: query 'pages': Catalog Error: Table with name dealz")


def test_written_index_replaces_the_generated_one(site):
    project = site({
        "reports/index.md": "# Home\n",
        "reports/channels/index.md": """
            ---
            title: Every channel
            ---
            # Channels

            {% for child in children %}
            - [{{ child.title }}]({{ url(child.url) }})
            {% endfor %}
        """,
        "reports/channels/[channel].md": "---\npages: select distinct channel from deals order by 1\n---\n# x\n",
    })
    build_ok(project)
    index = article(page(project, "/channels/"))
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', index) == [
        ("organic/", "Organic"), ("paid-search/", "Paid Search"), ("partner/", "Partner")]


def test_pages_query_error_line_in_a_block_scalar(site):
    project = site({"reports/index.md": "# Home\n",
                    "reports/channels/[channel].md": "---\ntitle: x\npages: |\n  select channel\n  from dealz\n---\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line.startswith("reports/channels/[channel].md:5: query 'pages': Catalog Error: Table with name dealz")


def test_templated_pages_built_in_parallel_keep_their_own_results(tmp_path):
    rows = "\n".join(f"{i},ch{i % 12:02d}" for i in range(120))
    project = make_site(tmp_path, {
        "site.toml": "[build]\nworkers = 6\n",
        "sources/t.csv": "id,ch\n" + rows + "\n",
        "reports/index.md": "# Home\n",
        # `mine` is kept as a temporary table for `n` on every page at once.
        "reports/c/[ch].md": """
            ---
            pages: select distinct ch from t order by 1
            ---
            ```sql mine
            select * from t where ch = $ch
            ```

            ```sql n
            select count(*) as n, min(ch) as ch, sum(id) as ids from mine
            ```

            ```checks
            mine: row_count = 10
            ```

            {{ params.ch }}={{ n.first.ch }} n={{ n.first.n }} ids={{ n.first.ids }}
        """,
    })
    build_ok(project, "--no-cache")
    for k in range(12):
        ids = sum(range(k, 120, 12))
        assert f"<p>ch{k:02d}=ch{k:02d} n=10 ids={ids}</p>" in page(project, f"/c/ch{k:02d}/")


def test_title_template_error_points_at_the_title_line(site):
    project = site({"reports/index.md": "# Home\n", "reports/c/[channel].md": """
        ---
        description: Channel pages
        title: "Channel {{ params.chanel }}"
        pages: select distinct channel from deals
        ---
        # x
    """})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    (line,) = error_lines(result)  # once, naming the pages it affects
    assert line.startswith("reports/c/[channel].md:3: title: template error: 'dict object' has no attribute "
                           "'chanel' (on 3 pages: ")
    assert all(f"/c/{slug}/" in line for slug in ("organic", "paid-search", "partner"))


def test_a_long_slug_is_bounded_with_a_hash_of_the_whole():
    long_a, long_b = "Account " + "a" * 300 + " one", "Account " + "a" * 300 + " two"
    slug_a, slug_b = slugify(long_a), slugify(long_b)
    assert len(slug_a.encode()) <= 100 and len(slug_b.encode()) <= 100
    assert slug_a != slug_b and slug_a.startswith("account-aaaa")
    assert slugify(long_a) == slug_a, "the same value, the same slug"
    assert len(slugify("ü" * 300).encode()) <= 100
    assert slugify("Paid Search") == "paid-search"


def test_a_templated_value_longer_than_a_file_name_builds(tmp_path):
    """A value of 300 characters (over the 255 bytes of a file name): `check` and `build` both succeed,
    and the page is reachable from its listing."""
    value = "x" * 300
    project = make_site(tmp_path / "site", {
        "sources/things.csv": f"name\n{value}\nshort\n",
        "reports/index.md": "# Home\n",
        "reports/things/[name].md": "---\npages: select name from things\n---\n# {{ params.name[:10] }}\n",
    })
    assert run_cli("check", "--project", project).exit_code == 0
    build_ok(project)
    listing = page(project, "/things/")
    links = re.findall(r'href="([^"]+)"', article(listing))
    assert "short/" in links
    [long_link] = [link for link in links if link.startswith("xxxx")]
    assert len(long_link.rstrip("/").encode()) <= 100
    assert "xxxxxxxxxx</h1>" in page(project, "/things/" + long_link)
