"""Hostile input, server faults, load, processes and files: the console stays up and says what went wrong."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CLI, ROOT, image, run_cli, url_args
from tests.hostile import make_corpus
from tui.core import server as srv
from tui.core.client import TritonClient

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, make_corpus(root)


def _assert_still_classifies(client: TritonClient) -> None:
    result = client.classify(image("car.jpg").read_bytes(), EFF, k=1)
    assert result.top[0].index == 817


def test_corpus_is_large_enough(corpus):
    assert len(corpus[1]) >= 30


def test_hostile_corpus_through_classify_cli(server, corpus):
    root, expect = corpus
    names = sorted(expect)
    res = run_cli(
        "classify",
        *[str(root / n) for n in names],
        *url_args(server, "grpc"),
        "-m",
        EFF,
        "--json",
        timeout=300,
    )
    assert res.returncode == 1, res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [Path(r["image"]).name for r in records] == names
    for name, rec in zip(names, records, strict=True):
        if expect[name] == "ok":
            assert "top" in rec and len(rec["top"]) == 5, (name, rec)
        elif expect[name] == "error":
            assert "error" in rec and rec["error"] and "Traceback" not in rec["error"], (name, rec)
            assert "<_io" not in rec["error"], (name, rec)
        assert ("top" in rec) != ("error" in rec), (name, rec)
    by_name = {Path(r["image"]).name: r for r in records}
    assert "too large" in by_name["bomb.png"]["error"]
    assert "limit" in by_name["huge_sparse.jpg"]["error"]
    assert "symbolic links" in by_name["loop_a.jpg"]["error"]
    assert "directory" in by_name["directory.jpg"]["error"]
    assert "empty" in by_name["zero.png"]["error"]
    assert "not a recognised image format" in by_name["text.jpg"]["error"]
    _assert_still_classifies(TritonClient(server.grpc_url))


def test_hostile_bytes_straight_to_the_ensemble(server, corpus):
    """A raw client sends each file's bytes: a result or a clear error per request, never a dead model."""
    import tritonclient.grpc as tc
    from tritonclient.utils import InferenceServerException

    root, expect = corpus
    raw = tc.InferenceServerClient(server.grpc_url)
    for name in sorted(expect):
        path = root / name
        if not path.is_file() or path.stat().st_size > 64 * 2**20 or not os.access(path, os.R_OK):
            continue
        data = np.fromfile(path, dtype=np.uint8).reshape(1, -1)
        inp = tc.InferInput("INPUT", list(data.shape), "UINT8")
        inp.set_data_from_numpy(data)
        try:
            out = raw.infer(EFF, [inp]).as_numpy("OUTPUT")
            assert out.shape == (1, 1000) and expect[name] != "error", name
        except InferenceServerException as exc:
            assert expect[name] != "ok", (name, exc.message())
            assert exc.message(), name
    assert raw.is_server_live()
    _assert_still_classifies(TritonClient(server.grpc_url))


def _bench_process(url: str, requests: int) -> tuple[dict, float]:
    """Run ``triton-console bench`` as its own process (as a user would); return its JSON and peak RSS in MiB."""
    import psutil

    argv = [
        *CLI,
        "bench",
        str(image("car.jpg")),
        str(image("vulture.jpeg")),
        "-u",
        url,
        "-m",
        EFF,
        "--concurrency",
        "16",
        "--requests",
        str(requests),
        "--warmup",
        "5",
        "--json",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, ps.memory_info().rss)
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return json.loads(out), peak / 2**20


