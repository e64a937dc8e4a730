"""The chart renderer's own process: Vega-Lite specs in, SVGs out, one at a time.

vl-convert (Rust with V8 inside) aborts the whole process on some inputs, which no Python code can
catch. So it never runs inside gtmsite: each renderer is a child process (`python -m
gtmsite.svgworker`), and a child that dies takes only the chart it was drawing with it; the build
turns that into an error located at the chart's call and starts a new child for the next chart.

The protocol on the child's stdin and stdout: each message is a 4-byte big-endian length and that
many bytes. A request is a spec as JSON; a reply is one status byte (`o` an SVG follows, `e` an
error message follows) and the text.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from .safety import renderable

_LENGTH = struct.Struct(">I")
TIMEOUT = 120.0  # seconds one chart may take; a chart that takes longer is stopped, its renderer with it


class RendererCrashed(Exception):
    """The renderer process died (or was stopped) while drawing a chart."""


def render_svg(spec: dict) -> str:
    """Vega-Lite spec -> SVG text, in this process. Only the worker (or a fallback) calls it."""
    import vl_convert

    return vl_convert.vegalite_to_svg(renderable(spec))


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child's loop: render each spec it is sent until its stdin closes."""
    while (request := _receive(stdin)) is not None:
        try:
            reply = b"o" + render_svg(json.loads(request)).encode("utf-8")
        except Exception as exc:  # noqa: BLE001 - any renderer error is sent back as the chart's error
            reply = b"e" + f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
        _send(stdout, reply)


class Worker:
    """One renderer child process, used by one thread at a time."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen([sys.executable, "-m", "gtmsite.svgworker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def render(self, spec: dict, timeout: float = TIMEOUT) -> str:
        """The SVG of `spec`; ValueError if vl-convert rejects it, RendererCrashed if the child dies."""
        data = json.dumps(spec, separators=(",", ":"), default=str).encode("utf-8")
        timer = threading.Timer(timeout, self.process.kill)
        timer.start()
        try:
            _send(self.process.stdin, data)
            reply = _receive(self.process.stdout)
        except OSError:  # the child is gone: a broken pipe
            reply = None
        finally:
            timer.cancel()
        if reply is None:
            raise RendererCrashed(self._death(timeout))
        if reply[:1] == b"e":
            raise ValueError(reply[1:].decode("utf-8", "replace"))
        return reply[1:].decode("utf-8")

    def _death(self, timeout: float) -> str:
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if code == -signal.SIGKILL:
            return f"the chart renderer was stopped (it took longer than {timeout:.0f} s, or ran out of memory)"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the chart renderer (vl-convert) crashed on this chart ({name})"
        return f"the chart renderer (vl-convert) crashed on this chart (exit code {code})"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Let the child finish (its stdin closes), or stop it."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


if __name__ == "__main__":
    # The replies own the real stdout; anything else that prints (a library's warning) goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)
