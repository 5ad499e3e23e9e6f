"""Classify pane: pick images, choose a ready ensemble, see preview, top-k, latency and the server breakdown."""

from __future__ import annotations

import math
import os
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, DirectoryTree, Input, Select, Sparkline, Static

from ..core.client import preferred_model
from ..core.errors import ConsoleError
from ..core.images import IMAGE_SUFFIXES
from ..core.stats import percentile
from ..messages import ClassifyResult
from ..widgets.preview import ImagePreview
from ..widgets.topk import TopKView


class ImageTree(DirectoryTree):
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


class ClassifyPane(Horizontal):
    BINDINGS = [
        Binding("o", "pick", "Pick file", id="classify.pick"),
        Binding("p", "path", "Path", id="classify.path"),
        Binding("r", "rerun", "Re-run", id="classify.rerun"),
        Binding("a", "all", "Classify folder", id="classify.folder"),
    ]

    DEFAULT_CSS = """
    ClassifyPane #picker { width: 22; }
    ClassifyPane ImageTree { height: 1fr; overflow-x: hidden; }
    ClassifyPane #path { margin-top: 1; }
    ClassifyPane #right { width: 1fr; }
    ClassifyPane #model { margin: 0 1; }
    ClassifyPane #top { height: auto; max-height: 12; }
    ClassifyPane ImagePreview { width: 22; height: 11; }
    ClassifyPane TopKView { width: 1fr; padding: 0 0 0 1; }
    ClassifyPane #latency { height: 1; padding: 0 1; }
    ClassifyPane Sparkline { height: 2; margin: 0 1; }
    ClassifyPane #breakdown { height: 1fr; min-height: 3; }
    """

    def __init__(self, start_dir: str | None = None, **kw) -> None:
        super().__init__(**kw)
        self.start_dir = start_dir or os.getcwd()
        self.latencies: list[float] = []
        self.last_paths: list[str] = []
        self.pending: list[str] = []
        self._models: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield ImageTree(self.start_dir, id="tree")
            yield Input(placeholder="image/folder path ⏎", id="path", compact=True)
        with Vertical(id="right"):
            yield Select([], prompt="no ready image model", id="model", compact=True)
            with Horizontal(id="top"):
                yield ImagePreview(id="preview")
                yield TopKView(id="topk")
            yield Static("latency: -", id="latency")
            yield Sparkline([], id="spark", summary_function=max)
            table = DataTable(id="breakdown", cursor_type="row", zebra_stripes=True)
            table.add_column("image", key="image", width=14)
            table.add_column("top-1", key="top1", width=18)
            table.add_column("ms", key="ms", width=6)
            table.add_column("pre/net/post/rest ms", key="steps")
            yield table

    def on_mount(self) -> None:
        self.query_one("#topk", TopKView).show(None)

    def focus_default(self) -> None:
        self.query_one("#tree").focus()

    # -- models
    def set_models(self, models: list[str]) -> None:
        if models == self._models:
            return
        self._models = models
        select = self.query_one("#model", Select)
        current = select.value
        select.set_options([(m, m) for m in models])
        if models:
            select.value = current if current in models else preferred_model(models)
            if self.pending:
                paths, self.pending = self.pending, []
                self.classify(paths)

    @property
    def model(self) -> str | None:
        value = self.query_one("#model", Select).value
        return value if isinstance(value, str) else None

    # -- picking
    def action_pick(self) -> None:
        self.query_one("#tree").focus()

    def action_path(self) -> None:
        self.query_one("#path", Input).focus()

    def action_rerun(self) -> None:
        if self.last_paths:
            self.classify(self.last_paths)
        else:
            self.app.notify("nothing classified yet: pick an image (o) or type a path (p)")

    def action_all(self) -> None:
        node = self.query_one("#tree", ImageTree).cursor_node
        if node is not None and node.data is not None:
            path = Path(node.data.path)
            self.classify([str(path if path.is_dir() else path.parent)])

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.classify([str(event.path)])

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.classify([os.path.expanduser(text)])

    def classify(self, paths: list[str]) -> None:
        """Classify now, or as soon as a model is ready."""
        if self.model is None:
            self.pending = list(paths)
            self.app.notify("no ready image model yet: will classify when one is ready", severity="warning")
            return
        self.last_paths = list(paths)
        self._run(self.model, list(paths), self.app.preview_size())

    @work(thread=True, exclusive=True, group="classify")
    def _run(self, model: str, paths: list[str], preview_size: tuple[int, int]) -> None:
        from ..core.bench import classify_files
        from ..core.preprocessing import ImageError, thumbnail

        try:
            for item in classify_files(self.app.client, model, paths, k=5, with_breakdown=True):
                pixels = None
                if item.result is not None and item.data is not None:
                    try:  # the bytes already read and sent: the file is not read twice
                        pixels = thumbnail(item.data, *preview_size)
                    except ImageError:
                        pixels = None
                    if pixels is not None and pixels.shape[0] % 2:
                        pixels = pixels[:-1]
                self.post_message(ClassifyResult(item.path, item.result, item.error, item.breakdown, pixels))
        except ConsoleError as exc:
            self.app.call_from_thread(self.app.notify, exc.message, title="Classify failed", severity="error")

    # -- rendering
    def on_classify_result(self, msg: ClassifyResult) -> None:
        name = os.path.basename(msg.path) or msg.path
        preview = self.query_one("#preview", ImagePreview)
        topk = self.query_one("#topk", TopKView)
        table = self.query_one("#breakdown", DataTable)
        if msg.error:
            preview.clear("no preview")
            topk.show(None, msg.error)
            row = (name[:14], f"[red]{msg.error[:80]}[/]", "-", "")
        else:
            r = msg.result
            preview.show(msg.preview)
            title = f"{name}  [yellow]⚠ untrained weights: meaningless[/]" if r.untrained else name
            topk.show(r, title=title)
            self.latencies.append(r.latency_ms)
            self._show_latency(r.latency_ms)
            best = r.top[0]
            steps = ""
            if msg.breakdown and msg.breakdown.steps:
                parts = [s.queue_ms + s.compute_ms for s in msg.breakdown.steps]
                other = r.latency_ms - sum(parts)
                steps = "/".join(f"{p:.1f}" for p in parts) + f"/{other:.1f}"
            label = best.label or str(best.index)
            row = (
                name[:14],
                f"{label} {best.score:.2f}"[-18:] if len(label) > 13 else f"{label} {best.score:.2f}",
                f"{r.latency_ms:.1f}",
                steps,
            )
        key = msg.path
        if key in table.rows:
            for col, value in zip(("image", "top1", "ms", "steps"), row, strict=True):
                table.update_cell(key, col, value)
        else:
            table.add_row(*row, key=key)
        table.move_cursor(row=table.get_row_index(key))

    def _show_latency(self, last: float) -> None:
        xs = self.latencies
        p50, p95 = percentile(xs, 50), percentile(xs, 95)
        self.query_one("#latency", Static).update(
            Text.from_markup(
                f"last [b]{last:.1f} ms[/]  p50 {p50:.1f}  p95 {p95:.1f}  n={len(xs)}"
                if not math.isnan(p50)
                else "latency: -"
            )
        )
        self.query_one("#spark", Sparkline).data = xs[-120:]
