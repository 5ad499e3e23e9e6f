"""One small request per model, to learn whether it really answers: ``status --probe`` and the Models pane's
probe key. Triton says READY for a model whose Python-backend stub died; only a request tells.

The request is built from the model's metadata as the Try form builds it (random inputs of the declared
types, variable dimensions at their smallest); an image model gets a tiny encoded image instead, since random
bytes are no image and its refusal would say nothing about its health.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import TritonClient, server_gone
from triton_console.tui.core.client.health import error_kind
from triton_console.tui.core.client.transport import InputTensor, OutputRequest

PROBE_IMAGE_PX = 32


@dataclass
class ProbeResult:
    model: str
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    code: str | None = None
    kind: str | None = None  # server error | timeout | connection
    unhealthy: bool = False  # the failure says the model is broken, not the request

    def to_dict(self) -> dict:
        out: dict = {"model": self.model, "ok": self.ok}
        if self.ok:
            out["latency_ms"] = round(self.latency_ms or 0.0, 3)
        else:
            out.update(
                {"error": self.error, "kind": self.kind, "code": self.code, "unhealthy": self.unhealthy}
            )
        return out

    def line(self) -> str:
        return f"{self.model}: {self.outcome()}"

    def outcome(self) -> str:
        """What came of it, without the model's name (where the model is already named: its detail)."""
        if self.ok:
            return f"ok in {self.latency_ms:.1f} ms"
        state = "unhealthy" if self.unhealthy else "error"
        return f"{state}: {self.error}"


def _tiny_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (PROBE_IMAGE_PX, PROBE_IMAGE_PX), (128, 96, 64)).save(buf, "JPEG")
    return buf.getvalue()


def probe_request(client: TritonClient, model: str) -> tuple[list[InputTensor], list[OutputRequest]]:
    """The probe's inputs and outputs: a tiny image for an image model, else the Try form's random inputs."""
    from triton_console.tui.core.classify import classifier
    from triton_console.tui.core.request import infer

    info = client.model_info(model)
    try:
        route = classifier.image_path(info, client.server_metadata().extensions)
        return classifier.request(_tiny_jpeg(), route)
    except ConsoleError as exc:
        if server_gone(exc):
            raise
    outputs = [OutputRequest(t.name) for t in info.metadata.outputs]
    encoded = _encoded_bytes_inputs(info)
    if encoded:  # a decoder (the seed's preprocess): file bytes of any length, as UINT8 [-1]
        import numpy as np

        data = np.frombuffer(_tiny_jpeg(), dtype=np.uint8)
        data = data[None, :] if info.batched else data
        return [InputTensor(name, "UINT8", data) for name in encoded], outputs
    plans = infer.plan_inputs(info, limit=client.connection.max_response_bytes)
    inputs = [InputTensor(p.name, p.datatype, p.array) for p in plans]
    return inputs, outputs


def _encoded_bytes_inputs(info) -> list[str]:
    """The inputs' names when every input is UINT8 of one variable dimension (an encoded file's bytes, which
    random data cannot stand in for: the model would refuse it, saying nothing of its health), else []."""
    specs = info.metadata.inputs
    shape = lambda t: list(t.shape[1:] if info.batched else t.shape)  # noqa: E731
    if specs and all(t.datatype == "UINT8" and shape(t) == [-1] for t in specs):
        return [t.name for t in specs]
    return []


def probe(client: TritonClient, model: str) -> ProbeResult:
    """One request within the model's deadline; its outcome also lands in the client's health record."""
    try:
        inputs, outputs = probe_request(client, model)
        _, ms = client.infer(model, inputs, outputs)
    except ConsoleError as exc:
        if server_gone(exc):
            raise
        verdict = client.health.verdict(model)
        return ProbeResult(model, False, None, exc.message, exc.code, error_kind(exc), verdict is not None)
    return ProbeResult(model, True, ms)
