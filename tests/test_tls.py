"""TLS and headers for real: the bundled tritonserver with mutual-TLS gRPC, and HTTPS with a bearer token
(a TLS proxy in front of its HTTP port), certificates made in the test. Works / one clear error."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from tests import certs as certs_mod
from tests.conftest import ROOT, run_cli
from tests.helpers import free_ports, read_until, rendered, wait_for
from triton_console.tui.core.server import process as srv

pytestmark = pytest.mark.server
TOKEN = "Bearer s3cr3t-t0ken"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return certs_mod.make(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_server(certs, tmp_path_factory):
    """The bundled server on one tiny model, gRPC with mutual TLS (clients need a certificate of our CA)."""
    from tests import modelzoo

    root = tmp_path_factory.mktemp("tlsrepo") / "models"
    modelzoo._model(root, "nobatch", *modelzoo.NOBATCH_MODEL)
    cfg = srv.ServerConfig(
        root,
        *srv.free_ports(3),
        extra_args=[
            "--grpc-use-ssl-mutual=true",
            f"--grpc-server-cert={certs['server']}",
            f"--grpc-server-key={certs['server_key']}",
            f"--grpc-root-cert={certs['ca']}",
        ],
    )
    with srv.ManagedServer(cfg) as s:
        s.start()
        s.wait_ready(120)
        yield s


def _proxy(backend: str, cert, key):
    (port,) = free_ports(1)
    env = dict(os.environ, TC_PROXY_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.auth_proxy", str(port), backend, str(cert), str(key), "TC_PROXY_TOKEN"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    read_until(proc.stdout, "proxy ready", 30)
    return proc, port


@pytest.fixture(scope="module")
def https(tls_server, certs):
    proc, port = _proxy(tls_server.http_url, certs["server"], certs["server_key"])
    yield port
    proc.kill()
    proc.wait(10)


def grpc_tls(server, certs, *, ca="ca", client=True) -> list[str]:
    args = ["-u", f"grpcs://{server.grpc_url}"]
    if ca:
        args += ["--root-certs", str(certs[ca])]
    if client:
        args += ["--client-cert", str(certs["client"]), "--client-key", str(certs["client_key"])]
    return args


def test_grpc_with_mutual_tls_works_with_the_right_files(tls_server, certs):
    res = run_cli("status", *grpc_tls(tls_server, certs), "--json", timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["live"] and out["url"].startswith("grpcs://") and out["models"][0]["state"] == "READY"
    res = run_cli("infer", "nobatch", "--input", "X=ones", *grpc_tls(tls_server, certs), "--json", timeout=60)
    assert res.returncode == 0 and json.loads(res.stdout)["outputs"][0]["values"] == [2.0, 2.0, 2.0]
    same = ["-u", tls_server.grpc_url, "--ssl", *grpc_tls(tls_server, certs)[2:]]  # host:port plus --ssl
    assert run_cli("status", *same, timeout=60).returncode == 0


@pytest.mark.parametrize(
    "ca, client, words",
    [
        ("other_ca", True, ("certificate", "ssl", "handshake")),
        (None, True, ("certificate", "ssl", "handshake")),
        ("ca", False, ("handshake", "ssl", "certificate", "socket closed", "connection")),
    ],
    ids=["wrong-ca", "no-ca", "no-client-cert"],
)
def test_grpc_tls_failures_are_one_clear_line(tls_server, certs, ca, client, words):
    res = run_cli("status", *grpc_tls(tls_server, certs, ca=ca, client=client), "--timeout", "5", timeout=60)
    assert res.returncode == 2
    line = res.stderr.strip()
    assert line.count("\n") == 0 and "Traceback" not in line, line
    assert f"cannot reach grpcs://{tls_server.grpc_url}" in line and any(w in line.lower() for w in words), (
        line
    )


def test_https_with_a_token_from_the_environment(https, certs):
    env = dict(os.environ, TC_TOKEN=TOKEN)
    base = [
        "-u",
        f"https://127.0.0.1:{https}",
        "--root-certs",
        str(certs["ca"]),
        "--header-env",
        "Authorization=TC_TOKEN",
    ]
    res = run_cli("status", *base, "--json", timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["models"][0]["name"] == "nobatch"
    res = run_cli("infer", "nobatch", *base, "--show-call", "curl", timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert '-H "Authorization: ${TC_TOKEN}"' in res.stdout and f"--cacert {certs['ca']}" in res.stdout
    assert "s3cr3t" not in res.stdout + res.stderr  # the secret is never printed
    call = res.stdout[res.stdout.index("curl -s") :]
    ran = subprocess.run(["bash", "-c", call], capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(ran.stdout)["outputs"][0]["name"] == "Y"


def test_https_failures_are_one_clear_line(https, certs, tmp_path):
    env = dict(os.environ, TC_TOKEN="Bearer wrong")
    url = ["-u", f"https://127.0.0.1:{https}"]
    res = run_cli(
        "status",
        *url,
        "--root-certs",
        str(certs["ca"]),
        "--header-env",
        "Authorization=TC_TOKEN",
        timeout=60,
        env=env,
    )
    assert res.returncode == 2 and "unauthorized" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    res = run_cli("status", *url, timeout=60)  # no CA: the system roots do not know ours
    assert res.returncode == 2 and "certificate" in res.stderr.lower() and "Traceback" not in res.stderr
    res = run_cli(
        "status",
        *url,
        "--insecure",
        "--header-env",
        "Authorization=TC_TOKEN",
        timeout=60,
        env=dict(os.environ, TC_TOKEN=TOKEN),
    )
    assert res.returncode == 0 and "WARNING: --insecure" in res.stderr
    res = run_cli("status", *url, "--header-env", "Authorization=NOT_SET_ANYWHERE", timeout=60)
    assert res.returncode == 2 and "environment variable NOT_SET_ANYWHERE is not set" in res.stderr
    res = run_cli("status", *url, "-H", "Authorization:", timeout=60)
    assert res.returncode == 2 and "has no value" in res.stderr
    res = run_cli("status", "-u", "https://user:pw@127.0.0.1:1", timeout=60)
    assert res.returncode == 2 and "credentials" in res.stderr and "pw" not in res.stderr


def test_an_expired_certificate_is_named(tls_server, certs):
    proc, port = _proxy(tls_server.http_url, certs["expired"], certs["expired_key"])
    try:
        res = run_cli(
            "status", "-u", f"https://127.0.0.1:{port}", "--root-certs", str(certs["ca"]), timeout=60
        )
        assert res.returncode == 2 and "expired" in res.stderr.lower(), res.stderr
    finally:
        proc.kill()
        proc.wait(10)


def test_the_console_over_mutual_tls(tls_server, certs):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client.connection import TLS, Connection

    tls = TLS(True, str(certs["ca"]), str(certs["client"]), str(certs["client_key"]))

    async def scenario(conn, expect):
        app = ConsoleApp(ConsoleOptions(connection=conn))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            state = app.query_one("#state")
            await wait_for(pilot, lambda: expect in rendered(state), 20, expect, show=lambda: rendered(state))
            await pilot.press("q")

    asyncio.run(scenario(Connection(url=f"grpcs://{tls_server.grpc_url}", tls=tls), "● ready"))
    wrong = TLS(True, str(certs["other_ca"]), str(certs["client"]), str(certs["client_key"]))
    asyncio.run(
        scenario(Connection(url=f"grpcs://{tls_server.grpc_url}", tls=wrong, timeout=5), "not reachable")
    )
