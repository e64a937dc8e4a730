"""gtmsite's own drawing of the standard charts (gtmsite/drawing/) against vl-convert's, which it replaces
for speed: the same SVG (layout, ticks, labels shown, hidden and tilted, line, points, bars) on many data
sets."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import xml.etree.ElementTree as ET

import pytest
import vl_convert
from conftest import build_ok, deals_site, page

from gtmsite.chartstyle import CONFIG
from gtmsite.drawing import draw
from gtmsite.drawing.scales import nice, number_format, ticks
from gtmsite.safety import renderable
from gtmsite.svg import page_ready

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
CLIP = re.compile(r"\bclip\d+\b")


def monthly_spec(values: list, width: int = 720, height: int = 280, y_format: str | None = None,
                 x_title: str | None = "Month", y_title: str | None = "Events", step: int = 4) -> dict:
    """The static spec charts.py makes for line_chart(q, x="month", y="events") over months."""
    y = {"field": "events", "type": "quantitative", "title": y_title}
    if y_format:
        y["axis"] = {"format": y_format, "formatType": "number"}
    start = dt.datetime(2022, 1, 1)
    rows = [{"month": dt.datetime(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
             .isoformat(), "events": v} for i, v in enumerate(values)]
    return {"mark": {"type": "line", "tooltip": True, "point": {"size": 28}},
            "encoding": {"x": {"field": "month", "type": "temporal", "title": x_title, "scale": {"type": "utc"},
                               "axis": {"format": "%b %Y", "tickCount": {"interval": "month", "step": step}}},
                         "y": y, "tooltip": [{"field": "events", "type": "quantitative", "title": "Events"}]},
            "data": {"values": rows}, "config": CONFIG, "background": "transparent", "description": "Line chart.",
            "height": height, "width": width, "autosize": {"type": "fit", "contains": "padding"},
            **({"padding": {**CONFIG["padding"], "left": 14}} if width == 360 else {})}


def differences(ours: str, theirs: str, tolerance: float) -> list[tuple[str, str]]:
    """Lines of the two SVGs (one element each, in a canonical order) that differ in anything but numbers
    within `tolerance` pixels. Clip path ids are numbered in order of appearance first: vl-convert's count on
    from one chart to the next in a process."""
    def lines(svg: str) -> list[str]:
        ids: dict[str, str] = {}
        svg = CLIP.sub(lambda m: ids.setdefault(m.group(), f"clip-{len(ids)}"), svg)
        key = lambda line: NUMBER.sub(lambda m: str(round(float(m.group()))), line)  # noqa: E731
        return sorted(svg.replace("><", ">\n<").split("\n"), key=key)
    out = []
    mine, vega = lines(ours), lines(theirs)
    if len(mine) != len(vega):
        return [("element count", f"{len(mine)} != {len(vega)}")]
    for a, b in zip(mine, vega):
        if NUMBER.sub("#", a) != NUMBER.sub("#", b) or any(
                abs(float(p) - float(q)) > tolerance for p, q in zip(NUMBER.findall(a), NUMBER.findall(b))):
            out.append((a, b))
    return out


def vl_convert_svg(spec: dict) -> str:
    return page_ready(vl_convert.vegalite_to_svg(renderable(spec)))


def random_specs(count: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    specs = []
    for _ in range(count):
        n = rnd.choice([2, 3, 5, 12, 13, 24, 36, 60, 100])
        scale = rnd.choice([1, 10, 1000, 1e6, 0.01, 1234.5])
        negative = rnd.random() < 0.2
        values = []
        for _ in range(n):
            value = rnd.random() * scale * rnd.choice([1, 3]) - (scale / 2 if negative else 0)
            values.append(None if rnd.random() < 0.05 else round(value) if rnd.random() < 0.5 else value)
        specs.append(monthly_spec(
            values, width=rnd.choice([720, 360]), height=rnd.choice([120, 200, 280, 400]),
            y_format=rnd.choice([None, "$,.0f", ",.2~f", ".0~%", ",.3~s", ".1~%", ",.0f"]),
            x_title=rnd.choice(["Month", None, "Month of the first touch"]),
            y_title=rnd.choice(["Events", "Revenue per account (USD)", None, "Ünïcödé & <tags>"]),
            step=max(1, -(-(n - 1) // 10))))
    return specs


EXACT = [
    monthly_spec([6, 8, 3, 6, 5, 4, 4, 13, 4, 3, 7, 7, 9, 2, 10, 4, 1, 5, 8, 4, 12, 7, 8, 6] * 3 + [4]),
    monthly_spec([6, 8, 3, 6, 5, 4, 4, 13, 4, 3, 7, 7] * 3, width=360),
    monthly_spec([1200.5, None, 3400, 5600.25, 100], y_format="$,.0f", step=1),
    monthly_spec([-0.25, 0.1, 0.4, 0.05], y_format=".0~%", step=1, y_title=None),
    monthly_spec([12_500_000, 9_000_000, 15_250_000], y_format=",.3~s", step=1, x_title=None),
]


@pytest.mark.parametrize("spec", EXACT, ids=["36 months", "phone", "a gap, dollars", "negative percents", "SI"])
def test_standard_line_charts_are_drawn_exactly_as_vl_convert_draws_them(spec):
    ours = draw(spec)
    assert ours is not None
    assert differences(ours, vl_convert_svg(spec), tolerance=0.02) == []


def drawn_and_exact(specs: list[dict]) -> tuple[int, int]:
    """How many of the specs are drawn here, and how many of those exactly as vl-convert draws them; every one
    drawn must be within 1.5 px of it."""
    drawn = exact = 0
    for spec in specs:
        ours = draw(spec)
        if ours is None:
            continue
        drawn += 1
        theirs = vl_convert_svg(spec)
        assert differences(ours, theirs, tolerance=1.5) == [], json.dumps(spec)[:300]
        exact += not differences(ours, theirs, tolerance=0.02)
    return drawn, exact


def test_on_random_data_the_drawing_matches_vl_convert_to_a_pixel():
    """Layout, every tick, label text and which labels are hidden; coordinates to within 1.5 px (Vega rounds
    a few text bounds in ways not reproduced: a plot can come out one pixel wider or narrower)."""
    drawn, exact = drawn_and_exact(random_specs(40, seed=7))
    assert drawn >= 30 and exact >= drawn * 0.9


@pytest.mark.parametrize("change", [
    lambda s: s["encoding"].update(color={"field": "channel", "type": "nominal"}),
    lambda s: s.update(mark={"type": "bar", "tooltip": True}),
    lambda s: s["encoding"]["x"].update(type="quantitative"),
    lambda s: s["encoding"]["x"]["axis"].update(tickCount=8),
    lambda s: s["encoding"]["y"].update(axis={"format": "e", "formatType": "number"}),
    lambda s: s.update(transform=[{"fold": ["a", "b"]}]),
    lambda s: s.update(config={**CONFIG, "axis": {}}),
    lambda s: s["data"].update(values=[{"month": "2022-01-01T00:00:00Z", "events": 1},
                                       {"month": "2022-02-01T00:00:00Z", "events": 2}]),
    lambda s: s["data"].update(values=[{"month": "2022-01-01", "events": 0}, {"month": "2022-02-01", "events": 0}]),
    lambda s: s["data"].update(values=[{"month": "2022-01-01", "events": True}, {"month": "2022-02-01", "events": 2}]),
], ids=["series", "bars", "numeric x", "tick count", "unknown format", "transform", "other config", "time zone",
        "all zero", "booleans"])
def test_any_other_shape_is_left_to_vl_convert(change):
    spec = copy.deepcopy(monthly_spec([1, 2, 3]))
    change(spec)
    assert draw(spec) is None


def test_titles_are_escaped_and_the_svg_is_well_formed():
    spec = monthly_spec([1, 2, 3], x_title='</text><script>alert("x")</script>', y_title="a b & c")
    svg = draw(spec)
    ET.fromstring(svg)  # well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a b &amp; c" in svg
    assert draw(monthly_spec([1, 2, 3], y_title="a\x00b")) is None  # no width for it: left to vl-convert


def test_d3_ticks_nice_and_formats():
    assert nice(0, 13) == (0, 13) and nice(0, 0.0274) == (0, 0.028) and nice(-3.2, 97) == (-10, 100)
    assert ticks(0, 13, 6) == [0, 2, 4, 6, 8, 10, 12]
    assert [number_format(None, 0, 13000, 6)(v) for v in (0, 2000, 12000)] == ["0", "2,000", "12,000"]
    assert number_format("$,.0f", 0, 1, 1)(-1234.5) == "\u2212$1,235"
    assert number_format(",.3~s", 0, 1, 1)(12_345) == "12.3k" and number_format(",.3~s", 0, 1, 1)(2e6) == "2M"
    assert number_format(".1~%", 0, 1, 1)(0.25) == "25%" and number_format(",.0f", 0, 1, 1)(2.5) == "3"
    assert number_format(None, 0, 1, 5)(0.2) == "0.2"


def test_a_site_of_monthly_line_charts_is_drawn_without_vl_convert(tmp_path, monkeypatch):
    """What the page shows is vl-convert's drawing of the same spec, and vl-convert was never started."""
    import gtmsite.svg as svg_module

    def no_renderer(*_args, **_kwargs):
        raise AssertionError("vl-convert was started")
    monkeypatch.setattr(svg_module, "_renderers", no_renderer)
    body = ("```sql monthly\nselect date_trunc('month', created_at) as month, count(*) as deals\n"
            "from deals group by 1 order by 1\n```\n\n"
            '{{ line_chart(monthly, x="month", y="deals", title="Deals") }}\n')
    project = deals_site(tmp_path / "site", {"reports/index.md": body})
    out = build_ok(project)
    assert re.search(r"charts: 2 rendered", out), out
    html = page(project)
    static = re.search(r'<div class="gtm-chart-static" role="img"[^>]*>(<svg.*?</svg>)</div>', html, re.S).group(1)
    interactive = json.loads(re.search(r'class="gtm-chart-spec">(.*?)</script>', html, re.S).group(1))
    spec = {**interactive, "width": 720}
    monkeypatch.undo()
    assert differences(static, vl_convert_svg(spec), tolerance=0.02) == []


