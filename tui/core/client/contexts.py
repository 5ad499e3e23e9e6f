"""Named servers (contexts, as kubectl and k9s have them): ``$XDG_CONFIG_HOME/triton-console/servers.toml``.

    [servers.gpu-box]
    url = "grpcs://gpu-box:8001"
    root_certs = "~/certs/ca.pem"
    headers = { Authorization = "TRITON_TOKEN" }   # header name = the environment variable holding its value
    models = ["resnet50"]                           # for servers that list none

Secrets never live in this file: a header names the environment variable to read its value from. Each bad
entry is one clear problem (the others still load); the file is written atomically and only by
``servers add/remove``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common import paths
from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.connection import (
    ENV_NAME_RE,
    HEADER_NAME_RE,
    TLS,
    Connection,
    Headers,
    parse_url,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
KEYS = {
    "url",
    "protocol",
    "ssl",
    "root_certs",
    "client_cert",
    "client_key",
    "insecure",
    "headers",
    "models",
    "timeout",
}


def path() -> Path:
    return paths.config_dir() / "servers.toml"


@dataclass(frozen=True)
class ServerEntry:
    name: str
    url: str
    protocol: str | None = None
    ssl: bool = False
    root_certs: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # header name -> environment variable name
    models: tuple[str, ...] = ()
    timeout: float = 10.0

    def connection(self, environ: dict[str, str] | None = None) -> Connection:
        """The connection, header values read from the environment now (a missing one is an error)."""
        env = os.environ if environ is None else environ
        values = []
        for header, var in self.headers.items():
            if var not in env:
                raise ConsoleError(f"server {self.name}: header {header} reads ${var}, which is not set")
            values.append((header, env[var]))
        tls = TLS(
            self.ssl,
            _expand(self.root_certs),
            _expand(self.client_cert),
            _expand(self.client_key),
            self.insecure,
        )
        return Connection(
            url=self.url,
            protocol=self.protocol,
            timeout=self.timeout,
            tls=tls,
            headers=Headers(tuple(values), dict(self.headers)),
        )

    def to_table(self) -> dict:
        """This entry as the servers file's TOML table (defaults left out)."""
        table: dict = {"url": self.url}
        if self.protocol:
            table["protocol"] = self.protocol
        for key in ("ssl", "insecure"):
            if getattr(self, key):
                table[key] = True
        for key in ("root_certs", "client_cert", "client_key"):
            if getattr(self, key):
                table[key] = getattr(self, key)
        if self.headers:
            table["headers"] = dict(self.headers)
        if self.models:
            table["models"] = list(self.models)
        if self.timeout != 10.0:
            table["timeout"] = self.timeout
        return table


def _expand(p: str | None) -> str | None:
    return str(Path(p).expanduser()) if p else None


def entry(name: str, raw: object) -> ServerEntry:
    """One validated entry (raises ConsoleError naming the server and the field)."""
    where = f"server {name!r}"
    if not NAME_RE.match(name):
        raise ConsoleError(f"{where}: names are letters, digits, '_', '.', '-' (at most 64)")
    if not isinstance(raw, dict):
        raise ConsoleError(f"{where}: expected a table of settings")
    unknown = set(raw) - KEYS
    if unknown:
        raise ConsoleError(
            f"{where}: unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})"
        )
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise ConsoleError(f"{where}: url is required (host:port, grpc(s)://… or http(s)://…)")
    protocol = raw.get("protocol")
    if protocol is not None and protocol not in ("grpc", "http"):
        raise ConsoleError(f"{where}: protocol must be grpc or http")
    try:
        parse_url(url, protocol)
    except ConsoleError as exc:
        raise ConsoleError(f"{where}: {exc.message}") from None
    for key in ("ssl", "insecure"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConsoleError(f"{where}: {key} must be true or false")
    for key in ("root_certs", "client_cert", "client_key"):
        if key in raw and not isinstance(raw[key], str):
            raise ConsoleError(f"{where}: {key} must be a path")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict):
        raise ConsoleError(f'{where}: headers must be a table of NAME = "ENVIRONMENT_VARIABLE"')
    for h, var in headers.items():
        if not HEADER_NAME_RE.match(str(h)):
            raise ConsoleError(f"{where}: {h!r} is not a header name")
        if not isinstance(var, str) or not ENV_NAME_RE.match(var):
            raise ConsoleError(
                f"{where}: header {h} must name an environment variable (values are never stored in this file)"
            )
    models = raw.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ConsoleError(f"{where}: models must be a list of names")
    timeout = raw.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        raise ConsoleError(f"{where}: timeout must be seconds in (0, 3600]")
    return ServerEntry(
        name,
        url,
        protocol,
        bool(raw.get("ssl", False)),
        raw.get("root_certs"),
        raw.get("client_cert"),
        raw.get("client_key"),
        bool(raw.get("insecure", False)),
        {str(k): v for k, v in headers.items()},
        tuple(models),
        float(timeout),
    )


