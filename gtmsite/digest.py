"""The weekly digest: what changed between two published versions, to paste into an issue or to mail.

    versions.json + both versions' manifests (_version.json, _checks.json) -> Digest -> the theme's
    digest.md (Markdown for GitLab/GitHub issues), digest.html (mail-safe) or digest.txt

Read-only over published versions: the digest of two versions is the same whenever it is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .checks import CheckResult
from .config import Config
from .errors import ConfigError
from .formats import format_value
from .site import Page
from .theme import load_theme
from .versions import Comparison, KpiChange, PageSummary, compare, csv_rows, read_manifest

CHECKS_FILE = "_checks.json"
FORMATS = ("markdown", "html", "text")
_TEMPLATES = {"markdown": "digest.md", "html": "digest.html", "text": "digest.txt"}
MAX_PAGES = 25  # changed pages listed one by one; the rest are counted, with a link to "What changed"
MAX_MOVES = 6  # KPIs listed per page


# -- what a version records for the digest ------------------------------------------------------


def checks_json(checks: list[CheckResult], pages: list[Page]) -> str:
    """The version's warned and failed checks (passed ones are only counted in versions.json)."""
    page_of = {p.report.rel: p.url for p in pages if p.report is not None and not p.templated}
    entries = [{"status": r.status, "check": r.check.text, "detail": r.detail,
                "where": f"{r.check.path}:{r.check.line}" if r.check.line else r.check.path,
                "page": r.page or page_of.get(r.check.path, "")}
               for r in checks if r.status != "passed"]
    return json.dumps(entries, indent=1)


# -- the digest as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One KPI's old -> new, and whether the move is good news."""

    label: str
    before: Any
    after: Any
    fmt: str | None
    down_is_good: bool | None  # None: not known, so a move is neither good nor bad
    url: str  # the page it is on

    @property
    def change(self) -> KpiChange:
        return KpiChange(self.label, self.before, self.after, self.fmt)

    @property
    def direction(self) -> str:
        delta = self.change.delta
        if delta is None or self.before is None:
            return "new" if self.before is None and self.after is not None else "changed"
        return "up" if delta > 0 else "down" if delta < 0 else "same"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼", "same": "=", "new": "•", "changed": "~"}[self.direction]

    @property
    def mood(self) -> str:
        """good, bad or neutral: a rise is good news unless `down_is_good` (CAC, churn)."""
        if self.direction not in ("up", "down") or self.down_is_good is None:
            return "neutral"
        return "good" if (self.direction == "up") != self.down_is_good else "bad"

    @property
    def before_text(self) -> str:
        return format_value(self.before, self.fmt) if self.before is not None else "–"

    @property
    def after_text(self) -> str:
        return format_value(self.after, self.fmt)

    @property
    def change_text(self) -> str:
        """"▲ +$26,000 (+0.6%), good" or "= no change"."""
        if self.direction == "same":
            return "= no change"
        if self.direction in ("new", "changed"):
            return self.arrow + (" new" if self.direction == "new" else " changed")
        change = self.change
        relative = change.relative
        rel = f" ({'+' if relative > 0 else ''}{relative * 100:.1f}%)" if relative is not None else ""
        return f"{self.arrow} {change.delta_text}{rel}" + (f", {self.mood}" if self.mood != "neutral" else "")


@dataclass(frozen=True)
class CheckLine:
    status: str  # warned | failed
    check: str
    detail: str
    where: str
    url: str  # the page the check is on, "" for site.toml checks
    new: bool  # not warned or failed in the older version


@dataclass(frozen=True)
class SourceChange:
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class PageLine:
    url: str
    title: str
    kind: str  # changed | added | removed
    moves: tuple[Move, ...] = ()
    more_moves: int = 0  # KPIs that moved but are not listed
    queries: tuple[str, ...] = ()  # the names of the query results that changed

    @property
    def queries_text(self) -> str:
        if not self.queries:
            return ""
        names = ", ".join(self.queries[:4]) + (", …" if len(self.queries) > 4 else "")
        noun = "result" if len(self.queries) == 1 else "results"
        return f"{len(self.queries)} query {noun} changed ({names})"


