"""Several servers: the servers file (validated, secrets never stored), -c NAME, status --all and the Servers
pane over 20 servers (real ones, closed ports, and sockets that accept and never answer)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import time

import pytest

from tests.conftest import run_cli
from tests.helpers import explicit_server, rows, wait_for
from triton_console.tui.core.client import contexts


@pytest.fixture()
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def _env(config_home, **extra) -> dict:
    return dict(os.environ, XDG_CONFIG_HOME=str(config_home), **extra)


def test_servers_add_list_remove_and_no_secret_on_disk(config_home):
    env = _env(config_home, GPU_TOKEN="Bearer very-secret")
    res = run_cli(
        "servers",
        "add",
        "gpu",
        "grpcs://gpu-box:8001",
        "--header-env",
        "Authorization=GPU_TOKEN",
        "-m",
        "resnet50",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    file = contexts.path()
    text = file.read_text()
    assert 'Authorization = "GPU_TOKEN"' in text and "very-secret" not in text
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert (
        run_cli("servers", "add", "gpu", "localhost:1", env=env).returncode == 2
    )  # exists: --replace to change
    assert run_cli("servers", "add", "dev", "http://localhost:8000", env=env).returncode == 0
    listed = json.loads(run_cli("servers", "list", "--json", env=env).stdout)
    assert [s["name"] for s in listed["servers"]] == ["gpu", "dev"] and listed["problems"] == []
    assert listed["servers"][0]["headers"] == {"Authorization": "GPU_TOKEN"} and listed["servers"][0][
        "models"
    ] == ["resnet50"]
    (entry,) = [e for e in contexts.load()[0] if e.name == "gpu"]
    conn = entry.connection({"GPU_TOKEN": "Bearer very-secret"})
    assert conn.headers.as_dict() == {"Authorization": "Bearer very-secret"} and "very-secret" not in repr(
        conn
    )
    assert run_cli("servers", "remove", "gpu", env=env).returncode == 0
    assert [e.name for e in contexts.load()[0]] == ["dev"]
    res = run_cli("servers", "remove", "gpu", env=env)
    assert res.returncode == 2 and "no server named 'gpu'" in res.stderr


def test_a_bad_servers_file_gives_one_line_per_bad_entry(config_home):
    file = contexts.path()
    file.parent.mkdir(parents=True)
    file.write_text(
        '[servers.good]\nurl = "localhost:8001"\n\n'
        '[servers.nourl]\nprotocol = "grpc"\n\n'
        '[servers.secret]\nurl = "h:1"\nheaders = { Authorization = "Bearer abc" }\n\n'
        '[servers.typo]\nurl = "h:1"\nroot_cert = "x"\n\n'
        '[servers.badurl]\nurl = "ftp://x:1"\n'
    )
    entries, problems = contexts.load()
    assert [e.name for e in entries] == ["good"] and len(problems) == 4
    text = "\n".join(problems)
    assert "'nourl': url is required" in text and "must name an environment variable" in text
    assert "unknown setting 'root_cert'" in text and "unsupported URL scheme" in text
    res = run_cli("servers", "list", env=_env(config_home))
    assert res.returncode == 1 and res.stderr.count("problem:") == 4
    file.write_text("[servers.x\nurl=")
    res = run_cli("servers", "list", env=_env(config_home))
    assert res.returncode == 1 and "not valid TOML" in res.stderr and "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """The fleet's second real tritonserver, on an empty repository: ready in well under a second and stopped in
    about one, where the session's ``server`` needs the generated repository first (four exports, ~15-20 s of
    CPU, in the timing phase too, which runs alone after the two workers)."""
    with explicit_server(tmp_path_factory.mktemp("bare")) as s:
        yield s


@pytest.fixture()
def fleet(config_home, bare, zoo):
    """20 servers: 4 real (two Triton servers, both protocols), 10 closed ports, 6 that accept and never answer.

    A closed port is a socket bound and not listening (connections are refused), held for the whole test: a
    port chosen and released could be taken meanwhile by a server another test starts, and answer."""
    hung, closed = [], []
    for i in range(16):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        if i < 6:
            s.listen(64)
            hung.append(s)
        else:
            closed.append(s)
    entries = [
        contexts.ServerEntry("triton-grpc", bare.grpc_url),
        contexts.ServerEntry("triton-http", f"http://{bare.http_url}"),
        contexts.ServerEntry("zoo-grpc", zoo.grpc_url),
        contexts.ServerEntry("zoo-http", f"http://{zoo.http_url}"),
    ]
    entries += [
        contexts.ServerEntry(f"closed-{i}", f"127.0.0.1:{s.getsockname()[1]}") for i, s in enumerate(closed)
    ]
    entries += [
        contexts.ServerEntry(f"hung-{i}", f"127.0.0.1:{s.getsockname()[1]}") for i, s in enumerate(hung)
    ]
    contexts.save(entries)
    yield entries
    for s in hung + closed:
        with contextlib.suppress(OSError):
            s.close()


def test_status_all_asks_every_server_in_parallel(fleet, config_home):
    t0 = time.monotonic()
    res = run_cli("status", "--all", "--json", "--timeout", "2", env=_env(config_home), timeout=60)
    elapsed = time.monotonic() - t0
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 1 and len(rows) == 21
    assert rows[0]["name"] == "(current)" and rows[0]["current"]  # the default server, which no entry names
    by = {r["name"]: r for r in rows}
    assert by["triton-grpc"]["ready"] and by["triton-grpc"]["server"] == "triton 2.51.0"
    assert by["zoo-http"]["models_total"] == 11 and by["zoo-http"]["models_ready"] == 10  # boom fails
    assert all(not by[f"closed-{i}"]["live"] and by[f"closed-{i}"]["error"] for i in range(10))
    assert all(not by[f"hung-{i}"]["live"] and by[f"hung-{i}"]["error"] for i in range(6))
    assert elapsed < 6, f"{elapsed:.1f} s for 20 servers (2 s budget, plus starting the command)"


def test_status_all_fits_80_columns_and_names_every_server(fleet, config_home):
    """An unreachable server's error ran past the 80th column on its row: it goes beneath, wrapped."""
    env = {**_env(config_home), "COLUMNS": "80"}
    res = run_cli("status", "--all", "--timeout", "2", env=env, timeout=60)
    lines = res.stdout.splitlines()
    assert res.returncode == 1 and max(len(ln) for ln in lines) <= 80, lines
    heads = [ln.split()[0] for ln in lines if not ln.startswith(" ")]
    assert sorted(heads) == sorted(["(current)", *(e.name for e in fleet)]), lines
    at = next(i for i, ln in enumerate(lines) if ln.startswith("zoo-http "))
    assert "models 10/11" in " ".join(lines[at : at + 2]), lines  # on its row, or beneath it