def bar_spec(pairs: list, width: int = 720, height: int = 280, sort: str | None = None, y_format: str | None = None,
             x_title: str | None = "Stage", y_title: str | None = "Deals") -> dict:
    """The static spec charts.py makes for bar_chart(q, x="stage", y="deals", sort=...) over text stages:
    labels that lie flat when they fit at the chart's width, else tilt (charts._fit_category_labels)."""
    labels = {k for k, _ in pairs}
    fits = f"width / {len(labels)} >= {6.4 * max(map(len, labels)) + 10:.0f}"
    angle = f"({fits} ? 0 : width / {len(labels)} >= 30 ? -30 : width / {len(labels)} >= 20 ? -45 : -90)"
    y = {"field": "deals", "type": "quantitative", "title": y_title, "stack": "zero"}
    if y_format:
        y["axis"] = {"format": y_format, "formatType": "number"}
    return {"mark": {"type": "bar", "tooltip": True},
            "encoding": {"x": {"field": "stage", "type": "nominal", "title": x_title, "sort": sort,
                               "axis": {"labelAngle": {"expr": angle},
                                        "labelAlign": {"expr": f"{fits} ? 'center' : 'right'"},
                                        "labelBaseline": {"expr": f"{angle} == -90 ? 'middle' : 'top'"}}},
                         "y": y, "tooltip": [{"field": "stage", "type": "nominal", "title": "Stage"},
                                             {"field": "deals", "type": "quantitative", "title": "Deals"}]},
            "data": {"values": [{"stage": k, "deals": v} for k, v in pairs]}, "config": CONFIG,
            "background": "transparent", "description": "Bar chart.", "height": height, "width": width,
            "autosize": {"type": "fit", "contains": "padding"},
            **({"padding": {**CONFIG["padding"], "left": 14}} if width == 360 else {})}


