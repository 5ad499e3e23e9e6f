"""The whole build as named steps: weights -> export -> check -> engine -> repository.

Used by ``triton-console build`` and the console's Build pane alike; each step reports through
:class:`~tui.core.progress.Progress` and can be cancelled between (and inside) steps.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.build_tools import catalog, engine, export, repository, weights
from triton_console.common.errors import Cancelled, ConsoleError
from triton_console.common.progress import Progress


def cuda_available() -> bool:
    with contextlib.suppress(Exception):
        import torch

        return bool(torch.cuda.is_available())
    return False


def resolve_backbone(choice: str, layout: str = catalog.DEFAULT_LAYOUT) -> str:
    """``auto``: TensorRT where it exists (not for the fused layout, whose backbone runs in Python), else
    torch on CUDA, else onnxruntime in the Python backend."""
    if choice != catalog.AUTO:
        spec = catalog.backbone(choice)
        if catalog.layout(layout).fused and not spec.fusable:
            raise ConsoleError(
                f"the fused layout runs its backbone in Python: choose python-onnxruntime or python-torch, not {choice}"
            )
        return spec.key
    if engine.tensorrt_available() and not catalog.layout(layout).fused:
        return "tensorrt"
    if cuda_available():
        return "python-torch"
    return "python-onnxruntime"


# Measured on the lent H100 (benchmarks/gpu.py sweeps, docs/benchmarks.md): four preprocess instances keep nvJPEG
# busy (1: 800, 2: 1,300, 4: 1,600, 6-8: 1,450 img/s end to end), short queue delays let batches form.
GPU_TUNING = {
    "preprocess_instances": 4,
    "preprocess_queue_delay_us": 1000,
    "queue_delay_us": 2000,
    # the fused layout (benchmarks/gpu.py --tuning-sweep on the H100, QA-size images, 256 in flight):
    # 1/2/3/4 instances 2,374/4,028/4,259/4,550 img/s; four, each decoding in two nvJPEG slices (eight on
    # a GPU of LARGE_GPU_GIB or more: default_tuning)
    "fused_instances": 4,
    "fused_queue_delay_us": 500,
    "gpu_workers": 2,
    # the hardware JPEG engines (nvImageCodec, when installed) for JPEGs from this many pixels: off, measured
    # on the H200 2026-12-02: the fused decoder alone gains 12% on the three images (1,337 -> 1,494 img/s)
    # but the server loses 4% (2,063 -> 1,975 img/s at 256 in flight) with 4 instances, 21% with 8 (2,627
    # -> 2,076, p99 0.3 -> 2.2 s): torchvision's batched nvJPEG already decodes baseline JPEGs on those
    # engines (NVJPEG_BACKEND_HARDWARE on A100/H100/H200), so the two routes compete for them. The
    # fused model's parameter of the same name turns it on
    "hw_jpeg_min_pixels": 0,
    # the backbone alone (ensemble step) over CUDA shared memory, H200 2026-12-02, vs in-process 15,306 /
    # 16,943 img/s at batch 64 / 256: one instance with host output -- / 14,570; two instances with the
    # output handed over on the GPU (DLPack) 13,172 / 14,429 (1.16x / 1.17x), the only variant within
    # 1.25x at both sizes
    "backbone_instances": 2,
    "backbone_output": "gpu",
}


# The fused layout on onnxruntime (a CPU backbone wherever it runs): "lone", as the ensemble's backbone
# (OrtRunner): a lone image runs on a session whose threads spin on after it, anything else on one whose
# threads never spin, so they do not spin on the cores where Pillow decodes the next slice. 2 cores,
# 2026-12-02, make bench --sections spinning --spinning-layouts fused, two quiet runs (13:52, 13:55), lone
# images vs the in-process reference, car / mug / vulture: "lone" 1.30 / 1.23 / 1.21x and 1.22 / 1.07 /
# 1.19x, "run" (the default before) 1.38 / 1.20 / 1.19x and 1.40 / 1.14 / 1.32x; at concurrency 8 vs the
# thread pipeline "lone" 0.94x and 0.88x, "run" 0.91x and 0.89x ("true": 0.83x and 0.80x). Earlier
# (2026-11-28) "run" had beaten spinning after every run at concurrency 8 (83.9 and 93.5 img/s against
# 70.6 and 78.8); two instances without spinning: 102 img/s but a lone car 1.51x.
CPU_TUNING = {"ort_spinning": "lone"}


# The fused model on a GPU with this much memory or more gets LARGE_GPU_FUSED_INSTANCES. H200, 2026-12-02
# (benchmarks/results-h200-instances*.json, perf_analyzer, 256 in flight): the three images (the 8.5 Mpx
# mug among them) 2,154 img/s with 4 instances, 2,633 with 8, 2,552 with 12; the QA images 4,597 / 4,413 /
# 3,920. More instances keep more nvJPEG batches on the JPEG engines at once; each instance holds ~4 GB of
# GPU memory idle (CUDA graphs) and held up to ~10 GB under the mug before resizes were bounded, so GPUs
# of 80 GB keep 4 (not measured there).
LARGE_GPU_GIB = 120
LARGE_GPU_FUSED_INSTANCES = 8


def gpu_memory_gib() -> float:
    """The first visible GPU's memory in GiB, 0 without one."""
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_properties(0).total_memory / 2**30
    return 0.0