def test_context_flag_uses_a_named_server(fleet, config_home):
    res = run_cli("status", "-c", "zoo-grpc", "--json", env=_env(config_home))
    assert res.returncode == 0 and "chw_fp32" in [m["name"] for m in json.loads(res.stdout)["models"]]
    res = run_cli("status", "-c", "nope", env=_env(config_home))
    assert res.returncode == 2 and "no server named 'nope'" in res.stderr and "triton-grpc" in res.stderr


@pytest.mark.timing
def test_servers_pane_refreshes_20_servers_and_switches(fleet, config_home, bare):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=bare.grpc_url, protocol="grpc"))
        async with app.run_test(size=(140, 36)) as pilot:
            t0 = time.monotonic()
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(pilot, lambda: table.row_count == 21, 5, "20 rows and the active server's")
            assert rows(table)["(active)"].startswith("▶ (active)")  # -u: a row of its own, marked

            def refreshed():
                shown = rows(table)
                return "ready" in shown["triton-grpc"] and all("…" not in v for v in shown.values())

            await wait_for(
                pilot, refreshed, 6, "every server answered or timed out", show=lambda: rows(table)
            )
            elapsed = time.monotonic() - t0
            gaps, last = [], time.perf_counter()

            def tick():
                nonlocal last
                now = time.perf_counter()
                gaps.append(now - last - 0.01)
                last = now

            timer = app.set_interval(0.01, tick)
            await pilot.pause(2.5)  # a full refresh of the 20 servers happens meanwhile
            timer.stop()
            shown = rows(table)
            assert "down" in shown["closed-3"] and "down" in shown["hung-2"]
            table.move_cursor(row=table.get_row_index("zoo-http"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: "zoo-http —" in app.sub_title, 5, "the header naming the server")
            assert table.row_count == 20 and rows(table)["zoo-http"].startswith("▶ zoo-http")
            await pilot.press("3")
            await wait_for(pilot, lambda: "chw_fp32" in rows(app.query_one("#index")), 10, "the zoo's models")
            await pilot.press("colon")
            app.screen.query_one("#command").value = "ctx triton-grpc"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "triton-grpc —" in app.sub_title, 5, "switched by :ctx")
            await pilot.press("q")
            return elapsed, max(gaps)

    elapsed, lag = asyncio.run(scenario())
    assert elapsed < 4.5, elapsed  # first full refresh: 2 s budget, plus the console starting
    assert lag < 0.05, f"event loop stalled {lag * 1000:.0f} ms while 20 servers refreshed"


def test_a_path_with_an_emoji_survives_the_servers_file(config_home, tmp_path):
    """JSON escapes wrote characters outside the BMP as surrogate pairs, which TOML forbids: every later read
    of the file failed. tomli-w writes them as they are."""
    ca = tmp_path / "ca-\N{GRINNING FACE}.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    res = run_cli(
        "servers", "add", "smile", "grpcs://box:8001", "--root-certs", str(ca), env=_env(config_home)
    )
    assert res.returncode == 0, res.stderr
    listed = run_cli("servers", "list", "--json", env=_env(config_home))
    assert listed.returncode == 0, listed.stderr
    (server,) = json.loads(listed.stdout)["servers"]
    assert server["root_certs"] == str(ca)
    assert "\\ud83d" not in contexts.path().read_text(encoding="utf-8")
