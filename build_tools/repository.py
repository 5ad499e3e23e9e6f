"""Write a Triton model repository: preprocess -> backbone -> postprocess, and the ensemble over them.

Every config.pbtxt is a ``model_config_pb2.ModelConfig`` built in code, validated, printed with
``text_format`` and parsed back before it is written. The repository is assembled in a staging directory
beside the target and swapped in with renames, so an interrupted build leaves the previous one intact.
A directory that this tool did not make is never replaced without ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from triton_console.build_tools import catalog
from triton_console.common import fsutil, labels
from triton_console.common.errors import ConsoleError

MARKER = ".triton-console.json"
MAX_BATCH = 256
# Package data (importlib.resources), so an installed wheel builds repositories as a checkout does.
SOURCES = resources.files("triton_console.build_tools.model_sources")
RUNTIME = {"triton_console_runtime.py": SOURCES.joinpath("runtime.py")}  # what the Python models share
HELPERS = {  # installed beside the models that decode: the one decoder and its nvJPEG twin
    "imagenet_preprocessing.py": resources.files("triton_console.tui.core.classify").joinpath(
        "preprocessing.py"
    ),
    "imagenet_preprocessing_gpu.py": resources.files("triton_console.tui.core.classify").joinpath(
        "gpu_preprocessing.py"
    ),
    **RUNTIME,
}


def _pb():
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2


def backbone_name(model: str, flavour: str) -> str:
    """Triton model name of a backbone flavour; the TensorRT one keeps the seed's ``resnet50_trt``."""
    return catalog.backbone(flavour).model_name(catalog.model(model))


# ---------------------------------------------------------------------------------------------- configs


def _tensor(kind, name: str, dtype: str, dims: list[int], **extra):
    pb = _pb()
    t = kind(name=name, data_type=getattr(pb, dtype), dims=dims)
    for k, v in extra.items():
        setattr(t, k, v)
    return t


def _params(config, values: dict[str, str]) -> None:
    for k, v in values.items():
        config.parameters[k].string_value = str(v)


def preprocess_config(
    instances: int = 1,
    decode_threads: int = 0,
    style: str = "fast",
    queue_delay_us: int = 0,
    gpu_output: str = "auto",
):
    pb = _pb()
    c = pb.ModelConfig(name="preprocess", backend="python", max_batch_size=MAX_BATCH)
    c.input.append(_tensor(pb.ModelInput, "INPUT_0", "TYPE_UINT8", [-1], allow_ragged_batch=True))
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT_0", "TYPE_FP32", [3, 224, 224]))
    c.dynamic_batching.max_queue_delay_microseconds = queue_delay_us  # nvJPEG gains from larger batches
    c.instance_group.append(pb.ModelInstanceGroup(kind=pb.ModelInstanceGroup.KIND_CPU, count=instances))
    # style "seed" reproduces the original example's full decode + resize, for benchmarks only
    # gpu_decode auto: nvJPEG for JPEGs when torch sees a GPU (and torchvision is there), else Pillow;
    # gpu_output auto: those results leave as GPU tensors (the next step reads them without a host copy)
    _params(
        c,
        {
            "decode_threads": decode_threads,
            "style": style,
            "gpu_decode": "auto",
            "gpu_output": gpu_output,
        },
    )
    return c


def postprocess_config():
    pb = _pb()
    c = pb.ModelConfig(name="postprocess", backend="python", max_batch_size=MAX_BATCH)
    c.input.append(_tensor(pb.ModelInput, "INPUT_0", "TYPE_FP32", [1000]))
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT_0", "TYPE_FP32", [1000]))
    c.dynamic_batching.SetInParent()
    c.instance_group.append(pb.ModelInstanceGroup(kind=pb.ModelInstanceGroup.KIND_CPU, count=1))
    return c


def backbone_config(
    name: str,
    flavour: str,
    *,
    instances: int = 1,
    intra_op_threads: int = 0,
    queue_delay_us: int = 0,
    gpu_options: dict[str, str] | None = None,
):
    """The backbone: ``input`` FP32 [3,224,224] (NCHW) -> ``output`` FP32 [1000], max batch 256.

    ``format`` and the ``triton_console.scaling`` parameter say how a client must prepare images for it, so
    Triton's own ``image_client.py`` and the console's classify both work against the backbone alone.
    """
    pb = _pb()
    spec = catalog.backbone(flavour)
    c = pb.ModelConfig(name=name, max_batch_size=MAX_BATCH, platform=spec.platform, backend=spec.backend)
    c.input.append(
        _tensor(pb.ModelInput, "input", "TYPE_FP32", [3, 224, 224], format=pb.ModelInput.FORMAT_NCHW)
    )
    c.output.append(_tensor(pb.ModelOutput, "output", "TYPE_FP32", [1000]))
    c.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    params = dict(spec.parameters)
    if intra_op_threads:
        key = "intra_op_thread_count" if spec.platform == "onnxruntime_onnx" else "intra_op_threads"
        params[key] = str(intra_op_threads)
    params.update(gpu_options or {})
    params["triton_console.scaling"] = "imagenet"
    _params(c, params)
    kind = pb.ModelInstanceGroup.KIND_GPU if spec.gpu_instance else pb.ModelInstanceGroup.KIND_CPU
    c.instance_group.append(pb.ModelInstanceGroup(kind=kind, count=instances))
    return c


