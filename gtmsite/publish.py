"""Put a finished build in place. A failed or interrupted build never touches what was published."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def staging_folder(target: Path) -> Path:
    """A fresh folder beside the output (same file system, so the final move is a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))


def publish(staging: Path, target: Path) -> None:
    """Swap the staged site in: the old output is renamed away, the new one renamed in, the old removed."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / "site")
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
