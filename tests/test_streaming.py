"""Decoupled (streaming) and sequence models on the real bundled server (tests/modelzoo.py's ``tokens``,
``midfail``, ``running_sum`` and ``textgen``): responses in order over gRPC and HTTP, their times against
the model's own gap, a model error mid-stream, cancellation, interleaved sequences."""

from __future__ import annotations

import json
import threading

import pytest

from tests.modelzoo import TOKEN_GAP_MS
from triton_console.common.errors import Cancelled, ConsoleError

GAP = TOKEN_GAP_MS


@pytest.fixture(params=["grpc", "http"])
def zclient(request, zoo):
    from triton_console.tui.core.client.client import TritonClient

    url = zoo.grpc_url if request.param == "grpc" else zoo.http_url
    c = TritonClient(url, request.param, timeout=30)
    yield c
    c.close()


def _run(client, model: str, **specs):
    from triton_console.tui.core.request import infer, stream

    plans = infer.plan_inputs(client.model_info(model), specs)
    return stream.start(client, model, plans)


def _count(tmp_path, n: int) -> str:
    path = tmp_path / f"count{n}.json"
    path.write_text(json.dumps([n]))
    return f"@{path}"


def test_decoupled_responses_arrive_in_order_with_the_models_gap(zclient, tmp_path):
    from triton_console.tui.core.request import stream

    assert stream.is_decoupled(zclient.model_info("tokens"))
    assert not stream.is_decoupled(zclient.model_info("running_sum"))
    run = _run(zclient, "tokens", COUNT=_count(tmp_path, 5))
    got = [(r.index, {o.name: o.values for o in r.outputs}) for r in run]
    assert got == [(i, {"TOKEN": [f"tok{i}"], "INDEX": [i]}) for i in range(5)]
    s = run.summary
    assert s.responses == 5
    # generous bounds: the model sleeps GAP ms before each response; a hang or a batch at the end fails
    assert 0.8 * GAP <= s.ttft_ms <= GAP + 500
    assert 0.8 * GAP <= s.itl_p50_ms <= GAP + 200
    assert s.total_ms >= 5 * 0.8 * GAP
    assert s.to_dict()["itl_ms"].keys() == {"p50", "p99"}


def test_text_model_streams_its_words(zclient):
    run = _run(zclient, "textgen", text_input="text:one two three")
    assert "".join(r.text() for r in run) == "three two one "
    assert run.summary.responses == 3


def test_model_error_mid_stream_after_what_arrived(zclient):
    run = _run(zclient, "midfail")
    seen = []
    with pytest.raises(ConsoleError) as err:
        for r in run:
            seen.append(r.outputs[0].values)
    assert seen == [[1], [2]]
    assert err.value.exit_code == 1
    assert str(err.value) == "midfail failed after 2 responses: ran out of [bold]tokens[/]"


def test_cancel_stops_the_stream_and_the_server_stays_healthy(zclient, tmp_path):
    run = _run(zclient, "tokens", COUNT=_count(tmp_path, 200))  # 8 s if not cancelled
    got = 0
    with pytest.raises(Cancelled):
        for _ in run:
            got += 1
            if got == 2:
                threading.Timer(0.01, run.cancel).start()
    assert 2 <= got <= 4
    assert run.summary.total_ms < 3000
    assert zclient.probe() == (True, True)
    again = _run(zclient, "tokens", COUNT=_count(tmp_path, 2))
    assert [r.outputs[0].values for r in again] == [["tok0"], ["tok1"]]


def test_two_interleaved_sequences_are_kept_apart(zclient):
    from triton_console.tui.core.client.transport import InputTensor, OutputRequest, Sequence

    def step(seq_id, x, start=False, end=False):
        import numpy as np

        out, _ = zclient.infer(
            "running_sum",
            [InputTensor("X", "INT32", np.array([x], dtype=np.int32))],
            [OutputRequest("SUM")],
            sequence=Sequence(seq_id, start, end),
        )
        return int(out["SUM"][0])

    a, b = (41, "chat-b") if zclient.protocol == "grpc" else ("chat-a", 42)
    assert step(a, 1, start=True) == 1
    assert step(b, 100, start=True) == 100
    assert step(a, 2) == 3
    assert step(b, 200) == 300
    assert step(a, 3, end=True) == 6
    assert step(b, 300, end=True) == 600


def test_sequence_config_is_read_from_the_model_config(zoo):
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.request import stream

    c = TritonClient(zoo.grpc_url, "grpc")
    try:
        cfg = stream.sequence_config(c.model_info("running_sum"))
        assert cfg.describe() == "direct, idle timeout 5 s, control inputs START (start), READY (ready)"
        assert stream.sequence_config(c.model_info("tokens")) is None
    finally:
        c.close()
