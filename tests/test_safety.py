"""What may reach an href, the SVG renderer and a spreadsheet, case by case."""

from __future__ import annotations

import pytest

from gtmsite.safety import csv_cell, is_safe_url, raw_cell, renderable, safe_links, xml_text


@pytest.mark.parametrize("url", [
    "https://example.com/x", "http://example.com", "HTTPS://EXAMPLE.COM", "mailto:a@example.com", "../x/",
    "/abs/", "#top", "?q=a:b", "x/y:z", "//cdn.example.com/x", "", "page.html", "a b.html",
])
def test_safe_urls(url):
    assert is_safe_url(url)


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "\x01javascript:alert(1)", "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
    "file:///etc/passwd", "x:y", "\u200bjavascript:alert(1)",
])
def test_unsafe_urls(url):
    assert not is_safe_url(url)


@pytest.mark.parametrize("html, expected", [
    ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
    ("<a/href=JaVaScRiPt:alert(1)>x</a>", "<a>x</a>"),
    ('<a title="t"href="javascript:1">y</a>', '<a title="t">y</a>'),
    ('<a class="c" href="&#106;avascript:1" id="i">y</a>', '<a class="c" id="i">y</a>'),
    ('<img alt="a" src="data:image/svg+xml,x">', '<img alt="a">'),
    ('<img srcset="a.png 1x, javascript:alert(1) 2x">', "<img>"),
    ('<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', "<svg><a><text>x</text></a></svg>"),
    ('<svg><set attributeName="href" to="javascript:alert(1)"/></svg>', '<svg><set attributename="href"/></svg>'),
    ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', '<meta http-equiv="refresh">'),
    ('<form action="javascript:1"><button formaction="vbscript:1">b</button></form>',
     "<form><button>b</button></form>"),
])
def test_safe_links_removes_unsafe_urls_only(html, expected):
    assert safe_links(html)[0] == expected


@pytest.mark.parametrize("html", [
    '<a href="https://ok.example/?a=1&amp;b=2">x</a> <img src="../i.png">',
    "<p>href=javascript:alert(1) is text here</p>",
    "<pre><code>&lt;a href=&quot;javascript:alert(1)&quot;&gt;</code></pre>",
    '<script type="application/json">{"href": "javascript:alert(1)"}</script>',
])
def test_safe_links_leaves_safe_html_byte_for_byte(html):
    assert safe_links(html) == (html, [])


def test_text_for_the_renderer_is_xml_safe():
    assert xml_text("a\x00b\x1bc\td\ne\ud800f\uffff") == "a\ufffdb\ufffdc\td\ne\ufffdf\ufffd"
    assert renderable({"a\x00": ["x\x01", 1, None, {"t": "\x0b"}]}) == {
        "a\ufffd": ["x\ufffd", 1, None, {"t": "\ufffd"}]}


@pytest.mark.parametrize("raw, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'=1+1", "''=1+1"), ("plain", "plain"), ("'quoted", "'quoted"), ("", ""), (-5, -5), (1.5, 1.5), (None, None),
])
def test_csv_cells_that_would_run_as_formulas_get_an_apostrophe_and_round_trip(raw, written):
    assert csv_cell(raw) == written
    if isinstance(raw, str):
        assert raw_cell(written) == raw
