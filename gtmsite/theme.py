"""The theme: the built-in one inside the package, overridden file by file by `themes/NAME/`.

Static files get content-hashed names (`style.3f2a1b9c.css`) so they can be cached forever and
shared between versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from .config import Config
from .errors import BuildFailed, Problem, undecodable
from .files import read_cached, store_in_cache
from .formats import format_value

BUILTIN = Path(__file__).parent / "themes" / "default"


@dataclass(frozen=True)
class Asset:
    name: str  # "style.css"
    hashed: str  # "style.3f2a1b9c.css"
    path: Path


@dataclass(frozen=True)
class Theme:
    template_dirs: tuple[Path, ...]
    assets: tuple[Asset, ...]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for folder in self.template_dirs:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    digest.update(path.name.encode() + path.read_bytes())
        for asset in self.assets:
            digest.update(asset.hashed.encode())
        return digest.hexdigest()[:16]

    def asset(self, name: str) -> Asset:
        for asset in self.assets:
            if asset.name == name:
                return asset
        raise KeyError(name)


def load_theme(config: Config) -> Theme:
    override = config.themes_dir / config.theme
    template_dirs = [BUILTIN / "templates"]
    static_dirs = [BUILTIN / "static"]
    if override.is_dir():
        template_dirs.insert(0, override / "templates")
        static_dirs.append(override / "static")
    files: dict[str, Path] = {}
    for folder in static_dirs:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    files[path.relative_to(folder).as_posix()] = path
    assets = tuple(Asset(name, _hashed_name(name, path.read_bytes()), path) for name, path in sorted(files.items()))
    return Theme(tuple(d for d in template_dirs if d.is_dir()), assets)


def _hashed_name(name: str, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()[:10]
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def make_theme_environment(theme: Theme, globals_: dict[str, Any], cache: Path | None = None) -> jinja2.Environment:
    """The theme's Jinja environment; `cache` keeps compiled templates between builds."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in theme.template_dirs]),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=VerifiedBytecodeCache(cache) if cache else None)
    env.globals.update(globals_)
    env.filters["fmt"] = lambda value, fmt=None: format_value(value, fmt)
    _check_overrides(env, theme)
    return env


class VerifiedBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates on disk, each entry checksummed: a garbled or truncated one is compiled again,
    never run and never an error."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.cache"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = read_cached(self._path(bucket))
        if data is not None:
            try:
                bucket.bytecode_from_string(data)
            except (ValueError, EOFError, TypeError):
                bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        store_in_cache(self._path(bucket), bucket.bytecode_to_string())


def _check_overrides(env: jinja2.Environment, theme: Theme) -> None:
    """Compile the site's own templates up front, so a mistake in one is an error at its file and line."""
    problems = []
    for folder in theme.template_dirs:
        if folder == BUILTIN / "templates":
            continue
        for path in sorted(folder.rglob("*.html")):
            name = path.relative_to(folder).as_posix()
            shown = path.relative_to(folder.parents[2]).as_posix()  # themes/NAME/templates/...
            try:
                env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(Problem(shown, exc.lineno, f"template error: {exc.message}"))
            except UnicodeDecodeError as exc:
                problems.append(undecodable(shown, exc))
    if problems:
        raise BuildFailed(problems)


def has_asset_function(theme: Theme) -> Callable[[str], bool]:
    """`has_asset("custom.css")`: whether the theme (or the site's override) ships that file."""
    names = {a.name for a in theme.assets}
    return lambda name: name in names


def asset_url_function(theme: Theme, base_url: str) -> Callable[[str], str]:
    """`asset("style.css")` -> "/base/_assets/style.3f2a1b9c.css" (absolute: shared by every page)."""
    hashed = {a.name: a.hashed for a in theme.assets}
    return lambda name: f"{base_url}_assets/{hashed[name]}"
