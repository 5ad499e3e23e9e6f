"""Triton Python-backend model ``postprocess``: backbone logits -> class probabilities (softmax).

INPUT_0: FP32 [1000] logits; OUTPUT_0: FP32 [1000] probabilities, on which the ensemble's labels file
lets clients ask for top-k through Triton's classification extension. All requests of a dynamic batch
are computed in one vectorised call.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        out = pb_utils.get_output_config_by_name(config, "OUTPUT_0")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "INPUT_0").as_numpy() for r in requests]
        sizes = [a.shape[0] for a in arrays]
        probs = softmax(np.concatenate(arrays).astype(np.float32, copy=False))
        responses, start = [], 0
        for n in sizes:
            out = pb_utils.Tensor("OUTPUT_0", probs[start : start + n].astype(self.out_dtype, copy=False))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += n
        return responses
