"""Two or more models on the same images (or the same random tensors): do they agree, and how fast is each?

For image classifiers each model gets the image the way its metadata asks (the ensemble the file's bytes,
a backbone a tensor prepared here) and full class scores come back (probabilities: softmax where the
model gives logits): top-1 agreement and top-5 agreement (the reference's top-1 among the other's top-5)
against the first model, the largest |Δ| of a probability, and each model's latency and throughput. For
other models: the same tensors to each, the largest |Δ| per output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.classify import classifier
from triton_console.tui.core.classify import images as img
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.stats import LatencySummary
from triton_console.tui.core.client.transport import InputTensor, OutputRequest
from triton_console.tui.core.request import infer


@dataclass
class ModelResult:
    model: str
    route: str
    latencies: list[float] = field(default_factory=list)
    top1: list[int] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list, repr=False)
    agree_top1: float | None = None  # against the reference (the first model)
    agree_top5: float | None = None
    max_delta: float | None = None
    seconds: float = 0.0
    note: str = ""

    def to_dict(self) -> dict:
        lat = LatencySummary.of(self.latencies)
        return {
            "model": self.model,
            "path": self.route,
            "top1": self.top1,
            "top1_agreement": self.agree_top1,
            "top5_agreement": self.agree_top5,
            "max_abs_delta": None if self.max_delta is None else float(f"{self.max_delta:.6g}"),
            "latency_ms": {"p50": round(lat.p50, 3), "p95": round(lat.p95, 3)},
            "throughput": round(len(self.latencies) / self.seconds, 2) if self.seconds else None,
            "note": self.note or None,
        }


@dataclass
class Comparison:
    models: list[ModelResult]
    items: list[str]  # image paths, or "random tensors (seed S)"

    def to_dict(self) -> dict:
        return {
            "reference": self.models[0].model,
            "items": self.items,
            "models": [m.to_dict() for m in self.models],
        }


def _probabilities(raw: np.ndarray) -> np.ndarray:
    flat = np.asarray(raw, dtype=np.float64).reshape(-1)
    return flat if classifier.looks_like_probabilities(flat) else classifier.softmax(flat)


def _agree(results: list[ModelResult]) -> None:
    ref = results[0]
    for r in results:
        n = len(r.outputs)
        if not n or len(ref.outputs) != n:
            continue
        same = [a.shape == b.shape for a, b in zip(ref.outputs, r.outputs, strict=True)]
        r.max_delta = max(
            float(np.nanmax(np.abs(a - b))) if ok else float("inf")
            for a, b, ok in zip(ref.outputs, r.outputs, same, strict=True)
        )
        if r.top1:
            r.agree_top1 = sum(a == b for a, b in zip(ref.top1, r.top1, strict=True)) / n
            r.agree_top5 = (
                sum(
                    a in np.argsort(-np.nan_to_num(o, nan=-np.inf))[:5]
                    for a, o in zip(ref.top1, r.outputs, strict=True)
                )
                / n
            )


def images(client: TritonClient, models: list[str], paths: list[str]) -> Comparison:
    if len(models) < 2:
        raise ConsoleError("compare needs two or more models", exit_code=EXIT_USAGE)
    files = img.read_all(paths, "compare on")
    exts = client.server_metadata().extensions
    results = []
    for model in models:
        route = classifier.image_path(client.model_info(model), exts)
        r = ModelResult(model, route.describe())
        start = time.perf_counter()
        for f in files:
            inputs, outputs = classifier.request(f.data, route)
            out, ms = client.infer(model, inputs, outputs)
            probs = _probabilities(out[route.output.name])
            r.latencies.append(ms)
            r.outputs.append(probs)
            r.top1.append(int(np.nanargmax(probs)) if np.isfinite(probs).any() else -1)
        r.seconds = time.perf_counter() - start
        results.append(r)
    _agree(results)
    return Comparison(results, [f.path for f in files])


def _same_inputs(first, info, plans) -> dict[str, str]:
    """Each input's datatype on ``info``: the first model's tensors go to it as they are, only cast where the
    datatype differs (FP32 values to an FP16 model); inputs of other names or shapes are other models, which
    random tensors cannot compare (images can)."""
    mine = {t.name: t for t in info.metadata.inputs}
    theirs = {p.name: p for p in plans}
    if set(mine) != set(theirs):
        raise ConsoleError(
            f"{first.name} and {info.name} take different inputs ({', '.join(sorted(theirs))} vs "
            f"{', '.join(sorted(mine))}): random tensors cannot compare them; give images if they classify",
            exit_code=EXIT_USAGE,
        )
    for name, p in theirs.items():
        dims = list(mine[name].shape[1:] if info.batched else mine[name].shape)
        shape = list(p.array.shape[1:] if first.batched else p.array.shape)
        numeric = mine[name].datatype != "BYTES" and p.datatype != "BYTES"
        fits = len(dims) == len(shape) and all(d in (-1, s) for d, s in zip(dims, shape, strict=True))
        if not (fits and numeric or mine[name].datatype == p.datatype and fits):
            raise ConsoleError(
                f"{name}: {first.name} takes {p.datatype} {shape}, {info.name} {mine[name].datatype} {dims}: "
                f"random tensors cannot compare them; give images if they classify",
                exit_code=EXIT_USAGE,
            )
    return {name: mine[name].datatype for name in theirs}


def tensors(client: TritonClient, models: list[str], seed: int = 0, count: int = 5) -> Comparison:
    """Models with the same inputs: the same random tensors (from the first model's metadata) to each."""
    if len(models) < 2:
        raise ConsoleError("compare needs two or more models", exit_code=EXIT_USAGE)
    first = client.model_info(models[0])
    requests = [infer.plan_inputs(first, seed=seed + i) for i in range(count)]
    results = []
    for model in models:
        info = client.model_info(model)
        names = [t.name for t in info.metadata.outputs]
        types = _same_inputs(first, info, requests[0])
        r = ModelResult(model, "same random tensors")
        start = time.perf_counter()
        for plans in requests:
            inputs = [
                InputTensor(p.name, types[p.name], p.array.astype(infer.np_dtype(types[p.name]), copy=False))
                for p in plans
            ]
            out, ms = client.infer(model, inputs, [OutputRequest(n) for n in names])
            r.latencies.append(ms)
            r.outputs.append(
                np.concatenate(
                    [
                        np.asarray(out[n], dtype=np.float64).reshape(-1)
                        for n in names
                        if out[n].dtype != object
                    ]
                )
            )
        r.seconds = time.perf_counter() - start
        results.append(r)
    _agree(results)
    return Comparison(results, [f"random tensors (seed {seed}..{seed + count - 1})"])
