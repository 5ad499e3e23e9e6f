"""The ``generate`` extension, the way LLM deployments are called: one JSON object whose keys are the
model's inputs (TensorRT-LLM and vLLM ensembles take ``text_input``, ``max_tokens``, ``stream``), typed
from the model's metadata; keys that are no input travel as request parameters.

Over HTTP this is Triton's own ``generate`` / ``generate_stream`` (server-sent events). Over gRPC there is
no such endpoint, so the same fields become tensors on the gRPC stream: the same request either way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.client import ModelInfo, TritonClient, check_model_name
from triton_console.tui.core.client.transport import InputTensor, OutputRequest, generate_outputs
from triton_console.tui.core.request import infer
from triton_console.tui.core.request.infer import INTEGERS, np_dtype
from triton_console.tui.core.request.stream import StreamRun, is_decoupled

TEXT_INPUT = "text_input"
TEXT_OUTPUT = "text_output"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def _typed(name: str, value: str, datatype: str):
    """A --param value as the input's datatype wants it in JSON (``[a,b,…]``: a list of them)."""
    if value.strip().startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            raise ConsoleError(
                f"--param {name}: {value[:40]} is not a JSON list", exit_code=EXIT_USAGE
            ) from None
        if not isinstance(items, list) or any(isinstance(v, (list, dict)) for v in items):
            raise ConsoleError(f"--param {name}: a flat JSON list, e.g. [1,2,3]", exit_code=EXIT_USAGE)
        return [_typed(name, v if isinstance(v, str) else json.dumps(v), datatype) for v in items]
    try:
        if datatype == "BOOL":
            low = value.strip().lower()
            if low not in TRUE + FALSE:
                raise ValueError
            return low in TRUE
        if datatype in INTEGERS:
            return int(value)
        if datatype.startswith(("FP", "BF")):
            return float(value)
    except ValueError:
        raise ConsoleError(
            f"--param {name}={value[:40]}: input {name} is {datatype}", exit_code=EXIT_USAGE
        ) from None
    return value


