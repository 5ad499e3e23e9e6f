"""One request to any model, its inputs made from the model's metadata and a SPEC per input.

SPEC (``--input NAME=SPEC``; inputs not named get ``random``):

- ``random``: dtype-aware — floats in [0, 1), integers in a small range, BOOL, BYTES as short strings;
- ``zeros`` / ``ones``;
- ``@FILE.npy`` (a numpy array), ``@FILE.json`` (a list, nested as the shape);
- ``text:STRING`` (a BYTES element);
- ``@FILE`` (any other file: its bytes, for a UINT8 ``[-1]`` or BYTES input);
- ``image:FILE`` (decoded and prepared for a 3-dimensional tensor input, as classify does; for an input of
  encoded bytes, UINT8 ``[-1]`` or BYTES, the file's bytes as they are).

Shapes come from the metadata: the batch dimension (a model with ``max_batch_size`` > 0) from ``batch``,
a variable dimension from ``--shape NAME=D1,D2`` (without the batch dimension) or from the data itself.
Everything that does not fit is one clear :class:`ConsoleError` naming the input and what to pass.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.client import ModelInfo, TritonClient, check_model_name
from triton_console.tui.core.client.transport import InputTensor, OutputRequest
from triton_console.tui.core.request import ensemble

MAX_FILE = 256 * 2**20
# hint codes (ConsoleError.code) of inputs a request cannot be made from: each surface words what to give
ENCODED_IMAGES = "input-encoded-images"  # an encoded-image input (UINT8 [-1], BYTES) got random/zeros/ones
VARIABLE_SHAPE = "input-variable-shape"  # a variable dimension and no shape for it
VALUES_SHOWN = 16
INTEGERS = ("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64")
FLOATS = ("FP16", "FP32", "FP64", "BF16")


def np_dtype(datatype: str):
    from tritonclient.utils import triton_to_np_dtype

    dtype = triton_to_np_dtype(datatype)
    if dtype is None:
        raise ConsoleError(f"datatype {datatype} is not supported by this client", exit_code=EXIT_USAGE)
    return dtype


@dataclass(frozen=True)
class Spec:
    kind: str  # random | zeros | ones | npy | json | text | bytes | image
    value: str = ""

    def __str__(self) -> str:
        return {"text": f"text:{self.value}", "image": f"image:{self.value}"}.get(
            self.kind, f"@{self.value}" if self.kind in ("npy", "json", "bytes") else self.kind
        )


def parse_spec(text: str) -> Spec:
    if text in ("random", "zeros", "ones"):
        return Spec(text)
    if text.startswith("text:"):
        return Spec("text", text[5:])
    if text.startswith("image:"):
        return Spec("image", str(Path(text[6:]).expanduser()))
    if text.startswith("@") and len(text) > 1:
        path = str(Path(text[1:]).expanduser())
        suffix = Path(path).suffix.lower()
        return Spec("npy" if suffix == ".npy" else "json" if suffix == ".json" else "bytes", path)
    raise ConsoleError(
        f"input SPEC {text[:60]!r}: use random, zeros, ones, @FILE.npy, @FILE.json, @FILE, text:STRING or image:FILE"
    )


def parse_assignments(items: list[str], what: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs of --input/--shape."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConsoleError(f"{what} {item[:60]!r}: expected NAME=VALUE")
        out[name] = value
    return out


def parse_dims(text: str, name: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise ConsoleError(f"--shape {name}={text}: dimensions must be integers, e.g. 3,224,224") from None
    if not dims or any(d < 0 or d > rs.MAX_DIM for d in dims):
        raise ConsoleError(f"--shape {name}={text}: dimensions must be 0 or more")
    return dims


@dataclass
class InputPlan:
    name: str
    datatype: str
    shape: tuple[int, ...]
    source: str
    array: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "datatype": self.datatype,
            "shape": list(self.shape),
            "source": self.source,
        }


@dataclass
class OutputSummary:
    name: str
    datatype: str
    shape: tuple[int, ...]
    min: float | None
    max: float | None
    mean: float | None
    nan: int
    values: list
    array: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        def num(x):
            return None if x is None else (x if math.isfinite(x) else str(x))

        return {
            "name": self.name,
            "datatype": self.datatype,
            "shape": list(self.shape),
            "min": num(self.min),
            "max": num(self.max),
            "mean": num(self.mean),
            "nan": self.nan,
            "values": [num(v) if isinstance(v, float) else v for v in self.values],
        }


@dataclass
class InferResult:
    model: str
    version: str
    latency_ms: float
    inputs: list[InputPlan]
    outputs: list[OutputSummary]

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "version": self.version,
            "latency_ms": round(self.latency_ms, 3),
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
        }


# ------------------------------------------------------------------------------------------ inputs


def _read(path: str) -> bytes:
    """An input file's bytes (``@FILE``, ``image:FILE``); one ConsoleError naming it otherwise, coded as the
    images of classify and bench are: ``no-such-file`` (not there) or ``unreadable-file`` (a folder, over the
    limit, no access)."""
    import os
    import stat

    from triton_console.tui.core.classify.images import os_message
    from triton_console.tui.core.client.codes import UNREADABLE_FILE, file_code

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a folder, or a pipe or device that could block or never end
            what = "is a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ConsoleError(f"{path}: {what}", exit_code=EXIT_USAGE, code=UNREADABLE_FILE)
        if st.st_size > MAX_FILE:
            raise ConsoleError(
                f"{path}: {st.st_size / 2**20:.0f} MiB, over the {MAX_FILE // 2**20} MiB limit",
                exit_code=EXIT_USAGE,
                code=UNREADABLE_FILE,
            )
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConsoleError(f"{path}: {os_message(exc)}", exit_code=EXIT_USAGE, code=file_code(exc)) from None


def _random(datatype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if datatype == "BYTES":
        words = rng.integers(0, 26, size=(*shape, 6))
        flat = ["".join(chr(97 + int(c)) for c in w).encode() for w in words.reshape(-1, 6)]
        return np.array(flat, dtype=np.object_).reshape(shape)
    if datatype == "BOOL":
        return rng.integers(0, 2, size=shape).astype(bool)
    if datatype in INTEGERS:
        low = 0 if datatype.startswith("U") else -8
        return rng.integers(low, low + 16, size=shape).astype(np_dtype(datatype))
    return rng.random(size=shape, dtype=np.float64).astype(np_dtype(datatype))


def _fill(datatype: str, shape: tuple[int, ...], value: int) -> np.ndarray:
    if datatype == "BYTES":
        return np.full(shape, str(value).encode(), dtype=np.object_)
    return np.full(shape, value, dtype=np_dtype(datatype))


def _cast(arr: np.ndarray, datatype: str, name: str, source: str) -> np.ndarray:
    """The data as the input's dtype, refusing a different kind (text for numbers, floats for integers)."""
    if datatype == "BYTES":
        if arr.dtype.kind in ("U", "S", "O"):
            return np.array(
                [v.encode() if isinstance(v, str) else v for v in arr.reshape(-1)], dtype=np.object_
            ).reshape(arr.shape)
        raise ConsoleError(
            f"input {name} is BYTES but {source} holds {arr.dtype} numbers", exit_code=EXIT_USAGE
        )
    target = np.dtype(np_dtype(datatype))
    if arr.dtype.kind in ("U", "S", "O"):
        raise ConsoleError(f"input {name} is {datatype} but {source} holds text", exit_code=EXIT_USAGE)
    if datatype == "BOOL":
        if arr.dtype.kind != "b":
            raise ConsoleError(f"input {name} is BOOL but {source} holds {arr.dtype}", exit_code=EXIT_USAGE)
        return arr
    if arr.dtype.kind == "b" or (arr.dtype.kind == "f" and datatype in INTEGERS):
        raise ConsoleError(f"input {name} is {datatype} but {source} holds {arr.dtype}", exit_code=EXIT_USAGE)
    if arr.dtype.kind in "iu" and datatype in INTEGERS:
        info = np.iinfo(target)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise ConsoleError(
                f"input {name} is {datatype}: {source} holds values outside {info.min}..{info.max}",
                exit_code=EXIT_USAGE,
            )
    return arr.astype(target)


