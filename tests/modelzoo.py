"""Small numpy Python-backend models written the way Triton's python_backend examples write them (numpy
imported first), for the "any model" tests. Each computes something the tests can compute themselves.

- ``chw_fp32``: image classifier, FP32 [3, 8, 8] (FORMAT_NCHW declared, scaling inception declared),
  batching; logits = W · x (10 classes), W = sin(arange) as below.
- ``hwc_fp16``: FP16 [8, 8, 3], no format (inferred as HWC), 1001 classes (background first).
- ``uint8_hwc``: UINT8 [8, 8, 3] (FORMAT_NHWC), no batching ([C, 1, 1] output).
- ``bytes_image``: encoded bytes as BYTES [1] (DALI style), mean RGB → 4 classes, labels file with markup.
- ``mixed``: INT64 [-1], BOOL [1] and BYTES [1] inputs; FP16, INT8 and BYTES outputs.
- ``nobatch``: FP32 [2, 3] → column sums FP32 [3], max_batch_size 0.
- ``boom``: initialize raises RuntimeError with markup in its message (UNAVAILABLE with that reason).
- ``tokens``: decoupled; COUNT INT32 [1] → COUNT responses TOKEN BYTES [1] ``tok0``… and INDEX INT32 [1],
  ``TOKEN_GAP_MS`` apart, then a flags-only final response; stops early when the request is cancelled.
- ``midfail``: decoupled; two responses (OUT 1, 2), then an error response with the final flag.
- ``running_sum``: sequence batching (direct, 2 instances, START/READY control inputs, max_batch_size 0);
  X INT32 [1] → SUM INT32 [1], the sum of the sequence so far.
- ``textgen``: LLM-shaped decoupled model: text_input BYTES [1], optional max_tokens INT32 [1] and stream
  BOOL [1] → text_output BYTES [1], one word of the input per response (reversed order, each followed by a
  space), ``TOKEN_GAP_MS`` apart, the final flag on the last response.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABELS = ["[bold]kite[/]", "\x1b[31mred kite", "dark [link=http://x]link[/link]", "plain"]


def weights(classes: int, size: int) -> np.ndarray:
    return np.sin(np.arange(classes * size, dtype=np.float64)).reshape(classes, size).astype(np.float32)


LINEAR = """import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.batched = config.get("max_batch_size", 0) > 0
        self.w = np.sin(np.arange(CLASSES * SIZE, dtype=np.float64)).reshape(CLASSES, SIZE).astype(np.float32)
        self.out_dtype = pb_utils.triton_string_to_numpy(pb_utils.get_output_config_by_name(config, "OUTPUT")["data_type"])

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy().astype(np.float32)
            flat = x.reshape(x.shape[0], -1) if self.batched else x.reshape(1, -1)
            logits = flat @ self.w.T
            out = logits.reshape((-1,) + OUT_SHAPE) if self.batched else logits.reshape(OUT_SHAPE)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", out.astype(self.out_dtype))]))
        return responses
"""

BYTES_IMAGE = """import io

import numpy as np
import triton_python_backend_utils as pb_utils
from PIL import Image


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            rows = []
            for item in data.reshape(-1):
                rgb = np.asarray(Image.open(io.BytesIO(item)).convert("RGB"), dtype=np.float32).mean(axis=(0, 1))
                rows.append([rgb[0], rgb[1], rgb[2], 128.0])
            out = np.array(rows, dtype=np.float32)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("SCORES", out)]))
        return responses
"""

MIXED = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            ids = pb_utils.get_input_tensor_by_name(request, "IDS").as_numpy()
            flag = pb_utils.get_input_tensor_by_name(request, "FLAG").as_numpy()
            note = pb_utils.get_input_tensor_by_name(request, "NOTE").as_numpy()
            total = ids.astype(np.float16).sum(axis=-1, keepdims=True).astype(np.float16)
            neg = np.clip(-ids, -128, 127).astype(np.int8)
            echo = np.array([n[::-1] + (b"!" if f else b"?") for n, f in zip(note.reshape(-1), flag.reshape(-1))], dtype=np.object_).reshape(note.shape)
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("SUM", total), pb_utils.Tensor("NEG", neg), pb_utils.Tensor("ECHO", echo)
            ]))
        return responses
"""

