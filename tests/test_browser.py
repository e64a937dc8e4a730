"""Browser tests: a real Chromium (Debian's /usr/bin/chromium, driven by Playwright) on real built sites.

One fixture project is built three times (data changed in between, one page only in the newest
build) with `base_url = "/analytics/"`, and served by a plain static HTTP server from the parent
folder, as a project page on a static host would be. One browser is launched for the module; every
test opens its own context, which records console errors, page errors and every request URL, and
checks at the end that there were no errors and that no request left localhost. Also covered: a
phone-width layout that never scrolls sideways, print (every row, light colours, static charts),
reading without JavaScript, and `gtmsite serve`'s live reload and error overlay.

Without /usr/bin/chromium (or Playwright) these tests skip, unless GTMSITE_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import make_site

from gtmsite.release import build_site

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
BASE = "/analytics/"
TIMEOUT_MS = 10_000

# -- the fixture project -------------------------------------------------------------------------

CHANNELS = ["Paid Search", "Organic", "Partner", "Events"]
STAGES = ["Prospecting", "Proposal", "Negotiation", "Closed Won"]
ACCOUNTS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
            "Soylent", "Oscorp", "Vandelay", "Massive", "Pied Piper", "Aperture"]


def deals_csv(rows: int, scale: int) -> str:
    """`rows` deals over six months; `scale` changes every amount, so each build's data differs."""
    lines = ["id,account,channel,stage,amount,created_at"]
    for i in range(rows):
        amount = 500 + (i * 137) % 4000 + scale * 100
        month = 1 + i % 6
        lines.append(f"{i + 1},{ACCOUNTS[i % len(ACCOUNTS)]} {i + 1:02d},{CHANNELS[i % 4]},{STAGES[(i // 3) % 4]},"
                     f"{amount},2026-{month:02d}-{1 + (i * 7) % 27:02d}")
    return "\n".join(lines) + "\n"


SITE_TOML = f"""\
[site]
title = "Browser Test"
base_url = "{BASE}"
"""

INDEX_MD = """\
---
title: Home
order: 0
---

# Home

```sql totals
select sum(amount) as total_usd0, count(*) as deals, max(amount) as biggest_usd0 from deals
```

<div class="gtm-grid">
{{ big_value(totals, value="total_usd0", title="Total") }}
{{ big_value(totals, value="deals", title="Deals") }}
{{ big_value(totals, value="biggest_usd0", title="Biggest deal") }}
</div>

Read the [charts](/charts/) and the [deals](/deals/).
"""

CHARTS_MD = """\
---
title: Charts
order: 1
---

# Charts

```sql monthly
select date_trunc('month', created_at) as month, channel, sum(amount) as amount
from deals group by all order by 1, 2
```

```sql by_stage
select stage, sum(amount) as amount from deals group by all order by amount desc
```

```sql funnel
select 'Leads' as stage, 400 as n union all select 'MQL', 200 union all select 'SQL', 90
union all select 'Won', 30
```

```sql cohorts
select strftime(date_trunc('month', created_at), '%Y-%m') as cohort, channel, count(*) as deals
from deals group by all order by 1, 2
```

{{ line_chart(monthly, x="month", y="amount", series="channel", fmt="usd0", title="Monthly amount") }}

{{ bar_chart(by_stage, x="stage", y="amount", fmt="usd0", title="By stage") }}

{{ funnel_chart(funnel, stage="stage", value="n", title="Funnel") }}

{{ heatmap(cohorts, x="channel", y="cohort", value="deals", title="Cohorts") }}

## Filtered

{{ dropdown("ch", monthly, "channel", label="Channel") }}

{{ bar_chart(monthly, x="month", y="amount", series="channel", filter="ch", title="Filtered by channel") }}
"""

DEALS_MD = """\
---
title: Deals
order: 2
---

# Deals

```sql deals_list
select id, account, channel, stage, amount from deals order by id
```

{{ table(deals_list, fmt={"amount": "usd0"}, page_size=10) }}

| Account | Channel | Stage | Amount | Created | A long column title | Another long column title |
|:--|:--|:--|--:|:--|:--|:--|
{% for row in deals_list %}| {{ row.account }} | {{ row.channel }} | {{ row.stage }} | {{ row.amount | fmt("usd0") }} \
| 2026 | some long text here | more long text there |
{% endfor %}
"""

