"""The one client the CLI, the console and the benchmarks use to talk to a v2 server.

It picks the protocol adapter once (:mod:`transport`), maps every library error to a
:class:`ConsoleError` with a neutral message and a hint *code* (the UI words the hint), caches what does
not change between calls (server metadata, model metadata and config), and answers in the validated types
of :mod:`responses`. ``tritonclient`` is imported when the first client is made, never at import time.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from triton_console.common.errors import EXIT_FAILED, EXIT_USAGE, ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.codes import (
    MODEL_CONTROL,
    MODEL_NOT_FOUND,
    MODEL_NOT_READY,
    NOT_GRPC,
    NOT_HTTP,
    STUB_UNHEALTHY,
    TIMEOUT,
    TOO_LARGE,
    UNREACHABLE,
    UNSUPPORTED,
    no_answer,
    server_gone,
    unknown_model,
)
from triton_console.tui.core.client.connection import Connection, Endpoint, parse_url
from triton_console.tui.core.client.health import Health

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
DEFAULT_METRICS_PORT = 8002

# the hint codes carried by ConsoleError.code (codes.py); the CLI and the panes word them for their surface
__all__ = [
    "TritonClient",
    "Endpoint",
    "parse_url",
    "check_model_name",
    "preferred_model",
    "ModelInfo",
    "server_gone",
    "MODEL_CONTROL",
    "MODEL_NOT_FOUND",
    "MODEL_NOT_READY",
    "STUB_UNHEALTHY",
    "TIMEOUT",
    "TOO_LARGE",
    "UNREACHABLE",
    "UNSUPPORTED",
]


def check_model_name(name: str) -> str:
    """Model names go into URLs and repository paths: allow Triton's usual characters only."""
    if not MODEL_NAME_RE.match(name or "") or name in (".", ".."):
        raise ConsoleError(f"invalid model name {rs.clip(repr(name), 80)}")
    return name


def preferred_model(candidates: list[str]) -> str | None:
    """The model to use when none is named: the generated ensembles (the seed's ResNet50 one sorts first)."""
    ours = sorted(c for c in candidates if c.startswith("ensemble_python_"))
    return (ours or sorted(candidates) or [None])[0]


@dataclass
class ModelInfo:
    """What the console knows about a model: its metadata and, where the server offers it, its config."""

    name: str
    metadata: rs.ModelMetadata
    config: object | None = None  # model_config_pb2.ModelConfig, None where the server has no config API
    steps: list[str] = field(default_factory=list)  # composing models of an ensemble, in order

    @property
    def platform(self) -> str:
        c = self.config
        return (c.platform or c.backend) if c is not None else self.metadata.platform

    @property
    def is_ensemble(self) -> bool:
        return self.platform == "ensemble"

    @property
    def max_batch_size(self) -> int:
        """The config's max_batch_size; 0 without a config (no limit known)."""
        return int(self.config.max_batch_size) if self.config is not None else 0

    @property
    def batched(self) -> bool:
        """Whether the first dimension of every input is the batch: the config says so (max_batch_size > 0);
        without a config (a non-Triton server), a leading -1 on every input is taken as the batch."""
        if self.config is not None:
            return self.config.max_batch_size > 0
        inputs = self.metadata.inputs
        return bool(inputs) and all(len(t.shape) > 1 and t.shape[0] == -1 for t in inputs)

    def parameter(self, key: str) -> str:
        if self.config is None or key not in self.config.parameters:
            return ""
        return self.config.parameters[key].string_value

    @property
    def untrained(self) -> bool:
        return self.parameter("triton_console.trained") == "false"


