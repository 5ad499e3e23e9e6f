"""`status` words the explainer's hints for a command line: "unloaded; l loads it" named the Models pane's key
to someone at a shell prompt."""

from __future__ import annotations

from triton_console.tui.commands.status import _with_hint
from triton_console.tui.core.client.responses import IndexEntry


def test_an_unloaded_model_says_which_command_loads_it():
    out = _with_hint(IndexEntry("nobatch", "1", "UNAVAILABLE", "unloaded"))
    assert out["cause"] == "unloaded" and out["hint"] == "unloaded; triton-console load nobatch loads it"


def test_a_model_never_loaded_names_the_command_not_the_key():
    out = _with_hint(IndexEntry("nobatch", "", "", ""))
    assert out["cause"] == "not-loaded" and "triton-console load nobatch" in out["hint"]
    assert "Models pane" not in out["hint"]
