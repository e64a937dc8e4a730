"""Issue 9, item 23: what used to pass silently is a located warning, and `--strict` makes it an error:
broken internal links, unknown front matter keys, a `pages:` query with no rows, `big_value` on many
rows without `agg`."""

from __future__ import annotations

from conftest import build_ok, error_lines, page, run_cli

LINKS = """\
# Links

[home](/) [pipeline](/pipeline/) [relative](pipeline/) [no slash](/pipeline) [anchor](#links)
[elsewhere](https://example.com/x/) [mail](mailto:a@example.com) [data](/_data/index/q.csv)
[gone](/pipline/)
[report file](pipeline.md)
[up and out](../../nowhere/)
"""


def warning_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("reports/")]


def test_broken_internal_links_are_located_warnings(site):
    project = site({"reports/index.md": LINKS, "reports/pipeline.md": "# Pipeline\n"})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert warning_lines(result) == [
        "reports/index.md:5: link '/pipline/' points to no page of this site (/pipline/); did you mean '/pipeline/'?",
        "reports/index.md:6: link 'pipeline.md' names a report file, not a page; link to the page, '/pipeline/'",
        "reports/index.md:7: link '../../nowhere/' points to no page of this site (/nowhere/); fix or remove the link",
    ]
    assert 'href="pipline/"' in page(project)  # a warning: the page is still published


def test_links_made_by_a_templated_report_are_checked_on_each_page(site):
    project = site({
        "reports/index.md": "# Home\n",
        "reports/channels/[channel].md": "---\npages: select distinct channel from deals order by 1\n---\n\n"
                                         "[{{ params.channel }} deals](/deals/{{ slug(params.channel) }}/)\n",
    })
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert "reports/channels/[channel].md: link '/deals/organic/' points to no page of this site (/deals/organic/); " \
           "did you mean '/channels/organic/'? (on page /channels/organic/)" in result.stderr


def test_an_unknown_front_matter_key_suggests_the_known_one(site):
    project = site({"reports/index.md": "---\ntitle: Home\nordr: 2\n---\n\n# Home\n"})
    result = run_cli("check", "--project", project)
    assert result.exit_code == 0, result.output
    assert warning_lines(result) == [
        "reports/index.md:3: front matter: unknown key 'ordr' (did you mean 'order'? known keys: description, "
        "hidden, order, pages, show_sql, title)",
    ]


def test_a_pages_query_with_no_rows_is_a_warning(site):
    project = site({
        "reports/index.md": "# Home\n",
        "reports/regions/[region].md": "---\ntitle: Region\npages: select channel as region from deals where false\n"
                                       "---\n\n# {{ params.region }}\n",
    })
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert warning_lines(result) == [
        "reports/regions/[region].md:3: pages: the query returned no rows, so this report makes no page",
    ]


def test_big_value_on_many_rows_without_agg_is_a_warning(site):
    project = site({"reports/index.md": "# Home\n\n```sql q\nselect amount from deals\n```\n\n"
                                        "{{ big_value(q, value='amount') }}\n\n"
                                        "{{ big_value(q, value='amount', agg='sum') }}\n"})
    result = run_cli("build", "--project", project)
    assert result.exit_code == 0, result.output
    assert warning_lines(result) == [
        "reports/index.md:7: big_value: query 'q' has 4 rows and no agg is given, so only the first row's amount is "
        "shown; add agg=\"sum\" (or avg, min, max, count, first, last), or make the query return one row",
    ]


def test_warnings_are_said_again_on_the_next_build(site):
    project = site({"reports/index.md": "# Home\n\n[gone](/nowhere/)\n"})
    for _ in range(2):
        result = run_cli("build", "--project", project)
        assert result.exit_code == 0, result.output
        assert "reports/index.md:3: link '/nowhere/'" in result.stderr


def test_strict_makes_report_warnings_errors_and_publishes_nothing(site):
    project = site({"reports/index.md": "---\nordr: 1\n---\n\n# Home\n\n[gone](/nowhere/)\n\n```checks\n"
                                        "warn: deals: row_count > 100\n```\n"})
    for command in ("check", "build"):
        result = run_cli(command, "--project", project, "--strict")
        assert result.exit_code == 1, result.output
        assert error_lines(result) == [
            "reports/index.md:10: check warning: deals: row_count > 100 (4 rows)",
            "reports/index.md:2: front matter: unknown key 'ordr' (did you mean 'order'? known keys: description, "
            "hidden, order, pages, show_sql, title) (a warning; --strict makes it an error)",
            "reports/index.md:7: link '/nowhere/' points to no page of this site (/nowhere/); fix or remove the link "
            "(a warning; --strict makes it an error)",
        ]
        assert result.stderr.rstrip().endswith("2 errors; nothing was published.")
    assert not (project / "build" / "latest").exists()
    build_ok(project)  # without --strict the same site builds, with its warnings


def test_strict_passes_a_site_without_report_warnings(site):
    project = site({"reports/index.md": "# Home\n\n```checks\nwarn: deals: row_count > 100\n```\n"})
    result = run_cli("build", "--project", project, "--strict")
    assert result.exit_code == 0, result.output
    assert "check warning: deals: row_count > 100 (4 rows)" in result.stderr
