"""`gtmsite build --git-branch pages`: each version is one commit on the branch, with the earlier versions
kept, and the working tree, the index and HEAD of the repository are never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import run_gtmsite
from versioning import DAY, EPOCH, GIT_ENV, git, git_repo, set_data, versioned_site


def gtmsite(project, *args):
    return run_gtmsite(*args, "--project", project, env={"SOURCE_DATE_EPOCH": str(EPOCH), **GIT_ENV})


def repo_state(repo):
    """Everything a publish must not touch: HEAD, the current branch, the index and the working tree."""
    return (git(repo, "rev-parse", "HEAD"), git(repo, "symbolic-ref", "HEAD"), git(repo, "ls-files", "-s"),
            git(repo, "status", "--porcelain", "--untracked-files=all"),  # .gtmsite-cache/ is ignored
            (repo / ".git" / "index").read_bytes())


def test_two_builds_make_two_commits_on_the_branch(tmp_path):
    repo = git_repo(versioned_site(tmp_path / "site"))
    # a user mid-work: a staged edit and an unstaged one, neither committed
    (repo / "reports" / "pipeline.md").write_text((repo / "reports" / "pipeline.md").read_text() + "\nStaged.\n")
    git(repo, "add", "reports/pipeline.md")
    (repo / "reports" / "index.md").write_text((repo / "reports" / "index.md").read_text() + "\nUnstaged.\n")
    before = repo_state(repo)

    first = gtmsite(repo, "build", "--git-branch", "pages")
    assert first.returncode == 0, first.stderr
    assert f"version {DAY} -> branch pages" in first.stdout
    assert repo_state(repo) == before
    set_data(repo, 1)  # new data (an unstaged change in the working tree)
    before = repo_state(repo)
    second = gtmsite(repo, "build", "--git-branch", "pages")
    assert second.returncode == 0, second.stderr
    assert repo_state(repo) == before, "the working tree, index and HEAD are untouched"
    assert not (repo / "build").exists(), "nothing is published into the working tree"

    log = git(repo, "log", "--format=%s", "pages").splitlines()
    assert log == [f"gtmsite: publish version {DAY}.2", f"gtmsite: publish version {DAY}"]
    assert git(repo, "rev-list", "--count", "pages") == "2"
    assert git(repo, "merge-base", "--is-ancestor", "pages~1", "pages") == ""
    tree = set(git(repo, "ls-tree", "-r", "--name-only", "pages").splitlines())
    for vid in (DAY, f"{DAY}.2"):
        assert f"v/{vid}/index.html" in tree and f"v/{vid}/pipeline/index.html" in tree
        assert f"v/{vid}/_data/index/all_deals.parquet" in tree
    assert {"versions.json", "index.html", "latest/index.html", ".nojekyll"} <= tree
    assert not any(name.startswith((".staging-", ".latest-", ".gtmsite.lock")) for name in tree)
    listed = json.loads(git(repo, "show", "pages:versions.json"))
    assert [v["id"] for v in listed] == [f"{DAY}.2", DAY]
    assert listed[0]["git_commit"] == git(repo, "rev-parse", "HEAD")
    assert listed[0]["aliases"] == ["latest"]
    # the published data is the working tree's (the new data), the first version keeps the old
    assert "Hooli" in git(repo, "show", f"pages:v/{DAY}.2/_data/index/all_deals.csv")
    assert "Hooli" not in git(repo, "show", f"pages:v/{DAY}/_data/index/all_deals.csv")
    assert git(repo, "show", "pages:latest/_version.json") == git(repo, "show", f"pages:v/{DAY}.2/_version.json")
    # the second commit only adds the new version and updates the shared files
    changed = git(repo, "diff", "--name-only", "pages~1", "pages").splitlines()
    assert not [c for c in changed if c.startswith(f"v/{DAY}/")]
    # the branch checks out as a complete site
    worktree = tmp_path / "pages"
    git(repo, "worktree", "add", "-q", str(worktree), "pages")
    assert (worktree / "v" / f"{DAY}.2" / "pipeline" / "index.html").is_file()


def test_a_failed_build_adds_no_commit(tmp_path):
    repo = git_repo(versioned_site(tmp_path / "site"))
    assert gtmsite(repo, "build", "--git-branch", "pages").returncode == 0
    head = git(repo, "rev-parse", "pages")
    (repo / "reports" / "index.md").write_text("```sql q\nselect * from nope\n```\n")
    before = repo_state(repo)
    result = gtmsite(repo, "build", "--git-branch", "pages")
    assert result.returncode == 1
    assert git(repo, "rev-parse", "pages") == head
    assert repo_state(repo) == before


def test_builds_on_origin_branch_when_there_is_no_local_one(tmp_path):
    """CI: a fresh clone has only origin/pages; the new commit goes on top of it."""
    origin = git_repo(versioned_site(tmp_path / "origin"))
    assert gtmsite(origin, "build", "--git-branch", "pages").returncode == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True)
    assert git(clone, "branch", "--list", "pages") == ""
    set_data(clone, 1)
    result = gtmsite(clone, "build", "--git-branch", "pages")
    assert result.returncode == 0, result.stderr
    assert git(clone, "rev-parse", "pages~1") == git(origin, "rev-parse", "pages")
    listed = json.loads(git(clone, "show", "pages:versions.json"))
    assert [v["id"] for v in listed] == [f"{DAY}.2", DAY]


def test_outside_a_repository_is_a_usage_error(tmp_path):
    project = versioned_site(tmp_path / "site")
    result = gtmsite(project, "build", "--git-branch", "pages")
    assert result.returncode == 2
    assert "not inside a git repository" in result.stderr


def test_an_invalid_branch_name_is_a_usage_error(tmp_path):
    repo = git_repo(versioned_site(tmp_path / "site"))
    result = gtmsite(repo, "build", "--git-branch", "bad..name")
    assert result.returncode == 2
    assert "not a valid branch name" in result.stderr


def test_two_branch_builds_at_once_both_land_one_after_the_other(tmp_path):
    """Two CI pipelines publishing at once: both versions reach the branch (a lock, the tip read under it)."""
    repo = git_repo(versioned_site(tmp_path / "site"))
    assert gtmsite(repo, "build", "--git-branch", "pages").returncode == 0
    env = {**os.environ, "CI": "true", "SOURCE_DATE_EPOCH": str(EPOCH), **GIT_ENV}
    for round_ in range(2):
        set_data(repo, 1 + round_)
        procs = [subprocess.Popen([sys.executable, "-m", "gtmsite", "build", "--git-branch", "pages", "--project",
                                   str(repo), "--label", f"r{round_}-{n}"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for n in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
    listed = json.loads(git(repo, "show", "pages:versions.json"))
    assert sorted(v["id"] for v in listed[:4]) == ["r0-0", "r0-1", "r1-0", "r1-1"]
    assert len(listed) == 5
    assert git(repo, "rev-list", "--count", "pages") == "5", "one commit per version, none lost"
    tree = set(git(repo, "ls-tree", "-r", "--name-only", "pages").splitlines())
    assert all(f"v/{v['id']}/index.html" in tree for v in listed)
    assert [v["previous"] for v in listed[:4]] == [v["id"] for v in listed[1:5]], "each built on the one before"


def test_a_killed_branch_build_leaves_no_scratch_folder(tmp_path):
    """SIGTERM: the scratch folder goes with the build; SIGKILL: the next run removes what the dead one left."""
    repo = git_repo(versioned_site(tmp_path / "site"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "CI": "true", "SOURCE_DATE_EPOCH": str(EPOCH), "TMPDIR": str(scratch), **GIT_ENV}
    command = [sys.executable, "-m", "gtmsite", "build", "--git-branch", "pages", "--project", str(repo)]
    for stop in (signal.SIGTERM, signal.SIGKILL):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not list(scratch.glob("gtmsite-branch-*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None, "the build ended before its scratch folder was seen"
        if stop == signal.SIGTERM:
            time.sleep(0.3)  # mid-build (a SIGKILL goes at once: a build on a warm cache may finish in 0.3 s)
        proc.send_signal(stop)
        proc.communicate(timeout=60)
        if stop == signal.SIGTERM:
            assert list(scratch.iterdir()) == [], "SIGTERM: the build removed its scratch folder"
        else:
            assert list(scratch.iterdir()), "SIGKILL leaves it (nothing can run)"
    assert run_gtmsite("build", "--git-branch", "pages", "--project", repo,
                       env={"SOURCE_DATE_EPOCH": str(EPOCH), "TMPDIR": str(scratch), **GIT_ENV}).returncode == 0
    assert list(scratch.iterdir()) == [], "the next build removed the killed one's folder"


def test_a_branch_moved_by_someone_else_mid_build_is_built_on_again(tmp_path, monkeypatch):
    """A push to the branch from elsewhere while a version is built: the version is built again on top of
    it, so neither that commit nor the new version is lost."""
    from gtmsite.config import load_config
    from gtmsite.gitbranch import publish_to_branch
    from gtmsite.release import _release

    repo = git_repo(versioned_site(tmp_path / "site"))
    assert gtmsite(repo, "build", "--git-branch", "pages").returncode == 0
    config = load_config(repo)
    attempts = []

    def release(folder):
        attempts.append(folder)
        if len(attempts) == 1:  # someone else's commit lands on the branch meanwhile
            tree = git(repo, "rev-parse", "pages^{tree}")
            foreign = git(repo, "commit-tree", tree, "-p", "pages", "-m", "pushed from elsewhere")
            git(repo, "update-ref", "refs/heads/pages", foreign)
        return _release(config, folder, lambda _: None, True, f"try-{len(attempts)}")

    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    outcome = publish_to_branch(config, "pages", release)
    assert len(attempts) == 2 and outcome.record.id == "try-2"
    log = git(repo, "log", "--format=%s", "pages").splitlines()
    assert log[:2] == ["gtmsite: publish version try-2", "pushed from elsewhere"]
    listed = json.loads(git(repo, "show", "pages:versions.json"))
    assert [v["id"] for v in listed] == ["try-2", DAY]
