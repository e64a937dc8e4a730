"""`gtmsite metrics list` and `gtmsite metrics query`."""

from __future__ import annotations

from conftest import run_cli
from metricsite import metrics_site


def test_metrics_list_and_query_print_the_catalog_and_the_numbers(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"})
    listed = run_cli("metrics", "list", "--project", project)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["name", "label", "type", "format", "dataset", "owner"]
    assert lines[2].split() == ["pipeline", "Pipeline", "created", "simple", "usd0", "deals", "(deals)", "Revenue",
                                "operations"]
    assert ["win_rate", "Win", "rate", "ratio", "pct1", "deals_won", "/", "deals_closed", "-"] in [
        line.split() for line in lines]
    assert lines[-1] == "(7 rows)"
    queried = run_cli("metrics", "query", "win_rate", "cac", "--by", "channel", "--grain", "month",
                      "--project", project)
    assert queried.exit_code == 0, queried.output
    assert queried.stdout.splitlines() == [
        "channel  month       win_rate  cac",
        "-------  ----------  --------  ----",
        "Organic  2026-01-01  –         –",
        "Paid     2026-01-01  100.0%    $500",
        "Organic  2026-02-01  50.0%     $90",
        "Paid     2026-02-01  25.0%     $800",
        "(4 rows)",
    ]
    filtered = run_cli("metrics", "query", "win_rate", "--where", "segment = 'SMB'", "--project", project)
    assert filtered.stdout.splitlines()[2] == "40.0%"  # SMB: deals 1 and 6 won of 1, 2, 3, 6 and 7 closed
    sql = run_cli("metrics", "query", "spend", "--by", "channel", "--sql", "--project", project)
    assert 'sum(amount) as "spend"' in sql.stdout and "group by all" in sql.stdout
    unknown = run_cli("metrics", "query", "spend", "--by", "segment", "--project", project)
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == ("by: dataset 'spend' (of metric 'spend') has no dimension 'segment' "
                                      "(its dimensions: channel)")

def test_metrics_commands_without_metrics_yml_say_so(site):
    result = run_cli("metrics", "list", "--project", site())
    assert result.exit_code == 2
    assert "sources/metrics.yml: no metrics defined" in result.stderr
