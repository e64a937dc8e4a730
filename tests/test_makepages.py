"""Pages made in worker processes (a big templated report) are those made in threads: the same files,
the same summary, the same located errors; and an unchanged rebuild links them all."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from conftest import build_ok, error_lines, make_site, run_cli

import gtmsite.makepages
from gtmsite.makepages import PageMaker

NAMES = ["O'Brien & Sons", 'Say "hi" <b>', "Zürich 東京", "Acme", "Globex", "Initech", "Umbrella", "Hooli",
         "Stark", "Wayne", "Tyrell", "Cyberdyne"]

REPORT = """---
title: "{{ params.name }}"
pages: select id, name from accounts order by id
---

# {{ params.name }}

```sql monthly
select month, amount from deals where account_id = $id order by month
```

```sql by_stage
select stage, sum(amount) as amount from deals where account_id = $id group by 1 order by 1
```

{{ big_value(monthly, "amount", agg="sum", title="Total") }}

{{ line_chart(monthly, x="month", y="amount", title="Monthly") }}

{{ bar_chart(by_stage, x="stage", y="amount", title="By stage") }}

{{ table(monthly) }}
"""


def templated_site(root: Path, report: str = REPORT) -> Path:
    accounts = "id,name\n" + "".join(f'{i},"{n.replace(chr(34), chr(34) * 2)}"\n' for i, n in enumerate(NAMES, 1))
    deals = "account_id,month,stage,amount\n" + "".join(
        f"{a},2026-{m:02d}-01,{'Won' if (a + m) % 3 else 'Lost'},{a * 100 + m * 7.5}\n"
        for a in range(1, len(NAMES) + 1) for m in range(1, 7))
    return make_site(root, {"site.toml": '[site]\ntitle = "T"\n[build]\nworkers = 2\n',
                            "sources/accounts.csv": accounts, "sources/deals.csv": deals,
                            "reports/index.md": "# Home\n", "reports/accounts/[name].md": report})


def files_of(folder: Path) -> dict[str, bytes]:
    """The files under a folder. vl-convert numbers its clip paths in the order it draws charts (any), and
    the search index's fingerprint is of the pages' bytes, so both are left out of the comparison."""
    return {p.relative_to(folder).as_posix(): re.sub(rb"-clip\d+\b", b"-clip", p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() and "_pagefind" not in p.parts}


@pytest.fixture
def forked(monkeypatch):
    """Count the builds that made pages in worker processes."""
    calls = []
    original = PageMaker.in_processes

    def spy(self, pages, workers, done):
        calls.append(len(pages))
        return original(self, pages, workers, done)

    monkeypatch.setattr(PageMaker, "in_processes", spy)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    return calls


def test_pages_made_in_worker_processes_are_those_made_in_threads(tmp_path, monkeypatch, forked):
    project = templated_site(tmp_path / "site")
    monkeypatch.setattr(gtmsite.makepages, "PROCESS_THRESHOLD", 10**9)
    threads_out = build_ok(project, "--no-cache", "--output", project / "threads")
    assert forked == []
    monkeypatch.setattr(gtmsite.makepages, "PROCESS_THRESHOLD", 1)
    processes_out = build_ok(project, "--no-cache", "--output", project / "processes")
    assert forked == [len(NAMES)]
    in_threads, in_processes = files_of(project / "threads" / "latest"), files_of(project / "processes" / "latest")
    assert len(in_processes) > 3 * len(NAMES)
    assert in_processes == in_threads
    html = in_processes["accounts/say-hi-b/index.html"].decode()
    assert "Say &#34;hi&#34; &lt;b&gt;" in html or "Say &quot;hi&quot; &lt;b&gt;" in html
    assert html.count("<svg") >= 2  # the line chart drawn in the worker, the bar chart by vl-convert here
    summary = [line for line in processes_out.splitlines() if line.startswith("built ")]
    assert "charts: 48 rendered" in summary[0], summary  # two charts a page, each for the phone too
    assert summary[0].split(" in ")[1].split("(")[1] == \
        [line for line in threads_out.splitlines() if line.startswith("built ")][0].split(" in ")[1].split("(")[1]


def test_an_unchanged_rebuild_in_worker_processes_links_every_page(tmp_path, monkeypatch, forked):
    monkeypatch.setattr(gtmsite.makepages, "PROCESS_THRESHOLD", 1)
    project = templated_site(tmp_path / "site")
    build_ok(project)
    out = build_ok(project)
    assert f"(0 rendered, {len(NAMES) + 2} unchanged" in out
    assert forked == [len(NAMES), len(NAMES)]
    deals = project / "sources" / "deals.csv"
    deals.write_text(deals.read_text() + "3,2026-07-01,Won,5\n")
    assert f"(1 rendered, {len(NAMES) + 1} unchanged" in build_ok(project)
    html = (project / "build" / "latest" / "accounts" / "zürich-東京" / "index.html").read_text()
    assert "2026-07" in html or "Jul" in html


def test_an_error_on_a_page_made_in_a_worker_process_names_the_page(tmp_path, monkeypatch, forked):
    monkeypatch.setattr(gtmsite.makepages, "PROCESS_THRESHOLD", 1)
    broken = REPORT.replace("{{ table(monthly) }}", '{{ table(monthly, columns=["nope"]) if params.id == 3 }}')
    project = templated_site(tmp_path / "site", broken)
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert forked == [len(NAMES)]
    lines = error_lines(result)
    assert any("reports/accounts/[name].md" in line and "/accounts/zürich-東京/" in line and "nope" in line
               for line in lines), lines
    assert not (project / "build" / "latest").exists(), "a failed build publishes nothing"


def _killed(urls):
    """A worker that dies as the out-of-memory killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_process_that_dies_is_an_error_not_a_hang(tmp_path, monkeypatch, forked):
    monkeypatch.setattr(gtmsite.makepages, "PROCESS_THRESHOLD", 1)
    monkeypatch.setattr(gtmsite.makepages, "_make_chunk", _killed)
    project = templated_site(tmp_path / "site")
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1, result.output
    assert "a process making pages stopped before it finished" in result.stderr
    assert "[build] workers = 1" in result.stderr and "internal error" not in result.stderr
    assert not (project / "build" / "latest").exists()
