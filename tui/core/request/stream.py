"""Streaming and stateful requests: decoupled models (many responses to one request, ended by a final
flag) and sequence models (requests tied together by a sequence id).

A decoupled model refuses the one-request-one-response call (``ModelInfer``); its responses come over the
gRPC stream or HTTP ``generate_stream`` (:meth:`TritonClient.stream`). :class:`StreamRun` drives one such
request and keeps the times the user asks about: time to first response, the gaps between responses
(inter-response latency) and the total.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.client import ModelInfo, TritonClient, check_model_name
from triton_console.tui.core.client.stats import percentile
from triton_console.tui.core.client.transport import InputTensor, OutputRequest, Sequence, generate_fits
from triton_console.tui.core.request.infer import InputPlan, OutputSummary, summarize

MAX_SEQUENCE_ID = 2**64 - 1


def decoupled(config) -> bool:
    """From a model config (``model_transaction_policy.decoupled``); False without one (KServe)."""
    return bool(
        config is not None
        and config.HasField("model_transaction_policy")
        and config.model_transaction_policy.decoupled
    )


def is_decoupled(info: ModelInfo) -> bool:
    return decoupled(info.config)


@dataclass(frozen=True)
class SequenceConfig:
    """What the Models pane shows of a sequence model."""

    strategy: str  # direct | oldest
    idle_us: int
    controls: list[tuple[str, str]]  # (input name, control kind)

    def describe(self) -> str:
        controls = ", ".join(f"{n} ({k})" for n, k in self.controls) or "none"
        idle = f"{self.idle_us / 1e6:g} s" if self.idle_us else "default (1 s)"
        return f"{self.strategy}, idle timeout {idle}, control inputs {controls}"


def sequence_config(config) -> SequenceConfig | None:
    """The sequence batcher of a model config (``model_config_pb2.ModelConfig``), None when it has none."""
    c = config
    if c is None or not c.HasField("sequence_batching"):
        return None
    sb = c.sequence_batching
    strategy = sb.WhichOneof("strategy_choice") or "direct"
    from tritonclient.grpc import model_config_pb2 as mc

    kinds = mc.ModelSequenceBatching.Control.Kind
    controls = []
    for ci in sb.control_input:
        for ctl in ci.control:
            controls.append((ci.name, kinds.Name(ctl.kind).removeprefix("CONTROL_SEQUENCE_").lower()))
    return SequenceConfig(strategy, int(sb.max_sequence_idle_microseconds), controls)


def parse_sequence_id(text: str) -> int | str:
    """A sequence id as Triton allows: an unsigned 64-bit number, else a non-empty string."""
    text = text.strip()
    if not text:
        raise ConsoleError("--sequence-id must not be empty", exit_code=EXIT_USAGE)
    if text.isdigit():
        value = int(text)
        if value == 0 or value > MAX_SEQUENCE_ID:
            raise ConsoleError(f"--sequence-id {text}: a number must be 1..2^64-1", exit_code=EXIT_USAGE)
        return value
    return text


def sequence(seq_id: str | None, start: bool = False, end: bool = False) -> Sequence | None:
    if seq_id is None or seq_id == "":
        if start or end:
            raise ConsoleError("--sequence-start/--sequence-end need --sequence-id", exit_code=EXIT_USAGE)
        return None
    return Sequence(parse_sequence_id(seq_id), start, end)


# ------------------------------------------------------------------------------------------ results


@dataclass
class StreamResponse:
    index: int
    t_ms: float
    outputs: list[OutputSummary]

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "t_ms": round(self.t_ms, 3),
            "outputs": [o.to_dict() for o in self.outputs],
        }

    def text(self) -> str:
        """The text this response carries (its BYTES outputs' first elements), for running text."""
        return "".join(
            v
            for o in self.outputs
            if o.datatype == "BYTES" or (o.array is not None and o.array.dtype == object)
            for v in o.values[:1]
        )


@dataclass
class StreamSummary:
    responses: int
    ttft_ms: float | None
    itl_p50_ms: float | None
    itl_p99_ms: float | None
    total_ms: float

    @property
    def per_second(self) -> float:
        return self.responses / (self.total_ms / 1000.0) if self.total_ms > 0 else 0.0

    def to_dict(self) -> dict:
        def r(x):
            return None if x is None else round(x, 3)

        return {
            "responses": self.responses,
            "ttft_ms": r(self.ttft_ms),
            "itl_ms": {"p50": r(self.itl_p50_ms), "p99": r(self.itl_p99_ms)},
            "total_ms": r(self.total_ms),
        }


def summarize_times(times_ms: list[float], total_ms: float) -> StreamSummary:
    gaps = [b - a for a, b in zip(times_ms, times_ms[1:], strict=False)]
    return StreamSummary(
        len(times_ms),
        times_ms[0] if times_ms else None,
        percentile(gaps, 50) if gaps else None,
        percentile(gaps, 99) if gaps else None,
        total_ms,
    )


@dataclass
class StreamRun:
    """One streaming request: iterate for :class:`StreamResponse` as they arrive; :meth:`cancel` from any
    thread; :attr:`summary` at any point (so far, or final)."""

    client: TritonClient
    model: str
    inputs: list[InputTensor]
    outputs: list[OutputRequest]
    datatypes: dict[str, str]
    sequence: Sequence | None = None
    body: dict | None = None  # the generate JSON sent over HTTP (else one made from the inputs)
    times_ms: list[float] = field(default_factory=list)
    total_ms: float = 0.0
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    _start: float = field(default=0.0, repr=False)

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def summary(self) -> StreamSummary:
        total = self.total_ms or ((time.perf_counter() - self._start) * 1000.0 if self._start else 0.0)
        return summarize_times(self.times_ms, total)

    def __iter__(self) -> Iterator[StreamResponse]:
        self._start = time.perf_counter()
        try:
            for event in self.client.stream(
                self.model,
                self.inputs,
                self.outputs,
                self._cancelled,
                self.sequence,
                self.datatypes,
                self.body,
            ):
                if event.outputs is not None:
                    t_ms = event.seconds * 1000.0
                    self.times_ms.append(t_ms)
                    order = [o.name for o in self.outputs]
                    names = sorted(event.outputs, key=lambda n: order.index(n) if n in order else len(order))
                    outs = [
                        summarize(n, self.datatypes.get(n, ""), np.asarray(event.outputs[n])) for n in names
                    ]
                    yield StreamResponse(len(self.times_ms) - 1, t_ms, outs)
                if event.final:
                    self.total_ms = event.seconds * 1000.0
        finally:
            if not self.total_ms:
                self.total_ms = (time.perf_counter() - self._start) * 1000.0


def start(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    outputs: list[str] | None = None,
    seq: Sequence | None = None,
) -> StreamRun:
    """A streaming request with the planned inputs; nothing is sent until it is iterated. Over HTTP the
    inputs must fit ``generate_stream`` (JSON) and no sequence is possible: one clear line otherwise."""
    check_model_name(model)
    info = client.model_info(model)
    inputs = [InputTensor(p.name, p.datatype, p.array) for p in plans]
    if client.protocol == "http":
        why = generate_fits(inputs) or ("a sequence id needs gRPC" if seq is not None else "")
        if why:
            raise ConsoleError(
                f"{model} is decoupled: over HTTP its responses come only from generate_stream, and {why}; "
                "use gRPC (-i grpc)",
                exit_code=EXIT_USAGE,
            )
    wanted = outputs or [t.name for t in info.metadata.outputs]
    datatypes = {t.name: t.datatype for t in info.metadata.outputs}
    return StreamRun(client, model, inputs, [OutputRequest(n) for n in wanted], datatypes, seq)
