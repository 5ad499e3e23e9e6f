"""Server pane: start/stop/restart the managed server or connect to a URL; state, log, metrics."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.messages import ConnectRequested, LogFiltered, ServerAction, ServerLog
from triton_console.tui.text import plain
from triton_console.tui.widgets.filterbox import FilterBox
from triton_console.tui.widgets.logview import FilteredLog, matching
from triton_console.tui.widgets.textbox import TextBox
from triton_console.tui.workers import work


def _uptime(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _state(snap: ServerSnapshot) -> tuple[str, str]:
    """What is true of the URL shown: connecting (nothing asked yet), stopping / stopped (the console's own
    server at that URL), ready / live, starting (the console's own server there, not answering yet), else
    not reachable."""
    own = snap.managed_phase if snap.managed_here else ""
    if not snap.polled:
        return "● connecting…", "yellow"
    if own == "stopping":
        return "● stopping…", "yellow"
    if own == "stopped":
        return "● stopped", "red"
    if snap.live:
        return ("● ready", "green") if snap.ready else ("● live, not ready", "yellow")
    if snap.managed:
        return "● starting…", "yellow"
    return "● not reachable", "red"


def _who(snap: ServerSnapshot) -> str:
    """Who runs the server at the URL shown: the console (pid and uptime only then) or someone else."""
    if snap.managed:
        return f"{snap.kind} pid {snap.pid} up {_uptime(snap.uptime_s)}"
    if snap.managed_here and snap.managed_phase == "stopped":
        code = f", exit code {snap.exit_code}" if snap.exit_code is not None else ""
        return f"{snap.kind}{code}"
    return "" if snap.managed_here else "external"


def state_text(snap: ServerSnapshot) -> Text:
    """The pane's status lines (a pure function of the snapshot): what answers, who runs it, what failed."""
    server = snap.server.title if snap.server else "?"
    out = Text.assemble(
        _state(snap), "  ", plain(snap.url), "  ", plain(server, "bold"), "  ", (_who(snap), "dim")
    )
    if snap.managed:
        out.append(f"\nports {snap.ports}  model control {snap.model_control}", "dim")
    elif snap.managed_phase in ("starting", "stopping") and not snap.managed_here:
        # the console's own server, elsewhere than the URL shown (the console connects to it once ready)
        doing = "starting" if snap.managed_phase == "starting" else "stopping"
        then = "; the console connects to it once it is ready" if doing == "starting" else ""
        kind = f"{snap.kind} " if snap.kind else ""  # not known before the start chooses it
        out.append(f"\n{doing} the {kind}tritonserver{then}", "yellow")
    if snap.start_note and (snap.managed or snap.managed_phase == "starting"):
        # ports moved off taken ones: kept here (a notice goes), with what headless commands need to find it
        out.append("\n")
        out.append_text(plain(snap.start_note, "yellow", limit=600))
    if snap.live and snap.capabilities is not None:
        for note in snap.capabilities.notes():
            out.append(f"\n{note}", "dim")
    if snap.live and snap.problems:
        out.append("\nreachable; ", "yellow")
        out.append_text(plain("; ".join(snap.problems[:3]), "yellow", limit=400))
        if len(snap.problems) > 3:
            out.append(f" (+{len(snap.problems) - 3} more)", "yellow")
    if snap.managed_here and snap.managed_phase == "stopped":
        out.append("\npress s to start it again", "bold")
    elif snap.error and not snap.live and snap.polled and snap.managed_phase != "stopping":
        out.append("\n")
        out.append_text(plain(snap.error, "red", limit=400))
        if not snap.managed_phase or snap.managed_phase == "stopped":
            out.append("\npress s to start the embedded server on the repository", "bold")
    return out


class ServerPane(Vertical):
    BINDINGS = [
        Binding("s", "start", "Start", id="server.start"),
        Binding("x", "stop", "Stop", id="server.stop"),
        Binding("R", "restart", "Restart", id="server.restart"),
        Binding("c", "connect", "Connect", id="server.connect"),
        Binding("slash", "filter", "Filter log", id="server.filter"),
        Binding("w", "wrap", "Wrap", id="server.wrap"),
    ]

    DEFAULT_CSS = """
    ServerPane #state { height: auto; padding: 0 1; }
    ServerPane #connect-row { height: 1; margin: 0 1; }
    ServerPane #connect-row Button { margin-left: 1; min-width: 9; }
    ServerPane #url { width: 1fr; }
    ServerPane #protocol { width: 10; margin-left: 1; }
    ServerPane #log-filter { margin: 0 1; }
    ServerPane #server-log { height: 1fr; min-height: 4; border: round $panel; }
    """

    def __init__(self, controller: ServerController, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self._shown = ServerSnapshot(url=controller.client.url, polled=False)  # what the state line shows
        self._state_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="state")
        with Horizontal(id="connect-row"):
            yield TextBox(
                placeholder="host:port or http://host:port", id="url", compact=True, enter="Connect"
            )
            yield Select(
                [("gRPC", "grpc"), ("HTTP", "http")],
                value="grpc",
                allow_blank=False,
                id="protocol",
                compact=True,
            )
            yield Button("Connect", id="connect", compact=True)
            yield Button("Start s", id="start", variant="success", compact=True)
            yield Button("Stop x", id="stop", variant="error", compact=True)
        yield FilterBox("filter the log (case-insensitive); esc closes", "#server-log", id="log-filter")
        yield FilteredLog(id="server-log")

    def on_mount(self) -> None:
        self.show_url(self.controller.client)
        self.query_one("#server-log", FilteredLog).border_title = "server log"
        self.show_snapshot(self.controller.unpolled())

    def focus_default(self) -> None:
        self.query_one("#server-log").focus()

    def show_url(self, client: TritonClient) -> None:
        """The connect row follows the active client (e.g. the managed server's ports once it runs)."""
        self.query_one("#url", Input).value = client.endpoint.url
        self.query_one("#protocol", Select).value = client.protocol

    def server_changed(self, client: TritonClient, context: str | None) -> None:
        """Another URL: nothing is known of it until its first poll answers."""
        self.show_url(client)
        self.show_snapshot(self.controller.unpolled())

    # -- actions
    def action_start(self) -> None:
        self.post_message(ServerAction("start"))

    def action_stop(self) -> None:
        self.post_message(ServerAction("stop"))

    def action_restart(self) -> None:
        self.post_message(ServerAction("restart"))

    def action_connect(self) -> None:
        self.query_one("#url", Input).focus()

    @on(Button.Pressed, "#connect")
    @on(Input.Submitted, "#url")
    def _connect(self) -> None:
        """A scheme typed in the URL wins (the dropdown follows it once connected); without one the dropdown
        decides. The focus goes back to the log so the pane's keys work again (k9s after ``:``)."""
        url = self.query_one("#url", Input).value.strip()
        protocol = None if "://" in url else str(self.query_one("#protocol", Select).value)
        self.post_message(ConnectRequested(url, protocol))
        if url:  # an empty one is refused: the box keeps the focus for one
            self.focus_default()

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#stop")
    def _stop(self) -> None:
        self.action_stop()

    def action_filter(self) -> None:
        self.query_one("#log-filter", FilterBox).open()

    def action_wrap(self) -> None:
        wrapped = self.query_one("#server-log", FilteredLog).toggle_wrap()
        self.app.notify(
            "long log lines wrap" if wrapped else "long log lines whole: → and ← scroll", timeout=2
        )

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._refilter(event.value)

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self) -> None:
        self.query_one("#server-log").focus()

    def close_filter(self) -> bool:
        return self.query_one("#log-filter", FilterBox).close()

    @work(thread=True, exclusive=True, group="log-filter")
    def _refilter(self, pattern: str) -> None:
        """Filter in a thread: the full log can hold tens of thousands of lines."""
        source = self.controller.log_lines()
        self.post_message(LogFiltered(pattern, matching(source, pattern), len(source)))

    def on_log_filtered(self, msg: LogFiltered) -> None:
        log = self.query_one("#server-log", FilteredLog)
        log.show(msg.pattern, msg.lines)
        log.border_title = (
            Text(f"server log — filter {msg.pattern!r}: {len(msg.lines)}/{msg.total} lines")
            if msg.pattern
            else "server log"
        )

    # -- rendering of messages
    def on_server_log(self, msg: ServerLog) -> None:
        self.query_one("#server-log", FilteredLog).append(msg.lines)

    def on_show(self) -> None:
        """Shown again (its tab chosen): follow the tail of what arrived while it was hidden."""
        self.query_one("#server-log", FilteredLog).scroll_end(animate=False)

    def server_going(self, what: str) -> None:
        """x or R: "stopping…" at once (the stop runs in a worker; the next poll would say it a second late)."""
        self.show_snapshot(replace(self._shown, managed_phase="stopping"))

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        self._shown = snap
        state = state_text(snap)
        if state != self._state_shown:  # an update lays the whole screen out again: only when it changed
            self._state_shown = state
            self.query_one("#state", Static).update(state)
        self.query_one("#stop", Button).disabled = snap.managed_phase not in ("starting", "running")
        log = self.query_one("#server-log", FilteredLog)
        if not snap.managed_phase and not log.pattern:
            log.border_title = "server log (shown for a server started by this console)"
        elif not log.pattern:
            log.border_title = "server log (/ filters)"
