"""The config of each model in the repository, built in code as ``model_config_pb2.ModelConfig`` messages.

Beside the models' sources (``<model>/1/model.py``) so that a reader finds a model's code and its config in
one place. ``triton_console.build_tools.repository`` validates each config, prints it with ``text_format``
and writes it as ``<model>/config.pbtxt``; the backbone's weights file comes from ``build``.
"""

from __future__ import annotations

from triton_console.build_tools import catalog
from triton_console.common.errors import ConsoleError

MAX_BATCH = 256
LABELS = "labels.txt"  # ImageNet labels beside a model whose output carries them (written by the repository)


def model_config_pb2():
    """Triton's ``model_config_pb2`` (imported late: protobuf and tritonclient cost time at start-up)."""
    from tritonclient.grpc import model_config_pb2 as pb

    return pb


def _tensor(kind, name: str, dtype: str, dims: list[int], **extra):
    pb = model_config_pb2()
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
    pb = model_config_pb2()
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
    pb = model_config_pb2()
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
    """The backbone: ``input`` FP32 [3,224,224] (NCHW) -> ``output`` FP32 [1000] (labelled), max batch 256.

    ``format`` and the ``triton_console.scaling`` parameter say how a client must prepare images for it, so
    Triton's own ``image_client.py`` and the console's classify both work against the backbone alone.
    """
    pb = model_config_pb2()
    spec = catalog.backbone(flavour)
    c = pb.ModelConfig(name=name, max_batch_size=MAX_BATCH, platform=spec.platform, backend=spec.backend)
    c.input.append(
        _tensor(pb.ModelInput, "input", "TYPE_FP32", [3, 224, 224], format=pb.ModelInput.FORMAT_NCHW)
    )
    # labels: the classification extension answers "score:index:label", which image_client.py and most v2
    # clients parse (without them it answers "score:index" and image_client.py fails with an IndexError)
    c.output.append(_tensor(pb.ModelOutput, "output", "TYPE_FP32", [1000], label_filename=LABELS))
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
    pb = model_config_pb2()
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
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT", "TYPE_FP32", [1000], label_filename=LABELS))
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
        # "true" (onnxruntime's default: idle threads spin a while after a run), "false", "run" (spin
        # during a run only) or "lone" (spin after lone images only, CPU_TUNING in pipeline.py, measured;
        # ort_spin_us and ort_load_window_ms tune it: OrtRunner)
        "ort_spinning": str(tuning.get("ort_spinning", "true")),
        # nvJPEG slices decoded at once; JPEGs over gpu_max_pixels go to Pillow's DCT scaling instead
        # (0: none; on the H100 nvJPEG for all was faster, 2,178 vs 1,412 img/s with the 8.5 Mpx mug)
        "gpu_workers": str(tuning.get("gpu_workers", 3)),
        "gpu_max_pixels": str(tuning.get("gpu_max_pixels", 0)),
        # the share of those JPEGs Pillow takes (1: all); nvJPEG decodes the rest at the same time. H200,
        # 8 instances, three images at 256 in flight (2026-12-02): none 2,633 img/s, 20% 2,680 (noise),
        # 34% 2,344: the 16 cores are busy enough with the server and its clients, so it stays off
        "large_jpeg_cpu_share": str(tuning.get("large_jpeg_cpu_share", 1)),
        # JPEGs of at least this many pixels to the GPU's hardware JPEG engines (nvImageCodec, if installed)
        "hw_jpeg_min_pixels": str(tuning.get("hw_jpeg_min_pixels", 0)),
        "log_stats_s": str(tuning.get("log_stats_s", 0)),  # > 0: where the time went, in the server log
        **{k: v for k, v in backbone.parameters if k in ("device", "precision", "cuda_graphs")},
        **(tuning.get("gpu_options") or {}),
    }
    _params(c, options)
    _markers(c, spec, flavour, weights, layout)
    return c


def ensemble_config(spec: catalog.Model, backbone: str, weights: dict):
    """The seed's contract: INPUT UINT8 [-1] (file bytes) -> OUTPUT FP32 [1000], labels for class_count."""
    pb = model_config_pb2()
    c = pb.ModelConfig(name=spec.ensemble, platform="ensemble", max_batch_size=MAX_BATCH)
    c.input.append(_tensor(pb.ModelInput, "INPUT", "TYPE_UINT8", [-1]))
    c.output.append(_tensor(pb.ModelOutput, "OUTPUT", "TYPE_FP32", [1000], label_filename=LABELS))
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
