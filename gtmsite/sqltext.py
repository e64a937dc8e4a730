"""Pure helpers over SQL text: which names and parameters a query mentions, and identifier quoting.

These never paste values into SQL: values are always bound as DuckDB parameters.
"""

from __future__ import annotations

import re

_LITERALS = re.compile(r"""'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/""", re.S)
_IDENTS = re.compile(r'"((?:[^"]|"")+)"|\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}|([A-Za-z_][A-Za-z0-9_]*)')
_PARAMS = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\})")
_REFS = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _blank_literals(sql: str) -> str:
    """The SQL with string literals and comments blanked out (same length, same line breaks)."""
    return _LITERALS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), sql)


def referenced_names(sql: str, candidates: set[str] | frozenset[str]) -> set[str]:
    """Which of `candidates` the SQL mentions as identifiers (`name`, `"name"` or `${name}`)."""
    lowered = {c.lower(): c for c in candidates}
    found = set()
    for match in _IDENTS.finditer(_blank_literals(sql)):
        word = next(g for g in match.groups() if g is not None).replace('""', '"')
        if word.lower() in lowered:
            found.add(lowered[word.lower()])
    return found


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
