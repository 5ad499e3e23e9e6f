"""Cold start and warm-up: how slow a model's first request after a load is against its warm p50, and the
``model_warmup`` block that moves that cost into the load (Triton runs the warm-up requests before the model
turns READY, so the first user request meets a warm model).

The request is the one the Try form and ``infer`` build from the model's metadata (infer.plan_inputs); the
warm-up block is Triton's own ModelWarmup message (model_config_pb2), printed with text_format.
"""

from __future__ import annotations

import statistics
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from triton_console.common import fsutil
from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.client import TritonClient

WARM_REQUESTS = 5  # after the first: enough for a p50 in well under a second on a small model
KINDS = ("zero", "random")
MAX_SAMPLE_BYTES = 64 << 20  # a warm-up sample is one request's worth of data


@dataclass
class ColdStart:
    """The first request after a load against the warm ones; ``reason`` says why nothing was measured."""

    model: str
    has_warmup: bool
    first_ms: float | None = None
    warm_p50_ms: float | None = None
    reason: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.first_ms is None or not self.warm_p50_ms:
            return None
        return self.first_ms / self.warm_p50_ms

    def describe(self) -> str:
        warmup = "model_warmup in the config" if self.has_warmup else "no model_warmup in the config"
        if self.first_ms is None:
            return f"not measured: {self.reason}; {warmup}"
        ratio = f" ({self.ratio:.1f}×)" if self.ratio is not None else ""
        return f"first request {self.first_ms:.1f} ms, warm p50 {self.warm_p50_ms:.1f} ms{ratio}; {warmup}"

    def to_dict(self) -> dict:
        def r(x):
            return None if x is None else round(x, 3)

        return {
            "model": self.model,
            "first_request_ms": r(self.first_ms),
            "warm_p50_ms": r(self.warm_p50_ms),
            "model_warmup": self.has_warmup,
            "reason": self.reason,
        }


def has_warmup(config) -> bool:
    return len(config.model_warmup) > 0


