"""Write a Triton model repository: preprocess -> backbone -> postprocess, and the ensemble over them.

The models' sources and the code that builds their configs live in ``model_repository/`` (installed as
``triton_console.model_repository``); this module fills in the backbone's files and the labels. Every
config.pbtxt is a ``model_config_pb2.ModelConfig``, validated, printed with ``text_format`` and parsed back
before it is written. The repository is assembled in a staging directory
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
from triton_console.model_repository import configs

MARKER = ".triton-console.json"
# Package data (importlib.resources), so an installed wheel builds repositories as a checkout does.
SOURCES = resources.files("triton_console.model_repository")  # <source>/1/model.py for each Python model
RUNTIME = {  # what the Python models share
    "triton_console_runtime.py": SOURCES.joinpath("triton_console_runtime.py")
}
HELPERS = {  # installed beside the models that decode: the one decoder and its nvJPEG twin
    "imagenet_preprocessing.py": resources.files("triton_console.tui.core.classify").joinpath(
        "preprocessing.py"
    ),
    "imagenet_preprocessing_gpu.py": resources.files("triton_console.tui.core.classify").joinpath(
        "gpu_preprocessing.py"
    ),
    **RUNTIME,
}


def backbone_name(model: str, flavour: str) -> str:
    """Triton model name of a backbone flavour; the TensorRT one keeps the seed's ``resnet50_trt``."""
    return catalog.backbone(flavour).model_name(catalog.model(model))


# ---------------------------------------------------------------------------------------------- configs


def validate(config, complete: bool = True) -> str:
    """Check a config the way Triton would reject it, and return its text form (parsed back to prove it).
    ``complete=False`` accepts a config without platform or backend (Triton infers them from the model file, as
    for a hand-written config.pbtxt)."""
    from google.protobuf import text_format

    pb = configs.model_config_pb2()
    problems = []
    if not config.name or "/" in config.name or config.name.startswith("."):
        problems.append(f"invalid model name {config.name!r}")
    if complete and not (config.platform or config.backend):
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
        return text_format.Parse(Path(path).read_text(), configs.model_config_pb2().ModelConfig())
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
    _install(model_dir, {"model.py": SOURCES / source / "1" / "model.py"})


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
        configs.preprocess_config(
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
    _write_config(post, configs.postprocess_config())
    _install_source(post, "postprocess")

    bname = flavour.model_name(spec)
    bdir = staging / bname
    _copy_files(bdir, backbone.files)
    _write_config(
        bdir,
        configs.backbone_config(
            bname,
            backbone.flavour,
            instances=tuning.get("backbone_instances", 1),
            intra_op_threads=tuning.get("intra_op_threads", 0),
            queue_delay_us=tuning.get("queue_delay_us", 0),
            gpu_options={
                **(tuning.get("gpu_options") or {}),
                # "gpu": logits handed back as GPU tensors (DLPack) instead of host arrays
                **({"output_device": str(tuning["backbone_output"])} if "backbone_output" in tuning else {}),
            },
        ),
    )
    if flavour.source:
        _install_source(bdir, flavour.source)
        _install(bdir, RUNTIME)
    fsutil.write_text(bdir / configs.LABELS, labels.labels_text())

    ens = staging / spec.ensemble
    _write_config(ens, configs.ensemble_config(spec, bname, weights))
    fsutil.write_text(ens / configs.LABELS, labels.labels_text())
    return {spec.ensemble: ["preprocess", bname, "postprocess", spec.ensemble]}


def _write_fused(staging, spec, backbone: BackboneArtifacts, weights, tuning, layout="fused") -> list[str]:
    folder = staging / spec.top(layout)
    _copy_files(folder, backbone.files)
    _write_config(folder, configs.fused_config(spec, backbone.flavour, weights, tuning, layout))
    _install_source(folder, "fused")
    _install(folder, HELPERS)
    fsutil.write_text(folder / configs.LABELS, labels.labels_text())
    return [spec.top(layout)]
