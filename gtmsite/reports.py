"""Parse a report (Markdown + YAML front matter + named SQL fences + checks) into a Report.

`parse_report(text, rel_path)` is pure. The Jinja body keeps the file's line numbering (front
matter, query and checks fences are blanked, not removed) so that template errors point at the
right line of the file.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .checks import Check, parse_check
from .errors import Problem, SiteError, undecodable
from .sqltext import IDENTIFIER

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
_PARAM_FILE = re.compile(r"^\[([A-Za-z_][A-Za-z0-9_]*)\]$")
# A code fence is shown verbatim inside {% raw %}; an `{% endraw %}` written in the code would end
# that early, so its `{%` is printed by an expression instead.
_ENDRAW = re.compile(r"\{%(?=[-+]?\s*endraw\b)")
_ESCAPED_ENDRAW = '{%+ endraw +%}{{ "{%" }}{% raw %}'

FRONT_MATTER_KEYS = {"title", "description", "order", "hidden", "pages", "show_sql"}


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    line: int  # line of the opening fence
    kind: str = "sql"  # "metrics": a ```metrics NAME fence, whose text is compiled to `sql` by metricfences.py
    metrics: tuple[str, ...] = ()  # the metrics a compiled metrics fence asks for
    definition: str = ""  # a compiled metrics fence: what it asks for and those metrics' definitions (not its SQL)


@dataclass(frozen=True)
class FrontMatter:
    title: str | None = None
    description: str = ""
    order: float | None = None
    hidden: bool = False
    pages: str | None = None
    show_sql: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    pages_line: int = 1  # line of `pages:`, for errors in that query
    title_line: int = 1  # line of `title:`, for errors in a templated title
    pages_fence_line: int = 0  # the line before the query's first line (as a fence's line is for a query)


@dataclass(frozen=True)
class Report:
    rel: str  # e.g. "reports/channels/[channel].md"
    route: tuple[str, ...]  # path parts under reports/, without ".md": ("channels", "[channel]")
    meta: FrontMatter
    queries: tuple[Query, ...]
    checks: tuple[Check, ...]
    body: str  # Jinja + Markdown source, line-aligned with the file
    source_hash: str = ""
    warnings: tuple[Problem, ...] = field(default=(), compare=False)  # e.g. an unknown front matter key

    @property
    def param(self) -> str | None:
        """`channel` for `[channel].md`: the column that names each templated page."""
        match = _PARAM_FILE.match(self.route[-1])
        return match.group(1) if match else None

    @property
    def is_index(self) -> bool:
        return self.route[-1] == "index"

    def query(self, name: str) -> Query | None:
        return next((q for q in self.queries if q.name == name), None)


@functools.lru_cache(maxsize=8192)
def parse_report(text: str, rel: str) -> Report:
    """Parse one report. Raises SiteError with every structural problem of the file (each with its line).
    Pure, so remembered: the preview re-reads every report on each change."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, body_start = _parse_front_matter(lines, rel, problems, warnings)
    out = [""] * body_start
    queries: list[Query] = []
    checks: list[Check] = []
    i = body_start
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence = match.group("fence")
        info = match.group("info").split()
        named = info[:1] in (["sql"], ["metrics"]) and len(info) >= 2
        end, closed = _fence_end(lines, i + 1, fence, stop_at_opening=named or info[:1] == ["checks"])
        content = lines[i + 1:end]
        stop = end + 1 if closed else end  # the first line after the fence
        opening = i + 1
        if not closed:
            (problems if named or info[:1] == ["checks"] else warnings).append(_unclosed(rel, opening, fence, info))
        if named:
            name = info[1]
            if not IDENTIFIER.match(name):
                problems.append(Problem(rel, opening, f"query name '{name}' is not an identifier "
                                        "(use letters, digits and _, not starting with a digit)"))
            elif any(q.name == name for q in queries):
                first = next(q for q in queries if q.name == name)
                problems.append(Problem(rel, opening, f"query '{name}' is defined twice "
                                        f"(first on line {first.line}); rename one of them"))
            elif not _has_sql(content):
                problems.append(Problem(rel, opening, f"query '{name}' is empty: write its SQL between the "
                                        "fences, or remove the fence"))
            else:
                queries.append(Query(name, "\n".join(content), opening, info[0]))
            out.extend([""] * (stop - i))
        elif info[:1] == ["checks"]:
            for offset, check_line in enumerate(content if closed else []):  # unclosed: it swallowed prose
                if check_line.strip() and not check_line.strip().startswith("#"):
                    try:
                        checks.append(parse_check(check_line, rel, opening + 1 + offset))
                    except SiteError as exc:
                        problems.append(exc.problem)
            out.extend([""] * (stop - i))
        else:
            block = [_ENDRAW.sub(_ESCAPED_ENDRAW, line) for line in lines[i:stop]]
            block[0] = "{% raw %}" + block[0]
            # `+%}`: keep the newline after the fence (trim_blocks would join it to the next line).
            block[-1] = block[-1] + "{% endraw +%}"
            out.extend(block)
        i = stop
    if problems:
        raise SiteError(problems[0].message, rel, problems[0].line) if len(problems) == 1 else ReportErrors(problems)
    route = tuple(Path(rel).with_suffix("").parts[1:])
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Report(rel, route, meta, tuple(queries), tuple(checks), "\n".join(out), digest, tuple(warnings))


