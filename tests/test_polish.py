"""What a newcomer found at 80x24: every pane's footer shows its own keys, the config editor has its own
footer, the Try form's cancel is a ctrl key, the Tune pane's defaults, and the figures and notes that read
wrong (negative rest, an unloaded model's "unknown" cause)."""

from __future__ import annotations

import asyncio

from tests.helpers import notifications, wait_for
from tests.test_app import ROOT, SIZE, make_app, plain_screen
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import IndexEntry, ModelMetadata, TensorSpec
from triton_console.tui.core.server import explain
from triton_console.tui.panes import registry
from triton_console.tui.panes.classify import step_figures
from triton_console.tui.panes.configedit import ConfigEditScreen
from triton_console.tui.panes.trymodel import ModelLoaded, TryScreen


def _footer(app) -> str:
    return plain_screen(app).splitlines()[-1]


def test_every_pane_footer_shows_all_its_own_keys_at_80_columns():
    """The pane numbers 1..8 filled the footer (the tab bar shows them) and cut the panes' own keys off."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            for spec in registry.PANES:
                await pilot.press(spec.key)
                await pilot.pause()
                pane = app.query_one(f"#{spec.id}-pane")
                want = [
                    b.description
                    for b in spec.pane.BINDINGS
                    if b.show and pane.check_action(b.action, ()) is not False
                ]
                await wait_for(
                    pilot,
                    lambda w=want: all(d in _footer(app) for d in w),
                    5,
                    f"{spec.id}'s footer",
                    show=lambda w=want: f"{w} in {_footer(app)!r}",
                )
                footer = _footer(app)
                assert not [p.key for p in registry.PANES if f"{p.key} {p.title}" in footer], footer
                assert "? Help" in footer and "q Quit" in footer, footer  # Models and Classify cut these

    asyncio.run(scenario())


def test_config_editor_has_its_own_footer():
    """It showed the Models pane's footer (Load, Unload, ...) behind it."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await app.push_screen(ConfigEditScreen(app.controller, "adder"))
            await wait_for(pilot, lambda: "Apply" in _footer(app), 5, "the editor's footer")
            footer = _footer(app)
            for word in ("Apply", "Write", "Revert", "warm-up", "Close"):
                assert word in footer, footer
            assert "Unload" not in footer, footer

    asyncio.run(scenario())


def test_try_form_ctrl_x_cancels_from_the_spec_box_without_typing_in_it():
    """Cancel was `x`: with the focus in a SPEC box it typed an x there."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse(
        "name: 'tokens' model_transaction_policy { decoupled: true }", model_config_pb2.ModelConfig()
    )
    info = ModelInfo(
        "tokens",
        ModelMetadata(
            "tokens", ("1",), "python", (TensorSpec("X", "FP32", (4,)),), (TensorSpec("Y", "FP32", (4,)),)
        ),
        config,
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("3")
            try_screen = TryScreen(app.controller, "tokens", str(ROOT))
            await app.push_screen(try_screen)
            try_screen.post_message(ModelLoaded(info, None))
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
            spec = try_screen.query_one("#spec-0")
            assert app.focused is spec
            before = spec.value
            await wait_for(pilot, lambda: "Cancel stream" in _footer(app), 5, "the footer")
            assert "^x Cancel stream" in _footer(app), _footer(app)
            await pilot.press("ctrl+x")
            await pilot.pause()
            assert spec.value == before
            assert any("nothing is streaming" in n for n in notifications(app))

    asyncio.run(scenario())


def test_tune_pane_defaults_to_auto_inputs_and_its_note_fits():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("8")
            await pilot.pause()
            assert app.query_one("#tune-inputs").value == "auto"
            await pilot.pause(0.3)
            text = plain_screen(app)
            assert "the original is restored at the end" in text, text

    asyncio.run(scenario())


def test_step_figures_never_show_a_negative_rest():
    """The steps are timed apart from the whole: their sum can pass the latency ("24.2/-0.1")."""
    assert step_figures([24.2, 0.9], 25.0) == "24.2/0.9/0.0"
    assert step_figures([1.0, 2.0], 4.5) == "1.0/2.0/1.5"


def test_an_unloaded_model_is_explained_as_unloaded_not_unknown():
    why = explain.explain(IndexEntry("adder", "1", "UNAVAILABLE", "unloaded"))
    assert why is not None and why.cause == "unloaded" and why.hint == "unloaded; l loads it"
    other = explain.explain(IndexEntry("adder", "1", "UNAVAILABLE", ""))
    assert other is not None and other.cause != "unloaded"


def test_tune_failure_wraps_and_says_failed_once():
    """The tune command's stderr says "error: ...": the status read "tune failed: error: ..." cut at 80."""
    from tests.helpers import rendered
    from triton_console.tui.panes.tune import TuneFinished, TunePane

    long = "error: fused_python_efficientnet_lite0 takes encoded images in; give image paths (IMAGE|DIR)"

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("8")
            pane = app.query_one(TunePane)
            pane.post_message(TuneFinished(None, None, long))
            await wait_for(
                pilot, lambda: "failed" in rendered(pane.query_one("#tune-status")), 5, "the status"
            )
            text = plain_screen(app)
            assert "failed: error:" not in text
            assert "(IMAGE|DIR)" in text, text  # wrapped onto the next line, not cut

    asyncio.run(scenario())


def test_bench_done_line_fits_at_80_columns():
    from tests.helpers import rendered, screen_lines
    from triton_console.tui.panes.bench import BenchEvent, BenchPane

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            pane = app.query_one(BenchPane)
            run = {"model": "m", "warmup": 5, "steps": [], "started": 0}
            pane.post_message(BenchEvent({"event": "run", "run": run, "saved": "/tmp/x-triton-console.json"}))
            await wait_for(pilot, lambda: "saved" in rendered(pane.query_one("#bench-status")), 5, "done")
            await pilot.pause(0.2)
            line = next(ln for ln in plain_screen(app).splitlines() if "done:" in ln)
            assert "warm-up 5/step not counted; o overlays runs" in line, line  # one line, whole
            assert "saved: m on grpc://127.0.0.1:9" in [ln.strip() for ln in screen_lines(app)], screen_lines(app)

    asyncio.run(scenario())


def test_classify_waiting_notice_goes_when_the_classification_starts():
    """It stayed on screen over the results drawn after a model became ready."""
    from triton_console.tui.core.classify.classifier import ImagePath
    from triton_console.tui.panes.classify import ClassifyPane

    async def scenario():
        app = make_app(images=["/work/shared/images/mug.jpg"])
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            waiting = "no ready image model yet"
            await wait_for(pilot, lambda: any(waiting in n for n in notifications(app)), 5, "the notice")
            route = ImagePath("bytes", TensorSpec("IMAGE", "BYTES", (1,)), None, False, 0)
            app.query_one(ClassifyPane).set_models({"m": route})
            await pilot.pause()
            assert not any(waiting in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())
