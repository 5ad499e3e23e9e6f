"""Change a deployment: config text checked here, applied as an override on a real server (explicit mode),
refused with the server's real reason, reverted, written back; and the tuner on models whose speed depends on
their config in a known way (tests/modelzoo.py's tuning models)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests import modelzoo
from tests.helpers import deploy_target, explicit_server, select_model
from triton_console.common.errors import ConsoleError

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, stopping):
    """A server of this module's own (explicit mode) on the two tuning models; a test that changes a file
    restores it, and every test leaves the models serving their files' config. Stopped beside the session's
    servers at the end (SIGTERM to exit took ~6 s of the module's time)."""
    root = modelzoo.write_tuning(tmp_path_factory.mktemp("tune") / "models")
    with explicit_server(root, stop_in=stopping) as s:
        yield s


@pytest.fixture
def target(tuned):
    with deploy_target(tuned, "per_request") as t:
        yield t


def served(target):
    return target.client.model_config(target.name)


# ------------------------------------------------------------------------------------------ config text


def test_a_syntax_error_names_its_line():
    from triton_console.tui.core.tune import config

    text = 'name: "m"\nbackend: "python"\nmax_batch_size: 8\ninstance_group [ { count: two } ]\n'
    with pytest.raises(ConsoleError) as err:
        config.parse(text, "m")
    assert err.value.problem.line == 4
    assert str(err.value.problem) == "line 4: Couldn't parse integer: two"  # the line is not quoted back
    with pytest.raises(ConsoleError, match="no field named"):
        config.parse('name: "m"\nbackend: "python"\nmax_batchsize: 8\n', "m")


def test_what_triton_would_refuse_is_found_here():
    from triton_console.tui.core.tune import config

    text = (
        'name: "m"\nbackend: "python"\nmax_batch_size: 2\ndynamic_batching { preferred_batch_size: [ 4 ] }\n'
    )
    with pytest.raises(ConsoleError, match=r"preferred size \[4\] must be <= max_batch_size 2"):
        config.parse(text, "m")
    with pytest.raises(ConsoleError, match="must be the model's name 'm'"):
        config.parse('name: "other"\nbackend: "python"\n', "m")
    c = config.parse('backend: "python"\nmax_batch_size: 8\n', "m")
    assert c.name == "m"  # a config without a name is named after its model, as Triton does
    c.dynamic_batching.preferred_batch_size.extend([2, 8])
    c.max_batch_size = 4
    assert config.follow(c) and list(c.dynamic_batching.preferred_batch_size) == [2]


# ------------------------------------------------------------------------------------------ apply


def test_apply_serves_the_new_config_and_leaves_the_file(target):
    from triton_console.tui.core.tune import config, deploy

    before = target.file.read_bytes()
    source = deploy.read(target)
    assert source.from_file and source.text == before.decode()
    new = (
        source.text.replace("count: 1", "count: 2")
        + "dynamic_batching { max_queue_delay_microseconds: 500 }\n"
    )
    deploy.apply(target, config.parse(new, target.name))
    now = served(target)
    assert now.instance_group[0].count == 2
    assert now.dynamic_batching.max_queue_delay_microseconds == 500
    assert target.file.read_bytes() == before
    deploy.revert(target)  # a plain load would keep the override: revert loads the files' config
    assert served(target).instance_group[0].count == 1
    assert not served(target).HasField("dynamic_batching")


def test_a_refused_config_says_why_and_the_previous_one_keeps_serving(target):
    from triton_console.tui.core.tune import config, deploy

    c = config.copy(served(target))
    c.dynamic_batching.max_queue_delay_microseconds = 100
    deploy.apply(target, c)
    # the server answers only "failed to poll from model repository": the reason comes from its log
    bad = config.copy(c)
    bad.dynamic_batching.priority_levels = 2
    bad.dynamic_batching.default_priority_level = 5
    with pytest.raises(ConsoleError) as err:
        deploy.apply(target, bad)
    assert err.value.code == deploy.REFUSED
    assert "default priority level must be in range [1, 2]" in err.value.message
    assert "failed to poll" not in err.value.message and "\n" not in err.value.message
    assert err.value.message.endswith("the previous config keeps serving")
    # a refusal the server words itself (no GPU here)
    gpu = config.copy(c)
    gpu.instance_group[0].kind = gpu.instance_group[0].KIND_GPU
    with pytest.raises(ConsoleError, match="no GPUs are available.*previous config keeps serving"):
        deploy.apply(target, gpu)
    # built from the server's auto-completed config (preferred_batch_size [8] filled in), lowering
    # max_batch_size alone: found here, before anything is sent
    low = config.copy(served(target))
    low.max_batch_size = 2
    with pytest.raises(ConsoleError, match=r"preferred size \[8\] must be <= max_batch_size 2"):
        deploy.apply(target, low)
    assert served(target).dynamic_batching.max_queue_delay_microseconds == 100
    assert target.client.is_model_ready(target.name)


def test_write_shows_a_diff_then_keeps_the_previous_file(target):
    from triton_console.tui.core.tune import deploy

    old = target.file.read_text()
    new = old.replace("max_batch_size: 8", "max_batch_size: 4")
    d = deploy.diff(target, new)
    assert "-max_batch_size: 8" in d and "+max_batch_size: 4" in d
    with pytest.raises(ConsoleError, match="line 1"):
        deploy.write(target, "name: {")
    assert target.file.read_text() == old
    backup = deploy.write(target, new)
    assert backup.read_text() == old
    assert target.file.read_text() == new
    deploy.revert(target)
    assert served(target).max_batch_size == 4


def test_remote_targets_cannot_write_and_revert_reloads(tuned):
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.tune import config, deploy

    client = TritonClient(tuned.http_url, "http", timeout=60)
    t = deploy.Target(client, "per_execution")  # no repository: as for a remote server
    src = deploy.read(t)
    assert not src.from_file and 'name: "per_execution"' in src.text
    with pytest.raises(ConsoleError, match="no config.pbtxt on this machine"):
        deploy.diff(t, src.text)
    c = config.parse(src.text, t.name)
    c.instance_group[0].count = 2
    deploy.apply(t, c)
    assert client.model_config(t.name).instance_group[0].count == 2
    deploy.revert(t, original=src.served)
    assert client.model_config(t.name).instance_group[0].count == 1
    client.close()


def test_a_server_without_model_control_says_how(tmp_path, stopping):
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.tune import config, deploy

    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(modelzoo.write_tuning(tmp_path / "all") / "per_execution", root / "per_execution")
    with explicit_server(root, model_control="none", stop_in=stopping) as s:
        client = TritonClient(s.grpc_url, "grpc", timeout=60)
        t = deploy.Target(client, "per_execution", root)
        with pytest.raises(ConsoleError, match="model control none") as err:
            deploy.apply(t, config.parse(t.file.read_text(), t.name))
        assert "--model-control explicit" in err.value.hint
        client.close()
        _unload_says_as_the_cli_does(s, root, "per_execution")


def _unload_says_as_the_cli_does(server, root, model: str) -> None:
    """u in the Models pane on a server that takes no unloads: the CLI's one line (its hint as the console
    words it), not another wording."""
    import asyncio
    import contextlib
    import io

    from tests.helpers import notifications, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["unload", model, "-u", server.grpc_url]) == 1
    line = out.getvalue().strip()
    assert (
        line.startswith(f"{model}: unload failed: ")
        and "start the server with --model-control explicit" in line
    )
    said = line.split(" (start the server")[0]

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=root))
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await select_model(pilot, app, model, 30)
            await pilot.pause(0.3)
            await pilot.press("u", "u")  # u asks first; u again unloads
            shown = lambda: [n for n in notifications(app) if "unload failed" in n]  # noqa: E731
            await wait_for(pilot, shown, 30, "the refusal", show=lambda: notifications(app))
            toast = " ".join(shown()[0].split())
            assert said in toast and "the server must run with --model-control explicit" in toast, (
                said,
                toast,
            )

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ the editor


