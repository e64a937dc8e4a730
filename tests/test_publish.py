"""Nothing published is ever lost (issue 4, "Nothing lost"): a failed build publishes nothing, a build
killed with SIGKILL at any moment leaves the old site or the old site plus one complete new version,
two builds at once are serialized, and latest/ costs no extra disk (hard links)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_site, run_cli
from versioning import (
    DAY,
    EPOCH,
    assert_complete,
    assert_consistent,
    build,
    build_ok,
    files,
    leftovers,
    published,
    set_data,
    tree_hash,
    versioned_site,
    versions,
)

from gtmsite.publish import disk_usage, spare_folder

# -- a failed build publishes nothing --------------------------------------------------------------

BROKEN = {
    "bad SQL": ("reports/pipeline.md", "from deals group by stage", "from dealz group by stage",
                "Table with name dealz does not exist"),
    "failed check": ("reports/pipeline.md", "by_stage: row_count > 0", "by_stage: row_count > 99",
                     "check failed: by_stage: row_count > 99"),
    "template error": ("reports/index.md", 'Won deals: {{ value(won, "deals") }}', "Won deals: {{ value(won, ",
                       "reports/index.md:"),
    "unknown column": ("reports/index.md", 'value(won, "deals")', 'value(won, "dealz")', "dealz"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_failed_build_publishes_nothing(tmp_path, kind):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    set_data(project, 1)
    build_ok(project)
    output = project / "build"
    before, before_files = tree_hash(output), files(output)
    rel, old, new, message = BROKEN[kind]
    text = (project / rel).read_text()
    assert old in text
    (project / rel).write_text(text.replace(old, new))
    set_data(project, 2)  # the data changed too: a successful build would publish a new version
    result = build(project)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "nothing was published" in result.stderr
    assert tree_hash(output) == before, "the output folder changed"
    assert files(output) == before_files
    assert leftovers(output) == []
    # and once fixed, the next build publishes the next version on top
    (project / rel).write_text(text)
    build_ok(project)
    assert len(assert_consistent(output)) == 3


def test_a_failed_first_build_leaves_no_output_behind(tmp_path):
    project = versioned_site(tmp_path / "site", {"reports/index.md": "```sql q\nselect * from nope\n```\n"})
    result = build(project)
    assert result.exit_code == 1
    output = project / "build"
    assert not (output / "versions.json").exists() and not (output / "latest").exists()
    assert not output.exists() or {p.name for p in output.iterdir()} <= {".gtmsite.lock"}


# -- SIGKILL at many moments -------------------------------------------------------------------------


def slow_site(root: Path, pages: int = 40) -> Path:
    """A site with `pages` templated pages (about two seconds a build), so kills land mid-build."""
    rows = "".join(f"{i},acct-{i:03d},{i * 10}\n" for i in range(pages))
    return make_site(root, {
        "site.toml": '[site]\ntitle = "Slow"\n',
        "sources/accounts.csv": "id,account,amount\n" + rows,
        "reports/index.md": "# Accounts\n\n```sql n\nselect count(*) as accounts from accounts\n```\n\n"
                            "{{ big_value(n, \"accounts\") }}\n",
        "reports/accounts/[account].md": """
            ---
            title: "{{ params.account }}"
            pages: select account from accounts order by account
            ---

            # {{ params.account }}

            ```sql detail
            select id, account, amount, (select sum(amount) from accounts) as total
            from accounts where account = $account
            ```

            {{ big_value(detail, "amount") }}
            """,
    })


def start_build(project: Path) -> subprocess.Popen:
    env = {**os.environ, "CI": "true", "SOURCE_DATE_EPOCH": str(EPOCH)}
    return subprocess.Popen([sys.executable, "-m", "gtmsite", "build", "--project", str(project)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _latest_id(output: Path) -> str | None:
    try:
        return json.loads((output / "latest" / "_version.json").read_text())["version"]["id"]
    except (OSError, ValueError, KeyError):
        return None


def kill_when(project: Path, moment: str) -> str:
    """Start a build and SIGKILL it at `moment`: a time in seconds, or the first sight of a phase of the
    publish. Returns what happened ("killed ..." or "finished")."""
    output = project / "build"
    old_latest = _latest_id(output)
    old_ids = {p.name for p in (output / "v").iterdir()}
    old_hidden = {p.name for p in output.iterdir() if p.name.startswith(".")}  # a killed build's leftovers

    def appeared(prefix: str) -> bool:
        return any(p.name not in old_hidden for p in output.glob(prefix + "*"))

    phases = {
        "staging": lambda: appeared(".staging-"),
        "renamed": lambda: bool({p.name for p in (output / "v").iterdir()} - old_ids),
        "linking latest": lambda: appeared(".latest-"),
        "latest swapped": lambda: _latest_id(output) not in (old_latest, None),
    }
    proc = start_build(project)
    started = time.monotonic()
    try:
        while proc.poll() is None:
            if moment in phases:
                hit = phases[moment]()
            else:
                hit = time.monotonic() - started >= float(moment)
            if hit:
                proc.kill()
                proc.wait()
                return f"killed at {moment} after {time.monotonic() - started:.2f} s"
            time.sleep(0 if moment in phases else 0.005)
        return f"finished before {moment} ({proc.returncode})"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def assert_old_or_old_plus_one(output: Path, before: dict[str, bytes], before_ids: list[str],
                               before_versions: list[dict]) -> str:
    """The published site is exactly the old one, or the old one plus one complete new version."""
    listed = assert_consistent(output)
    ids = [v["id"] for v in listed]
    now = published(output)
    if ids == before_ids:
        assert now == before, sorted(set(now) ^ set(before)) or [k for k in now if now[k] != before[k]]
        return "old"
    assert ids[1:] == before_ids, f"expected one new version on top of {before_ids}, got {ids}"
    assert listed[1:] == [{**v, "aliases": []} for v in before_versions]
    new = ids[0]
    changing = ("latest/", "versions.json", "404.html")
    for rel, data in before.items():
        if not rel.startswith(changing):
            assert now.get(rel) == data, f"{rel} changed"
    assert all(rel.startswith((f"v/{new}/", "_assets/", *changing)) for rel in set(now) - set(before))
    return "new"


def test_sigkill_at_any_moment_leaves_the_old_site_or_the_complete_new_one(tmp_path):
    project = slow_site(tmp_path / "site")
    output = project / "build"
    build_ok(project)
    moments = ["0.05", "0.2", "0.5", "staging", "1.0", "renamed", "linking latest", "latest swapped", "1.6"]
    outcomes = []
    for n, moment in enumerate(moments):
        with open(project / "sources" / "accounts.csv", "a") as handle:  # new data: a new version each time
            handle.write(f"{1000 + n},acct-new-{n},{n}\n")
        before_versions = versions(output)
        before, before_ids = published(output), [v["id"] for v in before_versions]
        what = kill_when(project, moment)
        try:
            state = assert_old_or_old_plus_one(output, before, before_ids, before_versions)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {exc}") from None
        outcomes.append(f"{what}: {state}; leftovers {leftovers(output)}")
    print("\n".join(outcomes))
    assert any("killed" in o and "leftovers []" not in o for o in outcomes), "no kill landed mid-build"
    count = len(versions(output))
    result = build(project)
    assert result.exit_code == 0, result.output
    assert leftovers(output) == [], "the next build tidies what killed builds left"
    assert len(assert_consistent(output)) == count + 1


def test_two_builds_at_once_are_serialized(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    set_data(project, 1)
    first, second = start_build(project), start_build(project)
    outs = [p.communicate(timeout=60) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    listed = assert_consistent(project / "build")
    ids = [v["id"] for v in listed]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert sorted(ids[:2]) == sorted(line.split()[1] for out, _ in outs for line in out.decode().splitlines()
                                     if line.startswith("version "))
    # the second build (waiting for the lock) compared itself with the first
    assert listed[0]["previous"] == ids[1] and listed[1]["previous"] == ids[2]
    assert leftovers(project / "build") == []


def test_latest_costs_no_extra_disk(tmp_path):
    project = versioned_site(tmp_path / "site")
    sizes = []
    for step in range(3):
        set_data(project, step)
        build_ok(project)
        sizes.append(disk_usage(project / "build"))
    output = project / "build"
    unique, total = disk_usage(output)
    assert unique < total
    latest_unique, latest_total = disk_usage(output / "latest")
    assert unique <= total - latest_total, "latest/ is made of hard links to v/<newest>/"
    for path in (output / "latest").rglob("*"):
        if path.is_file():
            twin = output / "v" / versions(output)[0]["id"] / path.relative_to(output / "latest")
            assert path.stat().st_ino == twin.stat().st_ino, path
    newest = output / "v" / versions(output)[0]["id"]  # and nothing is missing, not even what came last
    in_latest = {p.relative_to(output / "latest").as_posix() for p in (output / "latest").rglob("*")}
    assert in_latest == {p.relative_to(newest).as_posix() for p in newest.rglob("*")}
    assert {"_version.json", "_changes/index.html", "_pagefind/gtmsite-bundles.json"} <= in_latest
    one_version, _ = disk_usage(output / "v" / versions(output)[0]["id"])
    assets, _ = disk_usage(output / "_assets")
    full_copies = 3 * (one_version + assets)  # three self-contained copies of the site, assets included
    print(f"\n3 versions: {unique} bytes on disk; {total} bytes counting latest/'s links; "
          f"{full_copies} bytes as 3 full copies with their own assets "
          f"(after each build: {[u for u, _ in sizes]})")
    assert unique < full_copies


# A SIGKILL exactly between the two renames that publish a version: versions.json, then latest/.
KILLED_BETWEEN = """
import os, signal, sys
import gtmsite.publish
gtmsite.publish._swap_latest = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
from gtmsite.cli import run
sys.argv = ["gtmsite", "build", "--project", sys.argv[1]]
run()
"""


def kill_between_versions_json_and_latest(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true", "SOURCE_DATE_EPOCH": str(EPOCH)}
    return subprocess.run([sys.executable, "-c", KILLED_BETWEEN, str(project)], env=env, capture_output=True,
                          timeout=60)


def _same_files(folder: Path, other: Path) -> None:
    """`folder` holds exactly `other`'s files, each the same file (hard links), and the same folders."""
    mine = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*")}
    theirs = {p.relative_to(other).as_posix(): p for p in other.rglob("*")}
    assert mine.keys() == theirs.keys()
    for rel, path in mine.items():
        assert path.is_dir() == theirs[rel].is_dir(), rel
        if not path.is_dir():
            assert path.stat().st_ino == theirs[rel].stat().st_ino, rel


