"""The version as one PDF (`build --pdf`, `gtmsite pdf`), printed by a real Chromium and read back with
pypdf: cover, contents with the right page numbers, KPI values, charts' text, long tables whose header
repeats on every page, page numbers, and no navigation chrome."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import deals_site, make_site, run_cli
from test_browser import CHROMIUM

from gtmsite.release import build_site

pytestmark = pytest.mark.browser

INDEX_MD = """\
---
title: Overview
order: 0
---

# Overview

```sql totals
select sum(amount) as total_usd0, count(*) as deals from deals
```

<div class="gtm-grid">
{{ big_value(totals, value="total_usd0", title="Total amount") }}
{{ big_value(totals, value="deals", title="Deals") }}
</div>
"""

CHART_MD = """\
---
title: By stage
order: 1
---

# By stage

```sql by_stage
select stage, sum(amount) as amount from deals group by all order by amount desc
```

{{ bar_chart(by_stage, x="stage", y="amount", title="Amount by stage") }}
"""

LEDGER_MD = """\
---
title: Ledger
order: 2
---

# Ledger

```sql ledger
select i as line_no, 'entry ' || i as entry_name, i * 10 as amount from range(1, 161) t(i)
```

{{ table(ledger, page_size=20) }}
"""


@dataclass
class Printed:
    project: Path
    output: Path
    ids: list[str]


def _chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Printed]:
    _chromium()
    root = tmp_path_factory.mktemp("pdf")
    project = deals_site(root / "project", {"site.toml": '[site]\ntitle = "PDF Test"\nbase_url = "/gtm/"\n',
                                            "reports/index.md": INDEX_MD, "reports/stages.md": CHART_MD,
                                            "reports/ledger.md": LEDGER_MD})
    output = root / "out"
    ids = [build_site(project, output, label="plain").record.id, build_site(project, output, label="printed",
                                                                             pdf=True).record.id]
    yield Printed(project, output, ids)


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(str(path)).pages]


def test_build_pdf_writes_the_version_as_one_pdf(printed: Printed) -> None:
    version = printed.output / "v" / printed.ids[1]
    assert (version / "site.pdf").read_bytes().startswith(b"%PDF")
    assert (printed.output / "latest" / "site.pdf").is_file()
    entry = json.loads((printed.output / "versions.json").read_text())[0]
    assert entry["id"] == printed.ids[1] and entry["pdf"] == "site.pdf"
    assert json.loads((version / "_version.json").read_text())["version"]["pdf"] == "site.pdf"
    assert not (printed.output / "v" / printed.ids[0] / "site.pdf").exists()


def test_every_page_links_to_the_pdf(printed: Printed) -> None:
    version = printed.output / "v" / printed.ids[1]
    assert 'href="site.pdf"' in (version / "index.html").read_text()
    assert 'href="../site.pdf"' in (version / "ledger" / "index.html").read_text()
    assert 'href="../site.pdf"' in (version / "_changes" / "index.html").read_text()
    assert "site.pdf" not in (printed.output / "v" / printed.ids[0] / "index.html").read_text()


def test_cover_contents_and_page_numbers(printed: Printed) -> None:
    pages = pdf_pages(printed.output / "v" / printed.ids[1] / "site.pdf")
    cover, contents = pages[0], pages[1]
    assert "PDF Test" in cover and printed.ids[1] in cover and "Page 1" not in cover
    assert re.search(r"\d{1,2} \w+ \d{4}", cover)  # the date
    assert contents.startswith("Contents") or "Contents" in contents
    for title in ("Overview", "By stage", "Ledger"):
        number = int(re.search(rf"{title}\s*\.*\s*(\d+)", contents).group(1))
        assert title in pages[number - 1].split("\n")[:4], (title, number)  # its heading opens that page
        assert title not in pages[number - 2].split("\n"), (title, number)
    assert f"Page 2 of {len(pages)}" in contents


def test_kpis_charts_and_tables_are_in_the_pdf(printed: Printed) -> None:
    text = "\n".join(pdf_pages(printed.output / "v" / printed.ids[1] / "site.pdf"))
    assert "$4,600" in text and "TOTAL AMOUNT" in text.upper()  # the big value, formatted
    assert "Amount by stage" in text and "Closed Won" in text  # the chart's title and its axis labels (SVG text)
    assert "entry 160" in text  # every row of the paginated table, not only the first 20


def test_a_long_table_repeats_its_header_on_every_page(printed: Printed) -> None:
    pages = pdf_pages(printed.output / "v" / printed.ids[1] / "site.pdf")
    with_rows = [p for p in pages if re.search(r"entry \d+", p)]
    assert len(with_rows) >= 2
    for text in with_rows:
        assert "Entry Name" in text or "entry_name" in text.lower(), text[:200]


def test_no_navigation_chrome_in_the_pdf(printed: Printed) -> None:
    text = "\n".join(pdf_pages(printed.output / "v" / printed.ids[1] / "site.pdf"))
    for chrome in ("Skip to content", "What changed", "Data checks", "Built with gtmsite", "Search"):
        assert chrome not in text


def test_gtmsite_pdf_prints_some_pages_of_a_published_version(printed: Printed, tmp_path: Path) -> None:
    target = tmp_path / "ledger.pdf"
    result = run_cli("pdf", "ledger", "--version", printed.ids[0], "--output", target, "--project", printed.project,
                     "--site", printed.output)
    assert result.exit_code == 0, result.output
    assert f"version {printed.ids[0]}" in result.stdout
    text = "\n".join(pdf_pages(target))
    assert "Ledger" in text and "TOTAL AMOUNT" not in text.upper()
    assert not (printed.output / "v" / printed.ids[0] / "site.pdf").exists()  # the version is left as it was


def test_gtmsite_pdf_names_an_unknown_page(printed: Printed, tmp_path: Path) -> None:
    result = run_cli("pdf", "nowhere", "--project", printed.project, "--site", printed.output, "--output",
                     tmp_path / "x.pdf")
    assert result.exit_code == 2
    assert "no page 'nowhere'" in result.stderr and "/ledger/" in result.stderr


def test_a_missing_browser_says_what_to_install_and_publishes_nothing(tmp_path: Path) -> None:
    project = deals_site(tmp_path / "p", {"reports/index.md": "# Home\n"})
    result = run_cli("build", "--pdf", "--project", project, env={"GTMSITE_CHROMIUM": str(tmp_path / "none")})
    assert result.exit_code == 2
    assert "apt-get install chromium" in result.stderr and "pip install 'gtmsite[pdf]'" in result.stderr
    assert not (project / "build" / "versions.json").exists()
    make_site(project, {"reports/more.md": "# More\n"})
    assert run_cli("build", "--project", project).exit_code == 0


def test_links_and_chart_references_point_inside_the_document(printed: Printed) -> None:
    from gtmsite.config import load_config
    from gtmsite.pdf import document_pages, page_order, render_document, version_info

    folder = printed.output / "v" / printed.ids[1]
    pages = document_pages(folder, page_order(folder), "", printed.ids[1])
    html = render_document(load_config(printed.project), version_info(folder), pages)
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    references = re.findall(r'url\(#([^)]+)\)', html) + re.findall(r'href="#([^"]+)"', html)
    assert references and not [r for r in references if r not in ids]
    assert "<script" not in html and 'href="../' not in html
