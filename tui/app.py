"""The Textual app: layout, navigation, help, command palette, and the dispatch of typed messages.

Blocking work goes to thread workers that call the UI-free :class:`~tui.core.controller.ServerController`;
results come back only as messages (:mod:`tui.messages`), and each pane has one entry point for a server
snapshot. Server lifecycle lives in the controller, not here.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
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
from triton_console.tui.panes import registry
from triton_console.tui.panes.build import BuildPane
from triton_console.tui.panes.classify import ClassifyPane
from triton_console.tui.panes.servers import ContextChosen, ManagedChosen
from triton_console.tui.text import join, plain
from triton_console.tui.widgets.help import HelpScreen
from triton_console.tui.workers import work

PANES = tuple(p.id for p in registry.PANES)
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
    # The caller stops the console's own server once the screen is restored (the CLI does, and says so on
    # the terminal), so q leaves at once instead of holding the screen for Triton's seconds of shutdown.
    stop_after_exit: bool = False

    def make_connection(self) -> Connection:
        return self.connection or Connection(url=self.url, protocol=self.protocol, timeout=self.timeout)


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
    CommandLine > Input { width: 100%; max-width: 78; margin-top: 3; border: round $accent; }
    CommandLine > #command-words { width: 100%; max-width: 78; padding: 0 1; background: $panel; }
    """

    def compose(self) -> ComposeResult:
        # every word listed below the box, wrapped (a placeholder cut at the box's width hid the last ones)
        words = " ".join(f":{p.id}" for p in registry.PANES)
        yield Input(placeholder="a pane, ctx NAME or q (Enter; esc cancels)", id="command")
        yield Static(plain(f"{words} :ctx NAME :q"), id="command-words")

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
    # an information toast's seconds on screen (Textual's default is 5): long enough to read one line, short
    # enough that the startup's three (starting…, the images wait, ready at …) do not stack over the panes.
    # Errors (10 s), "server down" (8 s) and a ready notice that names a port taken (8 s) set their own.
    NOTIFICATION_TIMEOUT = 4
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = registry.app_bindings()
    CSS = """
    TabbedContent, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    DataTable:nocolor > .datatable--cursor { text-style: reverse; }
    RowList:nocolor > .rowlist--cursor { text-style: reverse bold; }
    OptionList:nocolor > .option-list--option-highlighted { text-style: reverse; }
    Input:nocolor > .input--cursor { text-style: reverse; }
    /* a compact Select's focus was a 5% tint (#1e1e1e → #272727; none without colour): not to be seen */
    Select:focus > SelectCurrent { background: $primary 45%; }
    Select:focus > SelectCurrent .arrow { color: $foreground; }
    Select:nocolor:focus > SelectCurrent { text-style: reverse; }
    /* an open list's frame is half blocks drawn in colour: without colour its options lay over the screen */
    SelectOverlay:nocolor { border: round $foreground; }
    /* a compact button in ANSI colours (NO_COLOR): disabled (Stop while R ran) drew Textual's tall border in
       its one line, ▊▔▔▔▔▔▔▔▔▎ for "Stop x", and pressed a blank one over its label */
    Button:ansi.-style-default.-textual-compact { border: none !important; }
    /* Textual hides a tree's guides whose colour is transparent, as the ANSI theme's are: the image tree and
       the file picker lost their ├── └── under NO_COLOR (no colour is written either way) */
    Tree:ansi > .tree--guides, Tree:ansi > .tree--guides-hover { color: ansi_bright_black; }
    Tree:ansi > .tree--guides-selected { color: ansi_default; }
    """

    def __init__(self, options: ConsoleOptions | None = None) -> None:
        # NO_COLOR: Textual's default answer is greys (256-colour codes); with ANSI colours it drops colour
        # altogether, and CSS above marks what colour marked (the cursor row in reverse video).
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        self.options = options or ConsoleOptions()
        self.controller = ServerController(
            self.options.make_connection(),
            self.options.repository,
            self.options.server,
            on_log=self._on_server_line,
            docker_site=self.options.docker_site,
        )
        if self.options.start:  # before any pane's first request: nothing to another server holding the port
            self.controller.expect_start()
        self._log_pending: list[str] = []
        self._log_lock = threading.Lock()
        self.server_live: bool | None = None  # what the last poll said (None: not polled yet)
        # x, R or quitting stopped the managed server: its going away is no alarm (one that dies on its own is)
        self._stop_asked = False
        self._active_pane: str | None = None
        self._ready_models: tuple[str, ...] | None = None
        self._panes: list = []  # in tab order, as composed
        self._said_small = False  # the terminal is below MIN_SIZE and the user was told

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        initial = "classify" if self.options.images else "server"
        with TabbedContent(initial=initial, id="tabs"):
            for spec in registry.PANES:
                with TabPane(spec.tab, id=spec.id):
                    pane = spec.make(self)
                    self._panes.append(pane)
                    yield pane
        yield Footer(compact=True)  # compact: every pane's own keys fit at 80 columns

    def panes(self, able: str | None = None) -> list:
        """The mounted panes in tab order; with ``able``, only those that have that method (none while the
        app shuts down: a worker's last message may arrive then)."""
        # The panes made in compose, not a query: a CSS query walks the whole DOM once per pane, which cost
        # the event loop ~20 ms at every poll (measured with the 20,000-model index).
        if not self.is_running:  # closing (a quit, or a test's end): a pane may have lost its widgets already
            return []
        found = [w for w in self._panes if w.is_attached]
        return [w for w in found if able is None or callable(getattr(w, able, None))]

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
        self._check_size()

    # the size every pane is laid out and tested for
    MIN_SIZE = (80, 24)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size)  # the event's: the app's own size follows it later (debounced)

    def _check_size(self, size=None) -> None:
        """Below 80x24 text is cut (the footer ended at '? H'): say so once, again after a return to size."""
        width, height = size or self.size
        small = width < self.MIN_SIZE[0] or height < self.MIN_SIZE[1]
        if small and not self._said_small:
            self.notify(
                f"this terminal is {width}×{height}: the console is laid out for {self.MIN_SIZE[0]}×"
                f"{self.MIN_SIZE[1]} or more, so some text is cut",
                severity="warning",
            )
        self._said_small = small

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

    def withdraw(self, *texts: str) -> None:
        """Take back the notices that say one of ``texts`` and only those: clearing them all took the server's
        "ready at …" notice (and which port was taken) with them, as soon as the held images classified."""
        for note in [n for n in self._notifications if n.message in texts]:
            self._unnotify(note, refresh=False)
        self._refresh_notifications()

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
        self.push_screen(HelpScreen(registry.help_sections()))

    def action_help_quit(self) -> None:
        """ctrl+c: Textual's own notice says so in markup, which our plain notifications show raw."""
        self.notify("press q to quit (ctrl+q from anywhere)", title="Do you want to quit?")

    def action_back(self) -> None:
        """Esc: dismiss the notifications on screen, close a filter, leave a text box."""
        self.clear_notifications()
        if any(pane.close_filter() for pane in self.panes("close_filter")):
            return
        if isinstance(self.focused, Input):
            self._focus_pane(self.query_one("#tabs", TabbedContent).active)

    def palette_commands(self):
        show = [
            (f"Show {p.title} pane", p.summary, lambda pane=p.id: self.action_show(pane))
            for p in registry.PANES
        ]
        return (
            show
            + [
                (
                    "Start embedded server",
                    f"tritonserver on {self.options.repository}",
                    self.action_start_server,
                ),
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
            + self._pane_actions()
        )

    def _pane_actions(self) -> list[tuple[str, str, Callable[[], object]]]:
        """Every pane key with a name, as "Models: Load" (the palette found only panes and a few actions: a
        search for "load" or "bench" found nothing to do): it shows the pane, then does what the key does
        there (on the row selected there, as the key would)."""
        out = []
        for spec in registry.PANES:
            for b in spec.pane.BINDINGS:
                if not isinstance(b, Binding) or not b.description:
                    continue
                key = b.key_display or b.key.split(",")[0]
                out.append(
                    (
                        f"{spec.title}: {b.description}",
                        f"{key} in the {spec.title} pane",
                        lambda pane=spec.id, action=b.action: self._run_on_pane(pane, action),
                    )
                )
        return out

    def _run_on_pane(self, pane: str, action: str) -> None:
        self.action_show(pane)
        widget = self.query_one(f"#{pane}-pane")
        self.call_after_refresh(widget.run_action, action)

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
        # x or R: the user stopped the console's own server and knows it went (R says "ready" when it is back)
        asked = self._stop_asked and snap.managed_here
        if self.server_live and not snap.live and not asked:
            self.notify(
                f"server at {snap.url} is gone: {snap.error or 'not live'}",
                title="Server down",
                severity="error",
                timeout=8,
            )
        elif self.server_live is False and snap.live and not asked:
            self.notify(f"server at {snap.url} is back", title="Server up")
        self.server_live = snap.live
        for pane in self.panes("show_snapshot"):
            pane.show_snapshot(snap)
        ready = tuple(snap.ready_models)
        if snap.polled and ready != self._ready_models:  # an unpolled snapshot says nothing of its models
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
            for pane in self.panes("set_models"):  # none while the app closes (a late worker's message)
                pane.set_models(msg.models)

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
    def _server_changed(
        self, context: str | None, notice: str, *, managed: bool = False, timeout: float | None = None
    ) -> None:
        """The one reset when the active server changes (connect, a servers-file entry, a started server):
        forget what the last server said, tell every pane that listens, name it in the header, poll now."""
        self.options.context = context
        self.server_live = None
        self._ready_models = None
        self._title(" (managed)" if managed else "")
        for pane in self.panes("server_changed"):
            pane.server_changed(self.controller.client, context)
        self.notify(notice, title="Server started" if managed else "", timeout=timeout)
        self.poll_now(force=True)

    def on_connect_requested(self, msg: ConnectRequested) -> None:
        if not msg.url.strip():  # an empty box connected to localhost:8001, the default -u, unasked
            self.notify(
                "no URL given: type host:port or http://host:port", title="Bad URL", severity="warning"
            )
            return
        try:
            client = self.controller.connect(msg.url, msg.protocol)
        except ConsoleError as exc:
            self.notify(exc.message, title="Bad URL", severity="error")
            return
        # the managed server's own URL typed again: it is still the console's server (the pane says its pid)
        own = self.controller.is_managed_running() and self.controller.unpolled().managed_here
        self._server_changed(None, f"connecting to {client.url}")
        if own:
            self._title(" (managed)")

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
        self._server_changed(entry.name, f"active server: {entry.name} ({client.url})")

    def on_managed_chosen(self, msg: ManagedChosen) -> None:
        """Back to the managed server from a servers-file entry (its row stays while it runs)."""
        try:
            client = self.controller.connect_managed()
        except ConsoleError as exc:
            self.notify(exc.message, title="Cannot switch", severity="error")
            return
        self._server_changed(None, f"active server: the managed one ({client.url})")
        self._title(" (managed)")

    def action_command(self) -> None:
        def run(text: str | None) -> None:
            if text:
                self.run_command(text)

        self.push_screen(CommandLine(), run)

    def run_command(self, text: str) -> None:
        """k9s-style ':' commands: a pane's name, 'ctx NAME' (or 'server NAME') to switch servers, 'q'."""
        word, _, rest = text.strip().lstrip(":").partition(" ")
        word = word.lower()
        panes = registry.command_words()
        if word in ("ctx", "context", "server") and rest.strip():
            self.post_message(ContextChosen(rest.strip()))
        elif word in panes:
            self.action_show(panes[word])
        elif word in ("q", "quit"):
            self.call_later(self.action_quit)
        else:
            # as the CLI does for a mistyped command: the nearest word first (:modles -> models)
            known = [*panes, "ctx", "context", "server", "q", "quit"]
            near = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
            hint = f"did you mean '{near[0]}'? " if near else ""
            self.notify(f"unknown command {text!r}: {hint}try {registry.command_hint()}", severity="warning")

    # ------------------------------------------------------------------ managed server
    def _on_server_line(self, line: str) -> None:  # called on the server's log thread
        with self._log_lock:
            self._log_pending.append(line)

    def _flush_log(self) -> None:
        with self._log_lock:
            lines, self._log_pending = self._log_pending, []
        if lines:
            self.query_one("#server-pane").post_message(ServerLog(lines))

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
        self._stop_asked = False
        self._start_server()

    def _notice(self, text: str, severity: str) -> None:  # for the controller, from a worker thread
        self.post_message(Notice(text, severity=severity))

    @work(thread=True, exclusive=True, group="server")
    def _start_server(self) -> None:
        try:
            self.post_message(PollRequested())
            url = self.controller.start(self._notice)
            self.post_message(ServerStarted(url, self.controller.start_note))
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), "Server did not start", "error"))
            self.call_from_thread(self._drop_held_images)

    def _drop_held_images(self) -> None:
        """The images given with --start waited for the console's own server, which did not start: they are
        not sent to whatever server holds the URL given (the console stays connected to it)."""
        pane = self.query_one(ClassifyPane)
        if self.options.start and pane.pending:
            pane.pending = []
            self.notify("the images were not classified: the server did not start", severity="warning")

    def on_server_started(self, msg: ServerStarted) -> None:
        self._stop_asked = False
        # the port taken, said again (the first notice is gone); the Server pane's state line keeps it, so the
        # toast need not stay long over the Classify result
        note = f" ({msg.note})" if msg.note else ""
        self._server_changed(
            None, f"tritonserver ready at {msg.url}{note}", managed=True, timeout=8 if note else None
        )

    def action_stop_server(self) -> None:
        if not self.controller.is_managed_running():
            self.notify("no server started by this console is running")
            return
        self.notify(f"stopping tritonserver (pid {self.controller.managed.pid})…")
        self._stop_asked = True
        for pane in self.panes("server_going"):  # a run loading this server ends first, and says why
            pane.server_going("stopped")
        self._stop_server()

    @work(thread=True, exclusive=True, group="server")
    def _stop_server(self, then_start: bool = False) -> None:
        self.post_message(ServerStopped(self.controller.stop()))
        if then_start:
            try:
                url = self.controller.start(self._notice)
                self.post_message(ServerStarted(url, self.controller.start_note))
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
        self._stop_asked = True
        for pane in self.panes("server_going"):
            pane.server_going("restarted")
        self._stop_server(then_start=True)

    # ------------------------------------------------------------------ quitting
    async def action_quit(self) -> None:
        m = self.controller.managed
        if m is not None and m.is_running():

            def answer(yes: bool | None) -> None:
                if yes and self.options.stop_after_exit:
                    self.exit()
                elif yes:
                    self.notify(f"stopping tritonserver (pid {m.pid})…")
                    self._stop_asked = True
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
        self.controller.shutdown(stop_server=not self.options.stop_after_exit)
