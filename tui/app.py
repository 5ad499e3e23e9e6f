"""The Textual app: layout, navigation, help, command palette, and the dispatch of typed messages.

Blocking work goes to thread workers that call the UI-free :class:`~tui.core.controller.ServerController`;
results come back only as messages (:mod:`tui.messages`), and each pane has one entry point for a server
snapshot. Server lifecycle lives in the controller, not here.
"""

from __future__ import annotations

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
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane

from triton_console.common.errors import ConsoleError
from triton_console.common.paths import default_repository
from triton_console.common.untrusted import one_line, visible
from triton_console.tui.core.classify import classifier
from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.hints import worded
from triton_console.tui.messages import (
    ConnectRequested,
    ImageModelsFound,
    Notice,
    PollRequested,
    ServerAction,
    ServerLog,
    ServerPolled,
    ServerStarted,
    ServerStopped,
)
from triton_console.tui.panes.bench import BenchPane
from triton_console.tui.panes.build import BuildPane
from triton_console.tui.panes.classify import ClassifyPane
from triton_console.tui.panes.metrics import MetricsPane
from triton_console.tui.panes.models import ModelsPane
from triton_console.tui.panes.server import ServerPane
from triton_console.tui.panes.servers import ContextChosen, ServersPane
from triton_console.tui.text import join, plain
from triton_console.tui.widgets.table import PlainTable

PANES = ("build", "server", "models", "classify", "metrics", "bench", "servers")
POLL_S = 1.0
IMAGE_MODELS_CHECKED = 200  # ready models whose metadata is read to find image classifiers


@dataclass
class ConsoleOptions:
    url: str | None = None
    protocol: str | None = None
    repository: Path = field(default_factory=default_repository)
    server: str = "auto"
    docker_site: str | None = "auto"
    images: list[str] = field(default_factory=list)
    start: bool = False
    timeout: float = 30.0
    poll: bool = True  # snapshot tests turn the live poll off for a stable screen
    start_dir: str | None = None  # where the Classify pane's file picker opens
    connection: Connection | None = None  # TLS, headers, limits (else built from url/protocol/timeout)
    models: list[str] = field(default_factory=list)  # names to ask about where the server lists none
    context: str | None = None  # the servers-file name of the server connected to (-c NAME)

    def make_connection(self) -> Connection:
        return self.connection or Connection(url=self.url, protocol=self.protocol, timeout=self.timeout)


