"""A model's config as text and back: parsed with Triton's own protobuf (``model_config_pb2`` + text_format),
checked with the build tools' validator, and the few rules Triton enforces on an override that the validator
does not know (found by trying them on the embedded server; see DESIGN.md's traps).

Every error is one line, with the line of the text it is on where the parser knows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from triton_console.common.errors import EXIT_USAGE, ConsoleError


def _pb():
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2


@dataclass
class Problem:
    """Why a config text is not acceptable: the message and, for a syntax error, where it is."""

    message: str
    line: int | None = None  # 1-based
    column: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def to_text(config) -> str:
    """The config as pbtxt, through the project's one config printer (which also validates it); a config
    the validator would not have written (a server's, say) is printed as it is."""
    from google.protobuf import text_format

    from triton_console.build_tools.repository import validate

    try:
        return validate(config, complete=False)
    except ConsoleError:
        return text_format.MessageToString(config)


def to_json(config) -> str:
    """The override Triton's ``load`` takes as ``parameters.config``: the config in protobuf's JSON mapping."""
    from google.protobuf import json_format

    return json.dumps(json_format.MessageToDict(config, preserving_proto_field_name=True))


def copy(config):
    out = _pb().ModelConfig()
    out.CopyFrom(config)
    return out


def parse(text: str, name: str, check: bool = True):
    """Parse and check ``text`` as ``name``'s config: returns the ModelConfig, raises ConsoleError whose
    ``problem`` attribute holds a :class:`Problem` (the line of a syntax error; none for a config that parses
    but that Triton would refuse). ``check=False``: parsed only (to send it anyway and hear the server)."""
    from google.protobuf import text_format

    config = _pb().ModelConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        line, column = exc.GetLine(), exc.GetColumn()
        message = str(exc)
        prefix = f"{line}:{column} : "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        first = message.strip().splitlines()[0] if message.strip() else "syntax error"
        quoted = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else None
        if quoted is not None and first.startswith(f"'{quoted}': "):
            first = first[len(quoted) + 4 :]  # the editor shows the line: its number is enough
        raise _problem(Problem(first, line, column)) from None
    if not config.name:
        config.name = name  # Triton names a config without one after its directory
    found = problems(config, name) if check else []
    if found:
        raise _problem(Problem("; ".join(found)))
    return config


def _problem(p: Problem) -> ConsoleError:
    err = ConsoleError(f"config: {p}", exit_code=EXIT_USAGE)
    err.problem = p  # type: ignore[attr-defined]
    return err


def problems(config, name: str) -> list[str]:
    """What Triton would refuse in this config as an override of ``name``, as far as it can be known here."""
    from triton_console.build_tools.repository import validate

    out = []
    if config.name != name:
        out.append(f"name {config.name!r} must be the model's name {name!r} (Triton refuses another)")
    try:
        validate(config, complete=False)
    except ConsoleError as exc:
        out.append(exc.message.split(": ", 1)[-1])
    mbs = config.max_batch_size
    if config.HasField("dynamic_batching"):
        big = [p for p in config.dynamic_batching.preferred_batch_size if mbs and p > mbs]
        if big:
            out.append(f"dynamic batching preferred size {big} must be <= max_batch_size {mbs}")
    for g in config.instance_group:
        if g.count < 0:
            out.append(f"instance_group count {g.count} must be >= 0")
    return out


def follow(config) -> list[str]:
    """Make the fields that depend on max_batch_size follow it (a config the server returned is auto-completed,
    e.g. preferred_batch_size filled with the old max_batch_size, and Triton refuses it once max_batch_size is
    lowered). Returns what was changed, for the record."""
    changed = []
    mbs = config.max_batch_size
    if mbs and config.HasField("dynamic_batching"):
        sizes = list(config.dynamic_batching.preferred_batch_size)
        kept = [p for p in sizes if p <= mbs]
        if kept != sizes:
            del config.dynamic_batching.preferred_batch_size[:]
            config.dynamic_batching.preferred_batch_size.extend(kept)
            changed.append(f"dynamic_batching.preferred_batch_size {sizes} -> {kept}")
    return changed
