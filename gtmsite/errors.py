"""The error hierarchy. Library code raises these; the CLI turns them into output and exit codes."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One user-facing error or warning, located at a file and (when known) a line."""

    path: str
    line: int | None
    message: str
    sql: str = ""  # the offending query, when there is one (shown by the preview's error overlay)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class SiteError(Exception):
    """An error in the user's site (bad SQL, failed check, template error): exit code 1."""

    exit_code = 1

    def __init__(self, message: str, path: str = "", line: int | None = None, sql: str = ""):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.sql = sql

    @property
    def problem(self) -> Problem:
        return Problem(self.path, self.line, self.message, self.sql)

    def __str__(self) -> str:
        return str(self.problem) if self.path else self.message


class ConfigError(SiteError):
    """A usage or configuration error (site.toml, command-line arguments): exit code 2."""

    exit_code = 2


class BuildFailed(Exception):
    """Several problems found in one run; raised once, after everything was tried."""

    def __init__(self, problems: list[Problem], exit_code: int = 1, warnings: list[Problem] | None = None):
        super().__init__(f"{len(problems)} error(s)")
        self.problems = problems
        self.exit_code = exit_code
        self.warnings = warnings or []


def undecodable(rel: str, exc: UnicodeDecodeError) -> Problem:
    """A file that is not UTF-8, located at the line of its first bad byte."""
    line = exc.object[:exc.start].count(b"\n") + 1
    return Problem(rel, line, f"cannot read this file: byte {exc.object[exc.start]:#x} is not UTF-8 ({exc.reason}); "
                              "save it as UTF-8 text")


def raise_if_any(problems: list[Problem], exit_code: int = 1) -> None:
    if problems:
        raise BuildFailed(problems, exit_code)


_IO_ADVICE = {
    "ENOSPC": "free some space on that disk (or publish elsewhere with --output) and build again",
    "EDQUOT": "the disk quota is used up: free some space and build again",
    "EROFS": "publish to a writable folder instead (--output DIR), or make that one writable",
    "EACCES": "you may not write there: fix its permissions or choose another folder",
    "EPERM": "you may not write there: fix its permissions or choose another folder",
    "ENAMETOOLONG": "a file or folder name is too long for the file system: shorten it",
    "ENOENT": "it is missing (deleted or moved while gtmsite was running?): restore it and run again",
    "EMFILE": "too many files are open at once: raise the limit (ulimit -n) or set [build] workers lower",
    "EIO": "the disk reported an input/output error: check it and run again",
}


def io_error(exc: OSError, doing: str = "", path: object = None) -> SiteError:
    """An error of the file system (disk full, read-only, a file gone) as a message a user can act on:
    the path, the cause and what to do ("no space left on device while writing build/x: ..."). Never
    "internal error": these are faults of the environment, not bugs."""
    name = errno.errorcode.get(exc.errno or 0, "")
    if exc.errno is None and isinstance(exc.args[0] if exc.args else None, list) and exc.args[0]:
        first = exc.args[0][0]  # shutil.Error: a list of (source, destination, reason)
        return SiteError(f"{first[-1]} (copying {first[0]})" if isinstance(first, tuple) else str(first))
    cause = (exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__).lower()
    where = path if path is not None else exc.filename
    if doing:
        shown = f" while {doing}" + (f" {where}" if where else "")
    else:
        shown = f" at {where}" if where else ""
    advice = _IO_ADVICE.get(name, "check the path and run again")
    return SiteError(f"{cause}{shown}: {advice}")


def per_page(found: list[tuple[Problem, str]], shown: int = 3) -> list[Problem]:
    """Each distinct problem once, in the order first met. A problem of a templated report is met once per
    generated page (`found` pairs it with the page's URL, "" for other pages): it is said once, naming
    the pages it affects."""
    pages: dict[Problem, list[str]] = {}
    for problem, url in found:
        urls = pages.setdefault(problem, [])
        if url and url not in urls:
            urls.append(url)
    merged = []
    for problem, urls in pages.items():
        if urls:
            more = f" and {len(urls) - shown} more" if len(urls) > shown else ""
            where = f"on page {urls[0]}" if len(urls) == 1 else f"on {len(urls)} pages: {', '.join(urls[:shown])}{more}"
            problem = Problem(problem.path, problem.line, f"{problem.message} ({where})", problem.sql)
        merged.append(problem)
    return merged