NEW_MD = """\
---
title: New page
order: 3
---

# New page

Only the newest version has this page.
"""


@dataclass
class Versions:
    """The built fixture site: three versions, oldest first, served under BASE."""

    url: str  # http://127.0.0.1:PORT/analytics/
    ids: list[str]
    output: Path


def serve_folder(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return None


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Versions]:
    root = tmp_path_factory.mktemp("browser")
    project = make_site(root / "project", {"site.toml": SITE_TOML, "sources/deals.csv": deals_csv(40, 0),
                                           "reports/index.md": INDEX_MD, "reports/charts.md": CHARTS_MD,
                                           "reports/deals.md": DEALS_MD})
    www = root / "www"
    output = www / BASE.strip("/")
    ids = []
    for n, label in enumerate(["first", "second", "third"]):
        if n:
            (project / "sources/deals.csv").write_text(deals_csv(40 + n, n), encoding="utf-8")
        if label == "third":
            make_site(project, {"reports/new.md": NEW_MD})
        ids.append(build_site(project, output, label=label).record.id)
    server, origin = serve_folder(www)
    try:
        yield Versions(origin + BASE, ids, output)
    finally:
        server.shutdown()
        server.server_close()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    required = os.environ.get("GTMSITE_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("GTMSITE_REQUIRE_BROWSER=1 but Playwright is not installed")
        pytest.skip("Playwright is not installed")
    if not CHROMIUM.exists():
        if required:
            pytest.fail(f"GTMSITE_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Session:
    """A browser context that records what every page in it did."""

    context: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text} ({page.url})")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e} ({page.url})"))
        page.on("request", lambda r: self.requests.append(r.url))

    def new_page(self):
        page = self.context.new_page()
        self.watch(page)
        return page

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors)
        outside = [u for u in self.requests if not _local(u)]
        assert not outside, f"requests left localhost: {outside}"


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws") and parts.hostname in ("127.0.0.1", "localhost")


@pytest.fixture
def session(browser) -> Iterator[Session]:
    yield from _session(browser)


@pytest.fixture
def nojs_session(browser) -> Iterator[Session]:
    yield from _session(browser, java_script_enabled=False)


@pytest.fixture
def phone_session(browser) -> Iterator[Session]:
    yield from _session(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def _session(browser, **options) -> Iterator[Session]:
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    recorder = Session(context)
    try:
        yield recorder
        recorder.check()
    finally:
        context.close()


ALL_LIVE = ("() => [...document.querySelectorAll('.gtm-chart')].every(f => f.classList.contains('gtm-live') &&"
            " f.querySelector('.gtm-chart-live svg, .gtm-chart-live canvas'))")


def wake_charts(page) -> None:
    """Reach for every chart (as a pointer would) and wait until each is an interactive Vega view."""
    page.eval_on_selector_all(".gtm-chart", "fs => fs.forEach(f => f.dispatchEvent(new PointerEvent('pointerenter')))")
    page.wait_for_function(ALL_LIVE)


def visit(session: Session, url: str):
    page = session.new_page()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response.status if response else 'no response'}"
    return page


# -- charts --------------------------------------------------------------------------------------


