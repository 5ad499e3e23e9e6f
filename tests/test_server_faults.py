"""Server faults: a dead stub, models that fail to load, configs that do not parse, servers that hang."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time

import pytest

from tests.conftest import image, run_cli, url_args
from tests.helpers import rows, wait_for, wait_until
from triton_console.tui.core.classify.classifier import classify
from triton_console.tui.core.client.client import STUB_UNHEALTHY, TritonClient
from triton_console.tui.core.server import process as srv
from triton_console.tui.hints import worded

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


def _assert_still_classifies(client: TritonClient) -> None:
    assert classify(client, EFF, image("car.jpg").read_bytes(), 1).top[0].index == 817


def test_killed_stub_gives_clear_state_and_reload_recovers(server):
    """kill -9 of a Python-backend stub: Triton 2.51 reports the instance unhealthy (it does not restart the
    stub itself); the server stays up, the error says so with a hint, and a reload brings the model back."""
    import psutil

    from triton_console.common.errors import ConsoleError

    stubs = [c for c in psutil.Process(server.pid).children() if "postprocess" in " ".join(c.cmdline())]
    assert stubs, "no postprocess stub found"
    stubs[0].kill()
    client = TritonClient(server.grpc_url, timeout=30)

    def refused() -> ConsoleError | None:
        try:
            _assert_still_classifies(client)
        except ConsoleError as exc:
            return exc
        return None

    # the health check notices within a few requests (a fixed sleep and 20 tries before: short under load)
    error = wait_until(refused, 60, "a request refused for the dead stub", interval=0.5)
    assert "not healthy" in error.message and error.code == STUB_UNHEALTHY
    assert "reload the model" in worded(error)  # how the console words that hint
    assert client.is_live()
    client.reload_model("postprocess")  # explicit mode: what l in the Models pane does for a loaded model

    def recovered() -> bool:
        try:
            _assert_still_classifies(client)
            return True
        except ConsoleError:
            return False

    wait_until(recovered, 30, "classification after the reload")


@pytest.fixture(scope="module")
def faulty_server(repo, tmp_path_factory):
    """A repository with one model whose backend does not exist and one whose model.py cannot initialise.

    (A Python model whose model.py is missing entirely stalls tritonserver 2.51's start-up, like an unparsable
    config; that path is covered by the unparsable-config test below.)"""
    root = tmp_path_factory.mktemp("faulty") / "repo"
    shutil.copytree(repo / "postprocess", root / "postprocess")
    (root / "bad_config" / "1").mkdir(parents=True)
    (root / "bad_config" / "config.pbtxt").write_text('name: "bad_config"\nbackend: "no_such_backend"\n')
    (root / "missing_file" / "1").mkdir(parents=True)
    (root / "missing_file" / "config.pbtxt").write_text(
        (repo / "postprocess" / "config.pbtxt").read_text().replace('"postprocess"', '"missing_file"')
    )
    (root / "missing_file" / "1" / "model.py").write_text(
        "import triton_python_backend_utils\n\n\nclass TritonPythonModel:\n    def initialize(self, args):\n"
        "        open('/nonexistent/labels/model.py')\n"
    )
    with srv.ManagedServer(srv.ServerConfig(root, *srv.free_ports(3))) as s:
        s.start()
        s.wait_ready(120)
        yield s


def test_models_that_fail_to_load_show_their_reason(faulty_server):
    res = run_cli("status", *url_args(faulty_server, "http"), "--json")
    assert res.returncode == 0, res.stderr
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert models["postprocess"]["state"] == "READY"
    assert models["missing_file"]["state"] == "UNAVAILABLE" and "model.py" in models["missing_file"]["reason"]
    assert (
        models["bad_config"]["state"] == "UNAVAILABLE" and "no_such_backend" in models["bad_config"]["reason"]
    )

    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.models import ModelsPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=faulty_server.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("3")
            table = app.query_one(ModelsPane).query_one("#index")
            await wait_for(pilot, lambda: "missing_file" in rows(table), 30, "the broken model listed")
            row = [c.plain for c in table.cells("missing_file")]
            assert row[0] == "UNAVAILABLE" and "model.py" in row[3]
            await pilot.press("q")

    asyncio.run(scenario())


def test_unparsable_config_is_reported(tmp_path):
    """A config.pbtxt that does not parse: the server starts, the model is not READY, the log says why."""
    root = tmp_path / "repo"
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "config.pbtxt").write_text('name: "broken"\nbackend: "python"\ninput [ { name: ')
    with srv.ManagedServer(srv.ServerConfig(root, *srv.free_ports(3))) as s:
        s.start()
        s.wait_ready(timeout=60)
        states = {m.name: m.state for m in TritonClient(s.grpc_url).repository_index().items}
        assert states.get("broken") != "READY"
        assert "Error parsing text-format" in s.error_summary()


def test_missing_model_file_stall_ends_with_the_servers_error(tmp_path, repo):
    """tritonserver 2.51 stalls at start-up when a Python model's model.py is missing: the console's wait
    ends at its timeout with the server's own explanation instead of hanging."""
    root = tmp_path / "repo"
    (root / "nofile" / "1").mkdir(parents=True)
    (root / "nofile" / "config.pbtxt").write_text(
        (repo / "postprocess" / "config.pbtxt").read_text().replace('"postprocess"', '"nofile"')
    )
    s = srv.ManagedServer(srv.ServerConfig(root, *srv.free_ports(3)))
    s.start()
    try:
        # the stall begins once the server reaches the model (seconds, or a minute on a loaded machine): a
        # 10 s wait started with the server could end before it had anything to say
        wait_until(
            lambda: any("model file not found" in line for line in s.log),
            180,
            "the server's complaint",
            show=lambda: "\n".join(list(s.log)[-20:]),
        )
        t0 = time.monotonic()
        with pytest.raises(Exception) as info:
            s.wait_ready(timeout=10)
        assert time.monotonic() - t0 < 15
        assert "model file not found" in str(info.value)
    finally:
        s.stop()


