"""The console driven by Textual's Pilot against the real bundled tritonserver."""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from tests.conftest import image
from tests.helpers import (
    explicit_server,
    lines_of,
    rendered,
    rows,
    start_from_server_pane,
    texts,
    wait_for,
    wait_until,
)
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.server import process as srv
from triton_console.tui.panes.classify import ClassifyPane
from triton_console.tui.panes.models import ModelsPane
from triton_console.tui.widgets.topk import TopKView

pytestmark = pytest.mark.server


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
            state = await start_from_server_pane(pilot, app)
            pid = int(rendered(state).split("bundled pid ")[1].split(" ")[0])
            await pilot.press("3")
            models = app.query_one(ModelsPane)

            def all_ready():
                shown = texts(models.query_one("#index"))
                return len(shown) >= 6 and all(r.startswith("READY") for r in shown)

            await wait_for(pilot, all_ready, 180, "every model READY in the Models pane")
            classify = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: classify.model is not None, 30, "a ready image model")
            classify.query_one("#model").value = "ensemble_python_efficientnet_lite0"
            await classify_path(pilot, app, mug)
            table = classify.query_one("#breakdown")
            await wait_for(pilot, lambda: any("coffee mug" in r for r in texts(table)), 60, "mug result")
            assert "coffee mug" in topk_text(app)
            assert "ms" in rendered(classify.query_one("#latency"))
            assert "encoded bytes" in rendered(classify.query_one("#route"))

            await classify_path(pilot, app, str(bad))
            await wait_for(
                pilot,
                lambda: any("decod" in r for r in texts(table)),
                60,
                "error row",
                show=lambda: texts(table),
            )
            assert "error" in topk_text(app)
            await classify_path(pilot, app, car)
            await wait_for(pilot, lambda: any("sports car" in r for r in texts(table)), 60, "car after bad")

            await pilot.press("escape", "q")  # esc leaves the path box, q asks to quit
            await pilot.pause(0.3)
            assert "Quitting stops the tritonserver" in rendered(app.screen.query_one("Static"))
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running or app.return_code is not None, 30, "exit")
        return pid

    pid = asyncio.run(scenario())
    wait_until(
        lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
        10,
        "server gone",
    )


def test_connect_to_running_server_and_load_unload(server):
    """An external server: the console shows it, never stops it, and load/unload work in explicit mode."""

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=server.cfg.repository)
        )
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one(ModelsPane).query_one("#index")
            await pilot.press("3")
            await wait_for(pilot, lambda: "postprocess" in rows(table), 30, "index")
            table.move_cursor(row=table.get_row_index("resnet50_ort"))
            await pilot.pause(0.3)
            detail = app.query_one(ModelsPane).query_one("#detail-text")

            def shown() -> str:
                return "\n".join(lines_of(detail))

            await pilot.press("u", "y")  # u asks first; y unloads
            await wait_for(
                pilot, lambda: rows(table)["resnet50_ort"].startswith("UNAVAILABLE"), 30, "unloaded"
            )
            await wait_for(pilot, lambda: "UNAVAILABLE" in shown(), 5, "the detail unloaded", show=shown)
            await pilot.press("l")
            await wait_for(pilot, lambda: rows(table)["resnet50_ort"].startswith("READY"), 60, "reloaded")
            # the detail follows the list (it kept "state LOADING" or "UNAVAILABLE" until r)
            await wait_for(
                pilot,
                lambda: "config.pbtxt" in shown() and "state" not in shown().split("metadata")[0],
                5,
                "the detail of the reloaded model",
                show=shown,
            )
            await pilot.press("q")
        assert server.is_running(), "quitting must not stop a server the console did not start"

    asyncio.run(scenario())


def test_server_down_is_shown_and_console_recovers(repo):
    """Server killed mid-session: the console says so within 2.5 s and keeps working; a restart brings it back."""

    async def scenario(server):
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=repo))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            state = app.query_one("#state")
            await wait_for(pilot, lambda: "● ready" in rendered(state), 20, "live")
            server.kill()
            t0 = time.monotonic()
            await wait_for(pilot, lambda: "not reachable" in rendered(state), 10, "down")
            assert time.monotonic() - t0 < 2.5
            server.stop()
            server.start()
            server.wait_ready(120)
            await wait_for(pilot, lambda: "● ready" in rendered(state), 20, "back")
            await pilot.press("q")

    with explicit_server(repo, 120, load_models=("postprocess",)) as server:  # killed here: of its own
        asyncio.run(scenario(server))
