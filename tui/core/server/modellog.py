"""One model's lines of a server log, as they arrive: the live form of the explainer's ``model_log``.

Lines are fed in order (the log so far, then each new batch); what comes out is what belongs to the model:

- a record that names it (the explainer's marks: ``'name'``, ``Initialize: name_0``, ``loading: name:1``…),
  with the two lines before it and the one after, and the lines the record carries on (a stub's traceback);
- untagged stderr (a Python stub writes to the server's stderr with no record around it, so it is found only by
  when it was printed): shown at once while the model is the last one the log named; printed while another
  model was, it is held and shown when the log names this model again (the explainer's "between its first
  and last mention"); held lines are bounded.

A flood of the same line (timestamps aside) is collapsed into the line and "… repeated N more times", as a
syslog does, so a model printing in a loop cannot push everything else out of the view's bounded buffer.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Collection, Iterable

from triton_console.tui.core.server.explain import _RECORD, _marks

HELD_MAX = 500  # untagged lines waiting for the model to be named again
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")
_INSTANCE = re.compile(r"(_\d+)+$")


_PREFIX = re.compile(r"^([IWEV])\d{4} (\d\d:\d\d:\d\d\.\d{3})\d*\s+\d+ \S+:\d+\] ")


def short(line: str) -> str:
    """A record as a narrow view shows it: severity, time to the millisecond and the message, unquoted
    (``I 03:54:34.125 loading: chatty:1``); other lines as they are."""
    m = _PREFIX.match(line)
    if not m:
        return line
    msg = line[m.end() :]
    if len(msg) > 1 and msg.startswith('"') and msg.endswith('"'):
        msg = msg[1:-1]
    return f"{m.group(1)} {m.group(2)} {msg}"


def repeated(n: int) -> str:
    return f"  … the line above repeated {n} more time{'s' if n != 1 else ''}"


class ModelLines:
    """Feed it log lines in order; :meth:`feed` returns those of ``name`` (floods collapsed)."""

    def __init__(self, name: str, models: Collection[str] = (), before: int = 2, after: int = 1) -> None:
        self.name = name
        self.marks = _marks(name)
        self.others = set(models) - {name}
        self.before, self.after = before, after
        self._ring: collections.deque[tuple[int, str]] = collections.deque(maxlen=before)
        self._held: collections.deque[tuple[int, str]] = collections.deque(maxlen=HELD_MAX)
        self._n = 0
        self._after_left = 0
        self._owned = False  # the current record carries on over the following raw lines
        self._owner_shown = False
        self._mine = False  # the last record that named a model named this one
        self._seen = False  # the log has named this model
        self._last_key: str | None = None
        self._repeats = 0

    def _names_other(self, line: str) -> bool:
        if not self.others:
            return False
        for tok in _TOKEN.findall(line):
            if tok in self.others or _INSTANCE.sub("", tok) in self.others:
                return True
        return False

    def feed(self, lines: Iterable[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            i, self._n = self._n, self._n + 1
            m = _RECORD.match(line)
            show = False
            if m:
                msg = line[m.end() :].rstrip()
                self._owned = not (len(msg) > 1 and msg.startswith('"') and msg.endswith('"'))
                if any(mark in line for mark in self.marks):
                    picked = sorted(dict([*self._held, *self._ring]).items())
                    self._held.clear()
                    self._ring.clear()
                    for _, text in picked:
                        self._emit(text, out)
                    self._mine = self._seen = True
                    self._after_left = self.after + 1
                    show = True
                elif self._names_other(line):
                    self._mine = False
                self._owner_shown = show or self._after_left > 0
            elif self._owned:  # a record's own continuation lines
                show = self._owner_shown
            elif line.strip():  # untagged stderr
                if self._mine:
                    show = True
                elif self._seen:
                    self._held.append((i, line))
            if self._after_left > 0:
                self._after_left -= 1
                show = True
            if show:
                self._emit(line, out)
            else:
                self._ring.append((i, line))
        return out

    def flush(self) -> list[str]:
        """The count of a flood still going (at the end of a batch)."""
        if not self._repeats:
            return []
        n, self._repeats = self._repeats, 0
        return [repeated(n)]

    def _emit(self, line: str, out: list[str]) -> None:
        m = _RECORD.match(line)
        key = line[m.end() :] if m else line
        if key == self._last_key:
            self._repeats += 1
            return
        out += self.flush()
        self._last_key = key
        out.append(line)
