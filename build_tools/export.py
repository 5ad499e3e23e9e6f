"""Export a backbone to ONNX (dynamic batch) and check it numerically against torch with onnxruntime."""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from triton_console.build_tools.tensors import IMAGE_SIZE, INPUT_NAME, OUTPUT_NAME
from triton_console.common import fsutil
from triton_console.common.errors import ConsoleError
from triton_console.common.progress import Progress

OPSET = 17
MAX_ABS_DIFF = 1e-4


@dataclass
class CheckReport:
    """Result of comparing onnxruntime with torch on the same batch."""

    batch: int
    max_abs_diff: float
    top1_agree: int
    passed: bool
    tolerance: float = MAX_ABS_DIFF

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"numeric check {verdict}: max |torch - onnxruntime| = {self.max_abs_diff:.2e} "
            f"(limit {self.tolerance:.0e}), top-1 agrees on {self.top1_agree}/{self.batch}"
        )


def export_onnx(net, output: Path, progress: Progress | None = None) -> Path:
    """Write ``net`` as ONNX to ``output`` atomically: ``input`` [-1,3,224,224] → ``output`` [-1,1000]."""
    import torch

    progress = progress or Progress()
    progress.check("export")
    progress.log(f"exporting to {output} (opset {OPSET}, dynamic batch axis)")
    dummy = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    start = time.perf_counter()
    with fsutil.atomic_path(Path(output)) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's constant-folding chatter
        torch.onnx.export(
            net,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        progress.check("export")
        _check_graph(tmp)
    progress.fraction(1.0)
    progress.log(
        f"exported {Path(output).stat().st_size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s"
    )
    return Path(output)


def save_torchscript(net, output: Path) -> Path:
    """Trace ``net`` (fp32, CPU) to TorchScript for the python-torch backbone; checked against eager."""
    import torch

    x = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, x, check_trace=False)
        diff = float((traced(x) - net(x)).abs().max())
    if diff > MAX_ABS_DIFF:
        raise ConsoleError(f"TorchScript trace differs from the model by {diff:.2e}", exit_code=1)
    with fsutil.atomic_path(Path(output)) as tmp:
        torch.jit.save(traced, str(tmp))
    return Path(output)


def _check_graph(path: Path) -> None:
    """onnx.checker plus the seed's tensor contract (names, dtypes, dynamic batch)."""
    import onnx

    onnx.checker.check_model(str(path))
    model = onnx.load(str(path), load_external_data=False)

    def dims(value_info) -> list:
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    inputs = {i.name: i for i in model.graph.input}
    outputs = {o.name: o for o in model.graph.output}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise ConsoleError(f"exported graph lacks {INPUT_NAME!r}/{OUTPUT_NAME!r}")
    in_dims, out_dims = dims(inputs[INPUT_NAME]), dims(outputs[OUTPUT_NAME])
    if not isinstance(in_dims[0], str) or in_dims[1:] != [3, IMAGE_SIZE, IMAGE_SIZE]:
        raise ConsoleError(f"exported input has dims {in_dims}, expected [batch,3,224,224]")
    if not isinstance(out_dims[0], str) or out_dims[1:] != [1000]:
        raise ConsoleError(f"exported output has dims {out_dims}, expected [batch,1000]")


def check_numerics(net, onnx_path: Path, batch: int = 4, seed: int = 0) -> CheckReport:
    """Run torch and onnxruntime on the same seeded batch; logits must agree to 1e-4 with equal top-1."""
    import numpy as np
    import onnxruntime as ort
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    with torch.no_grad():
        ref = net(x).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    diff = float(np.max(np.abs(ref - got)))
    agree = int(np.sum(ref.argmax(1) == got.argmax(1)))
    return CheckReport(batch, diff, agree, passed=diff <= MAX_ABS_DIFF and agree == batch)
