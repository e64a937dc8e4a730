"""Writing a file in one rename, so no reader (a browser, a concurrent build) ever sees half of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


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
    """`replace_file` for a cache entry: a cache that cannot be written only costs speed, so say whether
    it worked instead of failing the build."""
    try:
        replace_file(path, data)
        return True
    except OSError:
        return False