def _markers(config, spec: catalog.Model, backbone: str, weights: dict, layout: str) -> None:
    _params(
        config,
        {
            "triton_console.model": spec.key,
            "triton_console.backbone": backbone,
            "triton_console.layout": layout,
            "triton_console.weights": weights["choice"],
            "triton_console.trained": "true" if weights["trained"] else "false",
        },
    )


def fused_config(
    spec: catalog.Model, flavour: str, weights: dict, tuning: dict | None = None, layout: str = "fused"
):
    """The seed's contract (INPUT bytes -> OUTPUT probabilities with labels) in one Python model, plus TIMINGS.

    ``fused-bytes``: the same model taking IMAGES BYTES [1] (one encoded image per batch row) instead, so one
    request can carry k images of different sizes."""
    pb = _pb()
    tuning = tuning or {}
    backbone = catalog.backbone(flavour)
    if not backbone.fusable:
        raise ConsoleError(
            f"the fused layout runs its backbone in Python: choose python-onnxruntime or python-torch, not {flavour}"
        )
    c = pb.ModelConfig(name=spec.top(layout), backend="python", max_batch_size=MAX_BATCH)
    if layout == "fused-bytes":
        c.input.append(_tensor(pb.ModelInput, "IMAGES", "TYPE_STRING", [1]))
    else:
        c.input.append(_tensor(pb.ModelInput, "INPUT", "TYPE_UINT8", [-1], allow_ragged_batch=True))
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT", "TYPE_FP32", [1000], label_filename="labels.txt"))
    c.output.append(_tensor(pb.ModelOutput, "TIMINGS", "TYPE_FP32", [4]))
    c.dynamic_batching.max_queue_delay_microseconds = tuning.get("fused_queue_delay_us", 0)
    c.instance_group.append(
        pb.ModelInstanceGroup(kind=pb.ModelInstanceGroup.KIND_CPU, count=tuning.get("fused_instances", 1))
    )
    options = {
        "backbone_file": backbone.artifact,
        "decode_threads": str(tuning.get("decode_threads", 0)),
        "gpu_decode": "auto",
        "intra_op_threads": str(tuning.get("intra_op_threads", 0)),
        # on a CPU: batches of 2 × cpu_overlap requests or more run the backbone on one slice while the
        # next decodes (make bench, c=8, median of 3 in turn with the thread pipeline: 0.85× of it with
        # slices of 2 against 0.78× in one go, two runs each)
        "cpu_overlap": str(tuning.get("cpu_overlap", 2)),
        # "true" (onnxruntime's default: idle threads spin a while after a run), "false" or "run" (spin
        # during a run only: CPU_TUNING in pipeline.py, measured)
        "ort_spinning": str(tuning.get("ort_spinning", "true")),
        # nvJPEG slices decoded at once; JPEGs over gpu_max_pixels go to Pillow's DCT scaling instead
        # (0: none; on the H100 nvJPEG for all was faster, 2,178 vs 1,412 img/s with the 8.5 Mpx mug)
        "gpu_workers": str(tuning.get("gpu_workers", 3)),
        "gpu_max_pixels": str(tuning.get("gpu_max_pixels", 0)),
        "log_stats_s": str(tuning.get("log_stats_s", 0)),  # > 0: where the time went, in the server log
        **{k: v for k, v in backbone.parameters if k in ("device", "precision", "cuda_graphs")},
        **(tuning.get("gpu_options") or {}),
    }
    _params(c, options)
    _markers(c, spec, flavour, weights, layout)
    return c


