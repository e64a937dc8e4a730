"""Untrusted data on its way out: what may reach the SVG renderer, a link, or a spreadsheet.

Pure functions over plain values. Data is untrusted wherever it comes from (a CSV a colleague
exported, a CRM field anyone can type in), so each place where it leaves gtmsite for another
program (vl-convert, a browser's href, Excel) passes it through here.
"""

from __future__ import annotations

import html
import re
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
    text = _IGNORED.sub("", html.unescape(html.unescape(url)))
    match = _SCHEME.match(text)
    if match is None:
        # Relative (`../x/`, `#top`, `?q=1`, `//host/x`) - unless a colon comes before any / ? #,
        # which some parser could still read as a scheme.
        head = re.split(r"[/?#]", text, maxsplit=1)[0]
        return ":" not in head
    return match.group(1).lower() in SAFE_SCHEMES and urlsplit(text).scheme.lower() in SAFE_SCHEMES


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
