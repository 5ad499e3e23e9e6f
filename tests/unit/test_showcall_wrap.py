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
