"""Publish a version as one commit on a git branch (as mike does for MkDocs), so CI needs no disk.

The branch's current content is read into a temporary folder through a temporary index, the new
version is published into that folder, and the result is committed with plumbing commands
(`write-tree`, `commit-tree`, `update-ref`): the working tree, the index and HEAD are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .config import Config
from .errors import ConfigError, SiteError
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
    repo_root = _git(["rev-parse", "--show-toplevel"], config.project, check=False)
    if not repo_root:
        raise ConfigError(f"--git-branch {branch}: {config.project} is not inside a git repository")
    if _git(["check-ref-format", "--branch", branch], config.project, check=False) == "":
        raise ConfigError(f"--git-branch: '{branch}' is not a valid branch name")
    repo = Path(repo_root)
    git_dir = _git(["rev-parse", "--absolute-git-dir"], repo)
    parent = branch_head(repo, branch)
    with tempfile.TemporaryDirectory(prefix="gtmsite-branch-") as scratch:
        site = Path(scratch) / "site"
        site.mkdir()
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_DIR": git_dir,
               "GIT_WORK_TREE": str(site)}
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
        local = _git(["rev-parse", "--verify", "-q", f"refs/heads/{branch}"], repo, check=False)
        _git(["update-ref", f"refs/heads/{branch}", commit, *([local] if local else [])], repo)
        shutil.rmtree(site, ignore_errors=True)
    return outcome
