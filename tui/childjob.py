"""A child ``triton-console … --progress`` process read as JSON lines, for the panes that run their load in a
process of its own (Bench, Tune): a saturating load in the console's process would take the GIL from the event
loop. One place for starting it in its own session, reading its events, signalling it and collecting how it
ended; each pane turns the events into its own messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

STDERR_LINES = 200  # what is kept of the child's stderr (its last line is the error shown)


def files_argv(paths: list[str]) -> tuple[list[str], str | None]:
    """Image paths for a child console command: ``--files-from -`` with the list on its stdin, not one
    argument each (a folder's thousands of files overran argv's length limit, and every user of the machine
    can read argv). A path with a newline in it, which a list of lines cannot hold, stays an argument."""
    listed = [p for p in paths if "\n" not in p]
    odd = [p for p in paths if "\n" in p]
    if not listed:
        return odd, None
    return ["--files-from", "-", *odd], "".join(p + "\n" for p in listed)


@dataclass(frozen=True)
class Ended:
    code: int
    stderr: str

    def last_line(self, default: str) -> str:
        """The child's last stderr line (a console command's one-line error), or ``default``."""
        return (self.stderr.strip().splitlines() or [default])[-1]


class ChildJob:
    """Started at once (raises OSError when the command cannot start); ``events()`` yields each stdout line
    that is a JSON object, in order, until the child closes its stdout; ``wait()`` then says how it ended."""

    def __init__(self, argv: list[str], env: dict | None = None, stdin: str | None = None) -> None:
        """``stdin``: text the child reads on its standard input (a list of files too long for argv)."""
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: a signal reaches its children too
        )
        if stdin is not None:  # written beside it: a pipe holds 64 KiB, the child reads when it gets there
            threading.Thread(target=self._feed, args=(stdin,), daemon=True, name="childjob-stdin").start()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        # drained while stdout is read: a chatty stderr must not fill its pipe and stall the child
        self._drain = threading.Thread(target=self._read_stderr, daemon=True, name="childjob-stderr")
        self._drain.start()

    def _feed(self, text: str) -> None:
        with contextlib.suppress(OSError):  # a child that ended without reading it all: nothing to do
            # bytes as the file system gave them (os.fsdecode's surrogateescape), not the locale's text
            self.proc.stdin.buffer.write(text.encode("utf-8", "surrogateescape"))
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line)

    def events(self) -> Iterator[dict]:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event

    def wait(self) -> Ended:
        code = self.proc.wait()
        self._drain.join(timeout=5)
        return Ended(code, "".join(self._stderr))

    def signal(self, sig: int) -> None:
        """To the child's whole process group; nothing if it has already gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
