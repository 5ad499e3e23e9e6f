"""What the generated Python models share, installed beside each as ``triton_console_runtime.py``.

- ``BatchDecoder``: a dynamic batch of encoded images → one normalised [N, 3, 224, 224] batch; nvJPEG on a
  CUDA machine for plain JPEGs (``imagenet_preprocessing_gpu``), large ones on the GPU's hardware JPEG
  engines when nvImageCodec is installed (``hardware_jpeg``, optional), Pillow in a thread pool for the rest
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
import time
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


def spinning_of(value: str) -> bool | str:
    """The ``ort_spinning`` parameter: "true", "false", "run" or "lone" (see OrtRunner)."""
    value = (value or "true").strip().lower()
    return value if value in ("run", "lone") else value != "false"


def uint_of(value: str, default: int = 0) -> int:
    """A parameter that counts something (``ort_spin_us``, ``ort_load_window_ms``): ``default`` where it is
    empty or not a whole number, 0 where it is negative."""
    try:
        return max(0, int(str(value).strip())) if str(value or "").strip() else default
    except ValueError:
        return default


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


def hardware_jpeg(log=None):
    """(decoder, params, CodeStream) on the GPU's hardware JPEG engines (A100, H100, H200) through nvImageCodec, or None
    where ``nvidia-nvimgcodec`` is not installed or will not start: optional, nvJPEG's CUDA path then decodes
    every JPEG. Measured on the H200: the engines decode the 8.5 Mpx mug at 1,247/s (the same pixels as
    Pillow) against 993/s for nvJPEG's CUDA path, but small images 4x slower, hence ``route``."""
    try:
        from nvidia import nvimgcodec
    except ImportError:
        return None
    try:
        decoder = nvimgcodec.Decoder(backends=[nvimgcodec.Backend(nvimgcodec.BackendKind.HW_GPU_ONLY)])
        params = nvimgcodec.DecodeParams(
            apply_exif_orientation=False, sample_format=nvimgcodec.SampleFormat.I_RGB
        )  # the header gate already sends rotated JPEGs to Pillow
    except Exception as exc:  # no GPU, no engines, a library missing: the CUDA path decodes everything
        if log is not None:
            log(f"no hardware JPEG decoding ({type(exc).__name__}: {exc})")
        return None
    return decoder, params, nvimgcodec.CodeStream


def route(sizes: list, min_pixels: int) -> tuple[list[int], list[int]]:
    """Positions for nvJPEG's CUDA path and for the hardware engines: JPEGs of at least ``min_pixels``
    (width x height) go to the engines; 0 sends every JPEG to the CUDA path."""
    cuda, hw = [], []
    for i, (w, h) in enumerate(sizes):
        (hw if min_pixels and w * h >= min_pixels else cuda).append(i)
    return cuda, hw


class Share:
    """Which of the JPEGs over the size limit Pillow decodes (DCT scaling, on the CPU cores) while nvJPEG
    takes the rest on the GPU's JPEG engines: ``share`` of them, spread evenly across batches (1 sends all
    to Pillow, 0 none). The two decoders use different parts of the machine, so a share of each can beat
    either alone; torchvision's batched nvJPEG already runs baseline JPEGs on the hardware engines."""

    def __init__(self, share: float) -> None:
        self.share = min(max(float(share), 0.0), 1.0)
        self.credit = 0.0

    def to_cpu(self) -> bool:
        self.credit += self.share
        if self.credit >= 1.0 - 1e-9:
            self.credit -= 1.0
            return True
        return False


