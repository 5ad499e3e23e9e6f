"""Untrusted text onto the screen: always as plain ``rich.text.Text``, never as markup.

Everything a server, a model, a repository or a file name says goes through here (names, versions,
reasons, labels, platforms, config values, log lines, error messages): markup in it stays literal, and
control characters, ANSI escapes and bidi overrides show as escapes (:mod:`tui.core.untrusted`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from rich.cells import cell_len
from rich.measure import Measurement
from rich.text import Text

from triton_console.common.untrusted import one_line, visible


def plain(value: object, style: str = "", *, limit: int = 4096, multiline: bool = False) -> Text:
    return Text(visible(value, limit, multiline), style=style)


def cell(value: object, style: str = "", limit: int = 200) -> Text:
    """One line for a table cell: cut on the right with an ellipsis where the column is too narrow."""
    return Text(one_line(value, limit), style=style, no_wrap=True, overflow="ellipsis", end="")


def join(*parts: Text | str | tuple[str, str]) -> Text:
    """Assemble our own styled pieces (str/tuple: trusted literals) with untrusted ``Text`` pieces."""
    return Text.assemble(*parts)


class Name(Text):
    """A name (model, step) that, cut to fit, keeps its distinguishing end: ``ensemble_py…net_lite0``.

    Long model names share their beginnings (``ensemble_python_…``), so the usual cut on the right made every
    row read the same. Textual asks for a ``visualize`` first: the name is cut when the width is known.
    """

    def visualize(self) -> _MiddleFit:
        return _MiddleFit(self)

    def __rich_console__(self, console, options):  # where Rich draws it (a DataTable cell)
        yield from Text.__rich_console__(middle_cut(self, options.max_width), console, options)


def name(value: object, style: str = "", limit: int = 200) -> Name:
    """One line for a name, cut in the middle where it does not fit (see :class:`Name`)."""
    return Name(one_line(value, limit), style=style, no_wrap=True, overflow="ellipsis", end="")


def name_line(value: object, style: str = "") -> _MiddleFit:
    """A name on a line of its own (a title above other lines), cut in the middle where it does not fit."""
    return _MiddleFit(name(value, style))


def middle_cut(text: Text, width: int) -> Text:
    """``text`` in at most ``width`` cells: its start, an ellipsis, and its longer end."""
    if text.cell_len <= width:
        return text
    if width <= 1:
        return Text("…"[:width], style=text.style)
    keep = width - 1
    head = keep * 2 // 5
    out = Text(style=text.style, no_wrap=True, end="")
    out.append_text(_cells(text, head, from_end=False))
    out.append("…")
    out.append_text(_cells(text, keep - head, from_end=True))
    return out


def _cells(text: Text, width: int, from_end: bool) -> Text:
    """The first (or last) characters of ``text`` that fit in ``width`` cells."""
    if width <= 0:
        return Text()
    n, used = 0, 0
    chars = reversed(text.plain) if from_end else iter(text.plain)
    for ch in chars:
        w = cell_len(ch)
        if used + w > width:
            break
        used += w
        n += 1
    return text[len(text.plain) - n :] if from_end else text[:n]


class _MiddleFit:
    """Renders a :class:`Name` at the width it is given."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_measure__(self, console, options) -> Measurement:
        return Measurement(min(self.text.cell_len, 8), self.text.cell_len)

    def __rich_console__(self, console, options):
        line = middle_cut(self.text, options.max_width).copy()
        line.end = "\n"  # one whole line: without its end Textual counts no line at all
        yield line


class Fitted:
    """Lines laid out for the width they are drawn at (``lay_out(width)``), drawn again at each width: a
    drawing that fits a narrow pane instead of wrapping there. Each line stays one line (a line the layout
    could not fit is cut with an ellipsis, never wrapped)."""

    def __init__(self, lay_out: Callable[[int], list[str]], style: str = "") -> None:
        self.lay_out = lay_out
        self.style = style

    def _lines(self, width: int) -> list[Text]:
        return [
            Text(visible(line), style=self.style, no_wrap=True, overflow="ellipsis")
            for line in self.lay_out(width)
        ]

    def __rich_measure__(self, console, options) -> Measurement:
        widest = max((t.cell_len for t in self._lines(options.max_width)), default=0)
        return Measurement(min(widest, 8), widest)

    def __rich_console__(self, console, options):
        yield from self._lines(options.max_width)


