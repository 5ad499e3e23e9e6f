"""A port taken while tritonserver loads its models (it binds only after loading them): the console must not
take another server's answer on that port for its own, and starts again on free ports.

Found by CI: two consoles started at once (two test workers) both saw 8000 free; the second server died on
it while the first answered its readiness probe, so the console connected to a server that was not its own.
"""

from __future__ import annotations

import contextlib
import http.server
import shutil
from pathlib import Path

import pytest

from tests.helpers import free_ports, http_server
from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.server import process as srv
from triton_console.tui.core.server.controller import ServerController

pytestmark = pytest.mark.server


class _Live(http.server.BaseHTTPRequestHandler):
    """Another KServe server's readiness answer: 200 to anything."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _small_repo(repo: Path, tmp: Path) -> Path:
    root = tmp / "small"
    shutil.copytree(repo / "postprocess", root / "postprocess")
    return root


def test_a_server_that_lost_its_port_is_not_ready_though_the_port_answers(repo, tmp_path):
    root = _small_repo(repo, tmp_path)
    http_port, grpc_port, metrics_port = free_ports(3)
    server = srv.ManagedServer(srv.ServerConfig(root, http_port, grpc_port, metrics_port))
    server.start()
    try:
        with http_server(_Live, http_port):  # taken after the check, before tritonserver binds it
            with pytest.raises(ConsoleError, match="before it was ready"):
                server.wait_ready(timeout=120)
            assert server.port_taken()
    finally:
        server.stop()


def test_the_console_starts_again_on_free_ports_when_its_port_was_taken(repo, tmp_path):
    root = _small_repo(repo, tmp_path)
    ports = free_ports(3)
    controller = ServerController(Connection(url=f"127.0.0.1:{ports[1]}"), root, server="bundled")
    controller.server_config = lambda notify: srv.ServerConfig(
        root, *ports, model_control="explicit", load_models=["*"]
    )
    others = contextlib.ExitStack()
    taken: list[int] = []
    notices: list[str] = []

    def first_line(_line: str) -> None:
        # the first start's first log line (tritonserver is loading): its HTTP port goes to another server
        if not taken:
            taken.append(controller.managed.cfg.http_port)
            others.enter_context(http_server(_Live, taken[0]))

    controller.on_log = first_line

    try:
        url = controller.start(lambda message, *_: notices.append(message))
        managed = controller.managed
        assert managed.cfg.http_port != ports[0] and url.endswith(managed.grpc_url)
        assert controller.client.probe()[0], "the console is connected to its own, live server"
        assert any("a port was taken" in n for n in notices), notices
    finally:
        controller.shutdown()
        others.close()
