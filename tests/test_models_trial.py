"""What a newcomer trial found in the Models pane and its config editor at 80x24: keys typed fast into the
editor were reordered (backspaces ran after the digits typed behind them), ..."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import free_ports, screen_lines

BACKBONE = "efficientnet_lite0_ort"
TEXT = f'name: "{BACKBONE}"\nmax_batch_size: 256\nplatform: "onnxruntime_onnx"\n'


async def _typed_fast(app, data: str) -> None:
    """Bytes as the terminal sends them (tmux send-keys, one key a call, no delay): parsed and posted to the
    app at once, as the driver does, without the pilot's wait after each key."""
    from textual._xterm_parser import XTermParser

    for event in XTermParser().feed(data):
        app.post_message(event)


@pytest.mark.parametrize(
    "burst, expected",
    [
        ("4\x7f5\x7f67\x7f8", "max_batch_size: 25668"),  # got 25648, then 2564857, 256485767
        ("\x7f\x7f\x7fx", "max_batch_size: x"),  # got max_batch_size: 2
        ("\x1b[D\x1b[D9\x1b[3~\x1b[F0", "max_batch_size: 2960"),  # left, delete and end among the digits
    ],
)
def test_the_config_editor_keeps_every_key_of_a_fast_burst_in_order(tmp_path, burst, expected):
    from textual.app import App

    from triton_console.tui.core.client.connection import Connection
    from triton_console.tui.core.server.controller import ServerController
    from triton_console.tui.core.tune import deploy
    from triton_console.tui.panes.configedit import ConfigEditScreen, ConfigRead

    (port,) = free_ports(1)  # no server: the text is handed to the editor as if read
    controller = ServerController(Connection(url=f"127.0.0.1:{port}"), tmp_path, server="remote")

    async def scenario():
        app = App()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = ConfigEditScreen(controller, BACKBONE)
            await app.push_screen(screen)
            await pilot.pause(0.3)
            screen.post_message(ConfigRead(deploy.Source(TEXT, False, None), None, None))
            for _ in range(50):
                await pilot.pause(0.05)
                if any("max_batch_size: 256" in line for line in screen_lines(app)):
                    break
            await pilot.press("down", "end")
            await _typed_fast(app, burst)
            await pilot.pause(0.5)
            shown = [line for line in screen_lines(app) if "max_batch_size" in line]
            assert len(shown) == 1 and f" 2  {expected} " in shown[0], shown  # line 2, as drawn
            assert screen.query_one("#config-text").text.splitlines()[1] == expected

    asyncio.run(scenario())


MODELS = [
    "efficientnet_lite0_ort",
    "ensemble_python_efficientnet_lite0",
    "ensemble_python_resnet50",
    "fused_python_efficientnet_lite0",
    "resnet50_onnx",
]


def _models_app():
    from dataclasses import replace

    from tests.test_app import make_app
    from tests.test_snapshots import server_snapshot
    from triton_console.tui.core.client.responses import IndexEntry

    app = make_app()

    def poll() -> None:  # what the poll shows: the five models, READY
        entries = [IndexEntry(n, "1", "READY") for n in MODELS]
        app.query_one("ModelsPane").show_snapshot(replace(server_snapshot(app), models=entries))

    return app, poll


def _box_line(app) -> str:
    """The row above the list's header: the filter box, when it shows."""
    lines = screen_lines(app)
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["state", "name"])
    return lines[header - 1].split("│")[0]


def _models_shown(app) -> list[str]:
    return [n for n in MODELS if any(f" {n} " in f"{line} " for line in screen_lines(app))]


