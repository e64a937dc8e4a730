"""Read site.toml once into a frozen Config; collect every error, each naming the file and key."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks import parse_check
from .errors import BuildFailed, Problem, SiteError, undecodable

CONFIG_FILE = "site.toml"


@dataclass(frozen=True)
class SiteCheck:
    """A `[[checks]]` entry: a check on a source table or model, for every build."""

    table: str
    check: str
    warn: bool = False
    line: int | None = None


@dataclass(frozen=True)
class ExternalSource:
    """A `[sources.NAME]` database: its source queries (sources/NAME/*.sql) run on it (gtmsite.warehouse).
    `url` is as written ("env:VAR" or a URL without a password); `type` is "" when the URL decides."""

    name: str
    url: str
    type: str = ""
    refresh: str = "always"  # "always", "manual" or a duration such as "30m", "6h", "1d"
    line: int | None = None


@dataclass(frozen=True)
class Config:
    project: Path
    title: str = "GTM Analytics"
    description: str = ""
    search: bool = True  # a search index per version, and the search box
    url: str = ""  # the public address ("https://acme.gitlab.io/gtm/"), for absolute links in the digest and PDF
    base_url: str = "/"
    theme: str = "default"
    show_sql: bool = False
    output: str = "build"
    workers: int = 0
    keep: int = 0
    label: str = ""
    checks: tuple[SiteCheck, ...] = ()
    external_sources: tuple[ExternalSource, ...] = ()
    cache_dir: str = ".gtmsite-cache"
    pdf: bool = False  # set by `gtmsite build --pdf`: the version includes site.pdf, linked from every page

    @property
    def reports_dir(self) -> Path:
        return self.project / "reports"

    @property
    def sources_dir(self) -> Path:
        return self.project / "sources"

    @property
    def themes_dir(self) -> Path:
        return self.project / "themes"

    @property
    def output_dir(self) -> Path:
        return (self.project / self.output).resolve()

    @property
    def worker_count(self) -> int:
        return self.workers or (os.cpu_count() or 1)


# key -> (expected type(s), description used in messages)
_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], str]]] = {
    "site": {
        "title": (str, "a string"),
        "description": (str, "a string"),
        "base_url": (str, "a string such as \"/\" or \"/analytics/\""),
        "theme": (str, "a string (\"default\" or a folder under themes/)"),
        "show_sql": (bool, "true or false"),
        "url": (str, "the site's public address, such as \"https://acme.gitlab.io/gtm/\""),
        "search": (bool, "true or false"),
    },
    "build": {
        "output": (str, "a folder path"),
        "workers": (int, "an integer"),
        "cache": (str, "a folder path"),
    },
    "versions": {
        "keep": (int, "an integer"),
        "label": (str, "a string"),
    },
}
_CHECK_KEYS = {"table": (str, "a table name"), "check": (str, "a check such as \"row_count > 0\""),
               "warn": (bool, "true or false")}
_SOURCE_KEYS = {"url": (str, "a URL or \"env:VARIABLE\""), "type": (str, "\"duckdb\", \"sqlite\" or \"postgres\""),
                "refresh": (str, "\"always\", \"manual\" or a duration such as \"30m\", \"6h\", \"1d\"")}
_SOURCE_TYPES = ("duckdb", "sqlite", "postgres", "mysql", "spark", "sqlalchemy")
_REFRESH = re.compile(r"^(always|manual|[1-9][0-9]*[mhd])$")
_SOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def refresh_seconds(refresh: str) -> int | None:
    """How long a stored source result may be reused: 0 for "always", None for "manual"."""
    if refresh == "always":
        return 0
    if refresh == "manual":
        return None
    return int(refresh[:-1]) * {"m": 60, "h": 3600, "d": 86400}[refresh[-1]]


def _has_password(url: str) -> bool:
    """A literal URL with a password in it (`scheme://user:secret@host`, or a `password=` parameter)."""
    if url.startswith("env:"):
        return False
    return bool(re.search(r"://[^/@\s]*:[^/@\s]*@", url) or re.search(r"(?i)[?&;](password|token)=", url))


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _type_ok(value: Any, expected: type | tuple[type, ...]) -> bool:
    if expected is int and isinstance(value, bool):
        return False
    return isinstance(value, expected)


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    """Best-effort line number of a key in the TOML text (tomllib keeps no positions)."""
    lines = text.splitlines()
    for number, line in enumerate(lines[start:], start=start + 1):
        if needle in line:
            return number
    return None


def _section_line(text: str, section: str) -> int:
    return _line_of(text, f"[{section}]") or 0


def _top_level_line(text: str, name: str) -> int | None:
    """The line of a top-level name: its `[name]`, `[name.x]` or `[[name]]` header, or `name = ...`
    before the first header (not a key of the same name inside another section)."""
    in_header = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_header = True
            header = stripped.strip("[]").split("]")[0].strip()
            if header == name or header.startswith(f"{name}."):
                return number
        elif not in_header and stripped.split("=")[0].strip() == name:
            return number
    return None


def _key_line(text: str, section: str, key: str) -> int | None:
    start = _section_line(text, section)
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if line.strip().startswith("["):
            break
        if line.split("=")[0].strip() == key:
            return number
    return None


def _check_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[checks]]"]


def load_config(project: Path | str) -> Config:
    """Read and validate `project/site.toml` (absent means all defaults). Raises BuildFailed(exit 2)."""
    project = Path(project).resolve()
    path = project / CONFIG_FILE
    if not project.is_dir():
        raise BuildFailed([Problem(str(project), None, "project folder does not exist")], 2)
    if not path.exists():
        if not (project / "reports").is_dir():
            raise BuildFailed([Problem(str(project), None,
                                       "not a gtmsite project: no site.toml and no reports/ folder "
                                       "(run `gtmsite init` to create one)")], 2)
        return Config(project=project)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BuildFailed([undecodable(CONFIG_FILE, exc)], 2) from None
    except OSError as exc:
        raise BuildFailed([Problem(CONFIG_FILE, None, f"cannot read this file: {exc}")], 2) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise BuildFailed([Problem(CONFIG_FILE, int(at.group(1)) if at else None, f"not valid TOML: {exc}")],
                          2) from None
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    for section, value in raw.items():
        if section in _SCHEMA:
            if not isinstance(value, dict):
                problems.append(Problem(CONFIG_FILE, _top_level_line(text, section),
                                        f"{section}: expected a table [{section}], got {_describe(value)}"))
                continue
            for key, item in value.items():
                line = _key_line(text, section, key)
                if key not in _SCHEMA[section]:
                    known = ", ".join(_SCHEMA[section])
                    problems.append(Problem(CONFIG_FILE, line,
                                            f"[{section}] {key}: unknown key (known keys: {known})"))
                    continue
                expected, what = _SCHEMA[section][key]
                if not _type_ok(item, expected):
                    problems.append(Problem(CONFIG_FILE, line,
                                            f"[{section}] {key}: expected {what}, got {_describe(item)}"))
                    continue
                values[f"{section}.{key}"] = item
        elif section == "checks":
            values["checks"] = _read_checks(text, value, problems)
        elif section == "sources":
            values["sources"] = _read_sources(text, value, problems)
        else:
            known = ", ".join([*_SCHEMA, "sources", "checks"])
            problems.append(Problem(CONFIG_FILE, _top_level_line(text, section),
                                    f"{section}: unknown section (known sections: {known})"))

    base_url = values.get("site.base_url", "/")
    if not base_url.startswith("/") and "://" not in base_url:
        problems.append(Problem(CONFIG_FILE, _key_line(text, "site", "base_url"),
                                f"[site] base_url: expected a path starting with \"/\", got \"{base_url}\""))
    base_url = base_url.rstrip("/") + "/"
    site_url = values.get("site.url", "")
    if site_url and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", site_url):
        problems.append(Problem(CONFIG_FILE, _key_line(text, "site", "url"),
                                f"[site] url: expected an address such as \"https://acme.gitlab.io/gtm/\", "
                                f"got \"{site_url}\""))
    site_url = site_url.rstrip("/") + "/" if site_url else ""
    for key in ("build.workers", "versions.keep"):
        if values.get(key, 0) < 0:
            section, name = key.split(".")
            problems.append(Problem(CONFIG_FILE, _key_line(text, section, name),
                                    f"[{section}] {name}: expected a number >= 0, got {values[key]}"))
    output = values.get("build.output", "build")
    output_path = (project / output).resolve()
    blocker = next((p for p in (output_path, *output_path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        shown = blocker.relative_to(project) if blocker.is_relative_to(project) else blocker
        problems.append(Problem(CONFIG_FILE, _key_line(text, "build", "output"),
                                f"[build] output: expected a folder, but {shown} is a file; choose another path"))
    held = input_holding(project, output_path) if blocker is None else None
    if held:
        problems.append(Problem(CONFIG_FILE, _key_line(text, "build", "output"),
                                f"[build] output: \"{output}\" is inside {held}, which gtmsite reads as input: the "
                                "next build would read the site itself; choose a folder outside it, e.g. \"build\""))
    label = values.get("versions.label", "")
    if len(label) > MAX_LABEL:
        problems.append(Problem(CONFIG_FILE, _key_line(text, "versions", "label"),
                                f"[versions] label: {len(label)} characters long; at most {MAX_LABEL} are allowed "
                                "(it names each version's folder): use a shorter one"))
    theme = values.get("site.theme", "default")
    if theme != "default" and not (project / "themes" / theme).is_dir():
        problems.append(Problem(CONFIG_FILE, _key_line(text, "site", "theme"),
                                f"[site] theme: no folder themes/{theme}/ (use \"default\" or create it)"))
    if problems:
        raise BuildFailed(problems, 2)
    return Config(
        project=project,
        title=values.get("site.title", "GTM Analytics"),
        description=values.get("site.description", ""),
        url=site_url,
        search=values.get("site.search", True),
        base_url=base_url,
        theme=theme,
        show_sql=values.get("site.show_sql", False),
        output=values.get("build.output", "build"),
        workers=values.get("build.workers", 0),
        cache_dir=values.get("build.cache", ".gtmsite-cache"),
        keep=values.get("versions.keep", 0),
        label=values.get("versions.label", ""),
        checks=tuple(values.get("checks", ())),
        external_sources=tuple(values.get("sources", ())),
    )


MAX_LABEL = 100  # characters: a label's slug names a version's folder


def input_holding(project: Path, output: Path) -> str | None:
    """The project's input (`reports/`, `sources/`, `themes/`, the project itself) that a publishing
    folder would be inside of, or None: a site published there would be read by the next build."""
    output = output.resolve()
    if output == project:
        return "the project folder itself"
    for name in ("reports", "sources", "themes"):
        folder = (project / name).resolve()
        if output == folder or output.is_relative_to(folder):
            return f"{name}/"
    return None


def _read_checks(text: str, value: Any, problems: list[Problem]) -> list[SiteCheck]:
    if not isinstance(value, list):
        problems.append(Problem(CONFIG_FILE, _top_level_line(text, "checks"),
                                "checks: expected [[checks]] entries with table and check keys"))
        return []
    lines = _check_lines(text)
    checks = []
    for index, entry in enumerate(value):
        line = lines[index] if index < len(lines) else None
        where = f"[[checks]] #{index + 1}"
        if not isinstance(entry, dict):
            problems.append(Problem(CONFIG_FILE, line, f"{where}: expected a table with table and check keys"))
            continue
        ok = True
        for key, item in entry.items():
            if key not in _CHECK_KEYS:
                problems.append(Problem(CONFIG_FILE, line,
                                        f"{where} {key}: unknown key (known keys: table, check, warn)"))
                ok = False
            elif not _type_ok(item, _CHECK_KEYS[key][0]):
                problems.append(Problem(CONFIG_FILE, line,
                                        f"{where} {key}: expected {_CHECK_KEYS[key][1]}, got {_describe(item)}"))
                ok = False
        for key in ("table", "check"):
            if key not in entry:
                problems.append(Problem(CONFIG_FILE, line, f"{where}: missing key {key}"))
                ok = False
        if ok:
            try:  # the grammar is checked here so that a bad check is a configuration error (exit 2)
                parse_check(f"{entry['table']}: {entry['check']}", CONFIG_FILE, line, entry.get("warn", False))
            except SiteError as exc:
                problems.append(exc.problem)
                continue
            checks.append(SiteCheck(entry["table"], entry["check"], entry.get("warn", False), line))
    return checks


def _read_sources(text: str, value: Any, problems: list[Problem]) -> list[ExternalSource]:
    sources = []
    if not isinstance(value, dict):
        problems.append(Problem(CONFIG_FILE, _top_level_line(text, "sources"),
                                "sources: expected [sources.NAME] tables"))
        return sources
    for name, entry in value.items():
        section = f"sources.{name}"
        line = _section_line(text, section) or None
        if not isinstance(entry, dict):
            problems.append(Problem(CONFIG_FILE, line, f"[{section}]: expected a table with a url key"))
            continue
        bad = False
        for key, item in entry.items():
            if key not in _SOURCE_KEYS:
                problems.append(Problem(CONFIG_FILE, _key_line(text, section, key),
                                        f"[{section}] {key}: unknown key (known keys: url, refresh, type)"))
                bad = True
            elif not isinstance(item, str):
                problems.append(Problem(CONFIG_FILE, _key_line(text, section, key),
                                        f"[{section}] {key}: expected {_SOURCE_KEYS[key][1]}, got {_describe(item)}"))
                bad = True
        if "url" not in entry:
            problems.append(Problem(CONFIG_FILE, line, f"[{section}]: missing key url"))
            bad = True
        kind = entry.get("type", "")
        if isinstance(kind, str) and kind and kind not in _SOURCE_TYPES:
            problems.append(Problem(CONFIG_FILE, _key_line(text, section, "type"),
                                    f"[{section}] type: expected one of {', '.join(_SOURCE_TYPES)}, got \"{kind}\""))
            bad = True
        refresh = entry.get("refresh", "always")
        if isinstance(refresh, str) and not _REFRESH.match(refresh):
            problems.append(Problem(CONFIG_FILE, _key_line(text, section, "refresh"),
                                    f"[{section}] refresh: expected {_SOURCE_KEYS['refresh'][1]}, got \"{refresh}\""))
            bad = True
        if name.lower() in ("main", "memory", "temp", "system"):
            problems.append(Problem(CONFIG_FILE, line, f"[{section}]: {name} is a name DuckDB keeps for itself; "
                                                       "choose another (e.g. [sources.crm])"))
            bad = True
        elif not _SOURCE_NAME.match(name):
            problems.append(Problem(CONFIG_FILE, line, f"[{section}]: the name is a schema name: use letters, digits "
                                                       "and _ (e.g. [sources.crm])"))
            bad = True
        if isinstance(entry.get("url"), str) and _has_password(entry["url"]):
            # The URL itself is not repeated: it holds a secret.
            problems.append(Problem(CONFIG_FILE, _key_line(text, section, "url"),
                                    f"[{section}] url: holds a password; site.toml is not the place for secrets: put "
                                    f"the URL in an environment variable and write url = \"env:{name.upper()}_URL\""))
            bad = True
        if not bad:
            sources.append(ExternalSource(name, entry["url"], kind, refresh, line))
    return sources