def _literal(value: str):
    """A --param that is no input (a request parameter): a JSON number or boolean as such, else the text."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, (int, float, bool)) else value


def request_body(info: ModelInfo, text: str | None, params: dict[str, str], stream: bool) -> dict:
    """The generate JSON: ``text`` into ``text_input``, each --param typed from the metadata; a model with a
    ``stream`` input gets ``--stream`` there unless it is set."""
    inputs = {t.name: t for t in info.metadata.inputs}
    body: dict = {}
    if text is not None:
        if TEXT_INPUT not in inputs:
            _refuse_image_model(info)
            raise ConsoleError(
                f"{info.name} has no {TEXT_INPUT} input (it takes {_takes(info)}): "
                "pass its inputs as --param NAME=VALUE",
                exit_code=EXIT_USAGE,
            )
        body[TEXT_INPUT] = text
    for name, value in params.items():
        body[name] = _typed(name, value, inputs[name].datatype) if name in inputs else _literal(value)
    if "stream" in inputs and "stream" not in body and inputs["stream"].datatype == "BOOL":
        body["stream"] = stream
    missing = [n for n in inputs if n not in body and not _optional(info, n)]
    if missing and not any(t.datatype == "BYTES" for t in inputs.values()):
        raise ConsoleError(
            f"{info.name} takes {_takes(info)}, no text: generate needs a model with a text (BYTES) input "
            f"(--text fills {TEXT_INPUT}), or each input as --param NAME=VALUE; "
            f"`triton-console infer {info.name}` sends tensors",
            exit_code=EXIT_USAGE,
        )
    if missing:
        shown = ", ".join(f"{n} ({inputs[n].datatype} {list(inputs[n].shape)})" for n in missing)
        raise ConsoleError(f"{info.name} needs {shown}: pass --param NAME=VALUE", exit_code=EXIT_USAGE)
    return body


def _refuse_image_model(info: ModelInfo) -> None:
    """A model whose only input is UINT8 of one variable dimension takes an encoded image's bytes: --text
    (a prompt) is no use there, nor is --param (which sends numbers), so say what does work."""
    specs = list(info.metadata.inputs)
    if len(specs) == 1 and specs[0].datatype == "UINT8" and infer.takes_bytes(specs[0], info.batched):
        name = specs[0].name
        raise ConsoleError(
            f"{info.name} takes an encoded image ({_takes(info)}), not a text prompt: use "
            f"`triton-console classify -m {info.name} IMAGE` or "
            f"`triton-console infer {info.name} --input {name}=image:FILE`",
            exit_code=EXIT_USAGE,
        )


def _takes(info: ModelInfo) -> str:
    """What a model takes, e.g. ``INPUT FP32 [-1, 3, 8, 8]`` (its metadata's inputs)."""
    return ", ".join(f"{t.name} {t.datatype} {list(t.shape)}" for t in info.metadata.inputs) or "no inputs"


def _tensors(info: ModelInfo, body: dict) -> list[InputTensor]:
    """The body's input fields as tensors for the gRPC stream (shaped as the metadata declares)."""
    out = []
    for t in info.metadata.inputs:
        if t.name not in body:
            continue
        value = body[t.name]
        values = value if isinstance(value, list) else [value]
        if t.datatype == "BYTES":
            arr = np.array([str(v).encode("utf-8") for v in values], dtype=np.object_)
        else:
            arr = np.array(values, dtype=np_dtype(t.datatype))
        dims = list(t.shape[1:] if info.batched else t.shape)
        shape = (
            [1, *[arr.size if d == -1 else d for d in dims]]
            if info.batched
            else [arr.size if d == -1 else d for d in dims]
        )
        if int(np.prod(shape)) != arr.size:
            raise ConsoleError(
                f"input {t.name} is {t.datatype} {dims}: {rs.clip(json.dumps(value), 60)} does not fit it",
                exit_code=EXIT_USAGE,
            )
        out.append(InputTensor(t.name, t.datatype, arr.reshape(shape)))
    return out


def _optional(info: ModelInfo, name: str) -> bool:
    if info.config is None:
        return False
    return any(i.name == name and i.optional for i in info.config.input)


def unsupported(client: TritonClient, exc: ConsoleError) -> ConsoleError:
    """A server without the extension: one line that says so (other errors as they are)."""
    from triton_console.tui.core.client.client import UNSUPPORTED

    if exc.code != UNSUPPORTED:
        return exc
    route = "HTTP generate/generate_stream" if client.protocol == "http" else "the gRPC stream"
    reason = exc.message.rsplit("(", 1)[-1].rstrip(")") if "(" in exc.message else ""
    return ConsoleError(
        f"{client.url} does not offer {route}" + (f" ({reason})" if reason else ""),
        exit_code=exc.exit_code,
        code=UNSUPPORTED,
    )


def start(
    client: TritonClient, model: str, text: str | None, params: dict[str, str], stream: bool = True
) -> StreamRun:
    """A streaming generate request (HTTP generate_stream, or the same fields on the gRPC stream)."""
    check_model_name(model)
    info = client.model_info(model)
    body = request_body(info, text, params, stream)
    extra = [k for k in body if k not in {t.name for t in info.metadata.inputs}]
    inputs = [] if client.protocol == "http" else _tensors(info, body)
    if client.protocol == "grpc" and extra:
        raise ConsoleError(
            f"--param {', '.join(extra)}: {info.name} has no such input (request parameters need HTTP generate)",
            exit_code=EXIT_USAGE,
        )
    datatypes = {t.name: t.datatype for t in info.metadata.outputs}
    outputs = [OutputRequest(t.name) for t in info.metadata.outputs]
    return StreamRun(client, model, inputs, outputs, datatypes, None, body)


@dataclass
class Generated:
    outputs: dict[str, np.ndarray]
    total_ms: float


def once(client: TritonClient, model: str, text: str | None, params: dict[str, str]) -> Generated:
    """One generate request, one answer (HTTP ``generate``; over gRPC the stream, which must end after one
    response). A decoupled model over HTTP gets one clear line: it needs --stream."""
    check_model_name(model)
    info = client.model_info(model)
    if client.protocol == "grpc":
        run = start(client, model, text, params, stream=False)
        try:
            responses = list(run)
        except ConsoleError as exc:
            raise unsupported(client, exc) from None
        if len(responses) != 1:
            raise ConsoleError(
                f"{model} sent {len(responses)} responses to one generate request: use --stream",
                exit_code=EXIT_USAGE,
            )
        return Generated({o.name: o.array for o in responses[0].outputs}, run.summary.total_ms)
    body = request_body(info, text, params, stream=False)
    t0 = time.perf_counter()
    try:
        answer = client.generate(model, body)
    except ConsoleError as exc:
        if is_decoupled(info) and "exactly 1 response" in exc.message:
            raise ConsoleError(
                f"{model} is decoupled (it streams): use --stream", exit_code=EXIT_USAGE
            ) from None
        raise unsupported(client, exc) from None
    datatypes = {t.name: t.datatype for t in info.metadata.outputs}
    return Generated(generate_outputs(answer, datatypes), (time.perf_counter() - t0) * 1000.0)


def json_value(arr: np.ndarray):
    """An output as generate's JSON gives it: one element as a scalar, more as a flat list."""
    flat = [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        for v in np.asarray(arr).reshape(-1).tolist()
    ]
    return flat[0] if len(flat) == 1 else flat
