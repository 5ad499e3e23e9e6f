"""Build a TensorRT engine from the ONNX file: trtexec where it exists, else the ``tensorrt`` Python API.

The trtexec flag set is that of current TensorRT (10.x): no ``--explicitBatch`` (removed; every network
is explicit-batch), shapes as ``--minShapes/--optShapes/--maxShapes``, ``--fp16``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from triton_console.build_tools.tensors import IMAGE_SIZE, INPUT_NAME
from triton_console.common import fsutil
from triton_console.common.errors import ConsoleError
from triton_console.common.progress import Progress

MAX_TRT_BATCH = 4096  # sanity bound; Triton's seed uses 256


@dataclass(frozen=True)
class BatchRange:
    """min <= opt <= max batch sizes of the engine's optimisation profile."""

    min: int = 1
    opt: int = 1
    max: int = 256

    def __post_init__(self) -> None:
        if not (1 <= self.min <= self.opt <= self.max <= MAX_TRT_BATCH):
            raise ConsoleError(
                f"batch sizes must satisfy 1 <= min <= opt <= max <= {MAX_TRT_BATCH}; "
                f"got min={self.min} opt={self.opt} max={self.max}"
            )

    def shape(self, batch: int) -> str:
        return f"{INPUT_NAME}:{batch}x3x{IMAGE_SIZE}x{IMAGE_SIZE}"


def find_trtexec() -> str | None:
    """``$TRTEXEC``, ``trtexec`` on PATH, or the NGC container's /usr/src/tensorrt/bin/trtexec."""
    for candidate in (os.environ.get("TRTEXEC"), shutil.which("trtexec"), "/usr/src/tensorrt/bin/trtexec"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def tensorrt_api_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorrt") is not None


def tensorrt_available() -> bool:
    return find_trtexec() is not None or tensorrt_api_available()


def trtexec_argv(trtexec: str, onnx: Path, plan: Path, batches: BatchRange, fp16: bool = True) -> list[str]:
    """The seed's trtexec command for current TensorRT releases, as an argv list."""
    argv = [
        trtexec,
        f"--onnx={onnx}",
        f"--saveEngine={plan}",
        f"--minShapes={batches.shape(batches.min)}",
        f"--optShapes={batches.shape(batches.opt)}",
        f"--maxShapes={batches.shape(batches.max)}",
        "--skipInference",
    ]
    if fp16:
        argv.append("--fp16")
    return argv


def missing_tools_error() -> ConsoleError:
    return ConsoleError(
        "TensorRT is not available: neither trtexec nor the tensorrt Python module was found",
        hint=(
            "install TensorRT (pip install tensorrt, or use the NGC container nvcr.io/nvidia/tensorrt), "
            "put trtexec on PATH or set $TRTEXEC; on a CPU-only machine build with "
            "--backbone onnxruntime or python-onnxruntime instead"
        ),
        exit_code=2,
    )


def build_engine(
    onnx: Path,
    plan: Path,
    batches: BatchRange | None = None,
    fp16: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Build ``plan`` from ``onnx``; raises :class:`ConsoleError` (exit 2) when TensorRT is absent."""
    progress = progress or Progress()
    batches = batches or BatchRange()
    onnx = Path(onnx)
    if not onnx.is_file():
        raise ConsoleError(f"ONNX file {onnx} does not exist", exit_code=2)
    trtexec = find_trtexec()
    start = time.perf_counter()
    with fsutil.atomic_path(Path(plan)) as tmp:
        if trtexec:
            _run_trtexec(trtexec_argv(trtexec, onnx, tmp, batches, fp16), progress)
        elif tensorrt_api_available():
            _build_with_api(onnx, tmp, batches, fp16, progress)
        else:
            raise missing_tools_error()
    progress.log(f"engine {plan} built in {time.perf_counter() - start:.0f} s")
    return Path(plan)


def _run_trtexec(argv: list[str], progress: Progress) -> None:
    progress.log("$ " + " ".join(argv))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    try:
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-20:]
            progress.log(line)
            if progress.cancel_event.is_set():
                proc.terminate()
                break
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    progress.check("engine build")
    if rc != 0:
        raise ConsoleError(f"trtexec failed with exit code {rc}:\n" + "\n".join(tail[-8:]), exit_code=1)


def _build_with_api(onnx: Path, plan: Path, batches: BatchRange, fp16: bool, progress: Progress) -> None:
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConsoleError(f"TensorRT could not parse {onnx}: {errors}", exit_code=1)
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    dims = [(b, 3, IMAGE_SIZE, IMAGE_SIZE) for b in (batches.min, batches.opt, batches.max)]
    profile.set_shape(INPUT_NAME, *dims)
    config.add_optimization_profile(profile)
    progress.log(
        f"building with the tensorrt {trt.__version__} Python API (fp16={fp16}, batch {dims[0][0]}..{dims[2][0]})"
    )
    serialized = builder.build_serialized_network(network, config)
    progress.check("engine build")
    if serialized is None:
        raise ConsoleError("TensorRT failed to build the engine (see its log above)", exit_code=1)
    Path(plan).write_bytes(bytes(serialized))
