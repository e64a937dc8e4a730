"""Search: every published version has its own Pagefind index, and the search box in the top bar finds
pages of that version, in a real Chromium, under a base_url sub-path, without any other host."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import build_ok, deals_site, make_site, page
from test_browser import Session, browser, serve_folder, session, visit  # noqa: F401 - fixtures

import gtmsite.search
from gtmsite.release import build_site
from gtmsite.search import BUNDLES_FILE, INDEX_DIR, PAGES_FILE, index_version, pages_to_index

PIPELINE_MD = """\
---
title: Pipeline
---

# Pipeline

The zephyrine forecast lives here.

```sql deals
select account, amount from deals order by id
```

{{ table(deals) }}
"""

ABOUT_MD = """\
---
title: About the data
---

# About the data

Every number comes from the CRM export.
"""


def test_a_version_gets_an_index_of_its_pages_only(site) -> None:
    project = site({"reports/index.md": "# Home\n\nWelcome.\n", "reports/pipeline.md": PIPELINE_MD})
    build_ok(project)
    latest = project / "build" / "latest"
    assert (latest / INDEX_DIR / "pagefind.js").is_file()
    assert any((latest / INDEX_DIR / "fragment").iterdir())
    assert not any(p.name.startswith("pagefind-ui") for p in (latest / INDEX_DIR).iterdir())
    urls = [p.url for p in pages_to_index(latest)]
    assert urls == ["/", "/pipeline/"]  # not _changes/, _checks/ or 404.html


def test_the_metrics_glossary_is_indexed_when_there_is_one(tmp_path: Path) -> None:
    folder = make_site(tmp_path / "v", {"index.html": "<main><h1>Home</h1></main>",
                                        "_metrics/index.html": "<main><h1>Metrics</h1><p>Win rate</p></main>",
                                        "_changes/index.html": "<main><h1>What changed</h1></main>"})
    assert [p.url for p in pages_to_index(folder)] == ["/", "/_metrics/"]
    index_version(folder)
    assert (folder / INDEX_DIR / "pagefind-entry.json").is_file()


def test_an_unchanged_site_links_the_previous_index(site) -> None:
    project = site({"reports/index.md": "# Home\n\nWelcome.\n"})
    build_ok(project)
    build_ok(project)
    first, second = sorted((project / "build" / "v").iterdir())
    old, new = first / INDEX_DIR / "pagefind.js", second / INDEX_DIR / "pagefind.js"
    assert old.stat().st_ino == new.stat().st_ino
    (project / "reports/index.md").write_text("# Home\n\nWelcome back.\n", encoding="utf-8")
    build_ok(project)
    third = sorted((project / "build" / "v").iterdir())[-1]
    old_pages = json.loads((second / INDEX_DIR / PAGES_FILE).read_text())
    new_pages = json.loads((third / INDEX_DIR / PAGES_FILE).read_text())
    assert old_pages.keys() == new_pages.keys() and old_pages["/"] != new_pages["/"]
    assert old.stat().st_ino != (third / INDEX_DIR / "pagefind.js").stat().st_ino


def test_pages_written_again_byte_for_byte_keep_their_index(site) -> None:
    """--no-cache renders every page again (new files): the same bytes still link the index."""
    project = site({"reports/index.md": "# Home\n\nWelcome.\n", "reports/pipeline.md": "# Pipeline\n"})
    build_ok(project)
    build_ok(project, "--no-cache")
    first, second = sorted((project / "build" / "v").iterdir())
    assert (first / "pipeline/index.html").stat().st_ino != (second / "pipeline/index.html").stat().st_ino
    assert (first / INDEX_DIR / "pagefind.js").stat().st_ino == (second / INDEX_DIR / "pagefind.js").stat().st_ino


def test_the_search_box_is_in_the_top_bar_of_a_published_version(site) -> None:
    project = site({"reports/index.md": "# Home\n", "reports/channels/organic.md": "# Organic\n"})
    build_ok(project)
    html = page(project, "/channels/organic/")
    topbar = html[html.index('<header class="topbar">'):html.index("</header>")]
    assert '<input type="search"' in topbar
    assert 'data-root="../../"' in topbar
    assert "pagefind" not in html  # nothing about the index is loaded with the page


def test_the_preview_has_no_search_box(site) -> None:
    from gtmsite.build import Builder
    from gtmsite.config import load_config
    from gtmsite.output import Writer

    project = site({"reports/index.md": "# Home\n"})
    out = project / "preview"
    builder = Builder(load_config(project), Writer(out))
    builder.run()
    builder.db.close()
    assert 'type="search"' not in (out / "index.html").read_text(encoding="utf-8")


# -- in Chromium -------------------------------------------------------------------------------------


@dataclass
class Published:
    url: str  # http://127.0.0.1:PORT/analytics/
    ids: list[str]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """Two versions under /analytics/: only the newer one has the "About the data" page."""
    root = tmp_path_factory.mktemp("search")
    project = deals_site(root / "project", {"site.toml": '[site]\ntitle = "Search"\nbase_url = "/analytics/"\n',
                                            "reports/index.md": "# Home\n\nSee the pipeline.\n",
                                            "reports/pipeline.md": PIPELINE_MD})
    output = root / "www" / "analytics"
    ids = [build_site(project, output, label="first").record.id]
    make_site(project, {"reports/about.md": ABOUT_MD})
    ids.append(build_site(project, output, label="second").record.id)
    server, origin = serve_folder(root / "www")
    try:
        yield Published(origin + "/analytics/", ids)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def reader(session: Session) -> Session:  # noqa: F811 - test_browser's fixture: a context that records requests
    return session


def _search(page, words: str) -> list[str]:
    page.fill("input[type=search]", words)
    page.wait_for_selector(".search-results:not([hidden])")
    return [a.get_attribute("href") for a in page.query_selector_all(".search-results a.search-title")]


def test_typing_a_word_offers_the_page_that_has_it(reader: Session, published: Published) -> None:
    page = visit(reader, published.url + "latest/")
    assert not [u for u in reader.requests if INDEX_DIR in u]  # nothing loaded until the box is used
    box = page.locator("input[type=search]")
    assert box.is_visible()
    assert _search(page, "zephyrine") == ["/analytics/latest/pipeline/"]
    assert "zephyrine" in page.inner_text(".search-results mark").lower()
    assert [u for u in reader.requests if INDEX_DIR in u]
    page.click(".search-results a.search-title")
    page.wait_for_url("**/latest/pipeline/")
    assert page.locator("h1").inner_text() == "Pipeline"


def test_results_come_from_the_version_being_read(reader: Session, published: Published) -> None:
    first, second = published.ids
    page = visit(reader, published.url + f"v/{first}/pipeline/")
    assert _search(page, "zephyrine") == [f"/analytics/v/{first}/pipeline/"]
    page = visit(reader, published.url + f"v/{second}/")
    assert _search(page, "zephyrine") == [f"/analytics/v/{second}/pipeline/"]


def test_a_page_only_in_the_newer_version_is_found_only_there(reader: Session, published: Published) -> None:
    first, second = published.ids
    newer = visit(reader, published.url + f"v/{second}/")
    assert _search(newer, "CRM export") == [f"/analytics/v/{second}/about/"]
    older = visit(reader, published.url + f"v/{first}/")
    assert _search(older, "CRM export") == []
    assert "No pages match" in older.inner_text(".search-results")


def test_search_never_asks_another_host(reader: Session, published: Published) -> None:
    page = visit(reader, published.url + "latest/pipeline/")
    _search(page, "pipeline")
    reader.check()  # no request left localhost, no console error


def test_search_can_be_turned_off(site) -> None:
    project = site({"site.toml": '[site]\ntitle = "No search"\nsearch = false\n', "reports/index.md": "# Home\n"})
    build_ok(project)
    assert not (project / "build" / "latest" / INDEX_DIR).exists()
    assert 'type="search"' not in page(project, "/")


def test_a_site_without_any_text_builds_without_an_index(site) -> None:
    project = site({"reports/index.md": "```sql n\nselect count(*) as n from deals\n```\n"})
    build_ok(project)
    assert not (project / "build" / "latest" / INDEX_DIR).exists()


# -- a big site: one index per shard of its pages ----------------------------------------------------

# Six pages with a word of their own each, in shards of one page: eight shards, most of them used.
WORDS = ["amaranth", "basalt", "cobalt", "dolomite", "emerald", "feldspar"]


def sharded_site(root: Path) -> Path:
    files = {"reports/index.md": "# Home\n\nThe amaranth report.\n"}
    files.update({f"reports/{word}.md": f"# {word.title()}\n\nThe {word} figures.\n" for word in WORDS[1:]})
    return deals_site(root, {"site.toml": '[site]\ntitle = "Shards"\nbase_url = "/shards/"\n', **files})


@pytest.fixture
def one_page_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gtmsite.search, "SHARD_PAGES", 1)


def test_a_big_site_gets_one_index_per_shard_and_a_list_of_them(tmp_path: Path, one_page_shards) -> None:
    project = sharded_site(tmp_path / "site")
    build_ok(project)
    latest = project / "build" / "latest"
    bundles = json.loads((latest / INDEX_DIR / BUNDLES_FILE).read_text())
    assert 2 <= len(bundles) <= 6 and all(re.fullmatch(r"_pagefind/shard-\d/", b) for b in bundles)
    assert all((latest / b / "pagefind.js").is_file() for b in bundles)
    assert not (latest / INDEX_DIR / "pagefind.js").exists()
    assert not list(latest.glob(".*")), "the shards' linked pages do not stay in the version"
    assert [p.url for p in pages_to_index(latest)] == ["/", *[f"/{w}/" for w in sorted(WORDS[1:])]]


def test_a_changed_page_indexes_its_shard_again_only(tmp_path: Path, one_page_shards) -> None:
    project = sharded_site(tmp_path / "site")
    build_ok(project)
    (project / "reports" / "cobalt.md").write_text("# Cobalt\n\nThe cobalt figures, revised.\n")
    build_ok(project)
    first, second = sorted((project / "build" / "v").iterdir())
    bundles = json.loads((second / INDEX_DIR / BUNDLES_FILE).read_text())
    assert bundles == json.loads((first / INDEX_DIR / BUNDLES_FILE).read_text())
    changed = [b for b in bundles
               if (first / b / "pagefind.js").stat().st_ino != (second / b / "pagefind.js").stat().st_ino]
    assert len(changed) == 1
    old_pages = json.loads((first / changed[0] / PAGES_FILE).read_text())
    new_pages = json.loads((second / changed[0] / PAGES_FILE).read_text())
    assert [url for url in new_pages if new_pages[url] != old_pages.get(url)] == ["/cobalt/"]
    assert (first / INDEX_DIR / BUNDLES_FILE).stat().st_ino != (second / INDEX_DIR / BUNDLES_FILE).stat().st_ino


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site whose index is split into shards, served under /shards/."""
    root = tmp_path_factory.mktemp("sharded")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gtmsite.search, "SHARD_PAGES", 1)
        build_site(sharded_site(root / "project"), root / "www" / "shards")
    server, origin = serve_folder(root / "www")
    try:
        yield origin + "/shards/latest/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_search_box_finds_pages_in_every_shard(reader: Session, sharded: str) -> None:
    page = visit(reader, sharded)
    for word in WORDS:
        expected = "/shards/latest/" if word == WORDS[0] else f"/shards/latest/{word}/"
        page.fill("input[type=search]", "")  # closes the last results, so that the next ones are awaited
        assert _search(page, word) == [expected], word
    assert len({u.split("/_pagefind/")[1].split("/")[0] for u in reader.requests if "/shard-" in u}) >= 2
    reader.check()  # no console error, nothing asked of another host