@dataclass(frozen=True)
class Digest:
    title: str
    site: str  # the site's title
    before: str | None
    after: str
    created: str
    headline: tuple[Move, ...]
    checks: tuple[CheckLine, ...]
    check_counts: dict[str, int]
    sources: tuple[SourceChange, ...] | None  # None: the versions do not record their source results
    pages: tuple[PageLine, ...]
    more_pages: int  # changed pages not listed
    unchanged_pages: int
    links: dict[str, str]  # home, changes, checks, pdf ("" when the version has none)
    page_links: dict[str, str]  # page url -> its address in the newer version


def make_digest(config: Config, root: Path, versions: list[dict], before: str | None, after: str) -> Digest:
    """The digest of `after` against `before` (None: `after` is the first version)."""
    entries = {v["id"]: v for v in versions}
    new_entry, old_entry = entries[after], entries.get(before) if before else None
    new_pages = read_manifest(root / "v" / after)
    old_pages = read_manifest(root / "v" / before) if before else {}

    def rows(vid: str, url: str, query: str) -> list:
        return csv_rows(root / "v" / vid / "_data" / (url.strip("/") or "index") / f"{query}.csv")

    comparison = compare(old_pages, new_pages, before, after, rows) if before else None
    link = _linker(config, after)
    page_lines, more = _page_lines(comparison, old_pages, new_pages)
    urls = {p.url for p in page_lines} | {"/"} | {c.url for c in _check_lines(root, before, after) if c.url}
    links = {"home": link("/"), "changes": link("/_changes/"), "checks": link("/_checks/"),
             "pdf": link("/" + str(new_entry["pdf"])) if new_entry.get("pdf") else ""}
    shown_before = f" (vs {before})" if before else ""
    return Digest(
        title=f"{config.title}: what changed in {after}{shown_before}", site=config.title, before=before, after=after,
        created=str(new_entry.get("created", "")), headline=tuple(headline_moves(old_pages, new_pages)),
        checks=tuple(_check_lines(root, before, after)), check_counts=dict(new_entry.get("checks") or {}),
        sources=source_changes(old_entry, new_entry), pages=tuple(page_lines), more_pages=more,
        unchanged_pages=comparison.unchanged_pages if comparison else 0, links=links,
        page_links={u: link(u) for u in urls})


def _linker(config: Config, version_id: str):
    """Links into the newer version: absolute with `[site] url`, else from the host's root (base_url)."""
    root = (config.url or config.base_url) + f"v/{version_id}/"
    return lambda url: root + url.lstrip("/")


def headline_moves(old: dict[str, PageSummary], new: dict[str, PageSummary]) -> list[Move]:
    """The home page's big numbers (its `big_value`s; every KPI on it when the version does not say which
    component showed them), old -> new."""
    home = new.get("/")
    if home is None:
        return []
    kpis = [k for k in home.kpis if k.component == "big_value"] or home.kpis
    before = {k.label: k for k in old["/"].kpis} if "/" in old else {}
    return [Move(k.label, before[k.label].value if k.label in before else None, k.value, k.fmt,
                 k.down_is_good if k.down_is_good is not None or k.label not in before
                 else before[k.label].down_is_good, "/") for k in kpis]


def _page_lines(comparison: Comparison | None, old: dict[str, PageSummary], new: dict[str, PageSummary]
                ) -> tuple[list[PageLine], int]:
    if comparison is None:
        return [], 0
    lines = [PageLine(u, t, "added") for u, t in comparison.added_pages]
    lines += [PageLine(u, t, "removed") for u, t in comparison.removed_pages]
    for change in comparison.changed_pages:
        moves = distinct_moves(change.kpis, new[change.url].kpis, change.url)
        lines.append(PageLine(change.url, change.title, "changed", tuple(moves[:MAX_MOVES]),
                              max(0, len(moves) - MAX_MOVES), tuple(q.name for q in change.queries)))
    return lines[:MAX_PAGES], max(0, len(lines) - MAX_PAGES)


def distinct_moves(changes: list[KpiChange], kpis: list, url: str) -> list[Move]:
    """Each moved number once: a `value` showing the same number as a `big_value` on the page (same old
    and new value) is the same KPI; the `big_value` names it and says whether down is good."""
    component = {k.label: k.component for k in kpis}
    good = {k.label: k.down_is_good for k in kpis}
    ranked = sorted(changes, key=lambda k: component.get(k.label) != "big_value")
    seen: dict[tuple, int] = {}
    moves: list[Move] = []
    for kpi in ranked:
        key = (repr(kpi.before), repr(kpi.after))
        if key in seen:
            continue
        seen[key] = len(moves)
        moves.append(Move(kpi.label, kpi.before, kpi.after, kpi.fmt, good.get(kpi.label), url))
    order = {k.label: n for n, k in enumerate(changes)}
    return sorted(moves, key=lambda m: order[m.label])