def test_hung_server_times_out(tmp_path):
    """A server that accepts connections and never answers: the client gives up, clearly, in time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        for proto, url in (("http", f"http://127.0.0.1:{port}"), ("grpc", f"127.0.0.1:{port}")):
            t0 = time.monotonic()
            res = run_cli("status", "-u", url, "-i", proto, "--timeout", "2", "--json", timeout=60)
            assert res.returncode == 2 and time.monotonic() - t0 < 20, (proto, res.stderr)


def test_a_non_http_answer_on_the_port_is_not_ready_yet(tmp_path):
    """Before Triton binds, the readiness probe may meet anything on its port, even itself (TCP simultaneous
    open on an ephemeral port: it reads back its own 'GET /v2/health/live', which crashed the Server pane's
    start in CI with BadStatusLine): that is "not ready yet", and the wait ends with the usual message."""
    import sys
    import threading

    from triton_console.common.errors import ConsoleError

    fake = tmp_path / "tritonserver"
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    fake.chmod(0o755)
    (tmp_path / "repo").mkdir()
    http, grpc, metrics = srv.free_ports(3)
    s = srv.ManagedServer(
        srv.ServerConfig(tmp_path / "repo", http, grpc, metrics), srv.ServerBinary(str(fake), "flag")
    )
    s.start()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", http))
    listener.listen(8)
    answered = []

    def echo():  # what a self-connected probe reads: its own request line
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(4096)
                conn.sendall(request)
                answered.append(request)

    threading.Thread(target=echo, daemon=True).start()
    try:
        with pytest.raises(ConsoleError, match="not ready after 3 s"):
            s.wait_ready(timeout=3)
        assert answered and answered[0].startswith(b"GET /v2/health/live")
    finally:
        listener.close()
        s.stop()
