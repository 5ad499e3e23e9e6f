"""Text layout a newcomer found wrong at 80x24: the Models detail's server log split words where it wrapped,
the trace overlay left the timing bars 11 columns, the Bench status line wrapped on a long image path, a long
metrics URL pushed the Metrics header past its two lines, and the Servers pane's own row showed its inf/s as
'-' until the second refresh."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.helpers import screen_lines, steady_requests, wait_for
from triton_console.tui.app import ConsoleApp, ConsoleOptions

SIZE = (80, 24)


def make_app() -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(url="127.0.0.1:9", poll=False, repository=Path("/nonexistent/repository"))
    )


def _right_of(screen: list[str], bar: str = "│") -> list[str]:
    """The text right of the first ``bar`` of each line that has one (the Models detail beside the list)."""
    return [ln.split(bar, 1)[1].strip() for ln in screen if bar in ln]


# ------------------------------------------------------------------------------------------ models detail

LOG = [
    'I1202 14:20:11.305143 4242 python_be.cc:2249] "TRITONBACKEND_ModelInstanceInitialize: resnet50_onnx_0_0 '
    '(CPU device 0)"',
    "I1202 14:20:11.912345 4242 model_lifecycle.cc:839] \"successfully loaded 'resnet50_onnx'\"",
    "E1202 14:20:12.000000 4242 model_repository_manager.cc:1234] \"failed to load 'resnet50_onnx': "
    '/tmp/pytest-of-root/pytest-3/models0/resnet50_onnx/1/model.onnx: No such file or directory"',
]


def test_models_detail_server_log_wraps_between_words_and_cuts_a_path_with_an_ellipsis():
    """The detail (about 30 columns at 80) folded `TRITONBACKEND_ModelInstanceIniti` / `alize:` and a path
    over two lines: now each record is short (severity, time, message), breaks between words, an identifier
    wider than the detail is folded whole after its `_` (a newcomer read `TRITONBACKE…stanceInitialize:`
    when it was cut), and a path is cut in its middle with … (it keeps its file name)."""
    from triton_console.tui.messages import ModelDetail

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            pane = app.query_one("ModelsPane")
            pane._selected = "resnet50_onnx"
            pane.post_message(ModelDetail("resnet50_onnx", [("server log about it", "\n".join(LOG))]))
            await wait_for(pilot, lambda: any("14:20:12.000" in ln for ln in screen_lines(app)), 5, "the log")
            detail = _right_of(screen_lines(app))
            detail = detail[detail.index("server log about it") + 1 :]
            shown = " ".join(detail).split()
            words = set(" ".join(LOG).replace('"', " ").split()) | {"I", "E", "14:20:11.305", "14:20:11.912"}
            folded = ["TRITONBACKEND_", "ModelInstanceInitialize:"]
            split = [w for w in shown if w not in words | {"14:20:12.000", *folded} and "…" not in w]
            assert not split, (split, detail)  # every word whole, folded at its _, or cut with an ellipsis
            assert any(w.endswith("/1/model.onnx:") and "…" in w for w in shown), detail
            at = shown.index(folded[0])
            assert shown[at + 1] == folded[1], detail
            assert "python_be.cc:2249]" not in shown and "I 14:20:11.305" in " ".join(detail), detail

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ trace overlay

ENSEMBLE = "ensemble_python_efficientnet_lite0"
STEPS = ("preprocess", "efficientnet_lite0_ort", "postprocess")


def _classify_trace():
    """Two requests of the generated ensemble as ``trace.requests_of`` cuts them (its three steps)."""
    from triton_console.tui.core.server import trace

    requests = []
    for _ in range(2):
        t, spans = 0.0, []
        for model, infer_ms in zip(STEPS, (4.0, 7.0, 0.5), strict=True):
            for stage, ms in (
                ("queue", 0.05),
                ("compute input", 0.03),
                ("infer", infer_ms),
                ("compute output", 0.1),
            ):
                spans.append(trace.Span(model, stage, t, ms))
                t += ms
        spans.append(trace.Span(ENSEMBLE, "send", t, 0.2))
        requests.append(trace.Request(t + 0.2, spans, t + 1.0))
    return trace.Trace(ENSEMBLE, "trace", requests, trace.percentiles(requests))


def test_trace_overlay_gives_the_bars_a_third_of_the_line_and_cuts_names_with_an_ellipsis():
    """t in the Classify pane on the generated ensemble: at 80 columns its 34-character name took its room
    first and left the bars 12 cells of 73. The bars now have a third of the line at least; the names that no
    longer fit are cut with …, each line still whole."""
    from tests.helpers import lines_of
    from triton_console.tui.panes.traceview import TraceDone, TraceScreen

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await app.push_screen(TraceScreen(app.controller, ENSEMBLE, lambda info: [], "mug.jpg"))
            title = app.screen.query_one("#trace-title")
            await wait_for(pilot, lambda: "failed" in " ".join(lines_of(title)), 20, "the refused request")
            app.screen.post_message(TraceDone(ENSEMBLE, _classify_trace()))
            await wait_for(pilot, lambda: any("request 2" in ln for ln in screen_lines(app)), 10, "the trace")
            screen = screen_lines(app)
            bars = [ln for ln in screen if ln.count("│") == 4]  # the overlay's border and the bar's two
            assert len(bars) >= 10, screen
            for line in bars:
                bar = line.split("│")[2]
                assert len(bar) >= 80 // 3 - 3, (len(bar), line)  # a third of the body's 73 columns
                assert re.match(r" +\d+\.\d{3} ms", line.split("│")[3]), line  # its figure whole
            names = {ln.split("│")[1].split()[0] for ln in bars}
            assert any("…" in n for n in names), names  # the ensemble's long name cut, not the bars
            assert "preprocess" in names and "postprocess" in names, names

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ bench compare


def _comparison():
    from triton_console.tui.core.load import compare

    a = compare.ModelResult(
        ENSEMBLE, "encoded bytes → INPUT UINT8", [23.0, 24.1, 25.0], [504] * 3, seconds=0.08
    )
    b = compare.ModelResult(
        "efficientnet_lite0_ort", "tensor input FP32 NCHW", [7.0, 7.4, 8.0], [504] * 3, seconds=0.025
    )
    a.agree_top1 = a.agree_top5 = b.agree_top1 = b.agree_top5 = 1.0
    a.max_delta, b.max_delta = 0.0, 2.4e-6
    return compare.Comparison([a, b], ["/images/mug.jpg"])


def test_bench_compare_status_shortens_a_long_image_path_to_one_line(monkeypatch, tmp_path):
    """m compared on the Classify pane's last image: its long path made the status line wrap at 80 columns.
    The path is shortened (~ for the home folder, then cut in its middle, its file name kept) and the line
    fits on one line; a folder's images the same."""
    from triton_console.tui.panes.bench import CompareDone

    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/config")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    home = str(Path.home())
    image = f"{home}/Pictures/holiday-2026/photos-from-the-trip-to-the-coast/kitchen/mug.jpg"
    folder = "/srv/datasets/imagenet/validation/n03063599-coffee-mug-and-other-kitchen-things"
    sources = [
        (f"{image} (the Classify pane's last)", [image], "mug.jpg"),
        (f"the images in {folder} (the Classify tree's folder)", [folder], "things"),
    ]

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            pane = app.query_one("BenchPane")
            for source, paths, end in sources:
                pane.post_message(CompareDone(_comparison(), None, source, paths))
                await pilot.pause(0.2)
                screen = screen_lines(app)
                at = next(i for i, ln in enumerate(screen) if "compared on" in ln)
                line = screen[at]
                assert "against A" in line or "vs A" in line, screen[at : at + 2]  # whole on its line
                assert "…" in line and end in line, line  # the path cut, its end kept
                assert "compared" not in "".join(screen[at + 1 : at + 3]), screen[at : at + 3]

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ metrics header