def load(file: Path | None = None) -> tuple[list[ServerEntry], list[str]]:
    """Entries that are valid, and one problem line per entry (or file) that is not."""
    file = file or path()
    if not file.exists():
        return [], []
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{file}: cannot read it ({exc})"]
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{file}: not valid TOML ({exc})"]
    servers = data.get("servers", {})
    if not isinstance(servers, dict):
        return [], [f"{file}: [servers] must be a table of servers"]
    entries, problems = [], []
    for name, raw in servers.items():
        try:
            entries.append(entry(name, raw))
        except ConsoleError as exc:
            problems.append(f"{file}: {exc.message}")
    return entries, problems


def find(name: str, file: Path | None = None) -> ServerEntry:
    entries, problems = load(file)
    for e in entries:
        if e.name == name:
            return e
    bad = [p for p in problems if f"server {name!r}" in p]
    if bad:
        raise ConsoleError(bad[0])
    known = ", ".join(e.name for e in entries) or "none yet (triton-console servers add NAME URL)"
    raise ConsoleError(f"no server named {name!r} in {file or path()} (known: {known})")


def save(entries: list[ServerEntry], file: Path | None = None) -> Path:
    from triton_console.common import fsutil

    file = file or path()
    header = "# triton-console servers: written by 'triton-console servers add/remove'.\n"
    header += "# Header values are never stored: each header names the environment variable to read.\n\n"
    import tomli_w

    body = tomli_w.dumps({"servers": {e.name: e.to_table() for e in entries}})
    fsutil.write_text(file, header + body)
    os.chmod(file, 0o600)
    return file


def add(new: ServerEntry, file: Path | None = None, replace: bool = False) -> Path:
    entries, problems = load(file)
    if problems and any(f"server {new.name!r}" not in p for p in problems):
        raise ConsoleError(f"fix the servers file first: {problems[0]}")
    if any(e.name == new.name for e in entries) and not replace:
        raise ConsoleError(f"a server named {new.name!r} exists; pass --replace to change it")
    entry(new.name, raw(new))  # validate as the file would be read
    entries = [e for e in entries if e.name != new.name] + [new]
    return save(entries, file)


def remove(name: str, file: Path | None = None) -> Path:
    entries, _ = load(file)
    if not any(e.name == name for e in entries):
        raise ConsoleError(f"no server named {name!r}")
    return save([e for e in entries if e.name != name], file)


def raw(e: ServerEntry) -> dict:
    """The entry as the file's table holds it."""
    out = {
        "url": e.url,
        "ssl": e.ssl,
        "insecure": e.insecure,
        "headers": dict(e.headers),
        "models": list(e.models),
        "timeout": e.timeout,
    }
    for key in ("protocol", "root_certs", "client_cert", "client_key"):
        if getattr(e, key):
            out[key] = getattr(e, key)
    return out
