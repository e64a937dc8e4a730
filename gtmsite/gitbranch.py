"""Publish a version as one commit on a git branch (as mike does for MkDocs), so CI needs no disk.

The branch's current content is read into a temporary folder through a temporary index, the new
version is published into that folder, and the result is committed with plumbing commands
(`write-tree`, `commit-tree`, `update-ref`): the working tree, the index and HEAD are never touched.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .config import Config
from .errors import ConfigError, SiteError
from .files import scratch_folder
from .publish import LOCK_FILE

T = TypeVar("T")


def _git(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise SiteError(f"git {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


def branch_head(repo: Path, branch: str) -> str | None:
    """The branch's commit: the local branch, else `origin/<branch>` (what a CI job has fetched)."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        commit = _git(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], repo, check=False)
        if commit:
            return commit
    return None


def publish_to_branch(config: Config, branch: str, release: Callable[[Path], T]) -> T:
    """Publish as one commit on `branch`. Builds publishing to the same branch take turns (a lock in the
    repository), each reading the branch's tip under the lock; should the branch still move meanwhile
    (a push from elsewhere), the version is built again on top of the new tip."""
    repo_root = _git(["rev-parse", "--show-toplevel"], config.project, check=False)
    if not repo_root:
        raise ConfigError(f"--git-branch {branch}: {config.project} is not inside a git repository")
    if _git(["check-ref-format", "--branch", branch], config.project, check=False) == "":
        raise ConfigError(f"--git-branch: '{branch}' is not a valid branch name")
    repo = Path(repo_root)
    git_dir = _git(["rev-parse", "--absolute-git-dir"], repo)
    common = (repo / _git(["rev-parse", "--git-common-dir"], repo)).resolve()
    with _branch_lock(common, branch):
        for _ in range(_ATTEMPTS):
            outcome, landed = _publish_once(repo, git_dir, branch, release)
            if landed:
                return outcome
    raise SiteError(f"--git-branch {branch}: the branch moved during each of {_ATTEMPTS} attempts to publish "
                    "(other pushes to it?); run the build again")


_ATTEMPTS = 3


@contextmanager
def _branch_lock(common_dir: Path, branch: str) -> Iterator[None]:
    name = hashlib.sha256(branch.encode()).hexdigest()[:16]
    with open(common_dir / f"gtmsite-publish-{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _publish_once(repo: Path, git_dir: str, branch: str, release: Callable[[Path], T]) -> tuple[T, bool]:
    """Build on top of the branch's tip and move the branch to the new commit, if it is still at that tip."""
    ref = f"refs/heads/{branch}"
    local = _git(["rev-parse", "--verify", "-q", ref], repo, check=False)
    parent = branch_head(repo, branch)
    scratch = scratch_folder("branch")
    try:
        site = scratch / "site"
        site.mkdir()
        env = {**os.environ, "GIT_INDEX_FILE": str(scratch / "index"), "GIT_DIR": git_dir, "GIT_WORK_TREE": str(site)}
        env.setdefault("GIT_AUTHOR_NAME", "gtmsite")
        env.setdefault("GIT_AUTHOR_EMAIL", "gtmsite@localhost")
        env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
        env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
        if parent:
            _git(["read-tree", parent], site, env)
            _git(["checkout-index", "-a", "-f"], site, env)
        outcome = release(site)
        (site / LOCK_FILE).unlink(missing_ok=True)
        _git(["add", "-A", "--force", "."], site, env)
        tree = _git(["write-tree"], site, env)
        version = getattr(getattr(outcome, "record", None), "id", "new version")
        message = f"gtmsite: publish version {version}"
        commit = _git(["commit-tree", tree, *(["-p", parent] if parent else []), "-m", message], site, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # moved only if it is still where it was when the build began ("": still absent)
    moved = subprocess.run(["git", "update-ref", ref, commit, local], cwd=repo, capture_output=True, text=True)
    if moved.returncode == 0:
        return outcome, True
    if _git(["rev-parse", "--verify", "-q", ref], repo, check=False) != local:
        return outcome, False
    raise SiteError(f"git update-ref failed: {moved.stderr.strip() or moved.stdout.strip()}")
