"""Faults under load (issue 26): a model whose stub dies, or a server that dies, under a running bench ends
the run within its deadline with its errors counted by kind; the model shows as unhealthy while Triton says
READY; ``reload`` brings it back; the rate mode times requests from when they were due.

Kills happen on servers of this module's own, never on the session's shared ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import time

import psutil
import pytest

from tests import modelzoo
from tests.conftest import CLI, EXPECTED, ROOT, image, run_cli
from tests.helpers import explicit_server, lines_of, rows, wait_for, wait_until
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.server import process as srv

pytestmark = pytest.mark.server
FUSED = "fused_python_efficientnet_lite0"
SLOW_S = 0.02  # "slow": one instance, 20 ms per execution
SLOWER_S = 0.2  # "slower": 200 ms, for the rate test (5 requests per second at most)


@pytest.fixture(scope="module")
def faults(repo, tmp_path_factory, stopping):
    """The fused EfficientNet model (one Python stub does it all) and two sleepy numpy models; stopped beside
    the session's servers at the end (SIGTERM to exit took ~5 s of the module's time)."""
    root = tmp_path_factory.mktemp("faults") / "models"
    shutil.copytree(repo / FUSED, root / FUSED)
    modelzoo.slow_model(root, "slow", SLOW_S)
    modelzoo.slow_model(root, "slower", SLOWER_S)
    with explicit_server(root, stop_in=stopping) as s:
        yield s


def _stub(server: srv.ManagedServer, model: str) -> psutil.Process:
    """The Python-backend stub serving ``model`` (its argv names the model's folder; stubs killed earlier
    linger as zombies until the server reaps them)."""
    found = []
    for c in psutil.Process(server.pid).children(recursive=True):
        try:
            line = " ".join(c.cmdline())
        except psutil.Error:
            continue
        if "triton_python_backend_stub" in line and f"/{model}/" in line:
            found.append(c)
    assert found, f"no stub for {model}"
    return found[0]


def _bench(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "bench", "-u", url, "--json", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _served(client: TritonClient, model: str) -> int:
    items = client.model_statistics(model).items
    return sum(s.duration("success")[0] for s in items)


def _under_way(client: TritonClient, model: str, n: int = 30) -> None:
    """Until the server has answered ``n`` of the bench's requests (its warm-up and start are behind it)."""
    wait_until(lambda: _served(client, model) >= n, 120, f"{n} requests to {model} served")


