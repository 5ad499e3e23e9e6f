"""Models pane: the model list as a live table; load/unload; config (protobuf text format) and statistics."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.client import check_model_name, server_gone
from triton_console.tui.core.client.health import Verdict
from triton_console.tui.core.request.ensemble import REFUSED_CAUSES, REFUSED_HINT
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.core.server.modellog import short
from triton_console.tui.core.server.process import is_loopback
from triton_console.tui.core.tune import coldstart, deploy, memory
from triton_console.tui.hints import for_code, worded
from triton_console.tui.messages import DevReloaded, ModelDetail, Notice, PollRequested
from triton_console.tui.panes.samples import sample_image
from triton_console.tui.text import Fitted, cell, name, name_line, wrapped
from triton_console.tui.widgets.filterbox import FilterBox
from triton_console.tui.widgets.rowlist import Column, RowList
from triton_console.tui.workers import work

FILTER_HINT = "filter: name, state, reason; esc closes"  # fits the list's width at 80 columns
ADD_HINT = "model name to add ⏎; esc closes"  # fits the list's width at 80 columns


def added_line(name: str, snap: ServerSnapshot, entry: rs.IndexEntry | None) -> tuple[str, str]:
    """What adding a name (a) came to at the next poll, and the toast's severity."""
    if not snap.live:
        return f"added {name}: the server is not reachable", "warning"
    if entry is None or entry.state == "UNLISTED":
        return f"{name}: the server does not know it; nothing added", "warning"
    if entry.state in ("LOADING", "UNLOADING"):
        return f"added {name}: {entry.state.lower()}…", "information"
    if entry.state == "READY":
        return f"added {name}: ready", "information"
    state = entry.state or "state unknown"
    return f"added {name}: {state}" + (f" ({entry.reason})" if entry.reason else ""), "warning"


STATE_STYLE = {
    "READY": "green",
    "UNAVAILABLE": "red",
    "LOADING": "yellow",
    "UNLOADING": "yellow",
    "UNHEALTHY": "bold red",
}
# State and name as wide as what they hold; where the list is narrow (80 columns, the detail beside it) the
# version and then the reason make room for whole names: the detail shows both
COLUMNS = (
    Column("state", "state"),
    Column("name", "name"),
    Column("version", "ver", 4, drop=1),
    Column("reason", "reason", drop=2, least=8),
)


def shown(entry: rs.IndexEntry, verdict: Verdict | None) -> tuple[str, str]:
    """(state, reason) as the row says them: UNHEALTHY where the console's own requests found the model
    broken, even while the server says READY (it does for a dead Python-backend stub)."""
    if verdict is None:
        return entry.state or "-", entry.reason
    said = f" (server says {entry.state})" if entry.state else ""
    return "UNHEALTHY", verdict.describe() + said


def _search_text(entry: rs.IndexEntry | None, verdict: Verdict | None = None) -> str:
    if entry is None:
        return ""
    state, reason = shown(entry, verdict)
    return f"{entry.name} {state} {reason}".lower()


def row_cells(entry: rs.IndexEntry, verdict: Verdict | None = None) -> tuple:
    state, reason = shown(entry, verdict)
    return (
        cell(state, STATE_STYLE.get(state, "")),
        name(entry.name),
        cell(entry.version or "-"),
        cell(reason),
    )


def config_text(config) -> str:
    """A model config as its ``config.pbtxt`` would look (protobuf text format)."""
    from google.protobuf import text_format

    return text_format.MessageToString(config, as_utf8=True)


