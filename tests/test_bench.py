"""Bench and compare: sweeps and request rates of any model, shared-memory transport, saved runs, the
ensemble against its backbone, and the Bench pane — on the real server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, EXPECTED, ROOT, run_cli
from tests.helpers import lines_of, rendered, wait_for, wait_until
from triton_console.common.paths import SHM_PREFIX

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


@pytest.fixture()
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path


def _regions(pid: int) -> list[str]:
    return [f for f in os.listdir("/dev/shm") if f.startswith(f"{SHM_PREFIX}{pid}_")]


def test_sweep_of_any_model_is_saved(zoo, data_home):
    res = run_cli(
        "bench",
        "-m",
        "nobatch",
        "-u",
        zoo.grpc_url,
        "--sweep",
        "1,2,4",
        "--requests",
        "30",
        "--warmup",
        "5",
        "--save",
        "--json",
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    run = json.loads(res.stdout)
    assert [s["concurrency"] for s in run["steps"]] == [1, 2, 4] and run["warmup"] == 5
    for s in run["steps"]:
        assert (
            s["count"] == 30
            and s["errors"] == 0
            and s["throughput"] > 0
            and s["latency_ms"]["p99"] >= s["latency_ms"]["p50"]
        )
        # the server's own time per request, from statistics deltas (model_ms: nobatch is no ensemble)
        assert s["server"]["model_ms"] > 0 and "ensemble_ms" not in s["server"]
    (saved,) = (data_home / "triton-console" / "runs").glob("*-nobatch-triton-console.json")
    assert json.loads(saved.read_text())["steps"][2]["concurrency"] == 4


def test_fixed_request_rates(zoo):
    res = run_cli(
        "bench",
        "-m",
        "chw_fp32",
        "-u",
        zoo.grpc_url,
        "--rate",
        "25,50",
        "--requests",
        "25",
        "--json",
        timeout=120,
    )
    run = json.loads(res.stdout)
    assert run["mode"] == "rate" and [s["rate"] for s in run["steps"]] == [25, 50]
    for s in run["steps"]:  # open loop: the offered rate is what goes out
        assert 0.7 * s["rate"] < s["throughput"] < 1.3 * s["rate"], s


def test_an_ensemble_bench_breaks_down_per_step(server):
    res = run_cli(
        "bench",
        str(Path(ROOT.parent / "shared" / "images" / "car.jpg")),
        "-m",
        EFF,
        "-u",
        server.grpc_url,
        "--concurrency",
        "2",
        "--requests",
        "20",
        "--json",
        timeout=120,
    )
    if res.returncode == 2 and "car.jpg" in res.stderr:
        pytest.skip("test images are absent")
    step = json.loads(res.stdout)
    assert step["concurrency"] == 2 and step["count"] == 20 and step["errors"] == 0
    assert [s["model"] for s in step["server"]["steps"]] == [
        "preprocess",
        "efficientnet_lite0_ort",
        "postprocess",
    ]


def test_shared_memory_transport_and_cleanup(zoo, tmp_path):
    res = run_cli(
        "infer", "nobatch", "--input", "X=ones", "-u", zoo.grpc_url, "--shm", "system", "--json", timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["outputs"][0]["values"] == [2.0, 2.0, 2.0]
    res = run_cli(
        "bench",
        "-m",
        "chw_fp32",
        "-u",
        f"http://{zoo.http_url}",
        "--shm",
        "system",
        "--requests",
        "20",
        "--json",
        timeout=60,
    )
    assert res.returncode == 0 and json.loads(res.stdout)["errors"] == 0, res.stderr
    # a bench stopped mid-sweep frees its regions (and unregisters them) on the way out
    proc = subprocess.Popen(
        [
            *CLI,
            "bench",
            "-m",
            "chw_fp32",
            "-u",
            zoo.grpc_url,
            "--shm",
            "system",
            "--sweep",
            "1,1,1,1,1,1",
            "--requests",
            "2000",
            "--progress",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: _regions(proc.pid), 30, "regions in use")
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 130
    assert not _regions(proc.pid)
    from triton_console.tui.core.client.client import TritonClient

    status = TritonClient(zoo.grpc_url).call(
        "shm status", lambda t: t.client.get_system_shared_memory_status(as_json=True)
    )
    assert not [r for r in status.get("regions", {}) if f"_{proc.pid}_" in r], status


def test_compare_the_ensemble_with_its_backbone(server, images_dir):
    res = run_cli(
        "compare",
        EFF,
        "efficientnet_lite0_ort",
        str(images_dir),
        "-u",
        server.grpc_url,
        "--json",
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    ref, backbone = out["models"]
    assert backbone["top1_agreement"] == 1.0 and backbone["top5_agreement"] == 1.0
    assert ref["top1"] == backbone["top1"] == [EXPECTED[Path(p).name][0] for p in out["items"]]
    assert backbone["max_abs_delta"] < 1e-3  # server-side vs client-side preprocessing: the same tensor
    assert "encoded bytes" in ref["path"] and "scaling imagenet (model)" in backbone["path"]
    text = run_cli("compare", EFF, "efficientnet_lite0_ort", str(images_dir), "-u", server.grpc_url).stdout
    assert "100%" in text


def test_perf_analyzer_engine_says_how_to_get_it(zoo, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    res = run_cli("bench", "-m", "nobatch", "-u", zoo.grpc_url, "--engine", "perf_analyzer", timeout=60)
    assert res.returncode == 2 and "perf_analyzer is not on PATH" in res.stderr


def test_bench_pane_sweeps_saves_and_compares(server, images_dir, data_home):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.bench import BenchPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc"))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("6")
            pane = app.query_one(BenchPane)
            await wait_for(pilot, lambda: "postprocess" in pane.models, 20, "ready models")
            pane.query_one("#bench-model").value = "postprocess"
            pane.query_one("#bench-inputs").value = "random"
            pane.query_one("#bench-levels").value = "1,2,4"
            pane.query_one("#bench-requests").value = "20"
            await pilot.press("b")
            table = pane.query_one("#bench-table")
            await wait_for(
                pilot,
                lambda: "saved" in rendered(pane.query_one("#bench-status")),
                60,
                "the saved run",
                show=lambda: rendered(pane.query_one("#bench-status")),
            )
            assert table.row_count == 3 and len(pane.steps) == 3
            assert list((data_home / "triton-console" / "runs").glob("*-postprocess-*.json"))
            assert "throughput" in "".join(lines_of(pane.query_one("#bench-chart")))
            pane.query_one("#bench-model").value = EFF
            await wait_for(
                pilot,
                lambda: pane.query_one("#bench-vs").value == "efficientnet_lite0_ort",
                10,
                "the backbone suggested",
            )
            pane.query_one("#bench-inputs").value = str(images_dir)
            await pilot.press("m")
            await wait_for(
                pilot, lambda: "compared" in rendered(pane.query_one("#bench-status")), 60, "the comparison"
            )
            rows = {
                str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)]
                for i in range(table.row_count)
            }
            assert rows["top-1"][2] == "100%"  # a column per model: B, the backbone, named in the key
            assert "B efficientnet_lite0_ort: " in rendered(pane.query_one("#bench-detail"))
            await pilot.press("q")

    asyncio.run(scenario())


def test_bench_pane_passes_tls_files_and_keeps_header_values_out_of_argv(tmp_path):
    """The Bench pane's load process gets the connection's TLS files as flags and its header values only
    through its environment (argv is visible to every user of the machine)."""
    from triton_console.tui.core.client.connection import TLS, Connection, Headers
    from triton_console.tui.core.server.controller import ServerController
    from triton_console.tui.panes.bench import bench_argv

    ca, cert, key = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    for f in (ca, cert, key):
        f.write_text("-----BEGIN CERTIFICATE-----\n")
    conn = Connection(
        url="grpcs://127.0.0.1:9",
        tls=TLS(True, str(ca), str(cert), str(key)),
        headers=Headers((("Authorization", "Bearer s3cret"),)),
    )
    controller = ServerController(conn, tmp_path / "repo", server="none")
    argv, env, _ = bench_argv(controller, "m", "random", "1,2", 10, "triton-console", "none")
    for flag, path in (("--root-certs", ca), ("--client-cert", cert), ("--client-key", key)):
        assert argv[argv.index(flag) + 1] == str(path)
    assert "--ssl" in argv and not any("s3cret" in a for a in argv)
    var = argv[argv.index("--header-env") + 1].split("=", 1)[1]
    assert argv[argv.index("--header-env") + 1].startswith("Authorization=") and env[var] == "Bearer s3cret"


def test_bench_pane_first_use_sends_images_to_an_image_model(server, images_dir, data_home, tmp_path):
    """b with the default inputs on the image ensemble: it used to send random bytes and fail with
    "pass --shape" (a flag the pane does not have); now the images of the Classify tree's folder go, and the
    pane says so — at 80x24, where the status line used to be cut. A folder without images is one line
    saying where to get some."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.bench import BenchPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(tmp_path)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("6")
            pane = app.query_one(BenchPane)
            await wait_for(pilot, lambda: EFF in pane.models, 20, "ready models")
            pane.query_one("#bench-model").value = EFF
            assert pane.query_one("#bench-inputs").value == "auto"
            pane.query_one("#bench-levels").value = "1"
            pane.query_one("#bench-requests").value = "10"
            status = pane.query_one("#bench-status")
            await pilot.press("b")
            await wait_for(
                pilot, lambda: "failed" in rendered(status), 20, "no images", show=lambda: rendered(status)
            )
            assert f"takes images: none in {tmp_path}; classify some in the Classify pane" in rendered(status)
            app.query_one("#tree").path = images_dir  # as backspace and the tree would get there
            await pilot.pause()
            await pilot.press("b")

            def read() -> str:
                """As the user reads the wrapped lines, once laid out (the line grows to 3 rows)."""
                return " ".join(" ".join(lines_of(status)).split())

            await wait_for(
                pilot,
                lambda: "saved" in read() or "failed" in read(),
                90,
                "the saved run",
                show=lambda: rendered(status),
            )
            text = read()
            assert "done: 1 steps" in text, text
            assert f"on the images in {images_dir} (the Classify tree's folder)" in text, text
            table = pane.query_one("#bench-table")
            assert table.row_count == 1 and str(table.get_row_at(0)[-1]) == "0"  # no errors
            await pilot.press("q")

    asyncio.run(scenario())


