"""The console's panes as data: tabs, number keys, help, the command palette and ':' commands all read this.

A new pane is one entry in ``PANES``. Each entry says how to build its pane from the app (``make``), and
the app asks the pane classes what they can do (``show_snapshot``, ``close_filter``, ``server_changed``)
instead of naming them. ``python -m triton_console.tui.panes.registry`` prints docs/keys.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding
from textual.widget import Widget

from triton_console.tui.panes.bench import BenchPane
from triton_console.tui.panes.build import BuildPane
from triton_console.tui.panes.classify import ClassifyPane
from triton_console.tui.panes.configedit import ConfigEditScreen
from triton_console.tui.panes.metrics import MetricsPane
from triton_console.tui.panes.modellog import ModelLogScreen
from triton_console.tui.panes.models import ModelsPane
from triton_console.tui.panes.server import ServerPane
from triton_console.tui.panes.servers import ServersPane
from triton_console.tui.panes.traceview import TraceScreen
from triton_console.tui.panes.trymodel import TryScreen
from triton_console.tui.panes.tune import TunePane
from triton_console.tui.panes.warmupform import WarmupScreen
from triton_console.tui.widgets.help import Section, binding_rows


@dataclass(frozen=True)
class PaneSpec:
    id: str  # the tab's id, the ':' word and the action's argument ("show('models')")
    key: str  # its number key
    title: str
    pane: type[Widget]
    summary: str  # one line for the command palette
    make: Callable[[object], Widget]  # (app) -> the pane, mounted with id f"{id}-pane"
    aliases: tuple[str, ...] = ()  # more ':' words
    forms: tuple[tuple[str, type], ...] = ()  # screens the pane opens, whose keys help lists under it

    @property
    def tab(self) -> str:
        return f"{self.key} {self.title}"

    def help_sections(self) -> list[Section]:
        out = [(f"{self.tab} pane", binding_rows(self.pane.BINDINGS))]
        out += [(f"{self.title} › {name}", binding_rows(screen.BINDINGS)) for name, screen in self.forms]
        return out


def _classify(app) -> ClassifyPane:
    start_dir = app.options.start_dir
    if start_dir is None and app.options.images:
        first = Path(app.options.images[0])
        start_dir = str(first if first.is_dir() else first.parent)
    return ClassifyPane(
        app.controller,
        start_dir=start_dir if start_dir and os.path.isdir(start_dir) else None,
        id="classify-pane",
    )


PANES: tuple[PaneSpec, ...] = (
    PaneSpec(
        "build",
        "1",
        "Build",
        BuildPane,
        "export, check and write a repository",
        lambda app: BuildPane(app.options.repository, app.controller, id="build-pane"),
    ),
    PaneSpec(
        "server",
        "2",
        "Server",
        ServerPane,
        "start/stop or connect; server log",
        lambda app: ServerPane(app.controller, id="server-pane"),
        aliases=("srv",),
    ),
    PaneSpec(
        "models",
        "3",
        "Models",
        ModelsPane,
        "repository index, load/unload, try a model",
        lambda app: ModelsPane(app.controller, id="models-pane"),
        aliases=("mo",),
        forms=(
            ("Try form (t)", TryScreen),
            ("Config editor (e)", ConfigEditScreen),
            ("Warm-up choice (ctrl+w in the editor)", WarmupScreen),
            ("Model log (L)", ModelLogScreen),
            ("Trace (ctrl+t in the Try form)", TraceScreen),
        ),
    ),
    PaneSpec(
        "classify",
        "4",
        "Classify",
        ClassifyPane,
        "classify images",
        _classify,
        aliases=("cl",),
        forms=(("Trace (t)", TraceScreen),),
    ),
    PaneSpec(
        "metrics",
        "5",
        "Metrics",
        MetricsPane,
        "live rates, charts, GPU and CPU",
        lambda app: MetricsPane(app.controller, poll=app.options.poll, id="metrics-pane"),
    ),
    PaneSpec(
        "bench",
        "6",
        "Bench",
        BenchPane,
        "sweeps, saved runs, compare two models",
        lambda app: BenchPane(app.controller, app.options.images, id="bench-pane"),
    ),
    PaneSpec(
        "servers",
        "7",
        "Servers",
        ServersPane,
        "every server of the servers file, and the active one",
        lambda app: ServersPane(
            app.options.context, app.controller.client.url, controller=app.controller, id="servers-pane"
        ),
        aliases=("ctx",),
    ),
    PaneSpec(
        "tune",
        "8",
        "Tune",
        TunePane,
        "config fields × load: find the fastest config, write it back",
        lambda app: TunePane(app.controller, app.options.images, id="tune-pane"),
    ),
)
BY_ID = {p.id: p for p in PANES}

GLOBAL_BINDINGS = [
    Binding("colon", "command", "Command", show=False, id="app.command"),
    Binding("question_mark", "help", "Help", id="app.help"),
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("escape", "back", "Back", show=False, id="app.back"),
]


def app_bindings() -> list[Binding]:
    """The app's keys: a number per pane (not in the footer: the tab bar shows the numbers, and at 80 columns
    they pushed the pane's own keys off it), then the global ones."""
    panes = [Binding(p.key, f"show('{p.id}')", p.title, show=False, id=f"pane.{p.id}") for p in PANES]
    return panes + GLOBAL_BINDINGS


def command_words() -> dict[str, str]:
    """':' words (a pane's id or alias) -> pane id."""
    words = {p.id: p.id for p in PANES}
    for p in PANES:
        words |= dict.fromkeys(p.aliases, p.id)
    return words


def command_hint() -> str:
    return ", ".join(p.id for p in PANES) + ", ctx NAME, q"


def help_sections() -> list[Section]:
    everywhere = [(f"{PANES[0].key}…{PANES[-1].key}", "show a pane (its number is in its title below)")]
    everywhere += binding_rows(GLOBAL_BINDINGS[1:3])  # ? and q; : and esc are said with what they take
    everywhere += [
        (":", "command: " + command_hint()),
        ("esc", "back: dismiss notifications, close a filter, leave a text box"),
        ("ctrl+p", "command palette"),
        ("tab/shift+tab", "move focus"),
        ("ctrl+q", "quit from anywhere"),
    ]
    out: list[Section] = [("Everywhere", everywhere)]
    for p in PANES:
        out += p.help_sections()
    return out


def keys_markdown() -> str:
    """docs/keys.md: every key of every pane, from the same data as the help screen."""
    lines = [
        "# Keys",
        "",
        "Every key of the console, as `?` shows it (generated from the pane registry,",
        "`tui/panes/registry.py`: `python -m triton_console.tui.panes.registry > docs/keys.md`).",
        "A pane's keys work while that pane is shown; `:` takes a pane's name (`:models`), `ctx NAME` or `q`.",
        "The Try form's keys are ctrl-combinations: they work while a SPEC box has the focus.",
        "With `NO_COLOR` set the console writes no colour codes; cursor rows are shown in reverse video.",
    ]
    for title, rows in help_sections():
        lines += ["", f"## {title}", "", "| key | action |", "| --- | --- |"]
        lines += [f"| `{key}` | {action} |" for key, action in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(keys_markdown(), end="")
