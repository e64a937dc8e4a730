"""Files: writing one in a single rename (no reader ever sees half of it), cache entries that are verified
before use, folders that take the user's umask, and scratch folders that never outlive their process."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_CACHE_MAGIC = b"gtmsite-cache 1\n"
_DIGEST = 32
_cache_writes_off = 0
_cache_lock = threading.Lock()


def replace_file(path: Path, data: bytes | str) -> None:
    """Write `path` through a temporary file beside it and one rename; makes the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def store_in_cache(path: Path, data: bytes | str) -> bool:
    """Write a cache entry, with a checksum that `read_cached` verifies. A cache that cannot be written
    only costs speed, so say whether it worked instead of failing the build."""
    if _cache_writes_off:
        return False
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        replace_file(path, _CACHE_MAGIC + hashlib.sha256(raw).digest() + raw)
        return True
    except OSError:
        return False


def read_cached(path: Path) -> bytes | None:
    """A cache entry written by `store_in_cache`, or None when it is missing, unreadable, truncated or
    garbled (its checksum does not match): a damaged entry is a miss, made again, never used."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_CACHE_MAGIC) + _DIGEST
    if not data.startswith(_CACHE_MAGIC) or len(data) < head:
        return None
    raw = data[head:]
    return raw if hashlib.sha256(raw).digest() == data[len(_CACHE_MAGIC):head] else None


@contextmanager
def cache_read_only() -> Iterator[None]:
    """While the block runs, cache entries are read but none is written (`gtmsite check` writes nothing)."""
    global _cache_writes_off
    with _cache_lock:
        _cache_writes_off += 1
    try:
        yield
    finally:
        with _cache_lock:
            _cache_writes_off -= 1


def cache_writable() -> bool:
    return not _cache_writes_off


def ensure_cache_folder(folder: Path) -> bool:
    """Make the cache folder, ignored by git from inside (a `.gitignore` holding `*`, as pytest and ruff
    do), so a repository without its own ignore rule stays clean. False when it cannot be written."""
    if _cache_writes_off:
        return folder.is_dir()
    ignore = folder / ".gitignore"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not ignore.exists():
            replace_file(ignore, "# created by gtmsite: the cache is rebuilt at will, never commit it\n*\n")
        probe = folder / f".probe.{os.getpid()}.{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def new_folder(parent: Path, prefix: str) -> Path:
    """A fresh, uniquely named folder in `parent` with the user's umask (unlike `tempfile.mkdtemp`, whose
    0700 would make a published page unreadable to a web server running as another user)."""
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        path = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


# Why a hard link cannot be made where a copy can: another file system, a file's link limit, a file
# system without links. Any other error (the name exists, no space) is not papered over with a copy.
_NO_LINK = {errno.EXDEV, errno.EMLINK, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP}


def link_or_copy(src: str, dst: str) -> None:
    """A hard link (no extra disk; a published file is never written again), or a copy where a link cannot
    be made. The copy is a new file renamed into place: `dst` may be a name that is there already, and
    what is there may be a link to a published file, which must not be written into."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        tmp = f"{dst}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            shutil.copy2(src, tmp)
            os.replace(tmp, dst)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)


def link_tree(source: str, target: str) -> None:
    """Copy a folder as hard links, with one system call per file: for a site of 10,000 pages,
    `shutil.copytree` spends seconds on what it does not need (stat, copystat)."""
    os.makedirs(target, exist_ok=True)
    with os.scandir(source) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                link_tree(entry.path, os.path.join(target, entry.name))
            else:
                link_or_copy(entry.path, os.path.join(target, entry.name))


def sync_tree(source: str, target: str, listed_inodes: bool = False) -> None:
    """Make `target`, an earlier linked copy of some folder, hold exactly `source`'s files as hard links,
    touching only what differs: a file that is already the same file (same inode) stays, anything else
    is removed or linked. Never writes into a file, which is shared with a published version.

    `listed_inodes`: the folders' listings give each file's true inode number (`listing_inodes_are_true`),
    so no file needs a stat of its own: half the time at 10,000 pages."""
    with os.scandir(source) as entries:
        wanted = {entry.name: entry for entry in entries}
    with os.scandir(target) as entries:
        present = {entry.name: entry for entry in entries}
    for name, have in present.items():
        want = wanted.get(name)
        if want is None or want.is_dir(follow_symlinks=False) != have.is_dir(follow_symlinks=False):
            _remove(have)
    for name, want in wanted.items():
        path = os.path.join(target, name)
        have = present.get(name)
        if want.is_dir(follow_symlinks=False):
            if have is not None and have.is_dir(follow_symlinks=False):
                sync_tree(want.path, path, listed_inodes)
            else:
                link_tree(want.path, path)
        elif have is None or have.is_dir(follow_symlinks=False):
            link_or_copy(want.path, path)
        elif not (want.inode() == have.inode() if listed_inodes else same_file(want.path, have.path)):
            os.unlink(path)
            link_or_copy(want.path, path)


def same_file(path: str, other: str) -> bool:
    """Whether two names are links to one file: the same device and inode, and (against a file system that
    makes inode numbers up) the same size and time of change."""
    try:
        one, two = os.lstat(path), os.lstat(other)
    except OSError:
        return False
    return (one.st_dev, one.st_ino, one.st_size, one.st_mtime_ns) == (two.st_dev, two.st_ino, two.st_size,
                                                                      two.st_mtime_ns)


# File systems whose folder listings give each entry's inode number as stat does, unique on the file system.
# Not overlayfs (whose layers may each number their own files) nor FUSE (which may give none).
_TRUE_LISTED_INODES = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs", "jfs"})


def listing_inodes_are_true(path: Path) -> bool:
    """Whether `path` is on a file system in _TRUE_LISTED_INODES, by /proc/self/mountinfo (no: where it
    cannot be read, as on macOS)."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
        where = os.path.realpath(path)
    except OSError:
        return False
    best, kind = "", ""
    for line in mounts:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, rest.split()[0]
    return kind in _TRUE_LISTED_INODES


def _remove(entry: os.DirEntry) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


_SCRATCH = re.compile(r"gtmsite-(branch|serve|cache|duckdb)-(\d+)-[0-9a-z_]+$")


def scratch_folder(kind: str) -> Path:
    """A private temporary folder (`/tmp/gtmsite-KIND-PID-...`). Its name holds the process id, so that
    the next run removes one left by a process that was killed before it could clean up."""
    tidy_scratch()
    return Path(tempfile.mkdtemp(prefix=f"gtmsite-{kind}-{os.getpid()}-"))


def tidy_scratch() -> None:
    """Remove the scratch folders of gtmsite processes that no longer run."""
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        match = _SCRATCH.match(entry.name)
        if match and int(match.group(2)) != os.getpid() and not _running(int(match.group(2))):
            shutil.rmtree(entry.path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def links_leaving(folder: Path, project: Path) -> list[tuple[Path, Path]]:
    """(link, where it leads) for each symbolic link under `folder` (or `folder` itself) that leads out of
    `project`. Links are not followed into folders, so each is seen once."""
    found = []
    candidates = [folder] if folder.is_symlink() else []
    if folder.is_dir() and not folder.is_symlink():
        for root, dirs, files in os.walk(folder):
            candidates += [Path(root, name) for name in dirs + files if Path(root, name).is_symlink()]
    for link in candidates:
        target = link.resolve()
        if not target.is_relative_to(project):
            found.append((link, target))
    return sorted(found)