def test_stub_killed_under_bench_ends_unhealthy_then_reload_recovers(faults):
    """kill -9 of the fused model's stub under a concurrency-8 bench: the bench ends within its deadline with
    the errors counted by kind and exits 1; status --probe names the model unhealthy though Triton says READY
    and names the command that cures it; reload does, and the next classify is right."""
    url = faults.grpc_url
    client = TritonClient(url, timeout=30)
    bench = _bench(url, str(image("car.jpg")), "-m", FUSED, "--concurrency", "8", "--requests", "100000")
    try:
        _under_way(client, FUSED)
        _stub(faults, FUSED).kill()
        killed = time.monotonic()
        out, err = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
    ended = time.monotonic() - killed
    step = json.loads(out)
    # the deadline is 10x the warm p99, at least 5 s: the run ends within it (plus the in-flight requests')
    assert ended < step["deadline_s"] + 20, (ended, step)
    assert bench.returncode == 1, err
    kinds = step["errors_by_kind"]
    assert step["errors"] > 0 and kinds["server error"] > 0 and kinds["connection"] == 0, step
    assert sum(kinds.values()) == step["errors"]
    assert "not healthy" in step["first_error_by_kind"]["server error"]
    assert "stub is not healthy" in step["stopped"] and step["not_sent"] > 90000

    # classify of a folder: the first image meets the dead stub, the rest are not sent (each would wait ~1 s)
    res = run_cli("classify", str(image("car.jpg").parent), "-m", FUSED, "-u", url, timeout=120)
    lines = res.stdout.splitlines()
    assert res.returncode == 1 and len(lines) == 3, res.stdout + res.stderr
    assert "not healthy" in lines[0] and "triton-console reload MODEL" in lines[0]
    assert all("not sent:" in line for line in lines[1:]), lines

    res = run_cli("status", "-u", url, "--probe", "-m", FUSED, "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    model = {m["name"]: m for m in json.loads(res.stdout)["models"]}[FUSED]
    assert model["state"] == "READY"  # what Triton says
    assert model["health"]["state"] == "unhealthy" and "not healthy" in model["health"]["reason"]
    assert model["probe"]["ok"] is False and model["probe"]["unhealthy"] is True
    assert f"triton-console reload {FUSED}" in model["hint"]
    text = run_cli("status", "-u", url, "--probe", "-m", FUSED, timeout=120)
    assert "UNHEALTHY: unhealthy since" in text.stdout and "probe: unhealthy:" in text.stdout

    res = run_cli("reload", FUSED, "-u", url, "--json", timeout=180)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {
        **json.loads(res.stdout),
        "model": FUSED,
        "action": "reload",
        "ok": True,
    }
    res = run_cli("classify", str(image("mug.jpg")), "-m", FUSED, "-u", url, "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["top"][0]["index"] == EXPECTED["mug.jpg"][0]
    res = run_cli("status", "-u", url, "--probe", "-m", FUSED, "--json", timeout=120)
    model = {m["name"]: m for m in json.loads(res.stdout)["models"]}[FUSED]
    assert res.returncode == 0 and model["probe"]["ok"] and model["health"] is None, res.stdout


def test_load_unload_reload_commands(faults):
    """Explicit model control without the console: the same one-line outcomes as the pane, --json per model,
    exit 1 with the server's reason for a model that is not in the repository."""
    url = faults.http_url
    res = run_cli("unload", "slower", "-u", url, "-i", "http", timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("slower: unloaded in "), res.stdout + res.stderr
    client = TritonClient(url, "http")
    wait_until(lambda: not client.is_model_ready("slower"), 30, "slower unloaded")
    res = run_cli("load", "slower", "no_such_model", "-u", url, "-i", "http", "--json", timeout=120)
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 1
    assert lines[0]["ok"] and lines[0]["model"] == "slower" and client.is_model_ready("slower")
    assert not lines[1]["ok"] and "no_such_model" in lines[1]["error"]


def test_rate_latency_counts_from_the_due_time(faults):
    """--rate above what the model can do (one instance, 200 ms each: 5/s) at 10/s: requests queue in the
    client, and their latency must include that wait (coordinated omission otherwise), and be counted late.

    The last of N requests is due at (N-1)/rate and cannot finish before N x 200 ms: its latency is at least
    N x 0.2 - (N-1)/10 = 3.1 s for N = 30. Timed from when a worker picked it up, it would be at most about
    the 11 workers' share, 11 x 0.2 = 2.2 s."""
    n = 30
    res = run_cli(
        "bench", "-u", faults.grpc_url, "-m", "slower", "--rate", "10", "--requests", str(n), "--warmup", "0",
        "--json", timeout=180,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    step = json.loads(res.stdout)["steps"][0]
    floor_ms = (n * SLOWER_S - (n - 1) / 10) * 1000
    assert step["count"] == n and step["errors"] == 0
    assert step["latency_ms"]["p99"] >= 0.9 * floor_ms, step
    assert step["late"] >= n // 3, step


def test_request_past_its_deadline_is_a_timeout_and_the_run_ends(faults):
    """--timeout shorter than the model takes (200 ms): each request is cancelled at its deadline and counted
    as a timeout; once every worker has timed out in a row the run stops sending and ends, exit 1."""
    t0 = time.monotonic()
    res = run_cli(
        "bench", "-u", faults.grpc_url, "-m", "slower", "--concurrency", "2", "--requests", "1000", "--warmup", "0",
        "--timeout", "0.05", "--json", timeout=120,
    )  # fmt: skip
    assert time.monotonic() - t0 < 60
    assert res.returncode == 1, res.stderr
    step = json.loads(res.stdout)
    assert step["deadline_s"] == 0.05 and step["count"] == 0
    assert step["errors_by_kind"] == {"server error": 0, "timeout": step["errors"], "connection": 0}
    assert "within 0.05 s (timed out)" in step["first_error_by_kind"]["timeout"]
    assert "in a row timed out" in step["stopped"] and step["not_sent"] >= 990


def test_server_killed_under_bench_ends_with_exit_2(tmp_path):
    """kill -9 of tritonserver itself under a concurrency-8 bench: the run ends (no hang) with connection
    errors counted, and exits 2 (the server is gone)."""
    root = modelzoo.slow_model(tmp_path / "models", "slow", SLOW_S)
    with explicit_server(root) as server:
        client = TritonClient(server.http_url, "http")
        bench = _bench(
            server.http_url, "-i", "http", "-m", "slow", "--concurrency", "8", "--requests", "100000"
        )
        try:
            _under_way(client, "slow")
            os.kill(server.pid, signal.SIGKILL)
            killed = time.monotonic()
            out, err = bench.communicate(timeout=120)
        finally:
            if bench.poll() is None:
                bench.kill()
        assert time.monotonic() - killed < 30
        assert bench.returncode == 2, err
        step = json.loads(out)
        assert step["errors_by_kind"]["connection"] > 0, step
        assert step["first_error_by_kind"]["connection"].startswith("cannot reach")
        assert step["stopped"].startswith("the server is gone")


def test_models_and_bench_panes_show_the_dead_stub_and_reload_recovers(faults):
    """The same story in the console: the Bench pane's run of "slow" stops and says why when its stub is
    killed, the Models pane shows it UNHEALTHY (Triton: READY), p probes it, l reloads it and the next probe
    is ok; then a run going when the console restarts its server is stopped, and the pane says so."""
    from textual.widgets import Input, Select

    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.bench import BenchPane
    from triton_console.tui.panes.models import ModelsPane

    client = TritonClient(faults.grpc_url)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=faults.grpc_url, protocol="grpc"))
        async with app.run_test(size=(140, 40)) as pilot:
            bench = app.query_one(BenchPane)
            await pilot.press("6")
            await wait_for(pilot, lambda: "slow" in bench.models, 60, "slow offered to bench")
            bench.query_one("#bench-model", Select).value = "slow"
            bench.query_one("#bench-inputs", Input).value = "random"
            bench.query_one("#bench-levels", Input).value = "8"
            bench.query_one("#bench-requests", Input).value = "100000"
            before = _served(client, "slow")
            bench.action_run()
            await wait_for(pilot, lambda: _served(client, "slow") > before + 30, 60, "the bench under way")
            _stub(faults, "slow").kill()
            status = bench.query_one("#bench-status")
            await wait_for(pilot, lambda: "stopped early" in str(status.render()), 60, "the bench stopped")
            assert "stub is not healthy" in str(status.render())
            assert "l reloads it" in str(status.render())

            await pilot.press("3")
            models = app.query_one(ModelsPane)
            table = models.query_one("#index")
            await wait_for(pilot, lambda: "UNHEALTHY" in rows(table).get("slow", ""), 30, "slow UNHEALTHY")
            assert "server says READY" in rows(table)["slow"]
            table.focus()
            await wait_for(pilot, lambda: _select(models, "slow"), 10, "slow selected")
            await pilot.press("l")  # a READY model: reload
            await wait_for(
                pilot, lambda: rows(table).get("slow", "").startswith("READY"), 60, "slow reloaded"
            )
            await pilot.press("p")
            detail = models.query_one("#detail-text")
            await wait_for(
                pilot,
                lambda: re.search(r"last probe \(p\)\s+\S+ ok in", _shown(detail)),
                30,
                "probe ok",
                lambda: _shown(detail),
            )

            # the console stopping or restarting its server under a running bench: the pane ends the run
            await pilot.press("6")
            await wait_for(pilot, lambda: "slow" in bench.models, 60, "slow offered to bench again")
            bench.query_one("#bench-model", Select).value = "slow"  # the reload took it off the list a while
            before = _served(client, "slow")
            bench.action_run()
            await wait_for(
                pilot,
                lambda: _served(client, "slow") > before + 30,
                60,
                "the second bench under way",
                lambda: str(status.render()),
            )
            bench.server_going("restarted")  # what the app does before it stops or restarts its server
            said = "bench stopped: the server was restarted by the console"
            await wait_for(
                pilot, lambda: not _bench_children(), 30, "the bench process gone", _bench_children
            )
            # its last events delivered
            await wait_for(pilot, lambda: said in str(status.render()), 5, said, lambda: str(status.render()))
            await pilot.press("q")

    asyncio.run(scenario())


def _select(models, name: str) -> bool:
    """Move the Models pane's cursor onto ``name`` (as the arrow keys would); True once it is selected."""
    table = models.query_one("#index")
    if models.selected != name and name in table.keys:
        table.move_cursor(table.get_row_index(name))
    return models.selected == name


def _shown(widget) -> str:
    return "\n".join(lines_of(widget))


def _bench_children() -> list[str]:
    """The Bench pane's load processes still running (children of this test process)."""
    out = []
    for c in psutil.Process().children(recursive=True):
        try:
            line = " ".join(c.cmdline())
        except psutil.Error:
            continue
        if "triton_console bench" in line:
            out.append(line[:120])
    return out
