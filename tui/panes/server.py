"""Server pane: start/stop/restart the managed server or connect to a URL; state, log, metrics."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Select, Static

from ..messages import MetricsPolled, ServerLog, ServerSnapshot
from ..widgets.logview import FilteredLog


def _uptime(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class ServerPane(Vertical):
    BINDINGS = [
        Binding("s", "app.start_server", "Start", id="server.start"),
        Binding("x", "app.stop_server", "Stop", id="server.stop"),
        Binding("R", "app.restart_server", "Restart", id="server.restart"),
        Binding("c", "connect", "Connect", id="server.connect"),
        Binding("slash", "filter", "Filter log", id="server.filter"),
    ]

    DEFAULT_CSS = """
    ServerPane #state { height: auto; padding: 0 1; }
    ServerPane #connect-row { height: 1; margin: 0 1; }
    ServerPane #connect-row Button { margin-left: 1; min-width: 9; }
    ServerPane #url { width: 1fr; }
    ServerPane #protocol { width: 10; margin-left: 1; }
    ServerPane #log-filter { display: none; margin: 0 1; }
    ServerPane #log-filter.shown { display: block; }
    ServerPane #server-log { height: 1fr; min-height: 4; border: round $panel; }
    ServerPane #metrics { height: auto; max-height: 7; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="state")
        with Horizontal(id="connect-row"):
            yield Input(placeholder="host:port or http://host:port", id="url", compact=True)
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
        yield Input(
            placeholder="filter the log (case-insensitive); esc closes", id="log-filter", compact=True
        )
        yield FilteredLog(id="server-log")
        table = DataTable(id="metrics", cursor_type="none", zebra_stripes=True)
        table.add_columns("model", "success", "fail", "inferences", "batches", "queue ms", "compute ms")
        yield table

    def on_mount(self) -> None:
        app = self.app
        self.query_one("#url", Input).value = app.client.endpoint.url
        self.query_one("#protocol", Select).value = app.client.protocol
        self.query_one("#server-log", FilteredLog).border_title = "server log"
        self.show_snapshot(ServerSnapshot(url=app.client.url))

    def focus_default(self) -> None:
        self.query_one("#server-log").focus()

    # -- actions
    def action_connect(self) -> None:
        self.query_one("#url", Input).focus()

    @on(Button.Pressed, "#connect")
    @on(Input.Submitted, "#url")
    def _connect(self) -> None:
        url = self.query_one("#url", Input).value.strip()
        protocol = str(self.query_one("#protocol", Select).value)
        self.app.connect(url, protocol)

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.app.action_start_server()

    @on(Button.Pressed, "#stop")
    def _stop(self) -> None:
        self.app.action_stop_server()

    def action_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._refilter(event.value)

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self) -> None:
        self.query_one("#server-log").focus()

    def close_filter(self) -> bool:
        box = self.query_one("#log-filter", Input)
        if not box.has_class("shown"):
            return False
        box.value = ""
        box.remove_class("shown")
        self.query_one("#server-log").focus()
        return True

    @work(thread=True, exclusive=True, group="log-filter")
    def _refilter(self, pattern: str) -> None:
        """Filter in a thread: the full log can hold tens of thousands of lines."""
        source = list(self.app.log_lines())
        p = pattern.lower()
        matched = [ln for ln in source if not p or p in ln.lower()]
        self.app.call_from_thread(self._show_filtered, pattern, matched, len(source))

    def _show_filtered(self, pattern: str, matched: list[str], total: int) -> None:
        log = self.query_one("#server-log", FilteredLog)
        log.pattern = pattern.lower()
        log.clear()
        log.write_lines(matched[-5000:])
        log.border_title = (
            f"server log — filter {pattern!r}: {len(matched)}/{total} lines" if pattern else "server log"
        )

    # -- rendering of messages
    def on_server_log(self, msg: ServerLog) -> None:
        self.query_one("#server-log", FilteredLog).append(msg.lines)

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        if snap.live:
            state = "[green]● ready[/]" if snap.ready else "[yellow]● live, not ready[/]"
        elif snap.managed:
            state = "[yellow]● starting…[/]"
        else:
            state = "[red]● not reachable[/]"
        who = f"managed (pid {snap.pid}, up {_uptime(snap.uptime_s)})" if snap.managed else "external"
        lines = [f"{state}  {snap.url}  tritonserver {snap.version or '?'}  [dim]{who}[/]"]
        if snap.managed:
            lines.append(f"[dim]ports {snap.ports}  model control {snap.model_control}[/]")
        if snap.error and not snap.live:
            lines.append(f"[red]{snap.error}[/]")
            if not snap.managed:
                lines.append("[b]press s to start the embedded server on the repository[/]")
        self.query_one("#state", Static).update(Text.from_markup("\n".join(lines)))
        self.query_one("#stop", Button).disabled = not snap.managed
        log = self.query_one("#server-log", FilteredLog)
        if not snap.managed and not log.pattern:
            log.border_title = "server log (shown for a server started by this console)"
        elif not log.pattern:
            log.border_title = "server log (/ filters)"

    def on_metrics_polled(self, msg: MetricsPolled) -> None:
        table = self.query_one("#metrics", DataTable)
        table.border_title = f"metrics from {msg.source}"
        with self.app.batch_update():
            for name in sorted(msg.metrics):
                m = msg.metrics[name]
                n = max(m.success, 1)
                row = (
                    name,
                    f"{m.success:.0f}",
                    f"{m.failure:.0f}",
                    f"{m.inferences:.0f}",
                    f"{m.executions:.0f}",
                    f"{m.queue_us / n / 1000:.2f}",
                    f"{m.compute_us / n / 1000:.2f}",
                )
                if name in table.rows:
                    for col, value in zip(table.columns, row, strict=True):
                        table.update_cell(name, col, value)
                else:
                    table.add_row(*row, key=name)
            for key in [k for k in table.rows if k.value not in msg.metrics]:
                table.remove_row(key)
