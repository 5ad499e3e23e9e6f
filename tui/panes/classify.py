"""Classify pane: pick images, choose any ready image classifier, see preview, top-k, latency and breakdown."""

from __future__ import annotations

import math
import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DirectoryTree, Input, Select, Sparkline, Static

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.classify.classifier import SCALINGS, ImagePath, stand_in
from triton_console.tui.core.classify.images import IMAGE_SUFFIXES
from triton_console.tui.core.client.stats import percentile
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.hints import for_code, worded
from triton_console.tui.messages import ClassifyResult, Notice
from triton_console.tui.text import cell, join, plain
from triton_console.tui.text import name as short_name
from triton_console.tui.widgets.filetree import FileTree
from triton_console.tui.widgets.nameselect import NameSelect
from triton_console.tui.widgets.preview import ImagePreview
from triton_console.tui.widgets.rowlist import Column, RowList
from triton_console.tui.widgets.textbox import TextBox
from triton_console.tui.widgets.topk import TopKView
from triton_console.tui.workers import work

WAITING = "no ready image model yet: will classify when one is ready"
HELD = "the images wait for the console's own server (starting)"


class ImageTree(FileTree):
    """A directory tree showing folders and image files only."""

    def filter_paths(self, paths):
        out = []
        for p in paths:
            try:
                if p.name.startswith("."):
                    continue
                if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES:
                    out.append(p)
            except OSError:
                continue
        return out

    def render_label(self, node, base_style, style) -> Text:
        """Names cut with an ellipsis to the width left after the guides (they were cut mid-name, no sign)."""
        label = super().render_label(node, base_style, style)
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = self.scrollable_content_region.width - depth * self.guide_depth
        if self.is_mounted and 0 < room < label.cell_len:
            label.truncate(room, overflow="ellipsis")
        return label


def step_figures(parts: list[float | None], latency_ms: float) -> str:
    """The steps' times then the rest of the latency, ``pre/net/post/rest``. The rest is never below 0: the
    steps are timed apart from the whole (the server's queue and compute overlap the client's clock). A step
    the statistics never counted is ``?``, and so is the rest then (it would hold that step's time)."""
    known = [p for p in parts if p is not None]
    rest = max(0.0, latency_ms - sum(known)) if len(known) == len(parts) else None
    return "/".join("?" if p is None else f"{p:.1f}" for p in [*parts, rest])


def model_tags(models: list[str]) -> dict[str, str]:
    """Each model's tag in the history's model column: what tells it from the others there. The words
    (``_``-separated) that every model's name starts or ends with are left out, so
    ``ensemble_python_efficientnet_lite0`` and ``fused_python_efficientnet_lite0`` read ``ensemble`` and
    ``fused``; one model alone, or names with nothing in common, keep their whole names."""
    if len(models) < 2:
        return {m: m for m in models}
    words = [m.split("_") for m in models]
    shortest = min(len(w) for w in words)
    head = 0
    while head < shortest and len({w[head] for w in words}) == 1:
        head += 1
    tail = 0
    while tail < shortest - head and len({w[len(w) - 1 - tail] for w in words}) == 1:
        tail += 1
    tags = {m: "_".join(w[head : len(w) - tail]) for m, w in zip(models, words, strict=True)}
    return tags if all(tags.values()) and len(set(tags.values())) == len(models) else {m: m for m in models}


def history_row(msg: ClassifyResult, tag: str = "") -> tuple[Text, ...]:
    """One row of the history table: long labels and errors are cut on the right, with an ellipsis; the
    model's tag (:func:`model_tags`) cut in the middle."""
    name = os.path.basename(msg.path) or msg.path
    if msg.error:
        return cell(name), cell(msg.error, "red"), cell("-"), cell(""), short_name(tag)
    r = msg.result
    best = r.top[0] if r.top else None
    # the score first: a label cut on the right keeps it (the label's end went, and the score with it)
    label = f"{best.score:.2f} {best.label or best.index}" if best else "no classes"
    steps = ""
    if msg.breakdown and msg.breakdown.steps:
        steps = step_figures(msg.breakdown.step_ms(), r.latency_ms)
    elif r.timings:  # a fused model's own steps: decode/backbone/softmax, then the rest of the latency
        steps = step_figures([ms for name, ms in r.timings if name != "batch"], r.latency_ms)
    return cell(name), cell(label), cell(f"{r.latency_ms:.1f}"), cell(steps), short_name(tag)