def default_tuning(flavour: str, gpu: bool | None = None, memory_gib: float | None = None) -> dict:
    """Server-side tuning for a repository built here: GPU flavours on a CUDA machine get GPU_TUNING (more
    fused instances on a GPU of LARGE_GPU_GIB or more), the onnxruntime flavour CPU_TUNING."""
    if catalog.backbone(flavour).gpu and (cuda_available() if gpu is None else gpu):
        tuning = dict(GPU_TUNING)
        if (gpu_memory_gib() if memory_gib is None else memory_gib) >= LARGE_GPU_GIB:
            tuning["fused_instances"] = LARGE_GPU_FUSED_INSTANCES
        return tuning
    if flavour == "python-onnxruntime":
        return dict(CPU_TUNING)
    return {}


@dataclass
class StepResult:
    name: str
    state: str  # "done" | "skipped" | "failed" | "cancelled"
    seconds: float
    detail: str = ""


@dataclass
class BuildReport:
    model: str
    backbone: str
    weights: dict
    repository: str | None = None
    ensemble: str | None = None
    onnx_bytes: int = 0
    plan_bytes: int = 0
    check: dict | None = None
    steps: list[StepResult] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "backbone": self.backbone,
            "weights": self.weights,
            "repository": self.repository,
            "ensemble": self.ensemble,
            "onnx_bytes": self.onnx_bytes,
            "plan_bytes": self.plan_bytes,
            "check": self.check,
            "steps": [s.__dict__ for s in self.steps],
        }


# (step, state "start"|"done"|"skipped"|"failed"|"cancelled", detail)
StepCallback = Callable[[str, str, str], None]


