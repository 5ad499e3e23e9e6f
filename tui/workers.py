"""The console's workers: Textual's ``work``, except that an exception nobody foresaw ends the worker, not the
console. Textual's default exits the app with a traceback on the terminal (a non-HTTP answer to the Server
pane's readiness probe did so in CI): a user in the middle of a session loses it over one failed action.
Here the failure becomes one error notice naming the action and the exception, and the traceback goes to a
file in the console's state folder for the bug report. The tests set ``TRITON_CONSOLE_STRICT_WORKERS`` so
that such a failure still fails them loudly."""

from __future__ import annotations

import functools
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work as textual_work

STRICT = "TRITON_CONSOLE_STRICT_WORKERS"


def errors_file() -> Path:
    from triton_console.common import paths

    return paths.state_dir() / "errors.log"


def record(what: str, exc: BaseException) -> Path | None:
    """Append the traceback to the errors file; None when it cannot be written (the notice still shows)."""
    path = errors_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n")
            f.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return path


def report(node: Any, what: str, exc: BaseException) -> None:
    """One error notice for ``exc`` from ``node``'s worker (posted: safe from the worker's thread)."""
    from triton_console.tui.messages import Notice

    path = record(what, exc)
    where = f" (traceback in {path})" if path else ""
    text = f"{what} failed unexpectedly: {type(exc).__name__}: {exc}{where}"
    node.post_message(Notice(text, "Internal error", "error"))


def work(*, group: str = "default", exclusive: bool = False, thread: bool = True, **kwargs: Any):
    """``textual.work`` for the console's thread workers, with the failure turned into a notice."""

    def decorate(fn: Callable[..., Any]):
        what = fn.__name__.strip("_").replace("_", " ")

        @functools.wraps(fn)
        def guarded(self, *args: Any, **kw: Any) -> Any:
            try:
                return fn(self, *args, **kw)
            except Exception as exc:
                if os.environ.get(STRICT):
                    raise
                report(self, what, exc)
                return None

        return textual_work(guarded, group=group, exclusive=exclusive, thread=thread, **kwargs)

    return decorate
