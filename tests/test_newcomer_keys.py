"""What a newcomer trial of the console found about its keys: Enter in a Try box sent the request but took
the focus away (edit and send again needed a click), ctrl+o left the whole picked path selected (the next key
replaced it), the Classify tree had no cursor until ↓, a finished bench did not say what was saved, `u`
unloaded a model on a shared server without asking, and the startup toasts' time on screen."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.conftest import IMAGES
from tests.helpers import notifications, rendered, rows, screen_lines, wait_for
from tests.test_app import ROOT, SIZE, make_app
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import ModelMetadata, TensorSpec
from triton_console.tui.panes.trymodel import ModelLoaded, TryScreen

ADDER = ModelInfo(
    "adder",
    ModelMetadata(
        "adder", ("1",), "python", (TensorSpec("X", "FP32", (4,)),), (TensorSpec("Y", "FP32", (4,)),)
    ),
)



async def _try_form(pilot, app) -> TryScreen:
    await pilot.press("3")
    try_screen = TryScreen(app.controller, "adder", str(ROOT))
    await app.push_screen(try_screen)
    try_screen.post_message(ModelLoaded(ADDER, None))
    await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
    return try_screen


def test_enter_in_a_try_box_sends_and_the_box_keeps_the_focus_for_the_next_edit():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            try_screen = await _try_form(pilot, app)
            spec = try_screen.query_one("#spec-0")
            summary = try_screen.query_one("#summary")
            await pilot.press("enter")  # runs against the absent server: its error comes back
            await wait_for(pilot, lambda: "error" in rendered(summary), 20, "the first run's end")
            assert app.focused is spec
            spec.value = ""
            await pilot.press(*"zeros")  # edited in place, no click back into the box
            assert spec.value == "zeros"
            summary.update("")
            await pilot.press("enter")  # and sent again
            await wait_for(pilot, lambda: "error" in rendered(summary), 20, "the second run's end")
            assert app.focused is spec and spec.value == "zeros"

    asyncio.run(scenario())


def test_ctrl_o_leaves_the_cursor_at_the_end_of_the_picked_path(tmp_path):
    picked = tmp_path / "x.json"
    picked.write_text("[1, 2, 3, 4]")

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            try_screen = await _try_form(pilot, app)
            spec = try_screen.query_one("#spec-0")
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: app.screen is not try_screen, 5, "the picker")
            box = app.screen.query_one("#pick-path")
            box.focus()
            box.value = str(picked)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is try_screen, 5, "the form again")
            await pilot.pause()
            assert app.focused is spec and spec.value == f"@{picked}"
            await pilot.press("x")  # typed after the path, not over a selection of it
            assert spec.value == f"@{picked}x"

    asyncio.run(scenario())


@pytest.mark.skipif(not IMAGES.is_dir(), reason=f"no test images at {IMAGES}")
def test_classify_tree_cursor_starts_on_the_first_image_so_enter_classifies_at_once():
    from triton_console.tui.panes.classify import ClassifyPane

    first = sorted(p.name for p in Path(IMAGES).iterdir() if not p.name.startswith("."))[0]

    async def scenario():
        app = make_app(start_dir=str(IMAGES))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("4")
            pane = app.query_one(ClassifyPane)
            tree = pane.query_one("#tree")
            await wait_for(pilot, lambda: any(first in ln for ln in screen_lines(app)), 5, "the images")
            await pilot.pause()
            assert app.focused is tree
            node = tree.cursor_node
            assert node is not None and str(node.label) == first, node
            await pilot.press("enter")  # no model here: the pane says it waits to classify that image
            await wait_for(pilot, lambda: pane.pending, 5, "the image asked for")
            assert pane.pending == [str(Path(IMAGES) / first)]

    asyncio.run(scenario())


def test_bench_status_says_what_was_saved(tmp_path, monkeypatch):
    from tests.test_snapshots import ENSEMBLE, _run_dict, _snapshot
    from triton_console.tui.panes.bench import BenchEvent

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            _snapshot(app)
            await pilot.press("6")
            pane = app.query_one("BenchPane")
            run = dict(_run_dict("2026-11-30T10:40:00", 1.0), url="grpc://10.0.0.7:8001")
            pane.post_message(BenchEvent({"event": "run", "run": run, "saved": "/data/runs/b.json"}))
            status = pane.query_one("#bench-status")
            await wait_for(pilot, lambda: "done" in rendered(status), 10, "the run done")
            assert f"saved: {ENSEMBLE} on grpc://10.0.0.7:8001" in rendered(status).splitlines()
            await pilot.press("o")  # the overlay's line replaces the status: the saved line stays
            await wait_for(pilot, lambda: "o: " in rendered(status), 10, "the overlay")
            assert f"saved: {ENSEMBLE} on grpc://10.0.0.7:8001" in rendered(status).splitlines()
            unsaved = dict(run, started="2026-11-30T10:50:00")
            pane.post_message(BenchEvent({"event": "run", "run": unsaved, "saved": None}))
            await wait_for(pilot, lambda: "not saved" in rendered(status), 10, "the unsaved run")
            assert "saved:" not in rendered(status)

    asyncio.run(scenario())


def _unload_scene(app):
    from tests.test_snapshots import server_snapshot

    snap = server_snapshot(app, ("classification",))
    app.query_one("ModelsPane").show_snapshot(snap)
    return snap


@pytest.mark.parametrize(("answer", "unloads"), [("u", True), ("y", True), ("n", False), ("escape", False)])
def test_u_asks_before_it_unloads(monkeypatch, answer, unloads):
    from triton_console.tui.panes.models import ModelsPane

    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        ModelsPane, "_do_load_unload", lambda self, what, name, image=None: sent.append((what, name))
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("3")
            _unload_scene(app)
            pane = app.query_one(ModelsPane)
            index = pane.query_one("#index")
            await wait_for(pilot, lambda: rows(index), 5, "the list")
            await pilot.pause(0.2)
            name = pane.selected
            assert name
            await pilot.press("u")
            await pilot.pause()
            assert sent == []
            note = rendered(pane.query_one("#models-note"))
            assert note == f"unload {name}? u or y unloads it; n or esc keeps it loaded", note
            await pilot.press(answer)
            await pilot.pause()
            assert sent == ([("unload", name)] if unloads else [])
            assert "unload " not in rendered(pane.query_one("#models-note"))
            assert app.screen is not None and app.focused is index  # esc closed nothing else

    asyncio.run(scenario())


@pytest.mark.timing
def test_startup_toasts_stay_about_four_seconds():
    """On screen from the first paint for about 4 s (Textual's 5 s default read as lingering)."""

    async def scenario():
        app = make_app(images=[str(ROOT / "nonexistent.jpg")])
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            said = "no ready image model yet"
            await wait_for(pilot, lambda: any(said in n for n in notifications(app)), 5, "the toast")
            shown = time.monotonic()
            await pilot.pause(3.0)
            assert any(said in n for n in notifications(app)), "gone before 3 s"
            await wait_for(pilot, lambda: not any(said in n for n in notifications(app)), 5, "its end")
            assert time.monotonic() - shown < 4.6

    asyncio.run(scenario())
