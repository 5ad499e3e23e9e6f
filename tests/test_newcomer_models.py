"""What a newcomer found at 80x24 in the Models and Classify panes: a (Add) said nothing, o did nothing with
the tree focused, tree names cut with no sign, the Classify status line cut, the model list's prompt."""

from __future__ import annotations

import asyncio

from tests import conftest
from tests.helpers import notifications, rendered, wait_for
from tests.test_app import SIZE, make_app, plain_screen
from triton_console.tui.core.classify.classifier import Classification, ImagePath
from triton_console.tui.core.client.responses import TensorSpec, TopK
from triton_console.tui.messages import ClassifyResult

IMAGES = str(conftest.IMAGES)  # the shared test images (TRITON_CONSOLE_TEST_IMAGES)


def test_models_add_says_what_became_of_the_name_and_its_hint_fits():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("3")
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert "model name to add ⏎; esc closes" in plain_screen(app), plain_screen(app)
            for ch in "nosuchmodel":
                await pilot.press(ch)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: any(
                    "added nosuchmodel: the server is not reachable" in n for n in notifications(app)
                ),
                20,
                "what became of the name",
                show=lambda: notifications(app),
            )

    asyncio.run(scenario())


def test_classify_o_opens_the_file_picker_with_the_tree_focused():
    from triton_console.tui.panes.trymodel import FilePicker

    async def scenario():
        app = make_app(images=[IMAGES])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await pilot.pause()
            app.query_one("#tree").focus()
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), 5, "the file picker")

    asyncio.run(scenario())


def test_classify_tree_cuts_names_with_an_ellipsis():
    """The tree (the project's root here) showed `📁 model_repositor`: cut, with no sign of it."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("4")
            await wait_for(pilot, lambda: "model_reposit" in plain_screen(app), 10, "the tree")
            await pilot.pause(0.2)
            line = next(ln for ln in plain_screen(app).splitlines() if "model_reposit" in ln)
            assert "model_reposit" in line and "…" in line.split("model_reposit")[1][:6], line

    asyncio.run(scenario())


def test_classify_status_line_is_whole_and_prompt_only_without_models():
    route = ImagePath("bytes", TensorSpec("INPUT", "UINT8", (-1,)), None, False, 0)

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("4")
            await wait_for(
                pilot, lambda: "Open" in plain_screen(app).splitlines()[-1], 5, "the Classify pane"
            )
            from triton_console.tui.panes.classify import ClassifyPane

            pane = app.query_one(ClassifyPane)
            pane.set_models({"a_model": route, "b_model": route, "c_model": route})
            await pilot.pause()
            result = Classification(
                "a_model",
                [TopK(23, "vulture", 0.91)],
                21.5,
                path=route.describe(),
                timings=[("decode", 7.0), ("backbone", 6.1), ("softmax", 0.1), ("batch", 1)],
            )
            pane.post_message(ClassifyResult(f"{IMAGES}/vulture.jpeg", result, None, None, None))
            await wait_for(
                pilot,
                lambda: "vulture (0.9100)" in plain_screen(app),
                5,
                "the status line",
                show=lambda: plain_screen(app),
            )
            assert "softmax 0.1 ms, batch 1" in " ".join(plain_screen(app).split()), plain_screen(app)
            pane.set_models({})
            await pilot.pause()
            assert "no ready image model" in plain_screen(app)
            pane.set_models({"a_model": route, "b_model": route, "c_model": route})
            await pilot.pause()
            # the prompt is the first line of the open list: it said there was none above the 3 ready ones
            assert pane.query_one("#model").prompt == "image model"

    asyncio.run(scenario())


def test_classify_a_pick_after_quick_changes_of_the_panes_own_is_the_users(monkeypatch):
    """The pane told its own changes of the model list from the user's by a list of the values it had set, each
    struck off at its Changed event. Two changes that reached it as one event (a message that supersedes the
    one before it: emulated here) left an entry behind, and the user's later pick of that model was taken for
    the pane's own: when the model went away and came back, the pane went back to its first model instead."""
    from textual.widgets import Select

    from triton_console.tui.panes.classify import ClassifyPane

    monkeypatch.setattr(
        Select.Changed,
        "can_replace",
        lambda self, other: isinstance(other, Select.Changed) and other.select is self.select,
    )
    route = ImagePath("bytes", TensorSpec("INPUT", "UINT8", (-1,)), None, False, 0)

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("4")
            await pilot.pause()
            pane = app.query_one(ClassifyPane)
            select = pane.query_one("#model", Select)
            pane.set_models({"a_model": route, "b_model": route, "c_model": route})
            await pilot.pause()
            assert pane.model == "a_model"
            pane.set_models({"b_model": route, "c_model": route})  # two quick changes of its own
            pane.set_models({"a_model": route, "b_model": route, "c_model": route})
            await pilot.pause()
            assert pane.model == "a_model"
            select.value = "b_model"  # the user's pick
            await pilot.pause()
            app.clear_notifications()
            pane.set_models({"a_model": route, "c_model": route})  # the pick goes away: a stand-in
            await pilot.pause()
            assert pane.model == "a_model"
            assert any(
                "b_model is not ready: classifying with a_model until it is back" in n
                for n in notifications(app)
            ), notifications(app)
            pane.set_models({"a_model": route, "b_model": route, "c_model": route})  # back: the user's again
            await pilot.pause()
            assert pane.model == "b_model"
            assert "b_model" in plain_screen(app)

    asyncio.run(scenario())


