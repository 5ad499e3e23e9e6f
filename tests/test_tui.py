"""The console driven by Textual's Pilot against the real bundled tritonserver."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from tests.conftest import image
from tui.app import ConsoleApp, ConsoleOptions
from tui.core import server as srv
from tui.panes.classify import ClassifyPane
from tui.panes.models import ModelsPane
from tui.widgets.topk import TopKView

pytestmark = pytest.mark.server


async def wait_for(pilot, predicate, timeout: float = 120.0, what: str = "condition", show=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f": {show()}" if show else ""))


def cell_texts(table) -> list[str]:
    out = []
    for key in table.rows:
        out.append(" ".join(str(c) for c in table.get_row(key)))
    return out


def topk_text(app) -> str:
    return app.query_one(TopKView).plain


async def classify_path(pilot, app, path: str) -> None:
    await pilot.press("4", "p")
    box = app.query_one("#path")
    box.value = path
    await pilot.press("enter")


def test_start_models_ready_classify_bad_image_and_quit(repo, tmp_path):
    """Server pane starts the embedded server; Models go READY; Classify reads coffee mug; q stops it all."""
    mug = str(image("mug.jpg"))
    car = str(image("car.jpg"))
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    port = srv.free_port()
    opts = ConsoleOptions(url=f"127.0.0.1:{port}", protocol="grpc", repository=repo, start_dir=str(tmp_path))

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2", "s")
            await wait_for(
                pilot, lambda: app.managed is not None and app.managed.is_running(), 30, "server process"
            )
            pid = app.managed.pid
            await pilot.press("3")
            models = app.query_one(ModelsPane)

            def all_ready():
                rows = cell_texts(models.query_one("#index"))
                return len(rows) >= 6 and all(r.startswith("READY") for r in rows)

            await wait_for(pilot, all_ready, 180, "every model READY in the Models pane")
            classify = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: classify.model is not None, 30, "a ready ensemble")
            classify.query_one("#model").value = "ensemble_python_efficientnet_lite0"
            await classify_path(pilot, app, mug)
            table = classify.query_one("#breakdown")
            await wait_for(pilot, lambda: any("coffee mug" in r for r in cell_texts(table)), 60, "mug result")
            assert "coffee mug" in topk_text(app)
            assert "ms" in str(classify.query_one("#latency").render()) and classify.latencies

            await classify_path(pilot, app, str(bad))
            await wait_for(
                pilot,
                lambda: any("decod" in r for r in cell_texts(table)),
                60,
                "error row",
                show=lambda: (cell_texts(table), topk_text(app), app.query_one("#path").value),
            )
            assert "error" in topk_text(app)
            await classify_path(pilot, app, car)
            await wait_for(
                pilot, lambda: any("sports car" in r for r in cell_texts(table)), 60, "car after bad"
            )

            await pilot.press("escape", "q")  # esc leaves the path box, q asks to quit
            await pilot.pause(0.3)
            assert "Quitting stops the tritonserver" in str(app.screen.query_one("Static").render())
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running or app._exit_renderables is not None, 30, "exit")
        return pid

    pid = asyncio.run(scenario())
    time.sleep(0.5)
    alive = subprocess.run(["ps", "-o", "pid=,stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    assert not alive.strip() or "Z" in alive, f"tritonserver {pid} survived the console: {alive}"


def test_connect_to_running_server_and_load_unload(server):
    """An external server: the console shows it, never stops it, and load/unload work in explicit mode."""

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=server.cfg.repository)
        )
        async with app.run_test(size=(100, 30)) as pilot:
            models = app.query_one(ModelsPane)
            table = models.query_one("#index")
            await pilot.press("3")
            await wait_for(pilot, lambda: "postprocess" in [k.value for k in table.rows], 30, "index")
            table.move_cursor(row=table.get_row_index("resnet50_ort"))
            await pilot.pause(0.3)
            await pilot.press("u")
            await wait_for(
                pilot,
                lambda: "UNAVAILABLE" in " ".join(str(c) for c in table.get_row("resnet50_ort")),
                30,
                "unloaded",
            )
            await pilot.press("l")
            await wait_for(
                pilot,
                lambda: str(table.get_row("resnet50_ort")[0]) == "READY",
                60,
                "reloaded",
                show=lambda: (table.get_row("resnet50_ort"), [n.message for n in list(app._notifications)]),
            )
            await pilot.press("q")
        assert server.is_running(), "quitting must not stop a server the console did not start"

    asyncio.run(scenario())


def test_server_down_is_shown_and_console_recovers(repo):
    """Server killed mid-session: the console says so within 2 s and keeps working; a restart brings it back."""
    cfg = srv.ServerConfig(
        repo,
        srv.free_port(),
        srv.free_port(),
        srv.free_port(),
        model_control="explicit",
        load_models=["postprocess"],
    )
    server = srv.ManagedServer(cfg)
    server.start()
    server.wait_ready(120)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=repo))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: app._was_live is True, 20, "live")
            server.kill()
            t0 = time.monotonic()
            await wait_for(pilot, lambda: app._was_live is False, 10, "down")
            assert time.monotonic() - t0 < 2.5
            assert "not reachable" in str(app.query_one("#state").render())
            server.stop()
            server.start()
            server.wait_ready(120)
            await wait_for(pilot, lambda: app._was_live is True, 20, "back")
            await pilot.press("q")

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