def test_editor_checks_as_you_type_applies_reverts_and_writes_after_the_diff(tuned, target):
    import asyncio

    from textual.widgets import TextArea

    from tests.helpers import rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    original = target.file.read_text()
    opts = ConsoleOptions(url=tuned.grpc_url, protocol="grpc", repository=tuned.cfg.repository)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30)) as pilot:
            await select_model(pilot, app, "per_request", 30)
            await pilot.pause(0.2)
            await pilot.press("e")
            screen = app.screen
            area = screen.query_one("#config-text", TextArea)
            await wait_for(pilot, lambda: area.text == original, 20, "the file's text in the editor")
            check, state = screen.query_one("#config-check"), screen.query_one("#config-state")
            assert str(target.file) in rendered(screen.query_one("#config-title"))

            def edit(text: str) -> None:
                area.replace(text, (0, 0), area.document.end)

            edit(original.replace("count: 1", "count: two"))
            await wait_for(
                pilot,
                lambda: "✗ line 6:" in rendered(check),
                5,
                "the error with its line",
                show=lambda: rendered(check),
            )
            await pilot.press("ctrl+s")  # refused here: nothing is sent
            await pilot.pause(0.2)
            assert rendered(state) == ""
            edit(original.replace("count: 1", "count: 2"))
            await wait_for(pilot, lambda: "✓ parses" in rendered(check), 5, "the text parses")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "applied, not written" in rendered(state), 30, "applied")
            assert target.client.model_config("per_request").instance_group[0].count == 2
            assert target.file.read_text() == original
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "reverted" in rendered(state), 30, "reverted")
            assert target.client.model_config("per_request").instance_group[0].count == 1
            await wait_for(pilot, lambda: area.text == original, 20, "the file's text again")
            edit(original.replace("count: 1", "count: 2"))
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: app.screen is not screen, 5, "the diff")
            shown = rendered(app.screen.query_one("#diff Static"))
            assert "-instance_group [ { kind: KIND_CPU count: 1 } ]" in shown
            assert "+instance_group [ { kind: KIND_CPU count: 2 } ]" in shown
            await pilot.press("y")
            await wait_for(pilot, lambda: "written" in rendered(state), 10, "written")
            assert "not applied yet" in rendered(state)
            assert target.file.read_text() == original.replace("count: 1", "count: 2")
            assert target.file.with_name("config.pbtxt.bak").read_text() == original
            await pilot.press("escape")
            await pilot.pause(0.2)
            assert app.screen is not screen
            await pilot.press("q")

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ fields


