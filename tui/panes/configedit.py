"""Edit a model's config (Models pane, e): its pbtxt in a TextArea checked as you type, Apply as an override
(files untouched), Write to config.pbtxt after a diff, Revert to the files. Core: tui/core/tune/deploy.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static, TextArea

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.core.tune import coldstart, deploy
from triton_console.tui.core.tune import config as cfg
from triton_console.tui.hints import worded
from triton_console.tui.panes.samples import sample_image
from triton_console.tui.panes.warmupform import WarmupChoice, WarmupScreen
from triton_console.tui.text import join, plain
from triton_console.tui.widgets.editor import OrderedTextArea
from triton_console.tui.workers import work


@dataclass
class ConfigRead(Message):
    source: deploy.Source | None
    target: deploy.Target | None
    error: str | None


@dataclass
class ConfigDone(Message):
    """An apply, revert or write ended: ``state`` is what the model now serves, in words."""

    action: str
    state: str | None
    error: str | None
    diff: str = ""
    warning: bool = False  # done, but part of it did not work (the first request after an apply failed)
    armed: str | None = None  # not sent, for a reason a second ^s overrides: the text it would send


class DiffScreen(ModalScreen[bool]):
    """The unified diff a write would make, scrollable; y writes, n or esc does not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Write", id="configdiff.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="configdiff.no"),
    ]
    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > Vertical { width: 92%; height: 85%; border: round $warning; background: $surface; padding: 0 1; }
    DiffScreen #diff { height: 1fr; }
    """

    def __init__(self, diff: str, path: str) -> None:
        super().__init__()
        self.diff, self.path = diff, path

    def compose(self) -> ComposeResult:
        lines = [join(("write ", "bold"), plain(self.path, "bold"), "? (the old file is kept as .bak)")]
        for line in self.diff.splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            lines.append(plain(line, style))
        with Vertical():
            with VerticalScroll(id="diff"):
                yield Static(Text("\n").join(lines))
            yield Static(join(("y", "bold"), " write    ", ("n", "bold"), " / esc cancel"))

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ConfigEditScreen(ModalScreen[str | None]):
    """Dismissed with what the model now serves, in words ("applied, not written", ...), or None."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="config.close"),
        Binding("ctrl+s", "apply", "Apply", id="config.apply"),
        Binding("ctrl+o", "write", "Write", id="config.write"),
        Binding("ctrl+r", "revert", "Revert", id="config.revert"),
        # priority: the TextArea's own ctrl+w deletes a word
        Binding("ctrl+w", "warmup", "Insert warm-up", id="config.warmup", priority=True),
    ]
    DEFAULT_CSS = """
    ConfigEditScreen { align: center middle; }
    ConfigEditScreen > Vertical { width: 96%; height: 90%; border: round $accent; background: $surface; }
    ConfigEditScreen #config-title { height: 1; padding: 0 1; }
    ConfigEditScreen #config-text { height: 1fr; }
    ConfigEditScreen #config-check { height: auto; padding: 0 1; }
    ConfigEditScreen #config-state { height: auto; min-height: 1; padding: 0 1; }
    ConfigEditScreen #config-buttons { height: 1; padding: 0 1; }
    ConfigEditScreen #config-buttons Button { margin-right: 1; min-width: 12; }
    """

    def __init__(self, controller: ServerController, model: str) -> None:
        super().__init__()
        self.controller = controller
        self.model = model
        self.target: deploy.Target | None = None
        self.source: deploy.Source | None = None
        self.applied: str | None = None  # the text last applied (None: the files' config serves)
        self.written = False
        self.state: str | None = None  # what the model serves, in words, once something was done
        self.busy = False
        self._armed: str | None = None  # text refused before sending: ^s again with it sends it anyway
        self._unchecked = None  # the text's config when it parses but Triton would refuse it
        self._problem: str | None = None  # what the check found, in words
        self._loading = False  # the text changes from here (the files, a warm-up block), not by the user
        self._dependents: list[str] = []  # the ensembles using the model when it was last applied
        self._kept: set[str] = set()  # texts that are not lost on close: the files', applied, written
        self._leaving: str | None = None  # the text esc was pressed on once: esc again discards it

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                join(("Config ", "bold"), plain(self.model, "bold"), "  reading…"), id="config-title"
            )
            yield OrderedTextArea(
                "", id="config-text", show_line_numbers=True, soft_wrap=False, disabled=True
            )
            yield Static("", id="config-check")
            yield Static("", id="config-state")
            with Horizontal(id="config-buttons"):
                yield Button("Apply ^s", id="apply", compact=True, variant="primary")
                yield Button("Write ^o", id="write", compact=True)
                yield Button("Revert ^r", id="revert", compact=True)
                yield Button("Warm-up ^w", id="warmup", compact=True)
                yield Button("Close esc", id="close", compact=True)
        yield Footer()  # its own keys, as the Try form has (the Models pane's footer showed behind it)

    def on_mount(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="config-read")
    def _read(self) -> None:
        self._read_now()

    def _read_now(self) -> None:  # in a worker
        try:
            target = deploy.for_console(self.controller, self.model)
            self.post_message(ConfigRead(deploy.read(target), target, None))
        except ConsoleError as exc:
            self.post_message(ConfigRead(None, None, worded(exc)))

    def on_config_read(self, msg: ConfigRead) -> None:
        title = self.query_one("#config-title", Static)
        if msg.source is None:
            title.update(join(("Config ", "bold"), plain(self.model, "bold"), "  ", plain(msg.error, "red")))
            return
        self.source, self.target = msg.source, msg.target
        where = (
            plain(f"  {msg.target.file}", "dim")
            if msg.source.from_file
            else Text("  as served (no local file: Write is off)", style="dim")
        )
        title.update(join(("Config ", "bold"), plain(self.model, "bold"), where))
        area = self.query_one("#config-text", TextArea)
        self._loading = True  # its Changed (always posted) is no edit of the user's
        area.load_text(msg.source.text)
        self._kept.add(msg.source.text)
        area.disabled = False
        self.query_one("#write", Button).disabled = not msg.source.from_file
        area.focus()
        self._check()

    # -- checked as you type
    @on(TextArea.Changed, "#config-text")
    def _changed(self) -> None:
        if self._loading:
            self._loading = False
        elif not self.busy:  # an edit: the last result was about the text before it (one result line)
            self._say(Text(""))
        self._check()

    def _check(self):
        """Parse the text now (milliseconds for a config): the ModelConfig, or None with the problem shown
        (the whole of it, wrapped). A text that parses but that Triton would refuse leaves its config in
        ``_unchecked``: it can still be sent (a second ^s) to hear the server."""
        line = self.query_one("#config-check", Static)
        text = self.query_one("#config-text", TextArea).text
        self._unchecked, self._problem = None, None
        try:
            config = cfg.parse(text, self.model)
        except ConsoleError as exc:
            problem = getattr(exc, "problem", None)
            if problem is not None and problem.line is None:  # parses; a rule of Triton's says no
                try:
                    self._unchecked = cfg.parse(text, self.model, check=False)
                except ConsoleError:
                    self._unchecked = None
            if self._unchecked is not None:
                self._problem = f"parses, but Triton refuses it: {problem.message}"
            else:
                self._problem = str(problem or exc.message)
            line.update(join(("✗ ", "bold red"), plain(self._problem, "red")))
            return None
        line.update(Text("✓ parses; checked as Triton would", style="green"))
        return config

    # -- actions
    def _ready(self) -> bool:
        if self.target is None or self.busy:
            self.app.notify("wait: the config is still being read or sent", severity="warning")
            return False
        return True

    def _say(self, text: Text) -> None:
        self.query_one("#config-state", Static).update(text)

    def action_apply(self) -> None:
        """Apply the text. Refused here, with why, when Triton would refuse it or when it would take an
        ensemble using the model down; ^s again with the same text sends it anyway (the server's answer then
        shows)."""
        if not self._ready():
            return
        text = self.query_one("#config-text", TextArea).text
        force, self._armed = self._armed == text, None
        config = self._check()
        check = True
        if config is None:
            problem = self._problem or "?"
            if self._unchecked is None:
                self.app.notify(f"the text does not parse: nothing sent ({problem})", severity="error")
                return
            if not force:
                self._armed = text
                self._say(
                    join(
                        ("✗ not sent: ", "bold red"),
                        plain(problem, "red"),
                        "; ^s again sends it anyway (the server's answer shows)",
                    )
                )
                return
            config, check = self._unchecked, False
        self.busy = True
        self._say(Text("applying… (the model keeps serving until the new config is ready)", style="yellow"))
        self._apply(config, text, sample_image(self.app)[0], force, check)

    @work(thread=True, exclusive=True, group="config-do")
    def _apply(
        self, config, text: str, image: str | None = None, force: bool = False, check: bool = True
    ) -> None:
        client = self.target.client
        try:
            using = deploy.dependents(self.target)  # the ensembles through it, READY before
            conflicts = [] if force else deploy.batch_conflicts(client, using, self.model, config)
            if conflicts:
                why = "; ".join(conflicts)
                self.post_message(
                    ConfigDone("apply", None, f"not sent: {why}; ^s again applies it anyway", armed=text)
                )
                return
            deploy.apply(self.target, config, check=check)
            self.applied = text
            self._kept.add(text)
            self._dependents = list(dict.fromkeys([*self._dependents, *using]))
            try:
                same = self.target.file is not None and self.target.file.read_text(encoding="utf-8") == text
            except (OSError, UnicodeDecodeError):
                same = False
            state = "applied (the same as the file)" if same else "applied, not written"
            # an apply is a load: its first request against the warm ones (a warm-up shows here)
            cold = coldstart.measure(client, self.model, config, image=image)
            state += "; " + cold.describe()
            # Triton reloads the ensembles using it: those it could not load are down now, and why
            _, down = deploy.settle(client, using)
            self.controller.load_failures.update(down)
            for ensemble in using:
                if ensemble not in down:
                    self.controller.load_failures.pop(ensemble, None)
            state += "".join(f"; ⚠ {e} is UNAVAILABLE now: {why}" for e, why in down.items())
            self.post_message(ConfigDone("apply", state, None, warning=cold.first_ms is None or bool(down)))
        except ConsoleError as exc:
            self.post_message(ConfigDone("apply", None, worded(exc)))

    def action_revert(self) -> None:
        if not self._ready():
            return
        self.busy = True
        self._say(Text("reverting to the files' config…", style="yellow"))
        self._revert()

    @work(thread=True, exclusive=True, group="config-do")
    def _revert(self) -> None:
        client = self.target.client
        try:
            deploy.revert(self.target, self.source.served)
            self.applied = None
            # the ensembles using it that an apply took down come back with it (those known to be down too)
            down_before = [e for e in self.controller.load_failures if e not in self._dependents]
            using = [*self._dependents, *deploy.down_users(self.target, down_before)]
            again, down = deploy.settle(client, using)
            for ensemble in using:
                self.controller.load_failures.pop(ensemble, None)
            self.controller.load_failures.update(down)
            state = "reverted: the files' config serves"
            state += f" (and {', '.join(again)} loaded again)" if again else ""
            state += "".join(f"; ⚠ {e} is still UNAVAILABLE: {why}" for e, why in down.items())
            # the editor shows the files' config again, not the edits reverted, and before it says so: read
            # after, the text came back over what the user had typed since "reverted"
            self._read_now()
            self.post_message(ConfigDone("revert", state, None, warning=bool(down)))
        except ConsoleError as exc:
            self.post_message(ConfigDone("revert", None, worded(exc)))

    def action_warmup(self) -> None:
        """Choose a model_warmup block (zero or random data, a count, a sample file for BYTES inputs) and append
        it: once applied, each load runs it before the model turns READY, so the first user request meets a
        warm model."""
        if self.source is None:
            self.app.notify("wait: the config is still being read", severity="warning")
            return
        config = self._check()
        if config is None:
            self.app.notify("the text does not parse: fix it before inserting a warm-up", severity="error")
            return
        if coldstart.has_warmup(config):
            self.app.notify("the config already has a model_warmup block", severity="warning")
            return
        if not config.input:
            self.app.notify(f"{config.name}: the config declares no inputs to warm up", severity="error")
            return
        folder = self.target.file.parent if self.target is not None and self.target.file is not None else None
        image, where = sample_image(self.app)
        screen = WarmupScreen(coldstart.bytes_inputs(config), str(folder) if folder else None, image, where)
        self.app.push_screen(screen, self._insert_warmup)

    def _insert_warmup(self, choice: WarmupChoice | None) -> None:
        if choice is None:
            return
        config = self._check()
        if config is None:
            return
        names = coldstart.bytes_inputs(config)
        files: dict[str, str] = {}
        try:
            if choice.sample and names and self.target is not None and self.target.file is not None:
                data = coldstart.read_sample(choice.sample)
                for n in names:  # Triton reads it from <model>/warmup/<file>
                    files[n] = coldstart.write_sample(self.target.file.parent, n, data)
            block = coldstart.warmup_block(config, choice.kind, choice.count, files)
        except ConsoleError as exc:
            self.app.notify(exc.message, severity="error")
            return
        area = self.query_one("#config-text", TextArea)
        end = area.document.end
        self._loading = True  # the insert's Changed: its result is said below, not cleared
        area.insert(("" if area.text.endswith("\n") else "\n") + coldstart.block_text(block), end)
        area.scroll_cursor_visible()
        others = [n for n in block.inputs if n not in files]
        parts = [f"{choice.kind} data for {', '.join(others)}"] if others else []
        parts += [f"{n} from {Path(choice.sample).name} (warmup/{files[n]})" for n in files]
        what = "; ".join(parts) + (f"; {choice.count}×" if choice.count > 1 else "")
        self._say(
            join(
                ("warm-up inserted ", "bold"),
                plain(f"({what}); "),
                "^s applies it: each load then runs it before the model is READY",
            )
        )
        if choice.apply:  # and measure the first request again with it (the apply does)
            self.action_apply()

    def action_write(self) -> None:
        if not self._ready():
            return
        if self.target.file is None:
            self.app.notify("no config.pbtxt on this machine: copy the text to the server's repository")
            return
        if self._check() is None:
            self.app.notify("the text does not parse: nothing written", severity="error")
            return
        text = self.query_one("#config-text", TextArea).text
        try:
            diff = deploy.diff(self.target, text)
        except (ConsoleError, OSError) as exc:
            self.app.notify(str(exc), severity="error")
            return
        if not diff:
            self.app.notify("the file already holds this text")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.busy = True
                self._write(text)

        self.app.push_screen(DiffScreen(diff, str(self.target.file)), answered)

    @work(thread=True, exclusive=True, group="config-do")
    def _write(self, text: str) -> None:
        try:
            backup = deploy.write(self.target, text)
            serving = "applied" if self.applied == text else "not applied yet (^s applies it)"
            self.written = True
            self._kept.add(text)
            self.post_message(ConfigDone("write", f"written (previous file: {backup.name}); {serving}", None))
        except (ConsoleError, OSError) as exc:
            self.post_message(ConfigDone("write", None, str(exc)))

    def on_config_done(self, msg: ConfigDone) -> None:
        self.busy = False
        if msg.armed is not None:  # refused before sending: a second ^s with this text sends it
            self._armed = msg.armed
            self._say(join(("✗ ", "bold red"), plain(msg.error, "red", limit=600)))
            return
        if msg.error:
            self._say(join((f"{msg.action} failed: ", "bold red"), plain(msg.error, "red", limit=600)))
            return
        self.state = msg.state
        if msg.warning:
            self._say(join(("⚠ ", "bold yellow"), plain(msg.state, "yellow")))
        else:
            self._say(join(("✓ ", "bold green"), plain(msg.state)))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {
            "apply": self.action_apply,
            "write": self.action_write,
            "revert": self.action_revert,
            "warmup": self.action_warmup,
        }
        actions.get(event.button.id or "", self.action_close)()

    def action_close(self) -> None:
        """Close; edits neither applied nor written are not thrown away on one key: the first esc says so,
        a second one (on the same text) discards them."""
        if self.source is not None:
            text = self.query_one("#config-text", TextArea).text
            if text not in self._kept and self._leaving != text:
                self._leaving = text
                self._say(
                    Text(
                        "edits not applied or written: esc again discards them (^s applies, ^o writes)",
                        "yellow",
                    )
                )
                return
        self.dismiss(self.state)
