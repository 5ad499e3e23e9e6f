"""Triton Python-backend backbone running the TorchScript model with torch, on the GPU when there is one.

For servers without TensorRT or ONNX Runtime backends (such as the tritonserver bundled with PyTriton):
on CUDA it runs fp16 + channels_last and replays CUDA graphs captured per batch bucket (powers of two up to
max_batch_size), which removes the per-kernel launch cost that dominates small batches; on a machine without
CUDA it falls back to fp32 on the CPU. All requests of a dynamic batch run as one forward pass.
Inputs are taken where Triton has them (FORCE_CPU_ONLY_INPUT_TENSORS=no): GPU tensors from the GPU
preprocess arrive through DLPack and are copied straight into the graph's static input, never via the host.
``input``: FP32 [3, 224, 224] -> ``output``: FP32 [1000].

Parameter ``output_device``: "cpu" (the default) hands the logits back as host arrays; "gpu" hands them over
as GPU tensors through DLPack (no ``.cpu()`` in ``execute``; the server copies them where the client asked,
into its CUDA shared memory for example).
"""

import json
import os

import numpy as np
import torch
import torch.utils.dlpack
import triton_python_backend_utils as pb_utils
from triton_console_runtime import TorchRunner, params_of


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = params_of(config)
        path = os.path.join(
            args["model_repository"], args["model_version"], params.get("torchscript_file", "model.pt")
        )
        self.runner = TorchRunner(
            path,
            params.get("device", "auto"),
            params.get("precision", "fp16"),
            params.get("cuda_graphs", "true") == "true",
            int(config.get("max_batch_size", 256) or 256),
            int(params.get("cpu_threads", "0") or 0),
        )
        self.on_gpu = params.get("output_device", "cpu") == "gpu" and self.runner.device.type == "cuda"
        pb_utils.Logger.log_info(
            f"{self.runner.description}, output on the {'GPU' if self.on_gpu else 'CPU'}"
        )

    @staticmethod
    def _as_torch(tensor) -> torch.Tensor:
        if tensor.is_cpu():
            return torch.from_numpy(tensor.as_numpy())
        return torch.utils.dlpack.from_dlpack(tensor.to_dlpack())

    def execute(self, requests):
        parts = [self._as_torch(pb_utils.get_input_tensor_by_name(r, "input")) for r in requests]
        logits = self.runner.forward(parts, host=not self.on_gpu)
        if self.on_gpu:  # the server reads these buffers on its own streams: the replay must be done first
            torch.cuda.current_stream().synchronize()
        responses, start = [], 0
        for p in parts:
            n = p.shape[0]
            if self.on_gpu:
                out = pb_utils.Tensor.from_dlpack(
                    "output", torch.utils.dlpack.to_dlpack(logits[start : start + n])
                )
            else:
                out = pb_utils.Tensor("output", np.ascontiguousarray(logits[start : start + n]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += n
        return responses
