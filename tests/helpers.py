"""Small helpers the tests share: waiting, free ports, reading a child's output, finding our processes."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from triton_console.common.paths import SHM_PREFIX


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1, show=None):
    """Poll ``predicate`` until it is truthy (returned) or fail after ``timeout`` seconds saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}" + (f": {show()}" if show else "")
            )
        time.sleep(interval)


async def wait_for(
    pilot, predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition", show=None
):
    """``wait_until`` for Pilot tests: the app keeps running while we wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what}" + (f": {show()}" if show else "")
    )


async def press_repeated(pilot, key: str, times: int) -> None:
    """``key`` pressed ``times`` times, each handled (and the scroll it started ended) before the next, as
    Pilot's ``press`` does, but without its waits for the CPU to go idle after each key (two of at least 20 ms,
    often 90 ms a key in all: a hundred presses took 10 s; here ~25 ms)."""
    from textual import events

    for _ in range(times):
        pilot.app.post_message(events.Key(key, None))  # the driver's own path for a key
        await pilot.pause(0)  # the app handled it and forwarded it to the focused widget...
        await pilot.pause(0)  # ...which handled it in turn
        await pilot.app.animator.wait_until_complete()  # a scroll it started ends before the next key


async def start_from_server_pane(pilot, app, kind: str = "bundled", timeout: float = 180.0):
    """s in the Server pane (2): the console starts its own server; returns the state line once it reads
    ``● ready`` with the ``kind`` (bundled, docker) and pid of the server the console started."""
    await pilot.press("2", "s")
    state = app.query_one("#state")
    await wait_for(
        pilot,
        lambda: "● ready" in rendered(state) and f"{kind} pid " in rendered(state),
        timeout,
        f"the console's own {kind} server, ready",
        show=lambda: rendered(state),
    )
    return state


async def select_model(pilot, app, name: str, timeout: float = 20.0):
    """The Models pane (3) with ``name`` selected once the list has it; returns the list."""
    await pilot.press("3")
    index = app.query_one("#index")
    await wait_for(pilot, lambda: name in rows(index), timeout, "the models")
    index.move_cursor(row=index.get_row_index(name))
    return index


def model_runtime():
    """The generated models' shared runtime (``triton_console_runtime.py``), imported by path as the stub
    imports it from beside model.py."""
    import importlib.util

    import triton_console.model_repository as sources

    path = Path(sources.__file__).parent / "triton_console_runtime.py"
    spec = importlib.util.spec_from_file_location("triton_console_runtime", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (the console's own choice: held together, so they cannot repeat)."""
    from triton_console.tui.core.server.process import free_ports as choose

    return choose(n)


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[ThreadingHTTPServer]:
    """A small HTTP server of the test's own on 127.0.0.1 (``port`` 0: a free one), served from a thread,
    shut down and closed on leaving."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def explicit_server(
    root: Path,
    timeout: float = 180,
    stop_in: list[threading.Thread] | None = None,
    model_control: str = "explicit",
    load_models: tuple[str, ...] = ("*",),
):
    """A real bundled tritonserver serving ``root`` on free loopback ports, in explicit mode with every model
    (or ``load_models``) loaded, ready when yielded; stopped on the way out, ready or not (the session and
    module servers). ``model_control="none"``: the server loads the whole repository itself. With
    ``stop_in`` (the session's ``stopping`` fixture), a normal way out only starts the stop, in a thread added
    there for the caller to join: the servers stop side by side, while the tests go on (SIGTERM to exit takes
    3-6 s each while the server unloads)."""
    from triton_console.tui.core.server import process as srv

    loads = list(load_models) if model_control == "explicit" else []
    cfg = srv.ServerConfig(root, *srv.free_ports(3), model_control=model_control, load_models=loads)
    s = srv.ManagedServer(cfg)
    try:
        s.start()
        s.wait_ready(timeout=timeout)
        yield s
    except BaseException:
        s.stop()
        raise
    if stop_in is None:
        s.stop()
    else:
        stop_in.append(threading.Thread(target=s.stop, name=f"stop tritonserver {s.pid}"))
        stop_in[-1].start()


@contextlib.contextmanager
def deploy_target(server, model: str):
    """A Tune ``Target`` on ``model`` of a managed ``server`` (its repository, log and metrics); on the way out
    the model's config.pbtxt is put back byte for byte, its backup and a warm-up folder the test wrote are
    removed, and the server serves the file again."""
    import shutil

    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.tune.deploy import Target, revert

    client = TritonClient(server.grpc_url, "grpc", timeout=60, metrics_url=server.metrics_url)
    t = Target(client, model, server.cfg.repository, lambda: list(server.log))
    file, saved = t.file, t.file.read_bytes()
    warmup = file.parent / "warmup"
    had_warmup = warmup.exists()
    try:
        yield t
    finally:
        file.write_bytes(saved)
        file.with_name("config.pbtxt.bak").unlink(missing_ok=True)
        if not had_warmup:
            shutil.rmtree(warmup, ignore_errors=True)
        revert(t)
        client.close()


def read_until(stream, needle: str, timeout: float) -> str:
    """Read a child's output (a pipe) line by line until a line contains ``needle``; returns what was read.

    Byte by byte from the pipe once select says it is readable, so a read never blocks past the deadline (a
    readline waited for the rest of a part line) and never takes more than the lines it returns: the next call,
    or communicate(), gets the rest. Reading through the text stream buffered lines that select could not see,
    so a second call missed a line that had arrived with the first and waited for its whole timeout."""
    fd = stream.fileno()
    seen: list[str] = []
    line = bytearray()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if not ready:
            continue
        byte = os.read(fd, 1)
        if byte:
            line += byte
        if line and (byte in (b"\n", b"")):  # a whole line, or the last part of one at the end
            seen.append(line.decode(errors="replace"))
            line.clear()
            if needle in seen[-1]:
                return "".join(seen)
        if not byte:
            break
    raise AssertionError(f"{needle!r} not seen within {timeout:.0f} s; output:\n" + "".join(seen[-40:]))


def our_processes() -> list:
    """Every tritonserver or Python-backend stub on this machine started by triton-console (any parent).

    The stub's argv carries the shared-memory prefix the console gives each server, so stubs orphaned by a
    dead server are found too, not only our direct children.
    """
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            line = " ".join(proc.info["cmdline"] or [])
            if SHM_PREFIX in line and ("tritonserver" in line or "triton_python_backend_stub" in line):
                found.append(proc)
    return found


def our_shm_regions() -> list[Path]:
    shm = Path("/dev/shm")
    return sorted(shm.glob(f"{SHM_PREFIX}*")) if shm.is_dir() else []


def describe(procs) -> str:
    return (
        "; ".join(f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in procs if p.is_running()) if procs else ""
    )


# ------------------------------------------------------------------------------------------ Pilot views


def rows(table) -> dict[str, str]:
    """A table's rows as the user reads them: row key → the cells' text joined by spaces (DataTable or RowList)."""
    if hasattr(table, "row_text"):
        return {k: table.row_text(k) for k in table.keys}
    return {k.value: " ".join(str(c) for c in table.get_row(k)) for k in table.rows}


def texts(table) -> list[str]:
    return list(rows(table).values())


def rendered(widget) -> str:
    """What a Static-like widget shows, as plain text."""
    return str(widget.render())


def notifications(app) -> list[str]:
    """The toasts on screen now, as plain text (title and message)."""
    return [str(t.render()) for t in app.screen.query("Toast")]


def lines_of(widget) -> list[str]:
    """What a widget shows on screen now, line by line (its rendered strips as text), from its left edge to the
    right and bottom edges of its content: the left and top padding and border included, the right and bottom
    ones and a scrollbar not. (It rendered ``widget.size`` from the left edge: a padded widget lost as many
    columns on the right as its gutter is wide, so a wrapped line that filled its width read "but i" for the
    "but it" on the screen.)"""
    from textual.geometry import Region

    content, region = widget.content_region, widget.region
    crop = Region(0, 0, max(0, content.right - region.x), max(0, content.bottom - region.y))
    return [strip.text for strip in widget.render_lines(crop)]


def screen_lines(app) -> list[str]:
    """The whole screen as the terminal shows it, line by line (as ``export_screenshot`` renders it)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


@contextlib.contextmanager
def steady_requests(url: str, model: str = "nobatch", inputs: dict[str, str] | None = None) -> Iterator[None]:
    """Requests to ``model`` every 50 ms in a thread while the block runs, as a benchmark elsewhere sends them
    (the Servers pane's inf/s then has something to measure)."""
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.request import infer

    stop = threading.Event()

    def load() -> None:
        client = TritonClient(url, "grpc", timeout=60)
        try:
            plans = infer.plan_inputs(client.model_info(model), inputs or {"X": "ones"})
            while not stop.is_set():
                infer.run(client, model, plans)
                stop.wait(0.05)
        finally:
            client.close()

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    try:
        yield
    finally:
        stop.set()
        loader.join(timeout=30)
