"""Panes without a server (results injected through their entry points): what the user sees, in colour,
in 16 colours and under NO_COLOR."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CLI, ROOT
from tests.helpers import lines_of, rendered, wait_for
from tests.test_snapshots import ENSEMBLE, ROUTE, ROWS
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.classify.classifier import Classification
from triton_console.tui.core.client.responses import ServerMetadata, TopK
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.messages import ClassifyResult, ServerLog

DATA = Path(__file__).parent / "data"


def make_app() -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(url="127.0.0.1:9", poll=False, start_dir=str(DATA), repository=Path("/nonexistent"))
    )


def snapshot(app) -> ServerSnapshot:
    return ServerSnapshot(
        url=app.controller.client.url,
        live=True,
        ready=True,
        server=ServerMetadata("triton", "2.51.0"),
        models=ROWS,
        models_from="repository index",
    )


def feed(app) -> None:
    snap = snapshot(app)
    for pane in ("ServerPane", "ModelsPane", "ClassifyPane"):
        app.query_one(pane).show_snapshot(snap)
    app.query_one("ClassifyPane").set_models({ENSEMBLE: ROUTE})
    pixels = np.random.default_rng(0).integers(0, 255, (16, 18, 3), dtype=np.uint8)
    top = [TopK(21, "kite (bird of prey)", 0.5), TopK(22, "bald eagle", 0.3)]
    app.query_one("ClassifyPane").post_message(
        ClassifyResult(
            "/images/kite.jpg", Classification(ENSEMBLE, top, 12.0, path=ROUTE.describe()), None, None, pixels
        )
    )


@pytest.mark.parametrize(
    "env", [{"NO_COLOR": "1"}, {"TERM": "xterm-16color", "COLORTERM": ""}], ids=["no-color", "16-colours"]
)
def test_every_pane_renders_without_colour(monkeypatch, env):
    """NO_COLOR=1 then 4 used to crash in Textual's monochrome filter (a preview segment had no style)."""
    for k, v in env.items():
        monkeypatch.setenv(k, v) if v else monkeypatch.delenv(k, raising=False)

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            feed(app)
            for key in ("1", "2", "3", "4", "question_mark", "escape"):
                await pilot.press(key)
                await pilot.pause()
                app.export_screenshot()  # the whole screen through the filters, as a terminal would get it
            assert "kite" in rendered(app.query_one("#row-detail"))

    asyncio.run(scenario())


def test_history_cuts_long_labels_on_the_right_and_shows_the_whole_row():
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            feed(app)
            pane = app.query_one("ClassifyPane")
            long_error = "not a decodable image: " + "x" * 200 + " THE END"
            pane.post_message(ClassifyResult("/images/broken.jpg", None, long_error))
            await pilot.press("4")
            table = pane.query_one("#breakdown")
            await wait_for(pilot, lambda: table.row_count == 2, 5, "two rows")
            shown = "\n".join(lines_of(table))
            assert "kite (bird of" in shown and "bird of prey) 0.50" not in shown  # cut on the right…
            assert "…" in shown  # …with an ellipsis
            assert "not a decodable" in shown
            assert "THE END" in rendered(pane.query_one("#row-detail"))  # the highlighted row, whole
            table.move_cursor(row=table.get_row_index("/images/kite.jpg"))
            await pilot.pause()
            assert "kite (bird of prey) (0.5000)" in rendered(pane.query_one("#row-detail"))

    asyncio.run(scenario())


def test_server_log_follows_the_tail():
    """Lines that arrive while another pane is shown: opening the Server pane shows the newest ones."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("1")
            log = app.query_one("#server-log")
            for i in range(40):
                log.post_message(ServerLog([f"banner line {i * 10 + j}" for j in range(10)]))
            await pilot.pause(0.2)
            await pilot.press("2")
            await pilot.pause(0.2)
            assert "banner line 399" in "\n".join(lines_of(log))

    asyncio.run(scenario())


def colour_codes(out: bytes) -> list[str]:
    """Every colour parameter of the SGR sequences in a terminal's output (38;5;N counts as one)."""
    found = []
    for seq in re.findall(rb"\x1b\[([0-9;]*)m", out):
        params = seq.decode().split(";")
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("38", "48"):
                n = 3 if i + 1 < len(params) and params[i + 1] == "5" else 5
                found.append(";".join(params[i : i + n]))
                i += n
                continue
            if p.isdigit() and (30 <= int(p) <= 49 or 90 <= int(p) <= 107):
                found.append(p)
            i += 1
    return found


def test_console_in_a_real_terminal_without_colour(tmp_path):
    """The console in a pseudo-terminal with NO_COLOR and 16 colours: every pane, help, palette, then q."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.environ.update({"NO_COLOR": "1", "TERM": "xterm-16color", "COLUMNS": "80", "LINES": "24"})
        os.environ.pop("COLORTERM", None)
        os.execv(sys.executable, [*CLI, "-u", "127.0.0.1:9", "--repository", str(tmp_path)])
    out = b""

    def read_for(seconds: float) -> None:
        nonlocal out
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    out += os.read(fd, 65536)

    try:
        read_for(3)
        for key in (b"1", b"2", b"3", b"4", b"?", b"\x1b", b"\x10", b"\x1b", b"q"):
            os.write(fd, key)
            read_for(0.6)
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            read_for(0.2)
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out[-2000:]
        assert b"Traceback" not in out
        colours = {c for c in colour_codes(out) if c not in ("39", "49")}
        assert not colours, f"NO_COLOR, yet colour codes: {sorted(colours)[:10]}"
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_startup_objects_are_frozen_out_of_the_collector_after_the_first_paint():
    """Full collections walked every import and widget: 60-190 ms event-loop stalls while classifying
    (make bench). After the first paint the console moves what is alive out of the collector's reach."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert gc.get_freeze_count() > 10_000

    try:
        asyncio.run(scenario())
    finally:
        gc.unfreeze()  # the test process goes on collecting as before


@pytest.mark.parametrize(
    "pane, box, target",
    [
        ("2", "#log-filter", "#server-log"),
        ("3", "#models-filter", "#index"),
        ("5", "#metrics-filter", "#rates"),
    ],
    ids=["server", "models", "metrics"],
)
def test_slash_opens_the_filter_and_esc_empties_and_closes_it(pane, box, target):
    """k9s's `/`: the box appears with the focus; esc empties it, hides it and hands the focus back to the list
    it filters (a second esc then means what esc means elsewhere)."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            feed(app)
            await pilot.press(pane)
            await pilot.pause()
            filter_box = app.query_one(box)
            assert not filter_box.display
            await pilot.press("slash")
            await pilot.pause()
            assert filter_box.display and app.focused is filter_box
            await pilot.press("k", "i")
            assert filter_box.value == "ki"
            await pilot.press("escape")
            await pilot.pause()
            assert not filter_box.display and filter_box.value == ""
            assert app.focused is app.query_one(target)

    asyncio.run(scenario())
