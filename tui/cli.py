"""``triton-console``: the top-level parser, ``main()`` and the console (no command).

Each headless command lives in its own module of ``triton_console.tui.commands``; this module assembles
their parsers and dispatches to the handler each one sets. Everything heavy (torch, onnx, tritonclient,
numpy, textual) is imported inside the command that needs it, so ``triton-console --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from triton_console.common.errors import EXIT_OK, ConsoleError
from triton_console.common.paths import default_repository
from triton_console.tui.commands import MODULES, NAMES
from triton_console.tui.core.client.flags import add_connection, add_server, connection, context_models


def parser() -> argparse.ArgumentParser:
    """The headless commands' parser; the connection flags are accepted before or after the command."""
    top = argparse.ArgumentParser(
        prog="triton-console",
        description="A terminal console for NVIDIA Triton Inference Server. With no command it opens the console.",
        epilog="Headless commands print JSON with --json. Run 'triton-console COMMAND --help' for each.",
    )
    add_connection(top)
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    for module in MODULES:
        module.add_parser(sub)
    return top


def commands() -> list[str]:
    """The headless commands' names."""
    return list(NAMES)


def console_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triton-console", add_help=False)
    add_connection(p)
    p.add_argument(
        "-m", "--model", action="append", default=[], help="models to ask about (servers that list none)"
    )
    p.add_argument("--repository", type=Path, default=None)
    add_server(p)
    p.add_argument("--start", action="store_true", help="start the embedded server at once")
    p.add_argument("images", nargs="*")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    wants_help = any(a in ("-h", "--help") for a in argv)
    try:
        if first in NAMES:
            args = parser().parse_args(argv)
            return args.func(args)
        if wants_help:
            parser().print_help()
            return EXIT_OK
        return _console(console_parser().parse_args(argv))
    except ConsoleError as exc:
        from triton_console.common.untrusted import visible
        from triton_console.tui.hints import CLI, worded

        print(f"error: {visible(worded(exc, CLI), 4000, multiline=True)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _console(args: argparse.Namespace) -> int:
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    opts = ConsoleOptions(
        repository=(args.repository or default_repository()).expanduser(),
        server=args.server,
        docker_site=args.docker_site,
        images=list(args.images),
        start=args.start,
        connection=connection(args),
        models=list(args.model) + context_models(args),
        context=args.context,
    )
    app = ConsoleApp(opts)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
