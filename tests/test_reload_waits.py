"""``load`` and ``reload`` return when the model serves again, or fail with the server's reason.

Triton answers a load when it is over, so a quick load was always waited for; a load longer than the call
timeout (``--timeout``, 30 s by default: many instances, a large engine) was reported as "timed out" while the
server went on loading, and the model then served (or failed) with no one told. Now the console watches the
server's index until the model is READY or UNAVAILABLE, and says which.
"""

from __future__ import annotations

import json

import pytest

from tests import modelzoo
from tests.helpers import explicit_server

pytestmark = pytest.mark.server
MODEL = "slow_start"
START_S = 3.0  # each load of MODEL takes this long; the commands below give each call 1 s

SOURCE = """import os
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        time.sleep(START_S)
        if os.path.exists(os.path.join(os.path.dirname(__file__), "..", "fail")):
            raise RuntimeError("told to fail by its folder")

    def execute(self, requests):
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy() * 2)])
            for r in requests
        ]
"""


@pytest.fixture(scope="module")
def slow_start(tmp_path_factory, stopping):
    """A server with MODEL, which takes START_S to load (and fails to when its folder holds a file ``fail``)."""
    root = tmp_path_factory.mktemp("slow_start") / "models"
    modelzoo._model(
        root,
        MODEL,
        f'name: "{MODEL}"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n",
        SOURCE.replace("START_S", repr(START_S)),
    )
    with explicit_server(root, stop_in=stopping) as s:
        yield s


def _state(url: str) -> tuple[str, str]:
    from triton_console.tui.core.client.client import TritonClient

    client = TritonClient(url, timeout=30)
    try:
        entry = next(e for e in client.repository_index().items if e.name == MODEL)
        return entry.state, entry.reason
    finally:
        client.close()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_reload_longer_than_the_call_timeout_returns_when_the_model_serves(slow_start, capsys, protocol):
    """Each call may take 1 s, the load 3 s: ``reload`` returned "timed out" while the model was still
    loading; now it says "reloaded" once the model is READY, and a request right after is served."""
    from triton_console.tui.cli import main

    url = f"{protocol}://{slow_start.grpc_url if protocol == 'grpc' else slow_start.http_url}"
    for action in ("reload", "load"):  # a load of a loaded, unchanged model is quick: both end READY
        assert main([action, MODEL, "-u", url, "--timeout", "1", "--json"]) == 0, capsys.readouterr()
        out = json.loads(capsys.readouterr().out)
        assert out["ok"] and out["action"] == action, out
        assert _state(url) == ("READY", ""), out
    assert main(["infer", MODEL, "-u", url, "--input", "X=ones", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["outputs"][0]["values"] == [2.0], said


def test_a_reload_that_fails_after_the_call_timeout_says_the_servers_reason(slow_start, capsys):
    """The load fails after the call's 1 s: "timed out" hid why; now the server's reason is said, and the
    index shows the model UNAVAILABLE with it."""
    from triton_console.tui.cli import main

    url = slow_start.grpc_url
    marker = slow_start.cfg.repository / MODEL / "fail"
    marker.write_text("")
    try:
        assert main(["reload", MODEL, "-u", url, "--timeout", "1"]) == 1
        line = capsys.readouterr().out.strip()
        assert line.startswith(f"{MODEL}: reload failed:") and "told to fail by its folder" in line, line
        assert "timed out" not in line, line
        state, reason = _state(url)
        assert state == "UNAVAILABLE" and "told to fail by its folder" in reason, (state, reason)
    finally:
        marker.unlink()
    assert main(["load", MODEL, "-u", url, "--timeout", "1"]) == 0, capsys.readouterr()
    assert _state(url) == ("READY", "")


def test_dev_reload_longer_than_the_call_timeout_waits_for_the_model(slow_start):
    """`dev` (and the Models pane's watch) on a save: a load longer than the call's timeout gave up with
    "timed out" while the server went on loading; it waits for READY as reload does, then sends the request."""
    from triton_console.tui.commands.common import planner
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.server.devloop import DevLoop

    client = TritonClient(slow_start.grpc_url, timeout=1)
    source = slow_start.cfg.repository / MODEL / "1" / "model.py"
    before = source.read_text()
    try:
        loop = DevLoop(client, MODEL, slow_start.cfg.repository, planner(None, ["X=ones"], 1 << 20))
        source.write_text(before + "\n# saved again\n")  # a changed file: the load takes START_S
        event = loop.reload([f"{MODEL}/1/model.py"])
        assert event.status == "ok" and event.serving and event.reloaded == [MODEL], event
        assert event.result is not None and event.result.outputs[0].values == [2.0], event
    finally:
        source.write_text(before)
        client.close()
