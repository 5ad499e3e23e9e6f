"""Triton Python-backend model ``fused_python_<model>``: the seed's three steps in one process.

INPUT UINT8 [-1] (the file's bytes) -> OUTPUT FP32 [1000] (class probabilities, labels for the
classification extension), plus TIMINGS FP32 [4]: the dynamic batch's decode, backbone and softmax
milliseconds and its size, so a client can show where the time went.

Each dynamic batch is decoded together (nvJPEG batches on a GPU, Pillow threads for the rest), run through
the backbone in one pass (a CUDA graph on a GPU, onnxruntime on a CPU) and soft-maxed, without crossing
into other processes or CUDA contexts: what the ensemble pays three times, this pays once.
"""

import json
import os
import time

import numpy as np
import triton_python_backend_utils as pb_utils
from triton_console_runtime import BatchDecoder, OrtRunner, TorchRunner, params_of, softmax


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = params_of(config)
        folder = os.path.join(args["model_repository"], args["model_version"])
        self.decoder = BatchDecoder(
            int(params.get("decode_threads", "0") or 0),
            params.get("gpu_decode", "auto"),
            log=pb_utils.Logger.log_warn,
        )
        backbone = params.get("backbone_file", "model.onnx")
        if backbone.endswith(".pt"):
            self.runner = TorchRunner(
                os.path.join(folder, backbone),
                params.get("device", "auto"),
                params.get("precision", "fp16"),
                params.get("cuda_graphs", "true") == "true",
                int(config.get("max_batch_size", 256) or 256),
                int(params.get("cpu_threads", "0") or 0),
            )
            self.torch_input = True
            self.gpu_dtype = self.runner.dtype
        else:
            self.runner = OrtRunner(
                os.path.join(folder, backbone), int(params.get("intra_op_threads", "0") or 0)
            )
            self.torch_input = False
            self.gpu_dtype = None
        out = pb_utils.get_output_config_by_name(config, "OUTPUT")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])
        pb_utils.Logger.log_info(f"fused: {self.decoder.description}; {self.runner.description}")

    def _part(self, batch):
        """A decoded batch in the form the runner takes (torch for the torch runner, numpy for onnxruntime)."""
        if self.torch_input:
            import torch

            return torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch
        return batch if isinstance(batch, np.ndarray) else batch.float().cpu().numpy()

    def execute(self, requests):
        t0 = time.perf_counter()
        arrays = [pb_utils.get_input_tensor_by_name(r, "INPUT").as_numpy() for r in requests]
        decoded = self.decoder.decode(arrays, self.gpu_dtype)
        good = [i for i, (_, error) in enumerate(decoded) if error is None]
        t1 = time.perf_counter()
        probs, sizes = None, [decoded[i][0].shape[0] for i in good]
        if good:
            logits = self.runner.forward([self._part(decoded[i][0]) for i in good])
            t2 = time.perf_counter()
            probs = softmax(logits).astype(self.out_dtype, copy=False)
        else:
            t2 = t1
        t3 = time.perf_counter()
        timings = np.array(
            [[(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, sum(sizes)]], dtype=np.float32
        )
        responses, start, rows = [], 0, dict(zip(good, sizes, strict=True))
        for i, (_, error) in enumerate(decoded):
            if error is not None:
                responses.append(
                    pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(error))
                )
                continue
            n = rows[i]
            out = pb_utils.Tensor("OUTPUT", np.ascontiguousarray(probs[start : start + n]))
            start += n
            responses.append(
                pb_utils.InferenceResponse([out, pb_utils.Tensor("TIMINGS", np.repeat(timings, n, axis=0))])
            )
        return responses

    def finalize(self):
        self.decoder.close()
