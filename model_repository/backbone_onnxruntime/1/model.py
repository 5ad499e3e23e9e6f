"""Triton Python-backend backbone running ``model.onnx`` with onnxruntime (CPU).

For servers that have only the Python backend (such as the tritonserver bundled with PyTriton).
``input``: FP32 [3, 224, 224] -> ``output``: FP32 [1000]. All requests of a dynamic batch are run as
one onnxruntime call, which is where batching pays on a CPU.
"""

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from triton_console_runtime import OrtRunner, params_of, spinning_of, uint_of


class TritonPythonModel:
    def initialize(self, args):
        params = params_of(json.loads(args["model_config"]))
        path = os.path.join(
            args["model_repository"], args["model_version"], params.get("onnx_file", "model.onnx")
        )
        self.runner = OrtRunner(
            path,
            int(params.get("intra_op_threads", "0") or 0),
            spinning=spinning_of(params.get("ort_spinning", "true")),
            spin_us=uint_of(params.get("ort_spin_us", "")),
            load_window_ms=uint_of(params.get("ort_load_window_ms", ""), 500),
        )

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "input").as_numpy() for r in requests]
        logits = self.runner.forward(arrays)
        responses, start = [], 0
        for a in arrays:
            n = a.shape[0]
            out = pb_utils.Tensor("output", np.ascontiguousarray(logits[start : start + n]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += n
        return responses
