"""Writing SVG text: numbers as JavaScript prints them, text content escaped."""

from __future__ import annotations

from html import escape

from ..safety import xml_text


def number(value: float) -> str:
    """A coordinate as JavaScript's toString writes it (74, not 74.0)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def coordinate(value: float) -> str:
    """A number in a `transform` or `d` attribute, as svg.slim_svg leaves vl-convert's: two decimals, cut."""
    text = number(value)
    whole, dot, fraction = text.partition(".")
    return whole + dot + fraction[:2] if dot and "e" not in text else text


def text_element(text: str, attributes: str) -> str:
    return f"<text {attributes}>{escape(xml_text(text), quote=False)}</text>"
