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
