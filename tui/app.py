"""The Textual app: four panes, bindings, help screen, command palette. It renders and dispatches only;
all blocking work happens in thread workers that call the UI-free services of ``tui.core``."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane

from .core import server as srv
from .core.client import TritonClient
from .core.errors import ConsoleError
from .core.paths import default_repository
from .core.stats import metrics_by_model, metrics_from_statistics
from .messages import MetricsPolled, ServerLog, ServerPolled, ServerSnapshot
from .panes.build import BuildPane
from .panes.classify import ClassifyPane
from .panes.models import ModelsPane
from .panes.server import ServerPane

PANES = ("build", "server", "models", "classify")
POLL_S = 1.0


@dataclass
class ConsoleOptions:
    url: str | None = None
    protocol: str | None = None
    repository: Path = field(default_factory=default_repository)
    server: str = "auto"
    images: list[str] = field(default_factory=list)
    start: bool = False
    timeout: float = 30.0
    poll: bool = True  # snapshot tests turn the live poll off for a stable screen
    start_dir: str | None = None  # where the Classify pane's file picker opens


class HelpScreen(ModalScreen):
    """Every key of the console, from the bindings themselves (so it never goes stale)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 72; height: auto; max-height: 90%; border: round $accent; background: $surface; }
    HelpScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]triton-console keys[/]  (esc closes)")
            table = DataTable(cursor_type="none", zebra_stripes=True)
            table.add_columns("where", "key", "action")
            for row in self.rows:
                table.add_row(*row)
            yield table


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Static { width: 64; height: auto; border: round $warning; background: $surface; padding: 1 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(f"{self.question}\n\n[b]y[/] yes    [b]n[/] / esc no")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ConsoleCommands(Provider):
    """The console's own commands in the command palette (ctrl+p)."""

    async def discover(self) -> Hits:
        for title, help_text, callback in self.app.palette_commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.app.palette_commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class ConsoleApp(App):
    TITLE = "triton-console"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [
        Binding("1", "show('build')", "Build", id="pane.build"),
        Binding("2", "show('server')", "Server", id="pane.server"),
        Binding("3", "show('models')", "Models", id="pane.models"),
        Binding("4", "show('classify')", "Classify", id="pane.classify"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
    ]
    CSS = """
    TabbedContent, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    """

    def __init__(self, options: ConsoleOptions | None = None) -> None:
        super().__init__()
        self.options = options or ConsoleOptions()
        self.client = TritonClient(self.options.url, self.options.protocol, timeout=self.options.timeout)
        self.managed: srv.ManagedServer | None = None
        self._log_pending: list[str] = []
        self._log_lock = threading.Lock()
        self._was_live: bool | None = None
        self._polls = 0
        self._active_pane: str | None = None
        self._version: dict[str, str] = {}

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        initial = "classify" if self.options.images else "server"
        with TabbedContent(initial=initial, id="tabs"):
            with TabPane("1 Build", id="build"):
                yield BuildPane(id="build-pane")
            with TabPane("2 Server", id="server"):
                yield ServerPane(id="server-pane")
            with TabPane("3 Models", id="models"):
                yield ModelsPane(id="models-pane")
            with TabPane("4 Classify", id="classify"):
                start_dir = self.options.start_dir
                if start_dir is None and self.options.images:
                    first = Path(self.options.images[0])
                    start_dir = str(first if first.is_dir() else first.parent)
                yield ClassifyPane(
                    start_dir=start_dir if start_dir and os.path.isdir(start_dir) else None,
                    id="classify-pane",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.client.url
        self.set_interval(0.1, self._flush_log)
        if self.options.poll:
            self.set_interval(POLL_S, self.poll_now)
            self.poll_now()
        self._focus_pane(self.query_one("#tabs", TabbedContent).active)
        if self.options.images:
            self.query_one(ClassifyPane).classify(self.options.images)
        if self.options.start:
            self._start_server()

    # ------------------------------------------------------------------ navigation
    def action_show(self, pane: str) -> None:
        self.query_one("#tabs", TabbedContent).active = pane
        self._active_pane = pane
        self._focus_pane(pane)

    def _focus_pane(self, pane: str | None) -> None:
        """Focus the pane's main widget so its keys work (the pane may not be mounted yet).

        Only for the pane still shown when this runs: focusing a widget in a hidden tab makes
        TabbedContent switch to that tab, which would undo a key press made in the meantime.
        """
        if self.query_one("#tabs", TabbedContent).active != pane:
            return
        for widget in self.query(f"#{pane}-pane"):
            widget.focus_default()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab clicked with the mouse: focus its pane, once per real switch (the event repeats)."""
        pane_id = event.pane.id if event.pane is not None else None
        if pane_id in PANES and pane_id != self._active_pane:
            self._active_pane = pane_id
            self.call_after_refresh(self._focus_pane, pane_id)

    def action_help(self) -> None:
        rows = []
        for where, bindings in [
            ("global", self.BINDINGS),
            ("build", BuildPane.BINDINGS),
            ("server", ServerPane.BINDINGS),
            ("models", ModelsPane.BINDINGS),
            ("classify", ClassifyPane.BINDINGS),
        ]:
            for b in bindings:
                rows.append(
                    (
                        where,
                        b.key.replace("question_mark", "?").replace("slash", "/"),
                        b.description or b.action,
                    )
                )
        rows.append(("global", "ctrl+p", "command palette"))
        rows.append(("global", "tab / shift+tab", "move focus"))
        self.push_screen(HelpScreen(rows))

    def action_back(self) -> None:
        pane = self.query_one(ServerPane)
        if pane.close_filter():
            return
        if isinstance(self.focused, Input):
            self._focus_pane(self.query_one("#tabs", TabbedContent).active)

    def palette_commands(self):
        return [
            ("Show Build pane", "export, check and write a repository", lambda: self.action_show("build")),
            ("Show Server pane", "start/stop or connect; server log", lambda: self.action_show("server")),
            ("Show Models pane", "repository index, load/unload", lambda: self.action_show("models")),
            ("Show Classify pane", "classify images", lambda: self.action_show("classify")),
            ("Start embedded server", f"tritonserver on {self.options.repository}", self.action_start_server),
            ("Stop managed server", "stop the server this console started", self.action_stop_server),
            ("Restart managed server", "stop and start again", self.action_restart_server),
            (
                "Build repository",
                "run the Build pane's steps",
                lambda: (self.action_show("build"), self.query_one(BuildPane).action_build()),
            ),
            (
                "Re-run classification",
                "classify the last images again",
                self.query_one(ClassifyPane).action_rerun,
            ),
            ("Refresh models", "poll the server now", self.poll_now),
            ("Help", "all keys", self.action_help),
        ]

    # ------------------------------------------------------------------ connection
    def connect(self, url: str, protocol: str) -> None:
        try:
            client = TritonClient(url or None, protocol, timeout=self.options.timeout)
        except ConsoleError as exc:
            self.notify(exc.message, title="Bad URL", severity="error")
            return
        old, self.client = self.client, client
        self._was_live = None
        self.sub_title = client.url
        self.notify(f"connecting to {client.url}")
        old.close()
        self.poll_now()

    def poll_now(self) -> None:
        self._poll(self.client)

    @work(thread=True, exclusive=True, group="poll")
    def _poll(self, client: TritonClient) -> None:
        """Gather in a thread, render on the main thread (never the other way round)."""
        snap = ServerSnapshot(url=client.url)
        m = self.managed
        if m is not None and m.is_running():
            snap.managed, snap.pid, snap.uptime_s = True, m.pid, m.uptime()
            snap.model_control = m.cfg.model_control
            snap.ports = f"http {m.cfg.http_port} grpc {m.cfg.grpc_port} metrics {m.cfg.metrics_port}"
        try:
            snap.live, snap.ready = client.is_live(), client.is_ready()
        except ConsoleError as exc:
            snap.error = exc.message
        if snap.live:
            try:
                if client.url not in self._version:
                    self._version[client.url] = client.server_metadata().get("version", "?")
                snap.version = self._version[client.url]
                snap.models = client.repository_index()
                snap.ensembles = client.ensembles()
            except ConsoleError as exc:
                snap.error = exc.message
        self.post_message(ServerPolled(snap))
        self._polls += 1
        if snap.live and self._polls % 2 == 1:
            try:
                self.post_message(MetricsPolled(metrics_by_model(client.metrics()), client.metrics_url))
            except ConsoleError:
                with contextlib.suppress(ConsoleError):
                    stats = client.model_statistics()
                    self.post_message(MetricsPolled(metrics_from_statistics(stats), "statistics API"))

    def on_server_polled(self, msg: ServerPolled) -> None:
        snap = msg.snapshot
        if snap.url != self.client.url:
            return  # a poll of a URL we have since left
        if self._was_live and not snap.live:
            self.notify(
                f"server at {snap.url} is gone: {snap.error or 'not live'}",
                title="Server down",
                severity="error",
                timeout=8,
            )
        elif self._was_live is False and snap.live:
            self.notify(f"server at {snap.url} is back", title="Server up")
        self._was_live = snap.live
        self.query_one(ServerPane).show_snapshot(snap)
        self.query_one(ModelsPane).update_rows(snap.models if snap.live else [])
        self.query_one(ClassifyPane).set_models(snap.ensembles)

    def on_metrics_polled(self, msg: MetricsPolled) -> None:
        self.query_one(ServerPane).on_metrics_polled(msg)

    # ------------------------------------------------------------------ managed server
    def log_lines(self) -> list[str]:
        return list(self.managed.log) if self.managed is not None else []

    def _on_server_line(self, line: str) -> None:  # called on the server's log thread
        with self._log_lock:
            self._log_pending.append(line)

    def _flush_log(self) -> None:
        with self._log_lock:
            lines, self._log_pending = self._log_pending, []
        if lines:
            self.query_one(ServerPane).on_server_log(ServerLog(lines))

    def action_start_server(self) -> None:
        if self.managed is not None and self.managed.is_running():
            self.notify("the managed server is already running (R restarts it)")
            return
        self.action_show("server")
        self._start_server()

    @work(thread=True, exclusive=True, group="server")
    def _start_server(self) -> None:
        try:
            binary = srv.locate(self.options.server)
            cfg = self._server_config()
            server = srv.ManagedServer(cfg, binary)
            server.add_listener(self._on_server_line)
            self.managed = server
            self.call_from_thread(self.notify, f"starting {binary.source} tritonserver on {cfg.repository}…")
            server.start()
            self.call_from_thread(self.poll_now)
            server.wait_ready(timeout=300)
            url = server.grpc_url if self.client.protocol == "grpc" else server.http_url
            self.call_from_thread(self._attach_managed, url)
        except ConsoleError as exc:
            if self.managed is not None:
                self.managed.stop()
            self.call_from_thread(
                self.notify, str(exc), title="Server did not start", severity="error", timeout=10
            )

    def _server_config(self) -> srv.ServerConfig:
        """The URL's ports where they are local and free, else free ones (and say so)."""
        ports = [8000, 8001, 8002]
        ep = self.client.endpoint
        if srv.is_loopback(ep.host) or ep.host == "localhost":
            ports[0 if ep.protocol == "http" else 1] = ep.port
        try:
            for p in ports:
                srv.check_port_free("127.0.0.1", p)
        except ConsoleError as exc:
            ports = [srv.free_port(), srv.free_port(), srv.free_port()]
            self.call_from_thread(self.notify, f"{exc.message}; using ports {ports}", severity="warning")
        return srv.ServerConfig(self.options.repository, *ports, model_control="explicit", load_models=["*"])

    def _attach_managed(self, url: str) -> None:
        self.client.close()
        self.client = TritonClient(
            url,
            self.client.protocol,
            timeout=self.options.timeout,
            metrics_url=self.managed.metrics_url if self.managed else None,
        )
        self.sub_title = f"{self.client.url} (managed)"
        with contextlib.suppress(Exception):
            self.query_one("#url", Input).value = self.client.endpoint.url
        self._was_live = None
        self.notify(f"tritonserver ready at {self.client.url}", title="Server started")
        self.poll_now()

    def action_stop_server(self) -> None:
        if self.managed is None or not self.managed.is_running():
            self.notify("no server started by this console is running")
            return
        self.notify(f"stopping tritonserver (pid {self.managed.pid})…")
        self._stop_server()

    @work(thread=True, exclusive=True, group="server")
    def _stop_server(self, then_start: bool = False) -> None:
        server = self.managed
        if server is not None:
            code = server.stop()
            self.call_from_thread(self.notify, f"tritonserver stopped (exit code {code})")
        if then_start:
            self.call_from_thread(self._start_server)
        self.call_from_thread(self.poll_now)

    def action_restart_server(self) -> None:
        if self.managed is None:
            self.action_start_server()
            return
        self.notify("restarting tritonserver…")
        self._stop_server(then_start=True)

    def preview_size(self) -> tuple[int, int]:
        from .widgets.preview import ImagePreview

        return self.query_one(ImagePreview).cell_size()

    # ------------------------------------------------------------------ quitting
    async def action_quit(self) -> None:
        m = self.managed
        if m is not None and m.is_running():

            def answer(yes: bool | None) -> None:
                if yes:
                    self.notify(f"stopping tritonserver (pid {m.pid})…")
                    self._stop_and_exit()

            self.push_screen(
                ConfirmScreen(
                    f"Quitting stops the tritonserver this console started (pid {m.pid}).\nQuit now?"
                ),
                answer,
            )
            return
        self.exit()

    @work(thread=True, exclusive=True, group="server")
    def _stop_and_exit(self) -> None:
        if self.managed is not None:
            self.managed.stop()
        self.call_from_thread(self.exit)

    def on_unmount(self) -> None:
        if self.managed is not None:
            self.managed.stop(grace=5)
        self.client.close()
