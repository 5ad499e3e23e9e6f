"""Classify images with any image classifier a v2 server serves, choosing the path from the model's metadata.

Three ways an image can reach a model:

- ``bytes``: encoded file bytes in a UINT8 ``[-1]`` input (the generated ensembles, the seed's contract);
- ``string``: encoded file bytes as one BYTES element (Triton's DALI and ``ensemble_image`` examples);
- ``tensor``: a 3-dimensional FP32/FP16/UINT8/INT8 input, CHW or HWC (from the config's ``format``, else from
  which dimension is 1 or 3), prepared here: decode, resize and centre crop to the model's H×W, RGB or BGR, and
  a scaling — ``none``, ``inception`` and ``vgg`` exactly as Triton's ``image_client.py`` defines them, or
  ``imagenet`` (torchvision's mean/std, the recipe of the generated backbones).

Outputs: Triton's classification extension (``class_count``) where the server has it, else softmax and top-k
here; labels from the server, else a label list given by the caller, else ImageNet names for 1000 (or 1001,
background first) classes, else the indices.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace

import numpy as np

from triton_console.common.errors import EXIT_FAILED, EXIT_USAGE, ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.client import ModelInfo, TritonClient, check_model_name
from triton_console.tui.core.client.transport import InputTensor, OutputRequest

SCALINGS = ("none", "inception", "vgg", "imagenet")
ORDERS = ("rgb", "bgr")
TENSOR_TYPES = {"FP32": np.float32, "FP16": np.float16, "UINT8": np.uint8, "INT8": np.int8}
SCALING_PARAM = "triton_console.scaling"  # how the generated backbones say how to prepare their input
ORDER_PARAM = "triton_console.channel_order"


@dataclass(frozen=True)
class ImagePath:
    """How to send an image to one model, and how to read its answer."""

    kind: str  # "bytes" | "string" | "tensor"
    input: rs.TensorSpec
    output: rs.TensorSpec | None  # None: only the input side is known (infer's image:FILE)
    batched: bool
    classes: int  # C, or 0 when the output's size is not known in advance
    layout: str = ""  # tensor: "NCHW" | "NHWC"
    channels: int = 3
    height: int = 0
    width: int = 0
    scaling: str = "none"
    scaling_from: str = "default"  # "model" (declared in its config), "flag" (asked for), "default"
    order: str = "rgb"
    server_topk: bool = False  # the server has the classification extension
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "bytes":
            return f"encoded bytes → {self.input.name} UINT8"
        if self.kind == "string":
            return f"encoded bytes → {self.input.name} BYTES"
        return (
            f"tensor {self.input.name} {self.input.datatype} {self.layout} "
            f"{self.channels}x{self.height}x{self.width}, {self.order.upper()}, scaling {self.scaling} ({self.scaling_from})"
        )


@dataclass
class Classification:
    model: str
    top: list[rs.TopK]
    latency_ms: float
    untrained: bool = False
    path: str = ""  # ImagePath.describe()
    scores: str = "model"  # "model": values the model returns; "softmax": computed here from its outputs
    problems: list[str] = field(default_factory=list)
    # a fused model's own steps (ms) and its batch size, when it reports them
    timings: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {
            "model": self.model,
            "top": [
                {
                    "index": t.index,
                    "label": t.label,
                    "score": round(t.score, 6) if math.isfinite(t.score) else str(t.score),
                }
                for t in self.top
            ],
            "latency_ms": round(self.latency_ms, 3),
            "path": self.path,
            "scores": self.scores,
        }
        if self.timings:
            out["timings_ms"] = {k: round(v, 3) for k, v in self.timings}
        if self.problems:
            out["problems"] = self.problems
        return out


def _without_batch(spec: rs.TensorSpec, batched: bool) -> tuple[int, ...]:
    return spec.shape[1:] if batched and spec.shape else spec.shape


def _output(info: ModelInfo, batched: bool) -> tuple[rs.TensorSpec, int]:
    """The class-score output: the first whose shape is a vector ([C], [1, C], [C, 1, 1]...)."""
    for out in info.metadata.outputs:
        if out.datatype == "BYTES":
            continue
        dims = _without_batch(out, batched)
        big = [d for d in dims if d != 1]
        if len(big) == 1 and (big[0] == -1 or big[0] > 1):
            return out, max(big[0], 0)
    raise ConsoleError(
        f"{info.name} has no class-score output (a vector such as [C], [1, C] or [C, 1, 1])",
        exit_code=EXIT_USAGE,
    )


def _layout(info: ModelInfo, name: str, dims: tuple[int, ...]) -> tuple[str, list[str]]:
    notes = []
    fmt = ""
    if info.config is not None and info.config.input:
        from tritonclient.grpc import model_config_pb2 as mc

        for i in info.config.input:
            if i.name == name:
                fmt = mc.ModelInput.Format.Name(i.format)
    if fmt == "FORMAT_NCHW":
        return "NCHW", notes
    if fmt == "FORMAT_NHWC":
        return "NHWC", notes
    if dims[0] in (1, 3) and dims[2] not in (1, 3):
        notes.append("layout NCHW inferred from the shape (no format in the config)")
        return "NCHW", notes
    if dims[2] in (1, 3):
        notes.append("layout NHWC inferred from the shape (no format in the config)")
        return "NHWC", notes
    if dims[0] in (1, 3):
        return "NCHW", notes
    raise ConsoleError(
        f"{info.name}: cannot tell CHW from HWC in {list(dims)} (no dimension is 1 or 3)",
        exit_code=EXIT_USAGE,
    )


def image_path(
    info: ModelInfo, extensions: tuple[str, ...] = (), scaling: str | None = None, order: str | None = None
) -> ImagePath:
    """The path for ``info`` or a ConsoleError saying why it is not an image classifier."""
    if scaling is not None and scaling not in SCALINGS:
        raise ConsoleError(f"--scaling must be one of {', '.join(SCALINGS)}, not {scaling!r}")
    if order is not None and order not in ORDERS:
        raise ConsoleError(f"--channel-order must be rgb or bgr, not {order!r}")
    meta = info.metadata
    if len(meta.inputs) != 1:
        raise ConsoleError(
            f"{info.name} takes {len(meta.inputs)} inputs; an image classifier takes one",
            exit_code=EXIT_USAGE,
        )
    inp = meta.inputs[0]
    # without a config (non-Triton servers) a leading -1 is taken as the batch dimension
    batched = info.batched
    dims = _without_batch(inp, batched)
    out, classes = _output(info, batched)
    # Triton's classification extension refuses FP16/BF16 outputs ("unsupported type"): top-k here then
    server_topk = "classification" in extensions and out.datatype not in ("FP16", "BF16")
    if inp.datatype == "UINT8" and dims == (-1,):
        return ImagePath("bytes", inp, out, batched, classes, server_topk=server_topk)
    if inp.datatype == "BYTES" and dims in ((1,), (-1,), ()):
        return ImagePath("string", inp, out, batched, classes, server_topk=server_topk)
    if not batched and len(dims) == 4 and dims[0] in (1, -1):
        batched, dims = True, dims[1:]  # [1, C, H, W] without max_batch_size: the leading 1 is the batch
    if inp.datatype not in TENSOR_TYPES or len(dims) != 3:
        raise ConsoleError(
            f"{info.name} is not an image classifier the console knows: input {inp.name} is "
            f"{inp.datatype} {list(inp.shape)} (expected encoded bytes, or a 3-dimensional CHW/HWC tensor)",
            exit_code=EXIT_USAGE,
        )
    route = tensor_route(info, inp, dims, scaling, order)
    return replace(route, output=out, batched=batched, classes=classes, server_topk=server_topk)


def tensor_route(
    info: ModelInfo,
    inp: rs.TensorSpec,
    dims: tuple[int, ...],
    scaling: str | None = None,
    order: str | None = None,
) -> ImagePath:
    """How to prepare an image for the 3-dimensional tensor input ``inp`` (``dims`` without the batch)."""
    layout, notes = _layout(info, inp.name, dims)
    c, h, w = dims if layout == "NCHW" else (dims[2], dims[0], dims[1])
    if c not in (1, 3):
        raise ConsoleError(f"{info.name}: {c} channels; image inputs have 1 or 3", exit_code=EXIT_USAGE)
    if h == -1 or w == -1:
        notes.append("variable height/width: images are sent at 224x224")
        h, w = (224 if h == -1 else h), (224 if w == -1 else w)
    declared = info.parameter(SCALING_PARAM)
    if scaling is not None:
        chosen, source = scaling, "flag"
    elif declared in SCALINGS:
        chosen, source = declared, "model"
    else:
        chosen, source = "none", "default"
    declared_order = info.parameter(ORDER_PARAM)
    chosen_order = order or (declared_order if declared_order in ORDERS else "rgb")
    return ImagePath(
        "tensor", inp, None, False, 0, layout, c, h, w, chosen, source, chosen_order, False, tuple(notes)
    )


def _decoder():
    """The one decoder (preprocessing), imported when a tensor-input model needs it: it imports Pillow
    (~15 ms), which a one-shot classify through a bytes-input model (the decode runs on the server) never
    uses (tests/test_startup.py)."""
    from triton_console.tui.core.classify import preprocessing

    return preprocessing


def scale(pixels: np.ndarray, scaling: str) -> np.ndarray:
    """HWC float32 pixels in 0..255 (RGB order) → the model's value range."""
    x = pixels.astype(np.float32, copy=False)
    if scaling == "inception":
        return x / 127.5 - 1.0
    if scaling == "vgg":
        mean = np.array([128.0] if x.shape[-1] == 1 else [123.0, 117.0, 104.0], dtype=np.float32)
        return x - mean
    if scaling == "imagenet":
        if x.shape[-1] == 1:
            return (x / 255.0 - 0.449) / 0.226
        # the one decoder's arithmetic (x * SCALE + BIAS), so tensors equal the server-side preprocess
        preprocessing = _decoder()
        return x * preprocessing.SCALE.reshape(1, 1, 3) + preprocessing.BIAS.reshape(1, 1, 3)
    return x


