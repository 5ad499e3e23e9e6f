"""Clear messages and exit codes when things are wrong: ports in use, missing binaries, bad URLs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import image, run_cli
from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client import client as client_mod


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url_status_and_classify_exit_2():
    port = _dead_port()
    res = run_cli("status", "-u", f"127.0.0.1:{port}", "--json", timeout=60)
    assert res.returncode == 2
    assert json.loads(res.stdout)["live"] is False
    res = run_cli("classify", str(image("mug.jpg")), "-u", f"http://127.0.0.1:{port}", timeout=60)
    assert res.returncode == 2 and f"cannot reach http://127.0.0.1:{port}" in res.stderr


@pytest.mark.parametrize("url", ["ftp://x:1", "host:99999", "http://u:p@h:1"])
def test_bad_urls_are_rejected_with_one_line(url):
    res = run_cli("status", "-u", url)
    assert res.returncode == 2 and res.stderr.startswith("error:") and "Traceback" not in res.stderr


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".", "x" * 200, "bad name"])
def test_model_names_are_validated(name):
    with pytest.raises(ConsoleError):
        client_mod.check_model_name(name)


def test_missing_server_binary(tmp_path):
    (tmp_path / "repo").mkdir()
    res = run_cli("serve", "--repository", str(tmp_path / "repo"), "--server", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no executable tritonserver" in res.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        (tmp_path / "repo").mkdir()
        res = run_cli(
            "serve",
            "--repository",
            str(tmp_path / "repo"),
            "--http-port",
            str(port),
            "--grpc-port",
            str(_dead_port()),
            "--metrics-port",
            str(_dead_port()),
        )
    assert res.returncode == 2 and f"port {port}" in res.stderr and "in use" in res.stderr


def test_missing_repository(tmp_path):
    res = run_cli("serve", "--repository", str(tmp_path / "none"))
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_usage_errors_exit_2():
    assert run_cli("classify").returncode == 2
    assert run_cli("build", "--model", "vgg").returncode == 2


def test_bundled_server_refuses_numpy_2(monkeypatch):
    """Triton 2.51's Python backend corrupts UINT8 inputs under numpy 2 (seen on the H100): say so up front."""
    from importlib import metadata

    from triton_console.tui.core.server import bundled
    from triton_console.tui.core.server import process as srv

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "2.5.2" if name == "numpy" else real(name))
    monkeypatch.delenv(bundled.STUB_SITE_ENV, raising=False)
    with pytest.raises(ConsoleError, match="numpy<2"):
        srv.locate("bundled")


def _stub_python(binary) -> list[str]:
    """The interpreter the stub embeds, run the way the stub runs it (isolated mode, found on our PATH)."""
    return [str(Path(binary.env["PATH"].split(os.pathsep)[0]) / "python3"), "-I", "-c"]


def test_stub_sees_this_environment_whatever_the_import_order():
    """numpy imported before anything else (Triton's example order) is this venv's numpy, not the base one's."""
    import numpy

    from triton_console.tui.core.server import process as srv

    binary = srv.locate("bundled")
    out = subprocess.run(
        [*_stub_python(binary), "import numpy, sys; print(numpy.__file__); print(sys.prefix)"],
        capture_output=True,
        text=True,
        env={"PATH": binary.env["PATH"]},
        check=True,
    ).stdout.splitlines()
    assert out[0] == numpy.__file__


def test_stub_site_directories_come_first(monkeypatch, tmp_path):
    from triton_console.tui.core.server import bundled
    from triton_console.tui.core.server import process as srv

    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("__version__ = '1.0-stub-site'\n")
    monkeypatch.setenv(bundled.STUB_SITE_ENV, str(tmp_path))
    binary = srv.locate("bundled")
    out = subprocess.run(
        [*_stub_python(binary), "import numpy; print(numpy.__version__)"],
        capture_output=True,
        text=True,
        env={"PATH": binary.env["PATH"]},
        check=True,
    ).stdout.strip()
    assert out == "1.0-stub-site"


def test_a_commands_usage_error_is_one_line():
    """argparse printed the command's whole usage (9 lines, the top-level usage glued before its name)."""
    for argv in (["reload"], ["tune"], ["classify"], ["servers", "add"]):
        res = run_cli(*argv)
        assert res.returncode == 2, argv
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: triton-console {' '.join(argv)}: "), lines
        assert "required" in lines[0] and "--help" in lines[0]


def test_status_of_an_unreachable_server_says_error():
    res = run_cli("-u", f"127.0.0.1:{_dead_port()}", "status", timeout=60)
    assert res.returncode == 2 and res.stderr.startswith("error: cannot reach"), res.stderr


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_status_json_of_an_unreachable_server_says_it_as_the_other_commands(protocol):
    """``status --json`` gave ``{"error": …}`` without ``"code"`` and nothing on stderr, where infer, classify,
    bench and metrics say ``"code": "unreachable"`` and an ``error:`` line (a newcomer's trial, 2026-12)."""
    port = _dead_port()
    res = run_cli("-u", f"{protocol}://127.0.0.1:{port}", "status", "--json", timeout=60)
    assert res.returncode == 2
    out = json.loads(res.stdout)
    assert out["live"] is False and out["code"] == "unreachable" and out["error"], out
    assert res.stderr.startswith("error: cannot reach") and len(res.stderr.splitlines()) == 1, res.stderr
    other = run_cli("-u", f"{protocol}://127.0.0.1:{port}", "metrics", "--json", "--count", "1", timeout=60)
    assert json.loads(other.stdout.splitlines()[-1])["code"] == out["code"], other.stdout


def test_serve_on_a_taken_port_refuses_at_once_naming_its_holder(tmp_path):
    """A newcomer's trial (2026-12): serve printed that it was starting and the whole tritonserver command
    before the port error, which named no holder. Now one line, before anything else, with the holder's pid and
    name."""
    import sys

    (tmp_path / "repo").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(1);"
         " print(s.getsockname()[1], flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = int(holder.stdout.readline())
        free = [_dead_port(), _dead_port()]
        res = run_cli(
            "serve", "--repository", str(tmp_path / "repo"),
            "--http-port", str(free[0]), "--grpc-port", str(port), "--metrics-port", str(free[1]),
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert res.returncode == 2 and res.stdout == "", (res.stdout, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, lines
    name = Path(sys.executable).name
    assert lines[0].startswith(
        f"error: port {port} on 127.0.0.1 is already in use by pid {holder.pid} ({name[:15]})"
    ), lines


@pytest.mark.parametrize("listed", [True, False])
def test_a_holder_that_cannot_be_read_is_said_so(monkeypatch, listed):
    """Another user's process (its /proc/PID/fd unreadable: psutil gives no pid), or none visible at all."""
    import psutil

    from triton_console.tui.core.server import process as srv

    addr = psutil._common.addr("127.0.0.1", 8001)
    row = psutil._common.sconn(3, socket.AF_INET, socket.SOCK_STREAM, addr, (), psutil.CONN_LISTEN, None)
    monkeypatch.setattr(psutil, "net_connections", lambda kind="inet": [row] if listed else [])
    said = srv.port_holder(8001)
    if listed:
        assert said == "a process whose pid cannot be read here (another user's: sudo ss -ltnp names it)"
    else:
        assert said == "a process not visible from here (another container's or network namespace's)"
