"""A build links the previous version's copy of every page whose inputs did not change."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import build_ok, deals_site

from gtmsite.publish import disk_usage

REPORTS = {
    "reports/index.md": "# Home\n\n```sql n\nselect count(*) as n from deals\n```\n\nDeals: {{ value(n, 'n') }}\n",
    "reports/other.md": "# Other\n\n```sql t\nselect 1 as one\n```\n\n{{ table(t) }}\n",
}


def versions(project: Path) -> list[str]:
    return [v["id"] for v in json.loads((project / "build" / "versions.json").read_text())]


def inode(project: Path, version: str, rel: str) -> int:
    return (project / "build" / "v" / version / rel).stat().st_ino


def test_unchanged_pages_are_linked_not_rendered_again(tmp_path):
    project = deals_site(tmp_path / "site", REPORTS)
    build_ok(project)
    build_ok(project)
    new, old = versions(project)
    for rel in ("index.html", "other/index.html", "_data/other/t.csv", "_data/index/n.parquet"):
        assert inode(project, new, rel) == inode(project, old, rel), rel
    unique, total = disk_usage(project / "build")
    assert unique < total * 0.8  # latest/ is links, and so are the unchanged pages of the second version


def test_a_changed_report_is_rendered_again_and_only_it(tmp_path):
    project = deals_site(tmp_path / "site", REPORTS)
    build_ok(project)
    renamed = "# Other, renamed\n\n```sql t\nselect 2 as two\n```\n\n{{ table(t) }}\n"
    (project / "reports" / "other.md").write_text(renamed)
    build_ok(project)
    new, old = versions(project)
    assert inode(project, new, "index.html") == inode(project, old, "index.html")
    assert inode(project, new, "other/index.html") != inode(project, old, "other/index.html")
    assert "Other, renamed" in (project / "build" / "latest" / "other" / "index.html").read_text()


def test_changed_data_renders_the_pages_that_read_it(tmp_path):
    project = deals_site(tmp_path / "site", REPORTS)
    build_ok(project)
    csv = project / "sources" / "deals.csv"
    csv.write_text(csv.read_text() + "5,Hooli,Organic,Closed Won,900,2026-03-21\n")
    build_ok(project)
    new, old = versions(project)
    assert inode(project, new, "index.html") != inode(project, old, "index.html")
    assert "Deals: <span class=\"gtm-value\">5</span>" in (project / "build" / "latest" / "index.html").read_text()
    assert inode(project, new, "other/index.html") == inode(project, old, "other/index.html")