FUNNEL = [("Prospecting", 5544), ("Qualification", 4762), ("Discovery", 4231), ("Proposal", 3553),
          ("Negotiation", 2987), ("Closed Won", 4434), ("Closed Lost", 4419)]
LONG = "Partner referral program (EMEA, mid-market, renewals and expansions)"
BARS = {
    "funnel, tilted": bar_spec(FUNNEL),
    "phone": bar_spec(FUNNEL, width=360),
    "flat labels": bar_spec([("Organic", 12), ("Paid", 30), ("Partner", 7)], y_format="$,.0f"),
    "zero, negative, tiny": bar_spec([("A", 1000), ("B", 0), ("C", -250), ("D", 0.001), ("E", 3)]),
    "stacked duplicates": bar_spec([("Web", 3), ("Events", 2), ("Web", 4), ("Events", -1), ("Web", 1)]),
    "by total, ties in data order": bar_spec([("b", 2), ("a", 5), ("c", 2), ("d", 5), ("e", 1)], sort="-y"),
    "ascending": bar_spec([("b", 2.5), ("a", 0.5), ("c", 2)], sort="y", y_format=".0~%"),
    "nulls left out": bar_spec([("A", 3), ("B", None), ("C", 2), ("B", 1), ("D", None)]),
    "upright, cut labels": bar_spec([(f"{LONG} {i}", i * 7 % 13 + 1) for i in range(15)], width=360, height=400),
    "steep": bar_spec([(f"Campaign {i:02}", 100 + i) for i in range(16)], width=720, y_format=",.3~s"),
}


