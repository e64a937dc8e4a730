"""How charts look: the palette, sizes and Vega-Lite config shared by the chart components (charts.py)
and gtmsite's own drawing of the standard charts (drawing/), which must agree with each other."""

PALETTE = ["#2f6fde", "#f28e2b", "#3ba272", "#e15759", "#8e6bd1", "#edb800", "#17a2b8", "#ff8fb1",
           "#9c755f", "#7f8c9a"]
STATIC_WIDTH = 720
NARROW_WIDTH = 360  # a second static drawing for phones, where the wide one would shrink its labels to 6px
DEFAULT_HEIGHT = 280
CONFIG = {
    "font": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif",
    # Room for the points and labels at the plot's edges, which the SVG would otherwise cut in half.
    "padding": {"top": 8, "right": 12, "bottom": 4, "left": 10},
    "view": {"stroke": None},
    "axis": {"labelColor": "#5b6475", "titleColor": "#5b6475", "gridColor": "#e3e6ec", "domainColor": "#c9ced8",
             "tickColor": "#c9ced8", "labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": 500,
             "labelSeparation": 6, "titlePadding": 8},
    "axisXQuantitative": {"tickCount": {"expr": "ceil(width / 90)"}},  # no crowded money/percent ticks
    "legend": {"labelColor": "#5b6475", "titleColor": "#5b6475", "orient": "bottom", "labelFontSize": 11},
    "range": {"category": PALETTE},
    "bar": {"cornerRadiusEnd": 2},
    "line": {"strokeWidth": 2, "strokeJoin": "round", "strokeCap": "round"},
    "area": {"strokeJoin": "round"},
    # No ARIA label on every bar and point: a chart is one image described as a whole (its description),
    # and its data table is linked; hundreds of labelled marks made pages heavy and screen readers tedious.
    "mark": {"color": PALETTE[0], "aria": False},
}