def ensemble_config(spec: catalog.Model, backbone: str, weights: dict):
    """The seed's contract: INPUT UINT8 [-1] (file bytes) -> OUTPUT FP32 [1000], labels for class_count."""
    pb = _pb()
    c = pb.ModelConfig(name=spec.ensemble, platform="ensemble", max_batch_size=MAX_BATCH)
    c.input.append(_tensor(pb.ModelInput, "INPUT", "TYPE_UINT8", [-1]))
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT", "TYPE_FP32", [1000], label_filename="labels.txt"))
    steps = [
        ("preprocess", {"INPUT_0": "INPUT"}, {"OUTPUT_0": "preprocessed_image"}),
        (backbone, {"input": "preprocessed_image"}, {"output": "logits"}),
        ("postprocess", {"INPUT_0": "logits"}, {"OUTPUT_0": "OUTPUT"}),
    ]
    for model, inputs, outputs in steps:
        step = c.ensemble_scheduling.step.add(model_name=model, model_version=-1)
        step.input_map.update(inputs)
        step.output_map.update(outputs)
    _markers(c, spec, backbone, weights, "ensemble")
    return c


def validate(config) -> str:
    """Check a config the way Triton would reject it, and return its text form (parsed back to prove it)."""
    from google.protobuf import text_format

    pb = _pb()
    problems = []
    if not config.name or "/" in config.name or config.name.startswith("."):
        problems.append(f"invalid model name {config.name!r}")
    if not (config.platform or config.backend):
        problems.append("neither platform nor backend is set")
    if config.max_batch_size < 0:
        problems.append("max_batch_size must be >= 0")
    for t in list(config.input) + list(config.output):
        if not t.name or t.data_type == pb.TYPE_INVALID or not t.dims:
            problems.append(f"tensor {t.name!r} needs a name, a data type and dims")
        if any(d == 0 or d < -1 for d in t.dims):
            problems.append(f"tensor {t.name!r} has invalid dims {list(t.dims)}")
    if config.platform == "ensemble":
        produced = {t.name for t in config.input}
        for step in config.ensemble_scheduling.step:
            missing = set(step.input_map.values()) - produced
            if missing:
                problems.append(f"step {step.model_name} reads {sorted(missing)} before anything writes it")
            produced |= set(step.output_map.values())
        unproduced = {t.name for t in config.output} - produced
        if unproduced:
            problems.append(f"ensemble outputs {sorted(unproduced)} are produced by no step")
    if problems:
        raise ConsoleError(f"invalid config for {config.name!r}: " + "; ".join(problems), exit_code=1)
    text = text_format.MessageToString(config)
    reparsed = text_format.Parse(text, pb.ModelConfig())
    if reparsed != config:
        raise ConsoleError(f"config for {config.name!r} does not survive a text round trip", exit_code=1)
    return text


def read_config(path: Path):
    """Parse a config.pbtxt with Triton's protobuf; errors name the file."""
    from google.protobuf import text_format

    try:
        return text_format.Parse(Path(path).read_text(), _pb().ModelConfig())
    except (OSError, text_format.ParseError) as exc:
        raise ConsoleError(f"cannot parse {path}: {exc}", exit_code=1) from exc


# ------------------------------------------------------------------------------------------ repository


@dataclass
class BackboneArtifacts:
    """Files that make up the backbone's version directory (already written into staging)."""

    flavour: str
    files: dict[str, Path] = field(default_factory=dict)  # name inside 1/ -> source path


@dataclass
class RepositoryReport:
    path: Path
    ensemble: str
    backbone: str
    models: list[str]
    files: dict[str, int]  # relative path -> size in bytes

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "ensemble": self.ensemble,
            "backbone": self.backbone,
            "models": self.models,
            "files": self.files,
        }


def is_tool_made(repo: Path) -> bool:
    return (repo / MARKER).is_file()


