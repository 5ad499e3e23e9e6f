"""Triton Python-backend model ``preprocess``: encoded image bytes -> normalised FP32 [3, 224, 224].

INPUT_0: UINT8 [-1] (the file's bytes, ragged across a dynamic batch); OUTPUT_0: FP32 [3, 224, 224].
On a CUDA machine (torch + torchvision in the stub's environment) plain JPEGs of a dynamic batch are
decoded together with nvJPEG and resized per size group on the GPU, and the result stays on the GPU for
the backbone (DLPack); everything else is decoded by Pillow in a small thread pool (it releases the GIL
while it decodes and resamples). One undecodable image fails only its own request, with a clear message.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from triton_console_runtime import BatchDecoder, params_of


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = params_of(config)
        out = pb_utils.get_output_config_by_name(config, "OUTPUT_0")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])
        self.decoder = BatchDecoder(
            int(params.get("decode_threads", "0") or 0),
            params.get("gpu_decode", "auto"),
            params.get("style", "fast") == "seed",
            pb_utils.Logger.log_warn,
        )
        # GPU results go to the next step as GPU tensors unless told otherwise (no copy to host and back)
        self.gpu_output = self.decoder.gpu is not None and params.get("gpu_output", "auto") != "off"
        self.gpu_dtype = None
        if self.decoder.gpu is not None:
            import torch
            from torch.utils import dlpack

            self.to_dlpack = dlpack.to_dlpack
            self.gpu_dtype = torch.from_numpy(np.empty(0, self.out_dtype)).dtype
        where = f" (output on {'GPU' if self.gpu_output else 'CPU'})" if self.decoder.gpu else ""
        pb_utils.Logger.log_info(f"preprocess: {self.decoder.description}{where}")

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "INPUT_0").as_numpy() for r in requests]
        decoded = self.decoder.decode(arrays, self.gpu_dtype)
        if self.decoder.gpu is not None:
            self.decoder.torch.cuda.current_stream().synchronize()  # the next step reads it from another process
        responses = []
        for batch, error in decoded:
            if error is not None:
                responses.append(
                    pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(error))
                )
            elif isinstance(batch, np.ndarray):
                out = pb_utils.Tensor("OUTPUT_0", batch.astype(self.out_dtype, copy=False))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            elif self.gpu_output:
                responses.append(
                    pb_utils.InferenceResponse(
                        [pb_utils.Tensor.from_dlpack("OUTPUT_0", self.to_dlpack(batch))]
                    )
                )
            else:
                out = pb_utils.Tensor("OUTPUT_0", batch.cpu().numpy().astype(self.out_dtype, copy=False))
                responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        self.decoder.close()
