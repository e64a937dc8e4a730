"""The write stage's linking ahead (write.py): on a build for new data, the previous version's copies of the
pages whose inputs did not change are linked while the queries run; those whose results did change are
written anew, never into the previous version's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import build_ok, run_cli
from test_batch import PER_QUERY, account_report, csv_site, summary

import gtmsite.write


def version_files(version: Path) -> dict[str, bytes]:
    """Every file of a version but its manifest (which names the version), by path."""
    return {p.relative_to(version).as_posix(): p.read_bytes() for p in sorted(version.rglob("*"))
            if p.is_file() and p.name != "_version.json"}


def versions(project: Path) -> list[Path]:
    return sorted((project / "build" / "v").iterdir(), key=lambda p: p.stat().st_mtime_ns)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The accounts site of test_batch, whose pages are all linked ahead (however few)."""
    monkeypatch.setattr(gtmsite.write, "LINK_AHEAD_FROM", 1)
    project = csv_site(tmp_path / "site")
    (project / "reports" / "accounts" / "[name].md").write_text(PER_QUERY.lstrip("\n"))
    build_ok(project)
    build_ok(project)
    return project


def test_unchanged_pages_are_the_previous_versions_files_and_changed_ones_new(site, tmp_path):
    first, second = versions(site)
    before = version_files(second)
    page = "accounts/say-hi-drop-table-deals/index.html"
    assert os.path.samefile(first / page, second / page)
    deals = site / "sources" / "deals.csv"
    deals.write_text(deals.read_text() + "18,2,Won,9.5,2026-04-01\n")
    assert summary(build_ok(site)) == (1, 7)
    third = versions(site)[-1]
    assert version_files(second) == before, "the previous version's files were written into"
    assert not os.path.samefile(second / page, third / page) and ">18<" in (third / page).read_text()
    other = "accounts/o-brien-sons/index.html"
    assert os.path.samefile(second / other, third / other)
    assert os.path.samefile(second / "_data/accounts/o-brien-sons/by_name.csv",
                            third / "_data/accounts/o-brien-sons/by_name.csv")
    fresh = csv_site(tmp_path / "fresh")
    (fresh / "reports" / "accounts" / "[name].md").write_text(PER_QUERY.lstrip("\n"))
    deals_now = deals.read_text()
    (fresh / "sources" / "deals.csv").write_text(deals_now)
    build_ok(fresh, "--no-cache")
    fresh_files = version_files(versions(fresh)[-1])
    assert set(version_files(third)) == set(fresh_files)  # nothing left over, nothing missing
    assert {k: v for k, v in version_files(third).items() if k.endswith(".csv")} == \
        {k: v for k, v in fresh_files.items() if k.endswith(".csv")}


def test_a_build_that_fails_after_linking_ahead_changes_nothing_published(tmp_path, monkeypatch):
    """The pages are linked ahead (their reports did not change), then a query fails on the new data."""
    monkeypatch.setattr(gtmsite.write, "LINK_AHEAD_FROM", 1)
    project = csv_site(tmp_path / "site")
    strict = ("select case when (select count(*) from deals) > 8 then error('too many deals') else id end as id "
              "from deals where account_id = $id")
    (project / "reports" / "accounts" / "[name].md").write_text(account_report({"mine": strict}, "{{ table(mine) }}"))
    build_ok(project)
    build_ok(project)
    published = {v.name: version_files(v) for v in versions(project)}
    latest = version_files(project / "build" / "latest")
    deals = project / "sources" / "deals.csv"
    deals.write_text(deals.read_text() + "18,2,Won,9.5,2026-04-01\n")
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1 and "too many deals" in result.output, result.output
    assert {v.name: version_files(v) for v in versions(project)} == published
    assert version_files(project / "build" / "latest") == latest
    assert not list(project.glob("build/.staging-*")), "a staging folder stayed"


def test_a_page_with_new_results_is_never_written_into_a_linked_file(site):
    """The writer makes every file new in a version's folder: a name still linked to the previous version's
    file is an error, not a write through the link."""
    writer = gtmsite.output.Writer(site / "build" / "scratch")
    previous = versions(site)[-1] / "index.html"
    writer.place_ahead("index.html", str(previous))
    before = previous.read_bytes()
    with pytest.raises(Exception, match="index.html"):
        writer.write("index.html", "<p>new</p>")
    assert previous.read_bytes() == before