def test_latest_is_updated_from_the_tree_it_left_behind_and_is_exactly_the_new_version(tmp_path):
    """The tree that stops being latest/ is kept in the cache; the next build brings it up to date (a few
    links, not a copy of the whole site). However that tree was left, latest/ is the new version, exactly,
    and no published file is touched."""
    project = versioned_site(tmp_path / "site", {"reports/extra.md": "# Extra\n\nFor now.\n"})
    output = project / "build"
    spare = spare_folder(project / ".gtmsite-cache", output)
    build_ok(project)
    first = output / "v" / versions(output)[0]["id"]
    assert not spare.exists(), "a first build has no earlier latest/ to keep"
    set_data(project, 1)
    (project / "reports/extra.md").unlink()
    (project / "reports/added.md").write_text("# Added\n", encoding="utf-8")
    build_ok(project)
    second = output / "v" / versions(output)[0]["id"]
    _same_files(output / "latest", second)
    _same_files(spare, first)
    (spare / "junk.html").write_text("junk")  # however the kept tree was left, latest/ is the new version
    (spare / "pipeline" / "index.html").unlink()
    (spare / "pipeline" / "index.html").write_text("stale")
    shutil.rmtree(spare / "_data")
    (spare / "_data").write_text("a file where a folder was")
    before = [tree_hash(first), tree_hash(second)]
    set_data(project, 2)
    build_ok(project)
    third = output / "v" / versions(output)[0]["id"]
    _same_files(output / "latest", third)
    _same_files(spare, second)
    assert [tree_hash(first), tree_hash(second)] == before
    assert not leftovers(output)