def test_load_2000_requests_at_concurrency_16_with_bounded_memory(repo, tmp_path):
    """2,000 requests at concurrency 16: no errors; the server's memory settles after the first 1,000 (batch
    buffers up to the largest batch seen) and the client's stays flat (a fresh server, so earlier tests' hostile
    inputs do not blur the figures)."""
    import gc

    import psutil

    root = tmp_path / "repo"
    for name in ("preprocess", "postprocess", "efficientnet_lite0_ort", EFF):
        shutil.copytree(repo / name, root / name)
    s = srv.ManagedServer(srv.ServerConfig(root, srv.free_port(), srv.free_port(), srv.free_port()))
    s.start()

    def uss() -> float:
        """Unique set size of the server's process tree: shared pages (libraries, shm) would blur growth."""
        gc.collect()
        p = psutil.Process(s.pid)
        return (
            p.memory_full_info().uss + sum(c.memory_full_info().uss for c in p.children(recursive=True))
        ) / 2**20

    usses, peaks, runs = [], [], []
    try:
        s.wait_ready(120)
        usses.append(uss())
        # Phases of 500 requests: at least four (2,000 requests), up to eight, until the server's memory stops
        # growing. Warm-up (batch buffers up to the largest batch the timing produces) takes 1,000-2,000.
        for phase in range(8):
            result, peak = _bench_process(s.grpc_url, 500)
            runs.append(result)
            peaks.append(peak)
            usses.append(uss())
            if phase >= 3 and usses[-1] - usses[-2] < 25:
                break
    finally:
        s.stop()
    total = sum(r["count"] for r in runs)
    print(
        f"load: {total} ok, {sum(r['errors'] for r in runs)} errors, {runs[-1]['throughput']:.0f} img/s; "
        f"server USS per 500 requests: {' -> '.join(f'{u:.0f}' for u in usses)} MiB; "
        f"client peak RSS per run: {', '.join(f'{p:.0f}' for p in peaks)} MiB"
    )
    assert sum(r["errors"] for r in runs) == 0 and total >= 2000
    assert usses[-1] - usses[-2] < 25, usses  # it settles: a leak of 0.05 MiB per request would not
    assert usses[-1] < 1024, usses
    assert max(peaks) - min(peaks) < 30, peaks  # the client does not grow run after run


def test_killed_stub_gives_clear_state_and_reload_recovers(server):
    """kill -9 of a Python-backend stub: Triton 2.51 reports the instance unhealthy (it does not restart the
    stub itself); the server stays up, the error says so with a hint, and a reload brings the model back."""
    import psutil

    from tui.core.errors import ConsoleError

    stubs = [c for c in psutil.Process(server.pid).children() if "postprocess" in " ".join(c.cmdline())]
    assert stubs, "no postprocess stub found"
    stubs[0].kill()
    time.sleep(1)
    client = TritonClient(server.grpc_url, timeout=30)
    with pytest.raises(ConsoleError) as info:
        for _ in range(20):  # the health check notices within a few requests
            _assert_still_classifies(client)
            time.sleep(0.5)
    assert "not healthy" in info.value.message and "reload" in info.value.message
    assert client.is_live()
    client.load_model("postprocess")  # explicit mode: a reload restarts the stub
    _assert_still_classifies(client)


@pytest.fixture(scope="module")
def faulty_server(repo, tmp_path_factory):
    """A repository with one model whose backend does not exist and one whose model.py cannot initialise.

    (A Python model whose model.py is missing entirely stalls tritonserver 2.51's start-up, like an unparsable
    config; that path is covered by the unparsable-config test below.)"""
    root = tmp_path_factory.mktemp("faulty") / "repo"
    shutil.copytree(repo / "postprocess", root / "postprocess")
    (root / "bad_config" / "1").mkdir(parents=True)
    (root / "bad_config" / "config.pbtxt").write_text('name: "bad_config"\nbackend: "no_such_backend"\n')
    (root / "missing_file" / "1").mkdir(parents=True)
    (root / "missing_file" / "config.pbtxt").write_text(
        (repo / "postprocess" / "config.pbtxt").read_text().replace('"postprocess"', '"missing_file"')
    )
    (root / "missing_file" / "1" / "model.py").write_text(
        "import triton_python_backend_utils\n\n\nclass TritonPythonModel:\n    def initialize(self, args):\n"
        "        open('/nonexistent/labels/model.py')\n"
    )
    cfg = srv.ServerConfig(root, srv.free_port(), srv.free_port(), srv.free_port())
    s = srv.ManagedServer(cfg)
    s.start()
    try:
        s.wait_ready(120)
        yield s
    finally:
        s.stop()


