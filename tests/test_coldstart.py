"""Cold start and warm-up on a real server (explicit mode) with a model whose first execute is slow
(tests/modelzoo.py's ``cold``): without a model_warmup block the first request after a load pays for it;
with the block the console generates, the load pays and the first request is fast. Measured by the core,
by every tune trial, by the Models pane's l, and by the config editor's apply after its ctrl+w."""

from __future__ import annotations

import pytest

from tests import modelzoo
from tests.helpers import deploy_target, explicit_server, select_model

pytestmark = pytest.mark.server

COLD_MS = modelzoo.COLD_S * 1000
FAST_MS = COLD_MS / 2  # a generous bound for a warm request (milliseconds when the machine is idle)


@pytest.fixture(scope="module")
def cold_server(tmp_path_factory, stopping):
    """Stopped beside the session's servers at the end, not in the module's time (its stubs unload for seconds)."""
    root = modelzoo.write_first_seen(modelzoo.write_cold(tmp_path_factory.mktemp("cold") / "models"))
    with explicit_server(root, stop_in=stopping) as s:
        yield s


@pytest.fixture
def target(cold_server):
    with deploy_target(cold_server, "cold") as t:  # then the files' config (no warm-up) serves again
        yield t


def test_the_generated_warm_up_block_moves_the_cold_start_into_the_load(target):
    import time

    from triton_console.tui.core.tune import coldstart, deploy

    base = deploy.file_config(target)
    deploy.apply(target, base)  # a fresh instance: its first execute is cold
    without = coldstart.measure(target.client, "cold")
    assert not without.has_warmup
    assert without.first_ms >= COLD_MS * 0.9, without.describe()
    assert without.warm_p50_ms < FAST_MS, without.describe()
    assert "no model_warmup in the config" in without.describe()

    warmed = deploy.file_config(target)
    warmed.model_warmup.append(coldstart.warmup_block(warmed, "random", count=2))
    t0 = time.perf_counter()
    deploy.apply(target, warmed)
    assert (time.perf_counter() - t0) * 1000 >= COLD_MS * 0.9  # the load ran the warm-up
    served = target.client.model_config("cold")
    assert served.model_warmup[0].inputs["X"].random_data
    with_block = coldstart.measure(target.client, "cold")
    assert with_block.has_warmup
    assert with_block.first_ms < FAST_MS, with_block.describe()


def test_every_tune_trial_times_its_first_request_and_says_whether_it_warms_up(target):
    from triton_console.tui.core.load import loadgen
    from triton_console.tui.core.tune import coldstart, deploy, fields, sweep

    work = loadgen.tensor_workload(target.client, "cold", {"X": "ones"})
    sets = [fields.parse_set("instance_group.count=1")]

    def trial():
        result = sweep.run(target, work, sets, [1], requests=8, warmup=2)
        (t,) = result.trials
        assert t.status == "ok", t.reason
        return t, result.to_dict()["trials"][0]

    t, d = trial()
    assert t.first_request_ms >= COLD_MS * 0.9 and t.p50_ms < FAST_MS
    assert d["model_warmup"] is False and d["first_request_ms"] == round(t.first_request_ms, 3)

    config = deploy.file_config(target)
    deploy.write(target, coldstart.insert(target.file.read_text(), coldstart.warmup_block(config)))
    t, d = trial()  # the trial's config is the file's, now with the block
    assert d["model_warmup"] is True
    assert t.first_request_ms < FAST_MS
    assert f"first {t.first_request_ms:.0f} ms (model_warmup)" in t.describe()  # the Tune pane's line


