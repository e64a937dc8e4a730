"""Put a finished build in place, as a new immutable version. Nothing published is ever damaged:

1. the whole version is written to a staging folder beside the output (same file system);
2. under a lock (so two builds never interleave), its shared assets are added to `_assets/`,
   the staging folder is renamed to `v/<id>/`, `versions.json` is replaced atomically, and
   `latest/` is swapped for a hard-linked copy of the new version in one atomic exchange;
3. SIGINT/SIGTERM wait until that short commit is over; a SIGKILL at any point leaves either the
   old site or the new version, and the next build tidies what a killed one left behind.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from .errors import SiteError
from .files import link_tree, listing_inodes_are_true, new_folder, replace_file, sync_tree
from .versions import MANIFEST, VersionRecord

LOCK_FILE = ".gtmsite.lock"
LATEST_SPARE = "latest-spare"  # in the cache folder: the tree that was `latest/`, updated by the next build
VERSIONS_FILE = "versions.json"
RETIRED_FILE = ".gtmsite-retired.json"  # the ids of removed versions: an id is never given out again
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staging_folder(target: Path) -> Path:
    """A fresh folder beside the output (same file system, so the final move is a rename), with the
    user's umask: it becomes `v/<id>/`, which a web server running as another user must be able to read."""
    return new_folder(target, ".staging-")


def publish(staging: Path, target: Path) -> None:
    """Unversioned: swap a staged site in for `target` (the preview server's scratch folder)."""
    if target.exists():
        exchange(staging, target)
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.rename(staging, target)