def test_models_that_fail_to_load_show_their_reason(faulty_server):
    res = run_cli("status", *url_args(faulty_server, "http"), "--json")
    assert res.returncode == 0, res.stderr
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert models["postprocess"]["state"] == "READY"
    assert models["missing_file"]["state"] == "UNAVAILABLE" and "model.py" in models["missing_file"]["reason"]
    assert (
        models["bad_config"]["state"] == "UNAVAILABLE" and "no_such_backend" in models["bad_config"]["reason"]
    )

    import asyncio

    from tui.app import ConsoleApp, ConsoleOptions
    from tui.panes.models import ModelsPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=faulty_server.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("3")
            table = app.query_one(ModelsPane).query_one("#index")
            for _ in range(50):
                if "missing_file" in [k.value for k in table.rows]:
                    break
                await pilot.pause(0.2)
            row = [str(c) for c in table.get_row("missing_file")]
            assert row[0] == "UNAVAILABLE" and "model.py" in row[3]
            await pilot.press("q")

    asyncio.run(scenario())


def test_unparsable_config_is_reported(tmp_path):
    """A config.pbtxt that does not parse: the server starts, the model is not READY, the log says why."""
    root = tmp_path / "repo"
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "config.pbtxt").write_text('name: "broken"\nbackend: "python"\ninput [ { name: ')
    s = srv.ManagedServer(srv.ServerConfig(root, srv.free_port(), srv.free_port(), srv.free_port()))
    s.start()
    try:
        s.wait_ready(timeout=60)
        models = {m["name"]: m for m in TritonClient(s.grpc_url).repository_index()}
        assert models.get("broken", {}).get("state") != "READY"
        assert "Error parsing text-format" in s.error_summary()
    finally:
        s.stop()


def test_missing_model_file_stall_ends_with_the_servers_error(tmp_path, repo):
    """tritonserver 2.51 stalls at start-up when a Python model's model.py is missing: the console's wait
    ends at its timeout with the server's own explanation instead of hanging."""
    root = tmp_path / "repo"
    (root / "nofile" / "1").mkdir(parents=True)
    (root / "nofile" / "config.pbtxt").write_text(
        (repo / "postprocess" / "config.pbtxt").read_text().replace('"postprocess"', '"nofile"')
    )
    s = srv.ManagedServer(srv.ServerConfig(root, srv.free_port(), srv.free_port(), srv.free_port()))
    s.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(Exception) as info:
            s.wait_ready(timeout=10)
        assert time.monotonic() - t0 < 15
        assert "model file not found" in str(info.value)
    finally:
        s.stop()


