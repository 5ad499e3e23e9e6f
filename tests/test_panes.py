"""Panes without a server (results injected through their entry points): what the user sees, in colour,
in 16 colours and under NO_COLOR."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
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
from tests.helpers import lines_of, rendered, screen_lines, wait_for
from tests.test_snapshots import ENSEMBLE, ROUTE
from tests.test_snapshots import server_snapshot as snapshot
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.classify.classifier import Classification
from triton_console.tui.core.client.responses import TopK
from triton_console.tui.messages import ClassifyResult, ServerLog

DATA = Path(__file__).parent / "data"


def make_app() -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(url="127.0.0.1:9", poll=False, start_dir=str(DATA), repository=Path("/nonexistent"))
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


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_preview_under_no_color_is_a_grey_picture_not_a_block_of_half_blocks(monkeypatch, no_color):
    """Without colour every '▀' looks the same: the preview was a solid block. Under NO_COLOR each cell is a
    character of a brightness ramp (dark left, bright right here); in colour the half blocks stay."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            preview = app.query_one("#preview")
            w, h = preview.cell_size()
            ramp = np.repeat(np.linspace(0, 255, w, dtype=np.uint8)[None, :, None], h, axis=0)
            preview.show(np.repeat(ramp, 3, axis=2))
            await pilot.pause()
            inside = [line.strip("│╭╮╰╯─ ") for line in lines_of(preview)]  # within the border
            drawn = [line for line in inside if line]
            assert drawn, "nothing drawn"
            if no_color:
                ramp = " .:-=+*#%@"
                assert all("▀" not in line for line in drawn), drawn
                row = drawn[0]
                assert set(row) <= set(ramp) and len(set(row)) >= 5, drawn
                assert [ramp.index(c) for c in row] == sorted(ramp.index(c) for c in row), (
                    drawn
                )  # dark → bright
            else:
                assert all(set(line) == {"▀"} for line in drawn), drawn

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
            assert "0.50 kite (bird" in shown and "bird of prey)" not in shown  # cut on the right…
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


def test_classify_tree_climbs_to_the_parent_folder(tmp_path):
    """The tree was rooted at the working directory, so ../shared/images could not be reached with o:
    backspace now climbs a folder, and the images there can be picked."""
    start = tmp_path / "work" / "project"
    start.mkdir(parents=True)
    (tmp_path / "work" / "mug.jpg").write_bytes(b"\xff\xd8\xff\xe0")  # only its name is shown

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url="127.0.0.1:9", poll=False, start_dir=str(start)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            tree = app.query_one("#tree")
            await wait_for(
                pilot, lambda: tree.root.label.plain == "project", 5, "the tree at the start folder"
            )
            await pilot.press("backspace")
            await wait_for(
                pilot,
                lambda: [str(n.label) for n in tree.root.children] == ["project", "mug.jpg"],
                5,
                "the parent folder's entries",
                show=lambda: [str(n.label) for n in tree.root.children],
            )
            assert tree.root.label.plain == "work" and app.focused is tree
            assert app.query_one("ClassifyPane").folder == str(tmp_path / "work")

    asyncio.run(scenario())


async def _bench_state(pilot) -> None:
    from tests.test_snapshots import _snapshot
    from triton_console.tui.core.load import compare
    from triton_console.tui.panes.bench import BenchEvent, CompareDone

    _snapshot(pilot.app)
    await pilot.press("6")
    pane = pilot.app.query_one("BenchPane")
    for c, tput, p50 in ((1, 38.0, 25.1), (2, 61.5, 31.0), (4, 70.2, 55.3)):
        step = {"concurrency": c, "throughput": tput, "errors": 0, "count": 100}
        step["latency_ms"] = {"p50": p50, "p95": p50 * 1.4, "p99": p50 * 1.9}
        pane.post_message(BenchEvent({"event": "step", "step": step}))
    pane.post_message(BenchEvent({"event": "progress", "done": 100, "total": 100, "level": 4}))
    await pilot.pause()
    assert "4      70.2   55.3  77.4  105.1  0" in "\n".join(screen_lines(pilot.app))  # the sweep, whole
    ref = compare.ModelResult(ENSEMBLE, "encoded bytes → INPUT UINT8", latencies=[12.0, 13.0, 15.5])
    other = compare.ModelResult("efficientnet_lite0_ort", "tensor", latencies=[8.0, 9.1, 10.4])
    ref.seconds, other.seconds = 0.04, 0.03
    other.agree_top1, other.agree_top5, other.max_delta = 1.0, 1.0, 2.3e-5
    pane.post_message(CompareDone(compare.Comparison([ref, other], ["a.jpg", "b.jpg", "c.jpg"]), None))
    await pilot.pause()


