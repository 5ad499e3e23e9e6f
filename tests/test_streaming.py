"""Decoupled (streaming) and sequence models on the real bundled server (tests/modelzoo.py's ``tokens``,
``midfail``, ``running_sum`` and ``textgen``): responses in order over gRPC and HTTP, their times against
the model's own gap, a model error mid-stream, cancellation, interleaved sequences."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import run_cli, url_args
from tests.helpers import http_server
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
        cfg = stream.sequence_config(c.model_info("running_sum").config)
        assert cfg.describe() == "direct, idle timeout 5 s, control inputs START (start), READY (ready)"
        assert stream.sequence_config(c.model_info("tokens").config) is None
    finally:
        c.close()


# ------------------------------------------------------------------------------------------- CLI


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_cli_infer_streams_json_per_response_then_a_summary(zoo, protocol):
    r = run_cli(
        "infer", "textgen", *url_args(zoo, protocol), "--input", "text_input=text:alpha beta gamma", "--json"
    )
    assert r.returncode == 0, r.stderr
    *responses, summary = _lines(r.stdout)
    assert [x["index"] for x in responses] == [0, 1, 2]
    assert [x["outputs"][0]["values"] for x in responses] == [["gamma "], ["beta "], ["alpha "]]
    assert responses[0]["outputs"][0]["name"] == "text_output"
    assert [x["t_ms"] for x in responses] == sorted(x["t_ms"] for x in responses)
    assert summary["responses"] == 3 and summary.keys() == {"responses", "ttft_ms", "itl_ms", "total_ms"}
    assert 0.8 * GAP <= summary["itl_ms"]["p50"] <= GAP + 200


def test_cli_infer_text_lines_and_a_mid_stream_error(zoo):
    r = run_cli("infer", "midfail", *url_args(zoo, "grpc"))
    assert r.returncode == 1
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["#0", "#1"]
    assert "OUT=2" in r.stdout.splitlines()[2]
    assert r.stderr.strip() == "error: midfail failed after 2 responses: ran out of [bold]tokens[/]"


def test_cli_ctrl_c_cancels_the_stream_and_exits_130(zoo, tmp_path):
    import signal
    import subprocess
    import time

    from tests.conftest import CLI, ROOT
    from tests.helpers import read_until

    count = _count(tmp_path, 500)  # 20 s if not cancelled
    p = subprocess.Popen(
        [*CLI, "infer", "tokens", *url_args(zoo, "grpc"), "--input", f"COUNT={count}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        read_until(p.stdout, "#1 ", 60)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=10) == 130
        assert time.monotonic() - t0 < 5
    finally:
        p.kill()
        p.wait()
    again = run_cli(
        "infer", "tokens", *url_args(zoo, "grpc"), "--input", f"COUNT={_count(tmp_path, 1)}", "--json"
    )
    assert again.returncode == 0 and _lines(again.stdout)[0]["outputs"][0]["values"] == ["tok0"]


def test_cli_infer_sequence_ids_and_the_servers_reason(zoo):
    base = ["infer", "running_sum", *url_args(zoo, "grpc"), "--input", "X=ones", "--json"]

    def total(*flags) -> int:
        r = run_cli(*base, *flags)
        assert r.returncode == 0, r.stderr
        if "--show-call" in flags:  # the call carries the sequence as Triton's request parameters
            assert '"parameters": {"sequence_id": "seq-x", "sequence_start": true}' in r.stderr
        return json.loads(r.stdout)["outputs"][0]["values"][0]

    assert total("--sequence-id", "seq-x", "--sequence-start", "--show-call", "curl") == 1
    assert total("--sequence-id", "seq-x", "--sequence-end") == 2
    r = run_cli(*base, "--sequence-id", "987")
    assert r.returncode == 1
    assert "must specify the START flag on the first request of the sequence" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli(*base)
    assert r.returncode == 2 and "is a sequence model: pass --sequence-id" in r.stderr


def test_cli_show_call_gives_the_streaming_forms(zoo, tmp_path):
    args = ["infer", "tokens", *url_args(zoo, "grpc"), "--input", f"COUNT={_count(tmp_path, 2)}"]
    python = run_cli(*args, "--show-call", "python").stdout
    assert "client.start_stream(" in python and "client.async_stream_infer('tokens'" in python
    pa = run_cli(*args, "--show-call", "perf_analyzer", "--save", str(tmp_path)).stdout
    assert "--streaming" in pa
    curl = run_cli(*args, "--show-call", "curl").stdout
    assert "/v2/models/tokens/generate_stream" in curl and "-d '{\"COUNT\": 2}'" in curl
    # the python form runs as printed: its responses are the model's
    code = python[python.index("import json") :].split("\n# ")[0]
    script = tmp_path / "call.py"
    script.write_text(code)
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line.split(" ms ")[1]) for line in out.stdout.splitlines()] == [
        {"TOKEN": ["tok0"], "INDEX": [0]},
        {"TOKEN": ["tok1"], "INDEX": [1]},
    ]


# ------------------------------------------------------------------------------------------- generate


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_generate_streams_text_and_a_summary_with_the_rate(zoo, protocol):
    args = ["generate", "textgen", *url_args(zoo, protocol), "--text", "one two three four", "--stream"]
    r = run_cli(*args, "--param", "max_tokens=3", "--json")
    assert r.returncode == 0, r.stderr
    *responses, summary = _lines(r.stdout)
    assert [x["outputs"] for x in responses] == [
        {"text_output": "four "},
        {"text_output": "three "},
        {"text_output": "two "},
    ]
    assert summary["responses"] == 3
    assert 0 < summary["responses_per_s"] <= 1000 / (0.8 * GAP)
    if protocol == "grpc":
        return  # the text form is the same code over either protocol
    text = run_cli(*args)
    assert text.returncode == 0, text.stderr
    assert text.stdout == "four three two one \n"
    assert "4 responses" in text.stderr and "responses/s" in text.stderr


def test_generate_without_stream_gets_one_answer_or_one_line(zoo):
    http = url_args(zoo, "http")
    r = run_cli("generate", "textgen", *http, "--text", "solo", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outputs"] == {"text_output": "solo "}
    r = run_cli("generate", "textgen", *http, "--text", "two words")
    assert r.returncode == 2 and r.stderr.strip() == "error: textgen is decoupled (it streams): use --stream"
    r = run_cli("generate", "textgen", *http, "--text", "x", "--param", "max_tokens=many")
    assert r.returncode == 2 and "input max_tokens is INT32" in r.stderr


# ------------------------------------------------------------------------------------------- panes


def test_models_pane_detail_shows_decoupled_and_the_sequence_config(zoo):
    import asyncio

    from tests.helpers import lines_of, rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.models import ModelsPane

    def shown(widget) -> str:
        return " ".join(" ".join(lines_of(widget)).split())  # the detail wraps: compare words

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc", repository=zoo.cfg.repository))
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.press("3")
            pane = app.query_one(ModelsPane)
            table = pane.query_one("#index")
            detail = pane.query_one("#detail-text")
            await wait_for(pilot, lambda: "running_sum" in rows(table), 30, "the index")
            for name, line in (
                ("running_sum", "sequence batching: direct, idle timeout 5 s, control inputs START (start)"),
                ("tokens", "decoupled: responses stream"),
            ):
                table.move_cursor(row=table.get_row_index(name))
                await wait_for(
                    pilot, lambda line=line: line in shown(detail), 30, name, show=lambda: shown(detail)
                )

    asyncio.run(scenario())


def test_try_form_streams_running_text_cancels_and_keeps_a_sequence(zoo, tmp_path):
    import asyncio

    from tests.helpers import lines_of, notifications, rendered, rows, texts, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    (tmp_path / "ten.json").write_text("[10]")
    (tmp_path / "many.json").write_text("[300]")  # 12 s if not cancelled

    async def open_try(pilot, app, name: str, spec: str):
        if app.screen is not app.screen_stack[0]:
            await pilot.press("escape")
        index = app.query_one("#index")
        index.move_cursor(row=index.get_row_index(name))
        await pilot.pause(0.2)
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query("#spec-0")), 20, f"the form of {name}")
        app.screen.query_one("#spec-0").value = spec
        return app.screen

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await pilot.press("3")
            await wait_for(pilot, lambda: "textgen" in rows(app.query_one("#index")), 20, "the model list")

            screen = await open_try(pilot, app, "textgen", "text:one two three")
            screen.query_one("#spec-1").value = f"@{tmp_path / 'ten.json'}"
            await pilot.press("ctrl+r")
            summary, running = screen.query_one("#summary"), screen.query_one("#running")
            await wait_for(
                pilot,
                lambda: "3 responses" in rendered(summary),
                20,
                "the end",
                show=lambda: rendered(summary),
            )
            assert rendered(running) == "three two one "
            assert "first after" in rendered(summary) and "responses/s" in rendered(summary)
            assert "start_stream" in screen.call_text or "generate_stream" in screen.call_text

            def streams() -> list[str]:  # tritonclient reads each gRPC stream in a thread of its own
                return [t.name for t in threading.enumerate() if "_process_response" in t.name]

            screen = await open_try(pilot, app, "tokens", f"@{tmp_path / 'many.json'}")
            # two Runs in one turn of the loop, before any worker can have started a stream: the second is
            # refused from the moment the first asked for one (it used to be refused only once the worker
            # had started the stream, so a quick second Run could start a second one)
            screen.action_run()
            screen.action_run()
            await wait_for(
                pilot,
                lambda: any("a stream is running" in n for n in notifications(app)),
                10,
                "the second Run refused",
                show=lambda: notifications(app),
            )
            summary = screen.query_one("#summary")
            await wait_for(pilot, lambda: "2 responses so far" in rendered(summary), 20, "two responses")
            assert len(streams()) == 1, streams()
            await pilot.press("ctrl+x")
            await wait_for(
                pilot,
                lambda: "then cancelled" in rendered(summary),
                10,
                "cancelled",
                show=lambda: rendered(summary),
            )
            assert "tok" in " ".join(lines_of(screen.query_one("#outputs")))

            # closing the form mid-stream cancels the stream: no worker streams on unseen
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "2 responses so far" in rendered(summary), 20, "streaming again")
            await pilot.press("escape")

            await wait_for(pilot, lambda: not streams(), 5, "no stream left reading", show=streams)

            screen = await open_try(pilot, app, "running_sum", "ones")
            assert screen.query_one("#sequence").display
            screen.query_one("#sequence-id").value = "try-seq"
            table = screen.query_one("#outputs")
            for expected in (1, 2, 3):
                await pilot.press("ctrl+r")
                row = f"SUM INT32 [1] {expected} {expected} {expected} 0 {expected}"
                await wait_for(
                    pilot,
                    lambda row=row: texts(table) == [row],
                    20,
                    f"running sum {expected}",
                    show=lambda: texts(table),
                )
                if expected == 1:
                    assert not screen.query_one("#sequence-start").value  # the next run continues it
            await pilot.press("escape", "q")
        assert app.return_code in (None, 0)

    asyncio.run(scenario())
    from triton_console.tui.core.client.client import TritonClient

    c = TritonClient(zoo.grpc_url, "grpc")
    assert c.probe() == (True, True)
    c.close()


def test_bench_on_a_decoupled_model_measures_ttft_gaps_and_responses_per_second(zoo, tmp_path):
    args = ["bench", "-m", "tokens", *url_args(zoo, "grpc"), "--input", f"COUNT={_count(tmp_path, 5)}"]
    r = run_cli(*args, "--sweep", "1,2", "--requests", "6", "--warmup", "1", "--json")
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)["steps"]
    assert [s["concurrency"] for s in steps] == [1, 2]
    for s in steps:
        assert s["count"] == 6 and s["responses"] == 30 and s["errors"] == 0
        allowed = s["concurrency"] * 1000 / GAP  # each stream gives one response per gap
        # the issue asks for 15%; a shared 2-core machine gets a generous bound (measured: 89-95%)
        assert 0.7 * allowed <= s["responses_per_s"] <= 1.1 * allowed, s
        assert 0.8 * GAP <= s["ttft_ms"]["p50"] <= GAP + 200
        assert 0.8 * GAP <= s["itl_ms"]["p50"] <= GAP + 200


def test_bench_pane_charts_ttft_against_responses_per_second_and_overlays_the_sessions_runs(
    zoo, tmp_path, monkeypatch
):
    """The pane's stream run is saved like any other (the bench process runs with --save) and the next
    run overlays it: TTFT against responses/s."""
    import asyncio

    from tests.helpers import lines_of, rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.load import loadgen
    from triton_console.tui.panes.bench import BenchPane, when

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    count = _count(tmp_path, 3)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("6")
            pane = app.query_one(BenchPane)
            await wait_for(pilot, lambda: "tokens" in pane.models, 20, "ready models")
            pane.query_one("#bench-model").value = "tokens"
            pane.query_one("#bench-inputs").value = f"COUNT={count}"
            pane.query_one("#bench-levels").value = "1,2"
            pane.query_one("#bench-requests").value = "4"
            status = pane.query_one("#bench-status")
            table = pane.query_one("#bench-table")
            chart = pane.query_one("#bench-chart")
            for run in (1, 2):
                await wait_for(  # the last run's process and worker ended (a Run meanwhile is refused)
                    pilot,
                    lambda: not [w for w in app.workers if w.group == "bench" and w.is_running],
                    30,
                    "the bench worker done",
                )
                await pilot.press("b")
                await wait_for(pilot, lambda: "saved" not in rendered(status), 10, f"run {run} started")
                await wait_for(
                    pilot,
                    lambda: "\nsaved: " in rendered(status),
                    60,
                    f"run {run} saved",
                    show=lambda: rendered(status),
                )
                assert table.row_count == 2
                assert len(loadgen.load_runs("tokens")) == run
            assert [str(c.label) for c in table.columns.values()][:3] == ["streams", "resp/s", "TTFT p50"]
            first = [str(c) for c in table.get_row_at(0)]
            assert first[0] == "1"
            # responses/s, not requests/s (a third of it: 3 responses each); the lower bound leaves room
            # for a busy CI machine, where each request's TTFT grew (15.9 resp/s seen at 3 workers)
            assert 0.45 * 1000 / GAP <= float(first[1]) <= 1.1 * 1000 / GAP
            assert "TTFT (ms) vs responses/s" in "".join(lines_of(chart))
            first = loadgen.load_runs("tokens")[1]  # this session's first run, overlaid on the second
            legend = " ".join(lines_of(pane.query_one("#bench-legend")))
            assert "• p50" in legend and f"o p50 {when([first])[0]}" in legend, legend
            await pilot.press("o")  # both saved runs are this session's: none of another session to add
            await wait_for(pilot, lambda: "no saved runs" in rendered(status), 10, "o's answer")
            await pilot.press("q")

    asyncio.run(scenario())


def test_generate_stream_that_never_ends_a_line_is_cut_at_the_response_limit():
    """A server that floods one endless event line: refused at the connection's response limit, quickly
    and without holding more than that (a gevent readline buffered it whole and never timed out)."""
    import time
    from http.server import BaseHTTPRequestHandler

    from triton_console.tui.core.client.client import TOO_LARGE, TritonClient
    from triton_console.tui.core.client.connection import Connection

    class Flood(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"data: " + b"x" * 65536
            try:  # one line of CAP bytes, then the end: a client that reads it whole gets it all
                while sent[0] < CAP:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent[0] += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass

    CAP, sent = 128 * 2**20, [0]
    with http_server(Flood) as server:
        url = f"http://127.0.0.1:{server.server_port}"
        c = TritonClient(connection=Connection(url=url, protocol="http", max_response_bytes=4 * 2**20))
        t0 = time.monotonic()
        with pytest.raises(ConsoleError) as err:
            list(c.stream("m", [], [], threading.Event(), body={"text_input": "x"}))
        assert err.value.code == TOO_LARGE
        assert time.monotonic() - t0 < 10
        # cut at the limit: what the server got out is the limit and the sockets' buffers, not the whole line
        assert sent[0] < 48 * 2**20, sent[0]


def test_cancel_ends_an_http_stream_waiting_between_responses_at_once():
    """A generate_stream that sent one response and waits 30 s for the next: cancelling ends it at once (the
    socket is shut down), not when the next response or the connection's timeout comes. Triton's `tokens`
    waits only 40 ms between responses, too short to tell, so a server of our own holds the gap open."""
    import time
    from http.server import BaseHTTPRequestHandler

    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.client.connection import Connection

    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            event = b'data: {"text_output": "first"}\n\n'
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                release.wait(30)  # the next response is a long way off
            except OSError:
                pass

    with http_server(Slow) as server:
        c = TritonClient(
            connection=Connection(url=f"http://127.0.0.1:{server.server_port}", protocol="http", timeout=60)
        )
        cancelled = threading.Event()
        got = []
        try:
            events = c.stream("m", [], [], cancelled, body={"text_input": "x"})
            with pytest.raises(Cancelled):
                for event in events:
                    got.append(event)
                    t0 = time.monotonic()
                    threading.Timer(0.2, cancelled.set).start()
            assert len(got) == 1
            assert time.monotonic() - t0 < 5  # 30 s (the server's gap) or 60 s (the timeout) without the fix
        finally:
            release.set()  # before the server shuts down: its handler waits on it


def test_bench_rate_on_a_decoupled_model_is_open_loop_and_saved(zoo, tmp_path, monkeypatch):
    """`--rate` on a stream: the load generator's schedule (TTFT from each request's due time, `late`
    counted); `--save` writes the run as the other runs are, and it reads back as a stream run."""
    from triton_console.tui.core.load import loadgen

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    args = ["bench", "-m", "tokens", *url_args(zoo, "grpc"), "--input", f"COUNT={_count(tmp_path, 3)}"]
    r = run_cli(*args, "--rate", "20", "--requests", "10", "--warmup", "1", "--save", "--json")
    assert r.returncode == 0, r.stderr
    run = json.loads(r.stdout)
    assert run["streaming"] is True and run["mode"] == "rate"
    (step,) = run["steps"]
    assert step["rate"] == 20 and "concurrency" not in step and isinstance(step["late"], int)
    assert step["count"] == 10 and step["responses"] == 30 and step["errors"] == 0
    # 20 requests/s of 3 responses: 60 responses/s offered; the last stream's 120 ms end the window
    assert 0.5 * 60 <= step["responses_per_s"] <= 1.1 * 60, step
    assert 0.8 * GAP <= step["ttft_ms"]["p50"] <= GAP + 300
    saved = r.stderr.strip().splitlines()[-1].removeprefix("saved ")
    (back,) = loadgen.load_runs("tokens", directory=loadgen.runs_dir())
    assert str(loadgen.runs_dir()) in saved and back.streaming and back.mode == "rate"
    assert back.steps[0].responses == 30 and back.steps[0].ttft.p50 == step["ttft_ms"]["p50"]
    text = run_cli(*args, "--rate", "20", "--requests", "4", "--warmup", "0")
    assert "20 req/s offered (open loop)" in text.stdout and "late " in text.stdout, text.stdout


def test_bench_perf_analyzer_on_a_decoupled_model_needs_grpc_and_says_how_to_get_it(
    zoo, tmp_path, monkeypatch
):
    args = ["bench", "-m", "tokens", "--input", f"COUNT={_count(tmp_path, 2)}", "--engine", "perf_analyzer"]
    r = run_cli(*args, *url_args(zoo, "http"), timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: tokens is decoupled: perf_analyzer streams it only over gRPC (--streaming); use -i grpc"
    )
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    r = run_cli(*args, *url_args(zoo, "grpc"), timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: perf_analyzer is not on PATH: pip install")


def test_generate_on_a_model_without_text_names_what_it_takes(zoo):
    """A newcomer's `generate` on an image-like model read "needs input input" and ignored --json."""
    for protocol in ("grpc", "http"):
        r = run_cli("generate", "chw_fp32", *url_args(zoo, protocol))
        assert r.returncode == 2 and r.stdout == ""
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith("error: chw_fp32 takes INPUT FP32 [-1, 3, 8, 8], no text: generate needs")
        assert "text (BYTES) input" in line and "--param NAME=VALUE" in line
    r = run_cli("generate", "chw_fp32", *url_args(zoo, "grpc"), "--json")
    assert r.returncode == 2
    obj = json.loads(r.stdout)
    assert obj.keys() == {"model", "error", "code"} and obj["model"] == "chw_fp32"
    assert obj["error"].startswith("chw_fp32 takes INPUT FP32 [-1, 3, 8, 8], no text")
    r = run_cli("generate", "chw_fp32", *url_args(zoo, "grpc"), "--text", "hi", "--json")
    assert (
        r.returncode == 2 and "has no text_input input (it takes INPUT FP32" in json.loads(r.stdout)["error"]
    )