def _ensemble_info():
    """The ensembles' metadata and config as the server gives them (encoded images in INPUT UINT8 [-1])."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from triton_console.tui.core.client.client import ModelInfo
    from triton_console.tui.core.client.responses import ModelMetadata

    config = text_format.Parse(
        "name: 'ens' platform: 'ensemble' max_batch_size: 256 "
        "input { name: 'INPUT' data_type: TYPE_UINT8 dims: -1 } "
        "output { name: 'OUTPUT' data_type: TYPE_FP32 dims: 1000 label_filename: 'labels.txt' }",
        model_config_pb2.ModelConfig(),
    )
    meta = ModelMetadata(
        "ens",
        ("1",),
        "ensemble",
        (TensorSpec("INPUT", "UINT8", (-1, -1)),),
        (TensorSpec("OUTPUT", "FP32", (-1, 1000)),),
    )
    return ModelInfo("ens", meta, config)


def test_image_spec_on_an_encoded_image_input_sends_the_files_bytes():
    """`image:mug.jpg` said "needs a 3-dimensional … image input; input INPUT is UINT8 [-1, -1]"."""
    from pathlib import Path

    from triton_console.tui.core.request import infer

    mug = Path(IMAGES) / "mug.jpg"
    plan = infer.plan_inputs(_ensemble_info(), {"INPUT": f"image:{mug}"})[0]
    assert plan.array.shape == (1, mug.stat().st_size) and plan.array.tobytes() == mug.read_bytes()


def test_try_form_on_an_encoded_image_input_defaults_to_an_image_and_speaks_its_own_syntax():
    from triton_console.tui.panes.trymodel import ModelLoaded, TryScreen

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("3")
            try_screen = TryScreen(app.controller, "ens", IMAGES)
            await app.push_screen(try_screen)
            try_screen.post_message(ModelLoaded(_ensemble_info(), None))
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
            assert try_screen.query_one("#spec-0").value == ""  # no image known: nothing random
            assert "@FILE (.npy/.json/bytes)" in rendered(try_screen.query_one("#title"))
            await pilot.press("ctrl+r")
            said = "ens takes encoded images in INPUT: give image:FILE or @FILE"
            await wait_for(
                pilot,
                lambda: said in " ".join(plain_screen(app).split()),
                10,
                said,
                show=lambda: plain_screen(app),
            )
            assert "--input" not in plain_screen(app)
            app.pop_screen()
            app.controller.last_classified = ("ens", f"{IMAGES}/mug.jpg", None)
            again = TryScreen(app.controller, "ens", IMAGES)
            await app.push_screen(again)
            again.post_message(ModelLoaded(_ensemble_info(), None))
            await wait_for(pilot, lambda: bool(again.query("#spec-0")), 5, "the form")
            assert again.query_one("#spec-0").value == f"image:{IMAGES}/mug.jpg"

    asyncio.run(scenario())


def test_try_form_output_header_is_whole_at_80_columns():
    """The last heading was cut to `first val`."""
    import numpy as np

    from triton_console.tui.core.request import infer
    from triton_console.tui.panes.trymodel import ModelLoaded, TryDone, TryScreen

    scores = np.linspace(0.000123456, 0.987654, 1000, dtype=np.float32).reshape(1, 1000)
    out = infer.OutputSummary(
        "OUTPUT", "FP32", (1, 1000), 0.000123456, 0.987654, 0.493888, 0, [float(v) for v in scores[0, :16]]
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("3")
            try_screen = TryScreen(app.controller, "ensemble_python_efficientnet_lite0", IMAGES)
            await app.push_screen(try_screen)
            try_screen.post_message(ModelLoaded(_ensemble_info(), None))
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
            result = infer.InferResult("ensemble_python_efficientnet_lite0", "1", 12.5, [], [out])
            try_screen.post_message(TryDone(result, None, None))
            await wait_for(
                pilot, lambda: "OUTPUT" in plain_screen(app), 5, "the outputs", show=lambda: plain_screen(app)
            )
            await pilot.pause(0.2)
            header = next(ln for ln in plain_screen(app).splitlines() if "output" in ln and "NaN" in ln)
            assert header.split("NaN")[1].split()[0] == "values", header  # the last heading whole

    asyncio.run(scenario())


def test_try_form_runs_the_ensemble_on_the_classify_panes_last_image(server):
    """On the real ensemble: the SPEC the form starts with (the last image classified) is sent as its bytes."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.trymodel import TryScreen

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", poll=False))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.controller.last_classified = ("ensemble_python_efficientnet_lite0", f"{IMAGES}/mug.jpg", None)
            try_screen = TryScreen(app.controller, "ensemble_python_efficientnet_lite0", IMAGES)
            await app.push_screen(try_screen)
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 30, "the form")
            assert try_screen.query_one("#spec-0").value == f"image:{IMAGES}/mug.jpg"
            await pilot.press("ctrl+r")
            summary = try_screen.query_one("#summary")
            await wait_for(
                pilot,
                lambda: "coffee mug" in rendered(summary),
                60,
                "the top-5",
                show=lambda: rendered(summary),
            )

    asyncio.run(scenario())