async def _metrics_state(pilot) -> None:
    from tests.test_snapshots import _point
    from triton_console.tui.core.server import metrics as mt

    await pilot.press("5")
    pane = pilot.app.query_one("MetricsPane")
    await pilot.press("plus")  # every 0.5 s: the longest head
    for i in range(30):
        point = _point(30 - i, 0.5 + (i % 7) / 10)
        for n in ("ensemble_python_resnet50", "resnet50_ort", "efficientnet_lite0_fused"):
            point.models[n] = mt.Rates(inf_s=3.0, exec_s=3.0, avg_batch=1, queue_ms=0.1, infer_ms=41)
        pane.show(point)
    await pilot.press("enter")  # the ensemble expands: more rows than fit, so a scrollbar takes two columns
    await pilot.pause()


async def _classify(pilot) -> None:
    from tests.test_snapshots import _classify_state

    await pilot.press("4")
    await _classify_state(pilot)


@pytest.mark.parametrize(
    "setup, whole, cut",
    [
        (
            _bench_state,
            [  # the chosen model's end, progress, the compare table's figures (it showed headers and "10")
                "model ensemb…net_lite0 ▼",
                "━ 100%",
                # a column per model (A, B: named whole in the key under the chart, which keeps its room)
                "latency (ms) vs throughput (req/s)",
                "top-1   -     100%",
                "max|Δ|  -     2.3e-05",
                "p95 ms  15.2  10.3",
                "req/s   75.0  100.0",
                "A ensemble_python_efficientnet_lite0: encoded bytes → INPUT UINT8",
            ],
            ["━ 10 "],
        ),
        (
            _metrics_state,
            [
                "every 0.5 s (+/- p) · ms per request",
                "⏎ expands",
                "fail/s pend",
                # whole names (cut in the middle before): exec/s, in and out made room
                "▾ ensemble_python_efficientnet_lite0 24.0",
                "  └ efficientnet_lite0_ort           24.0",
                "  efficientnet_lite0_ort             24.0",
            ],
            ["ensemble_python_ef…", " pe "],
        ),
        (_classify, ["mug.jpg      0.73 coffee mug    24.0  12.1/8.1/0.6/3.2"], ["12.1/8.1/0. "]),
    ],
    ids=["bench", "metrics", "classify"],
)
def test_numbers_are_whole_at_80x24(setup, whole, cut):
    """Every figure whole at 80x24; long model names keep their distinguishing end (they all read
    "ensemble_python_eff…" before)."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await setup(pilot)
            await pilot.pause()
            screen = "\n".join(screen_lines(app))
            for text in whole:
                assert text in screen, f"{text!r} not on screen:\n{screen}"
            for text in cut:
                assert text not in screen, f"{text!r} on screen:\n{screen}"

    asyncio.run(scenario())


def test_bench_default_images_come_from_classify_then_the_command_line_then_the_tree(tmp_path):
    """The order the Bench pane's auto inputs follow for an image model, each named as the pane shows it."""
    from triton_console.tui.panes.bench import image_candidates

    mug, car = str(tmp_path / "mug.jpg"), str(tmp_path / "car.jpg")
    assert image_candidates([mug], [car], str(tmp_path)) == ([mug], f"{mug} (the Classify pane's last)")
    assert image_candidates([], [mug, car], str(tmp_path)) == (
        [mug, car],
        "2 images (given on the command line)",
    )
    assert image_candidates([], [], str(tmp_path)) == (
        [str(tmp_path)],
        f"the images in {tmp_path} (the Classify tree's folder)",
    )
    assert image_candidates([], [], None) == ([], "")