@pytest.mark.parametrize("spec", BARS.values(), ids=BARS.keys())
def test_standard_bar_charts_are_drawn_exactly_as_vl_convert_draws_them(spec):
    ours = draw(spec)
    assert ours is not None
    assert differences(ours, vl_convert_svg(spec), tolerance=0.02) == []


def test_bars_keep_vegas_element_order():
    """Stacks in the order their categories first appear in the data, whatever the axis order, and y ticks
    that the second layout pass adds after those of the first (Vega joins ticks by value): element for
    element, in order, not only the same set."""
    spec = bar_spec([(f"Channel {i}", 1000 * (i + 1)) for i in range(6)], sort="-y", height=400, y_format=",.0f")
    ours, theirs = draw(spec), vl_convert_svg(spec)
    stacks = re.compile(r'<g transform="translate\(([\d.]+),[\d.]+\)"><path class="background" d="M2,')
    ticks = re.compile(r'<line transform="translate\(0,(\d+)\)" x2="-5"')
    assert stacks.findall(ours) == stacks.findall(theirs) and len(stacks.findall(ours)) == 6
    assert ticks.findall(ours) == ticks.findall(theirs) and ticks.findall(ours) != sorted(ticks.findall(ours), key=int)


def random_bar_specs(count: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    words = ["Prospecting", "Closed Won", "Paid search", "Événements", LONG, "A", "Webinars & events", "<b>x</b>",
             "Zürich", "Outbound SDR", "Q"]
    specs = []
    for _ in range(count):
        names = list(dict.fromkeys(f"{rnd.choice(words)}{'' if rnd.random() < 0.5 else f' {i}'}"
                                   for i in range(rnd.choice([1, 2, 3, 5, 7, 12, 20, 40]))))
        scale = rnd.choice([1, 10, 1000, 1e6, 0.01, 1234.5])
        shift = scale / 2 if rnd.random() < 0.2 else 0
        sort = rnd.choice([None, "-y", "y"])
        pairs = []
        for name in names:
            for _ in range(2 if rnd.random() < 0.1 else 1):
                value = rnd.random() * scale - shift
                value = round(value) if rnd.random() < 0.5 else value
                pairs.append((name, None if sort is None and rnd.random() < 0.07 else value))
        specs.append(bar_spec(
            pairs, width=rnd.choice([720, 360]), height=rnd.choice([200, 280, 400]), sort=sort,
            y_format=rnd.choice([None, "$,.0f", ",.2~f", ".0~%", ",.3~s", ",.0f"]),
            x_title=rnd.choice(["Stage", None, "Channel of the first touch"]),
            y_title=rnd.choice(["Deals", "Revenue (USD)", None, "Ünïcödé & <tags>"])))
    return specs


def test_on_random_data_bars_match_vl_convert_to_a_pixel():
    drawn, exact = drawn_and_exact(random_bar_specs(40, seed=11))
    assert drawn >= 30 and exact >= drawn * 0.9


@pytest.mark.parametrize("change", [
    lambda s: s["encoding"].update(color={"field": "channel", "type": "nominal"}),
    lambda s: s["encoding"].update(x=s["encoding"]["y"], y=s["encoding"]["x"]),
    lambda s: s["encoding"]["x"].update(sort=["b", "a"]),
    lambda s: s["encoding"]["x"]["axis"].update(labelAngle=-30),
    lambda s: s["encoding"]["y"].update(stack=None),
    lambda s: s.update(mark={"type": "bar", "tooltip": True, "cornerRadius": 3}),
    lambda s: s["data"].update(values=[{"stage": 2022, "deals": 1}, {"stage": 2023, "deals": 2}]),
    lambda s: s["data"].update(values=[{"stage": "a", "deals": 0}, {"stage": "b", "deals": 0}]),
    lambda s: s["data"].update(values=[{"stage": None, "deals": 1}, {"stage": "b", "deals": 2}]),
    lambda s: s["data"].update(values=[{"stage": "a\nb", "deals": 1}]),
], ids=["series", "horizontal", "listed order", "fixed angle", "unstacked", "other mark", "numbers as categories",
        "all zero", "null category", "line break"])
def test_any_other_bar_chart_is_left_to_vl_convert(change):
    spec = copy.deepcopy(bar_spec([("a", 1), ("b", 2)]))
    change(spec)
    assert draw(spec) is None


def month_bar_spec(pairs: list, width: int = 720, height: int = 280, y_format: str | None = None) -> dict:
    """The static spec charts.py makes for bar_chart(q, x="month", y="deals") over a date column."""
    y = {"field": "deals", "type": "quantitative", "title": "Deals", "stack": "zero"}
    if y_format:
        y["axis"] = {"format": y_format, "formatType": "number"}
    return {"mark": {"type": "bar", "tooltip": True},
            "encoding": {"x": {"field": "month", "type": "ordinal", "title": "Month", "axis": {"format": "%b %Y"},
                               "timeUnit": "utcyearmonthdate", "sort": "ascending"},
                         "y": y, "tooltip": [{"field": "month", "type": "temporal", "title": "Month",
                                              "timeUnit": "utcyearmonthdate", "format": "%b %Y"},
                                             {"field": "deals", "type": "quantitative", "title": "Deals"}]},
            "data": {"values": [{"month": k, "deals": v} for k, v in pairs]}, "config": CONFIG,
            "background": "transparent", "description": "Bar chart.", "height": height, "width": width,
            "autosize": {"type": "fit", "contains": "padding"},
            **({"padding": {**CONFIG["padding"], "left": 14}} if width == 360 else {})}


def months(count: int, first: tuple[int, int] = (2024, 11)) -> list[str]:
    year, month = first
    return [f"{year + (month - 1 + i) // 12}-{(month - 1 + i) % 12 + 1:02}-01" for i in range(count)]


MONTH_BARS = {
    "30 months, every fourth label": month_bar_spec([(m, (i * 37) % 50 + 5) for i, m in enumerate(months(30))]),
    "phone": month_bar_spec([(m, (i * 7) % 13) for i, m in enumerate(months(14))], width=360, y_format="$,.0f"),
    "out of order, a month twice, timestamps": month_bar_spec(
        [("2026-03-01T00:00:00", 4), ("2026-01-01", 2.5), ("2026-03-01T12:30:00.250000", -1), ("2026-02-01", 0)]),
    "one month": month_bar_spec([("2026-01-01", 1200)], y_format=",.3~s"),
}


@pytest.mark.parametrize("spec", MONTH_BARS.values(), ids=MONTH_BARS.keys())
def test_bars_over_months_are_drawn_exactly_as_vl_convert_draws_them(spec):
    ours = draw(spec)
    assert ours is not None
    assert differences(ours, vl_convert_svg(spec), tolerance=0.02) == []


def test_on_random_months_bars_match_vl_convert_exactly():
    rnd = random.Random(5)
    drawn = 0
    for _ in range(25):
        dates = [m for m in months(rnd.choice([2, 6, 13, 36, 60]), (rnd.choice([2019, 2025]), rnd.randint(1, 12)))
                 if rnd.random() > 0.1] or ["2025-01-01"]
        scale = rnd.choice([1, 1000, 1e6, 0.01])
        pairs = [(d, rnd.random() * scale - (scale / 3 if rnd.random() < 0.2 else 0)) for d in dates]
        spec = month_bar_spec(rnd.sample(pairs, len(pairs)), width=rnd.choice([720, 360]),
                              height=rnd.choice([200, 280]), y_format=rnd.choice([None, "$,.0f", ".0~%"]))
        ours = draw(spec)
        assert ours is not None
        drawn += 1
        assert differences(ours, vl_convert_svg(spec), tolerance=0.02) == [], json.dumps(spec)[:300]
    assert drawn == 25


@pytest.mark.parametrize("values", [
    [{"month": "2026-01-01T00:00:00Z", "deals": 1}],
    [{"month": "2026-W01-1", "deals": 1}],
    [{"month": "2026-01-01", "deals": None}],
], ids=["time zone", "week date", "null"])
def test_months_outside_the_subset_are_left_to_vl_convert(values):
    spec = month_bar_spec([("2026-02-01", 2)])
    spec["data"]["values"] += values
    assert draw(spec) is None


def with_values(spec: dict, fmt: str | None = None) -> dict:
    """The spec charts.py makes for the same chart with `labels=True` (and `fmt`): the bars, then a text layer
    writing each row's value above its bar."""
    bars = {"mark": spec["mark"], "encoding": copy.deepcopy(spec["encoding"])}
    field = bars["encoding"]["y"]["field"]
    formats = {"format": fmt, "formatType": "number"} if fmt else {}
    if fmt:
        bars["encoding"]["y"]["axis"] = dict(formats)
    label = {k: v for k, v in bars["encoding"].items() if k != "tooltip"}
    label["text"] = {"field": field, "type": "quantitative", **formats}
    rest = {k: v for k, v in spec.items() if k not in ("mark", "encoding")}
    return {"layer": [bars, {"mark": {"type": "text", "dy": -6, "color": "#5b6475"}, "encoding": label}], **rest}


VALUE_BARS = {
    "default number format": with_values(bar_spec([("a", 12), ("b", 12.5), ("c", 0.1 + 0.2), ("d", -3),
                                                   ("e", 1234567)])),
    "dollars, tilted": with_values(bar_spec(FUNNEL), "$,.0f"),
    "stacked rows: the text layer stacks largest first": with_values(
        bar_spec([("a", 6), ("a", 9), ("b", 1), ("b", 3), ("b", 2), ("c", -2), ("c", 4)]), ",.1f"),
    "months, SI": with_values(month_bar_spec([(m, (i * 7919) % 50000) for i, m in enumerate(months(18))]),
                              "$,.3~s"),
    "phone, percent": with_values(bar_spec([("Paid", 0.25), ("Organic", 0.5)], width=360), ".0%"),
}


@pytest.mark.parametrize("spec", VALUE_BARS.values(), ids=VALUE_BARS.keys())
def test_bars_with_their_values_are_drawn_exactly_as_vl_convert_draws_them(spec):
    ours = draw(spec)
    assert ours is not None
    assert differences(ours, vl_convert_svg(spec), tolerance=0.02) == []


def test_on_random_data_bars_with_values_match_vl_convert_to_a_pixel():
    rnd = random.Random(13)
    drawn, exact = drawn_and_exact([with_values(spec, rnd.choice([None, "$,.0f", ",.1f", ".0%", ",.3s", "$,.2~s"]))
                                    for spec in random_bar_specs(30, seed=17)])
    assert drawn >= 20 and exact >= drawn * 0.9


def test_values_in_a_format_outside_the_subset_are_left_to_vl_convert():
    assert draw(with_values(bar_spec([("a", 1)]), ",d")) is None
    assert draw(with_values(bar_spec([("a", 1)]), "$,f")) is None  # d3 would work out the precision
    odd = with_values(bar_spec([("a", 1)]))
    odd["layer"][1]["mark"]["dy"] = -3
    assert draw(odd) is None


def test_d3s_default_number_format():
    from gtmsite.drawing.scales import default_number
    cases = {12: "12", 12.5: "12.5", 0.1 + 0.2: "0.3", -3: "\u22123", 1234567: "1234567", 1e-7: "1e-7",
             1e-5: "0.00001", 123456789012345: "1.23456789012e+14", 1234567890125: "1.23456789013e+12",
             -0.0: "0", 99999999999.95: "99999999999.9"}
    assert {v: default_number(v) for v in cases} == cases


def test_a_null_among_bars_sorted_by_total_is_left_to_vl_convert():
    """Vega-Lite sorts by totals over every row, nulls too, and keeps their category: not reproduced here."""
    assert draw(bar_spec([("a", 1), ("b", None)], sort="-y")) is None
    assert draw(bar_spec([("a", 1), ("b", None)])) is not None


def test_a_site_of_bar_charts_is_drawn_without_vl_convert(tmp_path, monkeypatch):
    """The real spec charts.py makes for a bar chart is drawn here, as vl-convert draws it, wide and narrow."""
    import gtmsite.svg as svg_module

    def no_renderer(*_args, **_kwargs):
        raise AssertionError("vl-convert was started")
    monkeypatch.setattr(svg_module, "_renderers", no_renderer)
    body = ("```sql by_stage\nselect stage, sum(amount) as amount from deals group by 1 order by 1\n```\n\n"
            "```sql by_month\nselect date_trunc('month', created_at) as month, sum(amount) as amount\n"
            "from deals group by 1 order by 1\n```\n\n"
            '{{ bar_chart(by_stage, x="stage", y="amount", title="Amount by stage") }}\n\n'
            '{{ bar_chart(by_month, x="month", y="amount", title="Amount by month") }}\n\n'
            '{{ bar_chart(by_stage, x="stage", y="amount", labels=True, fmt="usd0", title="With values") }}\n')
    project = deals_site(tmp_path / "site", {"reports/index.md": body})
    out = build_ok(project)
    assert re.search(r"charts: 6 rendered", out), out
    html = page(project)
    statics = re.findall(r'<div class="gtm-chart-static[^"]*" role="img"[^>]*>(<svg.*?</svg>)</div>', html, re.S)
    specs = [json.loads(s) for s in re.findall(r'class="gtm-chart-spec">(.*?)</script>', html, re.S)]
    monkeypatch.undo()
    assert len(statics) == 6 and all("role-scope" in svg for svg in statics)
    assert ">$1,200<" in statics[4] or ">$3,400<" in statics[4]
    assert ">Jan 2026<" in statics[2] and ">Mar 2026<" in statics[2]
    for static, interactive in zip(statics[::2], specs):
        wide = {**interactive, "width": 720}
        assert differences(re.sub(r"c[0-9a-f]{8}-", "", static), vl_convert_svg(wide), tolerance=0.02) == []


@pytest.mark.parametrize("spec", [
    bar_spec([("Paid", 1e-7), ("Organic", 3e-7)]),
    with_values(bar_spec([("Paid", 1e-7), ("Organic", 3e-7)])),
    monthly_spec([1e-7, 2e-7, 3e-7]),
], ids=["tiny bars", "tiny values written", "tiny line"])
def test_tiny_numbers_are_drawn_as_vl_convert_draws_them(spec):
    ours = draw(spec)
    assert ours is not None and differences(ours, vl_convert_svg(spec), tolerance=0.02) == []


@pytest.mark.parametrize("spec", [
    bar_spec([("a", 1e300), ("b", 5e299)]),
    bar_spec([("a", 1.7e308), ("a", 1.7e308)]),
    bar_spec([("a", 5e-324), ("b", 1e-323)]),
    bar_spec([("a", 1e21), ("b", 3e21)]),
    bar_spec([("Łódź", 3), ("Gdańsk", 2)]),
    bar_spec([("Москва", 3), ("b", 2)]),
    bar_spec([("東京", 3), ("b", 2)]),
    bar_spec([(" a ", 3), ("b", 2)]),
    bar_spec([("", 3), ("b", 2)]),
    bar_spec([("a", 3)], y_title="Выручка"),
    month_bar_spec([("0999-01-01", 3)]),
    {"mark": {"type": "bar", "tooltip": True}, "encoding": {"x": {"field": "month", "type": "ordinal"},
                                                              "y": {"field": "n", "type": "quantitative"}},
     "data": {"values": [{"month": "a", "n": 1}]}, "config": CONFIG, "autosize": {"type": "fit", "contains": "padding"},
     "width": 720, "height": 280},
    {**with_values(bar_spec([("a", 1)])), "layer": [bar_spec([("a", 1)])["encoding"] and
                                                    {"mark": {"type": "bar", "tooltip": True},
                                                     "encoding": bar_spec([("a", 1)])["encoding"]}, {"encoding": {}}]},
], ids=["huge", "a total past the largest float", "subnormal", "1e21 (JavaScript writes 1e+21)", "Polish",
        "Cyrillic", "CJK", "spaces around", "empty", "a title in Cyrillic", "a year before 1000",
        "an Altair spec of ordinal bars", "a text layer without a mark"])
def test_what_the_drawing_cannot_match_goes_to_vl_convert_and_never_fails(spec):
    """Numbers JavaScript writes otherwise, characters whose widths the font table lacks, specs written by
    hand (the chart() component): vl-convert draws them; the drawing never raises."""
    assert draw(spec) is None