def _load(spec: Spec, name: str, datatype: str) -> np.ndarray:
    if spec.kind == "npy":
        import io

        try:
            arr = np.load(io.BytesIO(_read(spec.value)), allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ConsoleError(
                f"{spec.value}: not a .npy array ({rs.clip(str(exc), 120)})", exit_code=EXIT_USAGE
            ) from None
        return _cast(arr, datatype, name, spec.value)
    if spec.kind == "json":
        try:
            data = json.loads(_read(spec.value))
            arr = np.array(data, dtype=np.object_ if datatype == "BYTES" else None)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ConsoleError(
                f"{spec.value}: not a JSON list of numbers ({rs.clip(str(exc), 120)})", exit_code=EXIT_USAGE
            ) from None
        if arr.dtype == np.object_ and datatype != "BYTES":
            raise ConsoleError(
                f"{spec.value}: a ragged or mixed list cannot be input {name} ({datatype})",
                exit_code=EXIT_USAGE,
            )
        return _cast(arr, datatype, name, spec.value)
    if spec.kind == "text":
        if datatype != "BYTES":
            raise ConsoleError(f"text:… is BYTES data but input {name} is {datatype}", exit_code=EXIT_USAGE)
        return np.array([spec.value.encode()], dtype=np.object_)
    if spec.kind == "bytes":
        return _bytes(_read(spec.value), name, datatype, f"@{spec.value}")
    raise AssertionError(spec.kind)


def _bytes(data: bytes, name: str, datatype: str, source: str) -> np.ndarray:
    """One element of encoded data (a file's bytes) for a BYTES or UINT8 [-1] input."""
    if datatype == "BYTES":
        return np.array([data], dtype=np.object_)
    if datatype == "UINT8":
        return np.frombuffer(data, dtype=np.uint8)
    raise ConsoleError(
        f"{source}: a file's bytes fit a UINT8 [-1] or BYTES input; input {name} is {datatype} (use @FILE.npy)",
        exit_code=EXIT_USAGE,
    )


def bytes_plan(info: ModelInfo, name: str, data: bytes, source: str) -> InputPlan:
    """Input ``name`` of one request (batch 1) holding ``data`` (an encoded image made in memory, say)."""
    tensor = next(t for t in info.metadata.inputs if t.name == name)
    batched = info.batched
    dims = list(tensor.shape[1:] if batched else tensor.shape)
    arr = _fit(_bytes(data, name, tensor.datatype, source), dims, batched, 1, tensor, source)
    return InputPlan(name, tensor.datatype, tuple(arr.shape), source, arr)


def _image(
    spec: Spec, info: ModelInfo, tensor: rs.TensorSpec, batched: bool, scaling: str | None
) -> np.ndarray:
    from triton_console.tui.core.classify import classifier, preprocessing

    dims = tensor.shape[1:] if batched else tensor.shape
    if takes_bytes(tensor, batched):  # encoded images in (the ensembles' INPUT): the file is what they decode
        return _load(Spec("bytes", spec.value), tensor.name, tensor.datatype)
    if tensor.datatype not in classifier.TENSOR_TYPES or len(dims) != 3:
        raise ConsoleError(
            f"image:… needs a 3-dimensional FP32/FP16/UINT8/INT8 image input; input {tensor.name} is "
            f"{tensor.datatype} {list(tensor.shape)}",
            exit_code=EXIT_USAGE,
        )
    route = classifier.tensor_route(info, tensor, dims, scaling)
    try:
        return classifier.image_tensor(_read(spec.value), route)
    except preprocessing.ImageError as exc:
        raise ConsoleError(f"{spec.value}: {exc}", exit_code=EXIT_USAGE) from None


def takes_bytes(tensor: rs.TensorSpec, batched: bool) -> bool:
    """An input of a file's bytes: BYTES, or UINT8 with one variable dimension."""
    dims = list(tensor.shape[1:] if batched else tensor.shape)
    return tensor.datatype == "BYTES" or (tensor.datatype == "UINT8" and dims == [-1])


def plan_inputs(
    info: ModelInfo,
    specs: dict[str, str] | None = None,
    shapes: dict[str, str] | None = None,
    batch: int = 1,
    seed: int = 0,
    scaling: str | None = None,
    limit: int = 256 * 2**20,
    images_how: str | None = None,
) -> list[InputPlan]:
    """Every input of the model, with its data (specs and shapes by input name; others random).
    ``images_how``: how the caller's command takes images, said when an encoded-image input got none (else
    infer's ways)."""
    specs, shapes = dict(specs or {}), dict(shapes or {})
    names = [t.name for t in info.metadata.inputs]
    for name in list(specs) + list(shapes):
        if name not in names:
            raise ConsoleError(
                f"{info.name} has no input {name!r} (its inputs: {', '.join(names)})", exit_code=EXIT_USAGE
            )
    if batch < 1:
        raise ConsoleError("--batch must be at least 1")
    batched = info.batched
    if batched and info.max_batch_size and batch > info.max_batch_size:
        raise ConsoleError(
            f"--batch {batch} is over {info.name}'s max_batch_size {info.max_batch_size}",
            exit_code=EXIT_USAGE,
        )
    if not batched and batch != 1:
        raise ConsoleError(
            f"{info.name} does not batch (max_batch_size 0): --batch must be 1", exit_code=EXIT_USAGE
        )
    rng = np.random.default_rng(seed)
    plans, total = [], 0
    for tensor in info.metadata.inputs:
        spec = parse_spec(specs.get(tensor.name, "random"))
        dims = list(tensor.shape[1:] if batched else tensor.shape)
        if tensor.name in shapes:
            given = parse_dims(shapes[tensor.name], tensor.name)
            if len(given) != len(dims) or any(d != -1 and d != g for d, g in zip(dims, given, strict=False)):
                raise ConsoleError(
                    f"--shape {tensor.name}={shapes[tensor.name]} does not fit its declared shape {dims} "
                    f"(without the batch dimension)",
                    exit_code=EXIT_USAGE,
                )
            dims = list(given)
        if spec.kind in ("random", "zeros", "ones"):
            if -1 in dims and takes_image_files(info):
                how = images_how or (
                    f"infer: `triton-console infer {info.name} --input {tensor.name}=@car.jpg`, or the image "
                    "after the model's name"
                )
                raise ConsoleError(
                    f"{info.name} takes encoded images in {tensor.name}: give image files or a folder ({how})",
                    exit_code=EXIT_USAGE,
                    code=ENCODED_IMAGES,
                )
            if -1 in dims:
                raise ConsoleError(
                    f"input {tensor.name} has a variable dimension {dims}: pass --shape {tensor.name}="
                    + ",".join("N" if d == -1 else str(d) for d in dims)
                    + " or data from a file",
                    exit_code=EXIT_USAGE,
                    code=VARIABLE_SHAPE,
                )
            full = (batch, *dims) if batched else tuple(dims)
            arr = (
                _random(tensor.datatype, full, rng)
                if spec.kind == "random"
                else _fill(tensor.datatype, full, int(spec.kind == "ones"))
            )
        else:
            one = (
                _image(spec, info, tensor, batched, scaling)
                if spec.kind == "image"
                else _load(spec, tensor.name, tensor.datatype)
            )
            arr = _fit(one, dims, batched, batch, tensor, str(spec))
        total += arr.nbytes if arr.dtype != np.object_ else sum(len(v) for v in arr.reshape(-1))
        if total > limit:
            raise ConsoleError(
                f"the request would be {total / 2**20:.0f} MiB, over the {limit // 2**20} MiB limit",
                exit_code=EXIT_USAGE,
            )
        plans.append(InputPlan(tensor.name, tensor.datatype, tuple(arr.shape), str(spec), arr))
    return plans


def takes_image_files(info: ModelInfo) -> bool:
    """An image classifier fed file bytes (the ensembles' UINT8 [-1]): it wants images, not a --shape."""
    from triton_console.tui.core.classify import classifier

    try:
        return classifier.image_path(info).kind in ("bytes", "string")
    except ConsoleError:
        return False


def _fit(
    arr: np.ndarray, dims: list[int], batched: bool, batch: int, tensor: rs.TensorSpec, source: str
) -> np.ndarray:
    """Data from a file shaped for the input: as is when it has the batch dimension, else repeated per batch."""

    def matches(shape) -> bool:
        return len(shape) == len(dims) and all(d == -1 or d == s for d, s in zip(dims, shape, strict=True))

    if matches(arr.shape):
        one = arr
    elif batched and arr.ndim == len(dims) + 1 and matches(arr.shape[1:]):
        if arr.shape[0] != batch and batch != 1:
            raise ConsoleError(
                f"{source} holds a batch of {arr.shape[0]}, not --batch {batch}", exit_code=EXIT_USAGE
            )
        return arr
    else:
        raise ConsoleError(
            f"input {tensor.name} expects {dims}{' (plus the batch dimension)' if batched else ''}, "
            f"but {source} holds {list(arr.shape)}",
            exit_code=EXIT_USAGE,
        )
    return np.stack([one] * batch) if batched else one


# ------------------------------------------------------------------------------------------ request


def summarize(name: str, datatype: str, arr: np.ndarray) -> OutputSummary:
    flat = arr.reshape(-1)
    if arr.dtype == np.object_ or datatype == "BYTES":
        values = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat[:VALUES_SHOWN]
        ]
        return OutputSummary(name, datatype, tuple(arr.shape), None, None, None, 0, values, arr)
    numbers = flat.astype(np.float64)
    finite = numbers[np.isfinite(numbers)]
    nan = int(np.isnan(numbers).sum())
    stats = (
        (float(finite.min()), float(finite.max()), float(finite.mean()))
        if finite.size
        else (None, None, None)
    )
    if arr.dtype.kind == "b":
        values = [bool(v) for v in flat[:VALUES_SHOWN]]
    elif arr.dtype.kind in "iu":
        values = [int(v) for v in flat[:VALUES_SHOWN]]
    else:
        values = [float(v) for v in numbers[:VALUES_SHOWN]]
    return OutputSummary(name, datatype, tuple(arr.shape), *stats, nan, values, arr)