def tiny_jpeg() -> bytes:
    """A valid 32x32 grey JPEG made in memory: an encoded-image model's sample when no image is at hand
    (random bytes do not decode, so the request failed and the first request was never measured)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (128, 128, 128)).save(out, format="JPEG")
    return out.getvalue()


TINY_JPEG = "a 32x32 JPEG made here"


def small_request(client: TritonClient, model: str, image: str | None = None):
    """A sample request for ``model``, the one place that makes it: batch 1 from the model's metadata
    (random data; a variable dimension taken as 1); an image classifier gets ``image`` instead, and one that
    takes encoded images without ``image`` a tiny JPEG made in memory (random bytes fail to decode)."""
    from triton_console.tui.core.request import infer

    info = client.model_info(model)
    specs: dict[str, str] = {}
    encoded = None  # the input fed the tiny JPEG
    try:
        from triton_console.tui.core.classify import classifier

        route = classifier.image_path(info)
    except ConsoleError:
        route = None  # not an image classifier: random data as for any model
    if route is not None:
        if image is not None:
            specs[route.input.name] = f"@{image}" if route.kind in ("bytes", "string") else f"image:{image}"
        elif route.kind in ("bytes", "string"):
            encoded = route.input.name
    batched = info.batched
    shapes = {}
    for t in info.metadata.inputs:
        dims = list(t.shape[1:] if batched else t.shape)
        if -1 in dims and t.name not in specs:
            shapes[t.name] = ",".join("1" if d == -1 else str(d) for d in dims)
    plans = infer.plan_inputs(info, specs, shapes)
    if encoded is not None:
        plans = [
            infer.bytes_plan(info, p.name, tiny_jpeg(), TINY_JPEG) if p.name == encoded else p for p in plans
        ]
    return plans


def measure(
    client: TritonClient, model: str, config=None, warm: int = WARM_REQUESTS, image: str | None = None
) -> ColdStart:
    """Time the first request (call this right after the load) and ``warm`` more (``image``: what an image
    classifier gets); never raises for the model's sake: a request that cannot be built or fails is the
    ``reason``."""
    from triton_console.tui.core.request import infer

    try:
        config = config if config is not None else client.model_config(model)
        out = ColdStart(model, has_warmup(config))
    except ConsoleError as exc:
        return ColdStart(model, False, reason=exc.message)
    try:
        plans = small_request(client, model, image)
        t0 = time.perf_counter()
        infer.run(client, model, plans)
        out.first_ms = (time.perf_counter() - t0) * 1000.0
        times = []
        for _ in range(warm):
            t0 = time.perf_counter()
            infer.run(client, model, plans)
            times.append((time.perf_counter() - t0) * 1000.0)
        out.warm_p50_ms = statistics.median(times) if times else None
    except ConsoleError as exc:
        out.reason = exc.message
    return out


# ------------------------------------------------------------------------------------------ warm-up block


def warmup_block(config, kind: str = "zero", count: int = 1, files: dict[str, str] | None = None):
    """A ModelWarmup feeding every input of ``config``: zero or random data of its dtype and dims (a variable
    dimension as 1; BYTES inputs always zero data, i.e. empty strings, unless ``files`` names a file in the
    model's ``warmup/`` folder, see :func:`write_sample`). Named ``warmup_<kind>``, ``warmup_<kind>_sample``
    where files feed some inputs, ``warmup_sample`` where they feed all."""
    from tritonclient.grpc import model_config_pb2 as pb

    if kind not in KINDS:
        raise ConsoleError(f"warm-up data {kind!r}: zero or random", exit_code=EXIT_USAGE)
    if count < 1:
        raise ConsoleError("warm-up count must be at least 1", exit_code=EXIT_USAGE)
    if not config.input:
        raise ConsoleError(f"{config.name}: the config declares no inputs to warm up", exit_code=EXIT_USAGE)
    files = files or {}
    fed = [t.name for t in config.input if t.name in files]
    name = "warmup_sample" if len(fed) == len(config.input) else f"warmup_{kind}" + ("_sample" if fed else "")
    w = pb.ModelWarmup(name=name, batch_size=1, count=count)
    for t in config.input:
        i = w.inputs[t.name]
        i.data_type = t.data_type
        i.dims.extend([1 if d == -1 else d for d in t.dims])
        if t.name in files:
            i.input_data_file = files[t.name]
        elif kind == "random" and t.data_type != pb.TYPE_STRING:
            i.random_data = True
        else:
            i.zero_data = True
    return w


def block_text(warmup) -> str:
    """The block as it reads inside a config.pbtxt."""
    from google.protobuf import text_format

    body = text_format.MessageToString(warmup, indent=2)
    return "model_warmup [\n  {\n" + "".join(f"  {ln}\n" for ln in body.splitlines()) + "  }\n]\n"


def insert(text: str, warmup) -> str:
    """``text`` with the block appended (the editor's insert; the caller checks the result parses)."""
    return text.rstrip("\n") + "\n" + block_text(warmup)


def bytes_inputs(config) -> list[str]:
    """The config's BYTES (TYPE_STRING) inputs: random data cannot feed them, a sample file can."""
    from tritonclient.grpc import model_config_pb2 as pb

    return [t.name for t in config.input if t.data_type == pb.TYPE_STRING]


def read_sample(path: str | Path) -> bytes:
    """A sample file's bytes (an image, a text), bounded; one line when it cannot be read."""
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ConsoleError(f"warm-up sample {path}: not a file", exit_code=EXIT_USAGE)
        if size > MAX_SAMPLE_BYTES:
            raise ConsoleError(
                f"warm-up sample {path}: {size / 2**20:.0f} MiB, more than {MAX_SAMPLE_BYTES >> 20} MiB",
                exit_code=EXIT_USAGE,
            )
        return path.read_bytes()
    except OSError as exc:
        raise ConsoleError(f"warm-up sample {path}: {exc.strerror or exc}", exit_code=EXIT_USAGE) from None


def write_sample(model_dir: Path, input_name: str, sample: str | bytes) -> str:
    """Write ``sample`` as one BYTES element (Triton's layout: a 4-byte little-endian length, then the bytes)
    into ``<model_dir>/warmup/<input>.bin``; returns the name for ``input_data_file``. An existing file of
    another content is not overwritten."""
    data = sample.encode() if isinstance(sample, str) else bytes(sample)
    raw = struct.pack("<I", len(data)) + data
    name = f"{input_name}.bin"
    path = Path(model_dir) / "warmup" / name
    if path.exists() and path.read_bytes() != raw:
        raise ConsoleError(f"{path} exists with other data: not overwritten", exit_code=EXIT_USAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    fsutil.write_bytes(path, raw)
    return name
