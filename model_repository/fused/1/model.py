"""Triton Python-backend model ``fused_python_<model>``: the seed's three steps in one process.

INPUT UINT8 [-1] (the file's bytes) -> OUTPUT FP32 [1000] (class probabilities, labels for the
classification extension), plus TIMINGS FP32 [4]: decode, backbone and softmax milliseconds and the size
of the batch, so a client can show where the time went.

Each dynamic batch is decoded together (nvJPEG in parallel slices on a GPU with Pillow threads beside it
for what nvJPEG should not take; Pillow threads on a CPU), run through the backbone in one pass (a CUDA
graph with the softmax inside on a GPU, onnxruntime on a CPU) and answered in one go, without crossing
into other processes or CUDA contexts: what the ensemble pays three times, this pays once.

Measured and dropped (benchmarks/gpu.py, H200): answering from a backbone thread through response
senders so that ``execute`` returns at once and batches overlap inside one process. Each ``send`` waits
for the server, about 0.5 ms, so a batch of 180 spent 95 ms answering; one instance reached 1,200 img/s
that way against 2,900 in turn. More instances overlap batches instead (``instance_group`` count).
On a CPU a larger batch is decoded in slices, the backbone running on one while the next decodes.

One bad image fails only its own request, with the same message the ensemble gives.

The ``fused-bytes`` layout builds this same model with IMAGES BYTES [1] instead of INPUT UINT8 [-1]: one
encoded image per batch row, so one request can carry k images of different sizes (a UINT8 [-1] input holds
one file per request). Its k images decode and run with the rest of the dynamic batch; a bad one fails its
request, naming which.
"""

import json
import os
import threading
import time

import numpy as np
import triton_python_backend_utils as pb_utils
from triton_console_runtime import (
    BatchDecoder,
    OrtRunner,
    TorchRunner,
    params_of,
    softmax,
    spinning_of,
    uint_of,
)