def test_no_cache_builds_and_other_outputs_keep_latest_exact(tmp_path):
    """The kept tree is no cache of results (it is brought up to date whatever it holds): --no-cache
    builds use it too, and each output folder keeps its own."""
    project = versioned_site(tmp_path / "site")
    other = tmp_path / "elsewhere"
    for step in (0, 1, 2):
        set_data(project, step)
        build_ok(project, "--no-cache")
        build_ok(project, "--output", str(other))
        for output in (project / "build", other):
            _same_files(output / "latest", output / "v" / versions(output)[0]["id"])
    spares = sorted(p.name for p in (project / ".gtmsite-cache").glob("latest-spare-*"))
    assert len(spares) == 2, spares


def test_a_latest_that_is_a_symbolic_link_never_leads_a_build_into_a_version(tmp_path):
    project = versioned_site(tmp_path / "site")
    output = project / "build"
    build_ok(project)
    first = output / "v" / versions(output)[0]["id"]
    before = tree_hash(first)
    shutil.rmtree(output / "latest")
    (output / "latest").symlink_to(first.resolve())  # made by hand, say to save disk
    for step in (1, 2, 0):
        set_data(project, step)
        build_ok(project)
        _same_files(output / "latest", output / "v" / versions(output)[0]["id"])
    assert tree_hash(first) == before
    assert not (output / "latest").is_symlink()