def config_summary(config) -> str:
    """The few fields people look for first: where it runs, batching, tensors, ensemble steps."""
    from tritonclient.grpc import model_config_pb2 as mc

    from triton_console.tui.core.request import stream

    def tensors(items) -> str:
        return ", ".join(
            f"{t.name} {mc.DataType.Name(t.data_type).removeprefix('TYPE_')} {list(t.dims)}" for t in items
        )

    lines = [
        f"{config.platform or config.backend or '?'}  max batch {config.max_batch_size}",
        f"in:  {tensors(config.input)}",
        f"out: {tensors(config.output)}",
    ]
    if config.instance_group:
        lines.append(
            "instances: "
            + ", ".join(
                f"{g.count or 1}x {mc.ModelInstanceGroup.Kind.Name(g.kind)}" for g in config.instance_group
            )
        )
    if config.HasField("dynamic_batching"):
        lines.append("dynamic batching on")
    if stream.decoupled(config):
        lines.append("decoupled: responses stream (gRPC stream or generate_stream)")
    seq = stream.sequence_config(config)
    if seq is not None:
        lines.append(f"sequence batching: {seq.describe()}")
    steps = [s.model_name for s in config.ensemble_scheduling.step]
    if steps:
        lines.append("steps: " + " → ".join(steps))
    if (
        "triton_console.trained" in config.parameters
        and config.parameters["triton_console.trained"].string_value == "false"
    ):
        lines.append("⚠ UNTRAINED (random) weights")
    return "\n".join(lines)


def metadata_text(meta: rs.ModelMetadata) -> str:
    lines = [f"platform {meta.platform or '?'}  versions {', '.join(meta.versions) or '?'}"]
    lines += [f"in:  {t.name} {t.datatype} {list(t.shape)}" for t in meta.inputs]
    lines += [f"out: {t.name} {t.datatype} {list(t.shape)}" for t in meta.outputs]
    return "\n".join(lines)


def stats_text(stats: list[rs.ModelStats]) -> str:
    if not stats:
        return "no statistics (model not loaded?)"
    lines = []
    for s in stats:
        ok = s.duration("success")[0]

        def avg(kind: str, s=s) -> str:
            c, ns = s.duration(kind)
            return f"{ns / c / 1e6:.2f} ms" if c else "-"

        lines.append(
            f"v{s.version or '?'}: {ok} ok, {s.duration('fail')[0]} failed, {s.execution_count} executions, "
            f"{s.inference_count} inferences\n"
            f"  request {avg('success')}  queue {avg('queue')}  infer {avg('compute_infer')}  "
            f"in {avg('compute_input')}  out {avg('compute_output')}"
        )
    return "\n".join(lines)


def _events(loop):
    """Watch mode's events: the first request, then one per save."""
    yield loop.first()
    yield from loop.watch()


NO_DETAIL = "select a model to see its config and statistics"


def unload_question(name: str) -> str:
    """The note line while ``u`` waits for its answer."""
    return f"unload {name}? u or y unloads it; n or esc keeps it loaded"


LOG_TITLE = "server log about it"  # its records shown short (severity, time, message)


