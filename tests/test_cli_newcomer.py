"""Headless defects a newcomer found: `status --all` without the server you are connected to and a bogus
`model` key in its --json error, `servers` alone refused, `generate` on an image model asking for
--param, a bench of failures printing nan, a bad flag after a command printing the top-level usage, and
`reload` of an unknown model on a polling server answered with Triton's "polling is enabled"."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests.conftest import image, run_cli
from tests.test_any_model import args


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home) -> dict:
    return dict(os.environ, XDG_CONFIG_HOME=str(home))


@pytest.mark.parametrize("made", [False, True])  # a servers file missing, or empty
def test_status_all_with_no_servers_file_lists_the_current_server(tmp_path, zoo, made):
    """It exited 2 ("no servers in …servers.toml"), though the Servers pane lists the current server."""
    if made:
        (tmp_path / "triton-console").mkdir()
        (tmp_path / "triton-console" / "servers.toml").write_text("")
    res = run_cli("-u", zoo.grpc_url, "status", "--all", "--json", "--timeout", "5", env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["name"], r["current"], r["ready"]) for r in rows] == [("(current)", True, True)], rows
    res = run_cli("-u", zoo.grpc_url, "status", "--all", "--timeout", "5", env=_env(tmp_path))
    assert res.returncode == 0 and res.stdout.startswith("(current) ") and "ready" in res.stdout, res


def test_servers_json_lists_them_as_servers_list_json(tmp_path):
    """`servers --json` was a usage error (exit 2): only `servers list --json` listed them."""
    assert run_cli("servers", "add", "box", "127.0.0.1:1", env=_env(tmp_path)).returncode == 0
    want = run_cli("servers", "list", "--json", env=_env(tmp_path))
    assert want.returncode == 0 and [s["name"] for s in json.loads(want.stdout)["servers"]] == ["box"]
    for argv in (["servers", "--json"], ["servers", "--json", "list"]):
        res = run_cli(*argv, env=_env(tmp_path))
        assert (res.returncode, res.stdout) == (0, want.stdout), (argv, res.stderr)
    assert run_cli("servers", "list", env=_env(tmp_path)).stdout.startswith(str(tmp_path))  # still text


def test_status_all_lists_the_current_server_first_unless_the_file_names_it(tmp_path, zoo):
    dead = f"127.0.0.1:{_dead_port()}"
    assert run_cli("servers", "add", "dead", dead, env=_env(tmp_path)).returncode == 0
    res = run_cli(
        "-u", zoo.grpc_url, "status", "--all", "--probe", "--json", "--timeout", "5", env=_env(tmp_path)
    )
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["name"], r["current"]) for r in rows] == [("(current)", True), ("dead", False)], rows
    assert rows[0]["url"] == f"grpc://{zoo.grpc_url}" and rows[0]["ready"], rows[0]
    assert res.returncode == 1  # the dead one
    # once the file names it, it is that row, marked, and not listed twice
    assert run_cli("servers", "add", "zoo", zoo.grpc_url, env=_env(tmp_path)).returncode == 0
    res = run_cli("-u", zoo.grpc_url, "status", "--all", "--timeout", "5", env=_env(tmp_path))
    heads = [ln.split("  ")[0].strip() for ln in res.stdout.splitlines() if not ln.startswith(" ")]
    assert heads == ["dead", "zoo (current)"], res.stdout


def test_servers_without_an_action_lists_them(tmp_path):
    assert run_cli("servers", "add", "box", "127.0.0.1:1", env=_env(tmp_path)).returncode == 0
    res = run_cli("servers", env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout == run_cli("servers", "list", env=_env(tmp_path)).stdout
    assert "box" in res.stdout and "1 server(s)" in res.stdout


def test_a_bad_flag_after_a_command_names_that_command(tmp_path):
    res = run_cli("classify", "--frobnicate", "car.jpg", env=_env(tmp_path), timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "error: triton-console classify: unrecognized arguments: --frobnicate "
        "(see 'triton-console classify --help')"
    ), res.stderr
    res = run_cli("servers", "list", "--frobnicate", env=_env(tmp_path), timeout=60)
    assert res.returncode == 2 and "triton-console servers list: unrecognized" in res.stderr, res.stderr


def test_generate_on_an_image_model_says_it_takes_an_image(server):
    model = "fused_python_efficientnet_lite0"
    res = run_cli("generate", model, "--text", "hello", "-u", server.grpc_url, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "takes an encoded image" in res.stderr and "not a text prompt" in res.stderr, res.stderr
    assert f"classify -m {model} IMAGE" in res.stderr and "--input INPUT=image:FILE" in res.stderr
    assert "--param" not in res.stderr, res.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_a_bench_where_every_request_fails_shows_no_nan_and_exits_1_with_the_first_error(zoo, as_json):
    """``running_sum`` is a sequence model: a request without a correlation ID is refused, every one."""
    argv = ["bench", "-m", "running_sum", "--input", "X=ones", "--requests", "5", "--warmup", "0"]
    res = run_cli(*argv, *args(zoo, "grpc"), *(["--json"] if as_json else []), timeout=120)
    assert res.returncode == 1, res.stderr
    assert "nan" not in res.stdout.lower(), res.stdout
    if as_json:
        step = json.loads(res.stdout)
        assert step["count"] == 0 and step["errors"] == 5
        assert set(step["latency_ms"].values()) == {None}, step
    else:
        assert "latency ms  - (no successful request)" in res.stdout, res.stdout
    error = res.stderr.strip().splitlines()[-1]
    assert error.startswith("error: running_sum: all 5 requests failed; the first: "), res.stderr
    assert "correlation ID" in error, error


@pytest.mark.parametrize("as_json", [False, True])
def test_a_bench_where_some_requests_fail_exits_1_with_one_error_line_saying_what_failed(
    zoo, tmp_path, as_json
):
    """Half the requests carry a file that is not an image (bytes_image's PIL refuses it): the run's exit 1
    came with an empty stderr, and with --json the failures were only counts in stdout's JSON."""
    bogus = tmp_path / "not-an-image.jpg"
    bogus.write_bytes(b"plain text, not a JPEG\n")
    argv = [
        "bench",
        str(image("car.jpg")),
        str(bogus),
        "-m",
        "bytes_image",
        "--requests",
        "6",
        "--warmup",
        "0",
    ]
    res = run_cli(*argv, *args(zoo, "grpc"), *(["--json"] if as_json else []), timeout=120)
    assert res.returncode == 1, res.stderr
    if as_json:
        step = json.loads(res.stdout)
        assert step["count"] == 3 and step["errors"] == 3, step
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: bytes_image: 3 of 6 requests failed (server error 3); the first: "), (
        lines
    )
    assert "inference on bytes_image failed" in lines[0], lines


@pytest.fixture(scope="module")
def polling(tmp_path_factory):
    """A real bundled tritonserver in none (polling-style) model control, serving an empty repository."""
    from triton_console.tui.core.server import process as srv

    root = tmp_path_factory.mktemp("polling") / "models"
    root.mkdir()
    cfg = srv.ServerConfig(root, *srv.free_ports(3), model_control="none")
    with srv.ManagedServer(cfg) as s:
        s.start()
        s.wait_ready(timeout=180)
        yield s


@pytest.mark.parametrize("action", ["reload", "unload"])
def test_reload_of_an_unknown_model_on_a_polling_server_says_not_found(polling, action):
    res = run_cli(action, "nosuch", "-u", polling.grpc_url, "--json", timeout=60)
    assert res.returncode == 1, res.stderr
    said = json.loads(res.stdout)
    assert said["error"] == f"model 'nosuch' not found on grpc://{polling.grpc_url}", said
    assert said["code"] == "model-not-found"
