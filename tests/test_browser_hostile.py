"""Hostile data in a real Chromium: links from data never run script, totals follow a table's search,
and charts over columns named with quotes become interactive. (Browser set-up: see test_browser.py.)"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from conftest import make_site
from test_browser import Session, serve_folder, visit, wake_charts
from test_browser import browser as browser  # noqa: PLC0414 - the fixture, used by name
from test_browser import session as session  # noqa: PLC0414

from gtmsite.formats import auto_format, format_value
from gtmsite.release import build_site

pytestmark = pytest.mark.browser

SITES_CSV = """\
name,site
Acme,javascript:alert(1)
Globex,https://globex.example/
Initech,JaVaScRiPt:alert(2)
Umbrella, javascript:alert(3)
Hooli,"data:text/html,<script>alert(4)</script>"
Soylent,vbscript:msgbox(5)
Tab,"java	script:alert(6)"
Pages,../table/
"""

LINKS_MD = """\
---
title: Links
---

# Links

```sql sites
select * from sites
```

{% for r in sites %}
- [{{ r.name }}]({{ r.site }})
{% endfor %}

<p class="raw">{% for r in sites %}<a href="{{ r.site }}">{{ r.name }} (raw)</a> {% endfor %}</p>

<p class="raw">{% for r in sites if r.name in ["Acme", "Hooli", "Tab"] %}<img alt="{{ r.name }}" src="{{ r.site }}"> \
{% endfor %}</p>

{{ table(sites) }}
"""

MONTHS = 24


def months() -> list[tuple[dt.date, str, int, float, float]]:
    """(month, channel, deals, amount, rate): two years of months, two channels."""
    rows = []
    for n in range(MONTHS):
        month = dt.date(2025 + (10 + n) // 12, (10 + n) % 12 + 1, 1)
        rows.append((month, "Organic" if n % 2 else "Partner", 3 + n % 5, 1000.5 + 137 * n, 0.05 + n / 100))
    return rows


TOTALS_MD = """\
---
title: Table
---

# Table

```sql monthly
select * from monthly order by month
```

{{ table(monthly, totals=["deals", "amount"], fmt={"amount": "usd0", "month": "month"}, page_size=10) }}

```sql every_format
select month, amount as a_usd, amount as a_usd0, amount * 100 as a_usdk, amount * 1000 as a_usdm,
       amount as a_eur, rate as r_pct, rate as r_pct1, amount as a_num0, amount as a_num1, amount as a_num2,
       amount * 10 as a_numk, deals as plain_int, amount as plain_float
from monthly order by month
```

<div class="every">
{{ table(every_format, totals=["a_usd", "a_usd0", "a_usdk", "a_usdm", "a_eur", "r_pct", "r_pct1", "a_num0",
                               "a_num1", "a_num2", "a_numk", "plain_int", "plain_float"], fmt={"month": "month"}) }}
</div>

{{ dropdown("ch", monthly, "channel", label="Channel") }}

<div class="filtered">
{{ table(monthly, columns=["month", "channel", "deals"], totals=True, filter="ch", fmt={"month": "month"}) }}
</div>