NOBATCH = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy().sum(axis=0).astype(np.float32))])
            for r in requests
        ]
"""

NOBATCH_MODEL = (
    'name: "nobatch"\nbackend: "python"\nmax_batch_size: 0\n'
    'input [ { name: "X" data_type: TYPE_FP32 dims: [ 2, 3 ] } ]\n'
    'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 3 ] } ]\n',
    NOBATCH,
)

BOOM = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        raise RuntimeError("boom [/] [bold red]FAKE READY[/] \\x1b[31m")

    def execute(self, requests):
        return []
"""


TOKEN_GAP_MS = 40

TOKENS = """import threading
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.threads = []

    def execute(self, requests):
        for request in requests:
            count = int(pb_utils.get_input_tensor_by_name(request, "COUNT").as_numpy().reshape(-1)[0])
            t = threading.Thread(target=self.stream, args=(request.get_response_sender(), count), daemon=True)
            t.start()
            self.threads.append(t)
        return None

    def stream(self, sender, count):
        for i in range(count):
            time.sleep(GAP / 1000.0)
            if sender.is_cancelled():
                break
            sender.send(pb_utils.InferenceResponse([
                pb_utils.Tensor("TOKEN", np.array([b"tok%d" % i], dtype=np.object_)),
                pb_utils.Tensor("INDEX", np.array([i], dtype=np.int32)),
            ]))
        sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

    def finalize(self):
        for t in self.threads:
            t.join(timeout=5)
"""

MIDFAIL = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            for i in (1, 2):
                sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.array([i], dtype=np.int32))]))
            sender.send(
                pb_utils.InferenceResponse(error=pb_utils.TritonError("ran out of [bold]tokens[/]")),
                flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL,
            )
        return None
"""

RUNNING_SUM = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.total = 0

    def execute(self, requests):
        responses = []
        for request in requests:
            start = int(pb_utils.get_input_tensor_by_name(request, "START").as_numpy().reshape(-1)[0])
            x = int(pb_utils.get_input_tensor_by_name(request, "X").as_numpy().reshape(-1)[0])
            self.total = (0 if start else self.total) + x
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("SUM", np.array([self.total], dtype=np.int32))]))
        return responses
"""

TEXTGEN = """import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            text = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy().reshape(-1)[0]
            words = text.decode("utf-8").split()[::-1] or ["(nothing)"]
            limit = pb_utils.get_input_tensor_by_name(request, "max_tokens")
            if limit is not None:
                words = words[: max(1, int(limit.as_numpy().reshape(-1)[0]))]
            for i, word in enumerate(words):
                time.sleep(GAP / 1000.0)
                last = i == len(words) - 1
                out = pb_utils.Tensor("text_output", np.array([(word + " ").encode("utf-8")], dtype=np.object_))
                sender.send(
                    pb_utils.InferenceResponse([out]),
                    flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL if last else 0,
                )
        return None
"""

DECOUPLED = "model_transaction_policy { decoupled: true }\n"


def _model(root: Path, name: str, config: str, source: str) -> None:
    (root / name / "1").mkdir(parents=True)
    (root / name / "config.pbtxt").write_text(config)
    (root / name / "1" / "model.py").write_text(source)


def _linear(classes: int, size: int, out_shape: tuple[int, ...]) -> str:
    return (
        LINEAR.replace("CLASSES", str(classes))
        .replace("SIZE", str(size))
        .replace("OUT_SHAPE", repr(out_shape))
    )