@pytest.mark.xfail(strict=True, reason=(
    "versions.json and latest/ are replaced by two separate atomic renames; a SIGKILL in the microseconds "
    "between them leaves versions.json naming the new version while latest/ still shows the old one, until "
    "the next build's tidy() re-points latest/. Closing it needs another layout (e.g. versions.json served "
    "from inside latest/ through a symlink), which static hosts do not all follow."))
def test_sigkill_between_versions_json_and_latest(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    set_data(project, 1)
    assert kill_between_versions_json_and_latest(project).returncode == -9
    assert_consistent(project / "build")


def test_the_next_build_repairs_a_kill_between_versions_json_and_latest(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    set_data(project, 1)
    assert kill_between_versions_json_and_latest(project).returncode == -9
    output = project / "build"
    listed = versions(output)
    assert [v["id"] for v in listed] == [f"{DAY}.2", DAY]  # the new version is complete and listed ...
    assert_complete(output, f"{DAY}.2")
    assert json.loads((output / "latest" / "_version.json").read_text())["version"]["id"] == DAY  # ... latest/ not
    build_ok(project)
    assert [v["id"] for v in assert_consistent(output)] == [f"{DAY}.3", f"{DAY}.2", DAY]
    assert leftovers(output) == []


# -- issue 9: published files are readable, ids are never reused, interrupted builds leave nothing ---


def test_published_folders_and_files_take_the_users_umask(tmp_path):
    """A web server running as another user can read every published page (not 0700 from mkdtemp)."""
    project = versioned_site(tmp_path / "site")
    old = os.umask(0o022)
    try:
        build_ok(project)
        set_data(project, 1)
        build_ok(project)
    finally:
        os.umask(old)
    output = project / "build"
    unreadable = []
    for path in [output, *output.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        wanted = 0o755 if path.is_dir() else 0o644
        if mode & wanted != wanted:
            unreadable.append(f"{path.relative_to(output)}: {oct(mode)}")
    assert unreadable == []
    assert (output / "v" / DAY).stat().st_mode & 0o777 == 0o755
    assert (output / "latest").stat().st_mode & 0o777 == 0o755


def test_a_version_id_is_never_given_out_again_after_prune(tmp_path):
    project = versioned_site(tmp_path / "site")
    for step in range(3):
        set_data(project, step)
        build_ok(project)
    output = project / "build"
    assert [v["id"] for v in versions(output)] == [f"{DAY}.3", f"{DAY}.2", DAY]
    spare = spare_folder(project / ".gtmsite-cache", output)
    assert spare.is_dir()
    pruned = run_cli("versions", "prune", "--keep", "1", "--project", project)
    assert pruned.exit_code == 0, pruned.output
    assert not spare.exists(), "the spare copy of an earlier latest/ would keep a removed version on disk"
    kept = versions(output)
    assert [v["id"] for v in kept] == [f"{DAY}.3"]
    assert kept[0]["previous"] is None, "previous never names a removed version"
    set_data(project, 0)
    build_ok(project)
    ids = [v["id"] for v in versions(output)]
    assert ids == [f"{DAY}.4", f"{DAY}.3"], "the ids of removed versions are not used again"
    assert not (output / "v" / DAY).exists() and not (output / "v" / f"{DAY}.2").exists()


def test_versions_keep_retires_ids_too(tmp_path):
    project = versioned_site(tmp_path / "site", {"site.toml": '[site]\ntitle = "T"\n[versions]\nkeep = 1\n'})
    output = project / "build"
    for step in (0, 1, 2):
        set_data(project, step)
        build_ok(project)
        listed = versions(output)
        assert len(listed) == 1 and listed[0]["previous"] is None
        assert not list((project / ".gtmsite-cache").glob("latest-spare*")), "no copy of a removed version is kept"
    assert [v["id"] for v in versions(output)] == [f"{DAY}.3"]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def test_sigterm_mid_build_leaves_no_staging_folder(tmp_path):
    """A cancelled CI job (SIGTERM) stops the build cleanly: no half-written `.staging-*`, site as it was."""
    project = slow_site(tmp_path / "site")
    output = project / "build"
    build_ok(project)
    with open(project / "sources" / "accounts.csv", "a") as handle:
        handle.write("999,acct-new,1\n")
    before = published(output)
    proc = start_build(project)
    try:
        assert _wait_for(lambda: any(output.glob(".staging-*/accounts/*/index.html")), proc), "no staging seen"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0
    assert "interrupted; nothing was published" in err.decode()
    assert list(output.glob(".staging-*")) == [] and leftovers(output) == []
    assert published(output) == before


def test_a_model_cycle_leaves_no_empty_staging_folder(tmp_path):
    project = versioned_site(tmp_path / "site")
    build_ok(project)
    make_site(project, {"sources/a.sql": "select * from b\n", "sources/b.sql": "select * from a\n"})
    result = build(project)
    assert result.exit_code != 0
    assert "cycle" in result.stderr
    assert list((project / "build").glob(".staging-*")) == []


# -- faults of the file system: a message naming the path and the cause, the site untouched ------------


@pytest.fixture
def mount(tmp_path):
    """`mount(folder, *options)`: a real mount (tmpfs with a size limit, a read-only bind); skips the test
    where mounting is not permitted."""
    done: list[Path] = []

    def do(folder: Path, *options: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", *options, str(folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount here: {result.stderr.strip()}")
        done.append(folder)
        return folder

    yield do
    for folder in reversed(done):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _read_only(mount, folder: Path) -> None:
    mount(folder, "--bind", str(folder))
    mount(folder, "-o", "remount,ro,bind", str(folder))


BIG_PAGE = {"sources/big.csv": "id,text\n1," + "z" * 1_500_000 + "\n",
            "reports/big.md": "```sql big\nselect * from big\n```\n\n{{ table(big) }}\n"}


@pytest.mark.parametrize("limit", ["size=1m", "nr_inodes=150"], ids=["disk full", "inodes exhausted"])
def test_a_full_disk_is_a_clear_error_and_the_site_is_untouched(tmp_path, mount, limit):
    project = versioned_site(tmp_path / "site")
    output = mount(tmp_path / "out", "-t", "tmpfs", "-o", limit, "tmpfs")
    build_ok(project, "--output", str(output))
    before = published(output)
    make_site(project, {**BIG_PAGE, "reports/more/[account].md": "---\npages: select distinct account || "
                        "cast(range as varchar) as account from deals, range(30)\n---\n# {{ params.account }}\n"})
    result = build(project, "--output", str(output))
    assert result.exit_code == 1, result.output
    assert "no space left on device while" in result.stderr and str(output) in result.stderr, result.stderr
    assert "internal error" not in result.output
    assert published(output) == before
    assert leftovers(output) == []


def test_a_read_only_output_is_a_clear_error(tmp_path, mount):
    project = versioned_site(tmp_path / "site")
    output = tmp_path / "out"
    build_ok(project, "--output", str(output))
    before = published(output)
    _read_only(mount, output)
    set_data(project, 1)
    result = build(project, "--output", str(output))
    assert result.exit_code == 1, result.output
    assert "read-only file system" in result.stderr and str(output) in result.stderr
    assert "internal error" not in result.output
    assert published(output) == before


def test_a_read_only_project_still_builds_without_its_cache(tmp_path, mount):
    project = versioned_site(tmp_path / "site")
    _read_only(mount, project)
    output = tmp_path / "out"
    result = build(project, "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "cache folder" in result.stderr and "cannot be written" in result.stderr
    assert (output / "latest" / "_data" / "index" / "all_deals.parquet").is_file()
    assert run_cli("check", "--project", project).exit_code == 0
    assert not (project / ".gtmsite-cache").exists()


def test_a_source_deleted_mid_build_is_a_clear_error(tmp_path):
    from gtmsite.errors import SiteError
    from gtmsite.release import build_site

    project = versioned_site(tmp_path / "site", {"sources/won.sql": "select * from deals where stage = 'Closed Won'\n"})

    def log(message: str) -> None:
        if "pages" in message:  # reports are read, the sources are not loaded yet
            (project / "sources" / "won.sql").unlink(missing_ok=True)

    with pytest.raises(SiteError) as raised:
        build_site(project, log=log)
    message = str(raised.value)
    assert "no such file or directory" in message and "won.sql" in message and "deleted or moved" in message
    assert not (project / "build" / "latest").exists()


def test_a_file_name_too_long_is_found_by_check_as_by_build(tmp_path):
    name = "q" * 300
    project = versioned_site(tmp_path / "site", {"reports/long.md": f"```sql {name}\nselect 1 as x\n```\n"})
    for command in ("check", "build"):
        result = run_cli(command, "--project", project)
        assert result.exit_code == 1, result.output
        assert "is 304 bytes long; file systems allow 255" in result.stderr, result.stderr
        assert "internal error" not in result.output
