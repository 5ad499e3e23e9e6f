"""What a newcomer trial of the console found about its keys: Enter in a Try box sent the request but took
the focus away (edit and send again needed a click), ctrl+o left the whole picked path selected (the next key
replaced it), the Classify tree had no cursor until ↓, a finished bench did not say what was saved, `u`
unloaded a model on a shared server without asking, and the startup toasts' time on screen."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.helpers import screen_lines, wait_for
from tests.test_app import SIZE, make_app
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import ModelMetadata, TensorSpec

IMAGES = os.environ.get("TRITON_CONSOLE_TEST_IMAGES", "")
ADDER = ModelInfo(
    "adder",
    ModelMetadata(
        "adder", ("1",), "python", (TensorSpec("X", "FP32", (4,)),), (TensorSpec("Y", "FP32", (4,)),)
    ),
)



@pytest.mark.skipif(not IMAGES, reason="TRITON_CONSOLE_TEST_IMAGES not set")
def test_classify_tree_cursor_starts_on_the_first_image_so_enter_classifies_at_once():
    from triton_console.tui.panes.classify import ClassifyPane

    first = sorted(p.name for p in Path(IMAGES).iterdir() if not p.name.startswith("."))[0]

    async def scenario():
        app = make_app(start_dir=IMAGES)
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
