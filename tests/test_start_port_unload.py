"""A newcomer's trial (2026-12): ``triton-console -u 127.0.0.1:8301 --start`` started its server on random
ports, so headless commands given the same URL guessed the wrong HTTP and metrics ports; ``unload`` said
"unloaded in 0.1 s" while the model was still UNLOADING (a classify then failed "not ready (UNLOADING)").

One managed server, started by the console's controller as ``--start`` does, serves both checks.
"""

from __future__ import annotations

import json
import os
import socket
import time

import psutil
import pytest

from tests.conftest import run_cli
from tests.helpers import free_ports
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.server import process as srv
from triton_console.tui.core.server.controller import ServerController

pytestmark = pytest.mark.server
FINALIZE_S = 1.5  # "lingering" takes this long to unload (its finalize sleeps)

LINGERING = """import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy())])
            for r in requests
        ]

    def finalize(self):
        time.sleep(SECONDS)
"""


def _lingering(root, name: str = "lingering") -> None:
    (root / name / "1").mkdir(parents=True)
    (root / name / "config.pbtxt").write_text(
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
    )
    (root / name / "1" / "model.py").write_text(LINGERING.replace("SECONDS", repr(FINALIZE_S)))


def _three_free_in_a_row() -> int:
    """A port P with P-1, P and P+1 all free (Triton's layout around a gRPC port)."""
    for _ in range(200):
        port = free_ports(1)[0]
        try:
            for p in (port - 1, port, port + 1):
                srv.check_port_free("127.0.0.1", p)
        except Exception:
            continue
        if port + 1 < 65536:
            return port
    raise AssertionError("no three free ports in a row")


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """The controller's own server on ``-u 127.0.0.1:P`` (gRPC), P's neighbours free."""
    root = tmp_path_factory.mktemp("ncb") / "models"
    _lingering(root)
    _lingering(root, "other")
    port = _three_free_in_a_row()
    notices: list[str] = []
    controller = ServerController(Connection(url=f"127.0.0.1:{port}"), root, server="bundled")
    try:
        controller.start(lambda message, *_: notices.append(message))
        yield controller, port, notices
    finally:
        controller.shutdown()


def test_start_binds_the_given_grpc_port_and_http_metrics_beside_it(started):
    controller, port, notices = started
    cfg = controller.managed.cfg
    assert (cfg.http_port, cfg.grpc_port, cfg.metrics_port) == (port - 1, port, port + 1)
    assert not any("not free" in n for n in notices), notices
    # what a headless command given only -u 127.0.0.1:P finds: metrics at P+1, HTTP at P-1
    res = run_cli("status", "-u", f"127.0.0.1:{port}", "--json", timeout=60)
    said = json.loads(res.stdout)
    assert said["capabilities"]["metrics"] and "no metrics endpoint" not in said["notes"], said
    assert TritonClient(f"127.0.0.1:{port - 1}", "http").is_live()


def test_a_taken_port_is_replaced_and_said_in_one_line(tmp_path):
    port = _three_free_in_a_row()
    notices: list[str] = []
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port + 1))
        holder.listen(1)
        controller = ServerController(Connection(url=f"127.0.0.1:{port}"), tmp_path)
        try:
            cfg = controller.server_config(lambda message, *_: notices.append(message))
        finally:
            controller.shutdown()
    assert (cfg.http_port, cfg.grpc_port) == (port - 1, port)
    assert cfg.metrics_port not in (port - 1, port, port + 1)
    assert len(notices) == 1 and "\n" not in notices[0], notices
    assert notices[0] == (
        f"metrics port {port + 1} is not free: tritonserver uses "
        f"HTTP {port - 1}, gRPC {port}, metrics {cfg.metrics_port}"
    )
    # what the Server pane's state line keeps: the holder (this process) and what commands need besides -u
    me = f"pid {os.getpid()} ({psutil.Process().name()})"
    assert controller.start_note == (
        f"metrics port {port + 1} (held by {me}) was taken; it uses HTTP {port - 1}, gRPC {port}, metrics "
        f"{cfg.metrics_port}; commands need -u 127.0.0.1:{port} --metrics-url http://127.0.0.1:{cfg.metrics_port}/metrics"
    )


def test_unload_returns_when_the_model_has_left_unloading(started):
    controller, port, _ = started
    url = f"127.0.0.1:{port}"
    client = TritonClient(url, "grpc")
    assert client.is_model_ready("lingering")
    res = run_cli("unload", "lingering", "-u", url, "--json", timeout=120)
    states = {e.name: e.state for e in client.repository_index().items}
    said = json.loads(res.stdout)
    assert res.returncode == 0 and said["ok"], res.stdout + res.stderr
    assert states["lingering"] not in ("UNLOADING", "READY"), states
    assert said["seconds"] >= FINALIZE_S - 0.1, said  # the real time, finalize included
    assert states["other"] == "READY", states


def test_the_models_pane_unload_waits_too(started):
    """The pane's u calls the same core function (modelcontrol.unload): its outcome comes after UNLOADING."""
    from triton_console.tui.core.client import modelcontrol

    controller, port, _ = started
    client = TritonClient(f"127.0.0.1:{port - 1}", "http")
    t0 = time.monotonic()
    outcome = modelcontrol.unload(client, ["other"])[0]
    states = {e.name: e.state for e in client.repository_index().items}
    assert outcome.ok and states["other"] not in ("UNLOADING", "READY"), (outcome, states)
    assert outcome.seconds >= FINALIZE_S - 0.1 and time.monotonic() - t0 >= FINALIZE_S - 0.1