def image_tensor(data: bytes, path: ImagePath) -> np.ndarray:
    """Encoded image bytes → the input tensor ``path`` describes (without the batch dimension)."""
    img = _decoder().decode(data, path.width, path.height)
    if path.channels == 1:
        img = img.convert("L")
    pixels = np.asarray(img, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = scale(pixels, path.scaling)
    if path.order == "bgr" and path.channels == 3:
        x = x[:, :, ::-1]
    if path.layout == "NCHW":
        x = x.transpose(2, 0, 1)
    dtype = TENSOR_TYPES[path.input.datatype]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = np.clip(np.rint(x), info.min, info.max)
    return np.ascontiguousarray(x, dtype=dtype)


def request(data: bytes, path: ImagePath) -> tuple[list[InputTensor], list[OutputRequest]]:
    """The inputs and outputs of one classification request for ``path``."""
    if path.kind == "bytes":
        arr = np.frombuffer(data, dtype=np.uint8)
        arr = arr.reshape(1, -1) if path.batched else arr
        dtype = "UINT8"
    elif path.kind == "string":
        arr = np.array([data], dtype=np.object_)
        arr = arr.reshape(1, 1) if path.batched and len(path.input.shape) > 1 else arr
        dtype = "BYTES"
    else:
        arr = image_tensor(data, path)
        arr = arr[None] if path.batched else arr
        dtype = path.input.datatype
    return [InputTensor(path.input.name, dtype, arr)], [OutputRequest(path.output.name)]


def check_many(path: ImagePath) -> None:
    """Raises (exit 2) when the model's image input cannot hold several images in one request: no batch
    dimension, or a UINT8 ``[-1]`` input (one encoded file). Asked once, before any request: it is the same
    for every image (classify --batch K had printed it once per image and exited 1)."""
    if not path.batched:
        raise ConsoleError(
            f"{path.input.name} has no batch dimension: one image per request", exit_code=EXIT_USAGE
        )
    if path.kind == "bytes":
        raise ConsoleError(
            f"{path.input.name} is UINT8 {list(path.input.shape)}: it holds one encoded image per request; "
            "several need a BYTES input (build --layout fused-bytes)",
            exit_code=EXIT_USAGE,
        )


def request_many(datas: list[bytes], path: ImagePath) -> tuple[list[InputTensor], list[OutputRequest]]:
    """One request carrying ``len(datas)`` images along the batch dimension. A UINT8 ``[-1]`` input holds
    one file per request (files differ in length); BYTES and tensor inputs with a batch dimension hold k."""
    if len(datas) == 1:
        return request(datas[0], path)
    check_many(path)
    if path.kind == "string":
        arr = np.empty(len(datas), dtype=np.object_)
        arr[:] = datas
        arr = arr.reshape(len(datas), 1) if len(path.input.shape) > 1 else arr
        dtype = "BYTES"
    else:
        arr = np.stack([image_tensor(d, path) for d in datas])
        dtype = path.input.datatype
    return [InputTensor(path.input.name, dtype, arr)], [OutputRequest(path.output.name)]


def softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.full_like(x, np.nan)
    e = np.exp(np.where(finite, x - x[finite].max(), -np.inf))
    return np.where(finite, e / e.sum(), np.nan)


def looks_like_probabilities(x: np.ndarray) -> bool:
    finite = x[np.isfinite(x)]
    return (
        finite.size == x.size
        and bool((finite >= 0).all() and (finite <= 1).all())
        and abs(float(finite.sum()) - 1) < 1e-3
    )


def looks_like_scores(arr: np.ndarray, batched: bool) -> bool:
    """A float output that is one vector of at least five values per request: class scores, probably."""
    if arr.dtype.kind != "f" or arr.size < 5:
        return False
    shape = arr.shape[1:] if batched and arr.ndim else arr.shape
    return len([d for d in shape if d != 1]) == 1


def imagenet_label(index: int, classes: int) -> str:
    from triton_console.common.labels import imagenet_labels

    names = imagenet_labels()
    if classes == 1000 and 0 <= index < 1000:
        return names[index]
    if classes == 1001:
        return "background" if index == 0 else names[index - 1] if index <= 1000 else ""
    return ""


def top_k(values: np.ndarray, k: int, labels: list[str] | None = None) -> tuple[list[rs.TopK], str]:
    """Client-side top-k: softmax unless the values already are probabilities; NaN/Inf sort last."""
    flat = np.asarray(values).reshape(-1)
    probs, kind = (
        (flat.astype(np.float64), "model") if looks_like_probabilities(flat) else (softmax(flat), "softmax")
    )
    key = np.where(np.isfinite(probs), -probs, np.inf)
    order = np.argsort(key, kind="stable")[:k]
    return [rs.TopK(int(i), _label(int(i), flat.size, labels), float(probs[i])) for i in order], kind


def _label(index: int, classes: int, labels: list[str] | None) -> str:
    if labels is not None:
        return labels[index] if 0 <= index < len(labels) else ""
    return imagenet_label(index, classes)


def classify(
    client: TritonClient,
    model: str,
    data: bytes,
    k: int = 5,
    *,
    path: ImagePath | None = None,
    scaling: str | None = None,
    order: str | None = None,
    labels: list[str] | None = None,
) -> Classification:
    """One image through ``model`` on the path its metadata calls for; top-k best first."""
    return classify_many(client, model, [data], k, path=path, scaling=scaling, order=order, labels=labels)[0]


def classify_many(
    client: TritonClient,
    model: str,
    datas: list[bytes],
    k: int = 5,
    *,
    path: ImagePath | None = None,
    scaling: str | None = None,
    order: str | None = None,
    labels: list[str] | None = None,
) -> list[Classification]:
    """``len(datas)`` images in one request (see :func:`request_many`), one Classification each, all with
    the request's latency."""
    check_model_name(model)
    if not 1 <= k <= 1000:
        raise ConsoleError(f"top-k must be 1..1000, got {k}")
    info = client.model_info(model)
    if path is None:
        path = image_path(info, client.server_metadata().extensions, scaling, order)
    try:
        inputs, outputs = request_many(datas, path)
    except _decoder().ImageError as exc:  # evaluated only when something was raised
        raise ConsoleError(str(exc), exit_code=EXIT_FAILED) from None
    if path.server_topk:
        outputs = [OutputRequest(o.name, class_count=_class_count(path, k)) for o in outputs]
    has_timings = any(t.name == TIMINGS and t.shape[-1] == 4 for t in info.metadata.outputs)
    if has_timings:
        outputs = [*outputs, OutputRequest(TIMINGS)]
    result, latency = client.infer(model, inputs, outputs)
    n = len(datas)
    raws = _rows(result[path.output.name], n, path.output.name)
    times = _rows(result[TIMINGS], n, TIMINGS) if has_timings and result.get(TIMINGS) is not None else None
    return [
        _one(model, info, path, raws[i], latency, k, labels, _timings(times[i]) if times is not None else [])
        for i in range(n)
    ]


def probabilities(top: list[rs.TopK]) -> bool:
    """Whether scores can be probabilities: each in [0, 1], their sum at most 1 (a server's top-k of a model
    without its softmax gives its logits: ``sports car (9.779)`` where the ensemble says 0.735)."""
    scores = [t.score for t in top]
    return all(math.isfinite(v) and 0 <= v <= 1 for v in scores) and sum(scores) <= 1 + 1e-3


def _rows(raw: np.ndarray, n: int, name: str) -> list[np.ndarray]:
    """An output split into one part per image of a request (one image: the output as it is)."""
    if n == 1:
        return [raw]
    if raw.ndim == 0 or raw.shape[0] != n:
        raise ConsoleError(
            f"{name}: {list(raw.shape)} for a request of {n} images (expected {n} rows)",
            exit_code=EXIT_FAILED,
        )
    return list(raw)


ALL_CLASSES_MAX = 100_000  # a tensor model's every class asked of the server up to this many (strings)


def _class_count(path: ImagePath, k: int) -> int:
    """How many classes to ask of the server's classification extension: ``k``, except for a tensor-input
    model (a backbone, whose output is most often logits) of known size, which gives all of them, so that
    softmax over the whole output can be computed here (the server's top-k of logits is no probability:
    ``sports car (9.779)`` where the ensemble says 0.735)."""
    if path.kind == "tensor" and 0 < path.classes <= ALL_CLASSES_MAX:
        return max(k, path.classes)
    return k


def _one(model, info, path, raw, latency, k, labels, timings) -> Classification:
    """One image's Classification from its part of the output."""
    if path.server_topk:
        parsed = rs.classes(raw.reshape(-1))
        items, kind = parsed.items, "model"
        if len(items) > k and len(items) == path.classes:  # the whole output (_class_count): softmax unless
            scores = np.array([t.score for t in items], dtype=np.float64)  # it already is probabilities
            if not looks_like_probabilities(scores):
                items = [
                    rs.TopK(t.index, t.label, float(p)) for t, p in zip(items, softmax(scores), strict=True)
                ]
                kind = "softmax"
        top = sorted(items, key=rs.score_key)[:k]
        classes = path.classes
        top = [t if t.label else rs.TopK(t.index, _label(t.index, classes, labels), t.score) for t in top]
        if not top and parsed.problems:
            raise ConsoleError(parsed.problems[0], exit_code=EXIT_FAILED)
        return Classification(
            model, top, latency, info.untrained, path.describe(), kind, parsed.problems, timings
        )
    if raw.dtype == np.object_:
        raise ConsoleError(f"{model} returned BYTES where class scores were expected", exit_code=EXIT_FAILED)
    top, kind = top_k(raw, k, labels)
    return Classification(model, top, latency, info.untrained, path.describe(), kind, timings=timings)


TIMINGS = "TIMINGS"  # the fused model's [decode, backbone, softmax ms, batch size] per request


def _timings(raw) -> list[tuple[str, float]]:
    if raw is None:
        return []
    values = np.asarray(raw, dtype=np.float64).reshape(-1)
    if values.size < 4 or not np.isfinite(values[:4]).all():
        return []
    return [
        ("decode", float(values[0])),
        ("backbone", float(values[1])),
        ("softmax", float(values[2])),
        ("batch", float(values[3])),
    ]


def stand_in(routes: dict[str, ImagePath]) -> str | None:
    """The model to classify with when none is named (or the one chosen is gone): a whole pipeline, which takes
    encoded images and gives its own scores (the generated ensembles first, then a fused model), before a
    backbone that takes a tensor and answers with logits (it came first by name: efficientnet_lite0_ort sorts
    before fused_python_efficientnet_lite0, and a newcomer got logits with the fused model ready)."""
    from triton_console.tui.core.client.client import preferred_model

    whole = [name for name, route in routes.items() if route.kind != "tensor"]
    return preferred_model(whole) or preferred_model(list(routes))


def image_models(client: TritonClient, names: list[str]) -> dict[str, ImagePath]:
    """Which of ``names`` (ready models) can classify images, and how; the others are left out."""
    if not names:  # nothing to ask the server
        return {}
    exts = ()
    with contextlib.suppress(ConsoleError):
        exts = client.server_metadata().extensions
    out: dict[str, ImagePath] = {}
    for name in names:
        try:
            out[name] = image_path(client.model_info(name), exts)
        except ConsoleError:
            continue
    return out
