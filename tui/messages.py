"""Typed messages: core results travel worker -> app -> widgets, one way."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from .core.client import Classification
from .core.stats import Breakdown, ModelMetrics


@dataclass
class ServerSnapshot:
    """What one poll of the server found."""

    url: str
    live: bool = False
    ready: bool = False
    version: str | None = None
    error: str | None = None
    managed: bool = False
    pid: int | None = None
    uptime_s: float = 0.0
    model_control: str | None = None  # known for a managed server only
    ports: str = ""
    models: list[dict] = field(default_factory=list)
    ensembles: list[str] = field(default_factory=list)  # ready image ensembles, for the Classify pane


class ServerPolled(Message):
    def __init__(self, snapshot: ServerSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class MetricsPolled(Message):
    def __init__(self, metrics: dict[str, ModelMetrics], source: str) -> None:
        super().__init__()
        self.metrics = metrics
        self.source = source


class ServerLog(Message):
    """A batch of new server log lines (batched so a chatty server never floods the loop)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class ClassifyResult(Message):
    def __init__(
        self,
        path: str,
        result: Classification | None,
        error: str | None,
        breakdown: Breakdown | None = None,
        preview=None,
    ) -> None:
        super().__init__()
        self.path = path
        self.result = result
        self.error = error
        self.breakdown = breakdown
        self.preview = preview


class BuildStep(Message):
    def __init__(self, step: str, state: str, detail: str) -> None:
        super().__init__()
        self.step = step
        self.state = state
        self.detail = detail


class BuildLog(Message):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class BuildFraction(Message):
    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction


class BuildFinished(Message):
    def __init__(self, report: dict | None, error: str | None) -> None:
        super().__init__()
        self.report = report
        self.error = error