class HelpScreen(ModalScreen):
    """Every key of the console, from the bindings themselves (so it never goes stale)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 72; height: auto; max-height: 90%; border: round $accent; background: $surface; }
    HelpScreen PlainTable { height: auto; max-height: 30; }
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(join(("triton-console keys", "bold"), "  (esc closes)"))
            table = PlainTable(cursor_type="none", zebra_stripes=True)
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
        yield Static(
            join(
                plain(self.question, multiline=True),
                "\n\n",
                ("y", "bold"),
                " yes    ",
                ("n", "bold"),
                " / esc no",
            )
        )

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class CommandLine(ModalScreen[str | None]):
    """The ':' prompt (as k9s has): a pane's name, ctx NAME, q."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="command.cancel")]
    DEFAULT_CSS = """
    CommandLine { align: center top; }
    CommandLine > Input { width: 60; margin-top: 3; border: round $accent; }
    """

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=":build :server :models :classify :metrics :bench :servers :ctx NAME :q", id="command"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


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
        Binding("5", "show('metrics')", "Metrics", id="pane.metrics"),
        Binding("6", "show('bench')", "Bench", id="pane.bench"),
        Binding("7", "show('servers')", "Servers", id="pane.servers"),
        Binding("colon", "command", "Command", show=False, id="app.command"),
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
        self.controller = ServerController(
            self.options.make_connection(),
            self.options.repository,
            self.options.server,
            on_log=self._on_server_line,
            docker_site=self.options.docker_site,
        )
        self._log_pending: list[str] = []
        self._log_lock = threading.Lock()
        self.server_live: bool | None = None  # what the last poll said (None: not polled yet)
        self._active_pane: str | None = None
        self._ready_models: tuple[str, ...] | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        initial = "classify" if self.options.images else "server"
        with TabbedContent(initial=initial, id="tabs"):
            with TabPane("1 Build", id="build"):
                yield BuildPane(self.options.repository, id="build-pane")
            with TabPane("2 Server", id="server"):
                yield ServerPane(self.controller, id="server-pane")
            with TabPane("3 Models", id="models"):
                yield ModelsPane(self.controller, id="models-pane")
            with TabPane("4 Classify", id="classify"):
                start_dir = self.options.start_dir
                if start_dir is None and self.options.images:
                    first = Path(self.options.images[0])
                    start_dir = str(first if first.is_dir() else first.parent)
                yield ClassifyPane(
                    self.controller,
                    start_dir=start_dir if start_dir and os.path.isdir(start_dir) else None,
                    id="classify-pane",
                )
            with TabPane("5 Metrics", id="metrics"):
                yield MetricsPane(self.controller, poll=self.options.poll, id="metrics-pane")
            with TabPane("6 Bench", id="bench"):
                yield BenchPane(self.controller, " ".join(self.options.images), id="bench-pane")
            with TabPane("7 Servers", id="servers"):
                yield ServersPane(self.options.context, id="servers-pane")
        yield Footer()

    def _title(self, suffix: str = "") -> None:
        """The header always names the active server (its servers-file name, where it has one)."""
        name = self.options.context
        url = self.controller.client.url + suffix
        self.sub_title = visible(f"{name} — {url}" if name else url, 200)

    def on_mount(self) -> None:
        self._title()
        self.set_interval(0.1, self._flush_log)
        if self.options.poll:
            self.set_interval(POLL_S, self._tick)
            self.poll_now()
        self._focus_pane(self.query_one("#tabs", TabbedContent).active)
        if self.options.images:
            self.query_one(ClassifyPane).classify(self.options.images)
        if self.options.start:
            self.post_message(ServerAction("start"))
        self.call_after_refresh(self._freeze_startup)

    @staticmethod
    def _freeze_startup() -> None:
        """After the first paint, everything alive (imports, widgets, styles) lives as long as the console:
        collect once and move it out of the collector's reach, so a full collection later walks only what
        the session made (benchmarks: 60-190 ms event-loop stalls while classifying, from full
        collections over ~150k objects on 2 cores)."""
        import gc

        gc.collect()
        gc.freeze()

    def notify(
        self, message: str, *, title: str = "", severity="information", timeout=None, markup: bool = False
    ):
        """Notifications are plain text: they often quote what a server said."""
        return super().notify(
            visible(message, 600, multiline=True),
            title=one_line(title, 80),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

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

    def help_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for where, bindings in [
            ("global", self.BINDINGS),
            ("build", BuildPane.BINDINGS),
            ("server", ServerPane.BINDINGS),
            ("models", ModelsPane.BINDINGS),
            ("classify", ClassifyPane.BINDINGS),
            ("metrics", MetricsPane.BINDINGS),
            ("bench", BenchPane.BINDINGS),
            ("servers", ServersPane.BINDINGS),
        ]:
            for b in bindings:
                key = b.key.replace("question_mark", "?").replace("slash", "/")
                rows.append((where, key, b.description or b.action))
        rows.append(
            ("global", ":", "command: build, server, models, classify, metrics, bench, servers, ctx NAME, q")
        )
        rows.append(("global", "ctrl+p", "command palette"))
        rows.append(("global", "tab / shift+tab", "move focus"))
        return rows

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    def action_back(self) -> None:
        if any(self.query_one(p).close_filter() for p in (ServerPane, ModelsPane, MetricsPane)):
            return
        if isinstance(self.focused, Input):
            self._focus_pane(self.query_one("#tabs", TabbedContent).active)

    def palette_commands(self):
        return [
            ("Show Build pane", "export, check and write a repository", lambda: self.action_show("build")),
            ("Show Server pane", "start/stop or connect; server log", lambda: self.action_show("server")),
            ("Show Models pane", "repository index, load/unload", lambda: self.action_show("models")),
            ("Show Classify pane", "classify images", lambda: self.action_show("classify")),
            ("Show Metrics pane", "live rates, charts, GPU and CPU", lambda: self.action_show("metrics")),
            ("Show Bench pane", "sweeps, saved runs, compare two models", lambda: self.action_show("bench")),
            ("Show Servers pane", "every server of the servers file", lambda: self.action_show("servers")),
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

    # ------------------------------------------------------------------ polling
    def poll_now(self, force: bool = False) -> None:
        self._poll(force)

    def _tick(self) -> None:
        self.poll_now()

    @work(thread=True, exclusive=True, group="poll")
    def _poll(self, force: bool = False) -> None:
        """Gather in a thread; the result is rendered on the main thread (never the other way round)."""
        controller = self.controller
        self.post_message(ServerPolled(controller.poll(force)))

    def on_server_polled(self, msg: ServerPolled) -> None:
        snap = msg.snapshot
        if snap.url != self.controller.client.url:
            return  # a poll of a URL we have since left
        if self.server_live and not snap.live:
            self.notify(
                f"server at {snap.url} is gone: {snap.error or 'not live'}",
                title="Server down",
                severity="error",
                timeout=8,
            )
        elif self.server_live is False and snap.live:
            self.notify(f"server at {snap.url} is back", title="Server up")
        self.server_live = snap.live
        for pane in (ServerPane, ModelsPane, ClassifyPane, BenchPane):
            self.query_one(pane).show_snapshot(snap)
        ready = tuple(snap.ready_models)
        if ready != self._ready_models:
            self._ready_models = ready
            self._find_image_models(snap.url, list(ready))

    @work(thread=True, exclusive=True, group="image-models")
    def _find_image_models(self, url: str, names: list[str]) -> None:
        client = self.controller.client
        if client.url != url:
            return
        self.post_message(
            ImageModelsFound(url, classifier.image_models(client, names[:IMAGE_MODELS_CHECKED]))
        )

    def on_image_models_found(self, msg: ImageModelsFound) -> None:
        if msg.url == self.controller.client.url:
            self.query_one(ClassifyPane).set_models(msg.models)

    def on_poll_requested(self, msg: PollRequested) -> None:
        for name in msg.models:
            self.controller.client.forget(name)
        if msg.models:
            self._ready_models = None  # their metadata may have changed: look for image models again
        self.poll_now(force=True)

    def on_notice(self, msg: Notice) -> None:
        self.notify(
            msg.text, title=msg.title, severity=msg.severity, timeout=10 if msg.severity == "error" else None
        )

    # ------------------------------------------------------------------ connection
    def on_connect_requested(self, msg: ConnectRequested) -> None:
        try:
            client = self.controller.connect(msg.url or None, msg.protocol)
        except ConsoleError as exc:
            self.notify(exc.message, title="Bad URL", severity="error")
            return
        self.server_live = None
        self._ready_models = None
        self.options.context = None
        self.query_one(ServersPane).mark_active(None)
        self._title()
        self.notify(f"connecting to {client.url}")
        self.poll_now()

    def on_context_chosen(self, msg: ContextChosen) -> None:
        """A server of the servers file becomes the active one."""
        from triton_console.tui.core.client import contexts

        try:
            entry = contexts.find(msg.name)
            conn = entry.connection()
            self.controller.connection = conn
            client = self.controller.connect(conn.url, conn.protocol)
        except ConsoleError as exc:
            self.notify(exc.message, title="Cannot switch", severity="error")
            return
        self.controller.given_models = list(entry.models)
        self.options.context = entry.name
        self.query_one(ServersPane).mark_active(entry.name)
        self.query_one(ServerPane).show_url(client)
        self.server_live = None
        self._ready_models = None
        self._title()
        self.notify(f"active server: {entry.name} ({client.url})")
        self.poll_now(force=True)

    def action_command(self) -> None:
        def run(text: str | None) -> None:
            if text:
                self.run_command(text)

        self.push_screen(CommandLine(), run)

    def run_command(self, text: str) -> None:
        """k9s-style ':' commands: a pane's name, 'ctx NAME' (or 'server NAME') to switch servers, 'q'."""
        word, _, rest = text.strip().lstrip(":").partition(" ")
        word = word.lower()
        panes = {p: p for p in PANES} | {"srv": "server", "mo": "models", "cl": "classify", "ctx": "servers"}
        if word in ("ctx", "context", "server") and rest.strip():
            self.post_message(ContextChosen(rest.strip()))
        elif word in panes:
            self.action_show(panes[word])
        elif word in ("q", "quit"):
            self.call_later(self.action_quit)
        else:
            self.notify(
                f"unknown command {text!r}: try build, server, models, classify, metrics, bench, servers, ctx NAME, q",
                severity="warning",
            )

    # ------------------------------------------------------------------ managed server
    def _on_server_line(self, line: str) -> None:  # called on the server's log thread
        with self._log_lock:
            self._log_pending.append(line)

    def _flush_log(self) -> None:
        with self._log_lock:
            lines, self._log_pending = self._log_pending, []
        if lines:
            self.query_one(ServerPane).post_message(ServerLog(lines))

    def on_server_action(self, msg: ServerAction) -> None:
        {
            "start": self.action_start_server,
            "stop": self.action_stop_server,
            "restart": self.action_restart_server,
        }[msg.action]()

    def action_start_server(self) -> None:
        if self.controller.is_managed_running():
            self.notify("the managed server is already running (R restarts it)")
            return
        self.action_show("server")
        self._start_server()

    def _notice(self, text: str, severity: str) -> None:  # for the controller, from a worker thread
        self.post_message(Notice(text, severity=severity))

    @work(thread=True, exclusive=True, group="server")
    def _start_server(self) -> None:
        try:
            self.post_message(PollRequested())
            url = self.controller.start(self._notice)
            self.post_message(ServerStarted(url))
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), "Server did not start", "error"))

    def on_server_started(self, msg: ServerStarted) -> None:
        self.options.context = None
        self._title(" (managed)")
        self.query_one(ServerPane).show_url(self.controller.client)
        self.server_live = None
        self._ready_models = None
        self.notify(f"tritonserver ready at {msg.url}", title="Server started")
        self.poll_now()

    def action_stop_server(self) -> None:
        if not self.controller.is_managed_running():
            self.notify("no server started by this console is running")
            return
        self.notify(f"stopping tritonserver (pid {self.controller.managed.pid})…")
        self.query_one(BenchPane).server_going("stopped")
        self._stop_server()

    @work(thread=True, exclusive=True, group="server")
    def _stop_server(self, then_start: bool = False) -> None:
        self.post_message(ServerStopped(self.controller.stop()))
        if then_start:
            try:
                self.post_message(ServerStarted(self.controller.start(self._notice)))
            except ConsoleError as exc:
                self.post_message(Notice(worded(exc), "Server did not start", "error"))

    def on_server_stopped(self, msg: ServerStopped) -> None:
        self.notify(f"tritonserver stopped (exit code {msg.code})")
        self.poll_now()

    def action_restart_server(self) -> None:
        if self.controller.managed is None:
            self.action_start_server()
            return
        self.notify("restarting tritonserver…")
        self.query_one(BenchPane).server_going("restarted")
        self._stop_server(then_start=True)

    # ------------------------------------------------------------------ quitting
    async def action_quit(self) -> None:
        m = self.controller.managed
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
        self.controller.stop()
        self.call_from_thread(self.exit)

    def on_unmount(self) -> None:
        self.controller.shutdown()