def test_fields_by_dotted_path_refuse_unknown_names_and_wrong_types():
    from triton_console.tui.core.tune import config, fields

    f, values = fields.parse_set("instance_group.count=1,2")
    assert values == [1, 2]
    assert fields.parse_set("instance_group.kind=cpu,KIND_GPU")[1] == ["KIND_CPU", "KIND_GPU"]
    assert fields.parse_set("dynamic_batching.preferred_batch_size=4+8,2")[1] == [[4, 8], [2]]
    assert fields.parse_set("response_cache.enable=true,false")[1] == [True, False]
    assert fields.parse_set("parameters.intra_op_threads=1,2")[1] == ["1", "2"]
    for bad, said in [
        ("instance_group.cuont=1", "no field 'instance_group.cuont'"),
        ("max_batch_size=eight", "--set max_batch_size=eight: expected an integer"),
        ("instance_group.count=abc", "--set instance_group.count=abc: expected an integer"),
        ("instance_group.count=0", "out of range (1.."),
        ("instance_group.kind=TPU", "instance_group.kind=TPU: expected one of KIND_AUTO"),
        ("response_cache.enable=maybe", "response_cache.enable=maybe: expected true or false"),
        ("dynamic_batching=1", "'dynamic_batching' is a message"),
        ("max_batch_size", "FIELD=V1,V2"),
    ]:
        with pytest.raises(ConsoleError, match=said.replace("(", r"\(").replace(".", r"\.")) as err:
            fields.parse_set(bad)
        assert err.value.exit_code == 2
    c = config.parse('name: "m"\nbackend: "python"\nmax_batch_size: 8\n', "m")
    delay = fields.resolve("dynamic_batching.max_queue_delay_microseconds")
    assert fields.get_value(c, delay) is None
    fields.set_value(c, delay, 0)  # zero still turns dynamic batching on
    assert c.HasField("dynamic_batching") and fields.get_value(c, delay) == 0
    fields.set_value(c, fields.resolve("instance_group.count"), 3)
    assert c.instance_group[0].count == 3


