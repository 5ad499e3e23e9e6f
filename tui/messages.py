"""Typed messages: the only way results reach the screen (worker → app → pane), and requests go up.

Dataclasses, as toolong's: workers post them from their threads, Textual delivers them on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from triton_console.tui.core.classify.classifier import Classification, ImagePath
from triton_console.tui.core.client.stats import Breakdown
from triton_console.tui.core.request.ensemble import Drawing
from triton_console.tui.core.server.controller import ServerSnapshot

# ---------------------------------------------------------------------------------------- from workers


@dataclass
class ServerPolled(Message):
    snapshot: ServerSnapshot


@dataclass
class ImageModelsFound(Message):
    """Ready models that can classify images, and how (recomputed when the set of ready models changes)."""

    url: str
    models: dict[str, ImagePath]


@dataclass
class MetricsPolled(Message):
    """One poll of the Metrics pane (None: the first poll, which only sets the base for rates)."""

    url: str
    point: object  # core.metrics.Point | None
    error: str | None = None


@dataclass
class ServerLog(Message):
    """A batch of new server log lines (batched so a chatty server never floods the loop)."""

    lines: list[str]


@dataclass
class LogFiltered(Message):
    pattern: str
    lines: list[str]
    total: int


@dataclass
class Notice(Message):
    """Something a worker wants the user to read (shown as a notification, as plain text)."""

    text: str
    title: str = ""
    severity: str = "information"


@dataclass
class ServerStarted(Message):
    url: str
    note: str = ""  # the ports it found taken and what it uses instead ("" none)


@dataclass
class ServerStopped(Message):
    code: int | None


@dataclass
class ModelDetail(Message):
    name: str
    parts: list[tuple[str, str | Drawing]]  # (title, body); a Drawing is laid out for the detail's width


@dataclass
class DevReloaded(Message):
    """Watch mode of the Models pane: a model was reloaded on save (or first asked), and its new result."""

    model: str
    lines: list[str]  # devloop.summary: the outcome, then each output beside its previous values
    status: str  # "ok" | "failed"


@dataclass
class ClassifyResult(Message):
    path: str
    result: Classification | None
    error: str | None
    breakdown: Breakdown | None = None
    preview: object = None  # RGB uint8 array for the half-block preview
    model: str | None = None  # the model it was sent to (an error has no result to name it)


@dataclass
class BuildStep(Message):
    step: str
    state: str
    detail: str


@dataclass
class BuildLog(Message):
    line: str


@dataclass
class BuildFraction(Message):
    fraction: float


@dataclass
class BuildFinished(Message):
    report: dict | None
    error: str | None
    cancelled: bool = False  # the user's x: not a failure (the step rows say which step it stopped)


# ---------------------------------------------------------------------------------------- from panes


@dataclass
class ConnectRequested(Message):
    url: str
    protocol: str | None  # None: from the URL's scheme (gRPC without one)


@dataclass
class ServerAction(Message):
    """start | stop | restart the managed server."""

    action: str


@dataclass
class PollRequested(Message):
    """Poll the server now (after a load/unload, or on r)."""

    models: list[str] = field(default_factory=list)  # forget cached metadata of these first