def test_metrics_charts_say_what_they_plot_at_round_ticks():
    """Every chart at 80x24 is titled with what it plots and its unit (the model chart had no title: plotext
    drops one that does not fit), and its y ticks are round and evenly spaced (they read 16.1 24.2 40.3 48.4)."""
    from triton_console.tui.panes.metrics import MetricsPane

    titles = {  # the model chart: its model's name, whole (the legend says inf/s) where both do not fit
        "model": ("ensemble_python_efficientnet_lite0", "queue vs compute, ms/request"),
        "batch": ("ensemble_python_efficientnet_lite0", "server · inferences/s"),
        "gpu": ("GPU utilisation, %", "GPU memory GiB, power W"),
        "cpu": ("CPU utilisation, %", "host memory used, GiB"),
    }

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _metrics_state(pilot)
            pane = app.query_one(MetricsPane)
            for _ in titles:
                for chart, title in zip(("#chart-a", "#chart-b"), titles[pane.chart], strict=True):
                    lines = lines_of(pane.query_one(chart))
                    assert title in lines[0], f"{pane.chart} {chart}: {lines[0]!r}"
                    ticks = [float(m[1]) for line in lines if (m := re.match(r"\s*([\d.]+)┤", line))]
                    rows = [i for i, line in enumerate(lines) if re.match(r"\s*[\d.]+┤", line)]
                    assert len(ticks) >= 3 and ticks[-1] == 0, lines
                    step = ticks[-2]
                    mantissa = step / 10 ** math.floor(math.log10(step))
                    assert any(math.isclose(mantissa, m) for m in (1, 2, 5)), ticks
                    assert ticks == pytest.approx([step * i for i in range(len(ticks) - 1, -1, -1)]), ticks
                    assert len({b - a for a, b in itertools.pairwise(rows)}) == 1, lines  # evenly spaced rows
                await pilot.press("c")
                await pilot.pause()
            # the model chart names its model (the selected ensemble), the unit in the legend
            chart = lines_of(pane.query_one("#chart-a"))
            assert pane.chart == "model" and "inf/s" in chart[2], chart

    asyncio.run(scenario())


def test_metrics_charts_with_two_series_read_apart_without_colour():
    """With NO_COLOR the queue and compute lines (and p50/p95/p99 in Bench) were drawn with one glyph: only
    colour told them apart. Each series now has its own marker, shown in the legend."""
    from triton_console.tui.panes.metrics import MetricsPane

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _metrics_state(pilot)
            pane = app.query_one(MetricsPane)
            text = "\n".join(lines_of(pane.query_one("#chart-b")))
            legend = re.findall(r"([•+xo])+ (queue|compute)", text)
            assert {g for g, _ in legend} >= {"•", "+"} and len({g for g, _ in legend}) == 2, text

    asyncio.run(scenario())


def _y_ticks(chart) -> list[float]:
    return [float(m[1]) for line in lines_of(chart) if (m := re.match(r"\s*([\d.]+)┤", line))]


def test_bench_axis_fits_this_sessions_runs_and_saved_ones_come_with_o(tmp_path, monkeypatch):
    """A saved run of another session with 10x the latency set the y axis (ticks to 1000 ms) and squashed
    today's curve; and plotext's legend sat on the lines. Now the saved run comes only with o, the axis
    stays fitted to this session's runs, the points above it are counted, and the legend line under the
    chart names every series by its glyph."""
    from tests.test_snapshots import bench_runs

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await bench_runs(pilot, overlay=False)
            pane = app.query_one("BenchPane")
            chart, legend = pane.query_one("#bench-chart"), pane.query_one("#bench-legend")
            ticks = _y_ticks(chart)
            assert 100 <= max(ticks) <= 150, ticks  # this session's p99 reaches 105 ms x 1.3
            assert "p50" not in "".join(lines_of(chart))  # no legend on the plot
            shown = " ".join(lines_of(legend))
            assert "• p50" in shown and "+ p95" in shown and "x p99" in shown and "o p50 11-30" in shown
            assert "11-28" not in shown
            await pilot.press("o")
            status = pane.query_one("#bench-status")
            await wait_for(pilot, lambda: "overlaid" in rendered(status), 10, "the saved run")
            await pilot.pause()
            assert _y_ticks(chart) == ticks
            shown = " ".join(lines_of(legend))
            assert "* p50 11-28" in shown and "3 points above" in shown, shown
            await pilot.press("o")
            await wait_for(
                pilot, lambda: "11-28" not in " ".join(lines_of(legend)), 5, "the saved run hidden"
            )

    asyncio.run(scenario())