# ------------------------------------------------------------------------------------------ the tuner


def _workload(client, name):
    from triton_console.tui.core.load import loadgen

    return loadgen.tensor_workload(client, name, {"X": "ones"})


def test_tune_finds_that_instances_raise_a_per_request_model_and_restores_it(target):
    """40 ms per request: at 4 in flight, two instances serve about twice what one does."""
    from triton_console.tui.core.tune import fields, sweep

    before = target.file.read_bytes()
    sets = [fields.parse_set("instance_group.count=1,2")]
    seen = []
    result = sweep.run(
        target,
        _workload(target.client, target.name),
        sets,
        [4],
        requests=24,
        warmup=4,
        on_trial=lambda t, i, n: seen.append((i, n)),
    )
    one, two = result.trials
    assert one.status == two.status == "ok", (one.reason, two.reason)
    assert two.throughput > 1.5 * one.throughput  # physically ≈ 2×
    assert one.throughput < 1.2 / modelzoo.PER_REQUEST_S  # one instance: at most 25 req/s
    assert result.best is two and result.best.set == {"instance_group.count": 2}
    assert result.original == {"instance_group.count": 1}
    assert seen == [(1, 2), (2, 2)]
    assert one.first_request_ms is not None and one.avg_batch == pytest.approx(1.0)
    assert one.memory_bytes and one.memory_bytes > 10 * 2**20  # a Python stub's resident memory
    # two stubs, not the previous version's stub still exiting beside them
    assert 1.5 * one.memory_bytes < two.memory_bytes < 2.6 * one.memory_bytes
    # a CPU server: its metrics answer, with no GPU in them; one line, no figure
    assert one.gpu_memory == two.gpu_memory == "GPU memory: no GPU metrics on this server"
    assert one.gpu_memory_bytes is None and one.gpu_free_bytes is None and one.gpu_fits is None
    assert result.gpu_note() == "GPU memory: no GPU metrics on this server"
    assert "GPU" not in one.describe()
    assert "+  count: 2" in result.diff
    assert target.file.read_bytes() == before  # not written
    assert served(target).instance_group[0].count == 1  # the original serves again
    assert result.written is None and result.restored == "the original config again"


def test_tune_finds_dynamic_batching_for_a_per_execution_model_and_writes_it(tuned):
    """50 ms per execution whatever its batch: at 8 in flight, batches of up to 8 serve several times more
    than batches of 1. A refused trial (a GPU on this CPU machine) is recorded and the sweep goes on."""
    from triton_console.tui.core.tune import config, fields, sweep

    with deploy_target(tuned, "per_execution") as t:  # the file and the served config restored after
        client = t.client
        original = t.file.read_bytes()
        sets = [
            fields.parse_set("instance_group.kind=KIND_GPU,KIND_CPU"),
            fields.parse_set("max_batch_size=1,8"),
            fields.parse_set("dynamic_batching.max_queue_delay_microseconds=0"),
        ]
        # 24 requests at 8 in flight: one instance of batch 1 serves them in 1.2 s, batches of 8 several times
        # faster (48 took 1.2 s more and asserted no more)
        result = sweep.run(t, _workload(client, t.name), sets, [8], requests=24, warmup=4, write=True)
        gpu = [x for x in result.trials if x.set["instance_group.kind"] == "KIND_GPU"]
        assert [x.status for x in gpu] == ["error", "error"]
        assert "no GPUs are available" in gpu[0].reason
        small, big = (x for x in result.trials if x.status == "ok")
        assert small.set["max_batch_size"] == 1 and big.set["max_batch_size"] == 8
        assert big.throughput > 3 * small.throughput
        assert big.avg_batch > 3 and small.avg_batch == pytest.approx(1.0)
        assert result.best is big and result.written == str(t.file)
        written = config.parse(t.file.read_text(), t.name)  # the file parses and holds the best values
        assert written.max_batch_size == 8 and written.HasField("dynamic_batching")
        assert written.instance_group[0].kind == written.instance_group[0].KIND_CPU
        assert t.file.with_name("config.pbtxt.bak").read_bytes() == original
        now = client.model_config(t.name)
        assert now.max_batch_size == 8 and now.HasField("dynamic_batching")  # the written config serves


