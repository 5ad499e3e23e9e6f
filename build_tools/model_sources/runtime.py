"""What the generated Python models share, installed beside each as ``triton_console_runtime.py``.

- ``BatchDecoder``: a dynamic batch of encoded images → one normalised [N, 3, 224, 224] batch; nvJPEG on a
  CUDA machine for plain JPEGs (``imagenet_preprocessing_gpu``), Pillow in a thread pool for the rest
  (``imagenet_preprocessing``: the console's one decoder); one bad image fails only its own request.
- ``TorchRunner``: the TorchScript backbone in fp16 + channels_last with a CUDA graph per batch bucket
  (fp32 on the CPU where there is no GPU).
- ``OrtRunner``: the ONNX backbone with onnxruntime (CPU).
- ``softmax``.

Heavy imports (torch, onnxruntime) happen only in the class that needs them: a model that runs on
onnxruntime never imports torch.
"""

import importlib.util
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def load_helper(filename: str, name: str):
    """A helper module installed in this version directory (by path: two models may share a stub's sys.path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def params_of(config: dict) -> dict:
    return {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # no torch in this environment: a CPU-only install
        return False


class BatchDecoder:
    """Encoded images of a dynamic batch → (tensors or None, error or None) per request."""

    def __init__(self, threads: int = 0, gpu: str = "auto", seed_style: bool = False, log=None) -> None:
        self.pre = load_helper("imagenet_preprocessing.py", "imagenet_preprocessing")
        threads = threads if threads > 0 else min(4, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode")
        self.seed_style = seed_style
        self.gpu = None
        if gpu != "off" and not seed_style and cuda_available():
            try:
                import torch
                import torchvision.io  # noqa: F401

                jpeg = load_helper("imagenet_preprocessing_gpu.py", "imagenet_preprocessing_gpu")
                self.gpu = jpeg.JpegBatch(self.pre, "cuda")
                self.torch = torch
                warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            except Exception as exc:
                if log is not None:
                    log(f"no GPU decoding ({type(exc).__name__}: {exc})")
        self.description = (
            "nvJPEG on the GPU for JPEGs, " if self.gpu else ""
        ) + f"Pillow with {threads} threads"

    def _one(self, data: np.ndarray):
        """(float32 batch, None) or (None, error) for one request's bytes, on the CPU."""
        try:
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

    def _gpu(self, arrays: list[np.ndarray], dtype) -> dict:
        """request index -> (GPU tensor [1, 3, 224, 224], None) for single plain JPEGs, decoded together."""
        torch = self.torch
        picked, payloads, sizes = [], [], []
        for i, data in enumerate(arrays):
            if data.dtype == np.uint8 and (data.ndim == 1 or data.shape[0] == 1):
                b = data.tobytes()
                size = self.gpu.header(b)
                if size is not None:
                    picked.append(i)
                    payloads.append(torch.frombuffer(b, dtype=torch.uint8))
                    sizes.append(size)
        if not picked:
            return {}
        try:
            out = self.gpu.run(payloads, sizes, dtype)
        except Exception:  # nvJPEG refused something in the batch: Pillow decodes them all instead
            return {}
        return {i: (out[k : k + 1], None) for k, i in enumerate(picked)}

    def decode(self, arrays: list[np.ndarray], gpu_dtype=None) -> list[tuple]:
        """Per request: (tensor, None) — a GPU torch tensor or a CPU numpy array — or (None, error)."""
        done = self._gpu(arrays, gpu_dtype or self.torch.float32) if self.gpu is not None else {}
        rest = [a for i, a in enumerate(arrays) if i not in done]
        # one image: decode it here (a hop to the pool costs more than it saves)
        cpu = iter([self._one(rest[0])] if len(rest) == 1 else self.pool.map(self._one, rest))
        return [done[i] if i in done else next(cpu) for i in range(len(arrays))]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def bucket(n: int, limit: int) -> int:
    b = 1
    while b < n:
        b *= 2
    return min(b, limit)


class TorchRunner:
    """TorchScript backbone: fp16 + channels_last + a CUDA graph per batch bucket on a GPU, fp32 on a CPU."""

    def __init__(
        self,
        path: str,
        device: str = "auto",
        precision: str = "fp16",
        cuda_graphs: bool = True,
        max_batch: int = 256,
        cpu_threads: int = 0,
        probabilities: bool = False,
    ) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(
            "cuda" if device in ("auto", "cuda", "") and torch.cuda.is_available() else "cpu"
        )
        cuda = self.device.type == "cuda"
        self.dtype = torch.float16 if cuda and precision == "fp16" else torch.float32
        self.max_batch = max_batch
        model = torch.jit.load(path, map_location=self.device).eval()
        self.model = model.to(dtype=self.dtype, memory_format=torch.channels_last)
        self.probabilities = probabilities  # softmax on the device (inside the graph), fp32 out
        self.use_graphs = cuda and cuda_graphs
        self.graphs = {}
        self.lock = threading.Lock()
        if not cuda:
            torch.set_num_threads(cpu_threads or max(1, os.cpu_count() or 1))
        self.description = (
            f"backbone on {self.device} ({self.dtype}), CUDA graphs {'on' if self.use_graphs else 'off'}"
        )
        with torch.inference_mode():  # warm up (and capture the batch-1 graph)
            self.forward([torch.zeros(1, 3, 224, 224)])

    def _graph(self, b: int):
        torch = self.torch
        entry = self.graphs.get(b)
        if entry is None:
            static_in = torch.zeros(b, 3, 224, 224, device=self.device, dtype=self.dtype).contiguous(
                memory_format=torch.channels_last
            )
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._run(static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self._run(static_in)
            entry = self.graphs[b] = (graph, static_in, static_out)
        return entry

    def _run(self, x):
        out = self.model(x)
        return self.torch.softmax(out.float(), dim=1) if self.probabilities else out

    def forward(self, parts: list) -> np.ndarray:
        """Logits (probabilities if asked) for the concatenation of ``parts`` (CPU or GPU tensors), in chunks
        of max_batch."""
        torch = self.torch
        with self.lock, torch.inference_mode():
            if not self.use_graphs:
                x = (
                    torch.cat([p.to(self.device) for p in parts])
                    if len(parts) > 1
                    else parts[0].to(self.device)
                )
                x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
                return self._run(x).float().cpu().numpy()
            outs, pending = [], list(parts)
            while pending:
                # fill one graph's static input straight from the parts (converted to fp16/channels_last by
                # copy_), splitting a part that does not fit
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


class OrtRunner:
    """ONNX backbone on onnxruntime (CPU): the whole dynamic batch in one call."""

    def __init__(self, path: str, threads: int = 0, spinning: bool = True) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if not spinning:  # no busy-waiting between runs, for cores shared with other busy processes
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.description = f"backbone on onnxruntime (CPU, {threads or 'all'} threads)"

    def forward(self, parts: list) -> np.ndarray:
        batch = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self.session.run([self.output_name], {self.input_name: batch.astype(np.float32, copy=False)})[
            0
        ]
