"""Text that came from outside (a server, a model, a repository, a file name) made safe to show.

The one rule: such text reaches a screen as *data*. Markup is the renderer's business (it must use plain
text, never parse markup); here the characters that would change what a terminal shows — control
characters, ANSI escapes, bidi overrides and invisible separators — become visible escapes such as ``\\x1b``
and ``\\u202e``, and very long strings are cut. The CLI prints through the same function.
"""

from __future__ import annotations

import re

LIMIT = 4096

# C0 and C1 controls (tab and newline handled separately), DEL, bidi controls and marks, zero-width and
# invisible characters, line/paragraph separators, interlinear annotations, lone surrogates
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(value: object, limit: int = LIMIT, multiline: bool = False) -> str:
    """``value`` as a string whose every character shows as itself or as an escape; at most ``limit`` chars.

    Newlines stay only when ``multiline``; otherwise they, and tabs, show as ``\\n`` and ``\\t``.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + f"… (+{len(text) - limit} chars)"
    text = _HIDDEN.sub(_escape, text)
    if multiline:
        return text.replace("\t", "    ")
    return text.replace("\n", "\\n").replace("\t", "\\t")


def one_line(value: object, limit: int = 200) -> str:
    """The first line of ``value``, visible, cut to ``limit``: for table cells and notifications."""
    text = value if isinstance(value, str) else str(value)
    first = text.split("\n", 1)[0]
    return visible(first, limit) + (" …" if "\n" in text.rstrip("\n") else "")
