"""One adapter per protocol (gRPC, HTTP) behind one interface, both over ``tritonclient``.

The protocol is chosen once, when a client is made; everything above talks to :class:`Transport`. Each
adapter turns the library's answers into the validated types of :mod:`responses` (gRPC messages are read
field by field; protobuf's pure-Python JSON printer once stalled the console's event loop) and enforces the
connection's limits on every call: a total deadline (a server that drips one byte a second cannot hold a
call past it) and a response size limit checked before the response is allocated.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

import numpy as np

from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.codes import (
    NOT_HTTP,
    TIMEOUT,
    TOO_LARGE,
    UNREACHABLE,
    UNSUPPORTED,
    server_text_code,
)
from triton_console.tui.core.client.connection import Connection, Endpoint


class Unsupported(Exception):
    """The protocol has no such call (e.g. listing models over gRPC)."""


def common_code(exc: BaseException) -> str | None:
    """What the Python exception's type alone says, whatever the protocol (also for a transport not made)."""
    if isinstance(exc, ResponseTooLarge):
        return TOO_LARGE
    if isinstance(exc, Unsupported):
        return UNSUPPORTED
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    if isinstance(exc, (ConnectionError, OSError)):  # refused, reset, broken pipe, TLS (ssl.SSLError)
        return UNREACHABLE
    return None


def error_text(exc: BaseException) -> str:
    msg = getattr(exc, "message", None)
    return ((msg() if callable(msg) else msg) or str(exc) or type(exc).__name__).strip()


