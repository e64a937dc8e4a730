"""The preview's incremental rebuild (issue 5, scope 2, 3 and 6): what a change re-runs and re-renders,
the watcher's filter and debounce, and the server's path resolution."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from versioning import PIPELINE, set_data, versioned_site
from watchdog.events import FileCreatedEvent, FileModifiedEvent, FileMovedEvent

import gtmsite.build
from gtmsite.preview import Preview
from gtmsite.serve import ChangeHandler, resolve_inside, wait_for_quiet

CHANNELS = """
---
title: Channels
---

# Channels

```sql by_channel
select channel, count(*) as deals from deals group by channel order by channel
```

{{ table(by_channel) }}
"""


@pytest.fixture
def project(tmp_path):
    site = versioned_site(tmp_path / "site", {"reports/channels.md": CHANNELS,
                                              "themes/custom/static/extra.css": "body { color: red; }\n"})
    (site / "site.toml").write_text('[site]\ntitle = "Test Site"\ntheme = "custom"\n')
    return site


@pytest.fixture
def queries_run(monkeypatch):
    """Every query the build really runs (not answered from the cache), as (report, query name)."""
    ran: list[tuple[str, str]] = []
    real = gtmsite.build.run_query

    def counting(cursor, query, params, rel, *args, **kwargs):
        ran.append((rel, query.name))
        return real(cursor, query, params, rel, *args, **kwargs)

    monkeypatch.setattr(gtmsite.build, "run_query", counting)
    return ran


@pytest.fixture
def preview(project, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    p = Preview(project, scratch)
    first = p.rebuild()
    assert first.ok, first.problems
    assert first.changed == ["/", "/channels/", "/pipeline/"]
    yield p
    p.close()


def inodes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("index.html")}


def edit(project: Path, rel: str, old: str, new: str) -> None:
    path = project / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_preview_writes_only_its_scratch_folder(project, preview):
    assert (preview.site_dir / "pipeline" / "index.html").is_file()
    assert (preview.site_dir / "_data" / "pipeline" / "by_stage.csv").is_file()
    assert not (preview.site_dir / "versions.json").exists() and not (preview.site_dir / "v").exists()
    assert not (project / "build").exists()


def test_a_report_edit_reruns_its_queries_and_renders_its_page_only(project, preview, queries_run):
    before = inodes(preview.site_dir)
    edit(project, "reports/pipeline.md", "count(*) as deals", "count(*) as deal_count")
    edit(project, "reports/pipeline.md", "{{ table(by_stage) }}", "Edited.\n\n{{ table(by_stage) }}")
    rebuild = preview.rebuild()
    assert rebuild.ok and rebuild.changed == ["/pipeline/"]
    assert queries_run == [("reports/pipeline.md", "by_stage")]
    after = inodes(preview.site_dir)
    assert after["index.html"] == before["index.html"] and after["channels/index.html"] == before["channels/index.html"]
    assert "Edited." in (preview.site_dir / "pipeline" / "index.html").read_text()
    assert (preview.site_dir / "_data" / "pipeline" / "by_stage.csv").read_text().startswith("stage,deal_count,")
    # saving the same text again (an editor's save without changes) rebuilds nothing
    (project / "reports" / "pipeline.md").touch()
    again = preview.rebuild()
    assert again.ok and again.changed == [] and queries_run == [("reports/pipeline.md", "by_stage")]


def test_a_title_change_rerenders_the_navigation_without_queries(project, preview, queries_run):
    edit(project, "reports/pipeline.md", "title: Pipeline", "title: Deal pipeline")
    rebuild = preview.rebuild()
    assert rebuild.ok and rebuild.changed == ["/", "/channels/", "/pipeline/"]
    assert queries_run == []
    assert "Deal pipeline" in (preview.site_dir / "channels" / "index.html").read_text()


def test_a_theme_change_rerenders_without_queries(project, preview, queries_run):
    (project / "themes" / "custom" / "static" / "extra.css").write_text("body { color: blue; }\n")
    rebuild = preview.rebuild()
    assert rebuild.ok and rebuild.changed == ["/", "/channels/", "/pipeline/"]
    assert queries_run == []
    css = [p.read_text() for p in (preview.site_dir / "_assets").glob("extra.*.css")]
    assert "body { color: blue; }\n" in css


def test_a_source_change_reruns_queries_and_shows_the_new_data(project, preview, queries_run):
    set_data(project, 1)
    rebuild = preview.rebuild()
    assert rebuild.ok and set(rebuild.changed) == {"/", "/channels/", "/pipeline/"}
    assert {q for _, q in queries_run} == {"won", "all_deals", "by_stage", "by_channel"}
    assert "Hooli" in (preview.site_dir / "index.html").read_text()


def test_a_change_to_one_source_reruns_only_the_pages_that_read_it(project, preview, queries_run):
    (project / "sources" / "targets.csv").write_text("channel,target\nOrganic,1\n")
    (project / "reports" / "targets.md").write_text("# Targets\n\n```sql t\nselect * from targets\n```\n\n"
                                                    "{{ table(t) }}\n")
    assert preview.rebuild().ok
    queries_run.clear()
    (project / "sources" / "targets.csv").write_text("channel,target\nOrganic,2\n")
    rebuild = preview.rebuild()
    assert rebuild.ok
    assert queries_run == [("reports/targets.md", "t")]


def test_added_and_removed_reports(project, preview):
    (project / "reports" / "notes.md").write_text("# Notes\n\nNew page.\n")
    rebuild = preview.rebuild()
    assert rebuild.ok and "/notes/" in rebuild.changed
    assert "New page." in (preview.site_dir / "notes" / "index.html").read_text()
    (project / "reports" / "channels.md").unlink()
    rebuild = preview.rebuild()
    assert rebuild.ok
    assert not (preview.site_dir / "channels" / "index.html").exists()
    assert not (preview.site_dir / "_data" / "channels").exists()
    assert "Channels" not in (preview.site_dir / "notes" / "index.html").read_text()


def test_a_failed_rebuild_keeps_the_last_good_page_and_the_next_good_save_recovers(project, preview):
    good = (preview.site_dir / "pipeline" / "index.html").read_bytes()
    edit(project, "reports/pipeline.md", "from deals group by stage", "from dealz group by stage")
    failed = preview.rebuild()
    assert not failed.ok and failed.changed == []
    (problem,) = failed.problems
    line = PIPELINE.lstrip("\n").splitlines().index("```sql by_stage") + 2
    assert (problem.path, problem.line) == ("reports/pipeline.md", line)
    assert "dealz" in problem.message and "from dealz" in problem.sql
    assert (preview.site_dir / "pipeline" / "index.html").read_bytes() == good
    # another page changes meanwhile: it is rebuilt, and the broken one is still reported
    edit(project, "reports/channels.md", "{{ table(by_channel) }}", "More.\n\n{{ table(by_channel) }}")
    still = preview.rebuild()
    assert not still.ok and still.changed == ["/channels/"] and still.problems == failed.problems
    edit(project, "reports/pipeline.md", "from dealz group by stage", "from deals group by stage")
    fixed = preview.rebuild()
    assert fixed.ok and fixed.problems == []
    # back to the last good text: the page served all along is that text's page, nothing to re-render
    assert fixed.changed == [] and (preview.site_dir / "pipeline" / "index.html").read_bytes() == good


def test_an_editor_that_empties_the_file_first(project, preview):
    path = project / "reports" / "pipeline.md"
    text = path.read_text()
    path.write_text("")
    preview.rebuild()  # whatever an empty report gives, the next save is what counts
    path.write_text(text.replace("# Pipeline", "# Pipeline again"))
    rebuild = preview.rebuild()
    assert rebuild.ok, rebuild.problems
    assert "Pipeline again" in (preview.site_dir / "pipeline" / "index.html").read_text()


BREAKAGES = {
    "not UTF-8": ("reports/pipeline.md", b"# \xff\xfe\n", "reports/pipeline.md:1: cannot read this file"),
    "bad TOML": ("site.toml", b"[site\n", "site.toml:1: not valid TOML"),
    "bad front matter": ("reports/pipeline.md", b"---\ntitle: [unclosed\n---\n# x\n",
                         "reports/pipeline.md:2: front matter is not valid YAML"),
    "template runtime error": ("reports/pipeline.md", b"# x\n\n{{ 1/0 }}\n", "reports/pipeline.md:3: template error"),
    "source deleted": ("sources/deals.csv", None, "Table with name deals does not exist"),
    "renderer crash": ("reports/pipeline.md", b'# x\n\n```sql q\nselect 1 as a\n```\n\n{{ chart(q, {"mark": '
                       b'{"type": "text", "font": "a<b"}, "encoding": {"text": {"field": "a"}}}) }}\n',
                       "reports/pipeline.md:7: chart: the chart renderer (vl-convert) crashed on this chart"),
}


@pytest.mark.parametrize("kind", list(BREAKAGES))
def test_every_kind_of_breakage_is_reported_and_recovers(project, preview, kind):
    rel, content, message = BREAKAGES[kind]
    path = project / rel
    original = path.read_bytes()
    good = (preview.site_dir / "index.html").read_bytes()
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    failed = preview.rebuild()
    assert not failed.ok
    assert any(message in str(p) for p in failed.problems), [str(p) for p in failed.problems]
    assert (preview.site_dir / "index.html").read_bytes() == good
    path.write_bytes(original)
    assert preview.rebuild().ok


# -- the watcher -----------------------------------------------------------------------------------


def handler_for(tmp_path: Path) -> tuple[ChangeHandler, Path]:
    project = tmp_path / "p"
    return ChangeHandler(project, project / "build", project / ".gtmsite-cache"), project


@pytest.mark.parametrize(("rel", "relevant"), [
    ("reports/index.md", True), ("reports/deep/x.md", True), ("sources/deals.csv", True),
    ("sources/models/m.sql", True), ("themes/custom/static/a.css", True), ("site.toml", True),
    ("build/latest/index.html", False), (".gtmsite-cache/results/ab/cd", False), ("README.md", False),
    ("reports/.index.md.swp", False), ("reports/index.md~", False), ("reports/.#index.md", False),
    ("reports/4913", False), ("reports/x.tmp", False), ("other/site.toml", False),
])
def test_which_changes_count(tmp_path, rel, relevant):
    handler, project = handler_for(tmp_path)
    assert handler.relevant(project / rel) is relevant


def test_a_burst_of_events_is_one_rebuild(tmp_path):
    handler, project = handler_for(tmp_path)
    stop = threading.Event()

    def burst():
        for n in range(8):
            handler.on_any_event(FileModifiedEvent(str(project / "reports" / f"r{n % 3}.md")))
            time.sleep(0.02)
        # an editor's atomic save: a temporary file renamed over the report
        tmp, report = str(project / "reports" / ".r0.md.tmp"), str(project / "reports" / "r0.md")
        handler.on_any_event(FileCreatedEvent(tmp))
        handler.on_any_event(FileMovedEvent(tmp, report))

    thread = threading.Thread(target=burst)
    started = time.monotonic()
    thread.start()
    batch = wait_for_quiet(handler, stop)
    thread.join()
    assert time.monotonic() - started >= 0.14, "it waited for the burst to end"
    assert batch == {str(project / "reports" / f"r{n}.md") for n in range(3)}
    assert not handler.pending.is_set()


def test_a_briefly_empty_file_gets_a_longer_wait(tmp_path):
    handler, project = handler_for(tmp_path)
    (project / "reports").mkdir(parents=True)
    report = project / "reports" / "index.md"
    report.write_text("")
    handler.on_any_event(FileModifiedEvent(str(report)))
    threading.Timer(0.1, lambda: report.write_text("# Full\n")).start()
    batch = wait_for_quiet(handler, threading.Event())
    assert batch == {str(report)}
    assert report.read_text() == "# Full\n", "the rebuild waited for the content (4 x the debounce)"


# -- path resolution -------------------------------------------------------------------------------


def test_resolve_inside(tmp_path):
    root = (tmp_path / "site").resolve()
    (root / "a").mkdir(parents=True)
    (root / "a" / "index.html").write_text("x")
    (tmp_path / "outside.txt").write_text("secret")
    (root / "out").symlink_to(tmp_path / "outside.txt")
    (root / "loop").symlink_to(root / "loop")
    assert resolve_inside(root, "a/index.html") == root / "a" / "index.html"
    assert resolve_inside(root, "") == root
    assert resolve_inside(root, "/a//./index.html") == root / "a" / "index.html"
    for rel in ("../outside.txt", "a/../../outside.txt", "out", "a\\..\\..\\outside.txt", "a/index.html\x00",
                "loop"):
        assert resolve_inside(root, rel) is None, rel