@pytest.mark.parametrize("command", ["bench", "compare"])
def test_image_model_without_images_asks_for_images(server, command):
    """bench/compare of an image model with nothing to send: images are asked for, not --shape INPUT=N."""
    args = ["-m", EFF] if command == "bench" else [EFF, "efficientnet_lite0_ort"]
    res = run_cli(command, *args, "-u", server.grpc_url, timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"{EFF} takes encoded images in INPUT: give image files or a folder" in res.stderr
    assert "--shape" not in res.stderr


def test_tune_pane_auto_inputs_ask_an_image_model_for_images(server, tmp_path):
    """The Tune pane's default inputs were ``random``: ^r on an image model failed with "tune failed: error:
    ... takes encoded images in" cut at 80 columns. Its ``auto`` is the Bench pane's: without images it says
    where to get them, whole, and "failed" once."""
    from tests.test_app import plain_screen
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.tune import TunePane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(tmp_path)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("8")
            pane = app.query_one(TunePane)
            await wait_for(pilot, lambda: EFF in pane.models, 20, "ready models")
            pane.query_one("#tune-model").value = EFF
            assert pane.query_one("#tune-inputs").value == "auto"
            status = pane.query_one("#tune-status")
            await pilot.press("ctrl+r")
            await wait_for(
                pilot, lambda: "failed" in rendered(status), 20, "no images", show=lambda: rendered(status)
            )
            text = " ".join(" ".join(lines_of(status)).split())
            assert f"tune failed: {EFF} takes images: none in {tmp_path}; classify some" in text, text
            assert "or type image paths in the inputs box" in text, text  # wrapped, not cut
            assert "failed: error:" not in plain_screen(app)
            await pilot.press("q")

    asyncio.run(scenario())


def test_bench_pane_sends_a_folders_images_as_a_list_the_failed_ones_left_out(
    server, images_dir, data_home, tmp_path, monkeypatch
):
    """After Classify on a folder where some files failed, b benches the files that classified: they went
    on the bench command's line, one argument each, and a folder of thousands overran argv's length limit
    ("Argument list too long": no run at all). Now they reach it as a list on its stdin (--files-from -)."""
    from triton_console.tui import childjob
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes import bench as bench_pane
    from triton_console.tui.panes.bench import BenchPane
    from triton_console.tui.panes.classify import ClassifyPane

    folder = tmp_path / "photos"
    folder.mkdir()
    good = sorted(str(folder / f"car_{i:03d}.jpg") for i in range(24))
    for path in good:
        os.symlink(images_dir / "car.jpg", path)
    (folder / "broken_a.jpg").write_text("not a picture\n")
    (folder / "broken_b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    started: list[tuple[list[str], str | None]] = []

    class Recorded(childjob.ChildJob):  # the real child, its command line and stdin written down
        def __init__(self, argv, env=None, stdin=None):
            started.append((list(argv), stdin))
            super().__init__(argv, env, stdin)

    monkeypatch.setattr(bench_pane, "ChildJob", Recorded)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(tmp_path)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            classify = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: classify.model == EFF, 30, "the ensemble in Classify")
            classify.classify([str(folder)])
            await wait_for(pilot, lambda: len(classify.results) == 26, 120, "every file classified or failed")
            assert classify.last_paths == good  # the two broken files left out
            await pilot.press("6")
            pane = app.query_one(BenchPane)
            await wait_for(pilot, lambda: EFF in pane.models, 20, "ready models")
            pane.query_one("#bench-model").value = EFF
            pane.query_one("#bench-levels").value = "1"
            pane.query_one("#bench-requests").value = "24"
            status = pane.query_one("#bench-status")
            await pilot.press("b")

            def read() -> str:
                return " ".join(" ".join(lines_of(status)).split())

            await wait_for(pilot, lambda: "saved" in read() or "failed" in read(), 120, "the run", show=read)
            text = read()
            assert "done: 1 steps" in text and "24 images (the Classify pane's last)" in text, text
            table = pane.query_one("#bench-table")
            assert table.row_count == 1 and str(table.get_row_at(0)[-1]) == "0"  # no errors: none failed
            await pilot.press("q")

    asyncio.run(scenario())
    ((argv, stdin),) = started
    assert not any(str(folder) in a for a in argv), argv
    assert argv[argv.index("--files-from") + 1] == "-" and stdin.splitlines() == good


def test_bench_argv_stays_short_for_a_folder_of_thousands(tmp_path):
    """8,000 paths of 250 characters (2 MB, Linux's whole argv limit) on one command line could not start."""
    from triton_console.tui.core.client.connection import Connection
    from triton_console.tui.core.server.controller import ServerController
    from triton_console.tui.panes.bench import bench_argv

    controller = ServerController(Connection(url="127.0.0.1:9"), tmp_path / "repo", server="none")
    paths = [str(tmp_path / f"{i:05d}{'x' * 240}.jpg") for i in range(8000)]
    argv, _, stdin = bench_argv(controller, "m", paths, "1", 10, "triton-console", "none")
    assert sum(len(a) + 1 for a in argv) < 4096
    assert stdin.splitlines() == paths


def test_bench_files_from_a_file_that_is_not_there_is_one_line():
    res = run_cli("bench", "--files-from", "/nonexistent/list.txt", "-u", "127.0.0.1:9", timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == "error: --files-from /nonexistent/list.txt: no such file or directory"