def read_marker(repo: Path) -> dict:
    try:
        return json.loads((repo / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def check_target(repo: Path, force: bool) -> None:
    """Refuse to replace a directory the user made, unless ``force``."""
    if repo.exists() and not repo.is_dir():
        raise ConsoleError(f"{repo} exists and is not a directory", exit_code=2)
    if repo.is_dir() and any(repo.iterdir()) and not is_tool_made(repo) and not force:
        raise ConsoleError(
            f"{repo} exists and was not made by triton-console; refusing to overwrite it",
            hint="pass --force to replace it, or choose another --repository",
            exit_code=2,
        )


def top_name(model: str, layout: str = "ensemble") -> str:
    """The model clients send images to: the ensemble, or the fused model."""
    return catalog.model(model).top(catalog.layout(layout).key)


def artifact_dir(model: str, flavour: str, layout: str = "ensemble") -> str:
    """The model directory that holds the backbone's file (its own model, or the fused model)."""
    return top_name(model, layout) if catalog.layout(layout).fused else backbone_name(model, flavour)


def has_model(repo: Path, model: str, layout: str = "ensemble") -> bool:
    name = top_name(model, layout)
    return (repo / name / "config.pbtxt").is_file() and name in read_marker(repo).get("ensembles", {})


def new_staging(repo: Path) -> Path:
    repo.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{repo.name}.staging-", dir=repo.parent))


def _write_config(model_dir: Path, config) -> None:
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    fsutil.write_text(model_dir / "config.pbtxt", validate(config))


def _install(model_dir: Path, files: dict[str, object]) -> None:
    """Copy package-data files (importlib.resources traversables) into the model's version directory."""
    for name, src in files.items():
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise ConsoleError(f"model source {src} is missing from the installation: {exc}") from exc
        (model_dir / "1" / name).write_bytes(data)


def _install_source(model_dir: Path, source: str) -> None:
    _install(model_dir, {"model.py": SOURCES.joinpath(f"{source}.py")})


def write_repository(
    repo: Path,
    staging: Path,
    model: str,
    backbone: BackboneArtifacts,
    weights: dict,
    force: bool = False,
    tuning: dict | None = None,
    layout: str = "ensemble",
) -> RepositoryReport:
    """Complete ``staging`` (which already holds the backbone's files) and swap it in as ``repo``."""
    spec = catalog.model(model)
    flavour = catalog.backbone(backbone.flavour)
    layout = catalog.layout(layout).key
    tuning = tuning or {}
    check_target(repo, force)
    top = top_name(model, layout)
    if catalog.layout(layout).fused:
        written = {top: _write_fused(staging, spec, backbone, weights, tuning, layout)}
    else:
        written = _write_ensemble(staging, spec, flavour, backbone, weights, tuning)
    # Keep what other builds put in a repository this tool made (a ResNet50 build keeps EfficientNet, a fused
    # build keeps the ensemble and the steps it shares).
    marker = read_marker(repo) if is_tool_made(repo) else {}
    entries = {k: v for k, v in marker.get("ensembles", {}).items() if k != top}
    keep = set(entries) | {m for v in entries.values() for m in v.get("models", [])}
    for name in sorted(keep - set(written[top])):
        if (repo / name).is_dir() and not (staging / name).exists():
            shutil.copytree(repo / name, staging / name, symlinks=True)
    entries[top] = {
        "model": spec.key,
        "backbone": backbone.flavour,
        "layout": layout,
        "models": written[top],
        "weights": weights,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    fsutil.write_text(
        staging / MARKER, json.dumps({"generator": "triton-console", "ensembles": entries}, indent=2)
    )
    files = {
        str(p.relative_to(staging)): p.stat().st_size
        for p in sorted(staging.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    os.chmod(staging, 0o755)
    fsutil.swap_directory(staging, repo)
    models = written[top]
    bname = flavour.model_name(spec) if layout == "ensemble" else top
    return RepositoryReport(repo, top, bname, sorted(models), files)


def _copy_files(folder: Path, files: dict[str, Path]) -> None:
    (folder / "1").mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dest = folder / "1" / name
        if Path(src).resolve() != dest.resolve():
            shutil.copy2(src, dest)


def _write_ensemble(
    staging, spec, flavour, backbone: BackboneArtifacts, weights, tuning
) -> dict[str, list[str]]:
    pre = staging / "preprocess"
    _write_config(
        pre,
        preprocess_config(
            tuning.get("preprocess_instances", 1),
            tuning.get("decode_threads", 0),
            tuning.get("preprocess_style", "fast"),
            tuning.get("preprocess_queue_delay_us", 0),
            tuning.get("gpu_output", "auto"),
        ),
    )
    _install_source(pre, "preprocess")
    _install(pre, HELPERS)

    post = staging / "postprocess"
    _write_config(post, postprocess_config())
    _install_source(post, "postprocess")

    bname = flavour.model_name(spec)
    bdir = staging / bname
    _copy_files(bdir, backbone.files)
    _write_config(
        bdir,
        backbone_config(
            bname,
            backbone.flavour,
            instances=tuning.get("backbone_instances", 1),
            intra_op_threads=tuning.get("intra_op_threads", 0),
            queue_delay_us=tuning.get("queue_delay_us", 0),
            gpu_options=tuning.get("gpu_options"),
        ),
    )
    if flavour.source:
        _install_source(bdir, flavour.source)
        _install(bdir, RUNTIME)

    ens = staging / spec.ensemble
    _write_config(ens, ensemble_config(spec, bname, weights))
    fsutil.write_text(ens / "labels.txt", labels.labels_text())
    return {spec.ensemble: ["preprocess", bname, "postprocess", spec.ensemble]}


def _write_fused(staging, spec, backbone: BackboneArtifacts, weights, tuning, layout="fused") -> list[str]:
    folder = staging / spec.top(layout)
    _copy_files(folder, backbone.files)
    _write_config(folder, fused_config(spec, backbone.flavour, weights, tuning, layout))
    _install_source(folder, "fused")
    _install(folder, HELPERS)
    fsutil.write_text(folder / "labels.txt", labels.labels_text())
    return [spec.top(layout)]