def build(
    model: str,
    weights_choice: str,
    backbone: str = "auto",
    repo: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    on_step: StepCallback | None = None,
    batches: engine.BatchRange | None = None,
    tuning: dict | None = None,
    layout: str = catalog.DEFAULT_LAYOUT,
) -> BuildReport:
    """Run every step; the repository is only swapped in once all earlier steps succeeded."""
    progress = progress or Progress()
    notify = on_step or (lambda *_: None)
    catalog.model(model)  # unknown names fail here, before any work
    layout = catalog.layout(layout).key
    flavour = resolve_backbone(backbone, layout)
    tuning = {**default_tuning(flavour), **(tuning or {})}
    if repo is not None:
        repository.check_target(Path(repo), force)  # fail before spending minutes on the build
    report = BuildReport(model=model, backbone=flavour, weights={})
    staging = repository.new_staging(Path(repo)) if repo is not None else None
    try:
        with _step(report, "weights", notify, progress):
            net, info = quiet(lambda: weights.load(model, weights_choice, progress.fraction), progress)
            report.weights = info.to_dict()
            if not info.trained:
                progress.log("WARNING: random weights: predictions of this model are meaningless (untrained)")
            report.steps[-1].detail = f"{info.choice}: {info.source}"
        folder = repository.artifact_dir(model, flavour, layout)
        workdir = (staging / folder / "1") if staging else Path(_tmpdir())
        workdir.mkdir(parents=True, exist_ok=True)
        onnx_path = workdir / "model.onnx"
        with _step(report, "export", notify, progress):
            quiet(lambda: export.export_onnx(net, onnx_path, progress), progress)
            report.onnx_bytes = onnx_path.stat().st_size
            report.steps[-1].detail = f"{report.onnx_bytes / 1e6:.1f} MB"
        with _step(report, "check", notify, progress):
            check = export.check_numerics(net, onnx_path)
            report.check = check.to_dict()
            report.steps[-1].detail = check.summary()
            if not check.passed:
                raise ConsoleError(check.summary(), exit_code=1)
        spec = catalog.backbone(flavour)
        if spec.engine:
            with _step(report, "engine", notify, progress):
                plan = workdir / spec.artifact
                engine.build_engine(onnx_path, plan, batches, fp16=True, progress=progress)
                report.plan_bytes = plan.stat().st_size
                report.steps[-1].detail = f"{report.plan_bytes / 1e6:.1f} MB, fp16"
        else:
            why = (
                "TensorRT not present"
                if not engine.tensorrt_available()
                else f"backbone {flavour} needs no engine"
            )
            if spec.artifact == "model.pt":
                why += "; torch backbone (fp16 + CUDA graphs on a GPU)"
                export.save_torchscript(net, workdir / spec.artifact)
            report.steps.append(StepResult("engine", "skipped", 0.0, why))
            notify("engine", "skipped", why)  # a step's result is its detail, not also a log line
        if spec.artifact != onnx_path.name:
            onnx_path.unlink()  # the plan or the TorchScript file is the model; keep the repository lean
        files = {spec.artifact: workdir / spec.artifact}
        if staging is None:
            return report
        with _step(report, "repository", notify, progress):
            rep = repository.write_repository(
                Path(repo),
                staging,
                model,
                repository.BackboneArtifacts(flavour, files),
                report.weights,
                force=force,
                tuning=tuning,
                layout=layout,
            )
            staging = None  # swapped in: nothing to clean
            report.repository, report.ensemble, report.files = str(rep.path), rep.ensemble, rep.files
            report.steps[-1].detail = f"{rep.path} ({len(rep.files)} files)"
        return report
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _tmpdir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="triton-console-build-")


def quiet(fn, progress: Progress):
    """Run ``fn`` with library chatter (warnings, prints) sent to the log instead of the terminal."""
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        result = fn()
    for line in buf.getvalue().splitlines():
        progress.log(line)
    return result


@contextlib.contextmanager
def _step(report: BuildReport, name: str, notify: StepCallback, progress: Progress):
    """One step, reported start → done | failed | cancelled. A cancel asked for during the step ends it as
    "cancelled" (checked before "done": the row had said "done" while the build said "check cancelled");
    one asked for between steps marks the next step "cancelled" before it starts."""
    if progress.cancel_event.is_set():
        report.steps.append(StepResult(name, "cancelled", 0.0, "before it started"))
        notify(name, "cancelled", "before it started")
        progress.check(name)
    notify(name, "start", "")
    progress.log(f"== {name}")
    start = time.perf_counter()
    result = StepResult(name, "done", 0.0)
    report.steps.append(result)
    try:
        yield result
        progress.check(name)
    except Cancelled:
        result.state, result.seconds = "cancelled", time.perf_counter() - start
        result.detail = ""
        notify(name, "cancelled", "")
        raise
    except BaseException as exc:
        result.state, result.seconds = "failed", time.perf_counter() - start
        if not result.detail:
            result.detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notify(name, "failed", result.detail)
        raise
    result.seconds = time.perf_counter() - start
    notify(name, "done", result.detail)
