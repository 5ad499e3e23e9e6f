"""Processes: serve and the console, ended by any signal, leave no tritonserver, stub or /dev/shm region.

Orphans are looked for over all processes (psutil), by the shared-memory prefix each server's argv carries,
not only among our direct children: a stub re-parented to init would be missed otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
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
        wait_until(lambda: len(_of(root)) >= 2, 180, "server and stub")
        wait_until(lambda: TritonClient(f"127.0.0.1:{grpc}").probe()[0], 180, "a live server")
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


class _Terminal:
    """The parent's end of a pseudo-terminal, read all the time by a thread.

    A console whose output nobody reads blocks on its next write; reading only while polling (as this test
    first did) let a busy CI machine fill the buffer. The last output is kept, to say what the console showed
    when something did not happen.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.out = bytearray()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if ready:
                    chunk = os.read(self.fd, 65536)
                    if not chunk:
                        return
                    self.out += chunk
                    del self.out[:-200_000]
            except (OSError, ValueError):
                return

    def screen(self) -> str:
        """The last output as plain text (escape sequences removed), for failure messages."""
        text = re.sub(
            r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|.)", " ", self.out.decode(errors="replace")
        )
        return " ".join(text.split())[-1500:]


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL])
def test_console_leaves_no_processes(repo, tmp_path, sig):
    """The TUI in a real pseudo-terminal starts the server; a closed SSH session, a kill or a crash ends it.
    SIGHUP and SIGTERM killed the console by their default action: its server went by PDEATHSIG's SIGKILL
    and a stub still loading its model outlived it (CI, once); the console stops its server itself now."""
    import pty

    root = _small_repo(repo, tmp_path)
    (port,) = free_ports(1)
    pid, fd = pty.fork()
    if pid == 0:  # child: the console, in its own 80x24 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.chdir(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [*CLI, "--repository", str(root), "-u", f"127.0.0.1:{port}", "--start"])
    term = _Terminal(fd)
    exited: list[int] = []

    def alive() -> bool:
        if not exited:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                exited.append(status)
        return not exited

    def show() -> str:
        state = "running" if alive() else f"exited (wait status {exited[0]})"
        return f"console {state}; {describe(_of(root))}; its screen: {term.screen()}"

    try:

        def started() -> bool:
            assert alive(), f"the console ended before it started the server: {show()}"
            return len(_of(root)) >= 2

        wait_until(started, 180, "the console to start the server", show=show)
        time.sleep(1)
        os.kill(pid, sig)
        wait_until(lambda: not _of(root), 30, "no server or stub left", show=show)
        if sig != signal.SIGKILL:  # the console stopped its own server (before: the default action killed it)
            wait_until(lambda: not alive(), 30, "the console's end", show=show)
            assert "stopped in" in term.screen(), show()
            if sig == signal.SIGTERM:  # as a quit: the screen given back first, then the server stopped
                assert os.waitstatus_to_exitcode(exited[0]) == 128 + sig, show()
    finally:
        if alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_quit_gives_the_terminal_back_then_says_the_server_stopped(repo, tmp_path):
    """q, y: the screen is given back at once and the terminal then says that the console's own server is
    stopping and that it stopped (Triton takes seconds to unload its models; the screen used to sit on a
    notice meanwhile, and a newcomer took it for a hang)."""
    import pty

    root = _small_repo(repo, tmp_path)
    (port,) = free_ports(1)
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.chdir(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [*CLI, "--repository", str(root), "-u", f"127.0.0.1:{port}", "--start"])
    term = _Terminal(fd)
    status: list[int] = []

    def ended() -> bool:
        if not status:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status.append(st)
        return bool(status)

    try:
        wait_until(lambda: len(_of(root)) >= 2, 180, "the console to start the server", show=term.screen)
        wait_until(lambda: "ready" in term.screen(), 60, "the server ready on screen", show=term.screen)
        os.write(fd, b"q")
        wait_until(lambda: "Quit now?" in term.screen(), 30, "the question", show=term.screen)
        os.write(fd, b"y")
        wait_until(ended, 60, "the console to end", show=term.screen)
        assert os.waitstatus_to_exitcode(status[0]) == 0, term.screen()
        out = term.out.decode(errors="replace")
        left = out.rfind("\x1b[?1049l")  # the alternate screen left: the user's terminal is back
        stopping = out.find("stopping tritonserver (pid")
        stopped = re.search(r"stopped in [0-9.]+ s \(exit code 0\)", out)
        assert 0 <= left < stopping, term.screen()
        assert stopped and stopped.start() > stopping, term.screen()
        wait_until(lambda: not _of(root), 30, "no server or stub left", show=lambda: describe(_of(root)))
    finally:
        if not ended():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
