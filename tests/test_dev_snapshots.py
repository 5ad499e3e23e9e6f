"""The ensemble graph in the Models pane at 80x24 (no live server: the detail is injected as the pane's own
message, built by the real checks and graph from parsed configs)."""

from __future__ import annotations

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.helpers import lines_of, wait_for
from tests.test_snapshots import SIZE, make_app
from triton_console.tui.core.client.responses import IndexEntry, ServerMetadata
from triton_console.tui.core.request import ensemble
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.messages import ModelDetail

STEP = (
    'name: "{n}" backend: "python" input [ {{ name: "X" data_type: {t} dims: [ 4 ] }} ] '
    'output [ {{ name: "Y" data_type: {t} dims: [ 4 ] }} ]'
)
ENSEMBLE = (
    'name: "ens" platform: "ensemble" input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ] '
    'output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ] ensemble_scheduling { step [ '
    '{ model_name: "add1" input_map { key: "X" value: "IN" } output_map { key: "Y" value: "MID" } }, '
    '{ model_name: "int_in" input_map { key: "X" value: "MID" } output_map { key: "Y" value: "OUT" } } ] }'
)


def test_ensemble_graph_snapshot(snap_compare):
    configs = {
        n: text_format.Parse(STEP.format(n=n, t=t), mc.ModelConfig())
        for n, t in (("add1", "TYPE_FP32"), ("int_in", "TYPE_INT32"))
    }
    config = text_format.Parse(ENSEMBLE, mc.ModelConfig())

    def lookup(name):
        return configs.get(name), "READY"

    parts = [
        ("ensemble checks", "\n".join(ensemble.check(config, lookup))),
        ("ensemble steps", "\n".join(ensemble.graph(config, lookup))),
    ]

    async def setup(pilot):
        app = pilot.app
        snap = ServerSnapshot(
            url=app.controller.client.url,
            live=True,
            ready=True,
            server=ServerMetadata("triton", "2.51.0", ()),
            models=[
                IndexEntry("add1", "1", "READY"),
                IndexEntry("ens", "", ""),
                IndexEntry("int_in", "1", "READY"),
            ],
            models_from="repository index",
        )
        pane = app.query_one("ModelsPane")
        pane.show_snapshot(snap)
        await pilot.press("3")
        index = app.query_one("#index")
        index.move_cursor(row=index.get_row_index("ens"))
        detail = app.query_one("#detail-text")
        await wait_for(pilot, lambda: "unavailable" in " ".join(lines_of(detail)), 20, "the detail")
        for _ in range(20):  # after the pane's own fetch (it cannot reach the server) has answered
            pane.post_message(ModelDetail("ens", parts))
            await pilot.pause(0.2)
            if "ensemble steps" in " ".join(lines_of(detail)):
                break
        assert "ensemble steps" in " ".join(lines_of(detail)), lines_of(detail)

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def _traced(n: int):
    """Three requests of a two-step ensemble as ``trace.requests_of`` cuts them (40 ms per step)."""
    from triton_console.tui.core.server import trace

    requests = []
    for i in range(n):
        t, spans = 0.0, []
        for model in ("slow1", "slow2"):
            for stage, ms in (
                ("queue", 0.08),
                ("compute input", 0.04),
                ("infer", 40.5 + i),
                ("compute output", 0.2),
            ):
                spans.append(trace.Span(model, stage, t, ms))
                t += ms
        spans.append(trace.Span("ens_slow", "send", t, 0.21))
        requests.append(trace.Request(t + 0.21, spans, t + 1.1))
    return trace.Trace("ens_slow", "trace", requests, trace.percentiles(requests), file="/tmp/trace.json")


def test_trace_view_snapshot(snap_compare):
    """The Try form's trace (ctrl+t) at 80x24: whole lines, a bar per stage (the result injected as the
    screen's own message once its request to the unreachable server has failed)."""
    from triton_console.tui.panes.traceview import TraceDone, TraceScreen

    async def setup(pilot):
        app = pilot.app
        await app.push_screen(TraceScreen(app.controller, "ens_slow", lambda info: [], "IN=ones"))
        title = app.screen.query_one("#trace-title")
        await wait_for(pilot, lambda: "failed" in " ".join(lines_of(title)), 20, "the refused request")
        app.screen.post_message(TraceDone("ens_slow", _traced(3)))
        body = app.screen.query_one("#trace-body")
        await wait_for(
            pilot, lambda: "per stage over 3 requests" in " ".join(lines_of(body)), 10, "the trace"
        )

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_trace_view_says_when_it_shows_the_statistics():
    """A server whose trace file is out of reach: the view says so in one line and shows the steps' means
    (the result as ``trace.run`` returns it then, injected once the request to the unreachable server failed)."""
    import asyncio

    from triton_console.tui.core.server import trace
    from triton_console.tui.panes.traceview import TraceDone, TraceScreen

    note = "the server's trace file is not readable here (/elsewhere/trace.json): statistics instead"
    result = trace.Trace(
        "ens_slow",
        "statistics",
        [trace.Request(82.5, [], 82.5), trace.Request(81.0, [], 81.0)],
        [
            {"model": "slow1", "stage": "queue", "mean_ms": 0.07},
            {"model": "slow1", "stage": "compute", "mean_ms": 40.6},
        ],
        note=note,
    )

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await app.push_screen(TraceScreen(app.controller, "ens_slow", lambda info: [], "IN=ones"))
            title = app.screen.query_one("#trace-title")
            await wait_for(pilot, lambda: "failed" in " ".join(lines_of(title)), 20, "the refused request")
            app.screen.post_message(TraceDone("ens_slow", result))
            body = app.screen.query_one("#trace-body")
            await wait_for(pilot, lambda: "per stage" in " ".join(lines_of(body)), 10, "the breakdown")
            text = [ln.rstrip() for ln in lines_of(body)]
            assert "from the statistics" in " ".join(lines_of(title))
            assert " ".join(text).startswith("note: the server's trace file is not readable here")
            assert "  slow1  compute        mean   40.600" in text and not any("█" in ln for ln in text)

    asyncio.run(scenario())
