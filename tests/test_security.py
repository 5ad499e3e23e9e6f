"""Security: loopback by default, argv lists and never a shell, secrets kept out of argv, logs and files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from triton_console.tui.core.server import process as srv


def _connections(proc):
    """psutil 6 renamed connections() to net_connections() (kserve pins psutil 5.9)."""
    return (getattr(proc, "net_connections", None) or proc.connections)(kind="inet")


def test_servers_listen_on_loopback_only(server):
    import ipaddress

    import psutil

    addrs = {c.laddr.ip for c in _connections(psutil.Process(server.pid)) if c.status == "LISTEN"}
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
