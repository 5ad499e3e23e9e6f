"""Triton Python-backend backbone running ``model.onnx`` with onnxruntime (CPU).

For servers that have only the Python backend (such as the tritonserver bundled with PyTriton).
``input``: FP32 [3, 224, 224] -> ``output``: FP32 [1000]. All requests of a dynamic batch are run as
one onnxruntime call, which is where batching pays on a CPU.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        path = os.path.join(
            args["model_repository"], args["model_version"], params.get("onnx_file", "model.onnx")
        )
        options = ort.SessionOptions()
        threads = int(params.get("intra_op_threads", "0") or 0)
        if threads > 0:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "input").as_numpy() for r in requests]
        sizes = [a.shape[0] for a in arrays]
        batch = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        logits = self.session.run(
            [self.output_name], {self.input_name: batch.astype(np.float32, copy=False)}
        )[0]
        responses, start = [], 0
        for n in sizes:
            out = pb_utils.Tensor("output", np.ascontiguousarray(logits[start : start + n]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += n
        return responses
