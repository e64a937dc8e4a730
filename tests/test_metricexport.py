"""`gtmsite metrics export --format ossie`: an Apache Ossie semantic model."""

from __future__ import annotations

import json

import yaml
from conftest import run_cli
from metricsite import metrics_site


def test_metrics_export_writes_an_ossie_semantic_model(tmp_path):
    project = metrics_site(tmp_path, {"reports/index.md": "# Home\n"})
    result = run_cli("metrics", "export", "--format", "ossie", "--output", tmp_path / "model.yaml",
                     "--project", project)
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((tmp_path / "model.yaml").read_text())
    assert document["version"] == "0.2.0.dev0" and document["dialects"] == ["ANSI_SQL"]
    (model,) = document["semantic_model"]
    assert model["name"] == "Metrics Site"
    deals = next(d for d in model["datasets"] if d["name"] == "deals")
    assert deals["source"] == "deals"
    assert [(f["name"], f["dimension"]["is_time"]) for f in deals["fields"]] == [
        ("created_at", True), ("close_date", True), ("channel", False), ("segment", False)]
    metrics = {m["name"]: m for m in model["metrics"]}

    def sql(name):
        (dialect,) = metrics[name]["expression"]["dialects"]
        assert dialect["dialect"] == "ANSI_SQL"
        return dialect["expression"]
    assert sql("pipeline") == "SUM(deals.amount)"
    assert sql("win_rate") == ("CAST(COUNT(CASE WHEN deals.is_won THEN 1 END) AS DOUBLE PRECISION) / "
                               "NULLIF(COUNT(CASE WHEN deals.is_closed THEN 1 END), 0)")
    assert sql("cac") == ("CAST(SUM(spend.amount) AS DOUBLE PRECISION) / "
                          "CAST(COUNT(DISTINCT CASE WHEN deals.is_won THEN deals.account END) AS DOUBLE PRECISION)")
    assert metrics["cac"]["description"] == "Marketing spend per new customer."
    (extension,) = metrics["cac"]["custom_extensions"]
    assert extension["vendor_name"] == "GTMSITE"
    assert json.loads(extension["data"]) == {"label": "CAC", "type": "derived", "format": "usd0", "down_is_good": True,
                                             "owner": "Marketing"}
    unknown = run_cli("metrics", "export", "--format", "lookml", "--project", project)
    assert unknown.exit_code == 2 and "--format: expected ossie, got 'lookml'" in unknown.stderr