def row_model(msg: ClassifyResult) -> str:
    """The model that answered (or failed) a row's request."""
    return msg.result.model if msg.result is not None else msg.model or ""


def row_detail(msg: ClassifyResult) -> Text:
    """The whole of the highlighted row in two lines, each cut on the right (``.result``): the image, its
    label and the model that answered; then problems with the answer, the model's own account of its steps
    and how the image was sent. An error as a whole, wrapped. (The detail wrapped to three lines under the
    history, where its last line sat beside the path box and read as typed there.)"""
    if msg.error:
        return join(plain(msg.path), ": ", plain(msg.error, "red", limit=2000))
    r = msg.result
    best = r.top[0] if r.top else None
    head = join(
        plain(f"{os.path.basename(msg.path) or msg.path}: "),
        plain(f"{best.label or best.index} ({best.score:.4f})", "bold") if best else plain("no classes"),
        plain(f" · {r.model}"),
    )
    how = [plain(p, "yellow") for p in r.problems[:2]]
    if r.timings:  # the fused model's own account of where the time went
        steps = dict(r.timings)
        spent = " + ".join(f"{k} {v:.1f}" for k, v in r.timings if k != "batch")
        how.append(plain(f"{spent} ms, batch {steps.get('batch', 1):.0f}", "dim"))
    # how this row's image was sent (the route line shows only the model chosen now); scores only when
    # computed here (softmax): the model's own are the rule
    how.append(plain(f"via {r.path}" + (f"; scores: {r.scores}" if r.scores != "model" else ""), "dim"))
    return join(head, "\n", Text(" · ").join(how))


NO_MODEL = "no ready image model"
MODEL_CELLS = 10  # the model column at most (a longer tag is cut in the middle)
STEPS_TITLE = "pre/net/post/rest"  # ms, as the ms column: the steps' times then the rest of the latency
TOP1_LEAST = len("0.74 station wagon")  # the top-1 column's score and a common ImageNet label, whole
HISTORY = (  # the figures keep their width; the names share what is left
    Column("image", "image", weight=2),
    Column("top1", "top-1", weight=3, least=TOP1_LEAST),
    Column("ms", "ms", 5),
    # fitted to its title from the start: "pre/ne…" before the first result. Where the labels would be cut
    # (80 columns with the model column: "0.74 sport…"), it goes first: the detail above the history gives
    # the highlighted row's steps
    Column("steps", STEPS_TITLE, drop=1),
    # the model's tag, shown once the history holds two models: ensemble and fused rows side by side (each
    # row must say which model answered it); where even without the steps the labels would be cut, it goes
    # too, and the detail names the highlighted row's model
    Column("model", "model", drop=2),
)


