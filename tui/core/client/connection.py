"""How to reach a server: URL, protocol, TLS, headers, time and size limits. Validated once, here.

Secrets (header values such as ``Authorization: Bearer …``) live only in memory: ``repr``/``str`` of a
connection redact them, they never go to argv, logs or files. The servers file stores the *name* of the
environment variable that holds a header's value, never the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from triton_console.common.errors import ConsoleError

PROTOCOLS = ("grpc", "http")
DEFAULT_URLS = {"grpc": "localhost:8001", "http": "localhost:8000"}
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RESPONSE = 256 * 2**20
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


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
        scheme = {"grpc": "grpcs" if self.ssl else "grpc", "http": "https" if self.ssl else "http"}[
            self.protocol
        ]
        return f"{scheme}://{self.url}"


def parse_url(url: str | None, protocol: str | None = None) -> Endpoint:
    """Accept ``host:port``, ``http(s)://host:port`` or ``grpc(s)://host:port``; reject anything else.

    The protocol comes from ``protocol`` if given, else from the scheme, else gRPC (as Triton's tools).
    """
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConsoleError(f"protocol must be grpc or http, not {protocol!r}")
    if url is None or url == "":
        protocol = protocol or "grpc"
        url = DEFAULT_URLS[protocol]
    text = url.strip()
    if any(c.isspace() or not c.isprintable() for c in text) or len(text) > 2048:
        raise ConsoleError(f"invalid server URL {url!r}")
    scheme = ""
    if "://" in text:
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https", "grpc", "grpcs"):
            raise ConsoleError(
                f"unsupported URL scheme {scheme!r} in {url!r} (use http, https, grpc or grpcs)"
            )
        text = rest
    parts = urlsplit("//" + text)
    if parts.username is not None or parts.password is not None or "@" in text:
        raise ConsoleError(
            "credentials in a server URL are not accepted (they would end up in shell history and logs)",
            hint="pass a header from an environment variable instead: --header-env Authorization=MY_TOKEN_VAR",
        )
    try:
        port = parts.port
    except ValueError:
        raise ConsoleError(f"invalid port in server URL {url!r}") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or not parts.hostname:
        raise ConsoleError(f"invalid server URL {url!r}: expected host:port")
    if protocol is None:
        protocol = "http" if scheme in ("http", "https") else "grpc"
    if port is None:
        port = int(DEFAULT_URLS[protocol].rsplit(":", 1)[1])
    return Endpoint(parts.hostname, port, protocol, ssl=scheme in ("https", "grpcs"))


@dataclass(frozen=True)
class TLS:
    """TLS settings: gRPC (``--ssl`` + PEM files) and HTTPS (CA file, ``--insecure`` only when asked)."""

    enabled: bool = False
    root_certs: str | None = None  # CA bundle (PEM)
    client_cert: str | None = None  # PEM certificate chain for mutual TLS
    client_key: str | None = None  # PEM private key for mutual TLS (a path, never the key itself)
    insecure: bool = False  # HTTPS: do not verify the server's certificate

    def files(self) -> tuple[tuple[str, str | None], ...]:
        """(command-line flag, path) of each PEM file, set or not."""
        return (
            ("--root-certs", self.root_certs),
            ("--client-cert", self.client_cert),
            ("--client-key", self.client_key),
        )

    def check(self) -> None:
        for what, path in self.files():
            if path and not Path(path).expanduser().is_file():
                raise ConsoleError(f"{what} {path}: no such file")
        if bool(self.client_cert) != bool(self.client_key):
            raise ConsoleError("--client-cert and --client-key go together (mutual TLS needs both)")

    def read(self, path: str | None) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ConsoleError(f"cannot read {path}: {exc.strerror or exc}") from None


class Headers:
    """HTTP/gRPC headers whose values are secrets: shown only as names."""

    def __init__(self, items: tuple[tuple[str, str], ...] = (), env: dict[str, str] | None = None) -> None:
        self._items = tuple(items)
        self.env = dict(env or {})  # header name -> the environment variable its value came from (not secret)

    @property
    def names(self) -> list[str]:
        return [k for k, _ in self._items]

    def as_dict(self) -> dict[str, str]:
        return dict(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and other._items == self._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({', '.join(f'{k}: <redacted>' for k in self.names)})"

    __str__ = __repr__


def _check_header(name: str, value: str, source: str) -> tuple[str, str]:
    if not HEADER_NAME_RE.match(name):
        raise ConsoleError(f"{source}: {name!r} is not a valid header name")
    if not value:
        raise ConsoleError(f"{source}: header {name} has no value")
    if any(c in value for c in "\r\n\0"):
        raise ConsoleError(f"{source}: the value of header {name} holds a line break or NUL")
    return name, value


def parse_header(spec: str) -> tuple[str, str]:
    """``-H 'Name: value'``."""
    name, sep, value = spec.partition(":")
    if not sep:
        raise ConsoleError(f"-H {name.strip()[:40]!r}: expected 'Name: value'")
    return _check_header(name.strip(), value.strip(), "-H")


def header_from_env(spec: str, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """``--header-env Name=ENVVAR``: the value comes from the environment, so it never sits in argv."""
    env = os.environ if environ is None else environ
    name, sep, var = spec.partition("=")
    if not sep or not ENV_NAME_RE.match(var.strip()):
        raise ConsoleError(f"--header-env {spec[:60]!r}: expected Name=ENVIRONMENT_VARIABLE")
    value = env.get(var.strip())
    if value is None:
        raise ConsoleError(f"--header-env {name.strip()}: environment variable {var.strip()} is not set")
    return _check_header(name.strip(), value.strip(), f"--header-env {name.strip()}")


@dataclass(frozen=True)
class Connection:
    """Everything a client needs to talk to one server."""

    url: str | None = None
    protocol: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    tls: TLS = field(default_factory=TLS)
    headers: Headers = field(default_factory=Headers)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE
    metrics_url: str | None = None
    # each inference's deadline when the user set one (--timeout); None: fitted to the model (health.py)
    deadline: float | None = None

    def endpoint(self) -> Endpoint:
        ep = parse_url(self.url, self.protocol)
        if self.tls.enabled and not ep.ssl:
            ep = replace(ep, ssl=True)
        self.tls.check()
        if not 0 < self.timeout <= 3600:
            raise ConsoleError(f"--timeout must be in (0, 3600] seconds, got {self.timeout}")
        if self.deadline is not None and not 0 < self.deadline <= 3600:
            raise ConsoleError(f"--timeout must be in (0, 3600] seconds, got {self.deadline}")
        if self.max_response_bytes < 1024:
            raise ConsoleError("the response size limit must be at least 1 KiB")
        return ep

    def with_url(self, url: str | None, protocol: str | None) -> Connection:
        return replace(self, url=url, protocol=protocol, metrics_url=None)
