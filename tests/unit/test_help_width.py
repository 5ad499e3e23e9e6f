"""Every ``--help`` fits 80 columns: a newcomer saw ``build --help`` at 100 columns (the backbone choices in the
usage line) and ``bench --help`` at 94 (the mutually exclusive load flags), 2026-12."""

from __future__ import annotations

import pytest

from triton_console.tui import cli
from triton_console.tui.commands import NAMES


def _too_wide(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if len(line) > width]


@pytest.mark.parametrize("name", NAMES)
def test_each_commands_help_fits_80_columns(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    top = cli.parser(only=name)
    sub = next(a for a in top._actions if a.__class__.__name__ == "_SubParsersAction")
    assert _too_wide(sub.choices[name].format_help()) == []


def test_the_top_help_and_the_console_options_fit_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert _too_wide(cli.parser(console=True).format_help()) == []