def test_metrics_pane_says_when_the_server_does_not_count_a_decoupled_models_responses(zoo, tmp_path):
    """Triton 2.51 leaves response_stats empty for a decoupled Python model (the Python backend never
    reports response statistics) and has no first-response histogram: the pane says so in one line."""
    import asyncio

    from tests.helpers import rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.panes.metrics import MetricsPane

    c = TritonClient(zoo.grpc_url, "grpc")
    try:
        for _ in range(2):
            list(_run(c, "tokens", COUNT=_count(tmp_path, 2)))
        (stats,) = [s for s in c.model_statistics("tokens").items if s.name == "tokens"]
        assert stats.inference_count >= 2 and stats.responses is None  # served, but no response counts
    finally:
        c.close()

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("5")
            pane = app.query_one(MetricsPane)
            rates = pane.query_one("#rates")
            await wait_for(pilot, lambda: "tokens" in rates.keys and "nobatch" in rates.keys, 20, "the rows")
            line = pane.query_one("#metrics-responses")
            rates.move_cursor(row=rates.get_row_index("tokens"))
            want = "tokens: responses: not reported by this server for decoupled Python models"
            await wait_for(
                pilot,
                lambda: line.display and rendered(line) == want,
                10,
                "the line",
                show=lambda: rendered(line),
            )
            rates.move_cursor(row=rates.get_row_index("nobatch"))  # not decoupled: no line
            await wait_for(pilot, lambda: not line.display, 10, "no line")
            await pilot.press("q")

    asyncio.run(scenario())