class ModelsPane(Horizontal):
    BINDINGS = [
        Binding("l", "load", "Load", id="models.load"),
        Binding("u", "unload", "Unload", id="models.unload"),
        # u asks first (a shared server's users lose the model): u again or y unloads, n or esc keeps it.
        # Only while asked; the question line says them (in the footer they pushed "? Help q Quit" off)
        Binding("y", "unload_answer(True)", "Yes, unload (after u)", id="models.unload.yes", show=False),
        Binding(
            "n,escape",
            "unload_answer(False)",
            "No, keep it loaded (after u)",
            id="models.unload.no",
            show=False,
        ),
        Binding("r", "refresh", "Refresh", id="models.refresh", show=False),  # the list polls; help lists r
        Binding("t", "try", "Try", id="models.try"),
        # p and w: in help (?), not the footer, so that "? Help  q Quit" fit at 80 columns
        Binding("p", "probe", "Probe", id="models.probe", show=False),
        Binding("e", "edit", "Edit", id="models.edit"),
        Binding("slash", "filter", "Find", id="models.filter"),
        Binding("a", "add", "Add", id="models.add"),
        Binding("w", "watch", "Watch", id="models.watch", show=False),
        Binding("L", "log", "Log", id="models.log"),
    ]

    DEFAULT_CSS = """
    ModelsPane #left { width: 1fr; height: 1fr; }
    ModelsPane #index { height: 1fr; }
    ModelsPane #models-note { height: 1; color: $text-muted; padding: 0 1; }
    ModelsPane #models-note.-asking { height: auto; }
    ModelsPane #detail { width: 45%; max-width: 72; height: 1fr; border-left: solid $panel; padding: 0 1; }
    """

    def __init__(self, controller: ServerController, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self._selected: str | None = None
        self._entries: dict[str, rs.IndexEntry] = {}
        self._models_seen: list[rs.IndexEntry] | None = None  # the poll's list behind _entries (by identity)
        self._health: dict[str, Verdict] = {}
        self._probes: dict[str, str] = {}  # the last probe's line per model, shown in its detail
        self.note = ""  # why the list is empty or partial, as shown
        self._added: list[str] = []  # names added with a, told about at the next poll
        self._filter_text = ""  # the filter in force: the box's text while it is open as a filter
        self._last_detail: ModelDetail | None = None  # drawn again when watch mode stops
        # Load/unload requests run one after another: a load sent while an unload is still in flight
        # can be undone by that unload finishing after it.
        self._lu_lock = threading.Lock()
        self._cold: dict[str, str] = {}  # model -> its cold start at the last load, in words
        self._memory: dict[str, str] = {}  # model -> its memory at the last load (GPU footprint, CPU stubs)
        self._dev = None  # the DevLoop of watch mode (w), while it runs
        self._dev_lines: list[str] = []  # its last event, shown in the watched model's detail
        self._detail_columns = 60  # the detail's width, for the worker's side-by-side lines (set on resize)
        self._detail_width = 0  # as _split set it
        self._state_width = self._name_width = 0  # the list's widest state and name
        self._unload_asked: str | None = None  # the model u asked about, until the answer

    def compose(self) -> ComposeResult:
        with Vertical(id="left"):
            yield FilterBox(FILTER_HINT, "#index", id="models-filter")
            index = RowList(
                COLUMNS, lambda name: row_cells(self._entries[name], self._health.get(name)), id="index"
            )
            index.set_search(lambda name: _search_text(self._entries.get(name), self._health.get(name)))
            yield index
            yield Static("", id="models-note")
        with VerticalScroll(id="detail"):
            yield Static(NO_DETAIL, id="detail-text")

    def focus_default(self) -> None:
        self.query_one("#index").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the box at the top has the focus the footer shows its keys (Enter, esc), not / Find."""
        if action == "unload_answer":
            return self._unload_asked is not None
        boxes = self.query("#models-filter")
        return not (action in ("filter", "add") and boxes and boxes.first().has_focus)

    def server_changed(self, client, context: str | None) -> None:
        """Another server: the detail shown was the last server's (it stayed when the new one was down)."""
        self._selected = None
        self.query_one("#detail-text", Static).update(NO_DETAIL)

    @property
    def selected(self) -> str | None:
        return self._selected

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        """New list: entries compared as data, rows drawn anew only where they changed (the list is virtual,
        so a 20,000-model index costs the event loop nothing but the rows on screen)."""
        models = snap.models if snap.live else None
        entries = snap.by_name if models is not None else {}
        if not snap.live:
            self.note = "server not reachable"
        elif not snap.models_from:
            self.note = "this server lists no models: a adds one by name"
        else:
            self.note = f"{len(entries)} models from the {snap.models_from}"
        old, self._entries = self._entries, entries
        old_health, self._health = self._health, dict(snap.health)
        failures = self.controller.load_failures  # a few at most: not one check per model
        for n in [n for n in failures if n in entries and entries[n].state == "READY"]:
            del failures[n]  # it loaded since
        seen, self._models_seen = self._models_seen, models
        if (
            models is not None and models is seen
        ):  # the poll reused the list shown (a big index, between fetches)
            changed, same_names = set(), True
        elif (
            models is not None and snap.diff is not None and snap.diff.base is seen
        ):  # compared in the worker
            changed, same_names = set(snap.diff.changed), snap.diff.same_names
        else:
            changed = {n for n, e in entries.items() if n in old and old[n] != e}
            same_names = entries.keys() == old.keys()
        if old_health or self._health:  # a handful of verdicts, not one per model
            changed |= {
                n
                for n in old_health.keys() | self._health.keys()
                if n in entries and n in old and old_health.get(n) != self._health.get(n)
            }
        index = self.query_one("#index", RowList)
        if changed or not same_names:
            if not same_names:
                self._name_width = max((len(n) for n in entries), default=4)
                index.fit("name", self._name_width)
            states = {e.state or "-" for e in entries.values()}  # as shown(): 20,000 rows in 0.3 ms
            if any(n in entries for n in self._health):
                states.add("UNHEALTHY")
            self._state_width = max(map(len, states), default=1)
            index.fit("state", self._state_width)
            index.set_keys(sorted(entries), changed)
            self._split()
        highlighted = index.cursor_key
        if self._selected is None and highlighted is not None and highlighted in entries:
            # a server changed back to one listing the same first rows: the cursor never moved, so no row was
            # highlighted anew, and the detail said "select a model" beside a highlighted row
            self._selected = highlighted
            self._fetch_detail(highlighted)
        elif self._selected in changed:  # the detail follows the poll (it kept "state LOADING" until r)
            self._fetch_detail(self._selected)
        elif self._selected is not None and self._selected not in entries:
            # the server went away (or the model left its index): its READY states stayed beside an empty list
            self._selected, self._last_detail = None, None
            gone = "the server is not reachable" if not snap.live else "no longer listed by the server"
            self.query_one("#detail-text", Static).update(Text(gone, style="dim"))
        self._show_note()
        added, self._added = self._added, []
        for n in added:  # the user typed a name and pressed enter: say what the server made of it
            line, severity = added_line(n, snap, entries.get(n))
            if line.endswith("nothing added") and n in self.controller.given_models:
                self.controller.given_models.remove(n)
            self.app.notify(line, severity=severity)

    def _show_note(self) -> None:
        index = self.query_one("#index", RowList)
        shown = f"{index.row_count} of " if index.row_count != len(self._entries) else ""
        note = self.query_one("#models-note", Static)
        note.set_class(self._unload_asked is not None, "-asking")  # the question wraps; the note is 1 line
        if self._unload_asked is not None:  # the question stays until answered (the poll redraws the note)
            question = unload_question(self._unload_asked)
            if str(note.content) != question:
                note.update(Text(question, style="bold yellow"))
            return
        if str(note.content) != shown + self.note:  # one line high: no layout, and none when unchanged
            note.update(Text(shown + self.note), layout=False)

    def action_filter(self) -> None:
        self.query_one("#models-filter", FilterBox).open(FILTER_HINT)
        self._apply_filter()

    def action_add(self) -> None:
        """Name a model to ask about: for servers that list none (KServe over gRPC)."""
        box = self.query_one("#models-filter", FilterBox)
        box.value = ""
        box.open(ADD_HINT, mode="add")
        self._apply_filter()  # the filter typed before goes with its text (it stayed, hidden, after the add)

    def _apply_filter(self) -> None:
        """The list filtered by what the box shows, and only that: by its text while it is open as a filter,
        by nothing while it is hidden or takes a name to add. Read from the box when applied (its Changed
        messages arrive later, after an add or a close may have changed its use)."""
        box = self.query_one("#models-filter", FilterBox)
        text = box.value if box.mode == "filter" and box.has_class("shown") else ""
        if text != self._filter_text:  # esc comes here for every pane: no refiltering of a big list for it
            self._filter_text = text
            self.query_one("#index", RowList).filter(text)
            self._show_note()

    @on(Input.Changed, "#models-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter()

    @on(Input.Submitted, "#models-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if self.query_one("#models-filter", FilterBox).mode == "add":
            name = event.value.strip()
            try:
                check_model_name(name)
            except ConsoleError as exc:
                self.app.notify(exc.message, severity="error")
                return
            if name not in self.controller.given_models:
                self.controller.given_models.append(name)
            self._added.append(name)
            self.app.notify(f"adding {name}: asking the server…")
            self.close_filter()
            self.post_message(PollRequested())
            return
        self.query_one("#index").focus()

    def close_filter(self) -> bool:
        closed = self.query_one("#models-filter", FilterBox).close()
        self._apply_filter()
        return closed

    @on(RowList.Highlighted, "#index")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        if event.key is not None and event.key != self._selected:
            self._selected = event.key
            self._ask_unload(None)  # the question was about the model the cursor left
            self._fetch_detail(event.key)

    @work(thread=True, exclusive=True, group="model-detail")
    def _fetch_detail(self, name: str) -> None:
        client = self.controller.client
        parts: list[tuple[str, str]] = []
        entry = self._entries.get(name)
        found = self._ensemble(name) if entry is None or entry.state != "UNLISTED" else None
        verdict = client.health.verdict(name)
        if name in self._probes:
            parts.append(("last probe (p)", self._probes[name]))
        if verdict is not None:
            parts.append(("health (the console's own requests)", verdict.describe()))
            parts.append(
                ("why", "its requests fail while the server says it is ready: p probes it, l reloads it")
            )
        failed = self.controller.load_failures.get(name)
        if entry is not None and (entry.state != "READY" or entry.reason):
            parts.append(("state", f"{entry.state or '?'}" + (f": {entry.reason}" if entry.reason else "")))
            why = self.controller.explain(entry)
            if failed is not None and entry.state != "READY":
                # the index still says "unloaded" after a failed load: the load's own answer says why
                parts.append(("the last load failed", failed))
                why = self.controller.explain(replace(entry, reason=failed))
                if why is not None and why.cause in ("unloaded", "unknown", "server-reason"):
                    why = None
            if why is not None:
                refused = found is not None and found.problems and why.cause in REFUSED_CAUSES
                parts.append(
                    ("why (ensemble)", REFUSED_HINT) if refused else (f"why ({why.cause})", why.hint)
                )
                if why.config_error:
                    parts.append(("config.pbtxt does not parse", why.config_error))
                if why.log:
                    parts.append((LOG_TITLE, "\n".join(why.log)))
                if entry.state == "UNLISTED":
                    self._post_detail(name, parts)
                    return

        if found is not None:
            if found.problems:
                parts.append(("ensemble checks", "\n".join(found.problems)))
            parts.append(("ensemble steps", found.drawing))
        if entry is not None and entry.state == "READY" and self.controller.is_managed_running():
            from triton_console.tui.core.server.modellog import ModelLines

            # its own lines only (the log view's attribution): the lines around named other models
            attributed = ModelLines(name, set(self._entries), before=0, after=0)
            lines = [*attributed.feed(self.controller.log_lines()), *attributed.flush()][-30:]
            if lines:  # its lines in the managed server's log, its stub's own stderr among them
                parts.append((LOG_TITLE, "\n".join(lines)))

        def section(title: str, produce) -> bool:
            """Add what ``produce`` returns; on failure one line, and False when the server is gone."""
            try:
                parts.extend(produce())
                return True
            except ConsoleError as exc:
                parts.append((title, f"unavailable: {exc.message}"))
                return not server_gone(exc)

        def config() -> list[tuple[str, str]]:
            c = client.model_config(name)
            return [("config", config_summary(c)), ("config.pbtxt", config_text(c))]

        def statistics() -> list[tuple[str, str]]:
            p = client.model_statistics(name)
            return [("statistics", "\n".join([stats_text(p.items), *p.problems]))]

        if name in self._cold:
            parts.append(("cold start (after the last l)", self._cold[name]))
        if name in self._memory:
            parts.append(("memory (after the last l)", self._memory[name]))
        _ = (
            section("metadata", lambda: [("metadata", metadata_text(client.model_metadata(name)))])
            and section("config", config)
            and section("statistics", statistics)
        )
        self._post_detail(name, parts)

    def _memory_text(self, name: str, gpu: memory.AroundLoad) -> str:
        """The load's GPU footprint (or why there is none) and its Python stubs' resident memory."""
        lines = [gpu.footprint().describe()]
        try:
            stubs = memory.stub_line(
                self._local_repository(), name, self.controller.client.model_config(name)
            )
        except ConsoleError:
            stubs = None
        return "\n".join([*lines, *([stubs] if stubs else [])])

    def _post_detail(self, name: str, parts: list[tuple[str, str]]) -> None:
        """From the detail worker, unless a newer fetch replaced it (its state may be older than the list's)."""
        if not get_current_worker().is_cancelled:
            self.post_message(ModelDetail(name, parts))

    def _local_repository(self) -> Path | None:
        """The repository of the server shown: the managed server's, else the console's own (--repository)
        when the server is on this machine."""
        m = self.controller.managed
        if m is not None and self.controller.is_managed_running():
            return Path(m.cfg.repository)
        if is_loopback(self.controller.client.endpoint.host) and Path(self.controller.repository).is_dir():
            return Path(self.controller.repository)
        return None

    def _ensemble(self, name: str):
        """An ensemble's graph and checks (None for other models); the local repository serves the configs
        of what the server refused."""
        from triton_console.tui.core.request import ensemble

        states = {n: e.state for n, e in self._entries.items()}
        try:
            return ensemble.diagnose(self.controller.client, name, states, self._local_repository())
        except ConsoleError:
            return None

    def on_resize(self) -> None:
        self._detail_columns = self.query_one("#detail").content_region.width or 60
        self._split()

    def _split(self) -> None:
        """The detail at 45% of the pane, down to 40% where the list's states and names would be cut beside
        it (at 80 columns: ensemble_python_efficientnet_lite0 whole beside UNAVAILABLE)."""
        total = self.size.width
        if not total:
            return
        need = self._state_width + 1 + self._name_width + 2  # 2: a scroll bar
        width = min(max(total * 2 // 5, min(total * 9 // 20, total - need)), 72)
        if width != self._detail_width:
            self._detail_width = width
            self.query_one("#detail").styles.width = width
            self._detail_columns = width - 3  # its border and padding

    def on_model_detail(self, msg: ModelDetail) -> None:
        if msg.name != self._selected:
            return
        if self._last_detail is None or self._last_detail.name != msg.name:  # another model: from its name
            self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
        self._last_detail = msg
        items = [name_line(msg.name, "bold")]  # a long name cut in the middle, not wrapped
        parts = list(msg.parts)
        if self._dev is not None and self._dev.model == msg.name and self._dev_lines:
            parts.insert(0, ("watching (w stops)", "\n".join(self._dev_lines)))
        for title, body in parts:
            items.append(Text(title, style="bold underline"))
            if isinstance(body, str) and title == LOG_TITLE:  # records short: the pid and source file go
                body = "\n".join(short(line) for line in body.split("\n"))
                # an identifier too long folded whole (TRITONBACKEND_ / ModelInstanceInitialize:), a path cut
                # in its middle, its file name kept (L shows the lines whole)
                items.append(wrapped(body, indent="  ", cut="paths"))
            elif isinstance(body, str):  # between words; a word too long (a name in a reason) folded, whole
                items.append(wrapped(body, cut=False))
            else:  # an ensemble's steps: vertical where the detail is narrow, names cut with an ellipsis
                items.append(Fitted(body.lines))
        self.query_one("#detail-text", Static).update(Group(*items))

    def action_watch(self) -> None:
        """Watch mode: the selected model's folder is watched; a save reloads it (and the ensembles using it)
        and sends the Try form's last request to it again (random inputs without one), and classifies the
        Classify pane's last image again when that went through it; w again stops."""
        if self._dev is not None:
            self._dev.stop.set()
            self.app.notify(f"stopped watching {self._dev.model}")
            self._dev, self._dev_lines = None, []
            if self._last_detail is not None:  # the detail said "watching (w stops)" until the cursor moved
                self.on_model_detail(self._last_detail)
            return
        if not self._selected:
            self.app.notify("select a model first", severity="warning")
            return
        repository = self._local_repository()
        if repository is None:
            self.app.notify(
                "watch mode needs a server on this machine and its repository", severity="warning"
            )
            return
        self._watch(self._selected, repository)

    @work(thread=True, exclusive=True, group="dev-watch")
    def _watch(self, name: str, repository: Path) -> None:
        from triton_console.tui.core.request import infer
        from triton_console.tui.core.server.devloop import DevLoop, summary

        try:

            def plan(info):  # the Try form's last request to it, else random inputs (seed 0)
                specs, shapes, batch = self.controller.last_requests.get(name, ({}, {}, 1))
                return infer.plan_inputs(info, specs, shapes, batch=batch)

            loop = DevLoop(self.controller.client, name, repository, plan)
            self._dev = loop
            self.post_message(Notice(f"watching {loop.folder}: a save reloads {name}"))
            previous = None
            classified: dict[tuple[str, str], object] = {}  # (model, image) -> its last classification
            for event in _events(loop):
                again = self._classify_again(loop, classified) if event.serving else []
                if again and name not in self.controller.last_requests:  # the image is its request
                    event = replace(event, error=None)
                self.post_message(DevReloaded(name, summary(event, previous) + again, event.status))
                previous = event.result or previous
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), "watch failed", "error"))
            self._dev = None

    def _classify_again(self, loop, classified: dict) -> list[str]:
        """When the Classify pane last classified with the watched model (or an ensemble using it): that
        image again, the new top-k beside the previous one."""
        from triton_console.tui.core.server.devloop import classified_lines, reclassify

        last = self.controller.last_classified
        if last is None or last[0] not in (loop.model, *loop.users):
            return []
        model, image, scaling = last
        try:
            now = reclassify(self.controller.client, model, image, scaling)
        except ConsoleError as exc:
            if server_gone(exc):
                raise
            return classified_lines(model, image, None, None, exc.message)
        was = classified.get((model, image))
        classified[(model, image)] = now
        return classified_lines(model, image, now, was, columns=self._detail_columns)

    def on_dev_reloaded(self, msg: DevReloaded) -> None:
        if self._dev is None or self._dev.model != msg.model:
            return
        self._dev_lines = msg.lines
        failed = msg.status == "failed"
        self.post_message(
            Notice(msg.lines[0], "reload failed" if failed else "", "error" if failed else "information")
        )
        if self._selected == msg.model:
            self._fetch_detail(msg.model)

    def on_unmount(self) -> None:
        if self._dev is not None:
            self._dev.stop.set()

    def action_log(self) -> None:
        """The selected model's lines of the managed server's log, live and filterable."""
        from triton_console.tui.panes.modellog import ModelLogScreen

        if not self._selected:
            self.app.notify("select a model first", severity="warning")
            return
        self.app.push_screen(ModelLogScreen(self.controller, self._selected, set(self._entries)))

    def action_try(self) -> None:
        """A form for the selected model's inputs, Run, the outputs, and the call behind it."""
        from triton_console.tui.panes.trymodel import TryScreen

        if not self._selected:
            self.app.notify("select a model first", severity="warning")
            return
        self.app.push_screen(TryScreen(self.controller, self._selected, os.getcwd()))

    def action_probe(self) -> None:
        """One small request to the selected model: does it answer, and how fast (Triton's READY cannot tell
        a model whose stub died)."""
        name = self._selected
        if not name:
            self.app.notify("select a model first", severity="warning")
            return
        self.app.notify(f"probing {name}…")
        self._probe(name)

    @work(thread=True, group="probe")
    def _probe(self, name: str) -> None:
        from triton_console.tui.core.request.probe import probe

        try:
            result = probe(self.controller.client, name)
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), "probe failed", "error"))
            return
        hint = " (l reloads it)" if result.unhealthy else ""
        when = time.strftime("%H:%M:%S")
        # the detail is titled with the model: its name again wrapped alone at 80 columns, its ":" below it
        self._probes[name] = f"{when} {result.outcome()}{hint}"
        line = f"{when} {result.line()}{hint}"
        self.post_message(Notice(line, "probe", "information" if result.ok else "error"))
        self.post_message(PollRequested([name]))

    def action_edit(self) -> None:
        """The selected model's config in an editor: apply as an override, write to its file, revert."""
        from triton_console.tui.panes.configedit import ConfigEditScreen

        if not self._selected:
            self.app.notify("select a model first", severity="warning")
            return
        name = self._selected

        def closed(state: str | None) -> None:
            if state:
                self.app.notify(f"{name}: {state}")
                self.post_message(PollRequested([name]))

        self.app.push_screen(ConfigEditScreen(self.controller, name), closed)

    def action_refresh(self) -> None:
        self.post_message(PollRequested())
        if self._selected:
            self._fetch_detail(self._selected)

    def action_load(self) -> None:
        self._load_unload("load")

    def action_unload(self) -> None:
        """Ask first (others may be using the model on a shared server); u again unloads."""
        name = self._selected
        if name and self._unload_asked == name:
            self.action_unload_answer(True)
        elif name:
            self._ask_unload(name)
        else:
            self._load_unload("unload")  # says: select a model first

    def action_unload_answer(self, unload: bool) -> None:
        name, asked = self._selected, self._unload_asked
        self._ask_unload(None)
        if unload and name and name == asked:
            self._load_unload("unload")

    def _ask_unload(self, name: str | None) -> None:
        """Show (or take back) the question in the note line; y and n work while it is asked."""
        if name == self._unload_asked:
            return
        self._unload_asked = name
        self._show_note()
        self.refresh_bindings()

    def _load_unload(self, what: str) -> None:
        name = self._selected
        if not name:
            self.app.notify("select a model first", severity="warning")
            return
        self.app.notify(f"{what}ing {name}…")
        self._do_load_unload(what, name, sample_image(self.app)[0])

    @work(thread=True, group="load-unload")
    def _do_load_unload(self, what: str, name: str, image: str | None = None) -> None:
        client = self.controller.client
        entry = self._entries.get(name)
        reload = what == "load" and entry is not None and entry.state == "READY"
        from triton_console.tui.core.client import modelcontrol

        touched = [name]
        # the server's repository on this machine, where it is one: it says which models are ensembles
        try:
            repository = deploy.for_console(self.controller, name).repository
        except ConsoleError:  # a name no load takes: the load or unload says so
            repository = None
        try:
            # GPU memory before the load (after the unload of a reload), and after it: the footprint
            gpu = memory.AroundLoad(client, is_loopback(client.endpoint.host)) if what == "load" else None
            with self._lu_lock:
                # a plain load of an unchanged, loaded model does nothing: restart it (its ensembles too)
                if reload:
                    outcome = modelcontrol.reload(client, [name], gpu.unloaded, repository)[0]
                elif what == "unload":
                    outcome = modelcontrol.unload(client, [name], repository)[0]
                else:
                    outcome = modelcontrol.load(client, [name])[0]
            touched += outcome.also or []
            if what != "unload":  # the load's own answer: the index keeps saying "unloaded" after a failure
                if outcome.ok:
                    self.controller.load_failures.pop(name, None)
                else:
                    self.controller.load_failures[name] = modelcontrol.load_reason(outcome.error or "?")
            if outcome.ok:
                cold = ""
                if gpu is not None:  # the first request after the load against the warm ones; memory
                    gpu.loaded()
                    self._cold[name] = coldstart.measure(client, name, image=image).describe()
                    cold = f"; {self._cold[name]}"
                    self._memory[name] = self._memory_text(name, gpu)
                self.post_message(Notice(outcome.line() + cold))
            else:
                self.post_message(Notice(for_code(outcome.line(), outcome.code), f"{what} failed", "error"))
        except ConsoleError as exc:  # the server is gone
            self.post_message(Notice(worded(exc), f"{what} failed", "error"))
        self.post_message(PollRequested(touched))

    def on_poll_requested(self, msg: PollRequested) -> None:
        """On its way up to the app: a model of ours was (un)loaded, so its detail may have changed."""
        if self._selected in msg.models:
            self._fetch_detail(self._selected)