def _unclosed(rel: str, opening: int, fence: str, info: list[str]) -> Problem:
    label = fence + " ".join(info[:2]) if info else fence
    return Problem(rel, opening, f"the {label} fence opened at line {opening} is not closed; "
                                 f"add a line {fence} where it ends")


def _has_sql(content: list[str]) -> bool:
    """Whether a query fence holds any SQL (not only blank lines, semicolons and -- comments)."""
    return any(line.strip().strip(";").strip() and not line.strip().startswith("--") for line in content)


class ReportErrors(SiteError):
    """Several structural problems in one report."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].message, problems[0].path, problems[0].line)
        self.problems = problems


def report_problems(exc: SiteError) -> list[Problem]:
    return list(getattr(exc, "problems", [exc.problem]))


def _fence_end(lines: list[str], start: int, fence: str, stop_at_opening: bool = False) -> tuple[int, bool]:
    """Index of the closing fence line and True; or, for a fence never closed, the index just past its
    content (the file's end) and False. A query or checks
    fence also ends, unclosed, before a line that opens another fence (```sql NAME): SQL has no such line,
    so its closing line was forgotten."""
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start, len(lines)):
        if closing.match(lines[j]):
            return j, True
        opening = _FENCE_OPEN.match(lines[j]) if stop_at_opening else None
        if opening and opening.group("info"):
            return j, False
    return len(lines), False


def _parse_front_matter(lines: list[str], rel: str, problems: list[Problem],
                        warnings: list[Problem]) -> tuple[FrontMatter, int]:
    """The front matter and the index of the body's first line; its mistakes go to `problems` (all of
    them, and the body is still read for its own), its doubtful keys to `warnings`."""
    if not lines or lines[0].strip() != "---":
        return FrontMatter(), 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        problems.append(Problem(rel, 1, "front matter starts with --- but never ends; add a closing --- line"))
        return FrontMatter(), len(lines)
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(rel, line, f"front matter is not valid YAML: {problem}"))
        return FrontMatter(), end + 1
    except RecursionError:
        problems.append(Problem(rel, 2, "front matter is nested too deeply; use plain keys and values"))
        return FrontMatter(), end + 1
    if not isinstance(data, dict):
        problems.append(Problem(rel, 2, "front matter must be YAML keys and values (title: ...)"))
        return FrontMatter(), end + 1
    return _front_matter(data, lines[1:end], rel, problems, warnings), end + 1


_EXPECTED = {"title": (str, "a string"), "description": (str, "a string"), "order": ((int, float), "a number"),
             "hidden": (bool, "true or false"), "pages": (str, "a SQL query"), "show_sql": (bool, "true or false")}


def _front_matter(data: dict[str, Any], block: list[str], rel: str, problems: list[Problem],
                  warnings: list[Problem]) -> FrontMatter:
    def line_of(key: str) -> int:
        for n, text in enumerate(block, start=2):
            if text.split(":")[0].strip() == key:
                return n
        return 1

    for key, (kind, what) in _EXPECTED.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            if key == "title" and isinstance(value, (int, float)):
                data[key] = str(value)
                continue
            problems.append(Problem(rel, line_of(key), f"front matter: {key}: expected {what}, got {value!r}"))
            data[key] = None
    for key in data:
        if key not in FRONT_MATTER_KEYS:
            warnings.append(Problem(rel, line_of(str(key)), _unknown_key_message(key)))
    return FrontMatter(
        title=data.get("title"),
        description=data.get("description") or "",
        order=data.get("order"),
        hidden=bool(data.get("hidden", False)),
        pages=data.get("pages"),
        show_sql=data.get("show_sql"),
        extra={k: v for k, v in data.items() if k not in FRONT_MATTER_KEYS},
        pages_line=line_of("pages"),
        title_line=line_of("title"),
        pages_fence_line=_pages_fence_line(block, line_of("pages")) if data.get("pages") else 0,
    )


def _unknown_key_message(key: Any) -> str:
    known = sorted(FRONT_MATTER_KEYS)
    close = difflib.get_close_matches(str(key).lower(), known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"front matter: unknown key '{key}' ({hint}known keys: {', '.join(known)})"


def _pages_fence_line(block: list[str], pages_line: int) -> int:
    """`pages: select ...` starts its SQL on the `pages:` line; `pages: |` on the next one."""
    text = block[pages_line - 2] if 2 <= pages_line < len(block) + 2 else ""
    inline = text.split(":", 1)[1].strip() if ":" in text else ""
    return pages_line - 1 if inline and inline[0] not in "|>" else pages_line


def read_reports(reports_dir: Path, project: Path) -> tuple[list[Report], list[Problem]]:
    """Parse every reports/**/*.md, collecting the problems of all files."""
    reports: list[Report] = []
    problems: list[Problem] = []
    for path in sorted(reports_dir.rglob("*.md")):
        if any(part.startswith((".", "_")) for part in path.relative_to(reports_dir).parts):
            continue
        rel = path.relative_to(project).as_posix()
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(undecodable(rel, exc))
            continue
        except OSError as exc:
            problems.append(Problem(rel, None, f"cannot read this file: {exc}"))
            continue
        try:
            reports.append(parse_report(text, rel))
        except SiteError as exc:
            problems.extend(report_problems(exc))
    return reports, problems