METRICS_URL = "https://triton-metrics.inference.prod.example-company.internal:8002/metrics"


def test_metrics_header_keeps_its_two_lines_with_a_long_metrics_url():
    """A long metrics URL pushed the header past its two lines at 80 columns: what followed it (the sort, the
    charts, ⏎) was cut off. The URL is cut in its middle with … (its host's start, its port and path kept)."""
    from triton_console.tui.core.server import metrics as mt

    rates = {"resnet50_onnx": mt.Rates(inf_s=4.0, exec_s=4.0, avg_batch=1, queue_ms=0.1, infer_ms=41.0)}
    point = mt.Point(
        1_700_000_000.0, 1.0, rates, {}, {}, ["statistics API", f"metrics at {METRICS_URL}"], [], {}
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            pane = app.query_one("MetricsPane")
            pane.show(point)
            await pilot.pause(0.2)
            screen = screen_lines(app)
            at = next(i for i, ln in enumerate(screen) if "statistics API" in ln)
            head = " ".join(ln.strip() for ln in screen[at : at + 2])
            assert "⏎ expands ▸" in head, screen[at : at + 3]  # the header's end on its second line
            assert "…" in head and ":8002/metrics" in head and "https://trit" in head, head
            assert "resnet50_onnx" in "".join(screen[at + 2 : at + 5]), screen  # the table right under it

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ servers inf/s


def test_servers_pane_says_inf_s_is_measured_until_its_second_count_which_comes_soon(
    zoo, monkeypatch, tmp_path
):
    """inf/s is a rate between two counts of the server's inferences (a count is cumulative since the server
    started, and the server does not say when that was): the active server's row showed '-' (read as no
    inferences) until the pane's second refresh, 2 s on. Now it shows … until then, and the second count is
    taken 1 s after the first; a servers-file row the same."""
    import time

    from tests.helpers import rows
    from triton_console.tui.core.client import contexts
    from triton_console.tui.panes.servers import COLUMNS, RATE_SOON_S, REFRESH_S

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    contexts.add(contexts.ServerEntry("zoo-http", zoo.http_url, "http"))
    labels = [label for label, _ in COLUMNS]
    state, rate = labels.index("state"), labels.index("inf/s")

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc", repository=Path("/nonexistent")))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            seen: dict[str, list[tuple[float, str]]] = {"(active)": [], "zoo-http": []}  # while ready
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(
                s and s[-1][1].replace(".", "").isdigit() for s in seen.values()
            ):
                for key in table.rows:
                    cells = [str(c) for c in table.get_row(key)]
                    if "ready" in cells[state]:
                        seen[key.value].append((time.monotonic(), cells[rate]))
                await pilot.pause(0.05)
            for name, shown in seen.items():
                assert shown and shown[-1][1].replace(".", "").isdigit(), (name, shown, rows(table))
                values = [v for _, v in shown]
                assert "-" not in values, (name, values)  # never read as none: … while measured
                measuring = [t for t, v in shown if v == "…"]
                if measuring:  # the figure came about a second after the first count, not two
                    assert shown[-1][0] - measuring[0] < REFRESH_S + 0.5, (name, shown)
            own = next(line for line in screen_lines(app) if "(active)" in line and "ready" in line)
            assert own.split("ready")[1].split()[4].replace(".", "").isdigit(), own  # on screen at 80 columns
            assert RATE_SOON_S < REFRESH_S

    with steady_requests(zoo.grpc_url):
        asyncio.run(scenario())
