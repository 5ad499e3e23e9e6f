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
    def load(self, name: str) -> None: ...
    def unload(self, name: str) -> None: ...
    def infer(
        self,
        model: str,
        inputs: list[InputTensor],
        outputs: list[OutputRequest],
        version: str = "",
        timeout: float | None = None,
    ) -> dict[str, np.ndarray]:
        """One request, given up (and cancelled where the protocol can) after ``timeout`` seconds."""
        ...

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
        tls = conn.tls
        self.client = grpcclient.InferenceServerClient(
            endpoint.url,
            ssl=endpoint.ssl,
            root_certificates=tls.root_certs if endpoint.ssl else None,
            private_key=tls.client_key if endpoint.ssl else None,
            certificate_chain=tls.client_cert if endpoint.ssl else None,
            channel_args=args,
        )

    # gRPC says what happened in its status code; the server's words add the stub and model-control cases
    STATUS = {
        "StatusCode.DEADLINE_EXCEEDED": TIMEOUT,  # the call was cancelled at its deadline (client_timeout)
        "StatusCode.UNAVAILABLE": UNREACHABLE,  # refused, reset, TLS handshake, server gone mid-call
        "StatusCode.CANCELLED": UNREACHABLE,  # the channel went away under the call
        "StatusCode.UNIMPLEMENTED": UNSUPPORTED,  # KServe: "Method not found!"
    }

    def _classify(self, exc: BaseException) -> str | None:
        code = self.STATUS.get(error_status(exc))
        if code is not None:
            return code
        text = error_text(exc)
        return UNSUPPORTED if "method not found" in text.lower() else server_text_code(text)

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
            return rs.model_stats(
                s.name, s.version, s.inference_count, s.execution_count, durations, batches, i
            )

        return rs.collect(m.model_stats, one, rs.MAX_MODELS)

    def load(self, name: str) -> None:
        self.client.load_model(name, **self._kw())

    def unload(self, name: str) -> None:
        self.client.unload_model(name, **self._kw())

    def infer(self, model, inputs, outputs, version="", timeout=None):
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
        # past ``timeout`` gRPC cancels the call (the server sees the cancellation) and raises DEADLINE_EXCEEDED
        result = self.client.infer(
            model, ins, model_version=version, outputs=outs, **self._kw(timeout=timeout)
        )
        return _outputs_as_numpy(result, outputs, typed=True)

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
                import ssl

                def factory(*_a, **_k):
                    """Our CA file (else the system's), our client certificate; verification off only when asked."""
                    ctx = ssl.create_default_context(cafile=tls.root_certs)
                    if tls.client_cert:
                        ctx.load_cert_chain(tls.client_cert, tls.client_key)
                    if tls.insecure:
                        ctx.check_hostname = False
                        ctx.verify_mode = ssl.CERT_NONE
                    return ctx

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

    def load(self, name: str) -> None:
        self._run(lambda c: c.load_model(name, headers=self.headers))

    def unload(self, name: str) -> None:
        self._run(lambda c: c.unload_model(name, headers=self.headers))

    def infer(self, model, inputs, outputs, version="", timeout=None):
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
        # HTTP cannot cancel a request: past ``timeout`` the client stops waiting and drops the connection
        result = self._run(
            lambda c: c.infer(model, ins, model_version=version, outputs=outs, headers=self.headers),
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


TRANSPORTS = {"grpc": GrpcTransport, "http": HttpTransport}


def make(conn: Connection, endpoint: Endpoint) -> Transport:
    return TRANSPORTS[endpoint.protocol](conn, endpoint)


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
