"""sources/metrics.yml read and validated once: every mistake at its line, saying what was expected."""

from __future__ import annotations

import pytest
from metricsite import METRICS_YML, build_errors, metrics_site

from gtmsite.metrics import parse_metrics


def test_a_cycle_among_derived_metrics_is_named(tmp_path):
    bad = METRICS_YML + '  a: {type: derived, expr: "b * 2"}\n  b: {type: derived, expr: "a / 2 + cac"}\n'
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    line = bad.splitlines().index('  a: {type: derived, expr: "b * 2"}') + 1
    assert build_errors(project) == [f"sources/metrics.yml:{line}: metrics are computed from each other in a cycle: "
                                "a -> b -> a; one of them must not use the others"]

def test_an_unknown_column_is_an_error_at_its_line_in_metrics_yml(tmp_path):
    bad = METRICS_YML.replace("    expr: amount\n", "    expr: amout\n")
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    errors = build_errors(project)
    line = bad.splitlines().index("    expr: amout") + 1
    assert len(errors) == 1 and errors[0].startswith(f"sources/metrics.yml:{line}: metric 'pipeline': expr: ")
    assert "amout" in errors[0] and "amount" in errors[0]  # DuckDB's "did you mean"

@pytest.mark.parametrize("change, expected", [
    ("  spend: {dataset: spend,", "metric 'spend': unknown dataset 'spnd' (datasets: deals, spend)"),
    ("agg: sum, expr: amount, format: usd0, label: Marketing", "metric 'spend': agg: expected one of sum, count, "
                                                               "count_distinct, avg, min, max, got 'total'"),
    ("    table: spend", "dataset 'spend': table 'spending' is neither a source table nor a model "
                       "(tables: deals, spend)"),
    ('expr: "spend / new_customers"', "metric 'cac': expr: 'new_customer' is not a metric"),
    ("format: pct1, label: Win rate", "metric 'win_rate': unknown key 'fromat' for a ratio metric"),
])
def test_mistakes_in_metrics_yml_name_the_line_and_what_was_expected(tmp_path, change, expected):
    replacements = {"  spend: {dataset: spend,": "  spend: {dataset: spnd,",
                    "agg: sum, expr: amount, format: usd0, label: Marketing":
                        "agg: total, expr: amount, format: usd0, label: Marketing",
                    "    table: spend": "    table: spending",
                    'expr: "spend / new_customers"': 'expr: "spend / new_customer"',
                    "format: pct1, label: Win rate": "fromat: pct1, label: Win rate"}
    bad = METRICS_YML.replace(change, replacements[change])
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"}, metrics=bad)
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if replacements[change].strip() in text)
    errors = build_errors(project)
    assert len(errors) == 1 and errors[0].startswith(f"sources/metrics.yml:{line}: {expected}"), errors

def test_parse_metrics_reports_every_problem_and_keeps_nothing_half_valid():
    catalog, problems = parse_metrics("datasets:\n  d: {table: t}\nmetrics:\n  m: {dataset: d}\n"
                                      "  r: {type: ratio, numerator: m}\n  x: [1]\nextra: 1\n", {"t"})
    assert not catalog
    assert [(p.line, p.message) for p in problems] == [
        (7, "unknown section 'extra': expected datasets or metrics"),
        (4, "metric 'm': expected `agg:` (one of sum, count, count_distinct, avg, min, max)"),
        (5, "metric 'r': a ratio needs `denominator:` (a metric name)"),
        (6, "metric 'x': expected a mapping such as {dataset: ..., agg: sum, expr: ...}"),
    ]

def test_a_yaml_mistake_in_metrics_yml_names_its_line(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"},
                           metrics="datasets:\n  deals: {table: deals\nmetrics: {}\n")
    errors = build_errors(project)
    assert len(errors) == 1 and errors[0].startswith("sources/metrics.yml:3: not valid YAML: "), errors