def write(root: Path) -> Path:
    _model(
        root,
        "chw_fp32",
        'name: "chw_fp32"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "INPUT" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 8, 8 ] } ]\n'
        'output [ { name: "OUTPUT" data_type: TYPE_FP32 dims: [ 10 ] } ]\n'
        'parameters { key: "triton_console.scaling" value: { string_value: "inception" } }\n',
        _linear(10, 192, (10,)),
    )
    _model(
        root,
        "hwc_fp16",
        'name: "hwc_fp16"\nbackend: "python"\nmax_batch_size: 4\n'
        'input [ { name: "INPUT" data_type: TYPE_FP16 dims: [ 8, 8, 3 ] } ]\n'
        'output [ { name: "OUTPUT" data_type: TYPE_FP16 dims: [ 1001 ] } ]\n',
        _linear(1001, 192, (1001,)),
    )
    _model(
        root,
        "uint8_hwc",
        'name: "uint8_hwc"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [ { name: "INPUT" data_type: TYPE_UINT8 format: FORMAT_NHWC dims: [ 8, 8, 3 ] } ]\n'
        'output [ { name: "OUTPUT" data_type: TYPE_FP32 dims: [ 10, 1, 1 ] } ]\n',
        _linear(10, 192, (10, 1, 1)),
    )
    _model(
        root,
        "bytes_image",
        'name: "bytes_image"\nbackend: "python"\nmax_batch_size: 4\n'
        'input [ { name: "IMAGE" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "SCORES" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" } ]\n',
        BYTES_IMAGE,
    )
    (root / "bytes_image" / "labels.txt").write_text("\n".join(LABELS) + "\n")
    _model(
        root,
        "mixed",
        'name: "mixed"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [ { name: "IDS" data_type: TYPE_INT64 dims: [ -1 ] }, { name: "FLAG" data_type: TYPE_BOOL dims: [ 1 ] },'
        ' { name: "NOTE" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "SUM" data_type: TYPE_FP16 dims: [ 1 ] }, { name: "NEG" data_type: TYPE_INT8 dims: [ -1 ] },'
        ' { name: "ECHO" data_type: TYPE_STRING dims: [ 1 ] } ]\n',
        MIXED,
    )
    _model(root, "nobatch", *NOBATCH_MODEL)
    _model(
        root,
        "boom",
        'name: "boom"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n',
        BOOM,
    )
    _model(
        root,
        "tokens",
        'name: "tokens"\nbackend: "python"\nmax_batch_size: 0\n'
        + DECOUPLED
        + 'input [ { name: "COUNT" data_type: TYPE_INT32 dims: [ 1 ] } ]\n'
        'output [ { name: "TOKEN" data_type: TYPE_STRING dims: [ 1 ] }, { name: "INDEX" data_type: TYPE_INT32 dims: [ 1 ] } ]\n',
        TOKENS.replace("GAP", str(TOKEN_GAP_MS)),
    )
    _model(
        root,
        "midfail",
        'name: "midfail"\nbackend: "python"\nmax_batch_size: 0\n'
        + DECOUPLED
        + 'input [ { name: "X" data_type: TYPE_INT32 dims: [ 1 ] } ]\n'
        'output [ { name: "OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]\n',
        MIDFAIL,
    )
    _model(
        root,
        "running_sum",
        'name: "running_sum"\nbackend: "python"\nmax_batch_size: 0\n'
        "instance_group [ { count: 2 kind: KIND_CPU } ]\n"
        "sequence_batching { max_sequence_idle_microseconds: 5000000 direct { } control_input [\n"
        '  { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] },\n'
        '  { name: "READY" control [ { kind: CONTROL_SEQUENCE_READY int32_false_true: [ 0, 1 ] } ] } ] }\n'
        'input [ { name: "X" data_type: TYPE_INT32 dims: [ 1 ] } ]\n'
        'output [ { name: "SUM" data_type: TYPE_INT32 dims: [ 1 ] } ]\n',
        RUNNING_SUM,
    )
    _model(
        root,
        "textgen",
        'name: "textgen"\nbackend: "python"\nmax_batch_size: 0\n'
        + DECOUPLED
        + 'input [ { name: "text_input" data_type: TYPE_STRING dims: [ 1 ] },'
        ' { name: "max_tokens" data_type: TYPE_INT32 dims: [ 1 ] optional: true },'
        ' { name: "stream" data_type: TYPE_BOOL dims: [ 1 ] optional: true } ]\n'
        'output [ { name: "text_output" data_type: TYPE_STRING dims: [ 1 ] } ]\n',
        TEXTGEN.replace("GAP", str(TOKEN_GAP_MS)),
    )
    return root


