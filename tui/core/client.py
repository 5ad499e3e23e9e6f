"""The one wrapper over ``tritonclient`` (gRPC and HTTP) that the CLI, the console and benchmarks use.

Results are plain dicts and small dataclasses, the same for both protocols. Errors become
:class:`ConsoleError` with a message a user can act on. ``tritonclient`` is imported on first use.

tritonclient's HTTP client is built on gevent and must not be shared across threads (Textual runs each
worker in a fresh thread), so HTTP clients are kept per thread; one gRPC client is shared.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from .errors import EXIT_USAGE, ConsoleError

PROTOCOLS = ("grpc", "http")
DEFAULT_URLS = {"grpc": "localhost:8001", "http": "localhost:8000"}
DEFAULT_METRICS_PORT = 8002
_INT_RE = re.compile(r"^-?\d+$")
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Endpoint:
    """A validated server address: ``host:port`` for tritonclient, plus protocol and TLS."""

    host: str
    port: int
    protocol: str
    ssl: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        scheme = {"grpc": "grpc", "http": "https" if self.ssl else "http"}[self.protocol]
        return f"{scheme}://{self.url}"


def parse_url(url: str | None, protocol: str | None = None) -> Endpoint:
    """Accept ``host:port``, ``http(s)://host:port`` or ``grpc://host:port``; reject anything else.

    The protocol comes from ``protocol`` if given, else from the scheme, else gRPC (as Triton's tools).
    """
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConsoleError(f"protocol must be grpc or http, not {protocol!r}")
    if url is None or url == "":
        protocol = protocol or "grpc"
        url = DEFAULT_URLS[protocol]
    text = url.strip()
    if any(c.isspace() for c in text) or len(text) > 2048:
        raise ConsoleError(f"invalid server URL {url!r}")
    scheme = ""
    if "://" in text:
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https", "grpc", "grpcs"):
            raise ConsoleError(f"unsupported URL scheme {scheme!r} in {url!r} (use http, https or grpc)")
        text = rest
    parts = urlsplit("//" + text)
    try:
        port = parts.port
    except ValueError:
        raise ConsoleError(f"invalid port in server URL {url!r}") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or not parts.hostname:
        raise ConsoleError(f"invalid server URL {url!r}: expected host:port")
    if protocol is None:
        protocol = "http" if scheme in ("http", "https") else "grpc"
    if port is None:
        port = int(DEFAULT_URLS[protocol].rsplit(":", 1)[1])
    return Endpoint(parts.hostname, port, protocol, ssl=scheme in ("https", "grpcs"))


def preferred_model(candidates: list[str]) -> str | None:
    """The model to use when none is named: the generated ensembles (the seed's ResNet50 one sorts first)."""
    ours = sorted(c for c in candidates if c.startswith("ensemble_python_"))
    return (ours or sorted(candidates) or [None])[0]


def check_model_name(name: str) -> str:
    """Model names go into URLs and repository paths: allow Triton's usual characters only."""
    if not MODEL_NAME_RE.match(name or "") or name in (".", ".."):
        raise ConsoleError(f"invalid model name {name!r}")
    return name


@dataclass
class TopK:
    index: int
    label: str
    score: float


@dataclass
class Classification:
    model: str
    top: list[TopK]
    latency_ms: float
    untrained: bool = False

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "top": [asdict(t) for t in self.top],
            "latency_ms": round(self.latency_ms, 3),
        }


@dataclass
class ModelInfo:
    """What the console needs to know about a model's config (cached per client)."""

    name: str
    platform: str
    is_ensemble: bool
    untrained: bool
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def _int_fields(obj):
    """gRPC's JSON renders int64 as strings; make counters ints again."""
    if isinstance(obj, dict):
        return {k: _int_fields(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_int_fields(v) for v in obj]
    if isinstance(obj, str) and len(obj) < 21 and _INT_RE.match(obj):
        return int(obj)
    return obj


class TritonClient:
    """A Triton server at one URL, over gRPC or HTTP."""

    def __init__(
        self,
        url: str | None = None,
        protocol: str | None = None,
        timeout: float = 10.0,
        metrics_url: str | None = None,
    ):
        self.endpoint = parse_url(url, protocol)
        self.timeout = timeout
        self._metrics_url = metrics_url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._grpc = None
        self._info: dict[str, ModelInfo] = {}

    @property
    def protocol(self) -> str:
        return self.endpoint.protocol

    @property
    def url(self) -> str:
        return str(self.endpoint)

    @property
    def metrics_url(self) -> str:
        """Given, else Triton's port layout (HTTP p, gRPC p+1, metrics p+2) applied to this URL's port."""
        if self._metrics_url:
            return self._metrics_url
        host = f"[{self.endpoint.host}]" if ":" in self.endpoint.host else self.endpoint.host
        offset = 2 if self.protocol == "http" else 1
        port = self.endpoint.port + offset if self.endpoint.port + offset < 65536 else DEFAULT_METRICS_PORT
        return f"http://{host}:{port}/metrics"

    # -- plumbing
    def _client(self):
        if self.protocol == "grpc":  # gRPC channels are thread-safe: share one
            with self._lock:
                if self._grpc is None:
                    import tritonclient.grpc as grpcclient

                    self._grpc = grpcclient.InferenceServerClient(self.endpoint.url, ssl=self.endpoint.ssl)
                return self._grpc
        c = getattr(self._local, "client", None)
        if c is None:
            import tritonclient.http as httpclient

            c = httpclient.InferenceServerClient(
                self.endpoint.url,
                ssl=self.endpoint.ssl,
                connection_timeout=self.timeout,
                network_timeout=self.timeout,
            )
            self._local.client = c
        return c

    def _call(self, what: str, fn):
        try:
            return fn()
        except ConsoleError:
            raise
        except Exception as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> ConsoleError:
        msg = getattr(exc, "message", None)
        text = (msg() if callable(msg) else None) or str(exc) or type(exc).__name__
        low = text.lower()
        unreachable = any(
            s in low
            for s in (
                "failed to connect",
                "connection refused",
                "unavailable",
                "name or service not known",
                "timed out",
                "deadline exceeded",
                "connect call failed",
                "broken pipe",
                "connection reset",
                "temporary failure in name resolution",
                "no route to host",
            )
        )
        if unreachable or isinstance(exc, (ConnectionError, OSError, TimeoutError)):
            return ConsoleError(f"cannot reach Triton at {self.url} ({what}): {text.strip()}", exit_code=2)
        return ConsoleError(f"{what} failed: {text.strip()}", exit_code=1)

    def close(self) -> None:
        with self._lock:
            grpc, self._grpc = self._grpc, None
        if grpc is not None:
            with contextlib.suppress(Exception):
                grpc.close()
        c = getattr(self._local, "client", None)
        if c is not None:
            with contextlib.suppress(Exception):
                c.close()
            self._local.client = None

    def _kw(self) -> dict:
        return {"client_timeout": self.timeout} if self.protocol == "grpc" else {}

    # -- health and metadata
    def is_live(self) -> bool:
        return bool(self._call("health check", lambda: self._client().is_server_live(**self._hkw())))

    def is_ready(self) -> bool:
        return bool(self._call("health check", lambda: self._client().is_server_ready(**self._hkw())))

    def _hkw(self) -> dict:
        return {"client_timeout": min(self.timeout, 5.0)} if self.protocol == "grpc" else {}

    def probe(self) -> tuple[bool, bool]:
        """(live, ready) without raising: (False, False) when the server cannot be reached."""
        try:
            return self.is_live(), self.is_ready()
        except ConsoleError:
            return False, False

    def server_metadata(self) -> dict:
        def call():
            c = self._client()
            return (
                c.get_server_metadata(as_json=True, **self._kw())
                if self.protocol == "grpc"
                else c.get_server_metadata()
            )

        return self._call("server metadata", call)

    # -- repository
    def repository_index(self) -> list[dict]:
        """Every model the repository knows, each ``{name, version, state, reason}`` (missing keys → "")."""

        def call():
            c = self._client()
            if self.protocol == "grpc":
                return c.get_model_repository_index(as_json=True, **self._kw()).get("models", [])
            return c.get_model_repository_index()

        rows = self._call("repository index", call) or []
        return [
            {
                "name": r.get("name", ""),
                "version": str(r.get("version", "")),
                "state": r.get("state", ""),
                "reason": r.get("reason", ""),
            }
            for r in rows
        ]

    def load_model(self, name: str) -> None:
        check_model_name(name)
        self._info.pop(name, None)
        self._call(f"load {name}", lambda: self._client().load_model(name, **self._kw()))

    def unload_model(self, name: str) -> None:
        check_model_name(name)
        self._info.pop(name, None)
        self._call(f"unload {name}", lambda: self._client().unload_model(name, **self._kw()))

    def is_model_ready(self, name: str) -> bool:
        check_model_name(name)
        return bool(
            self._call(f"readiness of {name}", lambda: self._client().is_model_ready(name, **self._hkw()))
        )

    def model_config(self, name: str) -> dict:
        check_model_name(name)

        def call():
            c = self._client()
            if self.protocol == "grpc":
                return c.get_model_config(name, as_json=True, **self._kw()).get("config", {})
            return c.get_model_config(name)

        return _int_fields(self._call(f"config of {name}", call))

    def model_statistics(self, name: str = "") -> list[dict]:
        """Per-model statistics (all models when ``name`` is empty), counters as ints."""
        if name:
            check_model_name(name)

        def call():
            c = self._client()
            if self.protocol == "grpc":
                # protobuf's JSON printer is pure Python and holds the GIL long enough to stall the console's
                # event loop when it runs per request; read the few fields we use directly instead.
                return {
                    "model_stats": [
                        _stats_dict(m) for m in c.get_inference_statistics(name, **self._kw()).model_stats
                    ]
                }
            return c.get_inference_statistics(name)

        return _int_fields(self._call("statistics", call)).get("model_stats", [])

    def metrics(self) -> str:
        """The Prometheus text of the server's metrics endpoint."""
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=min(self.timeout, 5.0)) as resp:
                return resp.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise ConsoleError(
                f"cannot read metrics at {self.metrics_url}: {getattr(exc, 'reason', exc)}"
            ) from None

    def model_info(self, name: str) -> ModelInfo:
        info = self._info.get(name)
        if info is None:
            cfg = self.model_config(name)
            params = {k: v.get("string_value", "") for k, v in cfg.get("parameters", {}).items()}
            steps = [s.get("model_name", "") for s in cfg.get("ensemble_scheduling", {}).get("step", [])]
            info = ModelInfo(
                name=name,
                platform=cfg.get("platform") or cfg.get("backend", ""),
                is_ensemble=cfg.get("platform") == "ensemble",
                untrained=params.get("triton_console.trained") == "false",
                inputs=cfg.get("input", []),
                outputs=cfg.get("output", []),
                steps=steps,
            )
            self._info[name] = info
        return info

    def ensembles(self) -> list[str]:
        """Ready ensembles that take encoded image bytes (one UINT8 input), such as the generated ones."""
        out = []
        for row in self.repository_index():
            if row["state"] != "READY":
                continue
            with contextlib.suppress(ConsoleError):
                info = self.model_info(row["name"])
                ins = info.inputs
                if info.is_ensemble and len(ins) == 1 and ins[0].get("data_type") == "TYPE_UINT8":
                    out.append(row["name"])
        return sorted(set(out))

    # -- inference
    def classify(self, data: bytes, model: str, k: int = 5) -> Classification:
        """Send encoded image bytes to ``model`` (UINT8 [1, N]) and return its top-k via class_count."""
        import numpy as np

        check_model_name(model)
        if not 1 <= k <= 1000:
            raise ConsoleError(f"top-k must be 1..1000, got {k}")
        info = self.model_info(model)
        in_name = info.inputs[0]["name"] if info.inputs else "INPUT"
        out_name = info.outputs[0]["name"] if info.outputs else "OUTPUT"
        arr = np.frombuffer(data, dtype=np.uint8).reshape(1, -1)
        c = self._client()
        if self.protocol == "grpc":
            import tritonclient.grpc as mod
        else:
            import tritonclient.http as mod
        inp = mod.InferInput(in_name, list(arr.shape), "UINT8")
        if self.protocol == "grpc":
            inp.set_data_from_numpy(arr)
        else:
            inp.set_data_from_numpy(arr, binary_data=True)
        out = mod.InferRequestedOutput(out_name, class_count=k)
        start = time.perf_counter()
        try:
            result = self._call(
                f"inference on {model}", lambda: c.infer(model, [inp], outputs=[out], **self._kw())
            )
        except ConsoleError as exc:
            if exc.exit_code == EXIT_USAGE:
                raise
            raise ConsoleError(_model_error(exc.message), exit_code=exc.exit_code) from None
        latency = (time.perf_counter() - start) * 1000.0
        raw = result.as_numpy(out_name)
        if raw is None:
            raise ConsoleError(f"{model} returned no {out_name}", exit_code=1)
        return Classification(model, parse_classes(raw.reshape(-1)), latency, info.untrained)


_ENSEMBLE_PREFIX = re.compile(r"^inference on \S+ failed: (in ensemble '[^']*', )?")


def _model_error(message: str) -> str:
    """A model's own error for one request, without the wrapping Triton and we put around it."""
    text = _ENSEMBLE_PREFIX.sub("", message).strip() or message
    if "is not healthy" in text:  # a Python-backend stub died; Triton does not restart it by itself
        text += (
            " (reload the model: l in the Models pane with --model-control explicit, or restart the server)"
        )
    return text


_STAT_KINDS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")


def _stats_dict(m) -> dict:
    """The fields of a gRPC ModelStatistics message that the console uses, as the HTTP API returns them."""
    inf = m.inference_stats
    return {
        "name": m.name,
        "version": m.version,
        "inference_count": m.inference_count,
        "execution_count": m.execution_count,
        "inference_stats": {
            k: {"count": getattr(inf, k).count, "ns": getattr(inf, k).ns} for k in _STAT_KINDS
        },
    }


def parse_classes(values) -> list[TopK]:
    """Triton's classification strings ``score:index[:label]`` → TopK list (labels may hold colons)."""
    top = []
    for v in values:
        text = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        score, _, rest = text.partition(":")
        index, _, label = rest.partition(":")
        top.append(TopK(int(index), label, float(score)))
    return top