def test_try_form_file_picker_leaves_the_checkout_up_or_by_a_typed_path(tmp_path, monkeypatch):
    """The picker showed only the tree under the folder the console started in: an image in ~/photos or
    ../shared/images could not be picked. ⌫ climbs a folder; the path box takes /…, ~/… or ../…."""
    from pathlib import Path

    from tests.test_app import ROOT
    from triton_console.tui.panes.trymodel import FilePicker, ModelLoaded, TryScreen

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes((Path(IMAGES) / "mug.jpg").read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("3")
            try_screen = TryScreen(app.controller, "ens", str(ROOT))
            await app.push_screen(try_screen)
            try_screen.post_message(ModelLoaded(_ensemble_info(), None))
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), 5, "the file picker")
            picker = app.screen
            box = picker.query_one("#pick-path")
            assert box.value == str(ROOT)
            await pilot.press("backspace")  # up, out of the checkout
            await pilot.pause()
            assert box.value == str(ROOT.parent)
            assert f"📂 {ROOT.parent.name}" in plain_screen(app), plain_screen(app)
            box.focus()
            box.value = "~/photos"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "cat.jpg" in plain_screen(app), 5, "~/photos in the tree")
            assert box.value == str(photos) and app.focused is picker.query_one("#files")
            box.focus()
            box.value = "nothing-here"
            await pilot.press("enter")
            await pilot.pause()
            note = rendered(picker.query_one("#pick-note"))
            assert f"no such file or folder: {photos}/nothing-here" in note, note
            box.value = "cat.jpg"  # relative to the folder the tree shows
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is try_screen, 5, "the form again")
            assert try_screen.query_one("#spec-0").value == f"@{photos}/cat.jpg"
            await pilot.press("ctrl+o")  # the next pick starts where that file is
            await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), 5, "the file picker")
            assert app.screen.query_one("#pick-path").value == str(photos)

    asyncio.run(scenario())


def test_a_whole_pipeline_stands_in_for_the_ensemble_before_a_backbone():
    """Models u on postprocess took the ensemble down; Classify said "classifying with efficientnet_lite0_ort
    until it is back" (first by name) and showed its raw logits, with the fused model READY beside it."""
    from triton_console.tui.panes.classify import ClassifyPane

    whole = ImagePath("bytes", TensorSpec("INPUT", "UINT8", (-1,)), None, False, 0)
    tensor = ImagePath("tensor", TensorSpec("input", "FP32", (1, 3, 224, 224)), None, True, 1000)
    ensemble, backbone, fused = (
        "ensemble_python_efficientnet_lite0",
        "efficientnet_lite0_ort",
        "fused_python_efficientnet_lite0",
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("4")
            await pilot.pause()
            pane = app.query_one(ClassifyPane)
            pane.set_models({ensemble: whole, backbone: tensor, fused: whole})
            await pilot.pause()
            assert pane.model == ensemble
            pane.set_models({backbone: tensor, fused: whole})  # the ensemble went down
            await pilot.pause()
            assert pane.model == fused
            assert any(f"classifying with {fused} until it is back" in n for n in notifications(app))
            pane.set_models({backbone: tensor})  # only a backbone left: it stands in
            await pilot.pause()
            assert pane.model == backbone

    asyncio.run(scenario())
