"""Untrusted data on its way out: what may reach the SVG renderer, a link, or a spreadsheet.

Pure functions over plain values. Data is untrusted wherever it comes from (a CSV a colleague
exported, a CRM field anyone can type in), so each place where it leaves gtmsite for another
program (vl-convert, a browser's href, Excel) passes it through here.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

# Characters XML 1.0 cannot hold (the C0 controls but tab, newline and carriage return; lone
# surrogates; U+FFFE and U+FFFF). vl-convert writes chart text into an SVG and aborts the whole
# process when it meets one, so they become U+FFFD (the replacement character) before it sees them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def renderable(value: Any) -> Any:
    """A chart spec (nested dicts, lists, strings, numbers) safe to hand to the SVG renderer: every
    string in it, keys included (field names are column names), made XML-safe."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, dict):
        return {renderable(k): renderable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [renderable(v) for v in value]
    return value


# -- links -------------------------------------------------------------------------------------

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# What browsers drop from a URL before reading its scheme: ASCII whitespace and controls anywhere
# (`java\tscript:`), and leading spaces; plus what HTML entities decode to (`&#106;avascript:`).
_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\ufeff]+")


def is_safe_url(url: str) -> bool:
    """Whether `url` may reach an href or src: http, https, mailto, or relative (no scheme)."""
    if ":" not in url and "&" not in url:
        return True  # no scheme, and no entity that could spell one: relative
    text = _IGNORED.sub("", html.unescape(html.unescape(url)))
    match = _SCHEME.match(text)
    if match is None:
        # Relative (`../x/`, `#top`, `?q=1`, `//host/x`) - unless a colon comes before any / ? #,
        # which some parser could still read as a scheme.
        head = re.split(r"[/?#]", text, maxsplit=1)[0]
        return ":" not in head
    return match.group(1).lower() in SAFE_SCHEMES and urlsplit(text).scheme.lower() in SAFE_SCHEMES


# Attributes whose value a browser loads or follows as a URL.
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite",
                            "longdesc", "data", "codebase", "classid", "archive", "ping", "manifest", "lowsrc",
                            "dynsrc", "icon", "usemap", "srcset", "imagesrcset"})
# A quick look for anything that might need the full parse: a URL attribute, an SVG animation (which can set
# an href), a <meta> (a refresh can load a URL).
_FIRST_LETTERS = "".join(sorted({name[0] for name in URL_ATTRIBUTES}))  # a quick test before the alternation
_CANDIDATE = re.compile(r"\b(?=[" + _FIRST_LETTERS + r"])(" + "|".join(sorted(URL_ATTRIBUTES, key=len, reverse=True)) +
                        r")\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]*)|<(?:set|animate|meta)\b", re.I)


def _urls(name: str, value: str) -> list[str]:
    if name in ("srcset", "imagesrcset"):
        return [part.split()[0] for part in value.split(",") if part.split()]
    if name in ("ping", "archive"):
        return value.split()
    return [value]


def _unsafe_attributes(tag: str, attrs: list[tuple[str, str | None]]) -> set[str]:
    values = {name: value or "" for name, value in attrs}
    unsafe = {name for name, value in values.items()
              if name in URL_ATTRIBUTES and not all(is_safe_url(u) for u in _urls(name, value))}
    if tag in ("set", "animate") and values.get("attributename", "").lower() in ("href", "xlink:href", "src"):
        unsafe |= {name for name in ("to", "from", "by", "values") if name in values
                   and not all(is_safe_url(u) for u in values[name].split(";"))}
    if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
        target = re.split(r"url\s*=\s*", values.get("content", ""), maxsplit=1, flags=re.I)
        if len(target) == 2 and not is_safe_url(target[1].strip("'\" ")):
            unsafe.add("content")
    return unsafe


class _LinkFinder(HTMLParser):
    """Finds the start tags that carry an unsafe URL and what each should become."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.edits: list[tuple[tuple[int, int], str, str, list[str]]] = []  # (position, old tag, new tag, urls)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        unsafe = _unsafe_attributes(tag, attrs)
        if not unsafe:
            return
        raw = self.get_starttag_text() or ""
        kept = "".join(f' {name}="{html.escape(value, quote=True)}"' if value is not None else f" {name}"
                       for name, value in attrs if name not in unsafe)
        closing = "/>" if raw.rstrip().endswith("/>") else ">"
        self.edits.append((self.getpos(), raw, f"<{tag}{kept}{closing}",
                           [value or "" for name, value in attrs if name in unsafe]))

    handle_startendtag = handle_starttag


def safe_links(text: str) -> tuple[str, list[str]]:
    """`text` (HTML or SVG) with every attribute holding an unsafe URL (javascript:, data:, vbscript:, ...;
    `is_safe_url`) removed, so the element is no longer a link; and the URLs removed."""
    if not any(m.group(1) is None or not is_safe_url(m.group(2).strip("\"'")) for m in _CANDIDATE.finditer(text)):
        return text, []
    finder = _LinkFinder()
    finder.feed(text)
    finder.close()
    if not finder.edits:
        return text, []
    starts = [0]
    starts += [m.end() for m in re.finditer(r"\n", text)]
    out, done, removed = [], 0, []
    for (line, column), raw, new, urls in finder.edits:
        at = starts[line - 1] + column
        if text.startswith(raw, at):
            out += [text[done:at], new]
            done = at + len(raw)
            removed += urls
    out.append(text[done:])
    return "".join(out), removed


def shown_url(url: str, limit: int = 80) -> str:
    """A URL quoted for a message: control characters visible, a long one cut."""
    text = repr(url)
    return text if len(text) <= limit else text[:limit - 4] + "...'"


# -- spreadsheets ------------------------------------------------------------------------------

# A cell starting with one of these runs as a formula in Excel, LibreOffice or Google Sheets
# (OWASP, "CSV Injection"); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """A value for a CSV download: a text cell that a spreadsheet would run as a formula gets a
    leading apostrophe (as does one that already starts with apostrophes before such a character, so
    that `raw_cell` can undo it exactly). Numbers, dates and other values are left as they are."""
    if isinstance(value, str) and _looks_like_formula(value):
        return "'" + value
    return value


def raw_cell(text: str) -> str:
    """The value `csv_cell` was given, from the text it wrote."""
    return text[1:] if text.startswith("'") and _looks_like_formula(text) else text
