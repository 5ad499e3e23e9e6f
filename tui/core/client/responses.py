"""What a v2 server answers, validated: every parser of a server response lives here.

A server (Triton, KServe, anything on a network) speaks for itself: its strings, numbers and shapes are
data to check, never to trust. Each parser turns a response into small frozen dataclasses or raises
:class:`ResponseError` with one line that names the item; where a response holds many items (models in an
index, statistics per model, classification strings) a bad item becomes a ``problem`` and the others are
still returned. Both protocol adapters (HTTP JSON, gRPC protobuf) feed the same validators.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from triton_console.common.errors import EXIT_FAILED, ConsoleError

MAX_TEXT = 4096  # longer strings from a server are cut (with a note) before they go anywhere
MAX_DIM = 2**40  # a dimension beyond this is not a shape anyone can send or allocate
MAX_RANK = 16
MAX_COUNT = 2**63 - 1
DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BF16",
    "BYTES",
)


class ResponseError(ConsoleError):
    """A server's response is not what the v2 protocol says; the message names what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_FAILED)


def clip(value: str, limit: int = MAX_TEXT) -> str:
    return value if len(value) <= limit else value[:limit] + f"… ({len(value) - limit} more characters)"


def text(value: object, what: str, *, empty_ok: bool = True) -> str:
    """A string field: str (bytes decoded), bounded; anything else is an error naming ``what``."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise ResponseError(f"{what} is {_kind(value)}, not a string")
    if not value and not empty_ok:
        raise ResponseError(f"{what} is empty")
    return clip(value)


def count(value: object, what: str) -> int:
    """A non-negative integer counter (gRPC's JSON renders int64 as a decimal string: accepted)."""
    if isinstance(value, bool):
        raise ResponseError(f"{what} is a boolean, not a count")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ResponseError(f"{what} is {_show(value)}, not a count")
    return value


def dims(value: object, what: str) -> tuple[int, ...]:
    """A tensor shape: -1 (variable) or 0..2^40 per dimension, at most 16 dimensions."""
    if not isinstance(value, (list, tuple)) and not hasattr(value, "__len__"):
        raise ResponseError(f"{what} shape is {_kind(value)}, not a list")
    out = []
    for d in value:
        if isinstance(d, str) and d.lstrip("-").isdigit() and len(d) < 20:
            d = int(d)
        if isinstance(d, bool) or not isinstance(d, int) or not (d == -1 or 0 <= d <= MAX_DIM):
            raise ResponseError(f"{what} has an impossible shape {_show(list(value))}")
        out.append(d)
    if len(out) > MAX_RANK:
        raise ResponseError(f"{what} has {len(out)} dimensions (at most {MAX_RANK})")
    return tuple(out)


def datatype(value: object, what: str) -> str:
    t = text(value, f"{what} datatype")
    if t not in DATATYPES:
        raise ResponseError(f"{what} has an unknown datatype {_show(t)}")
    return t


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)


def _show(value: object, limit: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 1] + "…"


def _get(obj: object, key: str, what: str):
    if not isinstance(obj, dict):
        raise ResponseError(f"{what} is {_kind(obj)}, not an object")
    return obj.get(key)


# ------------------------------------------------------------------------------------------ server


@dataclass(frozen=True)
class ServerMetadata:
    name: str
    version: str
    extensions: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """ "triton 2.51.0", "kserve 0.21.0": Triton calls itself "triton" in its metadata."""
        return f"{self.name or 'unknown server'} {self.version}".strip()

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "extensions": list(self.extensions)}


def server_metadata(name: object, version: object, extensions: Iterable[object] | None) -> ServerMetadata:
    exts = list(extensions or [])
    return ServerMetadata(
        text(name, "server name"),
        text(version, "server version"),
        tuple(text(e, f"server extension {i + 1}") for i, e in enumerate(exts[:256])),
    )


def server_metadata_json(obj: object) -> ServerMetadata:
    exts = _get(obj, "extensions", "server metadata")
    if exts is not None and not isinstance(exts, list):
        raise ResponseError(f"server metadata extensions is {_kind(exts)}, not a list")
    return server_metadata(
        _get(obj, "name", "server metadata") or "", _get(obj, "version", "server metadata") or "", exts
    )


# ------------------------------------------------------------------------------------------ index

STATES = ("READY", "UNAVAILABLE", "LOADING", "UNLOADING", "")


@dataclass(frozen=True)
class IndexEntry:
    name: str
    version: str = ""
    state: str = ""  # READY, UNAVAILABLE, LOADING, UNLOADING; "" where the server does not say
    reason: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "state": self.state, "reason": self.reason}


def index_entry(name: object, version: object, state: object, reason: object, i: int) -> IndexEntry:
    what = f"repository index entry {i + 1}"
    version = "" if version is None else version
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    return IndexEntry(
        text(name, f"{what} name", empty_ok=False),
        text(version, f"{what} version"),
        text(state or "", f"{what} state"),
        text(reason or "", f"{what} reason"),
    )


