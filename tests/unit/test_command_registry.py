"""The command registry is a list of names (a command imports only its own module): every command module
is listed, under its own NAME, and ``parser(only=...)`` builds just that command."""

from pathlib import Path

from triton_console.tui import cli, commands


def test_every_command_module_is_registered_under_its_name():
    with_name = {
        p.stem
        for p in Path(commands.__path__[0]).glob("*.py")
        if "\nNAME = " in p.read_text(encoding="utf-8")
    }
    assert with_name == set(commands.NAMES)
    for name in commands.NAMES:
        assert name == commands.module(name).NAME


def test_one_command_parser_holds_that_command_only():
    def choices(parser):
        return list(next(a for a in parser._actions if a.dest == "command").choices)

    assert choices(cli.parser(only="classify")) == ["classify"]
    assert choices(cli.parser()) == list(commands.NAMES)
