"""The config editor's warm-up choice (ctrl+w): zero or random data, how many times, and for BYTES inputs a
sample file (the Classify pane's last image, or any file) instead of empty strings. Insert puts the block in
the text; Insert + apply also applies it, which measures the first request again (the editor's apply does).
The block itself is the core's (tui/core/tune/coldstart.py)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.tune import coldstart
from triton_console.tui.text import join, plain


@dataclass(frozen=True)
class WarmupChoice:
    kind: str  # zero | random
    count: int
    sample: str | None  # a file whose bytes feed every BYTES input (None: empty strings)
    apply: bool  # apply at once (and measure the first request)


class WarmupScreen(ModalScreen[WarmupChoice | None]):
    """Dismissed with the choice, or None (esc)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="warmup.cancel"),
        Binding("ctrl+s", "done(True)", "Insert + apply", id="warmup.apply", priority=True),
    ]
    DEFAULT_CSS = """
    WarmupScreen { align: center middle; }
    WarmupScreen > Vertical { width: 72; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    WarmupScreen .row { height: 1; margin-top: 1; }
    WarmupScreen Label { width: auto; margin-right: 1; color: $text-muted; }
    WarmupScreen #warmup-kind { width: 14; }
    WarmupScreen #warmup-count { width: 6; }
    WarmupScreen #warmup-sample { width: 1fr; }
    WarmupScreen #warmup-note { height: auto; margin-top: 1; }
    WarmupScreen #warmup-buttons Button { margin-right: 1; }
    """

    def __init__(
        self,
        bytes_inputs: list[str],
        sample_dir: str | None,
        last_image: str | None,
        where: str = "the Classify pane's last image",
    ) -> None:
        """``bytes_inputs``: the config's BYTES inputs; ``sample_dir``: where a sample file would go (the
        model's folder on this machine; None: none, so BYTES get empty strings); ``last_image``: the sample
        offered (panes/samples.py: the Classify pane's last image, else one from the start folder), ``where``
        it comes from."""
        super().__init__()
        self.bytes_inputs, self.sample_dir, self.last_image = bytes_inputs, sample_dir, last_image
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Warm-up block", style="bold"))
            with Horizontal(classes="row"):
                yield Label("data")
                yield Select(
                    [("zero", "zero"), ("random", "random")],
                    value="zero",
                    allow_blank=False,
                    id="warmup-kind",
                    compact=True,
                )
                yield Label("count")
                yield Input("1", id="warmup-count", compact=True, type="integer")
            if self.bytes_inputs and self.sample_dir:
                with Horizontal(classes="row"):
                    yield Label("BYTES sample")
                    yield Input(
                        self.last_image or "",
                        id="warmup-sample",
                        compact=True,
                        placeholder="a file (empty: empty strings)",
                    )
            yield Static(self._note(), id="warmup-note")
            with Horizontal(id="warmup-buttons", classes="row"):
                yield Button("Insert ⏎", id="insert", compact=True, variant="primary")
                yield Button("Insert + apply ^s", id="apply", compact=True)
                yield Button("Cancel esc", id="cancel", compact=True)
        yield Footer()  # its own keys (the editor's footer showed behind it)

    def _note(self) -> Text:
        if not self.bytes_inputs:
            return Text("Triton runs it at each load, before the model is READY.", style="dim")
        names = ", ".join(self.bytes_inputs)
        if not self.sample_dir:
            return plain(
                f"BYTES ({names}): empty strings (no model folder on this machine for a file)", "dim"
            )
        where = self.where if self.last_image else "no image classified yet"
        return join(
            plain(f"BYTES ({names}): the file's bytes, copied to warmup/<input>.bin ({where}); ", "dim"),
            Text("random applies to the other inputs", style="dim"),
        )

    def on_mount(self) -> None:
        self.query_one("#warmup-count", Input).focus()

    def choice(self, apply: bool) -> WarmupChoice:
        """What the form says, checked (ConsoleError: one line)."""
        text = self.query_one("#warmup-count", Input).value.strip()
        if not text.isdigit() or int(text) < 1:
            raise ConsoleError(f"count {text!r}: a whole number from 1", exit_code=EXIT_USAGE)
        sample = None
        for box in self.query("#warmup-sample").results(Input):
            sample = box.value.strip() or None
        kind = str(self.query_one("#warmup-kind", Select).value)
        if kind not in coldstart.KINDS:
            raise ConsoleError(f"data {kind!r}: zero or random", exit_code=EXIT_USAGE)
        return WarmupChoice(kind, int(text), sample, apply)

    def action_done(self, apply: bool) -> None:
        try:
            self.dismiss(self.choice(apply))
        except ConsoleError as exc:
            self.app.notify(exc.message, severity="error")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_done(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.action_cancel()
        else:
            self.action_done(event.button.id == "apply")