def test_charts_become_interactive_vega_views(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/charts/")
    charts = page.locator(".gtm-chart")
    kinds = page.eval_on_selector_all(".gtm-chart", "els => els.map(e => e.className)")
    for kind in ("gtm-line_chart", "gtm-bar_chart", "gtm-funnel_chart", "gtm-heatmap"):
        assert any(kind in k for k in kinds), (kind, kinds)
    assert charts.count() == 5
    wake_charts(page)
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.locator(".gtm-chart-live svg .role-mark").count() > 0
        assert chart.locator(".gtm-chart-static:not(.gtm-narrow)").is_hidden()
        box = chart.locator(".gtm-chart-live svg").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, box

    # Hovering a bar shows the tooltip with the formatted value.
    bar = page.locator(".gtm-bar_chart").first.locator(".gtm-chart-live .mark-rect path").first
    bar.scroll_into_view_if_needed()
    bar.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    assert "$" in tooltip.inner_text()


def test_dropdown_filters_its_chart(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/charts/")
    figure = page.locator('.gtm-chart[data-filter="ch"]')
    wake_charts(page)
    page.wait_for_function("() => document.querySelector('.gtm-chart[data-filter=\"ch\"]')"
                           ".classList.contains('gtm-live')")
    bars = figure.locator(".gtm-chart-live .mark-rect path")
    everything = bars.count()
    page.select_option('select[data-input="ch"]', "Partner")
    page.wait_for_function("n => document.querySelectorAll("
                           "'.gtm-chart[data-filter=\"ch\"] .gtm-chart-live .mark-rect path').length < n",
                           arg=everything)
    assert 0 < bars.count() < everything
    # The other charts did not follow the dropdown.
    assert page.locator(".gtm-line_chart .gtm-chart-live .mark-symbol path").count() > 0


# -- tables --------------------------------------------------------------------------------------


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        ".gtm-table tbody tr:not([hidden])", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_table_sorts_searches_and_paginates(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/deals/")
    box = page.locator(".gtm-table")
    pager = box.locator(".gtm-pager")
    # Paginated: 42 rows in the newest data, 10 a page.
    assert box.locator("tbody tr").count() == 42
    assert box.locator("tbody tr:not([hidden])").count() == 10
    assert pager.inner_text().startswith("1–10 of 42")
    assert _column(page, 0) == [str(i) for i in range(1, 11)]
    pager.get_by_role("button", name="Next ›").click()
    assert _column(page, 0) == [str(i) for i in range(11, 21)]
    assert "11–20 of 42" in pager.inner_text()
    assert pager.get_by_role("button", name="‹ Prev").is_enabled()

    # Sort by amount (numeric, not text): ascending, then descending.
    amount = box.locator('th[data-column="amount"]')
    amount.click()
    assert amount.get_attribute("aria-sort") == "ascending"
    values = page.eval_on_selector_all(".gtm-table tbody tr", "rows => rows.map(r => Number(r.cells[4].dataset.value))")
    assert values == sorted(values) and len(values) == 42
    assert "1–10 of 42" in pager.inner_text()  # back to the first page
    amount.click()
    assert amount.get_attribute("aria-sort") == "descending"
    shown = [int(v.replace("$", "").replace(",", "")) for v in _column(page, 4)]
    assert shown == sorted(values, reverse=True)[:10]
    assert box.locator('th[data-column="id"]').get_attribute("aria-sort") is None

    # Search filters the rows and says how many match.
    search = box.locator('input[type="search"]')
    search.fill("partner")
    expected = sum(1 for i in range(42) if CHANNELS[i % 4] == "Partner")
    assert box.locator("tbody tr:not([hidden])").count() == expected
    assert all(c == "Partner" for c in _column(page, 2))
    assert pager.inner_text().startswith(f"1–{expected} of {expected}")
    search.fill("no such thing")
    assert box.locator("tbody tr:not([hidden])").count() == 0
    assert "No matching rows" in pager.inner_text()
    search.fill("")
    assert box.locator("tbody tr:not([hidden])").count() == 10


# -- theme ---------------------------------------------------------------------------------------


def test_theme_switch_toggles_and_persists(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/charts/")
    html = page.locator("html")
    switch = page.locator(".theme-switch")
    assert switch.is_visible()
    assert html.get_attribute("data-theme") == "auto"
    light_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    switch.click()
    assert html.get_attribute("data-theme") == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark_bg != light_bg
    # The charts redraw for the dark theme without errors.
    wake_charts(page)
    page.reload(wait_until="load")
    assert html.get_attribute("data-theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark_bg
    # Another page of the site (and of another version) keeps the choice too.
    other = visit(session, versions.url + f"v/{versions.ids[0]}/deals/")
    assert other.locator("html").get_attribute("data-theme") == "dark"
    switch.click()
    assert html.get_attribute("data-theme") == "light"
    switch.click()
    assert html.get_attribute("data-theme") == "auto"
    page.reload(wait_until="load")
    assert html.get_attribute("data-theme") == "auto"


# -- phone and print -----------------------------------------------------------------------------


def test_phone_layout_never_scrolls_sideways(phone_session: Session, versions: Versions) -> None:
    for path in ("latest/", "latest/charts/", "latest/deals/"):
        page = visit(phone_session, versions.url + path)
        wake_charts(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    # KPI tiles two a row; wide tables scroll inside themselves.
    page = visit(phone_session, versions.url + "latest/")
    tops = page.eval_on_selector_all(".gtm-grid .gtm-big-value", "ts => ts.map(t => t.getBoundingClientRect().top)")
    assert len(tops) == 3 and tops[0] == tops[1] < tops[2]
    page = visit(phone_session, versions.url + "latest/deals/")
    wide = page.locator(".report > table")
    assert wide.evaluate("t => t.scrollWidth > t.clientWidth")
    # The sidebar is behind the menu button.
    sidebar = page.locator("#sidebar")
    assert sidebar.is_hidden()
    page.locator(".nav-toggle").click()
    assert sidebar.is_visible()
    assert page.locator(".nav-toggle").get_attribute("aria-expanded") == "true"


def test_print_shows_every_row_and_the_static_charts(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/charts/")
    wake_charts(page)
    page.locator(".theme-switch").click()  # dark on screen must still print light
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator("#sidebar").is_hidden()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    charts = page.locator(".gtm-chart")
    for i in range(charts.count()):
        assert charts.nth(i).locator(".gtm-chart-static:not(.gtm-narrow) svg").is_visible()
        assert charts.nth(i).locator(".gtm-narrow").is_hidden()
        assert charts.nth(i).locator(".gtm-chart-live").is_hidden()
    page = visit(session, versions.url + "latest/deals/")
    page.emulate_media(media="print")
    rows = page.locator(".gtm-table tbody tr")
    assert rows.nth(41).is_visible() and page.locator(".gtm-pager").is_hidden()


# -- versions ------------------------------------------------------------------------------------


def test_old_version_shows_banner_to_same_page_in_latest(session: Session, versions: Versions) -> None:
    first, second, third = versions.ids
    page = visit(session, versions.url + f"v/{first}/deals/")
    banner = page.locator(".version-banner")
    banner.wait_for(state="visible")
    assert first in banner.inner_text()
    link = banner.locator("a")
    assert link.get_attribute("href") == f"{BASE}latest/deals/"
    link.click()
    page.wait_for_url(versions.url + "latest/deals/")
    assert page.locator(".gtm-table tbody tr").count() == 42
    # The newest version, by its own URL or by latest/, shows no banner.
    for url in (versions.url + "latest/deals/", versions.url + f"v/{third}/deals/"):
        newest = visit(session, url)
        newest.locator(".version-switcher select").wait_for(state="visible")
        assert newest.locator(".version-banner").is_hidden()


def test_switcher_stays_on_the_same_page(session: Session, versions: Versions) -> None:
    first, second, third = versions.ids
    page = visit(session, versions.url + "latest/deals/")
    select = page.locator(".version-switcher select")
    select.wait_for(state="visible")
    options = page.eval_on_selector_all(".version-switcher option", "os => os.map(o => o.value)")
    assert options == [third, second, first]
    assert select.input_value() == third

    select.select_option(first)
    page.wait_for_url(versions.url + f"v/{first}/deals/")
    assert page.locator(".gtm-table tbody tr").count() == 40
    select.wait_for(state="visible")
    assert select.input_value() == first

    select.select_option(second)
    page.wait_for_url(versions.url + f"v/{second}/deals/")
    assert page.locator(".gtm-table tbody tr").count() == 41

    select.select_option(third)
    page.wait_for_url(versions.url + "latest/deals/")


def test_switcher_lands_on_home_when_the_page_did_not_exist(session: Session, versions: Versions) -> None:
    first = versions.ids[0]
    page = visit(session, versions.url + "latest/new/")
    assert "Only the newest version" in page.inner_text("article")
    select = page.locator(".version-switcher select")
    select.wait_for(state="visible")
    select.select_option(first)
    page.wait_for_url(versions.url + f"v/{first}/")
    assert page.locator("article h1").inner_text() == "Home"
    assert page.locator('.sidebar a[data-nav="/new/"]').count() == 0


def test_changes_page_loads(session: Session, versions: Versions) -> None:
    page = visit(session, versions.url + "latest/")
    page.locator(".changes-link").click()
    page.wait_for_url(versions.url + "latest/_changes/")
    assert "New page" in page.inner_text("main")


# -- without JavaScript --------------------------------------------------------------------------


def test_pages_read_without_javascript(nojs_session: Session, versions: Versions) -> None:
    page = visit(nojs_session, versions.url + "latest/charts/")
    statics = page.locator(".gtm-chart-static:not(.gtm-narrow) svg")
    assert statics.count() == 5
    for i in range(5):
        assert statics.nth(i).is_visible()
        box = statics.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, box
    assert page.locator(".gtm-live").count() == 0
    assert page.locator(".theme-switch").is_hidden()

    page = visit(nojs_session, versions.url + "latest/deals/")
    rows = page.locator(".gtm-table tbody tr")
    assert rows.count() == 42
    assert rows.nth(41).is_visible()
    assert page.locator(".gtm-table-tools").count() == 0
    page = visit(nojs_session, versions.url + f"v/{versions.ids[0]}/deals/")
    assert page.locator(".gtm-table tbody tr").nth(39).is_visible()


# -- gtmsite serve: live reload and the error overlay (issue 5) -----------------------------------

LIVE_MD = """\
---
title: Live
---

# Live

```sql total
select sum(amount) as amount from deals
```

{filler}

Total: {{{{ value(total, "amount", fmt="usd0") }}}}. MARKER-ONE.
"""


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    from gtmsite.serve import serve

    filler = "\n\n".join(f"Paragraph {i}: " + "Lorem ipsum dolor sit amet. " * 12 for i in range(30))
    project = make_site(tmp_path_factory.mktemp("serve") / "project",
                        {"site.toml": '[site]\ntitle = "Live"\n', "sources/deals.csv": deals_csv(12, 0)})
    (project / "reports").mkdir()
    (project / "reports/index.md").write_text(LIVE_MD.format(filler=filler), encoding="utf-8")
    ready, stop = threading.Event(), threading.Event()
    lines: list[str] = []
    thread = threading.Thread(target=serve, args=(project,),
                              kwargs={"port": 0, "log": lines.append, "ready": ready, "stop": stop}, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "\n".join(lines)
        url = next(m.group(0) for line in lines if (m := re.search(r"http://\S+", line)))
        yield project, url
    finally:
        stop.set()
        thread.join(10)


def test_live_reload_and_error_overlay(session: Session, preview: tuple[Path, str]) -> None:
    project, url = preview
    report = project / "reports/index.md"
    text = report.read_text(encoding="utf-8")
    page = visit(session, url)
    assert "MARKER-ONE" in page.inner_text("article")
    page.wait_for_function("() => document.querySelector('script[data-epoch]') !== null")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_function("() => window.scrollY >= 890")
    page.evaluate("window.__gtmSamePage = true")

    # Edit the text: the open page reloads by itself and keeps its scroll position.
    report.write_text(text.replace("MARKER-ONE", "MARKER-TWO"), encoding="utf-8")
    page.wait_for_function("() => document.body.innerText.includes('MARKER-TWO')")
    assert page.evaluate("window.__gtmSamePage === undefined"), "the page should have reloaded"
    page.wait_for_function("() => Math.abs(window.scrollY - 900) <= 10")

    # Break the SQL: the overlay names the file and line and shows the SQL; the page stays.
    broken = text.replace("MARKER-ONE", "MARKER-TWO").replace("from deals", "from dealz")
    report.write_text(broken, encoding="utf-8")
    overlay = page.locator("#gtm-error-overlay")
    overlay.wait_for(state="visible")
    sql_line = broken.splitlines().index("select sum(amount) as amount from dealz") + 1
    where = overlay.locator(".gtm-error-where").first.inner_text()
    assert where == f"reports/index.md:{sql_line}"
    assert "dealz" in overlay.locator(".gtm-error-message").first.inner_text()
    assert "select sum(amount) as amount from dealz" in overlay.locator(".gtm-error-sql").first.inner_text()
    assert "MARKER-TWO" in page.inner_text("article")

    # Fix it: the overlay goes away and the new text shows.
    report.write_text(broken.replace("from dealz", "from deals").replace("MARKER-TWO", "MARKER-THREE"),
                      encoding="utf-8")
    page.wait_for_function("() => document.body.innerText.includes('MARKER-THREE')")
    assert overlay.count() == 0