def run(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    outputs: list[str] | None = None,
    shm: str = "none",
    sequence=None,
) -> InferResult:
    """Send the planned inputs (through shared memory when ``shm`` is system/cuda; ``sequence``: a
    transport.Sequence for a sequence model); every output of the model comes back summarized."""
    check_model_name(model)
    info = client.model_info(model)
    wanted = outputs or [t.name for t in info.metadata.outputs]
    inputs = [InputTensor(p.name, p.datatype, p.array) for p in plans]
    requested = [OutputRequest(n) for n in wanted]
    step_names = list(info.steps) if info.config is not None else []
    before = ensemble.request_counts(client, step_names) if step_names else {}
    try:
        if shm == "none":
            result, latency = client.infer(model, inputs, requested, sequence=sequence)
        else:
            from triton_console.tui.core.client.shm import Regions

            with Regions(client, shm, inputs) as regions:
                result, latency = client.infer(model, regions.request, requested, sequence=sequence)
    except ConsoleError as exc:
        if not step_names or exc.code in ("unreachable", "timeout"):
            raise
        after = ensemble.request_counts(client, step_names)
        ran = {
            n: (after[n][0] - before[n][0], after[n][1] - before[n][1])
            for n in step_names
            if n in after and n in before
        }
        which = ensemble.failed_step(info.config, exc.message, ran)
        if which is None:
            raise
        raise ConsoleError(
            f"{model}: {which}", hint=exc.hint, exit_code=exc.exit_code, code=exc.code
        ) from exc
    datatypes = {t.name: t.datatype for t in info.metadata.outputs}
    summaries = [summarize(n, datatypes.get(n, ""), np.asarray(result[n])) for n in wanted]
    version = info.metadata.versions[-1] if info.metadata.versions else ""
    return InferResult(model, version, latency, plans, summaries)


def ensure_ready(client: TritonClient, model: str) -> None:
    """One clear line for a model that cannot serve (the client's one wording: not found, or not ready with
    its state and the server's reason)."""
    client.ensure_ready(model)


def save(result: InferResult, directory: Path) -> list[Path]:
    """Each output as NAME.npy (BYTES outputs as an object array needs pickle: saved as a .json list)."""
    from triton_console.common import fsutil

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for out in result.outputs:
        if out.array is None:
            continue
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in out.name) or "output"
        if out.array.dtype == np.object_:
            path = directory / f"{safe}.json"
            values = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in out.array.reshape(-1)
            ]
            fsutil.write_text(path, json.dumps({"shape": list(out.shape), "values": values}))
        else:
            import io

            path = directory / f"{safe}.npy"
            buf = io.BytesIO()
            np.save(buf, out.array, allow_pickle=False)
            fsutil.write_bytes(path, buf.getvalue())
        written.append(path)
    return written
