"""Files (issue 9): a damaged cache is a miss, never an error and never published; the cache ignores
itself in git; scratch folders never outlive their process; links out of the project are refused."""

from __future__ import annotations

import errno
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import article, deals_site, run_cli

from gtmsite.files import link_or_copy, link_tree, listing_inodes_are_true, read_cached, store_in_cache, sync_tree

CHART_SITE = {
    "reports/index.md": """
        # Sales

        ```sql by_stage
        select stage, sum(amount) as amount from deals group by stage order by stage
        ```

        {{ bar_chart(by_stage, x="stage", y="amount", horizontal=True, title="By stage") }}

        {{ table(by_stage) }}
        """,
    "reports/accounts/[account].md": """
        ---
        title: "{{ params.account }}"
        pages: select distinct account from deals order by account
        ---

        ```sql detail
        select id, amount from deals where account = $account
        ```

        {{ table(detail) }}
        """,
}


def _build(project: Path, output: Path, xdg: Path):
    return run_cli("build", "--project", project, "--output", output, env={"XDG_CACHE_HOME": str(xdg)})


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, min(len(data), len(data) // 3 + 64)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _same(html: str) -> str:
    """The page without the renderer's running clip-path numbers (they depend on what it drew before)."""
    return re.sub(r"clip\d+", "clip", html)


def _bundle(output: Path) -> bytes:
    [bundle] = (output / "_assets").glob("vega.*.js")
    return bundle.read_bytes()


@pytest.mark.parametrize("damage", [_garble, _truncate], ids=["garbled", "truncated"])
def test_a_damaged_cache_heals_and_is_never_published(tmp_path, damage):
    """Every entry of the project's cache (results, compiled templates, SVGs, Parquet) and the user-level
    Vega bundle damaged: the next build succeeds, with the same pages, and publishes nothing damaged."""
    project = deals_site(tmp_path / "site", CHART_SITE)
    xdg = tmp_path / "xdg"
    first = _build(project, tmp_path / "out1", xdg)
    assert first.exit_code == 0, first.output
    cache = project / ".gtmsite-cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and p.name != ".gitignore"]
    kinds = {p.relative_to(cache).parts[0] for p in entries}
    assert {"results", "svg", "templates", "theme", "parquet"} <= kinds, kinds
    bundles = list(xdg.rglob("vega-bundle-*.js"))
    assert bundles
    for path in entries + bundles:
        if path.suffix == ".parquet" and damage is _garble:
            data = bytearray(path.read_bytes())
            data[-2:] = b"XX"  # the end of the file (its footer's magic) garbled
            path.write_bytes(bytes(data))
        else:
            damage(path)
    second = _build(project, tmp_path / "out2", xdg)
    assert second.exit_code == 0, second.output
    assert "internal error" not in second.output
    one, two = (tmp_path / name / "latest" for name in ("out1", "out2"))
    for url in ("index.html", "accounts/acme/index.html"):
        html = (two / url).read_text(encoding="utf-8")
        assert html.count("<svg") == html.count("</svg>")
        assert _same(article(html)) == _same(article((one / url).read_text(encoding="utf-8")))
    assert _bundle(tmp_path / "out2") == _bundle(tmp_path / "out1")
    for parquet in (two / "_data").rglob("*.parquet"):
        data = parquet.read_bytes()
        assert data[:4] == data[-4:] == b"PAR1", parquet
    # and the healed cache serves the next build
    third = _build(project, tmp_path / "out3", xdg)
    assert third.exit_code == 0, third.output
    assert "charts: 0 rendered, 2 cached" in third.stdout  # the chart and its phone drawing


def test_a_cache_entry_is_verified_before_use(tmp_path):
    path = tmp_path / "c" / "entry"
    assert store_in_cache(path, b"hello")
    assert read_cached(path) == b"hello"
    raw = path.read_bytes()
    path.write_bytes(raw[:-1] + b"X")
    assert read_cached(path) is None
    path.write_bytes(raw[:-2])
    assert read_cached(path) is None
    path.write_bytes(b"hello")  # an entry written without the checksum (an older gtmsite)
    assert read_cached(path) is None
    assert read_cached(tmp_path / "missing") is None


def test_the_cache_folder_ignores_itself(tmp_path):
    project = deals_site(tmp_path / "site", {"reports/index.md": "# Hi\n"})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert (project / ".gtmsite-cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=project,
                            capture_output=True, text=True, check=True).stdout
    assert ".gtmsite-cache" not in status


def test_check_writes_nothing_not_even_the_cache(tmp_path):
    project = deals_site(tmp_path / "site", CHART_SITE)
    result = run_cli("check", "--project", project, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in project.iterdir()) == ["reports", "site.toml", "sources"]
    assert run_cli("build", "--project", project, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")}).exit_code == 0
    cache = project / ".gtmsite-cache"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    (project / "reports" / "index.md").write_text((project / "reports" / "index.md").read_text() + "\nMore.\n")
    assert run_cli("check", "--project", project).exit_code == 0
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before
    assert "write nothing" in run_cli("check", "--help").stdout


# -- scratch folders -----------------------------------------------------------------------------------


def _serve(project: Path, scratch: Path) -> tuple[subprocess.Popen, list[str]]:
    env = {**os.environ, "CI": "true", "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "gtmsite", "serve", "--project", str(project), "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    said: list[str] = []
    deadline = time.monotonic() + 30
    while not any(line.startswith("serving ") for line in said):
        assert time.monotonic() < deadline and proc.poll() is None, said
        try:
            said.append(lines.get(timeout=1))
        except queue.Empty:
            pass
    return proc, said


def test_a_stopped_preview_server_leaves_no_scratch_folder(tmp_path):
    """SIGTERM removes the server's folder; after a SIGKILL the next run removes it."""
    project = deals_site(tmp_path / "site", {"reports/index.md": "# Hi\n"})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc, _ = _serve(project, scratch)
    assert [p.name for p in scratch.iterdir() if p.name.startswith("gtmsite-serve-")]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    proc.stdout.close()
    assert list(scratch.iterdir()) == [], "SIGTERM: the scratch folder is removed"
    proc, _ = _serve(project, scratch)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert list(scratch.iterdir()), "SIGKILL leaves it behind"
    proc, _ = _serve(project, scratch)
    try:
        assert [p.name for p in scratch.iterdir()] == [p.name for p in scratch.glob(f"gtmsite-serve-{proc.pid}-*")]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stdout.close()
    assert list(scratch.iterdir()) == []


# -- links out of the project -----------------------------------------------------------------------------


def test_a_link_out_of_the_project_is_refused_and_its_target_never_published(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE\n")
    (tmp_path / "secret.md").write_text("# Secret\n\nTOP-SECRET-VALUE\n")
    project = deals_site(tmp_path / "site", {"reports/index.md": "# Hi\n",
                                             "themes/mine/templates/.keep": "",
                                             "site.toml": '[site]\ntitle = "T"\ntheme = "mine"\n'})
    (project / "reports" / "leak.md").symlink_to(tmp_path / "secret.md")
    for command in ("build", "check"):
        result = run_cli(command, "--project", project)
        assert result.exit_code == 1, result.output
        assert "reports/leak.md: a symbolic link to" in result.stderr and "outside the project" in result.stderr
    assert not (project / "build" / "latest").exists()
    (project / "reports" / "leak.md").unlink()
    static = project / "themes" / "mine" / "static"
    static.mkdir(parents=True)
    (static / "notes.txt").symlink_to(secret)
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1 and "themes/mine/static/notes.txt: a symbolic link" in result.stderr
    (static / "notes.txt").unlink()
    (static / "inside.txt").symlink_to(project / "site.toml")  # a link within the project is fine
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    published = [p for p in (project / "build").rglob("*") if p.is_file()]
    assert not any("TOP-SECRET-VALUE" in p.read_text(errors="replace") for p in published)


def _tree(folder: Path) -> dict[str, tuple[str, int]]:
    """{relative path: ("dir", 0) or (its bytes' text, its inode)}."""
    return {p.relative_to(folder).as_posix(): ("dir", 0) if p.is_dir() else (p.read_text(), p.stat().st_ino)
            for p in folder.rglob("*")}


@pytest.mark.parametrize("listed_inodes", [False, True], ids=["a stat per file", "inodes from the listings"])
def test_sync_tree_makes_an_old_copy_exactly_the_new_folder_and_keeps_what_is_the_same(tmp_path, listed_inodes):
    new = tmp_path / "new"
    for rel, text in {"index.html": "home", "a/index.html": "a2", "b/index.html": "b", "d": "now a file",
                      "deep/er/x.csv": "x"}.items():
        (new / rel).parent.mkdir(parents=True, exist_ok=True)
        (new / rel).write_text(text)
    old = tmp_path / "old"
    link_tree(str(new), str(old))
    kept = (old / "b/index.html").stat().st_ino
    (old / "a/index.html").unlink()
    (old / "a/index.html").write_text("a1")  # the same name, another file
    shared = tmp_path / "published.html"  # a file of a published version, linked into the old copy
    shared.write_text("published")
    os.link(shared, old / "gone.html")
    (old / "gone").mkdir()
    (old / "gone/page.html").write_text("gone")
    (old / "d").unlink()
    (old / "d").mkdir()
    (old / "d/inner.html").write_text("was a folder")
    (old / "deep/er/x.csv").unlink()
    sync_tree(str(new), str(old), listed_inodes)
    assert _tree(old) == _tree(new)  # the same names, bytes and files (inodes)
    assert (old / "b/index.html").stat().st_ino == kept
    assert shared.read_text() == "published", "a removed link never changes the file it shared"


@pytest.mark.skipif(not Path("/proc/self/mountinfo").exists(), reason="reads Linux's mount table")
def test_only_known_file_systems_are_trusted_with_inodes_from_listings(tmp_path):
    assert not listing_inodes_are_true(Path("/proc/self"))  # procfs: its listings are not stat's
    kind = subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout.strip()
    known = kind in {"ext2/ext3", "xfs", "btrfs", "tmpfs"}  # as `stat -f` names them
    assert listing_inodes_are_true(tmp_path / "not" / "made" / "yet") == known


def test_link_or_copy_never_writes_into_a_file_that_is_there(tmp_path, monkeypatch):
    published, new = tmp_path / "published.html", tmp_path / "new.html"
    published.write_text("published")
    new.write_text("new")
    there = tmp_path / "page.html"
    os.link(published, there)
    with pytest.raises(FileExistsError):
        link_or_copy(str(new), str(there))
    real_link = os.link

    def across_file_systems(src, dst, *args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", across_file_systems)
    link_or_copy(str(new), str(there))  # a copy, renamed over the name
    monkeypatch.setattr(os, "link", real_link)
    assert there.read_text() == "new" and published.read_text() == "published"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.html", "page.html", "published.html"]