@contextmanager
def publish_lock(output: Path) -> Iterator[None]:
    """Serialise builds publishing into one output folder (a second build waits for the first)."""
    output.mkdir(parents=True, exist_ok=True)
    with open(output / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block is over, so a commit is never cut in half by them: a signal
    that arrives meanwhile (in any thread) is noted, and acted on once the block is over."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda number, _frame: caught.append(number))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


def _interrupted(_number: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM (a cancelled CI job, `kill`) stop the program as Ctrl+C does: every `finally` runs, so
    a build removes its staging folder and scratch folders instead of leaving them half-written."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)


def exchange(new: Path, old: Path) -> None:
    """Atomically swap two directories (Linux renameat2); elsewhere, two renames in a row."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE) == 0:
            return
    except (AttributeError, OSError):
        pass
    aside = old.with_name(f".old-{old.name}-{os.getpid()}")
    os.rename(old, aside)
    os.rename(new, old)
    os.rename(aside, new)


_VERSION_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def read_versions(output: Path) -> list[dict]:
    """The versions listed in `versions.json`, newest first; none when there is no such file. A file that
    is there but unreadable is an error: taken as "no versions", the next build would delete them all."""
    path = output / VERSIONS_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SiteError(f"cannot read the list of versions ({exc}); restore it (e.g. from git) or remove the "
                        "output folder to start again", str(path)) from None
    if not isinstance(data, list) or not all(
            isinstance(v, dict) and isinstance(v.get("id"), str) and _VERSION_ID.fullmatch(v["id"]) for v in data):
        raise SiteError("expected a list of versions, each with an id such as \"2026-11-22\"; restore the file "
                        "(e.g. from git) or remove the output folder to start again", str(path))
    return data


def write_atomically(path: Path, text: str) -> None:
    replace_file(path, text)


def read_retired(output: Path) -> set[str]:
    """The ids of versions removed by `prune` or `[versions] keep`: never given to a new version."""
    try:
        data = json.loads((output / RETIRED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {v for v in data if isinstance(v, str)} if isinstance(data, list) else set()


def used_ids(output: Path, versions: list[dict]) -> set[str]:
    """Every id a version of this site has had: listed, retired, or a folder under `v/`."""
    folder = output / "v"
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return {v["id"] for v in versions} | read_retired(output) | present


def _drop(output: Path, versions: list[dict], keep: int) -> tuple[list[dict], list[dict]]:
    """(kept, dropped) for keeping the newest `keep` versions; the dropped ids are recorded as retired
    first, and a kept version's `previous` no longer names a removed one."""
    if keep <= 0 or len(versions) <= keep:
        return versions, []
    kept, dropped = versions[:keep], versions[keep:]
    gone = {v["id"] for v in dropped}
    write_atomically(output / RETIRED_FILE, json.dumps(sorted(read_retired(output) | gone), indent=0))
    kept = [{**v, "previous": None} if v.get("previous") in gone else v for v in kept]
    return kept, dropped


def tidy(output: Path) -> None:
    """Remove what a killed build may have left: staging folders, half-made copies, unlisted versions,
    and a `latest/` that does not match the newest listed version."""
    for leftover in list(output.glob(".staging-*")) + list(output.glob(".latest-*")) + list(output.glob(".old-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    for half_written in output.glob(".*.tmp"):  # replace_file's temporary file, killed before its rename
        if half_written.is_file():
            half_written.unlink(missing_ok=True)
    versions = read_versions(output)
    listed = {v["id"] for v in versions}
    folder = output / "v"
    if folder.is_dir():
        for child in folder.iterdir():
            if child.name not in listed:
                shutil.rmtree(child, ignore_errors=True)
    if versions:
        newest = versions[0]["id"]
        if not _shows(output / "latest", folder / newest) and (folder / newest).is_dir():
            _point_latest(output, newest)


def _shows(latest: Path, version: Path) -> bool:
    """Whether `latest/` is that version: its manifest is the version's own file (a hard link), or names
    it (a copy made where links cannot be). The first is one stat, not the parse of a manifest that
    lists 10,000 pages."""
    try:
        if os.path.samefile(latest / MANIFEST, version / MANIFEST):
            return True
    except OSError:
        return False
    return _version_of(latest) == version.name


def _version_of(folder: Path) -> str | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["version"]["id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _point_latest(output: Path, version_id: str) -> None:
    """Make `latest/` a hard-linked copy of `v/<id>/` (no extra disk), swapped in atomically."""
    _swap_latest(output, _linked_copy(output, version_id))


def _linked_copy(output: Path, version_id: str, spare: Path | None = None) -> Path:
    """A hard-linked copy of `v/<id>/` in a hidden folder beside `latest/` (tidy() removes a stray one):
    the tree an earlier `latest/` left in `spare`, brought up to date, or a new one."""
    fresh = new_folder(output, ".latest-") / "site"
    version = str(output / "v" / version_id)
    if spare is not None and _claimed(spare, fresh):
        sync_tree(version, str(fresh), listing_inodes_are_true(output))
    else:
        link_tree(version, str(fresh))
    return fresh


def spare_folder(cache: Path, output: Path) -> Path:
    """Where the tree that leaves an output's `latest/` is kept: in the project's cache, one per output
    folder (two outputs never take each other's)."""
    name = hashlib.sha256(os.path.realpath(output).encode()).hexdigest()[:12]
    return cache / f"{LATEST_SPARE}-{name}"


def _claimed(spare: Path, fresh: Path) -> bool:
    """Take the spare tree for this build (a rename: of two builds at once, one gets it). Only a folder:
    a symbolic link (a `latest/` someone made one) would lead the update into what it points to."""
    if not stat.S_ISDIR(_lstat_mode(spare)):
        return False
    try:
        os.rename(spare, fresh)
    except OSError:  # taken by another build, or on another file system
        return False
    if stat.S_ISDIR(_lstat_mode(fresh)):
        return True
    os.unlink(fresh)  # replaced by a link between the check and the rename
    return False


def _lstat_mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def _swap_latest(output: Path, fresh: Path, spare: Path | None = None) -> None:
    """Swap `fresh` in as `latest/`; the tree that was `latest/` becomes the spare, or is removed."""
    latest = output / "latest"
    if latest.exists():
        exchange(fresh, latest)
        if spare is not None:
            _keep_spare(fresh, spare)
    else:
        os.rename(fresh, latest)
    shutil.rmtree(fresh.parent, ignore_errors=True)


def _keep_spare(tree: Path, spare: Path) -> None:
    if not stat.S_ISDIR(_lstat_mode(tree)):
        return  # a `latest/` that was a symbolic link: removed with its hidden folder, not kept
    try:
        spare.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tree, spare)
    except OSError:  # another build kept one first, or another file system: the tree is removed
        pass


def publish_version(staging: Path, output: Path, record: VersionRecord, keep: int, redirect_html: str,
                    versions_page: str | None = None, spare: Path | None = None) -> list[dict]:
    """Commit a staged version (call under `publish_lock`). Returns the new versions.json list. Should it
    fail before `versions.json` names the new version (a full disk), the version is taken out again.

    `spare`: where the tree that stops being `latest/` is kept (on the output's file system, outside it),
    so that the next build brings it up to date instead of linking a whole new copy: at 10,000 pages,
    that copy and the removal of the old one are 70,000 links and folders made and as many removed."""
    with signals_deferred():
        assets = staging / "_assets"
        if assets.is_dir():
            shared = output / "_assets"
            shared.mkdir(exist_ok=True)
            for asset in assets.iterdir():
                if not (shared / asset.name).exists():
                    os.replace(asset, shared / asset.name)
            shutil.rmtree(assets, ignore_errors=True)
        (output / "v").mkdir(exist_ok=True)
        os.rename(staging, output / "v" / record.id)
        fresh = None
        try:
            # The copy for latest/ is made before versions.json names the new version (it takes a while for
            # a big site), so that versions.json and latest/ change one right after the other.
            fresh = _linked_copy(output, record.id, spare)
            versions = [{**v, "aliases": [a for a in v.get("aliases", []) if a != "latest"]}
                        for v in read_versions(output)]
            entry = asdict(record)
            entry["aliases"] = ["latest", *[a for a in record.aliases if a != "latest"]]
            versions.insert(0, entry)
            versions, dropped = _drop(output, versions, keep)
            write_atomically(output / VERSIONS_FILE, json.dumps(versions, indent=2))
        except BaseException:
            shutil.rmtree(output / "v" / record.id, ignore_errors=True)
            if fresh is not None:
                shutil.rmtree(fresh.parent, ignore_errors=True)
            raise
        # The tree leaving latest/ is the previous version's: not kept if that version was just dropped.
        _swap_latest(output, fresh, None if record.previous in {v["id"] for v in dropped} else spare)
        if not (output / "index.html").exists() or (output / "index.html").read_text() != redirect_html:
            write_atomically(output / "index.html", redirect_html)
        if versions_page is not None:
            write_atomically(output / "versions.html", versions_page)
        if (output / "latest" / "404.html").is_file():
            write_atomically(output / "404.html", (output / "latest" / "404.html").read_text(encoding="utf-8"))
        (output / ".nojekyll").touch()  # GitHub Pages: serve _assets/ and _data/ as they are
    for old in dropped:
        shutil.rmtree(output / "v" / old["id"], ignore_errors=True)
    return versions


def prune(output: Path, keep: int, spare: Path | None = None) -> list[dict]:
    """Keep the newest `keep` versions; remove the others' folders (and the spare copy of an earlier
    `latest/`, whose links would keep a removed version's files on disk). Returns the removed entries."""
    with publish_lock(output):
        kept, dropped = _drop(output, read_versions(output), keep)
        if dropped:
            write_atomically(output / VERSIONS_FILE, json.dumps(kept, indent=2))
            if spare is not None:
                _remove_spare(spare)
        for old in dropped:
            shutil.rmtree(output / "v" / old["id"], ignore_errors=True)
        return dropped


def _remove_spare(spare: Path) -> None:
    """Take the spare (a rename, so that a build claiming it at this moment gets all of it or none), then
    remove it."""
    taken = spare.with_name(f".{spare.name}.{os.getpid()}.removing")
    try:
        os.rename(spare, taken)
    except OSError:
        return
    shutil.rmtree(taken, ignore_errors=True)


def disk_usage(folder: Path) -> tuple[int, int]:
    """(bytes on disk counting each hard-linked file once, bytes if every file were a separate copy)."""
    seen: set[tuple[int, int]] = set()
    unique = total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            total += stat.st_size
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                unique += stat.st_size
    return unique, total