def index_fields(rows: Iterable[tuple]) -> Parsed:
    """Index entries from (name, version, state, reason) that are already strings (gRPC): the lean path for
    big indexes — only emptiness and length need checking."""
    out = Parsed()
    for i, (name, version, state, reason) in enumerate(rows):
        if i >= MAX_MODELS:
            out.problems.append(f"more than {MAX_MODELS} entries: the rest is not shown")
            break
        if not name:
            out.problems.append(f"repository index entry {i + 1} name is empty")
            continue
        long = max(len(name), len(version), len(state), len(reason)) > MAX_TEXT
        out.items.append(
            IndexEntry(clip(name), clip(version), clip(state), clip(reason))
            if long
            else IndexEntry(name, version, state, reason)
        )
    return out


@dataclass
class Parsed:
    """Items that parsed, and one line per item that did not."""

    items: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def collect(rows: Iterable, parse, limit: int) -> Parsed:
    out = Parsed()
    for i, row in enumerate(rows):
        if i >= limit:
            out.problems.append(f"more than {limit} entries: the rest is not shown")
            break
        try:
            out.items.append(parse(row, i))
        except ResponseError as exc:
            out.problems.append(exc.message)
    return out


MAX_MODELS = 100_000


def index_json(obj: object) -> Parsed:
    if not isinstance(obj, list):
        raise ResponseError(f"repository index is {_kind(obj)}, not a list")

    def one(row, i):
        what = f"repository index entry {i + 1}"
        return index_entry(*(_get(row, k, what) for k in ("name", "version", "state", "reason")), i)

    return collect(obj, one, MAX_MODELS)


def model_list_json(obj: object) -> Parsed:
    """KServe's ``GET /v2/models``: ``{"models": ["name", ...]}`` (no state: readiness is asked per model)."""
    names = _get(obj, "models", "model list")
    if not isinstance(names, list):
        raise ResponseError(f"model list is {_kind(names)}, not a list")
    return collect(
        names, lambda n, i: IndexEntry(text(n, f"model list entry {i + 1}", empty_ok=False)), MAX_MODELS
    )


# ------------------------------------------------------------------------------------------ metadata


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def tensor(name: object, dtype: object, shape: object, what: str) -> TensorSpec:
    n = text(name, f"{what} name", empty_ok=False)
    return TensorSpec(n, datatype(dtype, f"{what} {n!r}"), dims(shape, f"{what} {n!r}"))


def model_metadata(name, versions, platform, inputs, outputs) -> ModelMetadata:
    model = text(name, "model metadata name")
    where = f"model {model!r}"
    return ModelMetadata(
        model,
        tuple(text(v, f"{where} version") for v in list(versions or [])[:1024]),
        text(platform or "", f"{where} platform"),
        tuple(tensor(*t, f"{where} input") for t in inputs),
        tuple(tensor(*t, f"{where} output") for t in outputs),
    )


def model_metadata_json(obj: object) -> ModelMetadata:
    def tensors(key: str) -> list[tuple]:
        items = _get(obj, key, "model metadata") or []
        if not isinstance(items, list):
            raise ResponseError(f"model metadata {key} is {_kind(items)}, not a list")
        return [
            tuple(_get(t, k, f"model metadata {key}") for k in ("name", "datatype", "shape"))
            for t in items[:4096]
        ]

    versions = _get(obj, "versions", "model metadata")
    if versions is not None and not isinstance(versions, list):
        raise ResponseError(f"model metadata versions is {_kind(versions)}, not a list")
    return model_metadata(
        _get(obj, "name", "model metadata"),
        versions,
        _get(obj, "platform", "model metadata"),
        tensors("inputs"),
        tensors("outputs"),
    )


# ------------------------------------------------------------------------------------------ config


