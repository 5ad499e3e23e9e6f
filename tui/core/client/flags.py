"""The command line's shared flags, defined once: how to reach a server (``-u``, ``-c``, TLS, headers...) and
which tritonserver to run (``--server``, ``--docker-site``); and the two ways between flags and a
:class:`Connection`: parsed flags → Connection (every command, the console) and Connection → flags plus the
environment that carries header values (the Bench pane's load process), side by side so they stay one pair.

Header values never go into argv (every user of the machine can read it): they travel by environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triton_console.tui.core.client.connection import Connection, Endpoint

HEADER_ENV_PREFIX = "TRITON_CONSOLE_HEADER_"
# What shtab completes a path argument with (its FILE marker), spelled out so that building a parser never
# imports shtab: set as ``action.complete`` on arguments that name files or folders.
FILE = {"bash": "_shtab_compgen_files", "zsh": "_files"}


def paths(action: argparse.Action) -> argparse.Action:
    """Mark an argument as naming files or folders, for shell completion."""
    action.complete = FILE
    return action


def add_connection(p: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """The connection flags. ``defaults=False`` (a subcommand's copy) sets only what is given, so the same
    flags before the subcommand (the top-level copy) are not overwritten by its defaults; its headers go to
    their own lists (``*_after``), added to those given before."""

    def d(value):
        return value if defaults else argparse.SUPPRESS

    after = "" if defaults else "_after"

    group = p.add_argument_group("connection (before or after the command)")
    group.add_argument(
        "-c",
        "--context",
        metavar="NAME",
        default=d(None),
        help="a server from the servers file (triton-console servers list); other flags override its settings",
    )
    group.add_argument(
        "-u",
        "--url",
        default=d(None),
        help="server URL: host:port, grpc(s)://host:port or http(s)://host:port (default localhost:8001, gRPC)",
    )
    group.add_argument(
        "-i",
        "--protocol",
        choices=("grpc", "http"),
        default=d(None),
        help="protocol (default: from the URL, else grpc)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=d(None),
        metavar="SECONDS",
        help="seconds to wait for each server call (default: the -c server's, else 30), and each inference's "
        "deadline (default: 10x the model's warm p99, at least 5 s, at most the call timeout)",
    )
    group.add_argument(
        "--metrics-url",
        default=d(None),
        help="Prometheus endpoint (default: Triton's layout, the HTTP port + 2, on the server's host)",
    )
    tls = p.add_argument_group("TLS and headers")
    tls.add_argument(
        "--ssl", action="store_true", default=d(False), help="use TLS (implied by https:// and grpcs:// URLs)"
    )
    for flag, what in (
        ("--root-certs", "CA certificates to verify the server with"),
        ("--client-cert", "client certificate chain (mutual TLS)"),
        ("--client-key", "client private key file (mutual TLS)"),
    ):
        paths(tls.add_argument(flag, metavar="PEM", default=d(None), help=what))
    tls.add_argument(
        "--insecure",
        action="store_true",
        default=d(False),
        help="HTTPS: do not verify the server's certificate",
    )
    tls.add_argument(
        "-H",
        "--header",
        dest=f"header{after}",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add a request header",
    )
    tls.add_argument(
        "--header-env",
        dest=f"header_env{after}",
        action="append",
        default=[],
        metavar="NAME=ENVVAR",
        help="add a header whose value is read from an environment variable (keeps secrets out of argv)",
    )
    tls.add_argument(
        "--max-response-mb",
        type=float,
        default=d(256),
        help="refuse requests and responses larger than this (MiB, default 256)",
    )


def add_server(p: argparse.ArgumentParser) -> None:
    """Which tritonserver to run (serve, the console)."""
    p.add_argument(
        "--server",
        default="auto",
        help="tritonserver: auto (default: $TRITONSERVER, PATH, then bundled), bundled, a PATH, or docker[:IMAGE] "
        "(NVIDIA's NGC container, default nvcr.io/nvidia/tritonserver:24.10-py3)",
    )
    p.add_argument(
        "--docker-site",
        default="auto",
        metavar="DIR|auto|none",
        help="docker: Python packages for the container's Python (auto: build one with pip when models need Pillow)",
    )


def connection(args: argparse.Namespace) -> Connection:
    """The validated connection of the parsed flags, over its -c server's settings (header values stay in
    memory only)."""
    from triton_console.tui.core.client.connection import (
        TLS,
        Connection,
        Headers,
        header_from_env,
        parse_header,
    )

    base = Connection()
    if args.context:  # the contexts file only when -c names one (a one-shot command without it skips it)
        from triton_console.tui.core.client import contexts

        base = contexts.find(args.context).connection()
    header_env = args.header_env + getattr(args, "header_env_after", [])
    from_env = [header_from_env(h) for h in header_env]
    env = {name: spec.partition("=")[2].strip() for (name, _), spec in zip(from_env, header_env, strict=True)}
    items = dict(base.headers.as_dict())
    headers = args.header + getattr(args, "header_after", [])
    items.update(dict([parse_header(h) for h in headers] + from_env))
    tls = base.tls
    if args.insecure:
        print("WARNING: --insecure: the server's certificate is not verified", file=sys.stderr, flush=True)
    return Connection(
        url=args.url or base.url,
        protocol=args.protocol or (base.protocol if not args.url else None),
        timeout=args.timeout or base.timeout,
        tls=TLS(
            args.ssl or tls.enabled,
            args.root_certs or tls.root_certs,
            args.client_cert or tls.client_cert,
            args.client_key or tls.client_key,
            args.insecure or tls.insecure,
        ),
        headers=Headers(tuple(items.items()), {**base.headers.env, **env}),
        max_response_bytes=int(args.max_response_mb * 2**20),
        metrics_url=args.metrics_url or base.metrics_url,
        deadline=args.timeout,  # given: every inference's deadline too; else fitted per model
    )


def connection_argv(conn: Connection, endpoint: Endpoint | None = None) -> tuple[list[str], dict[str, str]]:
    """The flags that give a command this connection, and the environment (this process's, plus one
    variable per header) that carries the header values, which never go into argv. ``endpoint``: the one a
    client already validated (else it is validated here)."""
    from triton_console.tui.core.client.connection import DEFAULT_TIMEOUT_S

    ep = endpoint or conn.endpoint()
    argv = ["-u", str(ep), "-i", ep.protocol]
    if conn.deadline is not None or conn.timeout != DEFAULT_TIMEOUT_S:  # else the deadline stays fitted
        argv += ["--timeout", f"{conn.deadline or conn.timeout:g}"]
    argv += ["--max-response-mb", f"{conn.max_response_bytes / 2**20:g}"]
    if conn.metrics_url:
        argv += ["--metrics-url", conn.metrics_url]
    argv += ["--ssl"] if ep.ssl else []
    for flag, value in conn.tls.files():
        if value:
            argv += [flag, value]
    argv += ["--insecure"] if conn.tls.insecure else []
    env = dict(os.environ)
    for i, (name, value) in enumerate(conn.headers.as_dict().items()):
        var = f"{HEADER_ENV_PREFIX}{i}"
        env[var] = value
        argv += ["--header-env", f"{name}={var}"]
    return argv, env


def context_models(args: argparse.Namespace) -> list[str]:
    """The models the -c server's entry names (for servers that list none)."""
    from triton_console.tui.core.client import contexts

    return list(contexts.find(args.context).models) if getattr(args, "context", None) else []