# ------------------------------------------------------------------------------------------ tune command


def test_tune_refuses_an_unknown_field_or_a_wrong_value_before_loading_anything(tuned):
    from tests.conftest import run_cli

    lines = len(tuned.log)
    for bad, said in [
        ("instance_group.cuont=1,2", "ModelConfig has no field 'instance_group.cuont'"),
        ("max_batch_size=1,many", "--set max_batch_size=many: expected an integer"),
    ]:
        out = run_cli(
            "tune", "per_request", "-u", tuned.grpc_url, "--input", "X=ones", "--set", bad, timeout=60
        )
        assert out.returncode == 2, out.stderr
        assert said in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not [ln for ln in list(tuned.log)[lines:] if "per_request" in ln]  # nothing was loaded


def test_tune_with_perf_analyzer_absent_says_how_to_get_it_before_loading_anything(tuned, monkeypatch):
    from tests.conftest import run_cli

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no perf_analyzer there (nor on this VM at all)
    lines = len(tuned.log)
    out = run_cli(
        "tune", "per_request", "-u", tuned.grpc_url, "--input", "X=ones", "--set", "instance_group.count=1,2",
        "--engine", "perf_analyzer", "--json", timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    (err,) = [json.loads(ln) for ln in out.stdout.splitlines()]  # only the error object: no trial ran
    assert err["model"] == "per_request" and "perf_analyzer is not on PATH" in err["error"]
    assert len(out.stderr.strip().splitlines()) == 1 and "perf_analyzer is not on PATH" in out.stderr
    assert "pip install perf-analyzer" in out.stderr
    assert not [ln for ln in list(tuned.log)[lines:] if "per_request" in ln]  # nothing was loaded


def test_tune_json_and_ctrl_c_restores_the_original_then_exits_130(tuned, target):
    import json
    import signal
    import subprocess

    from tests.conftest import CLI, ROOT
    from tests.helpers import read_until

    before = target.file.read_bytes()
    argv = [*CLI, "tune", "per_request", "-u", tuned.grpc_url, "--input", "X=ones"]
    argv += ["--set", "instance_group.count=2,3,4", "--concurrency", "4", "--requests", "24", "--warmup", "4"]
    argv += ["--repository", str(tuned.cfg.repository), "--metrics-url", tuned.metrics_url, "--json"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = read_until(proc.stderr, "trial 1/3", 60)
        assert "instance_group.count=2  4 in flight" in seen
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert "interrupted: per_request serves the original config again" in rest
    doc = json.loads(out)
    assert set(doc) == {"model", "objective", "original", "trials", "best", "diff", "written"}
    assert doc["model"] == "per_request" and doc["objective"] == "throughput"
    assert doc["original"] == {"instance_group.count": 1} and doc["written"] is None
    first = doc["trials"][0]
    assert first["set"] == {"instance_group.count": 2} and first["status"] == "ok"
    assert first["concurrency"] == 4 and first["errors"] == 0 and first["throughput"] > 0
    for key in ("reason", "p50_ms", "p95_ms", "p99_ms", "first_request_ms", "avg_batch", "queue_ms"):
        assert key in first
    assert {"compute_ms", "memory_bytes"} <= set(first)
    assert first["gpu_memory_bytes"] is None and first["gpu_fits"] is None  # no GPU here: no figure
    assert first["gpu_memory"] == "GPU memory: no GPU metrics on this server"
    assert len(doc["trials"]) < 3  # cut short
    assert served(target).instance_group[0].count == 1
    assert target.file.read_bytes() == before


# ------------------------------------------------------------------------------------------ the Tune pane


def test_tune_pane_sweeps_charts_the_front_and_writes_the_best_after_the_diff(
    tuned, target, tmp_path, monkeypatch
):
    import asyncio

    from textual_plotext import PlotextPlot

    from tests.helpers import rendered, texts, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.tune import TunePane

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # where the sweep is saved
    original = target.file.read_text()
    opts = ConsoleOptions(url=tuned.grpc_url, protocol="grpc", repository=tuned.cfg.repository)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("8")
            pane = app.query_one(TunePane)
            await wait_for(pilot, lambda: "per_request" in pane.models, 30, "the ready models")
            pane.query_one("#tune-model").value = "per_request"
            pane.query_one("#tune-requests").value = "16"
            await pilot.pause(0.1)
            await pilot.press("ctrl+r")
            status = pane.query_one("#tune-status")
            await wait_for(
                pilot, lambda: "done" in rendered(status), 60, "the sweep", show=lambda: rendered(status)
            )
            rows = texts(pane.query_one("#tune-table"))
            assert len(rows) == 2 and rows[0].startswith("1 count=1") and rows[1].startswith("2 count=2")
            assert "per_request serves the original config again" in rendered(status)
            assert "GPU memory: no GPU metrics on this server" in rendered(status)
            assert "count=2" in rendered(pane.query_one("#tune-best"))
            assert "* Pareto front" in rendered(pane.query_one("#tune-legend"))  # under the chart, not on it
            assert "*" in str(pane.query_one("#tune-chart", PlotextPlot).render())
            assert target.client.model_config("per_request").instance_group[0].count == 1
            await pilot.press("w")
            await wait_for(pilot, lambda: bool(app.screen.query("#diff")), 5, "the diff")
            assert "+  count: 2" in rendered(app.screen.query_one("#diff Static"))
            await pilot.press("y")
            await wait_for(
                pilot, lambda: "written" in rendered(status), 30, "written", show=lambda: rendered(status)
            )
            assert config_count(target.file.read_text()) == 2
            assert target.file.with_name("config.pbtxt.bak").read_text() == original
            assert target.client.model_config("per_request").instance_group[0].count == 2
            await pilot.press("o")  # the sweep was saved: reopened as it was
            assert "reopened" in rendered(status)
            assert texts(pane.query_one("#tune-table")) == rows
            assert "count=2" in rendered(pane.query_one("#tune-best"))
            await pilot.press("q")

    asyncio.run(scenario())


def config_count(text: str) -> int:
    from triton_console.tui.core.tune import config

    return config.parse(text, "per_request").instance_group[0].count


# ------------------------------------------------------------------------------------------ images after options


def test_tune_takes_images_after_its_options(server, images_dir):
    """argparse filled IMAGE* at MODEL: images after the flags were 'unrecognized arguments'."""
    import json

    from tests.conftest import run_cli, url_args

    out = run_cli(
        "tune",
        "fused_python_efficientnet_lite0",
        *url_args(server, "grpc"),
        "--set",
        "instance_group.count=1",
        "--requests",
        "4",
        "--warmup",
        "1",
        "--json",
        str(images_dir / "mug.jpg"),
        str(images_dir / "car.jpg"),
    )
    assert out.returncode == 0, out.stderr
    (trial,) = json.loads(out.stdout)["trials"]
    assert trial["status"] == "ok" and trial["errors"] == 0


def test_tune_pane_on_an_image_model_with_the_classify_panes_images_runs_a_trial(
    server, images_dir, tmp_path, monkeypatch
):
    """The pane put the images after its flags (the newcomer's 'unrecognized arguments: ../shared/images')."""
    import asyncio

    from tests.helpers import rendered, texts, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.tune import TunePane

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    opts = ConsoleOptions(
        url=server.grpc_url, protocol="grpc", repository=server.cfg.repository, images=[str(images_dir)]
    )
    model = "fused_python_efficientnet_lite0"

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("8")
            pane = app.query_one(TunePane)
            await wait_for(pilot, lambda: model in pane.models, 30, "the ready models")
            pane.query_one("#tune-model").value = model
            pane.query_one("#tune-sets").value = "instance_group.count=1"
            pane.query_one("#tune-requests").value = "4"
            await pilot.pause(0.1)
            await pilot.press("ctrl+r")
            status = pane.query_one("#tune-status")
            await wait_for(
                pilot, lambda: "done" in rendered(status), 90, "the sweep", show=lambda: rendered(status)
            )
            (row,) = texts(pane.query_one("#tune-table"))
            assert row.startswith("1 count=1")
            assert "failed" not in rendered(status)
            await pilot.press("q")

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------ the editor at 80x24


async def open_editor(pilot, app, model: str):
    from tests.helpers import rows, wait_for

    await pilot.press("3")
    index = app.query_one("#index")
    await wait_for(pilot, lambda: model in rows(index), 30, "the model list")
    index.move_cursor(row=index.get_row_index(model))
    await pilot.pause(0.2)
    await pilot.press("e")
    return app.screen


def test_editor_revert_shows_the_files_config_again(tuned, target):
    """Revert left the edits (and their parse error) on screen under '✓ reverted'."""
    import asyncio

    from textual.widgets import TextArea

    from tests.helpers import lines_of, rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    original = target.file.read_text()
    opts = ConsoleOptions(url=tuned.grpc_url, protocol="grpc", repository=tuned.cfg.repository)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_editor(pilot, app, "per_request")
            area = screen.query_one("#config-text", TextArea)
            await wait_for(pilot, lambda: area.text == original, 20, "the file's text in the editor")
            lines = original.split("\n")
            lines[2] = "max_batch_size: abc"
            area.replace("\n".join(lines), (0, 0), area.document.end)
            check = screen.query_one("#config-check")
            await wait_for(pilot, lambda: "✗" in rendered(check), 5, "the parse error")
            await pilot.press("ctrl+r")
            state = screen.query_one("#config-state")
            await wait_for(pilot, lambda: "reverted" in rendered(state), 30, "reverted")
            await wait_for(
                pilot, lambda: area.text == original, 20, "the file's text again", show=lambda: area.text
            )
            await wait_for(pilot, lambda: "✓ parses" in " ".join(lines_of(check)), 5, "no stale error")
            assert not any("abc" in line for line in lines_of(area))
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())


def test_editor_apply_on_an_image_model_sends_an_image_and_shows_the_whole_result(server, images_dir):
    """At 80x24 the result was cut after two lines, and the first request sent random bytes that the
    ensemble's preprocess could not decode, shown with ✓."""
    import asyncio

    from tests.helpers import lines_of, rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    model = "ensemble_python_efficientnet_lite0"

    async def scenario(images: list[str]) -> str:
        opts = ConsoleOptions(
            url=server.grpc_url, protocol="grpc", repository=server.cfg.repository, images=images
        )
        app = ConsoleApp(opts)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_editor(pilot, app, model)
            check = screen.query_one("#config-check")
            await wait_for(pilot, lambda: "✓ parses" in rendered(check), 20, "the config read")
            await pilot.press("ctrl+s")
            state = screen.query_one("#config-state")
            await wait_for(
                pilot, lambda: "model_warmup" in rendered(state), 90, "applied", show=lambda: rendered(state)
            )
            await pilot.pause(0.1)
            shown = " ".join(line.strip() for line in lines_of(state))
            await pilot.press("escape")
            await pilot.press("q")
            return shown

    with_image = asyncio.run(scenario([str(images_dir / "car.jpg")]))
    assert with_image.startswith("✓ applied") and "first request" in with_image, with_image
    assert with_image.endswith("no model_warmup in the config"), with_image  # the whole line, wrapped
    # no image at hand: a tiny JPEG made in memory (random bytes did not decode: "not measured")
    without = asyncio.run(scenario([]))
    assert without.startswith("✓ applied") and "first request" in without, without
    assert without.endswith("no model_warmup in the config"), without


def test_tune_model_list_offers_only_models_each_on_one_line(server):
    """The dropdown listed the 'no ready model' prompt as a choice and wrapped long names onto two lines
    (``ensemble_python_efficie`` / ``ntnet_lite0``) at 80x24."""
    import asyncio

    from textual.widgets._select import SelectOverlay

    from tests.helpers import lines_of, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.tune import TunePane

    opts = ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=server.cfg.repository)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("8")
            pane = app.query_one(TunePane)
            await wait_for(pilot, lambda: len(pane.models) >= 4, 30, "the ready models")
            select = pane.query_one("#tune-model")
            select.focus()
            await pilot.press("enter")
            overlay = select.query_one(SelectOverlay)
            await wait_for(pilot, lambda: overlay.display, 5, "the list open")
            await pilot.pause(0.2)
            shown = [line.strip() for line in lines_of(overlay) if line.strip()]
            assert not any("no ready model" in line for line in shown), shown
            assert overlay.option_count == len(pane.models)
            assert "ensemble_python_efficientnet_lite0" in shown, shown  # whole, on one line
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())
