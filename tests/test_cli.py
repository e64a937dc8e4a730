"""The command line: init, query, exit codes, quiet output, and no tracebacks without --debug."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import article, error_lines, page, run_cli, run_gtmsite, site_root

import gtmsite.cli


def test_init_makes_a_project_that_builds(tmp_path):
    target = tmp_path / "reports-site"
    result = run_cli("init", target)
    assert result.exit_code == 0, result.output
    assert f"created a gtmsite project in {target}" in result.stdout
    assert (target / "site.toml").is_file()
    assert list((target / "reports").rglob("*.md")) and list((target / "sources").iterdir())
    built = run_cli("build", "--project", target)
    assert built.exit_code == 0, built.output
    assert "checks: " in built.stdout and " 0 failed" in built.stdout
    home = page(target)
    assert "<h1" in home and "gtm-error" not in home
    # The scaffold shows a templated section: its pages exist and the home page links to them.
    channel_pages = [p for p in site_root(target).glob("channels/*/index.html")]
    assert channel_pages


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli("init", tmp_path)
    assert result.exit_code == 2
    assert "the folder is not empty; choose another or pass --force" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert run_cli("init", tmp_path, "--force").exit_code == 0
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "site.toml").exists()


def test_query_prints_a_table(site):
    project = site()
    result = run_cli("query", "select channel, count(*) as deals, sum(amount) as amount from deals "
                              "group by 1 order by 1", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "channel      deals  amount",
        "-----------  -----  ------",
        "Organic          1     800",
        "Paid Search      2   1,600",
        "Partner          1   2,200",
        "(3 rows)",
    ]


def test_query_limit_and_csv(site):
    project = site()
    result = run_cli("query", "select id from deals order by id", "--project", project, "--limit", "2")
    assert result.stdout.splitlines() == ["id", "--", " 1", " 2", "(4 rows (showing 2; use --limit 0 for all))"]
    result = run_cli("query", "select id, account from deals order by id limit 2", "--project", project, "--csv")
    assert result.stdout == "id,account\n1,Acme\n2,Globex\n"


def test_query_error_exits_1_with_the_message(site):
    project = site()
    result = run_cli("query", "select * from dealz", "--project", project)
    assert result.exit_code == 1
    assert result.stderr.startswith("query: Catalog Error: Table with name dealz does not exist!")
    assert "Traceback" not in result.output


def test_not_a_project_exits_2(tmp_path):
    result = run_cli("build", "--project", tmp_path)
    assert result.exit_code == 2
    assert "not a gtmsite project: no site.toml and no reports/ folder (run `gtmsite init` to create one)" \
        in result.stderr


def test_usage_errors_exit_2(site):
    assert run_cli("bild").exit_code == 2
    assert run_cli("build", "--workers", "3").exit_code == 2
    assert run_cli("query").exit_code == 2


def test_version_and_help():
    assert re.fullmatch(r"gtmsite \d+\.\d+\.\d+\n", run_cli("--version").stdout)
    help_text = run_cli("--help").stdout
    for command in ("init", "build", "check", "query"):
        assert command in help_text


def test_progress_is_shown_on_a_terminal_and_quiet_in_ci(site):
    project = site({"reports/index.md": "# Home\n"})
    loud = run_cli("check", "--project", project, env={"CI": ""})
    assert loud.exit_code == 0
    assert "1 reports, 1 pages" in loud.stderr
    for quiet in (run_cli("check", "--project", project, env={"CI": "true"}),
                  run_cli("check", "--project", project, "--quiet", env={"CI": ""})):
        assert quiet.exit_code == 0
        assert quiet.stderr == ""
        assert quiet.stdout.startswith("checked 1 pages")


def test_unexpected_error_has_no_traceback_without_debug(site, monkeypatch):
    project = site({"reports/index.md": "# Home\n"})

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gtmsite.cli, "check_site", broken)
    result = run_cli("check", "--project", project)
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.output
    debug = run_cli("check", "--project", project, "--debug")
    assert isinstance(debug.exception, RuntimeError)


# -- the installed command, as a real process ---------------------------------------------------------


def test_subprocess_exit_codes_and_messages(site):
    command = "build"
    project = site({"reports/index.md": "# Home\n\n```sql q\nselect * from dealz\n```\n"})
    failed = run_gtmsite(command, "--project", project)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[0].startswith(
        "reports/index.md:4: query 'q': Catalog Error: Table with name dealz does not exist!")
    assert "Traceback" not in failed.stderr
    (project / "site.toml").write_text("[site\n")
    broken = run_gtmsite(command, "--project", project)
    assert broken.returncode == 2
    assert broken.stderr.startswith("site.toml:1: not valid TOML: ")
    assert "Traceback" not in broken.stderr


def test_subprocess_init_build_and_query(tmp_path):
    created = run_gtmsite("init", "demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "demo"
    built = run_gtmsite("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built ")
    assert "<h1" in article(page(project))
    queried = run_gtmsite("query", "select count(*) as n from deals", cwd=project)
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout.splitlines()[0].strip() == "n"
    checked = run_gtmsite("check", "--project", project)
    assert checked.returncode == 0 and error_lines(checked) == []


def test_query_with_a_time_zone_column(site):
    result = run_cli("query", "select timestamptz '2026-01-20 12:00:00+02' as at;", "--project", site())
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2] == "2026-01-20 10:00"


def _help(*command: str) -> str:
    """The help text as one line of words (without the box drawing and line breaks of rich's layout)."""
    text = run_cli(*command, "--help", env={"COLUMNS": "100"}).stdout
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_option_help_is_printed_whole():
    """rich reads "[build]" as markup and drops it ("Publish here instead of  output.")."""
    assert "Publish here instead of the output folder set in site.toml." in _help("build")
    assert "The published site (default: the output folder set in site.toml)." in _help("versions", "list")
    assert "write nothing (the cache is only read)" in _help("check")


def test_a_wheel_holds_the_scaffolds_gitignore(tmp_path):
    """`pip install .` (a wheel) must carry scaffold/.gitignore, or `gtmsite init` leaves build/ un-ignored."""
    import zipfile

    project_root = Path(gtmsite.cli.__file__).parents[1]
    source = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside pyproject.toml
    shutil.copytree(project_root / "gtmsite", source / "gtmsite", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(project_root / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                            "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("gtmsite-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gtmsite/scaffold/.gitignore" in names
    assert "gtmsite/scaffold/site.toml" in names
    scaffold = {n for n in names if n.startswith("gtmsite/scaffold/")}
    in_source = {f"gtmsite/scaffold/{p.relative_to(project_root / 'gtmsite' / 'scaffold').as_posix()}"
                 for p in (project_root / "gtmsite" / "scaffold").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert scaffold == in_source