def _read_checks(folder: Path) -> list[dict] | None:
    try:
        data = json.loads((folder / CHECKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [c for c in data if isinstance(c, dict)] if isinstance(data, list) else None


def _check_lines(root: Path, before: str | None, after: str) -> list[CheckLine]:
    new = _read_checks(root / "v" / after) or []
    old = {(c.get("check"), c.get("where"), c.get("page")) for c in (_read_checks(root / "v" / before) or [])} \
        if before else set()
    order = {"failed": 0, "warned": 1}
    lines = [CheckLine(str(c.get("status", "")), str(c.get("check", "")), str(c.get("detail", "")),
                       str(c.get("where", "")), str(c.get("page", "")),
                       (c.get("check"), c.get("where"), c.get("page")) not in old) for c in new]
    return sorted(lines, key=lambda c: (order.get(c.status, 2), not c.new, c.where))


def source_changes(old: dict | None, new: dict) -> tuple[SourceChange, ...] | None:
    """The source results whose data changed, from versions.json's `sources` (when versions record it):
    a mapping name -> {rows, hash, fetched_at, ...} or a list of such objects with a `name`."""
    after = _sources(new)
    if after is None:
        return None
    before = _sources(old) or {}
    changes = []
    for name, info in sorted(after.items()):
        was = before.get(name)
        if was is None:
            changes.append(SourceChange(name, "–", _describe_source(info)))
        elif _identity(was) != _identity(info):
            changes.append(SourceChange(name, _describe_source(was), _describe_source(info)))
    for name in sorted(set(before) - set(after)):
        changes.append(SourceChange(name, _describe_source(before[name]), "–"))
    return tuple(changes)


def _sources(entry: dict | None) -> dict[str, dict] | None:
    """The version's source results; None when it used none (a site without external databases)."""
    raw = entry.get("sources") if entry else None
    if not raw:
        return None
    if isinstance(raw, dict):
        return {str(k): v if isinstance(v, dict) else {"hash": v} for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(s.get("name")): s for s in raw if isinstance(s, dict) and s.get("name")}
    return None


def _identity(info: dict) -> Any:
    for key in ("hash", "digest", "fingerprint", "sha256"):
        if key in info:
            return info[key]
    return info.get("rows")


def _describe_source(info: dict) -> str:
    rows = info.get("rows")
    shown = f"{format_value(rows, 'num0')} rows" if isinstance(rows, int) else "result"
    fetched = info.get("fetched_at") or info.get("fetched")
    return f"{shown}, fetched {fetched}" if fetched else shown


# -- which versions, and the digest as text -------------------------------------------------------


def pick_versions(versions: list[dict], a: str | None, b: str | None) -> tuple[str | None, str]:
    """(older, newer): default the two newest; `A` alone is compared with the newest."""
    ids = [v["id"] for v in versions]
    if not ids:
        raise ConfigError("digest: no versions published yet (run gtmsite build)")

    def resolve(name: str) -> str:
        vid = ids[0] if name == "latest" else name
        if vid not in ids:
            raise ConfigError(f"digest: no version '{name}' (versions: {', '.join(ids)})")
        return vid

    if a is None:
        return (ids[1] if len(ids) > 1 else None), ids[0]
    older, newer = resolve(a), resolve(b or "latest")
    if older == newer:
        raise ConfigError(f"digest: both versions are {older}; name two different versions")
    if ids.index(older) < ids.index(newer):
        older, newer = newer, older
    return older, newer


def render_digest(config: Config, digest: Digest, form: str) -> str:
    if form not in FORMATS:
        raise ConfigError(f"digest: --format must be one of {', '.join(FORMATS)}, got '{form}'")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in load_theme(config).template_dirs]),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["md"] = markdown_text
    return env.get_template(_TEMPLATES[form]).render(d=digest)


_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#~!"} | {"\n": " ", "&": "&amp;"})


def markdown_text(value: Any) -> str:
    """Data as literal Markdown text: no emphasis, links, HTML or table cell breaks from it."""
    return str(value).translate(_MARKDOWN_SPECIAL)