def test_warm_up_block_text_parses_and_feeds_every_input():
    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.tune import coldstart
    from triton_console.tui.core.tune import config as cfg

    text = (
        'name: "m"\nbackend: "python"\nmax_batch_size: 4\n'
        'input [ { name: "A" data_type: TYPE_FP16 dims: [ -1, 3 ] }, '
        '{ name: "S" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
    )
    config = cfg.parse(text, "m")
    block = coldstart.warmup_block(config, "random", files={})
    parsed = cfg.parse(coldstart.insert(text, block), "m")
    w = parsed.model_warmup[0]
    assert w.batch_size == 1 and w.count == 1
    assert list(w.inputs["A"].dims) == [1, 3] and w.inputs["A"].random_data
    assert w.inputs["S"].zero_data  # Triton has no random strings
    with pytest.raises(ConsoleError, match="zero or random"):
        coldstart.warmup_block(config, "ones")


def test_models_l_shows_the_cold_start_and_the_editor_inserts_a_warm_up_that_removes_it(cold_server, target):
    import asyncio
    import re

    from textual.widgets import TextArea

    from tests.helpers import lines_of, rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    original = target.file.read_text()
    from triton_console.tui.core.client.connection import Connection

    connection = Connection(url=cold_server.grpc_url, protocol="grpc", metrics_url=cold_server.metrics_url)
    opts = ConsoleOptions(connection=connection, repository=cold_server.cfg.repository)

    def first_ms(text: str) -> float:
        text = " ".join(text.split())  # as wrapped on screen
        return float(re.search(r"first request ([\d.]+) ms, warm p50 [\d.]+ ms", text).group(1))

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30)) as pilot:
            await select_model(pilot, app, "cold", 30)
            await pilot.pause(0.2)
            await pilot.press("l")  # a reload: a fresh instance, cold
            detail = app.query_one("#detail-text")

            def shown() -> str:
                return " ".join(" ".join(lines_of(detail)).split())

            await wait_for(pilot, lambda: "cold start" in shown(), 30, "the cold start", show=shown)
            seen = shown()
            assert first_ms(seen) >= COLD_MS * 0.9 and "no model_warmup in the config" in seen
            # memory: a CPU server (its metrics answer, without a GPU in them) and the model's stub
            await wait_for(
                pilot, lambda: "memory (after the last l)" in shown(), 30, "the memory", show=shown
            )
            seen = shown()
            assert "GPU memory: no GPU metrics on this server" in seen
            assert "GPU memory: no GPU metrics on this server (" not in seen  # the endpoint did answer
            stub = re.search(r"Python stubs resident: (\d+) MiB \(1 instance\)", seen)
            assert stub and int(stub.group(1)) > 10, seen

            await pilot.press("e")
            screen = app.screen
            area = screen.query_one("#config-text", TextArea)
            await wait_for(pilot, lambda: area.text == original, 20, "the file's text in the editor")
            await pilot.press("ctrl+w")  # the choice: zero data once, as it opens; enter inserts
            await wait_for(pilot, lambda: bool(app.screen.query("#warmup-count")), 10, "the warm-up choice")
            assert not app.screen.query("#warmup-sample")  # no BYTES input: no sample to choose
            await pilot.press("enter")
            await wait_for(pilot, lambda: "model_warmup" in area.text, 10, "the block")
            assert area.text.startswith(original)
            assert "model_warmup [" in area.text and "zero_data: true" in area.text
            assert "✓ parses" in rendered(screen.query_one("#config-check"))
            state = screen.query_one("#config-state")
            assert "warm-up inserted (zero data for X)" in rendered(state)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "applied, not written" in rendered(state), 30, "applied")
            said = rendered(state)
            assert "model_warmup in the config" in said and first_ms(said) < FAST_MS, said
            assert target.file.read_text() == original  # applied only
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())