# ------------------------------------------------------------------------------------------ tuning models
# Two models whose speed depends on their config in a known way (tests/test_tune.py), kept out of write() so
# the shared ``zoo`` server does not load them: ``per_request`` sleeps PER_REQUEST_S for every request of an
# execution (throughput ≈ instances / PER_REQUEST_S, whatever the batching); ``per_execution`` sleeps
# PER_EXECUTION_S once per execution however many requests it holds (dynamic batching multiplies throughput by
# the batch it forms). Both return Y = X + 1, FP32 [1], and take max_batch_size 8.
PER_REQUEST_S = 0.04
PER_EXECUTION_S = 0.05

SLEEPER = """import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        PER_EXECUTION
        responses = []
        for request in requests:
            PER_REQUEST
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + 1).astype(np.float32))]))
        return responses
"""


def _sleeper_config(name: str) -> str:
    return (
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        "instance_group [ { kind: KIND_CPU count: 1 } ]\n"
    )


def write_tuning(root: Path) -> Path:
    """The two tuning models (one instance, no dynamic batching) in ``root``."""
    per_request = SLEEPER.replace("PER_EXECUTION", "pass").replace(
        "PER_REQUEST", f"time.sleep({PER_REQUEST_S})"
    )
    per_execution = SLEEPER.replace("PER_EXECUTION", f"time.sleep({PER_EXECUTION_S})").replace(
        "PER_REQUEST", "pass"
    )
    _model(root, "per_request", _sleeper_config("per_request"), per_request)
    _model(root, "per_execution", _sleeper_config("per_execution"), per_execution)
    return root


COLD_S = 1.5  # the cold model's first execute (a lazy init, a JIT, a cache fill)

COLD = """import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.warm = False

    def execute(self, requests):
        if not self.warm:
            time.sleep(COLD_S)
            self.warm = True
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + 1).astype(np.float32))]))
        return responses
"""


def write_cold(root: Path) -> Path:
    """``cold``: fast, except that each instance's first execute sleeps COLD_S (what a warm-up absorbs)."""
    _model(root, "cold", _sleeper_config("cold"), COLD.replace("COLD_S", str(COLD_S)))
    return root


# ------------------------------------------------------------------------------------ faults (issue 26)

SLOW = """import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        time.sleep(SECONDS)
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy() * 2)])
            for r in requests
        ]
"""


def slow_model(root: Path, name: str = "slow", seconds: float = 0.02) -> Path:
    """``name``: Y = 2·X (FP32 [1], batching up to 8) after sleeping ``seconds`` per execution: a model with a
    known service time, one instance, so a rate above 1/seconds cannot be kept up with."""
    _model(
        root,
        name,
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n",
        SLOW.replace("SECONDS", repr(seconds)),
    )
    return root


# ------------------------------------------------------------------------------ warm-up with a sample (issue 22)

FIRST_SEEN = """import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.first = None

    def execute(self, requests):
        if self.first is None:
            time.sleep(COLD_S)
        responses = []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "DATA").as_numpy().reshape(-1)[0]
            if self.first is None:
                self.first = len(data)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("FIRST", np.array([self.first], dtype=np.int64))]))
        return responses
"""


def write_first_seen(root: Path) -> Path:
    """``first_seen``: DATA BYTES [1] → FIRST INT64 [1], the length of the first DATA this instance ever got
    (a warm-up's, when the config has one: which sample fed it); its first execute sleeps COLD_S, as cold's."""
    _model(
        root,
        "first_seen",
        'name: "first_seen"\nbackend: "python"\nmax_batch_size: 4\n'
        'input [ { name: "DATA" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "FIRST" data_type: TYPE_INT64 dims: [ 1 ] } ]\n'
        "instance_group [ { kind: KIND_CPU count: 1 } ]\n",
        FIRST_SEEN.replace("COLD_S", str(COLD_S)),
    )
    return root
