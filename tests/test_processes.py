"""Processes: serve and the console, ended by any signal, leave no tritonserver, stub or /dev/shm region.

Orphans are looked for over all processes (psutil), by the shared-memory prefix each server's argv carries,
not only among our direct children: a stub re-parented to init would be missed otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, ROOT
from tests.helpers import describe, free_ports, our_processes, our_shm_regions, wait_until
from triton_console.tui.core.client.client import TritonClient

pytestmark = pytest.mark.server


def _small_repo(repo: Path, tmp: Path) -> Path:
    root = tmp / "small"
    shutil.copytree(repo / "postprocess", root / "postprocess")
    return root


def _of(root: Path) -> list:
    """Our servers and stubs that serve ``root`` (a stub's argv names its model's path)."""
    out = []
    for p in our_processes():
        with contextlib.suppress(Exception):
            if str(root) in " ".join(p.cmdline()) or any(
                str(root) in " ".join(c.cmdline()) for c in p.parents()
            ):
                out.append(p)
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_serve_leaves_no_processes(repo, tmp_path, sig):
    root = _small_repo(repo, tmp_path)
    http, grpc, metrics = free_ports(3)
    proc = subprocess.Popen(
        [*CLI, "serve", "--repository", str(root), "--quiet"]
        + [f"--http-port={http}", f"--grpc-port={grpc}", f"--metrics-port={metrics}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: len(_of(root)) >= 2, 60, "server and stub")
        wait_until(lambda: TritonClient(f"127.0.0.1:{grpc}").probe()[0], 60, "a live server")
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        if sig != signal.SIGKILL:
            err = proc.stderr.read()
            assert code == 0, err
            # the exact command is printed, to rerun by hand (the README's NGC note relies on it)
            assert f"--model-repository={root.resolve()} --http-address=127.0.0.1" in err
        wait_until(lambda: not _of(root), 30, "no server or stub left", show=lambda: describe(_of(root)))
        assert not [r for r in our_shm_regions() if f"_{proc.pid}_" in r.name]
    finally:
        proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL])
def test_console_leaves_no_processes(repo, tmp_path, sig):
    """The TUI in a real pseudo-terminal starts the server; a closed SSH session or a crash kills it."""
    import pty

    root = _small_repo(repo, tmp_path)
    (port,) = free_ports(1)
    pid, fd = pty.fork()
    if pid == 0:  # child: the console, in its own terminal
        os.chdir(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [*CLI, "--repository", str(root), "-u", f"127.0.0.1:{port}", "--start"])
    try:

        def drain():
            with contextlib.suppress(OSError):
                os.read(fd, 65536)

        def started() -> bool:
            drain()
            return len(_of(root)) >= 2

        wait_until(started, 90, "the console to start the server")
        time.sleep(1)
        os.kill(pid, sig)

        def gone() -> bool:
            drain()
            return not _of(root)

        wait_until(gone, 30, "no server or stub left", show=lambda: describe(_of(root)))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