class ClassifyPane(Horizontal):
    BINDINGS = [
        Binding("o", "pick", "Open", id="classify.pick"),
        Binding("p", "path", "Path", id="classify.path"),
        Binding("r", "rerun", "Re-run", id="classify.rerun"),
        Binding("a", "all", "Folder", id="classify.folder"),  # short: "? Help  q Quit" fit at 80 columns
        Binding("t", "trace", "Trace", id="classify.trace"),
        Binding("backspace", "parent", "Up", id="classify.parent"),
    ]

    DEFAULT_CSS = """
    ClassifyPane #picker { width: 22; }
    ClassifyPane ImageTree { height: 1fr; overflow-x: hidden; }
    ClassifyPane #path { margin-top: 1; }
    ClassifyPane #right { width: 1fr; }
    ClassifyPane #choose { height: 1; margin: 0 1; }
    ClassifyPane #model { width: 1fr; }
    ClassifyPane #scaling { width: 16; margin-left: 1; display: none; }
    ClassifyPane #scaling.shown { display: block; }
    ClassifyPane #route { height: 1; padding: 0 1; color: $text-muted; }
    ClassifyPane #top { height: auto; max-height: 9; }
    ClassifyPane ImagePreview { width: 20; height: 9; }
    ClassifyPane TopKView { width: 1fr; padding: 0 0 0 1; }
    ClassifyPane #latency { height: 1; padding: 0 1; }
    ClassifyPane Sparkline { height: 1; margin: 0 1; }
    ClassifyPane #breakdown { height: 1fr; min-height: 3; margin: 0 0 0 1; }
    ClassifyPane #row-detail { height: 2; padding: 0 1; }
    ClassifyPane #row-detail.result { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, controller: ServerController, start_dir: str | None = None, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self.start_dir = start_dir or os.getcwd()
        self.latencies: dict[str, list[float]] = {}  # per model: one model's p50 never mixes in another's
        # the last input that classified (some image of it): what Bench's and Tune's ``auto`` send, the Try
        # form's and the config editor's image; a failed request (a text file) never becomes it
        self.last_paths: list[str] = []
        self.asked: list[str] = []  # the last request, failed or not: what r runs again
        self._good: dict[str, None] = {}  # of the last request: the files that classified, in order
        self._bad = 0  # of the last request: the files that failed
        self.shown: str | None = None  # the image whose result (or error) the top-k shows
        self.pending: list[str] = []
        self.routes: dict[str, ImagePath] = {}
        self.results: dict[str, ClassifyResult] = {}
        self._steps_width = len(STEPS_TITLE)
        self._tags: dict[str, str] = {}  # each model of the history: its tag in the model column
        self._request: list[str] = []
        self._sent_model: str | None = None  # the model of the last request sent
        self._shown_model: str | None = None  # the model whose result (or error) the top-k shows
        # the model chosen (by the user, else the first one offered): when it leaves the ready list another
        # stands in, and it is chosen again when it comes back (an ensemble down for a while)
        self._wanted: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield ImageTree(self.start_dir, id="tree")
            yield TextBox(placeholder="image/folder path ⏎", id="path", compact=True, enter="Classify")
        with Vertical(id="right"):
            with Horizontal(id="choose"):
                yield NameSelect([], prompt=NO_MODEL, id="model", compact=True)
                yield Select([(s, s) for s in SCALINGS], prompt="scaling", id="scaling", compact=True)
            yield Static("", id="route")
            with Horizontal(id="top"):
                yield ImagePreview(id="preview")
                yield TopKView(id="topk")
            yield Static("latency: -", id="latency")
            yield Sparkline([], id="spark", summary_function=max)
            # above the history, not under it: its last line sat beside the path box and read as typed there
            yield Static("", id="row-detail")
            yield RowList(HISTORY, self._history_row, id="breakdown")

    def on_mount(self) -> None:
        self.query_one("#topk", TopKView).show(None)
        table = self.query_one("#breakdown", RowList)
        table.fit("steps", self._steps_width)
        table.show_column("model", False)  # until two models answered

    def _history_row(self, key: str) -> tuple[Text, ...]:
        msg = self.results[key]
        return history_row(msg, self._tags.get(row_model(msg), ""))

    def focus_default(self) -> None:
        self.query_one("#tree").focus()

    @property
    def folder(self) -> str:
        """The folder the tree shows (the Bench pane's images when nothing else was given)."""
        return str(self.query_one("#tree", ImageTree).path)

    # -- models
    def show_snapshot(self, snap: ServerSnapshot) -> None:
        if not snap.live and self.routes:
            self.set_models({})

    def set_models(self, routes: dict[str, ImagePath]) -> None:
        """Every ready model that can classify images, with the path each one takes."""
        if routes.keys() == self.routes.keys() and routes == self.routes:
            return
        self.routes = dict(routes)
        select = self.query_one("#model", Select)
        current = select.value
        names = sorted(routes)
        # the prompt is the open list's first line: "no ready image model" above 3 ready ones read wrong
        select.prompt = "image model" if names else NO_MODEL
        # Values set here are no user's choice: their Changed events are not sent at all (Textual's way to
        # keep one's own changes quiet). Matching each event to a list of values set here leaked an entry
        # whenever two changes came as one event, and the user's later pick of that value was then ignored.
        # set_names, with no blank entry, also picks the first name on its own.
        with self.prevent(Select.Changed):
            # the blank entry is no choice once models are ready (it read "no ready image model yet" picked)
            select.set_names(names)
            if names:
                if self._wanted in names:
                    choice = self._wanted
                else:
                    choice = current if current in names else stand_in(routes)
                    if self._wanted is None:
                        self._wanted = choice
                    elif current == self._wanted:  # the chosen one went away: say who stands in
                        self.app.notify(
                            f"{self._wanted} is not ready: classifying with {choice} until it is back"
                        )
                select.value = choice
        if names and self.pending:
            paths, self.pending = self.pending, []
            # the waiting notice stayed on screen over the results: it no longer holds (the others stay)
            self.app.withdraw(WAITING, HELD)
            self.classify(paths)
        if select.value != current:
            self._model_now()
        else:
            self._show_route()

    @property
    def model(self) -> str | None:
        value = self.query_one("#model", Select).value
        return value if isinstance(value, str) else None

    @property
    def scaling(self) -> str | None:
        value = self.query_one("#scaling", Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#model")
    def _model_changed(self, event: Select.Changed) -> None:
        """The user's pick (set_models sends no Changed): remembered, and what follows any change of model."""
        if isinstance(event.value, str):
            self._wanted = event.value
        self._model_now()

    def _model_now(self) -> None:
        """The model changed: the route, the new model's own latency figures, and the image on screen
        classified again by it (the old model's scores stayed under the new model's name)."""
        self._show_route()
        model = self.model
        if model is None:
            return
        self._show_latency(model)
        # a poll setting it again: nothing; nor when the last request sent already went to this model (a pick
        # and a new image in one go): its result replaces what is on screen, and sending the shown image again
        # cancelled that request's worker, which was lost when it had not started yet
        if self._shown_model is not None and model not in (self._shown_model, self._sent_model):
            self._reclassify_shown()

    @on(Select.Changed, "#scaling")
    def _scaling_changed(self) -> None:
        self._show_route()
        route = self.routes.get(self.model or "")
        if route is not None and route.kind == "tensor":
            self._reclassify_shown()

    def _reclassify_shown(self) -> None:
        """The image on screen, sent again with the model and scaling chosen now."""
        if self.shown is not None and self.model is not None:
            self._send(self.model, [self.shown], fresh=False)  # the request auto sends stays what it was

    def _show_route(self) -> None:
        route = self.routes.get(self.model or "")
        scaling = self.query_one("#scaling", Select)
        scaling.set_class(route is not None and route.kind == "tensor", "shown")
        text = Text("")
        if route is not None:
            if route.kind == "tensor" and self.scaling and self.scaling != route.scaling:
                from dataclasses import replace

                route = replace(route, scaling=self.scaling, scaling_from="chosen here")
            text = plain(route.describe())
        self.query_one("#route", Static).update(text)

    # -- picking
    def action_pick(self) -> None:
        """The file picker, wherever the focus is (o only moved the focus to the tree: with the tree focused
        it did nothing); the file picked is classified."""
        from triton_console.tui.panes.trymodel import FilePicker

        def picked(path: str | None) -> None:
            if path:
                self.classify([path])

        self.app.push_screen(FilePicker(self.folder), picked)

    def action_parent(self) -> None:
        """The tree starts where the console started (or at the images given): this climbs out of it."""
        tree = self.query_one("#tree", ImageTree)
        here = Path(tree.path).resolve()
        if here.parent != here:
            tree.path = here.parent
            tree.focus()

    def action_path(self) -> None:
        self.query_one("#path", Input).focus()

    def action_rerun(self) -> None:
        if self.asked:
            self.classify(self.asked)
        else:
            self.app.notify("nothing classified yet: pick an image (o) or type a path (p)")

    def _current(self) -> ClassifyResult | None:
        """The request on screen: the highlighted history row, else the last image classified."""
        table = self.query_one("#breakdown", RowList)
        key = table.cursor_key if table.row_count else None
        msg = self.results.get(key or "")
        if msg is None or msg.error:
            msg = next((m for m in reversed(self.results.values()) if not m.error), None)
        return msg

    def action_trace(self) -> None:
        """Trace the current image through the chosen model (as it was sent: the same route and scaling)."""
        from dataclasses import replace

        from triton_console.tui.panes.traceview import TraceScreen

        msg, model = self._current(), self.model
        route = self.routes.get(model or "")
        if msg is None or route is None:
            self.app.notify("classify an image first (o picks one): t traces it", severity="warning")
            return
        if route.kind == "tensor" and self.scaling and self.scaling != route.scaling:
            route = replace(route, scaling=self.scaling, scaling_from="chosen here")
        path = msg.path

        def plan(info):
            from triton_console.tui.core.classify.classifier import request
            from triton_console.tui.core.classify.preprocessing import ImageError
            from triton_console.tui.core.server.trace import plans_of

            try:
                data = Path(path).read_bytes()
                return plans_of(request(data, route)[0], path)
            except (OSError, ImageError) as exc:
                raise ConsoleError(f"{path}: {exc}") from None

        self.app.push_screen(TraceScreen(self.controller, model, plan, os.path.basename(path)))

    def action_all(self) -> None:
        """The folder under the cursor, or the one holding the file under it (named as the tree names it)."""
        node = self.query_one("#tree", ImageTree).cursor_node
        if node is None or node.data is None:
            return
        path = ImageTree.named(node)
        self.classify([str(path if path.is_dir() else path.parent)])

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.classify([str(ImageTree.named(event.node))])

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.focus_default()  # back to the tree: pane keys (q, digits) must not become typed text
        if text:
            path = os.path.expanduser(text)
            if os.path.isdir(path):  # the tree follows the folder given: a (Folder) then classifies it again
                self.query_one("#tree", ImageTree).path = Path(path)
            self.classify([path])

    def classify(self, paths: list[str]) -> None:
        """Classify now, or as soon as a model is ready."""
        if self.model is None:
            self.pending = list(paths)
            if self.controller.holding():
                self.app.notify(HELD)
            else:
                self.app.notify(WAITING, severity="warning")
            return
        self.asked = list(paths)
        self._send(self.model, paths)

    def _send(self, model: str, paths: list[str], fresh: bool = True) -> None:
        if fresh:
            self._request, self._good, self._bad = list(paths), {}, 0
        self._sent_model = model
        scaling = self.scaling if self.routes.get(model) and self.routes[model].kind == "tensor" else None
        self._run(model, list(paths), self.query_one(ImagePreview).cell_size(), scaling)

    def _count(self, msg: ClassifyResult) -> None:
        """A file of the current request classified or failed: ``last_paths`` follows the images that
        classify — the request as given while none failed, else only its files that did."""
        if msg.error:
            self._bad += 1
        else:
            self._good[msg.path] = None
        if self._good:
            self.last_paths = list(self._request) if not self._bad else list(self._good)

    @work(thread=True, exclusive=True, group="classify")
    def _run(self, model: str, paths: list[str], preview_size: tuple[int, int], scaling: str | None) -> None:
        from triton_console.tui.core.classify.files import classify_files
        from triton_console.tui.core.classify.images import expand
        from triton_console.tui.core.classify.preprocessing import ImageError, thumbnail

        # a folder (p, a) with no images is said, not listed as an image that failed; in a list of files
        # given together each keeps its own row, a folder among them too
        if len(paths) == 1 and os.path.isdir(paths[0]) and expand(paths) == paths:
            self.post_message(Notice(f"no images in {paths[0]}", "Classify", "warning"))
            return
        try:
            for item in classify_files(
                self.controller.client, model, paths, k=5, with_breakdown=True, scaling=scaling
            ):
                pixels = None
                if item.result is not None and item.data is not None:
                    try:  # the bytes already read and sent: the file is not read twice
                        pixels = thumbnail(item.data, *preview_size)
                    except ImageError:
                        pixels = None
                    if pixels is not None and pixels.shape[0] % 2:
                        pixels = pixels[:-1]
                error = for_code(item.error, item.code) if item.error else None
                self.post_message(
                    ClassifyResult(item.path, item.result, error, item.breakdown, pixels, model)
                )
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), "Classify failed", "error"))

    # -- rendering
    def on_classify_result(self, msg: ClassifyResult) -> None:
        name = os.path.basename(msg.path) or msg.path
        self._count(msg)
        self.shown = msg.path
        self._shown_model = msg.result.model if msg.result is not None else self._sent_model
        preview = self.query_one("#preview", ImagePreview)
        topk = self.query_one("#topk", TopKView)
        table = self.query_one("#breakdown", RowList)
        if msg.error:
            preview.clear("no preview")
            topk.show(None, msg.error)
        else:
            r = msg.result
            preview.show(msg.preview)
            title = (
                join(plain(name), ("  ⚠ untrained weights: meaningless", "yellow"))
                if r.untrained
                else plain(name)
            )
            topk.show(r, title=title)
            scaling = (
                self.scaling if self.routes.get(r.model) and self.routes[r.model].kind == "tensor" else None
            )
            self.controller.last_classified = (r.model, msg.path, scaling)
            self.latencies.setdefault(r.model, []).append(r.latency_ms)
            self._show_latency(r.model)
        key = msg.path
        # the latest run last: an image classified again moved its row in place, and the list read as in no
        # order at all (a newcomer's 9 runs: a middle row's 12.6 ms became 29.7)
        self.results.pop(key, None)
        self.results[key] = msg
        models = list(dict.fromkeys(m for r in self.results.values() if (m := row_model(r))))
        tags = model_tags(models)
        changed = [key] if tags == self._tags else list(self.results)  # a new model: the others' tags too
        self._tags = tags
        table.show_column("model", len(tags) > 1)
        table.fit("model", min(MODEL_CELLS, max((len(t) for t in tags.values()), default=0)))
        table.set_keys(list(self.results), changed=changed)
        steps = table.get_cell(key, "steps").cell_len
        if steps > self._steps_width:  # the figures whole: the column grows to the longest
            self._steps_width = steps
            table.fit("steps", steps)
        table.move_cursor(row=table.get_row_index(key))
        self._show_detail(msg)

    def _show_detail(self, msg: ClassifyResult) -> None:
        detail = self.query_one("#row-detail", Static)
        detail.set_class(not msg.error, "result")
        detail.update(row_detail(msg))

    @on(RowList.Highlighted, "#breakdown")
    def _row_highlighted(self, event: RowList.Highlighted) -> None:
        msg = self.results.get(event.key or "")
        if msg is not None:
            self._show_detail(msg)

    def _show_latency(self, model: str) -> None:
        """The latency figures of ``model`` alone (shown when it is the chosen one): the p50 of two models
        with 10x apart latencies described neither."""
        if model != self.model:
            return
        xs = self.latencies.get(model, [])
        p50, p95 = percentile(xs, 50), percentile(xs, 95)
        self.query_one("#latency", Static).update(
            join(("last ", ""), (f"{xs[-1]:.1f} ms", "bold"), f"  p50 {p50:.1f}  p95 {p95:.1f}  n={len(xs)}")
            if xs and not math.isnan(p50)
            else Text("latency: -")
        )
        self.query_one("#spark", Sparkline).data = xs[-120:]
