"""Build progress on a terminal: the current stage and a bar of pages (Rich), for any build over a second.

The CLI hands the builder a `log` callable. On a terminal (and not in CI or with --quiet) that callable is
a `TerminalProgress`: log lines print above a live line that names the stage and, while pages render,
counts them. The live line appears only once the build has run for a second (a quick rebuild prints what
it always printed), and it is gone when the build ends. Elsewhere the log is a plain or silent one.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Log = Callable[[str], None]

DELAY_SECONDS = 1.0


class TerminalProgress:
    """A build log that also shows the stage and the pages done on a terminal (see the module's doc)."""

    def __init__(self, console: Any = None, delay: float = DELAY_SECONDS):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.display = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console, transient=True)
        self.task = self.display.add_task("Reading reports and sources", total=None)
        self.lock = threading.Lock()
        self.started = False
        self.stopped = False
        self.timer = threading.Timer(delay, self._start)
        self.timer.daemon = True
        self.timer.start()

    # -- the log ------------------------------------------------------------------------------------

    def __call__(self, message: str) -> None:
        with self.lock:
            if self.started and not self.stopped:
                self.display.console.print(message, markup=False, highlight=False)
            else:
                print(message, file=sys.stderr)
        if message.startswith("published version"):
            self.stage("Published")
        elif message.endswith(" pages") and " reports, " in message:
            self.stage("Running queries and checks")

    # -- stages and pages (called by the builder) -----------------------------------------------------

    def stage(self, name: str) -> None:
        self.display.update(self.task, description=name)

    def start_pages(self, total: int) -> None:
        self.display.update(self.task, description="Rendering pages", total=total, completed=0)

    def page_done(self) -> None:
        self.display.advance(self.task)
        task = self.display.tasks[0]
        if task.total and task.completed >= task.total:
            self.stage("Writing the site")

    # -- the live line ------------------------------------------------------------------------------

    def _start(self) -> None:
        with self.lock:
            if not self.stopped:
                self.display.start()
                self.started = True

    def close(self) -> None:
        self.timer.cancel()
        with self.lock:
            self.stopped = True
            if self.started:
                self.display.stop()


def start_pages(log: Log, total: int) -> None:
    """Tell a progress-showing log how many pages are coming (any other log ignores it)."""
    hook = getattr(log, "start_pages", None)
    if hook is not None:
        hook(total)


def page_done(log: Log) -> None:
    hook = getattr(log, "page_done", None)
    if hook is not None:
        hook()


@contextmanager
def build_log(quiet: bool, plain: Log) -> Iterator[Log]:
    """The log for a build command: progress on a terminal, `plain` elsewhere, nothing when quiet."""
    if quiet:
        yield lambda message: None
        return
    if not sys.stderr.isatty():
        yield plain
        return
    progress = TerminalProgress()
    try:
        yield progress
    finally:
        progress.close()