def word_lines(text: str, width: int, indent: str = "", cut: bool | str = True) -> list[str]:
    """``text`` (lines made visible) in lines of at most ``width`` cells, broken between words, never inside
    one: a line's continuations indented as it is (and by ``indent`` more), and a word wider than a
    whole line (a path, a long identifier) cut in the middle with an ellipsis, its end kept (a path's file
    name). Rich's own wrapping folds such a word over two lines: ``…InstanceIniti`` / ``alize``. Without
    ``cut`` such a word is folded after all (an error's model name must stay whole: cut, it read
    ``ensemble_p…ficientnet_lite0``), on lines of its own. ``cut="paths"`` cuts only a path (a word with a
    ``/``: its file name is what matters, folded it took five lines) and folds any other word."""
    width = max(width, 1)
    out: list[str] = []
    for line in visible(text, 20000, multiline=True).split("\n"):
        body = line.lstrip(" ")
        lead = line[: len(line) - len(body)]
        if cell_len(lead) > width // 2:  # a deeply indented line keeps half the width for its words
            lead = lead[: width // 2]
        more = lead + (indent if cell_len(lead + indent) <= width // 2 else "")
        current = lead
        started = False  # the current line has a word
        for gap, word in re.findall(r"(\s*)(\S+)", body):
            if started and cell_len(current) + cell_len(gap) + cell_len(word) <= width:
                current += gap + word
                continue
            if started:
                out.append(current)
                current = more
            room = max(width - cell_len(current), 1)
            if not cut or (cut == "paths" and "/" not in word):
                while cell_len(word) > room:  # folded: a line of it at a time, after a _ : / . - where one is
                    at = _fold_at(word, room)
                    out.append(current + word[:at])
                    current, word = more, word[at:]
                    room = max(width - cell_len(current), 1)
            current += _word_cut(word, room)
            started = True
        out.append(current)
    return out


def _fold_at(word: str, room: int) -> int:
    """Where to fold a word wider than ``room``: after its last ``_ : / . -`` that leaves the line a third
    full (``TRITONBACKEND_`` / ``ModelInstanceInitialize:``), else at ``room``."""
    for i in range(min(room, len(word)) - 1, room // 3 - 1, -1):
        if word[i] in "_:/.-" and cell_len(word[: i + 1]) <= room:
            return i + 1
    return room


def _word_cut(word: str, width: int) -> str:
    """``word`` whole when it fits ``width`` cells, else its start, an ellipsis and its longer end."""
    if cell_len(word) <= width:
        return word
    return middle_cut(Text(word), max(width, 1)).plain


def wrapped(text: str, style: str = "", indent: str = "", cut: bool | str = True) -> Fitted:
    """Text that wraps between words at the width it is drawn at (see :func:`word_lines`)."""
    return Fitted(lambda width: word_lines(text, width, indent, cut), style)


def short_path(path: str, width: int) -> str:
    """``path`` in at most ``width`` cells where it can be: the home folder as ``~``, then cut in its middle
    with an ellipsis, its last part (a file's name) kept whole where it fits: ``/srv/data…/n0306-mug``."""
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (path == home or path.startswith(home + "/")):
        path = "~" + path[len(home) :]
    if cell_len(path) <= width:
        return path
    tail = "/" + path.rstrip("/").rpartition("/")[2]
    if cell_len(tail) + 2 <= width:  # a little of its start, …, its last part
        return _cells(Text(path), width - 1 - cell_len(tail), from_end=False).plain + "…" + tail
    return middle_cut(Text(path), width).plain


def fit_paths(text: str, paths: list[str], width: int, shortest: int = 16) -> str:
    """``text`` with the ``paths`` in it shortened (:func:`short_path`, to ``shortest`` cells at most) until it
    fits ``width`` cells; as short as that allows where it cannot fit."""
    for path in paths:
        over = cell_len(text) - width
        if over <= 0:
            break
        if path and path in text:
            text = text.replace(path, short_path(path, max(shortest, cell_len(path) - over)))
    return text