class TritonClient:
    """A v2 inference server (Triton or any KServe v2 server) at one URL, over gRPC or HTTP."""

    def __init__(
        self,
        url: str | None = None,
        protocol: str | None = None,
        timeout: float = 30.0,
        metrics_url: str | None = None,
        connection: Connection | None = None,
    ):
        conn = connection or Connection(url=url, protocol=protocol, timeout=timeout)
        if metrics_url:
            from dataclasses import replace

            conn = replace(conn, metrics_url=metrics_url)
        self.connection = conn
        self.endpoint = conn.endpoint()
        self.timeout = conn.timeout
        self._transport = None
        self._lock = threading.Lock()
        self._server: rs.ServerMetadata | None = None
        self._info: dict[str, ModelInfo] = {}
        # model -> its ensemble steps ([] for any other model), learned from its config alone: which models
        # are ensembles, remembered as model_info is (an index can hold 20,000 models)
        self._steps: dict[str, list[str]] = {}
        # model -> (when, error): a bench whose model went away words its failures from one index read a
        # second, not one per failed request (an index can hold 20,000 models)
        self._unavailable: dict[str, tuple[float, ConsoleError]] = {}
        self.health = Health()  # what this client's own requests met, per model

    @property
    def protocol(self) -> str:
        return self.endpoint.protocol

    @property
    def url(self) -> str:
        return str(self.endpoint)

    @property
    def metrics_url(self) -> str:
        """Given, else Triton's port layout (HTTP p, gRPC p+1, metrics p+2) applied to this URL's port."""
        if self.connection.metrics_url:
            return self.connection.metrics_url
        host = f"[{self.endpoint.host}]" if ":" in self.endpoint.host else self.endpoint.host
        offset = 2 if self.protocol == "http" else 1
        port = self.endpoint.port + offset if self.endpoint.port + offset < 65536 else DEFAULT_METRICS_PORT
        return f"http://{host}:{port}/metrics"

    # ------------------------------------------------------------------ plumbing
    @property
    def transport(self):
        with self._lock:
            if self._transport is None:
                from triton_console.tui.core.client import transport

                try:
                    self._transport = transport.make(self.connection, self.endpoint)
                except Exception as exc:
                    raise self._error("connect", exc) from None
            return self._transport

    def call(self, what: str, fn, deadline: float | None = None, model: str | None = None):
        """Run ``fn(transport)`` with every failure turned into a ConsoleError that names ``what``; a call
        about ``model`` that the server refuses as an unknown model says so as :meth:`unavailable` does."""
        try:
            return fn(self.transport)
        except ConsoleError:
            raise
        except Exception as exc:
            error = self._error(what, exc, deadline)
            if model is not None and not no_answer(error) and unknown_model(error.message):
                seen = self._unavailable.get(model)
                if seen is not None and time.monotonic() - seen[0] < 1.0:
                    e = seen[1]
                    raise ConsoleError(e.message, hint=e.hint, exit_code=e.exit_code, code=e.code) from None
                error = self.unavailable(model)
                self._unavailable[model] = (time.monotonic(), error)
            raise error from None

    def unavailable(self, model: str) -> ConsoleError:
        """The one wording of a model that cannot serve, for every command and pane: "not found" when the
        server does not list it, else "not ready" with its state and the server's reason. Both exit 1."""
        listed = None  # None: the server has no list to ask (then the server's refusal is all there is)
        try:
            listed = {e.name: e for e in self.repository_index().items}
        except ConsoleError as exc:
            if no_answer(exc):
                raise
            try:
                listed = {e.name: e for e in self.model_list().items}
            except ConsoleError as exc2:
                if no_answer(exc2):
                    raise
        entry = listed.get(model) if listed is not None else None
        if listed is None:  # no list (KServe over gRPC): the server's answer about the model itself
            try:
                self.call(f"metadata of {model}", lambda t: t.model_metadata(model))
            except ConsoleError as exc:
                if no_answer(exc):
                    raise
                low = exc.message.lower()
                if "not found" in low or "does not exist" in low:
                    listed = {}
        if listed is not None and entry is None:
            return ConsoleError(
                f"model '{model}' not found on {self.url}", exit_code=EXIT_FAILED, code=MODEL_NOT_FOUND
            )
        state = (entry.state if entry is not None else "") or "not loaded"
        reason = f": {rs.clip(entry.reason, 400)}" if entry is not None and entry.reason else ""
        return ConsoleError(
            f"model '{model}' is not ready on {self.url} ({state}{reason})",
            exit_code=EXIT_FAILED,
            code=MODEL_NOT_READY,
        )

    def ensure_ready(self, model: str) -> None:
        """Nothing when ``model`` is ready; else :meth:`unavailable`'s error (before any work starts)."""
        try:
            ready = self.is_model_ready(model)
        except ConsoleError as exc:
            if no_answer(exc):
                raise
            ready = False
        if not ready:
            raise self.unavailable(model)

    def _error(self, what: str, exc: Exception, deadline: float | None = None) -> ConsoleError:
        """The transport's classification of ``exc`` (its own protocol's signs), worded once for all."""
        from triton_console.tui.core.client import transport

        t = self._transport
        code = t.classify(exc) if t is not None else transport.common_code(exc)
        text = rs.clip(transport.error_text(exc), 600)
        if code == TOO_LARGE:
            return ConsoleError(f"{what}: {text}", exit_code=EXIT_FAILED, code=code)
        if code == UNSUPPORTED:
            offered = "this protocol" if isinstance(exc, transport.Unsupported) else f"this server ({text})"
            return ConsoleError(f"{what}: not offered by {offered}", exit_code=EXIT_FAILED, code=code)
        if code == TIMEOUT:
            return ConsoleError(
                f"{what}: no complete answer from {self.url} within {deadline or self.timeout:g} s (timed out)",
                exit_code=EXIT_USAGE,
                code=code,
            )
        if code == NOT_HTTP:
            hostport = self.endpoint.url
            return ConsoleError(
                f"{hostport} answered, but not over HTTP: is it the gRPC port? try grpc://{hostport}",
                exit_code=EXIT_USAGE,
                code=code,
            )
        port_is = self._http_port(text) if code == UNREACHABLE else ""
        if port_is:
            hostport = self.endpoint.url
            hint = (
                f"is it the HTTP port? try http://{hostport}"
                if port_is == "http"
                else "it is a metrics port (Triton's gRPC port is usually 1 below it)"
            )
            return ConsoleError(
                f"{hostport} answered, but not over gRPC: {hint}", exit_code=EXIT_USAGE, code=NOT_GRPC
            )
        if code == UNREACHABLE:
            return ConsoleError(f"cannot reach {self.url} ({what}): {text}", exit_code=EXIT_USAGE, code=code)
        return ConsoleError(f"{what} failed: {text}", exit_code=EXIT_FAILED, code=code)

    def _http_port(self, text: str) -> str:
        """A gRPC call whose socket the other side closed (what an HTTP/1.1 server does with gRPC's HTTP/2
        preface): whether a plain HTTP GET of /v2/health/live there gets a v2 server's answer. Said as
        NOT_HTTP's mirror; the channel said only "Socket closed"."""
        from triton_console.tui.core.client import transport

        e = self.endpoint
        if e.protocol != "grpc" or e.ssl or "socket closed" not in text.lower():
            return ""
        return transport.answers_http(e.host, e.port, timeout=min(self.timeout, 1.0))

    def close(self) -> None:
        with self._lock:
            t, self._transport = self._transport, None
        if t is not None:
            t.close()

    # ------------------------------------------------------------------ server
    def is_live(self) -> bool:
        return self.call("health check", lambda t: t.live())

    def is_ready(self) -> bool:
        return self.call("health check", lambda t: t.ready())

    def probe(self) -> tuple[bool, bool]:
        """(live, ready) without raising: (False, False) when the server cannot be reached."""
        try:
            return self.is_live(), self.is_ready()
        except ConsoleError:
            return False, False

    def server_metadata(self) -> rs.ServerMetadata:
        if self._server is None:
            self._server = self.call("server metadata", lambda t: t.server_metadata())
        return self._server

    def metrics(self) -> str:
        """The Prometheus text of the server's metrics endpoint (bounded in time and size)."""
        from triton_console.tui.core.client.transport import fetch

        try:
            data = fetch(
                self.metrics_url,
                min(self.timeout, 5.0),
                self.connection.max_response_bytes,
                self.connection.headers.as_dict(),
            )
        except Exception as exc:
            raise ConsoleError(
                f"cannot read metrics at {self.metrics_url}: {self._metrics_failure(exc)}",
                exit_code=EXIT_FAILED,
                code=UNSUPPORTED,
            ) from None
        return data.decode("utf-8", "replace")

    def _metrics_failure(self, exc: Exception) -> str:
        """Why the metrics URL gave no Prometheus text, in words: an HTTP/2 answer (the gRPC port: its raw
        frames had been printed as the reason) or a v2 HTTP server's 404 (the HTTP port) named as such, with
        the usual port; else the error's own (printable) text."""
        import http.client
        from urllib.parse import urlsplit

        from triton_console.tui.core.client import transport

        reason = getattr(exc, "reason", None) or exc
        text = str(reason)
        parts = urlsplit(self.metrics_url)
        hostport = parts.netloc or self.metrics_url
        if isinstance(exc, http.client.BadStatusLine) and not text.isprintable():
            return (
                f"{hostport} answered as an HTTP/2 (gRPC) server, not with Prometheus text: is it the gRPC "
                "port? Triton's metrics port is usually 1 above it (--metrics-url URL)"
            )
        v2_http = (
            getattr(exc, "code", None) == 404
            and parts.hostname
            and parts.port
            and transport.answers_http(parts.hostname, parts.port, min(self.timeout, 1.0)) == "http"
        )
        if v2_http:
            return (
                f"{hostport} is a v2 HTTP port, not a metrics port: Triton's metrics port is usually "
                "2 above its HTTP port (--metrics-url URL)"
            )
        from triton_console.common.untrusted import visible

        return visible(text, 200)  # a server's words: every character shown as itself or as an escape

    # ------------------------------------------------------------------ models
    def repository_index(self) -> rs.Parsed:
        """Every model the repository knows, with state and reason; bad entries become ``problems``."""
        return self.call("repository index", lambda t: t.repository_index())

    def model_list(self) -> rs.Parsed:
        """KServe's model list (``GET /v2/models``), for servers without a repository index."""
        return self.call("model list", lambda t: t.model_list())

    def is_model_ready(self, name: str, version: str = "") -> bool:
        check_model_name(name)
        return self.call(f"readiness of {name}", lambda t: t.model_ready(name, version))

    def model_metadata(self, name: str) -> rs.ModelMetadata:
        check_model_name(name)
        return self.call(f"metadata of {name}", lambda t: t.model_metadata(name), model=name)

    def model_config(self, name: str):
        """``model_config_pb2.ModelConfig`` of ``name`` (both protocols give the same message)."""
        check_model_name(name)
        return self.call(f"config of {name}", lambda t: t.model_config(name), model=name)

    def model_statistics(self, name: str = "") -> rs.Parsed:
        """Per-model statistics (all models when ``name`` is empty); bad entries become ``problems``."""
        if name:
            check_model_name(name)
        return self.call("statistics", lambda t: t.statistics(name))

    def trace_settings(self, name: str = "") -> dict[str, list[str]]:
        """Triton's trace settings (of one model, or the server's): each value a list of strings."""
        if name:
            check_model_name(name)
        return self.call("trace settings", lambda t: t.trace_settings(name))

    def update_trace_settings(self, name: str, settings: dict[str, list[str] | None]) -> None:
        """Set trace settings of ``name`` (None for a key: back to the server's setting)."""
        check_model_name(name)
        self.call(f"trace settings of {name}", lambda t: t.update_trace_settings(name, settings))

    def load_model(self, name: str, config: str | None = None) -> None:
        """Load (or reload) ``name``; ``config`` (JSON of a ModelConfig) replaces its whole config for this
        load without touching the repository's files (explicit model control only)."""
        check_model_name(name)
        self._info.pop(name, None)
        self._steps.pop(name, None)
        self.call(f"load {name}", lambda t: t.load(name, config))
        self.health.reset(name)

    def unload_model(self, name: str) -> None:
        check_model_name(name)
        self._info.pop(name, None)
        self._steps.pop(name, None)
        self.call(f"unload {name}", lambda t: t.unload(name))
        self.health.reset(name)

    def reload_model(self, name: str) -> None:
        """Unload, wait until it is gone, load again (the ensembles that use it too): see
        :func:`modelcontrol.reload`. Raises when it did not come back."""
        from triton_console.tui.core.client import modelcontrol

        outcome = modelcontrol.reload(self, [name])[0]
        if not outcome.ok:
            raise ConsoleError(
                outcome.error or f"reload {name} failed", exit_code=EXIT_FAILED, code=outcome.code
            )

    def forget(self, name: str | None = None) -> None:
        """Drop cached metadata/config (of one model, or all): after a reload they may have changed."""
        if name is None:
            self._info.clear()
            self._steps.clear()
        else:
            self._info.pop(name, None)
            self._steps.pop(name, None)

    def model_info(self, name: str) -> ModelInfo:
        """Metadata plus config (where the server has a config API), cached until the model is reloaded."""
        info = self._info.get(name)
        if info is None:
            meta = self.model_metadata(name)
            config = None
            try:
                config = self.model_config(name)
            except ConsoleError as exc:
                if exc.code not in (UNSUPPORTED,) and exc.exit_code == EXIT_USAGE:
                    raise
            steps = [s.model_name for s in config.ensemble_scheduling.step] if config is not None else []
            info = ModelInfo(name, meta, config, steps)
            self._info[name] = info
        return info

    def ensemble_steps(self, name: str, ask: bool = True) -> list[str] | None:
        """The models ``name`` runs as an ensemble ([] when it is no ensemble): from what model_info already
        holds, else from its config alone (one call, remembered until the model is loaded, unloaded or
        forgotten). ``ask=False``: None where nothing is known yet, without asking the server."""
        info = self._info.get(name)
        if info is not None:
            return list(info.steps)
        steps = self._steps.get(name)
        if steps is not None or not ask:
            return None if steps is None else list(steps)
        try:
            config = self.model_config(name)
        except ConsoleError as exc:
            if exc.code != UNSUPPORTED:  # gone, or unknown by now: nothing to remember
                raise
            config = None  # a server without a config API has no ensembles to read
        steps = [s.model_name for s in config.ensemble_scheduling.step] if config is not None else []
        self._steps[name] = steps
        return list(steps)

    # ------------------------------------------------------------------ inference
    def deadline(self, model: str) -> float:
        """Seconds one request to ``model`` may take: ``--timeout`` when given, else fitted to the model
        (10x its warm p99, at least a few seconds, at most the connection's timeout: :mod:`health`)."""
        if self.connection.deadline is not None:
            return self.connection.deadline
        return self.health.deadline(model, self.timeout)

    def infer(self, model: str, inputs, outputs, version: str = "", sequence=None) -> tuple[dict, float]:
        """Run one request (``sequence``: a transport.Sequence) within its deadline; returns (outputs by name,
        latency in ms). Past the deadline the request is cancelled (gRPC) or abandoned (HTTP) and raises a
        TIMEOUT error."""
        check_model_name(model)
        deadline = self.deadline(model)
        start = time.perf_counter()
        kw = {"sequence": sequence} if sequence is not None else {}
        try:
            result = self.call(
                f"inference on {model}",
                lambda t: t.infer(model, inputs, outputs, version, timeout=deadline, **kw),
                deadline,
                model,
            )
        except ConsoleError as exc:
            self.health.failed(model, exc)
            raise
        ms = (time.perf_counter() - start) * 1000.0
        self.health.ok(model, ms)
        return result, ms

    def generate(self, model: str, body: dict) -> dict:
        """The ``generate`` extension (HTTP): one JSON body in, the model's outputs by name out."""
        check_model_name(model)
        return self.call(f"generate on {model}", lambda t: t.generate(model, body), model=model)

    def stream(
        self,
        model: str,
        inputs,
        outputs,
        cancelled: threading.Event,
        sequence=None,
        datatypes=None,
        body=None,
    ):
        """One request whose responses stream back (the gRPC stream, or HTTP ``generate_stream``): yields
        transport.StreamEvent until the final one. A model's error after some responses is a ConsoleError
        saying how many came first; setting ``cancelled`` ends it with :class:`Cancelled`."""
        from triton_console.common.errors import Cancelled
        from triton_console.tui.core.client.transport import StreamCancelled, StreamFailed

        check_model_name(model)
        what = f"streaming inference on {model}"
        count = 0
        events = self.call(
            what,
            lambda t: t.stream(
                model, inputs, outputs, cancelled, sequence=sequence, datatypes=datatypes, body=body
            ),
        )
        try:
            while True:
                try:
                    event = next(events)
                except StopIteration:
                    return
                except StreamCancelled:
                    raise Cancelled(what) from None
                except StreamFailed as exc:
                    after = f" after {count} response{'s' if count != 1 else ''}" if count else ""
                    raise ConsoleError(
                        f"{model} failed{after}: {rs.clip(str(exc), 600)}", exit_code=EXIT_FAILED
                    ) from None
                except ConsoleError:
                    raise
                except Exception as exc:
                    raise self._error(what, exc) from None
                if event.outputs is not None:
                    count += 1
                yield event
        finally:
            events.close()