def test_hung_server_times_out(tmp_path):
    """A server that accepts connections and never answers: the client gives up, clearly, in time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        for proto, url in (("http", f"http://127.0.0.1:{port}"), ("grpc", f"127.0.0.1:{port}")):
            t0 = time.monotonic()
            res = run_cli("status", "-u", url, "-i", proto, "--timeout", "2", "--json", timeout=60)
            assert res.returncode == 2 and time.monotonic() - t0 < 20, (proto, res.stderr)


# ------------------------------------------------------------------------------------------ processes


def _small_repo(repo: Path, tmp: Path) -> Path:
    root = tmp / "small"
    shutil.copytree(repo / "postprocess", root / "postprocess")
    return root


def _ours(root: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-af", "tritonserver|triton_python_backend_stub"], capture_output=True, text=True
    )
    return [ln for ln in out.stdout.splitlines() if str(root) in ln]


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_serve_leaves_no_processes(repo, tmp_path, sig):
    root = _small_repo(repo, tmp_path)
    ports = [str(srv.free_port()) for _ in range(3)]
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--repository",
            str(root),
            "--http-port",
            ports[0],
            "--grpc-port",
            ports[1],
            "--metrics-port",
            ports[2],
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait(lambda: len(_ours(root)) >= 2, 60), "server and stub did not start"
        assert _wait(lambda: TritonClient(f"127.0.0.1:{ports[1]}").probe()[0], 60)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        if sig != signal.SIGKILL:
            err = proc.stderr.read()
            assert code == 0, err
            # the exact command is printed, to rerun by hand (the README's NGC note relies on it)
            assert f"--model-repository={root.resolve()} --http-address=127.0.0.1" in err
        assert _wait(lambda: not _ours(root), 30), _ours(root)
        assert not list(Path("/dev/shm").glob(f"{srv.SHM_PREFIX}{proc.pid}_*"))
    finally:
        proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL])
def test_console_leaves_no_processes(repo, tmp_path, sig):
    """The TUI in a real pseudo-terminal starts the server; a closed SSH session or a crash kills it."""
    import pty

    root = _small_repo(repo, tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # child: the console, in its own terminal
        os.chdir(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.execv(
            sys.executable, [*CLI, "--repository", str(root), "-u", f"127.0.0.1:{srv.free_port()}", "--start"]
        )
    try:

        def drain():
            with contextlib.suppress(OSError):
                os.read(fd, 65536)

        ok = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            drain()
            if len(_ours(root)) >= 2:
                ok = True
                break
            time.sleep(0.2)
        assert ok, "the console did not start the server"
        time.sleep(1)
        os.kill(pid, sig)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _ours(root):
            drain()
            time.sleep(0.2)
        assert not _ours(root), _ours(root)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


# -------------------------------------------------------------------------------------- files, security


def test_sigint_during_build_keeps_previous_repository(tmp_path):
    target = tmp_path / "repo"
    assert run_cli("build", "--model", "efficientnet-lite0", "--repository", str(target)).returncode == 0
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    proc = subprocess.Popen(
        [*CLI, "build", "--model", "resnet50", "--weights", "random", "--repository", str(target)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the export step has begun, then interrupt
    for line in proc.stderr:
        if "== export" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert before == after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"], "staging or temp files left behind"


def test_servers_listen_on_loopback_only(server):
    import ipaddress

    import psutil

    addrs = {
        c.laddr.ip for c in psutil.Process(server.pid).net_connections(kind="inet") if c.status == "LISTEN"
    }
    assert addrs, "no listening sockets found"
    for a in addrs:
        ip = ipaddress.ip_address(a)
        ip = getattr(ip, "ipv4_mapped", None) or ip
        assert ip.is_loopback, addrs


def test_non_local_address_warns():
    cfg = srv.ServerConfig(Path("/r"), address="0.0.0.0", model_control="explicit")
    warnings = " ".join(cfg.warnings())
    assert "reachable from other machines" in warnings and "load/unload" in warnings
    assert srv.ServerConfig(Path("/r")).warnings() == []


def test_no_shell_anywhere():
    for path in list((ROOT / "tui").rglob("*.py")) + list((ROOT / "build_tools").rglob("*.py")):
        text = path.read_text()
        for bad in ("shell=True", "os.system(", "os.popen(", "subprocess.getoutput"):
            assert bad not in text, f"{path}: {bad}"


def test_server_argv_is_a_list_with_loopback_addresses(tmp_path):
    binary = srv.ServerBinary("/bin/tritonserver", "flag")
    argv = srv.build_argv(binary, srv.ServerConfig(tmp_path), "p_")
    assert isinstance(argv, list) and argv[0] == "/bin/tritonserver"
    for flag in ("--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1"):
        assert flag in argv


def test_hostile_corpus_in_the_classify_pane(server, corpus):
    """Every hostile file gets its own row (result or error) and the console keeps working afterwards."""
    import asyncio

    from tui.app import ConsoleApp, ConsoleOptions
    from tui.panes.classify import ClassifyPane

    root, expect = corpus
    paths = [str(root / n) for n in sorted(expect)]

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(root)))
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(ClassifyPane)
            for _ in range(100):
                if pane.model is not None:
                    break
                await pilot.pause(0.1)
            pane.query_one("#model").value = EFF
            await pilot.press("4")
            pane.classify(paths)
            table = pane.query_one("#breakdown")
            for _ in range(600):
                if table.row_count == len(paths):
                    break
                await pilot.pause(0.1)
            assert table.row_count == len(paths)
            rows = {k.value: " ".join(str(c) for c in table.get_row(k)) for k in table.rows}
            for path in paths:
                want = expect[Path(path).name]
                if want == "ok":
                    assert "[red]" not in rows[path], rows[path]
                elif want == "error":
                    assert "[red]" in rows[path], rows[path]
            car = str(image("car.jpg"))
            pane.classify([car])

            def car_row() -> str:
                return " ".join(str(c) for c in table.get_row(car)) if car in table.rows else ""

            for _ in range(200):
                if "sports car" in car_row():
                    break
                await pilot.pause(0.1)
            assert "sports car" in car_row()
            await pilot.press("q")

    asyncio.run(scenario())