def model_config_json(obj: object):
    """Triton's JSON model config → ``model_config_pb2.ModelConfig`` (one representation for both protocols)."""
    from google.protobuf import json_format
    from tritonclient.grpc import model_config_pb2

    if not isinstance(obj, dict):
        raise ResponseError(f"model config is {_kind(obj)}, not an object")
    try:
        return json_format.ParseDict(obj, model_config_pb2.ModelConfig(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise ResponseError(f"model config does not parse: {clip(str(exc), 200)}") from None


# ------------------------------------------------------------------------------------------ trace settings


def trace_settings_json(obj: object) -> dict[str, list[str]]:
    """Triton's trace settings over HTTP (``{"trace_level": ["OFF"], "trace_rate": "1000", …}``) as gRPC
    gives them: every value a list of strings."""
    if not isinstance(obj, dict):
        raise ResponseError(f"trace settings are {_kind(obj)}, not an object")
    out = {}
    for key, value in list(obj.items())[:64]:
        values = value if isinstance(value, list) else [value]
        out[text(key, "trace setting")] = [clip(str(v), 1000) for v in values[:64]]
    return out


# ------------------------------------------------------------------------------------------ statistics

DURATIONS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")


@dataclass(frozen=True)
class ModelStats:
    """Lifetime counters of one model version: requests, executions and (count, ns) per duration kind."""

    name: str
    version: str
    inference_count: int
    execution_count: int
    durations: dict[str, tuple[int, int]]
    batches: dict[int, tuple[int, int]] = field(
        default_factory=dict
    )  # batch size -> (executions, compute ns)
    # responses sent (decoupled models), from ``response_stats``: None where the server reports none for
    # the model (Triton fills them only for backends that report them; the Python backend does not)
    responses: int | None = None

    def duration(self, kind: str) -> tuple[int, int]:
        return self.durations.get(kind, (0, 0))


def model_stats(
    name, version, inference_count, execution_count, durations, batches, i: int, responses=None
) -> ModelStats:
    """``responses``: (index, success count) of each entry of ``response_stats``, or None/empty for none."""
    model = text(name, f"statistics entry {i + 1} name")
    where = f"statistics of {model!r}"
    sent = (
        sum(
            count(c or 0, f"{where} response_stats {str(k)[:40]!r} success.count")
            for k, c in responses[:100_000]
        )
        if responses
        else None
    )
    return ModelStats(
        model,
        text(
            "" if version is None else str(version) if isinstance(version, int) else version,
            f"{where} version",
        ),
        count(inference_count or 0, f"{where} inference_count"),
        count(execution_count or 0, f"{where} execution_count"),
        {
            k: (count(c or 0, f"{where} {k}.count"), count(ns or 0, f"{where} {k}.ns"))
            for k, (c, ns) in durations.items()
        },
        {
            count(b, f"{where} batch size"): (
                count(c or 0, f"{where} batch count"),
                count(ns or 0, f"{where} batch ns"),
            )
            for b, c, ns in batches
        },
        sent,
    )


def statistics_json(obj: object) -> Parsed:
    rows = _get(obj, "model_stats", "statistics")
    if not isinstance(rows, list):
        raise ResponseError(f"statistics model_stats is {_kind(rows)}, not a list")

    def one(row, i):
        what = f"statistics entry {i + 1}"
        inf = _get(row, "inference_stats", what) or {}
        durations = {}
        for kind in DURATIONS:
            d = _get(inf, kind, f"{what} inference_stats") or {}
            durations[kind] = (_get(d, "count", f"{what} {kind}"), _get(d, "ns", f"{what} {kind}"))
        batches = []
        raw_batches = _get(row, "batch_stats", what) or []
        if not isinstance(raw_batches, list):
            raise ResponseError(f"{what} batch_stats is {_kind(raw_batches)}, not a list")
        for b in raw_batches[:1024]:
            infer = _get(b, "compute_infer", f"{what} batch_stats") or {}
            batches.append((_get(b, "batch_size", what), _get(infer, "count", what), _get(infer, "ns", what)))
        raw_responses = _get(row, "response_stats", what) or {}
        if not isinstance(raw_responses, dict):
            raise ResponseError(f"{what} response_stats is {_kind(raw_responses)}, not an object")
        responses = [
            (k, _get(_get(v, "success", f"{what} response_stats") or {}, "count", what))
            for k, v in raw_responses.items()
        ]
        return model_stats(
            _get(row, "name", what),
            _get(row, "version", what),
            _get(row, "inference_count", what),
            _get(row, "execution_count", what),
            durations,
            batches,
            i,
            responses,
        )

    return collect(rows, one, MAX_MODELS)


# ------------------------------------------------------------------------------------------ classification


@dataclass(frozen=True)
class TopK:
    index: int
    label: str
    score: float


def classes(values: Iterable[object]) -> Parsed:
    """Triton's classification strings ``score:index[:label]`` → TopK items (labels may hold colons).

    Each string that is not of that form becomes a problem naming it and its position; NaN or infinite
    scores are kept as such (they sort below every real score where the caller sorts).
    """
    values = list(values)
    out = Parsed()
    for i, v in enumerate(values):
        try:
            raw = text(v, f"classification string {i + 1} of {len(values)}")
            score_text, sep, rest = raw.partition(":")
            index_text, _, label = rest.partition(":")
            if not sep:
                raise ValueError
            index = int(index_text)
            score = float(score_text)
            if index < 0:
                raise ValueError
        except (ValueError, ResponseError):
            shown = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            out.problems.append(
                f"classification string {i + 1} of {len(values)} is not score:index[:label]: {_show(clip(shown, 80))}"
            )
            continue
        out.items.append(TopK(index, label, score))
    return out


def score_key(t: TopK) -> tuple[int, float]:
    """Sort key, best first: real scores by value, then NaN/Inf (never above a real score)."""
    return (0, -t.score) if math.isfinite(t.score) else (1, 0.0)
