"""Static SVGs: hostile text reaches the renderer safely, and a renderer crash is one located error."""

from __future__ import annotations

import re

import pytest
from conftest import error_lines, page, run_gtmsite

from gtmsite.svgworker import RendererCrashed, Worker

HOSTILE = """\
# Hostile

```sql q
select chr(0) || 'Acme' || chr(27) as account, 'Paid' || chr(1) || 'Search' || chr(65534) as channel, 5 as deals
union all select 'Globex' || chr(11), 'Organic', 7
```

{{ bar_chart(q, x="account", y="deals", series="channel", title="Deals", labels=true) }}

{{ scatter_chart(q, x="deals", y="deals", labels="account") }}
"""


def svg_of(html: str) -> list[str]:
    return re.findall(r'<div class="gtm-chart-static"[^>]*>(.*?)</div>', html, re.S)


def test_control_characters_in_chart_data_are_drawn_not_fatal(site):
    project = site({"reports/index.md": HOSTILE})
    for command in ("check", "build"):
        result = run_gtmsite(command, "--project", project)
        assert result.returncode == 0, result.stderr
    svgs = svg_of(page(project))
    assert len(svgs) == 2 and all(s.startswith("<svg") for s in svgs)
    assert "\ufffdAcme\ufffd" in svgs[1]  # the label, its NUL and ESC shown as replacement characters
    assert "Paid\ufffdSearch\ufffd" in svgs[0]  # the legend
    assert "\x00" not in svgs[0] + svgs[1]


CRASHING = """\
# Crash

```sql q
select 'Acme' as account, 5 as deals
```

{{ bar_chart(q, x="account", y="deals") }}

{{ chart(q, {"mark": {"type": "text", "font": "a<b"}, "encoding": {"text": {"field": "account"}}}) }}

{{ line_chart(q, x="account", y="deals") }}
"""


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_renderer_crash_is_one_located_error_and_nothing_is_published(site, command):
    project = site({"reports/index.md": CRASHING, "reports/other.md": "# Other\n\nText.\n"})
    result = run_gtmsite(command, "--project", project)
    assert result.returncode == 1, (result.returncode, result.stderr)
    # One error, at the chart's call: the charts before and after it were drawn.
    assert [line for line in error_lines(result) if line.startswith("reports/")] == [
        "reports/index.md:9: chart: the chart renderer (vl-convert) crashed on this chart (SIGABRT): look for "
        "unusual values in its arguments, spec or data (a font name with < or &, a very long text, a huge "
        "number) and please report it"]
    assert "panicked" not in result.stdout
    assert not (project / "build" / "latest").exists()


def test_a_chart_that_takes_too_long_stops_its_renderer_only():
    worker = Worker()
    try:
        with pytest.raises(RendererCrashed, match="the chart renderer was stopped"):
            worker.render({"mark": "point"}, timeout=0.01)  # starting vl-convert alone takes longer
        assert not worker.alive
    finally:
        worker.close()
    worker = Worker()
    try:
        assert worker.render({"data": {"values": [{"x": 1}]}, "mark": "point"}).startswith("<svg")
        with pytest.raises(ValueError, match="Vega-Lite"):
            worker.render({"mark": "nonsense"})
        assert worker.alive  # an error is a reply, not a death
    finally:
        worker.close()