<div class="python-spec">
{{ table(monthly, columns=["month", "amount"], totals=True, fmt={"amount": ",.3f", "month": "month"}) }}
</div>
"""

QUOTES_MD = r'''---
title: Quotes
---

# Quotes

```sql q
select channel as "it's", deals as "say ""hi""", amount as "back\slash", month as "o'clock" from monthly
```

{{ bar_chart(q, x="it's", y="say \"hi\"", title="Bars") }}

{{ line_chart(q, x="o'clock", y="back\\slash", series="it's", title="Lines") }}
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("hostile")
    csv = "month,channel,deals,amount,rate\n" + "".join(f"{m},{c},{d},{a},{r}\n" for m, c, d, a, r in months())
    project = make_site(root / "project", {
        "site.toml": '[site]\ntitle = "Hostile"\nbase_url = "/h/"\n',
        "sources/sites.csv": SITES_CSV, "sources/monthly.csv": csv, "reports/index.md": LINKS_MD,
        "reports/table.md": TOTALS_MD, "reports/quotes.md": QUOTES_MD})
    www = root / "www"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "user-cache"))  # this test's own Vega bundle
        build_site(project, www / "h")
    server, origin = serve_folder(www)
    try:
        yield origin + "/h/latest/"
    finally:
        server.shutdown()
        server.server_close()


def test_links_from_data_do_nothing_when_clicked(session: Session, site: str) -> None:
    page = visit(session, site)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    unsafe = page.evaluate("""() => [...document.querySelectorAll('article *')].flatMap(e => [...e.attributes])
        .filter(a => ['href', 'src', 'xlink:href', 'action', 'formaction'].includes(a.name))
        .map(a => a.value).filter(v => !/^(https?:|mailto:|[^:]*$|[^:]*[/?#])/i.test(v.trim()))""")
    assert unsafe == []
    article = page.locator("article.report")
    names = ["Acme", "Initech", "Umbrella", "Hooli", "Soylent", "Tab"]
    for name in names:
        for link in (article.locator("li a", has_text=re.compile(f"^{name}$")),
                     article.locator("p.raw a", has_text=f"{name} (raw)")):
            assert link.count() == 1 and link.get_attribute("href") is None, name
            link.click()
            page.wait_for_timeout(50)
            assert page.url == site and dialogs == [], (name, page.url, dialogs)
    assert article.locator("li a", has_text="Globex").get_attribute("href") == "https://globex.example/"
    assert article.locator("li a", has_text="Pages").get_attribute("href") == "../table/"
    assert article.locator("img").count() == 3 and article.locator("img[src]").count() == 0
    # The data stays visible as text, in the table.
    assert "javascript:alert(1)" in article.locator(".gtm-table").inner_text()


def _totals(table) -> list[str]:
    return table.locator("tfoot td").all_inner_texts()


def test_totals_follow_the_search_and_the_dropdown(session: Session, site: str) -> None:
    page = visit(session, site + "table/")
    rows = months()
    first = page.locator(".gtm-table").first
    all_rows = ["Total", "", format_value(sum(r[2] for r in rows)), format_value(sum(r[3] for r in rows), "usd0"), ""]
    assert _totals(first) == all_rows  # a page of 10 rows: the totals are for all 24
    first.locator("input[type=search]").fill("Oct 2026")
    october = [r for r in rows if r[0] == dt.date(2026, 10, 1)]
    assert _totals(first) == [
        "Total (1 of 24 rows)", "", str(october[0][2]), format_value(october[0][3], "usd0"), ""]
    first.locator("input[type=search]").fill("2026")
    year = [r for r in rows if r[0].year == 2026]
    assert _totals(first) == [
        f"Total ({len(year)} of 24 rows)", "", str(sum(r[2] for r in year)),
        format_value(sum(r[3] for r in year), "usd0"), ""]
    first.locator("input[type=search]").fill("")
    assert _totals(first) == all_rows

    page.select_option('select[data-input="ch"]', "Organic")
    organic = [r for r in rows if r[1] == "Organic"]
    assert _totals(page.locator(".filtered .gtm-table")) == [f"Total ({len(organic)} of 24 rows)", "",
                                                     str(sum(r[2] for r in organic))]
    # A format only Python knows: the totals stay those of all rows, and the label says so.
    spec = page.locator(".python-spec .gtm-table")
    spec.locator("input[type=search]").fill("Oct")
    assert _totals(spec) == ["Total of all 24 rows",
                                                        format_value(sum(r[3] for r in rows), ",.3f")]


def test_filtered_totals_are_formatted_as_the_build_formats_them(session: Session, site: str) -> None:
    page = visit(session, site + "table/")
    box = ".every .gtm-table"
    page.locator(f"{box} input[type=search]").fill("2026")
    year = [r for r in months() if r[0].year == 2026]
    amount, rate, deals = (sum(r[3] for r in year), sum(r[4] for r in year), sum(r[2] for r in year))
    expected = [f"Total ({len(year)} of 24 rows)"] + [format_value(v, f) for v, f in [
        (amount, "usd"), (amount, "usd0"), (amount * 100, "usdk"), (amount * 1000, "usdm"), (amount, "eur"),
        (rate, "pct"), (rate, "pct1"), (amount, "num0"), (amount, "num1"), (amount, "num2"), (amount * 10, "numk"),
        ]] + [auto_format([r[2] for r in months()], "plain_int")(deals),  # no format: by the column's magnitude
           auto_format([r[3] for r in months()], "plain_float")(amount)]
    assert _totals(page.locator(box)) == expected


def test_charts_over_columns_named_with_quotes_become_interactive(session: Session, site: str) -> None:
    page = visit(session, site + "quotes/")
    wake_charts(page)  # the Vega bundle loads when a reader reaches for a chart
    page.wait_for_function("() => [...document.querySelectorAll('.gtm-chart')].every(f =>"
                           " f.classList.contains('gtm-live') && f.querySelector('.gtm-chart-live svg .role-mark'))")
    assert page.locator(".gtm-chart-live svg").count() == 2
    axes = page.locator(".gtm-bar_chart .gtm-chart-live svg").text_content()
    assert "It's" in axes and 'say "hi"' in axes  # a name with a space is a title as written
    bar = page.locator(".gtm-bar_chart .gtm-chart-live .mark-rect path").first
    bar.scroll_into_view_if_needed()
    bar.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    assert "It's" in tooltip.inner_text() and 'say "hi"' in tooltip.inner_text()

