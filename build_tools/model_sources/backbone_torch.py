"""Triton Python-backend backbone running the TorchScript model with torch, on the GPU when there is one.

For servers without TensorRT or ONNX Runtime backends (such as the tritonserver bundled with PyTriton):
on CUDA it runs fp16 + channels_last and replays CUDA graphs captured per batch bucket (powers of two up to
max_batch_size), which removes the per-kernel launch cost that dominates small batches; on a machine without
CUDA it falls back to fp32 on the CPU. All requests of a dynamic batch run as one forward pass.
Inputs are taken where Triton has them (FORCE_CPU_ONLY_INPUT_TENSORS=no): GPU tensors from the GPU
preprocess arrive through DLPack and are copied straight into the graph's static input, never via the host.
``input``: FP32 [3, 224, 224] -> ``output``: FP32 [1000].
"""

import json
import os
import threading

import numpy as np
import torch
import torch.utils.dlpack
import triton_python_backend_utils as pb_utils


def select_device(requested: str) -> torch.device:
    """``auto`` → cuda when available, else cpu; ``cuda`` without a GPU falls back to cpu (and says so)."""
    if requested in ("auto", "cuda", "") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def bucket(n: int, limit: int) -> int:
    b = 1
    while b < n:
        b *= 2
    return min(b, limit)


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        path = os.path.join(
            args["model_repository"], args["model_version"], params.get("torchscript_file", "model.pt")
        )
        self.device = select_device(params.get("device", "auto"))
        cuda = self.device.type == "cuda"
        self.dtype = torch.float16 if cuda and params.get("precision", "fp16") == "fp16" else torch.float32
        self.max_batch = int(config.get("max_batch_size", 256) or 256)
        model = torch.jit.load(path, map_location=self.device).eval()
        self.model = model.to(dtype=self.dtype, memory_format=torch.channels_last)
        self.use_graphs = cuda and params.get("cuda_graphs", "true") == "true"
        self.graphs = {}
        self.lock = threading.Lock()
        if not cuda:
            torch.set_num_threads(int(params.get("cpu_threads", "0") or 0) or max(1, os.cpu_count() or 1))
        pb_utils.Logger.log_info(
            f"backbone on {self.device} ({self.dtype}), CUDA graphs {'on' if self.use_graphs else 'off'}"
        )
        with torch.inference_mode():  # warm up (and capture the batch-1 graph)
            self._forward_parts([torch.zeros(1, 3, 224, 224)])

    def _graph(self, b: int):
        entry = self.graphs.get(b)
        if entry is None:
            static_in = torch.zeros(b, 3, 224, 224, device=self.device, dtype=self.dtype).contiguous(
                memory_format=torch.channels_last
            )
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.model(static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.model(static_in)
            entry = self.graphs[b] = (graph, static_in, static_out)
        return entry

    def _forward_parts(self, parts: list[torch.Tensor]) -> np.ndarray:
        """Logits for the concatenation of ``parts`` (CPU or GPU tensors), in chunks of max_batch."""
        if not self.use_graphs:
            x = torch.cat([p.to(self.device) for p in parts]) if len(parts) > 1 else parts[0].to(self.device)
            x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
            return self.model(x).float().cpu().numpy()
        outs, pending = [], list(parts)
        while pending:
            # fill one graph's static input straight from the parts (converted to fp16/channels_last
            # by copy_), splitting a part that does not fit
            take, n = [], 0
            while pending and n < self.max_batch:
                part = pending.pop(0)
                room = self.max_batch - n
                if part.shape[0] > room:
                    pending.insert(0, part[room:])
                    part = part[:room]
                take.append(part)
                n += part.shape[0]
            graph, static_in, static_out = self._graph(bucket(n, self.max_batch))
            start = 0
            for part in take:
                static_in[start : start + part.shape[0]].copy_(part, non_blocking=True)
                start += part.shape[0]
            graph.replay()
            outs.append(static_out[:n].float().cpu().numpy())
        return np.concatenate(outs) if len(outs) > 1 else outs[0]

    @staticmethod
    def _as_torch(tensor) -> torch.Tensor:
        if tensor.is_cpu():
            return torch.from_numpy(tensor.as_numpy())
        return torch.utils.dlpack.from_dlpack(tensor.to_dlpack())

    def execute(self, requests):
        parts = [self._as_torch(pb_utils.get_input_tensor_by_name(r, "input")) for r in requests]
        sizes = [p.shape[0] for p in parts]
        with self.lock, torch.inference_mode():
            logits = self._forward_parts(parts)
        responses, start = [], 0
        for n in sizes:
            out = pb_utils.Tensor("output", np.ascontiguousarray(logits[start : start + n]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
            start += n
        return responses