def test_a_filter_is_in_force_only_while_its_box_shows_it(tmp_path):
    """`/ fused ⏎` then `a nosuchmodel ⏎`: the list stayed at "1 of 5 models" with no filter box on screen,
    esc did not clear it and `/` opened an empty box over the filtered list."""

    async def scenario():
        app, poll = _models_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.press("3")
            poll()
            await pilot.pause()
            assert _models_shown(app) == MODELS
            await pilot.press("slash", *"fused", "enter")
            await pilot.pause()
            screen = "\n".join(screen_lines(app))
            assert "1 of 5 models from the repository index" in screen, screen
            assert _models_shown(app) == ["fused_python_efficientnet_lite0"]
            assert _box_line(app).strip() == "fused", screen  # the filter in force, in its box

            await pilot.press("a", *"nosuchmodel", "enter")
            await pilot.pause()
            poll()  # the next poll: the server does not know it
            await pilot.pause(0.3)
            screen = "\n".join(screen_lines(app))
            assert not {"fused", "nosuchmodel"} & set(_box_line(app).split()), screen  # no box
            assert "1 of 5" not in screen and "5 models from the repository index" in screen, screen
            assert _models_shown(app) == MODELS, screen

            await pilot.press("slash")  # an empty box, over the whole list
            await pilot.pause()
            assert app.focused.id == "models-filter" and app.focused.value == ""
            assert _models_shown(app) == MODELS

            await pilot.press(*"fused", "enter", "escape")  # esc clears a filter in force
            await pilot.pause()
            screen = "\n".join(screen_lines(app))
            assert "1 of 5" not in screen and _models_shown(app) == MODELS, screen
            assert app.focused.id == "index"

    asyncio.run(scenario())


def test_the_highlighted_models_detail_shows_after_the_server_changes_back():
    """After another server and back, row 1 was highlighted and the detail said "select a model to see its
    config and statistics" until Down."""
    from tests.helpers import lines_of

    async def scenario():
        app, poll = _models_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            pane = app.query_one("ModelsPane")
            detail = pane.query_one("#detail-text")

            def first_line() -> str:
                return next((line.strip() for line in lines_of(detail) if line.strip()), "")

            poll()
            for _ in range(50):
                await pilot.pause(0.05)
                if first_line() == MODELS[0]:
                    break
            assert first_line() == MODELS[0], lines_of(detail)
            pane.server_changed(app.controller.client, None)  # as the app does: another server...
            await pilot.pause()
            assert "select a model" in first_line()
            poll()  # ...and back: the same list, the cursor on row 1
            for _ in range(50):
                await pilot.pause(0.05)
                if first_line() == MODELS[0]:
                    break
            assert first_line() == MODELS[0], lines_of(detail)
            rows = [line.split("│")[0].split() for line in screen_lines(app)]
            assert ["READY", MODELS[0]] in rows, rows  # the list beside it, row 1 on it

    asyncio.run(scenario())


def test_the_find_hint_is_whole_at_80_columns():
    """It read "filter models (name, state, reason); esc" with "closes" cut off."""
    from triton_console.tui.panes.models import FILTER_HINT

    async def scenario():
        app, poll = _models_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            poll()
            await pilot.press("slash")
            await pilot.pause()
            assert _box_line(app).strip() == FILTER_HINT, screen_lines(app)
            assert FILTER_HINT.endswith("esc closes")

    asyncio.run(scenario())


def test_a_log_word_too_long_for_the_detail_is_folded_whole_at_its_underscore():
    """The detail's log lines cut such a word in its middle (``TRITONBACKE…stanceInitialize:``)."""
    from triton_console.tui.text import word_lines

    line = "I 03:54:34.125 TRITONBACKEND_ModelInstanceInitialize: instance lite0_0 (CPU)"
    lines = word_lines(line, 31, "  ", cut=False)
    assert lines == [
        "I 03:54:34.125",
        "  TRITONBACKEND_",
        "  ModelInstanceInitialize:",
        "  instance lite0_0 (CPU)",
    ]
    assert "".join(x.strip() for x in lines).replace(" ", "") == line.replace(" ", "")  # nothing lost


def test_a_log_path_too_long_for_the_detail_is_cut_and_keeps_its_file_name():
    """With ``cut="paths"`` (the detail's server log) an identifier folds whole but a path is cut in its
    middle, its file name kept: folded, a repository path took five lines of the 30-column detail."""
    from triton_console.tui.text import word_lines

    line = "E 14:20:12.000 failed: /tmp/pytest-of-root/pytest-3/models0/resnet50_onnx/1/model.onnx: gone"
    lines = word_lines(line, 31, "  ", cut="paths")
    assert len(lines) == 3, lines
    assert any("…" in ln and ln.rstrip().endswith("/1/model.onnx:") for ln in lines), lines
    assert word_lines("TRITONBACKEND_ModelInstanceInitialize:", 31, cut="paths") == [
        "TRITONBACKEND_",
        "ModelInstanceInitialize:",
    ]