def test_a_bytes_sample_goes_to_the_warmup_folder_in_tritons_layout_and_is_never_overwritten(tmp_path):
    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.tune import coldstart
    from triton_console.tui.core.tune import config as cfg

    name = coldstart.write_sample(tmp_path, "TEXT", "héllo")
    assert name == "TEXT.bin"
    assert (tmp_path / "warmup" / name).read_bytes() == b"\x06\x00\x00\x00h\xc3\xa9llo"
    assert coldstart.write_sample(tmp_path, "TEXT", "héllo") == name  # the same content: fine
    with pytest.raises(ConsoleError, match="not overwritten"):
        coldstart.write_sample(tmp_path, "TEXT", "other")
    config = cfg.parse(
        'name: "m"\nbackend: "python"\ninput [ { name: "TEXT" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n',
        "m",
    )
    w = coldstart.warmup_block(config, files={"TEXT": name})
    assert w.inputs["TEXT"].input_data_file == "TEXT.bin"


@pytest.fixture
def first_seen(cold_server):
    with deploy_target(cold_server, "first_seen") as t:
        yield t


def test_editor_warm_up_choice_feeds_a_bytes_input_the_classify_panes_image_and_measures_again(
    cold_server, first_seen
):
    """At 80x24: ctrl+w offers zero/random, a count and, for the BYTES input, the Classify pane's last image
    as the sample; ctrl+s inserts and applies it, and the first request is measured again. The model answers
    the length of the first DATA it saw: the warm-up's, i.e. the image's bytes."""
    import asyncio
    import re
    import struct

    from textual.widgets import TextArea

    from tests.conftest import image
    from tests.helpers import rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.request import infer
    from triton_console.tui.core.tune import coldstart

    mug = image("mug.jpg")
    original = first_seen.file.read_text()
    opts = ConsoleOptions(url=cold_server.grpc_url, protocol="grpc", repository=cold_server.cfg.repository)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one("ClassifyPane").last_paths = [str(mug)]  # as after classifying it
            await select_model(pilot, app, "first_seen", 30)
            await pilot.pause(0.2)
            await pilot.press("e")
            editor = app.screen
            area = editor.query_one("#config-text", TextArea)
            await wait_for(pilot, lambda: area.text == original, 20, "the file's text in the editor")
            await pilot.press("ctrl+w")
            await wait_for(pilot, lambda: bool(app.screen.query("#warmup-sample")), 10, "the warm-up choice")
            form = app.screen
            assert form.query_one("#warmup-sample").value == str(mug)  # the Classify pane's last image
            assert "the Classify pane's last image" in rendered(form.query_one("#warmup-note"))
            for button in ("#insert", "#apply", "#cancel"):  # the whole form fits at 80x24
                r = form.query_one(button).region
                assert r.right <= 80 and r.bottom <= 24 and r.width > 0, (button, r)
            count = form.query_one("#warmup-count")
            count.value = "0"
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
            assert app.screen is form  # refused: one line, the form stays
            count.value = "2"
            await pilot.press("ctrl+s")  # insert and apply
            state = editor.query_one("#config-state")
            await wait_for(
                pilot,
                lambda: "applied, not written" in rendered(state),
                60,
                "applied",
                show=lambda: rendered(state),
            )
            said = " ".join(rendered(state).split())
            assert "model_warmup in the config" in said, said
            first = float(re.search(r"first request ([\d.]+) ms", said).group(1))
            assert first < FAST_MS, said  # the warm-up paid the cold start at the load
            assert 'input_data_file: "DATA.bin"' in area.text and "count: 2" in area.text
            assert 'name: "warmup_sample"' in area.text
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())
    data = mug.read_bytes()
    sample = first_seen.file.parent / "warmup" / "DATA.bin"
    assert sample.read_bytes() == struct.pack("<I", len(data)) + data  # Triton's layout
    assert first_seen.file.read_text() == original  # applied, not written
    served = first_seen.client.model_config("first_seen")
    assert served.model_warmup[0].count == 2
    out = infer.run(first_seen.client, "first_seen", coldstart.small_request(first_seen.client, "first_seen"))
    assert int(out.outputs[0].array.reshape(-1)[0]) == len(data)  # the instance's first DATA was the image
