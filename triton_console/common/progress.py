"""A small, UI-free way for long steps to report progress and notice cancellation.

The CLI prints what it gets; the console's Build pane posts it to widgets from a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from triton_console.common.errors import Cancelled


def _ignore(*_args) -> None:
    return None


@dataclass
class Progress:
    """Callbacks for a step: ``log`` lines, ``fraction`` in [0, 1], and a cancel flag to poll."""

    log: Callable[[str], None] = _ignore
    fraction: Callable[[float], None] = _ignore
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def check(self, what: str = "build") -> None:
        """Raise :class:`Cancelled` if the caller asked to stop."""
        if self.cancel_event.is_set():
            raise Cancelled(what)

    def cancel(self) -> None:
        self.cancel_event.set()
