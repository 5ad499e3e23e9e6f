"""The Try form shows the call it would copy in a box that wraps at spaces: curl's JSON body, written without
spaces, was folded at 80 columns wherever the width ran out ('"shap' / 'e":[1,8]'). It is written with a space
after each comma and colon now (the same JSON to the server), so it breaks between values."""

from __future__ import annotations

import numpy as np

from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.request import showcall
from triton_console.tui.core.request.infer import InputPlan


def _longest_word(text: str) -> int:
    return max(len(word) for word in text.split())


def test_a_curl_call_breaks_between_values_not_inside_them():
    conn = Connection(url="http://127.0.0.1:8000", protocol="http")
    plans = [
        InputPlan("INPUT0", "FP32", (1, 8), "random", np.arange(8, dtype=np.float32).reshape(1, 8)),
        InputPlan("TEXT", "BYTES", (1,), "typed", np.array([b"a few words"], dtype=np.object_)),
    ]
    call = showcall.make("curl", conn, conn.endpoint(), "a_model", plans, ["OUTPUT0"])
    assert '"shape": [1, 8]' in call.text, call.text
    # the URL is the longest word left; nothing of the body is longer than a third of 80 columns
    body = call.text.split(" -d ", 1)[1]
    assert _longest_word(body) < 27, body
    stream = showcall.make("curl", conn, conn.endpoint(), "a_model", plans[1:], ["OUT"], streaming=True)
    assert _longest_word(stream.text.split(" -d ", 1)[1]) < 27, stream.text


def test_spilled_calls_stay_a_day_and_older_ones_go_when_the_next_is_made(tmp_path, monkeypatch):
    """A call too large to show (the Try form's ^y on an image) went to a folder in /tmp said to be
    "temporary", which nothing removed: a newcomer found them after quitting, days old."""
    import os
    import tempfile
    import time

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old, recent = tmp_path / f"{showcall.SPILL_PREFIX}old", tmp_path / f"{showcall.SPILL_PREFIX}recent"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "request.json").write_text("{}")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    conn = Connection(url="http://127.0.0.1:8000", protocol="http")
    big = np.zeros((1, 40_000), dtype=np.float32)  # its JSON is over the 64 KiB shown inline
    call = showcall.make(
        "curl",
        conn,
        conn.endpoint(),
        "m",
        [InputPlan("X", "FP32", big.shape, "zeros", big)],
        ["Y"],
        spill=True,
    )
    made = call.files[0].parent
    assert made.parent == tmp_path and made.is_dir()
    assert not old.exists() and recent.exists()
    assert any("kept a day" in note and str(made) in note for note in call.notes), call.notes
