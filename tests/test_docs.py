"""The README keeps up with the code: every command and option a user can type is documented."""

from pathlib import Path

import typer.main

from gtmsite.cli import app
from gtmsite.config import _SCHEMA

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group, prefix=""):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_is_in_the_readme():
    missing = [name for name, _ in commands(typer.main.get_command(app)) if f"gtmsite {name}" not in README]
    assert missing == []


def test_every_option_is_in_the_readme():
    missing = []
    for name, command in commands(typer.main.get_command(app)):
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option not in ("--help", "--debug") and option not in README:
                    missing.append(f"gtmsite {name} {option}")
    assert missing == []


def test_every_site_toml_key_is_in_the_readme():
    missing = [f"[{section}] {key}" for section, keys in _SCHEMA.items() for key in keys
               if f"{key} =" not in README]
    assert missing == []
