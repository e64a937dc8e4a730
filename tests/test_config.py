"""site.toml: a frozen Config with defaults; every error collected, each naming the file, key and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import error_lines, make_site, run_cli

from gtmsite.config import Config, SiteCheck, load_config, refresh_seconds
from gtmsite.errors import BuildFailed


def config_errors(tmp_path: Path, toml: str) -> list[str]:
    make_site(tmp_path, {"site.toml": toml, "reports/index.md": "# Hi\n"})
    with pytest.raises(BuildFailed) as info:
        load_config(tmp_path)
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


def test_defaults_without_site_toml(tmp_path):
    make_site(tmp_path, {"reports/index.md": "# Hi\n"})
    config = load_config(tmp_path)
    assert config.project == tmp_path.resolve()
    assert (config.title, config.base_url, config.theme, config.show_sql) == ("GTM Analytics", "/", "default", False)
    assert (config.output, config.workers, config.keep, config.label) == ("build", 0, 0, "")
    assert config.checks == () and config.external_sources == ()
    assert config.output_dir == tmp_path.resolve() / "build"
    assert config.worker_count >= 1


def test_empty_site_toml_gives_defaults(tmp_path):
    make_site(tmp_path, {"site.toml": "", "reports/index.md": "# Hi\n"})
    assert load_config(tmp_path) == Config(project=tmp_path.resolve())


def test_values_are_read(tmp_path):
    make_site(tmp_path, {"site.toml": """
        [site]
        title = "Revenue"
        description = "All of it"
        show_sql = true

        [build]
        output = "public"
        workers = 3

        [versions]
        keep = 5
        label = "nightly"
    """})
    config = load_config(tmp_path)
    assert (config.title, config.description, config.show_sql) == ("Revenue", "All of it", True)
    assert (config.output, config.workers, config.worker_count) == ("public", 3, 3)
    assert (config.keep, config.label) == (5, "nightly")
    assert config.output_dir == tmp_path.resolve() / "public"


def test_config_is_frozen(tmp_path):
    make_site(tmp_path, {"site.toml": "[site]\ntitle = 'x'\n"})
    config = load_config(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(("given", "expected"), [
    ("/", "/"),
    ("/analytics", "/analytics/"),
    ("/analytics/", "/analytics/"),
    ("/a/b//", "/a/b/"),
    ("https://example.com/reports", "https://example.com/reports/"),
])
def test_base_url_is_normalised_to_one_trailing_slash(tmp_path, given, expected):
    make_site(tmp_path, {"site.toml": f'[site]\nbase_url = "{given}"\n'})
    assert load_config(tmp_path).base_url == expected


def test_base_url_must_be_a_path(tmp_path):
    assert config_errors(tmp_path, '[site]\nbase_url = "analytics"\n') == [
        'site.toml:2: [site] base_url: expected a path starting with "/", got "analytics"']


def test_wrong_type_names_file_line_key_and_expectation(tmp_path):
    errors = config_errors(tmp_path, '[site]\ntitle = "ok"\n\n[build]\nworkers = "many"\n')
    assert errors == ['site.toml:5: [build] workers: expected an integer, got "many"']


def test_every_error_is_collected(tmp_path):
    errors = config_errors(tmp_path, """
        [site]
        title = 3
        show_sql = "yes"
        colour = "red"

        [build]
        workers = "many"

        [versions]
        keep = -1
        label = true
    """)
    assert errors == [
        "site.toml:2: [site] title: expected a string, got 3",
        'site.toml:3: [site] show_sql: expected true or false, got "yes"',
        "site.toml:4: [site] colour: unknown key (known keys: title, description, base_url, theme, show_sql, url, "
        "search)",
        'site.toml:7: [build] workers: expected an integer, got "many"',
        "site.toml:11: [versions] label: expected a string, got true",
        "site.toml:10: [versions] keep: expected a number >= 0, got -1",
    ]


def test_boolean_is_not_an_integer(tmp_path):
    assert config_errors(tmp_path, "[build]\nworkers = true\n") == [
        "site.toml:2: [build] workers: expected an integer, got true"]


def test_unknown_section(tmp_path):
    errors = config_errors(tmp_path, '[site]\ntitle = "x"\n\n[deploy]\ntarget = "s3"\n')
    assert errors == ["site.toml:4: deploy: unknown section (known sections: site, build, versions, sources, checks)"]


def test_unknown_section_line_is_the_section_header_not_a_key_of_the_same_name(tmp_path):
    # `theme = ...` in [site] mentions the word before the unknown [theme] section does.
    errors = config_errors(tmp_path, '[site]\ntheme = "default"\n\n[theme]\ndark = true\n')
    assert errors == ["site.toml:4: theme: unknown section (known sections: site, build, versions, sources, checks)"]


def test_section_that_is_not_a_table(tmp_path):
    errors = config_errors(tmp_path, 'site = "x"\n')
    assert errors == ['site.toml:1: site: expected a table [site], got "x"']


def test_missing_theme_folder(tmp_path):
    errors = config_errors(tmp_path, '[site]\ntheme = "corporate"\n')
    assert errors == ['site.toml:2: [site] theme: no folder themes/corporate/ (use "default" or create it)']


def test_theme_folder_that_exists(tmp_path):
    make_site(tmp_path, {"site.toml": '[site]\ntheme = "corporate"\n', "themes/corporate/static/x.css": ""})
    assert load_config(tmp_path).theme == "corporate"


def test_site_checks(tmp_path):
    make_site(tmp_path, {"site.toml": """
        [[checks]]
        table = "deals"
        check = "row_count > 0"

        [[checks]]
        table = "deals.amount"
        check = "not_null"
        warn = true
    """})
    assert load_config(tmp_path).checks == (
        SiteCheck("deals", "row_count > 0", False, 1),
        SiteCheck("deals.amount", "not_null", True, 5),
    )


def test_site_check_errors(tmp_path):
    errors = config_errors(tmp_path, """
        [[checks]]
        table = "deals"
        chek = "row_count > 0"

        [[checks]]
        table = 3
        check = "row_count > 0"
    """)
    assert errors == [
        "site.toml:1: [[checks]] #1 chek: unknown key (known keys: table, check, warn)",
        "site.toml:1: [[checks]] #1: missing key check",
        "site.toml:5: [[checks]] #2 table: expected a table name, got 3",
    ]


def test_site_check_grammar_is_a_configuration_error(tmp_path):
    errors = config_errors(tmp_path, """
        [[checks]]
        table = "deals"
        check = "row_count > 0"

        [[checks]]
        table = "deals"
        check = "looks fine"
    """)
    assert errors == [
        "site.toml:5: check 'deals: looks fine': expected `TABLE: row_count > N`, `TABLE: row_count change < N%` or "
        "`TABLE.COLUMN: CHECK` where CHECK is not_null, unique, min >= N, max <= N, accepted_values [a, b], "
        "freshness < N days, change < N% or anomaly"]


def test_external_source_errors(tmp_path):
    errors = config_errors(tmp_path, """
        [sources.crm]
        url = 5
        kind = "x"

        [sources.warehouse]
        type = "oracle"
    """)
    assert errors == [
        'site.toml:2: [sources.crm] url: expected a URL or "env:VARIABLE", got 5',
        "site.toml:3: [sources.crm] kind: unknown key (known keys: url, refresh, type)",
        "site.toml:5: [sources.warehouse]: missing key url",
        'site.toml:6: [sources.warehouse] type: expected one of duckdb, sqlite, postgres, mysql, spark, sqlalchemy, '
        'got "oracle"',
    ]


def test_source_refresh_names_and_passwords(tmp_path):
    errors = config_errors(tmp_path, """
        [sources.crm]
        url = "postgresql://analyst:hunter2secret@db.internal:5432/crm"
        refresh = "weekly"

        [sources.sales-db]
        url = "env:SALES_URL"

        [sources.main]
        url = "x.duckdb"
    """)
    assert errors == [
        'site.toml:3: [sources.crm] refresh: expected "always", "manual" or a duration such as "30m", "6h", "1d", '
        'got "weekly"',
        'site.toml:2: [sources.crm] url: holds a password; site.toml is not the place for secrets: put the URL in an '
        'environment variable and write url = "env:CRM_URL"',
        "site.toml:5: [sources.sales-db]: the name is a schema name: use letters, digits and _ (e.g. [sources.crm])",
        "site.toml:8: [sources.main]: main is a name DuckDB keeps for itself; choose another (e.g. [sources.crm])",
    ]
    assert not any("hunter2secret" in e for e in errors)


def test_source_defaults(tmp_path):
    (tmp_path / "site.toml").write_text('[sources.crm]\nurl = "env:CRM_URL"\n\n[sources.old]\nurl = "x.db"\n'
                                        'type = "sqlite"\nrefresh = "6h"\n')
    crm, old = load_config(tmp_path).external_sources
    assert (crm.name, crm.url, crm.type, crm.refresh, crm.line) == ("crm", "env:CRM_URL", "", "always", 1)
    assert (old.type, old.refresh, refresh_seconds(old.refresh)) == ("sqlite", "6h", 21600)
    assert refresh_seconds("always") == 0 and refresh_seconds("manual") is None and refresh_seconds("30m") == 1800


def test_checks_that_are_not_a_list(tmp_path):
    assert config_errors(tmp_path, 'checks = "row_count > 0"\n') == [
        "site.toml:1: checks: expected [[checks]] entries with table and check keys"]


def test_broken_toml(tmp_path):
    errors = config_errors(tmp_path, '[site\ntitle = "x"\n')
    assert errors == ["site.toml:1: not valid TOML: Expected ']' at the end of a table declaration "
                      "(at line 1, column 6)"]
    errors = config_errors(tmp_path, '[site]\ntitle = "x"\nshow_sql = yes\n')
    assert errors == ["site.toml:3: not valid TOML: Invalid value (at line 3, column 12)"]


def test_not_a_project(tmp_path):
    with pytest.raises(BuildFailed) as info:
        load_config(tmp_path)
    assert info.value.exit_code == 2
    assert "not a gtmsite project" in info.value.problems[0].message
    assert "gtmsite init" in info.value.problems[0].message


def test_cli_exit_2_for_broken_toml_without_traceback(tmp_path):
    make_site(tmp_path, {"site.toml": "[site\n", "reports/index.md": "# Hi\n"})
    for command in ("build", "check"):
        result = run_cli(command, "--project", tmp_path)
        assert result.exit_code == 2, result.output
        assert error_lines(result)[0].startswith("site.toml:1: not valid TOML: ")
        assert "Traceback" not in result.output
    assert not (tmp_path / "build").exists()


def test_cli_exit_2_for_config_errors(tmp_path):
    make_site(tmp_path, {"site.toml": '[build]\nworkers = "many"\n', "reports/index.md": "# Hi\n"})
    result = run_cli("check", "--project", tmp_path)
    assert result.exit_code == 2
    assert error_lines(result) == ['site.toml:2: [build] workers: expected an integer, got "many"']


def test_output_that_is_a_file(tmp_path):
    assert config_errors(tmp_path, '[build]\noutput = "site.toml"\n') == [
        "site.toml:2: [build] output: expected a folder, but site.toml is a file; choose another path"]
    assert config_errors(tmp_path, '[build]\noutput = "reports/index.md/site"\n') == [
        "site.toml:2: [build] output: expected a folder, but reports/index.md is a file; choose another path"]


@pytest.mark.parametrize("output", ["sources/site", "sources", "reports/out", "themes/x/build", "."])
def test_output_inside_the_projects_inputs_is_refused(tmp_path, output):
    """The next build would read the published site as input (its CSVs as tables, its pages as reports)."""
    errors = config_errors(tmp_path, f'[site]\ntitle = "T"\n\n[build]\noutput = "{output}"\n')
    assert len(errors) == 1
    assert errors[0].startswith(f'site.toml:5: [build] output: "{output}" is inside ')
    assert "which gtmsite reads as input" in errors[0]


def test_output_option_inside_the_projects_inputs_is_a_usage_error(tmp_path):
    make_site(tmp_path, {"reports/index.md": "# Hi\n", "sources/deals.csv": "id\n1\n"})
    result = run_cli("build", "--project", tmp_path, "--output", tmp_path / "sources" / "site")
    assert result.exit_code == 2, result.output
    assert "--output:" in result.stderr and "inside the project's sources/" in result.stderr
    assert not (tmp_path / "sources" / "site").exists()


def test_a_label_too_long_for_a_folder_name_is_a_usage_error(tmp_path):
    errors = config_errors(tmp_path, f'[versions]\nlabel = "{"x" * 300}"\n')
    assert errors == ["site.toml:2: [versions] label: 300 characters long; at most 100 are allowed (it names each "
                      "version's folder): use a shorter one"]
    make_site(tmp_path, {"site.toml": "", "sources/deals.csv": "id\n1\n"})
    result = run_cli("build", "--project", tmp_path, "--label", "y" * 300)
    assert result.exit_code == 2, result.output
    assert "--label: the label is 300 characters long; at most 100" in result.stderr
    assert not (tmp_path / "build").exists()


def test_site_url_gets_one_trailing_slash(tmp_path):
    make_site(tmp_path, {"site.toml": '[site]\nurl = "https://acme.gitlab.io/gtm"\n'})
    assert load_config(tmp_path).url == "https://acme.gitlab.io/gtm/"


def test_site_url_must_be_an_http_address(tmp_path):
    assert config_errors(tmp_path, '[site]\ntitle = "x"\nurl = "acme.gitlab.io/gtm"\n') == [
        'site.toml:3: [site] url: expected an address such as "https://acme.gitlab.io/gtm/", got "acme.gitlab.io/gtm"']