def error_status(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    value = status() if callable(status) else status
    return str(value or "")


class ResponseTooLarge(Exception):
    def __init__(self, size: int | None, limit: int) -> None:
        what = f"{size / 2**20:.0f} MiB" if size is not None else "more"
        super().__init__(f"response of {what} refused: over the {limit / 2**20:.0f} MiB limit")


@dataclass(frozen=True)
class InputTensor:
    name: str
    datatype: str
    array: np.ndarray
    shm: tuple[str, int, int] | None = None  # (region name, byte size, offset): data travels in shared memory


def raw_bytes(array: np.ndarray) -> bytes:
    """A tensor's bytes as the v2 binary extension and shared memory carry them (BYTES length-prefixed)."""
    if array.dtype == np.object_:
        from tritonclient.utils import serialize_byte_tensor

        return serialize_byte_tensor(array).tobytes()
    return np.ascontiguousarray(array).tobytes()


@dataclass(frozen=True)
class OutputRequest:
    name: str
    class_count: int = 0
    shm: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class Sequence:
    """A request's place in a sequence (sequence batching): its id (a number or a string, as Triton allows)
    and whether it starts or ends the sequence."""

    id: int | str
    start: bool = False
    end: bool = False

    def kw(self) -> dict:
        return {"sequence_id": self.id, "sequence_start": self.start, "sequence_end": self.end}


@dataclass(frozen=True)
class StreamEvent:
    """One message of a streaming request: seconds since it was sent, the outputs it carried (None for a
    flags-only final response) and whether it was the last."""

    seconds: float
    outputs: dict[str, np.ndarray] | None
    final: bool


class StreamCancelled(Exception):
    """The caller cancelled the stream."""


class StreamFailed(Exception):
    """The model sent an error in place of a response (the responses before it were yielded)."""


class Transport:
    """What the console asks of a v2 server. Methods raise the library's own errors; the client maps them."""

    protocol = ""

    def __init__(self, conn: Connection, endpoint: Endpoint) -> None:
        self.conn = conn
        self.endpoint = endpoint
        self.headers = conn.headers.as_dict() or None

    def live(self) -> bool: ...
    def ready(self) -> bool: ...
    def server_metadata(self) -> rs.ServerMetadata: ...
    def repository_index(self) -> rs.Parsed: ...
    def model_list(self) -> rs.Parsed:
        raise Unsupported("model list")

    def model_ready(self, name: str, version: str = "") -> bool: ...
    def model_metadata(self, name: str, version: str = "") -> rs.ModelMetadata: ...
    def model_config(self, name: str, version: str = ""): ...
    def statistics(self, name: str = "") -> rs.Parsed: ...
    def trace_settings(self, name: str = "") -> dict[str, list[str]]: ...
    def update_trace_settings(self, name: str, settings: dict[str, list[str] | None]) -> None: ...
    def load(self, name: str, config: str | None = None) -> None: ...
    def unload(self, name: str) -> None: ...
    def infer(
        self,
        model: str,
        inputs: list[InputTensor],
        outputs: list[OutputRequest],
        version: str = "",
        sequence: Sequence | None = None,
        timeout: float | None = None,
    ) -> dict[str, np.ndarray]:
        """One request, given up (and cancelled where the protocol can) after ``timeout`` seconds."""
        ...

    def stream(
        self,
        model: str,
        inputs: list[InputTensor],
        outputs: list[OutputRequest],
        cancelled: threading.Event,
        version: str = "",
        sequence: Sequence | None = None,
        datatypes: dict[str, str] | None = None,
        body: dict | None = None,
    ):
        """Send one request whose responses stream back; yields :class:`StreamEvent` until the final one.
        ``body``: the ``generate`` JSON to send over HTTP in place of one made from ``inputs``.
        Raises StreamFailed for a model's error, StreamCancelled once ``cancelled`` is set (the request is
        cancelled on the server where it supports that), TimeoutError when no response comes within the
        connection's timeout. ``datatypes``: output name → datatype, for protocols that send JSON."""
        raise Unsupported("streaming")

    def generate(self, model: str, body: dict) -> dict:
        """HTTP ``generate``: one JSON request, one JSON answer (output names as keys)."""
        raise Unsupported("generate")

    def shm_register(self, kind: str, name: str, key_or_handle, size: int, device: int = 0) -> None: ...
    def shm_unregister(self, kind: str, name: str) -> None: ...
    def close(self) -> None: ...

    def classify(self, exc: BaseException) -> str | None:
        """This transport's error as a code (above), or None for an error the server answered with."""
        code = common_code(exc)
        return code if code is not None else self._classify(exc)

    def _classify(self, exc: BaseException) -> str | None:
        return server_text_code(error_text(exc))


_CONTENTS = {  # v2 gRPC typed contents (what KServe sends) per datatype
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def _typed_contents(result, name: str):
    """An output sent as typed ``contents`` instead of raw bytes (KServe's gRPC default); None if raw."""
    response = result.get_response()
    for i, out in enumerate(response.outputs):
        if out.name != name or i < len(response.raw_output_contents):
            continue
        from tritonclient.utils import triton_to_np_dtype

        field = _CONTENTS.get(out.datatype)
        if field is None:
            raise rs.ResponseError(f"output {name!r}: {out.datatype} cannot travel as typed contents")
        values = list(getattr(out.contents, field))
        dtype = triton_to_np_dtype(out.datatype)
        shape = rs.dims(list(out.shape), f"output {name!r}")
        return np.array(values, dtype=dtype).reshape(shape)
    return None


def _outputs_as_numpy(result, outputs: list[OutputRequest], typed: bool = False) -> dict[str, np.ndarray]:
    out = {}
    for o in outputs:
        if o.shm is not None:
            out[o.name] = None  # the caller reads it from its region
            continue
        try:
            value = _typed_contents(result, o.name) if typed else None
            if value is None:
                value = result.as_numpy(o.name)
        except Exception as exc:  # shape and size that disagree, unknown datatype, truncated data
            raise rs.ResponseError(f"output {o.name!r} cannot be decoded: {rs.clip(str(exc), 200)}") from None
        if value is None:
            raise rs.ResponseError(f"the response holds no output {o.name!r}")
        out[o.name] = value
    return out


# ------------------------------------------------------------------------------------------------- gRPC


class GrpcTransport(Transport):
    """One gRPC channel, shared by every thread (gRPC channels are thread-safe)."""

    protocol = "grpc"

    def __init__(self, conn: Connection, endpoint: Endpoint) -> None:
        super().__init__(conn, endpoint)
        import tritonclient.grpc as grpcclient

        self.mod = grpcclient
        limit = int(min(conn.max_response_bytes, 2**31 - 1))
        args = [
            ("grpc.max_send_message_length", 2**31 - 1),
            ("grpc.max_receive_message_length", limit),  # refused by gRPC before it is allocated
            ("grpc.keepalive_time_ms", 2**31 - 1),
            ("grpc.keepalive_timeout_ms", 20000),
            ("grpc.keepalive_permit_without_calls", False),
            ("grpc.http2.max_pings_without_data", 2),
        ]
        self._channel_args = args
        self.client = self._new_client()

    def _new_client(self):
        """A tritonclient gRPC client on this connection (one per stream: a client holds one stream)."""
        tls = self.conn.tls
        ssl = self.endpoint.ssl
        return self.mod.InferenceServerClient(
            self.endpoint.url,
            ssl=ssl,
            root_certificates=tls.root_certs if ssl else None,
            private_key=tls.client_key if ssl else None,
            certificate_chain=tls.client_cert if ssl else None,
            channel_args=self._channel_args,
        )

    # gRPC says what happened in its status code; the server's words add the stub and model-control cases
    STATUS = {
        "StatusCode.DEADLINE_EXCEEDED": TIMEOUT,  # the call was cancelled at its deadline (client_timeout)
        "StatusCode.UNAVAILABLE": UNREACHABLE,  # refused, reset, TLS handshake, server gone mid-call
        "StatusCode.CANCELLED": UNREACHABLE,  # the channel went away under the call
        "StatusCode.UNIMPLEMENTED": UNSUPPORTED,  # KServe: "Method not found!"
    }

    def _classify(self, exc: BaseException) -> str | None:
        text = error_text(exc)
        # the server's own words first: Triton refuses load/unload outside explicit mode with UNAVAILABLE,
        # which is not a lost server
        code = server_text_code(text) or self.STATUS.get(error_status(exc))
        if code is not None:
            return code
        return UNSUPPORTED if "method not found" in text.lower() else None

    def _kw(self, short: bool = False, timeout: float | None = None) -> dict:
        t = timeout or (min(self.conn.timeout, 5.0) if short else self.conn.timeout)
        return {"headers": self.headers, "client_timeout": t}

    def live(self) -> bool:
        return bool(self.client.is_server_live(**self._kw(short=True)))

    def ready(self) -> bool:
        return bool(self.client.is_server_ready(**self._kw(short=True)))

    def server_metadata(self) -> rs.ServerMetadata:
        m = self.client.get_server_metadata(**self._kw())
        return rs.server_metadata(m.name, m.version, list(m.extensions))

    def repository_index(self) -> rs.Parsed:
        m = self.client.get_model_repository_index(**self._kw())
        return rs.index_fields((e.name, e.version, e.state, e.reason) for e in m.models)

    def model_ready(self, name: str, version: str = "") -> bool:
        return bool(self.client.is_model_ready(name, version, **self._kw(short=True)))

    def model_metadata(self, name: str, version: str = "") -> rs.ModelMetadata:
        m = self.client.get_model_metadata(name, version, **self._kw())
        return rs.model_metadata(
            m.name,
            list(m.versions),
            m.platform,
            [(t.name, t.datatype, list(t.shape)) for t in m.inputs],
            [(t.name, t.datatype, list(t.shape)) for t in m.outputs],
        )

    def model_config(self, name: str, version: str = ""):
        return self.client.get_model_config(name, version, **self._kw()).config

    def statistics(self, name: str = "") -> rs.Parsed:
        m = self.client.get_inference_statistics(name, **self._kw())

        def one(s, i):
            inf = s.inference_stats
            durations = {k: (getattr(inf, k).count, getattr(inf, k).ns) for k in rs.DURATIONS}
            batches = [(b.batch_size, b.compute_infer.count, b.compute_infer.ns) for b in s.batch_stats]
            responses = [(k, r.success.count) for k, r in s.response_stats.items()]
            return rs.model_stats(
                s.name, s.version, s.inference_count, s.execution_count, durations, batches, i, responses
            )

        return rs.collect(m.model_stats, one, rs.MAX_MODELS)

    def trace_settings(self, name: str = "") -> dict[str, list[str]]:
        m = self.client.get_trace_settings(model_name=name or None, **self._kw())
        return {k: list(v.value) for k, v in m.settings.items()}

    def update_trace_settings(self, name: str, settings: dict[str, list[str] | None]) -> None:
        self.client.update_trace_settings(model_name=name or None, settings=settings, **self._kw())

    def load(self, name: str, config: str | None = None) -> None:
        self.client.load_model(name, config=config, **self._kw())

    def unload(self, name: str) -> None:
        self.client.unload_model(name, **self._kw())

    def _tensors(self, inputs, outputs):
        ins = []
        for t in inputs:
            i = self.mod.InferInput(t.name, list(t.array.shape), t.datatype)
            if t.shm is None:
                i.set_data_from_numpy(t.array)
            else:
                i.set_shared_memory(t.shm[0], t.shm[1], t.shm[2])
            ins.append(i)
        outs = []
        for o in outputs:
            r = self.mod.InferRequestedOutput(o.name, class_count=o.class_count)
            if o.shm is not None:
                r.set_shared_memory(o.shm[0], o.shm[1], o.shm[2])
            outs.append(r)
        return ins, outs

    def infer(self, model, inputs, outputs, version="", sequence=None, timeout=None):
        ins, outs = self._tensors(inputs, outputs)
        seq = sequence.kw() if sequence else {}
        # past ``timeout`` gRPC cancels the call (the server sees the cancellation) and raises DEADLINE_EXCEEDED
        result = self.client.infer(
            model, ins, model_version=version, outputs=outs, **seq, **self._kw(timeout=timeout)
        )
        return _outputs_as_numpy(result, outputs, typed=True)

    def stream(self, model, inputs, outputs, cancelled, version="", sequence=None, datatypes=None, body=None):
        """The gRPC bidirectional stream (``start_stream``/``async_stream_infer``) on a client of its own,
        asking for the flags-only final response so the end is known; closed (cancelling what is still in
        flight) however the caller leaves."""
        import queue
        import time

        ins, outs = self._tensors(inputs, outputs)
        arrived: queue.Queue = queue.Queue()
        client = self._new_client()
        done = False
        try:
            client.start_stream(
                lambda result, error: arrived.put((time.perf_counter(), result, error)), headers=self.headers
            )
            seq = sequence.kw() if sequence else {}
            start = time.perf_counter()
            try:
                client.async_stream_infer(model, ins, version, outs, enable_empty_final_response=True, **seq)
            except Exception:  # the stream failed before the request went (its reason is in the callback)
                try:
                    _at, _result, error = arrived.get(timeout=2.0)
                except queue.Empty:
                    raise
                raise error from None
            idle = time.monotonic() + self.conn.timeout
            while True:
                if cancelled.is_set():
                    raise StreamCancelled()
                try:
                    at, result, error = arrived.get(timeout=0.1)
                except queue.Empty:
                    if time.monotonic() > idle:
                        raise TimeoutError(
                            f"no response within {self.conn.timeout:g} s (timed out)"
                        ) from None
                    continue
                idle = time.monotonic() + self.conn.timeout
                if error is not None:
                    if cancelled.is_set():
                        raise StreamCancelled()
                    if getattr(error, "status", lambda: None)() is None:  # an error response of the model
                        raise StreamFailed(error.message() or "the model sent an error")
                    raise error
                response = result.get_response()
                param = response.parameters.get("triton_final_response")
                final = param.bool_param if param is not None else True
                names = [OutputRequest(o.name) for o in response.outputs]
                values = _outputs_as_numpy(result, names, typed=True) if names else None
                yield StreamEvent(at - start, values, final)
                if final:
                    done = True
                    return
        finally:
            with contextlib.suppress(Exception):
                client.stop_stream(cancel_requests=not done)
            with contextlib.suppress(Exception):
                client.close()

    def shm_register(self, kind, name, key_or_handle, size, device=0):
        if kind == "system":
            self.client.register_system_shared_memory(name, key_or_handle, size, **self._kw())
        else:
            self.client.register_cuda_shared_memory(name, key_or_handle, device, size, **self._kw())

    def shm_unregister(self, kind, name):
        if kind == "system":
            self.client.unregister_system_shared_memory(name, **self._kw())
        else:
            self.client.unregister_cuda_shared_memory(name, **self._kw())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


# ------------------------------------------------------------------------------------------------- HTTP


class _Bounded:
    """A response whose body may not exceed ``limit`` bytes: refused from its Content-Length when it says
    so, else while reading, before more than the limit is held."""

    def __init__(self, response, limit: int) -> None:
        self._r = response
        self._limit = limit
        length = response.content_length if hasattr(response, "content_length") else None
        if length is not None and length > limit:
            with contextlib.suppress(Exception):
                response.release()
            raise ResponseTooLarge(length, limit)

    def read(self, length: int | None = None) -> bytes:
        if length is not None:
            if length > self._limit:
                raise ResponseTooLarge(length, self._limit)
            return self._r.read(length)
        chunks, total = [], 0
        while True:
            chunk = self._r.read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > self._limit:
                with contextlib.suppress(Exception):
                    self._r.release()
                raise ResponseTooLarge(None, self._limit)
            chunks.append(chunk)

    def __getattr__(self, name):
        return getattr(self._r, name)


def _http_client_class():
    import tritonclient.http as httpclient

    class BoundedClient(httpclient.InferenceServerClient):
        """tritonclient's HTTP client with every response bounded (see :class:`_Bounded`)."""

        response_limit = rs.MAX_COUNT

        def _get(self, request_uri, headers, query_params):
            return _Bounded(super()._get(request_uri, headers, query_params), self.response_limit)

        def _post(self, request_uri, request_body, headers, query_params):
            return _Bounded(
                super()._post(request_uri, request_body, headers, query_params), self.response_limit
            )

    return BoundedClient


class HttpTransport(Transport):
    """tritonclient's HTTP client is gevent-based and must not be shared across threads (Textual runs each
    worker in a fresh thread): one client per thread. A gevent timeout bounds each whole call."""

    protocol = "http"

    def __init__(self, conn: Connection, endpoint: Endpoint) -> None:
        super().__init__(conn, endpoint)
        import tritonclient.http as httpclient

        self.mod = httpclient
        self._local = threading.local()
        self._cls = _http_client_class()
        self._clients: list = []
        self._lock = threading.Lock()

    def _client(self):
        c = getattr(self._local, "client", None)
        if c is None:
            tls = self.conn.tls
            kw = {}
            if self.endpoint.ssl:

                def factory(*_a, **_k):
                    return self._ssl_context()

                kw = {"ssl": True, "insecure": tls.insecure, "ssl_context_factory": factory}
            c = self._cls(
                self.endpoint.url,
                connection_timeout=min(self.conn.timeout, 10.0),
                network_timeout=self.conn.timeout,
                **kw,
            )
            c.response_limit = self.conn.max_response_bytes
            self._local.client = c
            with self._lock:
                self._clients.append(c)
        return c

    # HTTP says it in the response's status; a lost connection surfaces as an OSError (classified above) or,
    # from geventhttpclient, as one of these words
    UNSUPPORTED_STATUS = ("404", "405", "501")
    GONE = ("connection refused", "connection reset", "connection closed", "socket closed", "broken pipe")

    def _classify(self, exc: BaseException) -> str | None:
        text = error_text(exc).lower()
        if "expected http/" in text:  # geventhttpclient's parser met another protocol (gRPC's HTTP/2 frames)
            return NOT_HTTP
        if error_status(exc) in self.UNSUPPORTED_STATUS:
            return UNSUPPORTED
        if any(w in text for w in self.GONE):
            return UNREACHABLE
        return server_text_code(text)

    def _run(self, fn, short: bool = False, timeout: float | None = None):
        import gevent

        seconds = timeout or (min(self.conn.timeout, 5.0) if short else self.conn.timeout)
        client = self._client()
        try:
            with gevent.Timeout(
                seconds, TimeoutError(f"no complete answer within {seconds:g} s (timed out)")
            ):
                return fn(client)
        except TimeoutError:
            # the request was cut off mid-way: its connection is in an unknown state, so this thread starts
            # afresh (a pooled socket left half-read would fail or stall the next request)
            self._drop(client)
            raise

    def _drop(self, client) -> None:
        if getattr(self._local, "client", None) is client:
            self._local.client = None
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        with contextlib.suppress(Exception):
            client.close()

    def _health(self, path: str) -> bool:
        """tritonclient's health calls turn every answer but 200 into False; an auth refusal deserves its words."""

        def call(c):
            response = c._get(path, self.headers, None)
            if response.status_code in (401, 403, 407):
                body = response.read()[:300].decode("utf-8", "replace")
                raise PermissionError(f"HTTP {response.status_code}: {body or 'refused'}")
            response.read()
            return response.status_code == 200

        return bool(self._run(call, short=True))

    def live(self) -> bool:
        return self._health("v2/health/live")

    def ready(self) -> bool:
        return self._health("v2/health/ready")

    def server_metadata(self) -> rs.ServerMetadata:
        return rs.server_metadata_json(self._run(lambda c: c.get_server_metadata(headers=self.headers)))

    def repository_index(self) -> rs.Parsed:
        return rs.index_json(self._run(lambda c: c.get_model_repository_index(headers=self.headers)))

    def model_list(self) -> rs.Parsed:
        from tritonclient.http._utils import _raise_if_error

        def call(c):
            # not in tritonclient's API: GET /v2/models (KServe's model list) through its own request path
            response = c._get("v2/models", self.headers, None)
            _raise_if_error(response)
            import json

            return json.loads(response.read())

        try:
            return rs.model_list_json(self._run(call))
        except ValueError as exc:
            raise rs.ResponseError(f"model list is not JSON: {rs.clip(str(exc), 100)}") from None

    def model_ready(self, name: str, version: str = "") -> bool:
        return bool(self._run(lambda c: c.is_model_ready(name, version, headers=self.headers), short=True))

    def model_metadata(self, name: str, version: str = "") -> rs.ModelMetadata:
        return rs.model_metadata_json(
            self._run(lambda c: c.get_model_metadata(name, version, headers=self.headers))
        )

    def model_config(self, name: str, version: str = ""):
        return rs.model_config_json(
            self._run(lambda c: c.get_model_config(name, version, headers=self.headers))
        )

    def statistics(self, name: str = "") -> rs.Parsed:
        return rs.statistics_json(self._run(lambda c: c.get_inference_statistics(name, headers=self.headers)))

    def trace_settings(self, name: str = "") -> dict[str, list[str]]:
        got = self._run(lambda c: c.get_trace_settings(model_name=name or None, headers=self.headers))
        return rs.trace_settings_json(got)

    def update_trace_settings(self, name: str, settings: dict[str, list[str] | None]) -> None:
        # Triton's JSON wants one string for every setting but trace_level (a list), or null to clear
        body = {k: v if v is None or k == "trace_level" else (v[0] if v else "") for k, v in settings.items()}
        self._run(
            lambda c: c.update_trace_settings(model_name=name or None, settings=body, headers=self.headers)
        )

    def load(self, name: str, config: str | None = None) -> None:
        self._run(lambda c: c.load_model(name, headers=self.headers, config=config))

    def unload(self, name: str) -> None:
        self._run(lambda c: c.unload_model(name, headers=self.headers))

    def generate(self, model: str, body: dict) -> dict:
        import json

        from tritonclient.http._utils import _raise_if_error

        def call(c):
            response = c._post(f"v2/models/{model}/generate", json.dumps(body), self.headers, None)
            _not_found(response)
            _raise_if_error(response)
            return json.loads(response.read())

        try:
            answer = self._run(call)
        except ValueError as exc:
            raise rs.ResponseError(f"generate answered with something that is not JSON: {exc}") from None
        if not isinstance(answer, dict):
            raise rs.ResponseError("generate answered with something that is not a JSON object")
        if "error" in answer and len(answer) == 1:  # Triton answers some refusals with 200 and an error
            raise RuntimeError(rs.clip(str(answer["error"]), 600))
        return answer

    def _ssl_context(self):
        """Our CA file (else the system's), our client certificate; verification off only when asked."""
        import ssl

        tls = self.conn.tls
        ctx = ssl.create_default_context(cafile=tls.root_certs)
        if tls.client_cert:
            ctx.load_cert_chain(tls.client_cert, tls.client_key)
        if tls.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def stream(self, model, inputs, outputs, cancelled, version="", sequence=None, datatypes=None, body=None):
        """HTTP ``generate_stream`` (server-sent events, one ``data: {...}`` per response, output names as
        keys): the inputs travel as JSON, the end is the end of the event stream (a flags-only final event).

        Read with the standard library's HTTP client, whose ``readline`` takes a limit: a server that sends
        one endless line is cut off at the response limit (tritonclient's gevent client buffers a line
        whole, and a flood never yields to its timeout). Cancelling shuts the socket down, so a stream
        blocked between responses ends at once and the server sees the client go."""
        import http.client
        import json
        import socket
        import time

        if sequence is not None:
            raise Unsupported("a sequence over generate_stream")
        data = json.dumps(body if body is not None else generate_body(inputs)).encode()
        path = f"/v2/models/{model}{'/versions/' + version if version else ''}/generate_stream"
        datatypes = datatypes or {}
        limit = self.conn.max_response_bytes
        ep = self.endpoint
        if ep.ssl:
            conn = http.client.HTTPSConnection(
                ep.host, ep.port, timeout=self.conn.timeout, context=self._ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(ep.host, ep.port, timeout=self.conn.timeout)
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(0.05):
                if cancelled.is_set():
                    with contextlib.suppress(OSError, AttributeError):
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    return

        watcher = threading.Thread(target=watch, name="generate-stream-cancel", daemon=True)
        try:
            start = time.perf_counter()
            headers = {
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
                **(self.headers or {}),
            }
            conn.request("POST", path, data, headers)
            watcher.start()
            response = conn.getresponse()
            if response.status != 200:
                from tritonclient.utils import InferenceServerException

                text = response.read(4096).decode("utf-8", "replace").strip()
                with contextlib.suppress(ValueError, AttributeError):
                    text = json.loads(text).get("error") or text
                raise InferenceServerException(
                    msg=f"HTTP {response.status} {rs.clip(str(text), 400)}".strip(),
                    status=str(response.status),
                )
            total = 0
            while True:
                try:
                    line = response.readline(limit - total + 1)
                except (OSError, http.client.HTTPException):
                    if cancelled.is_set():
                        raise StreamCancelled() from None
                    raise
                if cancelled.is_set():
                    raise StreamCancelled()
                at = time.perf_counter()
                total += len(line)
                if total > limit:
                    raise ResponseTooLarge(None, limit)
                if not line:
                    yield StreamEvent(at - start, None, True)
                    return
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue  # blank separators, comments, event names
                try:
                    event = json.loads(line[5:])
                except ValueError as exc:
                    raise rs.ResponseError(f"generate_stream sent an event that is not JSON: {exc}") from None
                if not isinstance(event, dict):
                    raise rs.ResponseError("generate_stream sent an event that is not a JSON object")
                if "error" in event:
                    raise StreamFailed(rs.clip(str(event["error"]), 600))
                yield StreamEvent(at - start, generate_outputs(event, datatypes), False)
        finally:
            finished.set()
            conn.close()  # mid-stream, the server sees the client go (and cancels the request)

    def infer(self, model, inputs, outputs, version="", sequence=None, timeout=None):
        ins = []
        for t in inputs:
            i = self.mod.InferInput(t.name, list(t.array.shape), t.datatype)
            if t.shm is None:
                i.set_data_from_numpy(t.array, binary_data=True)
            else:
                i.set_shared_memory(t.shm[0], t.shm[1], t.shm[2])
            ins.append(i)
        outs = []
        for o in outputs:
            r = self.mod.InferRequestedOutput(o.name, binary_data=True, class_count=o.class_count)
            if o.shm is not None:
                r.set_shared_memory(o.shm[0], o.shm[1], o.shm[2])
            outs.append(r)
        seq = sequence.kw() if sequence else {}
        # HTTP cannot cancel a request: past ``timeout`` the client stops waiting and drops the connection
        result = self._run(
            lambda c: c.infer(model, ins, model_version=version, outputs=outs, headers=self.headers, **seq),
            timeout=timeout,
        )
        return _outputs_as_numpy(result, outputs)

    def shm_register(self, kind, name, key_or_handle, size, device=0):
        if kind == "system":
            self._run(
                lambda c: c.register_system_shared_memory(name, key_or_handle, size, headers=self.headers)
            )
        else:
            self._run(
                lambda c: c.register_cuda_shared_memory(
                    name, key_or_handle, device, size, headers=self.headers
                )
            )

    def shm_unregister(self, kind, name):
        if kind == "system":
            self._run(lambda c: c.unregister_system_shared_memory(name, headers=self.headers))
        else:
            self._run(lambda c: c.unregister_cuda_shared_memory(name, headers=self.headers))

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(Exception):
                c.close()
        self._local = threading.local()


def _not_found(response) -> None:
    """A 404 (a server without the generate extension answers so, in its own JSON) as one plain error."""
    if response.status_code == 404:
        from tritonclient.utils import InferenceServerException

        text = response.read()[:200].decode("utf-8", "replace").strip()
        raise InferenceServerException(msg=f"HTTP 404 {text}".strip(), status="404")


GENERATE_META = ("model_name", "model_version", "id", "parameters")


def generate_fits(inputs: list[InputTensor]) -> str:
    """Why these inputs cannot travel as a ``generate`` JSON body ('' when they can): every value is sent
    flat, so FP16/BF16 (no JSON form), binary BYTES and shared memory do not fit."""
    for t in inputs:
        if t.shm is not None:
            return f"input {t.name} is in shared memory"
        if t.datatype in ("FP16", "BF16"):
            return f"input {t.name} is {t.datatype}, which has no JSON form"
        if t.array.dtype == np.object_:
            for v in t.array.reshape(-1):
                if isinstance(v, bytes):
                    try:
                        v.decode("utf-8")
                    except UnicodeDecodeError:
                        return f"input {t.name} holds bytes that are not text"
    return ""


def generate_body(inputs: list[InputTensor]) -> dict:
    """The ``generate`` JSON body: each input by name, one element as a scalar, more as a flat list."""
    body = {}
    for t in inputs:
        flat = t.array.reshape(-1)
        values = [
            v.decode("utf-8") if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v for v in flat
        ]
        body[t.name] = values[0] if len(values) == 1 else values
    return body


def generate_outputs(event: dict, datatypes: dict[str, str]) -> dict[str, np.ndarray]:
    """The outputs of one ``generate`` answer (output names as keys) as arrays of their declared datatype."""
    from tritonclient.utils import triton_to_np_dtype

    out = {}
    for name, value in event.items():
        if name in GENERATE_META and name not in datatypes:
            continue
        datatype = datatypes.get(name, "")
        values = value if isinstance(value, list) else [value]
        if datatype == "BYTES" or any(isinstance(v, str) for v in values):
            arr = np.array([str(v).encode("utf-8") for v in values], dtype=np.object_)
        else:
            try:
                arr = np.array(values, dtype=triton_to_np_dtype(datatype) if datatype else None)
            except (TypeError, ValueError, OverflowError):
                raise rs.ResponseError(
                    f"output {name!r} of generate is not {datatype or 'numbers'}"
                ) from None
        out[name] = arr
    return out


TRANSPORTS = {"grpc": GrpcTransport, "http": HttpTransport}


def make(conn: Connection, endpoint: Endpoint) -> Transport:
    return TRANSPORTS[endpoint.protocol](conn, endpoint)


def answers_http(host: str, port: int, timeout: float = 1.0) -> str:
    """What ``host:port`` is, asked over plain HTTP (only after a gRPC call there failed with a closed socket,
    to say which port it is): "http" where ``GET /v2`` gives a v2 server's metadata (JSON with its name),
    "metrics" where ``GET /metrics`` gives Prometheus text (Triton's metrics port answers every other path with
    an empty 200, /v2/health/live included), else ""."""
    import http.client
    import json

    def get(path: str) -> bytes | None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.read(65536) if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    body = get("/v2")
    if body is None:
        return ""
    with contextlib.suppress(ValueError):
        meta = json.loads(body)
        if isinstance(meta, dict) and "name" in meta:
            return "http"
    text = get("/metrics") or b""
    return "metrics" if text.lstrip().startswith((b"# HELP", b"# TYPE")) else ""


def fetch(url: str, timeout: float, limit: int, headers: dict[str, str] | None = None) -> bytes:
    """GET ``url`` (the metrics endpoint: plain HTTP, outside the v2 protocol) within a total deadline and
    a size limit; a server that drips bytes is cut off at the deadline, not at each read."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=min(timeout, 5.0)) as resp:
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise ResponseTooLarge(int(length), limit)
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer within {timeout:g} s (timed out)")
            chunk = resp.read1(1 << 16)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                raise ResponseTooLarge(None, limit)
            chunks.append(chunk)
