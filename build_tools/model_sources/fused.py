"""Triton Python-backend model ``fused_python_<model>``: the seed's three steps in one process.

INPUT UINT8 [-1] (the file's bytes) -> OUTPUT FP32 [1000] (class probabilities, labels for the
classification extension), plus TIMINGS FP32 [4]: decode, backbone and softmax milliseconds and the size
of the batch the backbone ran, so a client can show where the time went.

Two ways to run, one result:

- in turn (the default on a CPU): each dynamic batch is decoded (Pillow threads), run through the
  backbone (onnxruntime) and soft-maxed inside ``execute``; one process, no hand-offs, the lowest latency.
- pipelined (the default on a GPU): ``execute`` only takes the requests' bytes and their response senders
  and returns at once, so Triton hands over the next batch while this one is still being worked on.
  Decode workers (nvJPEG, each on its own CUDA stream) feed one backbone thread that gathers whatever is
  decoded into one CUDA-graph run with the softmax on the device, then answers each request. Decoding,
  the backbone and the answers overlap inside one process and one CUDA context; the ensemble pays three
  processes, five contexts and two extra hand-offs for the same work.

One bad image fails only its own request, with the same message the ensemble gives.
"""

import json
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import triton_python_backend_utils as pb_utils
from triton_console_runtime import BatchDecoder, OrtRunner, TorchRunner, params_of, softmax

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


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
            )
            self.torch_input = True
            self.gpu_dtype = self.runner.dtype
        else:
            self.runner = OrtRunner(
                os.path.join(folder, backbone),
                int(params.get("intra_op_threads", "0") or 0),
                spinning=params.get("ort_spinning", "true") != "false",
            )
            self.torch_input = False
            self.gpu_dtype = None
        out = pb_utils.get_output_config_by_name(config, "OUTPUT")
        self.out_dtype = pb_utils.triton_string_to_numpy(out["data_type"])
        mode = params.get("pipeline", "auto")
        self.pipelined = mode == "on" or (mode == "auto" and self.decoder.gpu is not None)
        how = "in turn"
        if self.pipelined:
            workers = int(params.get("pipeline_workers", "0") or 0) or 3
            self.workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fused-decode")
            self.local = threading.local()
            self.ready: queue.Queue = queue.Queue()
            self.backbone_thread = threading.Thread(target=self._backbone_loop, name="fused-backbone")
            self.backbone_thread.start()
            how = f"pipelined ({workers} decode workers, one backbone thread)"
        pb_utils.Logger.log_info(f"fused: {self.decoder.description}; {self.runner.description}; {how}")

    # ------------------------------------------------------------------ shared
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

    # ------------------------------------------------------------------ in turn
    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, "INPUT").as_numpy() for r in requests]
        if self.pipelined:
            senders = [r.get_response_sender() for r in requests]
            self.workers.submit(self._decode_job, arrays, senders, time.perf_counter())
            return None
        t0 = time.perf_counter()
        decoded = self.decoder.decode(arrays, self.gpu_dtype)
        good = [i for i, (_, error) in enumerate(decoded) if error is None]
        decode_ms = (time.perf_counter() - t0) * 1e3
        sizes = [decoded[i][0].shape[0] for i in good]
        probs, backbone_ms, softmax_ms = None, 0.0, 0.0
        if good:
            probs, backbone_ms, softmax_ms = self._probabilities([self._part(decoded[i][0]) for i in good])
        timings = np.array([[decode_ms, backbone_ms, softmax_ms, sum(sizes)]], dtype=np.float32)
        responses, start, rows = [], 0, dict(zip(good, sizes, strict=True))
        for i, (_, error) in enumerate(decoded):
            if error is not None:
                responses.append(self._error(error))
                continue
            responses.append(self._response(probs[start : start + rows[i]], timings))
            start += rows[i]
        return responses

    # ------------------------------------------------------------------ pipelined
    def _stream(self):
        """This decode worker's own CUDA stream (None on a CPU)."""
        if self.decoder.gpu is None:
            return None
        stream = getattr(self.local, "stream", None)
        if stream is None:
            stream = self.local.stream = self.decoder.torch.cuda.Stream()
        return stream

    def _decode_job(self, arrays, senders, t0: float) -> None:
        try:
            stream = self._stream()
            if stream is not None:
                torch = self.decoder.torch
                with torch.cuda.stream(stream):
                    decoded = self.decoder.decode(arrays, self.gpu_dtype)
                stream.synchronize()  # the backbone thread reads these on its own stream
            else:
                decoded = self.decoder.decode(arrays, self.gpu_dtype)
        except Exception as exc:  # never leave a request unanswered
            decoded = [(None, f"preprocess failed: {type(exc).__name__}: {exc}")] * len(arrays)
        decode_ms = (time.perf_counter() - t0) * 1e3
        good = []
        for (batch, error), sender in zip(decoded, senders, strict=True):
            if error is not None:
                sender.send(self._error(error), flags=FINAL)
            else:
                good.append((batch, sender))
        if good:
            self.ready.put((good, decode_ms))

    def _backbone_loop(self) -> None:
        """Gather what the decode workers finished (up to max_batch rows), run it at once, answer each."""
        while True:
            item = self.ready.get()
            if item is None:
                return
            items, rows = [item], sum(b.shape[0] for b, _ in item[0])
            while rows < self.max_batch:
                try:
                    more = self.ready.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.ready.put(None)
                    break
                items.append(more)
                rows += sum(b.shape[0] for b, _ in more[0])
            work = [(b, s, ms) for good, ms in items for b, s in good]
            try:
                probs, backbone_ms, softmax_ms = self._probabilities([self._part(b) for b, _, _ in work])
                start = 0
                for b, sender, decode_ms in work:
                    n = b.shape[0]
                    timings = np.array([[decode_ms, backbone_ms, softmax_ms, rows]], dtype=np.float32)
                    sender.send(self._response(probs[start : start + n], timings), flags=FINAL)
                    start += n
            except Exception as exc:
                message = f"backbone failed: {type(exc).__name__}: {exc}"
                for _, sender, _ in work:
                    try:
                        sender.send(self._error(message), flags=FINAL)
                    except Exception:  # this one was answered before the failure
                        continue

    def finalize(self):
        if self.pipelined:
            self.workers.shutdown(wait=True)
            self.ready.put(None)
            self.backbone_thread.join(timeout=30)
        self.decoder.close()
