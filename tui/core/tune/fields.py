"""Config fields by dotted path (``instance_group.count``, ``dynamic_batching.max_queue_delay_microseconds``,
``parameters.KEY``...), resolved against Triton's ``ModelConfig`` descriptor so that an unknown field or a
value of the wrong type is refused before anything reaches a server.

A path through a repeated message (``instance_group``) sets the field in every element (one is added where
there is none). A repeated scalar (``dynamic_batching.preferred_batch_size``) takes one value, or several
joined with ``+`` (``4+8``). ``parameters.KEY`` sets a string parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from triton_console.common.errors import EXIT_USAGE, ConsoleError

_INTS = {"TYPE_INT32": (-(2**31), 2**31 - 1), "TYPE_INT64": (-(2**63), 2**63 - 1)}
_UINTS = {"TYPE_UINT32": 2**32 - 1, "TYPE_UINT64": 2**64 - 1}
_BOOLS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
MINIMUM = {"instance_group.count": 1, "max_batch_size": 0}  # Triton takes count 0 as 1: refuse it


@dataclass(frozen=True)
class Field:
    path: str
    parts: tuple[str, ...]
    descriptor: object | None  # the last FieldDescriptor; None for parameters.KEY
    repeated: bool = False

    @property
    def expected(self) -> str:
        """What a value of this field must be, in words ("an integer", not protobuf's "int32")."""
        if self.descriptor is None:
            return "a string"
        from google.protobuf.descriptor import FieldDescriptor as FD

        d = self.descriptor
        if d.enum_type is not None:
            base = "one of " + "|".join(v.name for v in d.enum_type.values)
        elif d.type == FD.TYPE_BOOL:
            base = "true or false"
        elif d.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
            base = "a number"
        elif d.type == FD.TYPE_STRING:
            base = "a string"
        elif d.type in (FD.TYPE_UINT32, FD.TYPE_UINT64):
            base = "an integer >= 0"
        else:
            base = "an integer"
        return f"{base} (several joined with +)" if self.repeated else base

    def parse(self, text: str):
        """One value for this field (a list for a repeated one), or a ConsoleError naming the field."""
        text = text.strip()
        if self.repeated:
            return [self._one(t) for t in text.split("+")]
        return self._one(text)

    def _one(self, text: str):
        bad = ConsoleError(f"--set {self.path}={text[:40]}: expected {self.expected}", exit_code=EXIT_USAGE)
        d = self.descriptor
        if d is None:
            return text
        from google.protobuf.descriptor import FieldDescriptor as FD

        kind = {v: k for k, v in vars(FD).items() if k.startswith("TYPE_")}.get(d.type, "")
        if d.enum_type is not None:
            names = [v.name for v in d.enum_type.values]
            for n in names:
                if text.upper() in (n, n.split("_", 1)[-1]):
                    return n
            raise bad
        if kind == "TYPE_BOOL":
            if text.lower() not in _BOOLS:
                raise bad
            return _BOOLS[text.lower()]
        if kind in ("TYPE_FLOAT", "TYPE_DOUBLE"):
            try:
                return float(text)
            except ValueError:
                raise bad from None
        if kind == "TYPE_STRING":
            return text
        lo, hi = _INTS.get(kind, (0, _UINTS.get(kind)))
        if hi is None:
            raise ConsoleError(f"--set {self.path}: a {kind} field cannot be set here", exit_code=EXIT_USAGE)
        try:
            value = int(text)
        except ValueError:
            raise bad from None
        lo = max(lo, MINIMUM.get(self.path, lo))
        if not lo <= value <= hi:
            raise ConsoleError(
                f"--set {self.path}: {value} is out of range ({lo}..{hi})", exit_code=EXIT_USAGE
            )
        return value


def resolve(path: str) -> Field:
    """The field at ``path`` in ModelConfig, or a ConsoleError (exit 2) naming it."""
    from tritonclient.grpc import model_config_pb2

    parts = tuple(p for p in path.strip().split("."))
    if not all(parts):
        raise ConsoleError(f"--set {path!r}: not a dotted field path", exit_code=EXIT_USAGE)
    desc = model_config_pb2.ModelConfig.DESCRIPTOR
    for i, part in enumerate(parts):
        fd = desc.fields_by_name.get(part)
        if fd is None:
            raise ConsoleError(
                f"--set {path}: ModelConfig has no field {'.'.join(parts[: i + 1])!r}", exit_code=EXIT_USAGE
            )
        last = i == len(parts) - 1
        if part == "parameters" and i == 0:
            if len(parts) != 2:
                raise ConsoleError(f"--set {path}: parameters.KEY, one key", exit_code=EXIT_USAGE)
            return Field(path, parts, None)
        if fd.message_type is None:
            if not last:
                raise ConsoleError(
                    f"--set {path}: {part!r} is a scalar, it has no fields", exit_code=EXIT_USAGE
                )
            return Field(path, parts, fd, _repeated(fd))
        if last:
            raise ConsoleError(
                f"--set {path}: {part!r} is a message; name one of its fields ({', '.join(list(fd.message_type.fields_by_name)[:6])}, ...)",
                exit_code=EXIT_USAGE,
            )
        desc = fd.message_type
    raise AssertionError("unreachable")


def parse_set(text: str) -> tuple[Field, list]:
    """``FIELD=V1,V2,...`` → the field and its values, each checked."""
    path, eq, values = text.partition("=")
    if not eq or not values.strip():
        raise ConsoleError(
            f"--set {text!r}: FIELD=V1,V2,... (e.g. instance_group.count=1,2)", exit_code=EXIT_USAGE
        )
    field = resolve(path)
    return field, [field.parse(v) for v in values.split(",") if v.strip()]


def set_value(config, field: Field, value) -> None:
    """Set ``field`` to ``value`` in ``config`` (in every element of a repeated message on the way)."""
    _set(config, field.parts, value)


def _set(msg, parts: tuple[str, ...], value) -> None:
    name, rest = parts[0], parts[1:]
    if name == "parameters" and msg.DESCRIPTOR.name == "ModelConfig":
        msg.parameters[rest[0]].string_value = str(value)
        return
    fd = msg.DESCRIPTOR.fields_by_name[name]
    if not rest:
        if _repeated(fd):
            items = getattr(msg, name)
            del items[:]
            items.extend(_enum(fd, v) for v in value)
        else:
            setattr(msg, name, _enum(fd, value))
        return
    if _repeated(fd):
        items = getattr(msg, name)
        if not items:
            items.add()
        for item in items:
            _set(item, rest, value)
        return
    child = getattr(msg, name)
    child.SetInParent()  # a sub-message whose fields are all zero must still be present (dynamic_batching {})
    _set(child, rest, value)


def _repeated(fd) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf >= 5.29 (label() is deprecated there)
    return flag if isinstance(flag, bool) else fd.label == fd.LABEL_REPEATED


def _enum(fd, value):
    return fd.enum_type.values_by_name[value].number if fd.enum_type is not None else value


def get_value(config, field: Field):
    """The value ``field`` has in ``config`` (the first element's for a repeated message; None if absent)."""
    msg = config
    for i, name in enumerate(field.parts):
        if name == "parameters" and i == 0:
            key = field.parts[1]
            return msg.parameters[key].string_value if key in msg.parameters else None
        fd = msg.DESCRIPTOR.fields_by_name[name]
        last = i == len(field.parts) - 1
        if last:
            value = getattr(msg, name)
            if _repeated(fd):
                return [_name(fd, v) for v in value]
            return _name(fd, value)
        if _repeated(fd):
            items = getattr(msg, name)
            if not items:
                return None
            msg = items[0]
        else:
            if not msg.HasField(name):
                return None
            msg = getattr(msg, name)
    return None


def _name(fd, value):
    return fd.enum_type.values_by_number[value].name if fd.enum_type is not None else value
