"""Pure helpers over SQL text: which names and parameters a query mentions, and identifier quoting.

These never paste values into SQL: values are always bound as DuckDB parameters.
"""

from __future__ import annotations

import functools
import re

_LITERALS = re.compile(r"""'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/""", re.S)
_PARAMS = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\})")
_REFS = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _blank_literals(sql: str) -> str:
    """The SQL with string literals and comments blanked out (same length, same line breaks)."""
    return _LITERALS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), sql)


_TOKENS = re.compile(r'"(?:[^"]|"")+"|\$\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}|[A-Za-z_][A-Za-z0-9_$]*|[(),.]|\S')
# Keywords after which the next name is a relation (`from x`, `join x`, DuckDB's `pivot x`, ...).
_BEFORE_RELATION = {"from", "join", "pivot", "unpivot", "summarize", "describe", "table", "update", "into"}
_SKIP_BEFORE_RELATION = {"lateral", "only"}
# Keywords that end a FROM list (after them a comma no longer introduces another relation).
_END_OF_FROM = {"where", "group", "order", "having", "limit", "qualify", "window", "union", "except", "intersect",
                "select", "returning", "offset", "set", "values", "pivot", "unpivot"}


def _unquote(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


@functools.lru_cache(maxsize=16384)
def relation_names(sql: str) -> frozenset[str]:
    """The names the SQL reads as relations (`from x`, `join y`, `from a, b`, `${z}`), lowercased;
    a column or alias spelled like a query (`sum(amount) as total`) is not one. (Remembered: every
    build asks it of every query, for dependencies and data fingerprints.)"""
    tokens = _TOKENS.findall(_blank_literals(sql))
    found: set[str] = set()
    depth = 0
    from_depths: list[int] = []  # paren depths at which a FROM list is open
    expect = False  # the next name is a relation
    i = 0
    while i < len(tokens):
        token = tokens[i]
        lower = token.lower()
        if token.startswith("${"):
            found.add(token[2:-1].strip().lower())
            expect = False
        elif token == "(":
            depth += 1
            expect = False
        elif token == ")":
            depth -= 1
            while from_depths and from_depths[-1] > depth:
                from_depths.pop()
            expect = False
        elif token == ",":
            expect = bool(from_depths) and from_depths[-1] == depth
        elif lower in _BEFORE_RELATION and not token.startswith('"'):
            expect = True
            if lower == "from" or lower == "join":
                if not from_depths or from_depths[-1] != depth:
                    from_depths.append(depth)
        elif expect and lower in _SKIP_BEFORE_RELATION:
            pass
        elif expect and (token[0].isalpha() or token[0] in '_"'):
            parts = [_unquote(token)]
            while i + 2 < len(tokens) and tokens[i + 1] == "." and tokens[i + 2] not in "(),.":
                parts.append(_unquote(tokens[i + 2]))
                i += 2
            is_function = i + 1 < len(tokens) and tokens[i + 1] == "("
            if not is_function:
                found.add(".".join(parts).lower())
                if len(parts) > 1 and parts[0].lower() in ("main", "temp", "memory"):
                    found.add(parts[-1].lower())
            expect = False
        else:
            if lower in _END_OF_FROM and from_depths and from_depths[-1] == depth:
                from_depths.pop()
            expect = False
        i += 1
    return frozenset(found)


def referenced_names(sql: str, candidates: set[str] | frozenset[str]) -> set[str]:
    """Which of `candidates` the SQL reads as relations (`from name`, `join "name"`, `${name}`)."""
    used = relation_names(sql)
    return {c for c in candidates if c.lower() in used}


def parameter_names(sql: str) -> set[str]:
    """Named parameters (`$name`) that the SQL uses, outside strings and comments."""
    return set(_PARAMS.findall(_blank_literals(sql)))


def explicit_refs(sql: str) -> set[str]:
    """Names used Evidence-style as `${name}`."""
    return set(_REFS.findall(sql))


def expand_refs(sql: str) -> str:
    """Evidence-style `${name}` becomes the quoted relation name `"name"`."""
    return _REFS.sub(lambda m: quote_ident(m.group(1)), sql)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(name: str) -> str:
    """`crm.accounts` -> `"crm"."accounts"`."""
    return ".".join(quote_ident(part) for part in name.split("."))


def fetchable(column: str, type_name: str) -> str | None:
    """A SQL expression that reads `column` without a time zone, or None when it needs none.

    DuckDB's Python client builds time-zone-aware datetimes only with the optional pytz module;
    a TIMESTAMPTZ is read as its UTC wall-clock time instead (a nested one as text).
    """
    kind = str(type_name).upper()
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {quote_ident(column)})"
    if "TIMESTAMP WITH TIME ZONE" in kind:
        return f"cast({quote_ident(column)} as varchar)"
    return None


def fetchable_select(description: list | tuple, source: str) -> str | None:
    """`select * replace (...) from source` reading every time-zone column as `fetchable` says,
    or None when the result has no such column."""
    replaced = [(d[0], fetchable(d[0], d[1])) for d in description]
    replaced = [f"{expr} as {quote_ident(name)}" for name, expr in replaced if expr]
    if not replaced:
        return None
    return f"select * replace ({', '.join(replaced)}) from {source}"


def substitute_parameters(sql: str, columns: dict[str, str]) -> str:
    """`$name` (outside strings and comments) replaced by the SQL expression `columns[name]`: for batching
    a templated query, where a page's parameter becomes a column of the pages' table."""
    blank = _blank_literals(sql)
    out, last = [], 0
    for match in _PARAMS.finditer(blank):
        if match.group(1) in columns:
            out += [sql[last:match.start()], columns[match.group(1)]]
            last = match.end()
    return "".join(out) + sql[last:]
