"""`gtmsite build` and `gtmsite check`: what gets written (and what does not), caching, all errors at once."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import article, build_ok, error_lines, page, run_cli, site_root

from gtmsite.errors import BuildFailed
from gtmsite.release import check_site

PIPELINE = """
---
title: Pipeline
---

# Pipeline

```sql by_stage
select stage, count(*) as deals, sum(amount) as amount_usd0
from deals
group by stage
order by stage
```

```checks
by_stage: row_count > 0
```

Total: {{ value(by_stage, "deals") }}

{{ table(by_stage) }}
"""


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (paths relative), leaving out paths starting with `skip`."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)}


def summary_counts(stdout: str) -> tuple[int, int]:
    """(queries run, results from the cache) from the summary line."""
    run = re.search(r"(?:queries: (\d+) run|(\d+) queries run)", stdout)
    cached = re.search(r"(\d+) cached", stdout)
    assert run and cached, stdout
    return int(run.group(1) or run.group(2)), int(cached.group(1))


def test_build_writes_pages_data_and_assets(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    stdout = build_ok(project)
    assert re.search(r"^built 2 pages in [\d.]+ s \(.*\d+ cached; checks: 1 passed, 0 warned, 0 failed\)",
                     stdout, re.M), stdout
    root = site_root(project)
    html = article(page(project, "/pipeline/"))
    assert '<span class="gtm-value">1</span>' in html
    assert "<td" in html and "$3,400" in html  # Closed Won: 1200 + 2200, formatted by the _usd0 suffix
    data = (root / "_data" / "pipeline" / "by_stage.csv").read_text()
    assert list(csv.reader(io.StringIO(data))) == [
        ["stage", "deals", "amount_usd0"], ["Closed Lost", "1", "400"], ["Closed Won", "2", "3400"],
        ["Proposal", "1", "800"]]
    assert 'href="../_data/pipeline/by_stage.csv"' in html or "_data/pipeline/by_stage.csv" in html
    css = [p for p in (project / "build").rglob("_assets/style.*.css")]
    assert css, "the theme's stylesheet is published"


def test_check_writes_nothing(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    before = snapshot(project, skip=(".gtmsite-cache",))
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert re.search(r"^checked 2 pages in [\d.]+ s .*checks: 1 passed, 0 warned, 0 failed\)$", result.stdout, re.M)
    assert snapshot(project, skip=(".gtmsite-cache",)) == before
    assert not (project / "build").exists()


def test_check_reports_errors_and_writes_nothing(site):
    project = site({"reports/index.md": "# Home\n\n```sql q\nselect * from dealz\n```\n"})
    before = snapshot(project, skip=(".gtmsite-cache",))
    assert run_cli("check", "--project", project).exit_code == 1
    assert snapshot(project, skip=(".gtmsite-cache",)) == before


def test_failed_build_leaves_the_previous_output_untouched(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    build_ok(project)
    before = snapshot(project / "build", skip=(".gtmsite.lock",))
    (project / "reports" / "pipeline.md").write_text(PIPELINE.replace("from deals", "from dealz"))
    (project / "reports" / "new.md").write_text("# New page\n")
    result = run_cli("build", "--project", project)
    assert result.exit_code == 1
    assert "nothing was published" in result.stderr
    assert snapshot(project / "build", skip=(".gtmsite.lock",)) == before
    leftovers = [p.name for p in (project / "build").iterdir() if "staging" in p.name or p.name.startswith(".old")]
    assert leftovers == []
    assert [p.name for p in project.iterdir() if "staging" in p.name] == []


def test_second_build_hits_the_cache_and_a_change_misses_it(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    run, cached = summary_counts(build_ok(project))
    assert run >= 1
    run, cached = summary_counts(build_ok(project))
    assert run == 0 and cached >= 1
    assert "Total: <span" in page(project, "/pipeline/")
    # A change of SQL runs that page's queries again and the page shows the new result.
    (project / "reports" / "pipeline.md").write_text(PIPELINE.replace("from deals", "from deals where amount > 500"))
    run, _ = summary_counts(build_ok(project))
    assert run >= 1
    assert "Closed Lost" not in article(page(project, "/pipeline/"))
    # So does a change of the data.
    (project / "sources" / "deals.csv").write_text("id,account,channel,stage,amount,created_at\n"
                                                   "9,Zeta,Organic,Proposal,9000,2026-04-01\n")
    run, _ = summary_counts(build_ok(project))
    assert run >= 1
    assert "$9,000" in article(page(project, "/pipeline/"))


def test_no_cache_runs_everything(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    build_ok(project)
    run, cached = summary_counts(build_ok(project, "--no-cache"))
    assert run >= 1 and cached == 0


def test_every_kind_of_error_in_one_run_with_file_and_line(site):
    project = site({
        "reports/index.md": "# Home\n",
        "reports/pipeline.md": """
            ---
            title: Pipeline
            ---

            # Pipeline

            ```sql pipeline
            select stage, count(*) as deals
            from opportunitiez
            group by all
            ```

            ```sql by_stage
            select stage, sum(amount) as amount from deals group by all
            ```

            ```checks
            by_stage: row_count > 10
            ```

            {{ table(by_stage, columns=["stage", "amout"]) }}
        """,
        "reports/funnel.md": "# Funnel\n\n```checks\ndeals.account: accepted_values [Acme]\n```\n",
    })
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    errors = error_lines(result)
    assert any(e.startswith("reports/pipeline.md:9: query 'pipeline': Catalog Error: Table with name opportunitiez "
                            "does not exist!") for e in errors), errors
    assert "reports/pipeline.md:21: table: column 'amout' is not in query 'by_stage' (columns: stage, amount)" in errors
    assert "reports/pipeline.md:18: check failed: by_stage: row_count > 10 (3 rows)" in errors
    assert ("reports/funnel.md:4: check failed: deals.account: accepted_values [Acme] "
            "(unexpected values: 'Globex', 'Initech', 'Umbrella')") in errors
    assert len(errors) == 4
    assert result.stderr.splitlines()[-1].startswith("4 errors")
    built = run_cli("build", "--project", project)
    assert built.exit_code == 1 and built.stderr.splitlines()[-1] == "4 errors; nothing was published."
    # Nothing published (at most the empty output folder with its lock file).
    assert not (project / "build").exists() or snapshot(project / "build", skip=(".gtmsite.lock",)) == {}


def test_broken_site_toml_exits_2(site):
    project = site({"reports/index.md": "# Home\n", "site.toml": '[site]\ntitle = "x"\n[build]\nworkers = "many"\n'})
    for command in ("check", "build"):
        result = run_cli(command, "--project", project)
        assert result.exit_code == 2
        assert error_lines(result) == ['site.toml:4: [build] workers: expected an integer, got "many"']


def test_output_option(site, tmp_path):
    project = site({"reports/index.md": "# Home {{ 6 * 7 }}\n"})
    out = tmp_path / "elsewhere"
    build_ok(project, "--output", str(out))
    assert not (project / "build").exists()
    index = next(p for p in out.rglob("index.html") if "Home 42" in p.read_text())
    assert index.is_file()


def test_check_site_library_call(site):
    project = site({"reports/index.md": "# Home\n", "reports/pipeline.md": PIPELINE})
    result = check_site(project)
    assert sorted(p.url for p in result.pages) == ["/", "/pipeline/"]
    assert result.check_counts() == {"passed": 1, "warned": 0, "failed": 0}
    assert result.problems == []
    (project / "reports" / "pipeline.md").write_text(PIPELINE.replace("row_count > 0", "row_count > 9"))
    with pytest.raises(BuildFailed) as info:
        check_site(project)
    assert [str(p) for p in info.value.problems] == ["reports/pipeline.md:16: check failed: by_stage: row_count > 9 "
                                                     "(3 rows)"]
    assert info.value.exit_code == 1


def test_source_date_epoch_sets_the_build_time(site):
    project = site({"reports/index.md": "# Home\n"})
    result = run_cli("build", "--project", project, env={"SOURCE_DATE_EPOCH": "1767225600"})  # 2026-01-01 00:00 UTC
    assert result.exit_code == 0, result.output
    versions = json.loads((Path(project) / "build" / "versions.json").read_text())
    assert versions[0]["id"] == "2026-01-01"
    assert versions[0]["created"] == "2026-01-01T00:00:00+00:00"


def test_missing_reports_folder(tmp_path):
    (tmp_path / "site.toml").write_text("")
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 1
    assert error_lines(result) == ["reports/: no reports/ folder: write reports/index.md"]


def test_unreadable_report_file(site):
    project = site({"reports/index.md": b"# caf\xe9\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert line == ("reports/index.md:1: cannot read this file: byte 0xe9 is not UTF-8 (invalid continuation "
                    "byte); save it as UTF-8 text")