class Tally:
    """Where the batches' time went, written to the server log every ``every`` seconds under load
    (parameter ``log_stats_s``; 0, the default, writes nothing)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.lock = threading.Lock()
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self.start, self.batches, self.rows = now, 0, 0
        self.ms = {"decode": 0.0, "backbone": 0.0, "answer": 0.0}

    def add(self, rows: int, **ms: float) -> None:
        if self.every <= 0:
            return
        with self.lock:
            self.batches += 1
            self.rows += rows
            for k, v in ms.items():
                self.ms[k] += v
            now = time.monotonic()
            if now - self.start < self.every:
                return
            span, b = now - self.start, max(self.batches, 1)
            parts = " ".join(f"{k} {v / b:.2f}" for k, v in self.ms.items())
            pb_utils.Logger.log_info(
                f"fused stats: {self.rows / span:.0f} img/s, {self.batches} batches of {self.rows / b:.1f}; "
                f"ms per batch: {parts}"
            )
            self._reset(now)


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = params_of(config)
        folder = os.path.join(args["model_repository"], args["model_version"])
        self.max_batch = int(config.get("max_batch_size", 256) or 256)
        self.decoder = BatchDecoder(
            int(params.get("decode_threads", "0") or 0),
            params.get("gpu_decode", "auto"),
            log=pb_utils.Logger.log_warn,
            gpu_workers=int(params.get("gpu_workers", "3") or 3),
            gpu_max_pixels=int(params.get("gpu_max_pixels", "0") or 0),
            cpu_share=float(params.get("large_jpeg_cpu_share", "1") or 1),
            hw_min_pixels=int(params.get("hw_jpeg_min_pixels", "0") or 0),
        )
        backbone = params.get("backbone_file", "model.onnx")
        if backbone.endswith(".pt"):
            self.runner = TorchRunner(
                os.path.join(folder, backbone),
                params.get("device", "auto"),
                params.get("precision", "fp16"),
                params.get("cuda_graphs", "true") == "true",
                self.max_batch,
                int(params.get("cpu_threads", "0") or 0),
                probabilities=True,
                precapture=True,
            )
            self.torch_input = True
            self.gpu_dtype = self.runner.dtype
        else:
            self.runner = OrtRunner(
                os.path.join(folder, backbone),
                int(params.get("intra_op_threads", "0") or 0),
                spinning=spinning_of(params.get("ort_spinning", "true")),
                spin_us=uint_of(params.get("ort_spin_us", "")),
                load_window_ms=uint_of(params.get("ort_load_window_ms", ""), 500),
            )
            self.torch_input = False
            self.gpu_dtype = None
        self.input_name = config["input"][0]["name"]  # INPUT (UINT8 [-1]) or IMAGES (BYTES [1])
        out = pb_utils.get_output_config_by_name(config, "OUTPUT")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])
        # on the CPU a batch of at least 2 × cpu_overlap requests is decoded in that many slices, the
        # backbone running on one slice while Pillow decodes the next
        self.cpu_overlap = int(params.get("cpu_overlap", "2") or 1)
        self.tally = Tally(float(params.get("log_stats_s", "0") or 0))
        pb_utils.Logger.log_info(f"fused: {self.decoder.description}; {self.runner.description}")

    def _part(self, batch):
        """A decoded batch in the form the runner takes (torch for the torch runner, numpy for onnxruntime)."""
        if self.torch_input:
            import torch

            return torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch
        return batch if isinstance(batch, np.ndarray) else batch.float().cpu().numpy()

    def _probabilities(self, parts: list) -> tuple[np.ndarray, float, float]:
        """(probabilities, backbone ms, softmax ms); on a GPU the softmax is part of the backbone's graph."""
        t0 = time.perf_counter()
        out = self.runner.forward(parts)
        t1 = time.perf_counter()
        if not getattr(self.runner, "probabilities", False):
            out = softmax(out)
        out = out.astype(self.out_dtype, copy=False)
        return out, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3

    def _response(self, probs: np.ndarray, timings: np.ndarray):
        n = probs.shape[0]
        return pb_utils.InferenceResponse(
            [
                pb_utils.Tensor("OUTPUT", np.ascontiguousarray(probs)),
                pb_utils.Tensor("TIMINGS", np.repeat(timings, n, axis=0)),
            ]
        )

    @staticmethod
    def _error(message: str):
        return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message))

    def _in_turn(self, arrays):
        """Decode the whole batch, then run the backbone on it (the GPU path, and small CPU batches)."""
        t0 = time.perf_counter()
        decoded = self.decoder.decode(arrays, self.gpu_dtype)
        good = [decoded[i][0] for i, (_, error) in enumerate(decoded) if error is None]
        decode_ms = (time.perf_counter() - t0) * 1e3
        if not good:
            return decoded, None, decode_ms, 0.0, 0.0
        probs, backbone_ms, softmax_ms = self._probabilities([self._part(b) for b in good])
        return decoded, probs, decode_ms, backbone_ms, softmax_ms

    def _overlapped(self, arrays):
        """The CPU path for larger batches: the backbone runs slice by slice while the pool decodes the
        next slice. decode_ms is the time spent waiting for decoded slices, so the three times still add
        up to the batch's wall time."""
        decoded, outs = [], []
        decode_ms = backbone_ms = softmax_ms = 0.0
        t = time.perf_counter()
        for part in self.decoder.decode_parts(arrays, self.cpu_overlap):
            decode_ms += (time.perf_counter() - t) * 1e3
            good = [self._part(b) for b, error in part if error is None]
            if good:
                probs, b_ms, s_ms = self._probabilities(good)
                outs.append(probs)
                backbone_ms += b_ms
                softmax_ms += s_ms
            decoded += part
            t = time.perf_counter()
        return decoded, (np.concatenate(outs) if outs else None), decode_ms, backbone_ms, softmax_ms

    def _arrays(self, request) -> list:
        """A request's encoded images: its UINT8 tensor as it is, or one array per BYTES element."""
        data = pb_utils.get_input_tensor_by_name(request, self.input_name).as_numpy()
        if data.dtype != np.object_:
            return [data]
        return [
            np.frombuffer(b if isinstance(b, bytes) else bytes(b), dtype=np.uint8) for b in data.reshape(-1)
        ]

    def execute(self, requests):
        arrays, owner = [], []
        for j, r in enumerate(requests):
            for a in self._arrays(r):
                arrays.append(a)
                owner.append(j)
        if self.decoder.gpu is None and self.cpu_overlap > 1 and len(arrays) >= 2 * self.cpu_overlap:
            decoded, probs, decode_ms, backbone_ms, softmax_ms = self._overlapped(arrays)
        else:
            decoded, probs, decode_ms, backbone_ms, softmax_ms = self._in_turn(arrays)
        good = [i for i, (_, error) in enumerate(decoded) if error is None]
        sizes = [decoded[i][0].shape[0] for i in good]
        timings = np.array([[decode_ms, backbone_ms, softmax_ms, sum(sizes)]], dtype=np.float32)
        t2 = time.perf_counter()
        rows, start = {}, 0  # array -> its rows of probs
        for i, n in zip(good, sizes, strict=True):
            rows[i] = (start, start + n)
            start += n
        items: list[list[int]] = [[] for _ in requests]
        for i, j in enumerate(owner):
            items[j].append(i)
        responses = []
        for mine in items:
            if not mine:
                responses.append(self._error(f"{self.input_name} holds no image"))
                continue
            bad = [(k, decoded[i][1]) for k, i in enumerate(mine) if decoded[i][1] is not None]
            if bad:
                k, error = bad[0]
                responses.append(
                    self._error(error if len(mine) == 1 else f"image {k + 1} of {len(mine)}: {error}")
                )
                continue
            parts = [probs[rows[i][0] : rows[i][1]] for i in mine]
            responses.append(self._response(parts[0] if len(parts) == 1 else np.concatenate(parts), timings))
        answer_ms = (time.perf_counter() - t2) * 1e3
        self.tally.add(sum(sizes), decode=decode_ms, backbone=backbone_ms + softmax_ms, answer=answer_ms)
        return responses

    def finalize(self):
        self.decoder.close()