class BatchDecoder:
    """Encoded images of a dynamic batch → (tensors or None, error or None) per request.

    On a CUDA machine the JPEGs nvJPEG takes as they are go to the GPU in ``gpu_workers`` slices decoded at
    once (each slice on its own CUDA stream: one nvJPEG call keeps neither the GPU nor a core busy), while
    Pillow threads decode the rest at the same time: other formats and, when ``gpu_max_pixels`` is set,
    JPEGs over it (``cpu_share`` of them, the rest still to nvJPEG), which Pillow decodes at 1/2 to 1/8 scale
    in the DCT. (On the H100 with 16 cores that
    lost: nvJPEG for every JPEG, the 8.5 Mpx mug included, gave 2,178 img/s against 1,412; so 0, no
    limit, is the default.) With ``hw_min_pixels`` set and nvImageCodec installed, JPEGs of at least that
    many pixels go to the GPU's hardware JPEG engines on a thread and stream of their own, at the same time
    as the nvJPEG slices (the engines are separate hardware: the two overlap)."""

    def __init__(
        self,
        threads: int = 0,
        gpu: str = "auto",
        seed_style: bool = False,
        log=None,
        gpu_workers: int = 3,
        gpu_max_pixels: int = 0,
        hw_min_pixels: int = 0,
        cpu_share: float = 1.0,
    ) -> None:
        self.pre = load_helper("imagenet_preprocessing.py", "imagenet_preprocessing")
        threads = threads if threads > 0 else min(4, os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode")
        self.seed_style = seed_style
        self.gpu = None
        self.gpu_max_pixels = gpu_max_pixels
        self.cpu_share = Share(cpu_share)
        self.hw = None
        self.hw_min_pixels = hw_min_pixels
        self.hw_images = 0  # decoded by the hardware engines since start (benchmarks check the route ran)
        self.log = log
        self.local = threading.local()
        if gpu != "off" and not seed_style and cuda_available():
            try:
                import torch
                import torchvision.io  # noqa: F401

                jpeg = load_helper("imagenet_preprocessing_gpu.py", "imagenet_preprocessing_gpu")
                self.gpu = jpeg.JpegBatch(self.pre, "cuda")
                self.jpeg = jpeg
                self.torch = torch
                self.gpu_pool = ThreadPoolExecutor(max(1, gpu_workers), thread_name_prefix="nvjpeg")
                self.gpu_workers = max(1, gpu_workers)
                warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            except Exception as exc:
                if log is not None:
                    log(f"no GPU decoding ({type(exc).__name__}: {exc})")
        if self.gpu is not None and hw_min_pixels > 0:
            self.hw = hardware_jpeg(log)
            if self.hw is not None:
                self.hw_pool = ThreadPoolExecutor(1, thread_name_prefix="hwjpeg")
        share = self.cpu_share.share
        limit = ""
        if gpu_max_pixels and share > 0:
            limit = f" up to {gpu_max_pixels / 1e6:g} Mpx" + (
                f" ({1 - share:.0%} of those over it)" if share < 1 else ""
            )
        engines = (
            f"the hardware JPEG engines (nvImageCodec) from {hw_min_pixels / 1e6:g} Mpx, " if self.hw else ""
        )
        self.description = (
            (f"nvJPEG on the GPU ({self.gpu_workers} streams) for JPEGs{limit}, " if self.gpu else "")
            + engines
            + f"Pillow with {threads} threads"
        )

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

    def _for_gpu(self, arrays: list[np.ndarray]) -> tuple[list[int], list, list]:
        """The requests nvJPEG takes as they are: one plain JPEG each, within the size limit."""
        torch = self.torch
        picked, payloads, sizes = [], [], []
        for i, data in enumerate(arrays):
            if data.dtype == np.uint8 and (data.ndim == 1 or data.shape[0] == 1):
                b = data.tobytes()
                size = self.gpu.header(b)
                large = self.gpu_max_pixels and size is not None and size[0] * size[1] > self.gpu_max_pixels
                if size is not None and not (large and self.cpu_share.to_cpu()):
                    picked.append(i)
                    payloads.append(torch.frombuffer(b, dtype=torch.uint8))
                    sizes.append(size)
        return picked, payloads, sizes

    def _slice(self, payloads, sizes, out) -> None:
        """One slice on this thread's own CUDA stream, finished before it returns."""
        stream = getattr(self.local, "stream", None)
        if stream is None:
            stream = self.local.stream = self.torch.cuda.Stream()
        with self.torch.cuda.stream(stream):
            self.gpu.run(payloads, sizes, out.dtype, out=out)
        stream.synchronize()

    def _hw_slice(self, payloads, sizes, out) -> None:
        """The large JPEGs on the hardware engines, on this thread's own stream, in chunks bounded by pixels
        (as the CUDA path: one batch of large photos must not take the GPU's memory); if the engines refuse
        any, nvJPEG's CUDA path takes them (and the engines are left alone from then on)."""
        torch = self.torch
        stream = getattr(self.local, "stream", None)
        if stream is None:
            stream = self.local.stream = torch.cuda.Stream()
        with torch.cuda.stream(stream), torch.inference_mode():
            for idx in self.jpeg.chunks(sizes):
                part = out[idx[0] : idx[-1] + 1]
                images = self._hw_decode([payloads[i] for i in idx], stream)
                if images is not None:
                    chw = [torch.as_tensor(im, device="cuda").permute(2, 0, 1) for im in images]
                    self.gpu.resize_crop_normalize(chw, part)
                    self.hw_images += len(chw)
                else:
                    self.gpu.run([payloads[i] for i in idx], [sizes[i] for i in idx], out.dtype, out=part)
        stream.synchronize()

    def _hw_decode(self, payloads, stream):
        """Decoded images from the hardware engines, or None (and the engines off) if they refuse any."""
        hw = self.hw
        if hw is None:
            return None
        decoder, params, code_stream = hw
        try:
            streams = [code_stream(p.numpy().tobytes()) for p in payloads]
            images = decoder.decode(streams, params=params, cuda_stream=stream.cuda_stream)
        except Exception as exc:  # noqa: BLE001 (the CUDA path still decodes them)
            images, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = "an image came back empty"
        if images is None or any(im is None for im in images):
            self.hw = None
            if self.log is not None:
                self.log(f"hardware JPEG decoding off ({error}); nvJPEG's CUDA path decodes all")
            return None
        return images

    def _gpu_run(self, payloads, sizes, dtype):
        """[n, 3, 224, 224] on the GPU for all payloads: the large JPEGs on the hardware engines (if routed)
        while the rest decode in up to ``gpu_workers`` nvJPEG slices, all at once."""
        crop = self.pre.CROP
        out = self.torch.empty((len(payloads), 3, crop, crop), device="cuda", dtype=dtype)
        cuda, hw = route(sizes, self.hw_min_pixels if self.hw is not None else 0)
        order = cuda + hw  # rows of ``out`` in this order: the CUDA path's, then the engines'
        jobs = []
        if hw:
            a = len(cuda)
            jobs.append(
                self.hw_pool.submit(
                    self._hw_slice, [payloads[i] for i in hw], [sizes[i] for i in hw], out[a:]
                )
            )
        n = len(cuda)
        k = min(self.gpu_workers, max(1, n // 8))
        bounds = [round(j * n / k) for j in range(k + 1)]
        jobs += [
            self.gpu_pool.submit(
                self._slice, [payloads[i] for i in cuda[a:b]], [sizes[i] for i in cuda[a:b]], out[a:b]
            )
            for a, b in zip(bounds, bounds[1:], strict=False)
            if b > a
        ]
        for job in jobs:
            job.result()
        if order == list(range(len(order))):
            return out
        back = self.torch.empty_like(out)
        back[self.torch.tensor(order, device=out.device)] = out  # rows back in the payloads' order
        return back

    def decode(self, arrays: list[np.ndarray], gpu_dtype=None) -> list[tuple]:
        """Per request: (tensor, None) — a GPU torch tensor or a CPU numpy array — or (None, error)."""
        picked, payloads, sizes = self._for_gpu(arrays) if self.gpu is not None else ([], [], [])
        chosen = set(picked)
        rest = [i for i in range(len(arrays)) if i not in chosen]
        if not picked and len(rest) == 1:  # one image: decode it here (a hop to the pool costs more)
            return [self._one(arrays[0])]
        cpu = {i: self.pool.submit(self._one, arrays[i]) for i in rest}  # meanwhile the GPU decodes
        done = {}
        if picked:
            try:
                out = self._gpu_run(payloads, sizes, gpu_dtype or self.torch.float32)
                done = {i: (out[k : k + 1], None) for k, i in enumerate(picked)}
            except Exception:  # nvJPEG refused something: Pillow decodes those too (and names any problem)
                cpu.update({i: self.pool.submit(self._one, arrays[i]) for i in picked})
        return [done[i] if i in done else cpu[i].result() for i in range(len(arrays))]

    def decode_parts(self, arrays: list[np.ndarray], parts: int):
        """On the CPU: every request goes to the pool at once, and the results come back in ``parts``
        consecutive slices as they finish, so the caller runs the backbone on one slice while the pool
        decodes the next (what an in-process pipeline does across batches)."""
        futures = [self.pool.submit(self._one, a) for a in arrays]
        step = -(-len(arrays) // max(1, parts))
        for start in range(0, len(arrays), step):
            yield [f.result() for f in futures[start : start + step]]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.gpu is not None:
            self.gpu_pool.shutdown(wait=False, cancel_futures=True)
        if getattr(self, "hw_pool", None) is not None:
            self.hw_pool.shutdown(wait=False, cancel_futures=True)


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
        precapture: bool = False,
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
        self.pool = torch.cuda.graph_pool_handle() if self.use_graphs else None
        self.lock = threading.Lock()
        if not cuda:
            torch.set_num_threads(cpu_threads or max(1, os.cpu_count() or 1))
        self.description = (
            f"backbone on {self.device} ({self.dtype}), CUDA graphs {'on' if self.use_graphs else 'off'}"
        )
        with torch.inference_mode():  # warm up (and capture the batch-1 graph)
            self.forward([torch.zeros(1, 3, 224, 224)])
        if precapture and self.use_graphs:  # every bucket now, not while the first requests wait
            with self.lock, torch.inference_mode():
                b = 2
                while b <= max_batch:
                    self._graph(b)
                    b *= 2
                if max_batch not in self.graphs:
                    self._graph(max_batch)

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
            # thread_local: other threads of this process (decode workers) may allocate and launch work
            # while a graph is captured; graphs share one memory pool (their replays never overlap)
            with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
                static_out = self._run(static_in)
            entry = self.graphs[b] = (graph, static_in, static_out)
        return entry

    def _run(self, x):
        out = self.model(x)
        return self.torch.softmax(out.float(), dim=1) if self.probabilities else out

    def forward(self, parts: list, host: bool = True):
        """Logits (probabilities if asked) for the concatenation of ``parts`` (CPU or GPU tensors), in chunks
        of max_batch: a numpy array, or with ``host=False`` an fp32 torch tensor where the model runs (its
        own copy: the graph's output buffer is overwritten by the next replay)."""
        torch = self.torch
        parts = [torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in parts]  # Pillow's rows
        with self.lock, torch.inference_mode():
            if not self.use_graphs:
                x = (
                    torch.cat([p.to(self.device) for p in parts])
                    if len(parts) > 1
                    else parts[0].to(self.device)
                )
                x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
                y = self._run(x).float()
                return y.cpu().numpy() if host else y
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
                y = static_out[:n].to(torch.float32, copy=True)
                outs.append(y.cpu().numpy() if host else y)
            if len(outs) == 1:
                return outs[0]
            return np.concatenate(outs) if host else torch.cat(outs)


class OrtRunner:
    """ONNX backbone on onnxruntime (CPU): the whole dynamic batch in one call."""

    def __init__(
        self,
        path: str,
        threads: int = 0,
        spinning: bool | str = True,
        spin_us: int = 0,
        load_window_ms: int = 500,
    ) -> None:
        """``spinning``: True, idle threads spin a while after a run (the next one starts at once); False,
        they never spin (each parallel step wakes them: slower alone); "run", they spin during a run and
        stop when it ends (the fused model's decode threads get the cores between runs); "lone", two
        sessions of the model: a lone image runs on one whose threads spin on after it (a client waiting
        for each answer before it sends the next: the threads are awake when it comes), anything else on
        one whose threads never spin (under load the spinning would take the cores the preprocess needs).
        Lone: one row, and no batch of several rows in the last ``load_window_ms`` (under load single
        requests come too, between the batches). ``spin_us`` > 0 bounds the spinning window
        (onnxruntime's ``session.intra_op.spin_duration_us``, 1.25+; older versions ignore it)."""
        import onnxruntime as ort

        def session(spin: bool | str):
            options = ort.SessionOptions()
            if threads > 0:
                options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            if spin is False:  # no busy-waiting at all, for cores shared with other busy processes
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            elif spin == "run":
                options.add_session_config_entry("session.force_spinning_stop", "1")
            if spin is not False and spin_us > 0:
                options.add_session_config_entry("session.intra_op.spin_duration_us", str(spin_us))
            return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

        self.session = session(True if spinning == "lone" else spinning)
        # "lone": what is not a lone image runs on a session whose threads never spin
        self.batch_session = session(False) if spinning == "lone" else self.session
        self.load_window_s = load_window_ms / 1000
        self.last_batch = -float("inf")  # time.monotonic() of the last run of several rows
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.lone_runs = self.batch_runs = 0  # runs on each session ("lone": the tests and benchmarks check)
        spin = {
            True: "spin after runs",
            False: "no spinning",
            "run": "spin during runs",
            "lone": "spin after lone images",
        }
        window = f" for {spin_us} µs" if spin_us > 0 and spinning is not False else ""
        self.description = (
            f"backbone on onnxruntime (CPU, {threads or 'all'} threads, {spin[spinning]}{window})"
        )

    def forward(self, parts: list) -> np.ndarray:
        batch = parts[0] if len(parts) == 1 else np.concatenate(parts)
        session = self.session
        if self.batch_session is not self.session:
            now = time.monotonic()
            if batch.shape[0] > 1:
                self.last_batch = now
            if batch.shape[0] > 1 or now - self.last_batch < self.load_window_s:
                session = self.batch_session
        if session is self.session:
            self.lone_runs += 1
        else:
            self.batch_runs += 1
        return session.run([self.output_name], {self.input_name: batch.astype(np.float32, copy=False)})[0]
