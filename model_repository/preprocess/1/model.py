"""Triton Python-backend model ``preprocess``: encoded image bytes -> normalised FP32 [3, 224, 224].

INPUT_0: UINT8 [-1] (the file's bytes, ragged across a dynamic batch); OUTPUT_0: FP32 [3, 224, 224].
Each request is decoded on its own (in a small thread pool: Pillow releases the GIL while it decodes
and resamples), so one undecodable image fails only its own request with a clear message.
"""

# First: under the console's embedded server this import also puts its site-packages on sys.path.
import triton_python_backend_utils as pb_utils  # noqa: I001

import importlib.util
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _load_preprocessing():
    """The shared decoder installed beside this file by the repository generator."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_preprocessing.py")
    spec = importlib.util.spec_from_file_location("imagenet_preprocessing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TritonPythonModel:
    def initialize(self, args):
        self.pre = _load_preprocessing()
        config = json.loads(args["model_config"])
        params = config.get("parameters", {})
        threads = int(params.get("decode_threads", {}).get("string_value", "0") or 0)
        if threads <= 0:
            threads = min(4, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode")
        self.seed_style = params.get("style", {}).get("string_value", "fast") == "seed"
        out = pb_utils.get_output_config_by_name(config, "OUTPUT_0")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])

    def _one(self, request):
        """(tensor batch or None, error message or None) for one request."""
        try:
            data = pb_utils.get_input_tensor_by_name(request, "INPUT_0").as_numpy()
            if data.dtype != np.uint8:
                return None, f"INPUT must be UINT8 bytes, got {data.dtype}"
            rows = data.reshape(1, -1) if data.ndim == 1 else data.reshape(data.shape[0], -1)
            batch = np.empty((rows.shape[0], 3, self.pre.CROP, self.pre.CROP), dtype=np.float32)
            for i, row in enumerate(rows):
                if self.seed_style:  # benchmarks only: the original example's full decode
                    batch[i] = self.pre.preprocess_seed_style(row.tobytes())
                else:
                    self.pre.to_chw(self.pre.decode(row.tobytes()), out=batch[i])
            return batch, None
        except self.pre.ImageError as exc:
            return None, str(exc)
        except Exception as exc:  # never let one request take the model down
            return None, f"preprocess failed: {type(exc).__name__}: {exc}"

    def execute(self, requests):
        responses = []
        for batch, error in self.pool.map(self._one, requests):
            if error is not None:
                responses.append(
                    pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(error))
                )
                continue
            tensor = pb_utils.Tensor("OUTPUT_0", batch.astype(self.out_dtype, copy=False))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses

    def finalize(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
