"""``triton-console``: the top-level parser, ``main()`` and the console (no command).

Each headless command lives in its own module of ``triton_console.tui.commands``; this module assembles
their parsers and dispatches to the handler each one sets. Everything heavy (torch, onnx, tritonclient,
numpy, textual, shtab) is imported inside the command that needs it, so ``triton-console --help`` stays
instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from triton_console.common.errors import EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.common.paths import default_repository
from triton_console.common.terminal import columns
from triton_console.common.version import version
from triton_console.tui.commands import NAMES, module
from triton_console.tui.core.client.codes import USAGE as USAGE_CODE
from triton_console.tui.core.client.flags import (
    add_connection,
    add_server,
    connection,
    context_models,
    paths,
)

PROG = "triton-console"
SHELLS = ("bash", "zsh")
USAGE = (
    f"{PROG} [connection flags] [console options] [IMAGE ...]\n"
    f"       {PROG} [connection flags] COMMAND [command flags]"
)


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, told its width: without one it imports shutil to ask (~5 ms with the bz2
    and lzma modules shutil pulls in), and every add_argument builds a formatter, so a one-shot command
    paid that for a help it never prints."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width=None):
        super().__init__(prog, indent_increment, max_help_position, columns() - 2 if width is None else width)


def parser(*, console: bool = False, only: str | None = None) -> argparse.ArgumentParser:
    """The headless commands' parser; the connection flags are accepted before or after the command.

    ``console=True`` adds the console's own options for ``--help`` and shell completion only (IMAGE only
    in words: a positional there would be completed instead of the commands); :func:`console_parser` parses
    the console's arguments. ``only``: that command's parser alone (what running it needs: building all of
    them cost a one-shot command ~17 ms).
    """
    top = Parser(
        prog=PROG,
        usage=USAGE,
        description="A terminal console for NVIDIA Triton Inference Server. With no command it opens the console.",
        epilog="Headless commands print JSON with --json. Run 'triton-console COMMAND --help' for each.",
    )
    _add_top(top)
    add_connection(top)
    if console:
        group = top.add_argument_group(
            "console options (no command)", "IMAGE ...: images or folders to open in the Classify pane"
        )
        _add_console(group, images=False)
    sub = top.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", prog=PROG, parser_class=CommandParser
    )
    for name in NAMES if only is None else (only,):
        module(name).add_parser(sub)
    return top


class UsageError(ConsoleError):
    """A command line argparse refused: code ``usage``, exit 2, said in one line with where the help is (and
    under --json as every command's error is, on stdout)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(
            f"{prog}: {message}", hint=f"see '{prog} --help'", exit_code=EXIT_USAGE, code=USAGE_CODE
        )


class Parser(argparse.ArgumentParser):
    """A parser whose usage error is a :class:`UsageError`: one line starting with ``error:`` that names the
    command and where its flags are listed (argparse printed the whole usage, over many lines, before it; the
    top level still did for ``triton-console --bogus``), and a JSON error under --json."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(self.prog, message)


class CommandParser(Parser):
    """A command's parser (see :class:`Parser`), images accepted after options."""

    def parse_known_args(self, args=None, namespace=None):
        """As argparse, but images may come after options (``tune MODEL --set F=1,2 --json mug.jpg``):
        argparse fills an ``IMAGE*`` positional at the first positional it meets (here MODEL), so later words
        were "unrecognized arguments". Leftover words that are not options (nor an unknown option's value)
        join the command's images; ``parse_intermixed_args`` would do it but refuses subparsers. What is left
        is refused here: left to the top parser it printed the top-level usage for ``classify --frobnicate``."""
        namespace, extras = super().parse_known_args(args, namespace)
        images = getattr(namespace, "images", None)
        if isinstance(images, list) and extras:
            rest, previous = [], ""
            for word in extras:
                if word.startswith("-") or (previous.startswith("-") and "=" not in previous):
                    rest.append(word)
                else:
                    images.append(word)
                previous = word
            extras = rest
        if extras:  # here, not at the top: the error names this command and its --help, not the top usage
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


class _Version(argparse.Action):
    """``--version``, looked up when asked for: importlib.metadata costs ~30 ms that every command paid when
    the version string was made with the parser."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{PROG} {version()}")
        parser.exit()


def _add_top(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action=_Version)
    p.add_argument(
        "--print-completion",
        choices=SHELLS,
        metavar="SHELL",
        help="print the shell completion script (bash or zsh) and exit; see docs/cli.md to install it",
    )


def _add_console(p, *, images: bool, described: bool = True) -> None:
    p.add_argument(
        "-m", "--model", action="append", default=[], help="models to ask about (servers that list none)"
    )
    paths(
        p.add_argument(
            "--repository",
            type=Path,
            default=None,
            # the first pass never shows its help: no platformdirs there (~10 ms for every command)
            help=f"the model repository (default {default_repository() if described else 'in the data directory'})",
        )
    )
    add_server(p)
    p.add_argument("--start", action="store_true", help="start the embedded server at once")
    if images:
        p.add_argument(
            "images", nargs="*", metavar="IMAGE", help="images (or folders) to open in the Classify pane"
        )


def commands() -> list[str]:
    """The headless commands' names."""
    return list(NAMES)


def console_parser(*, images: bool = True) -> argparse.ArgumentParser:
    """The console's arguments. Without ``images`` (and without abbreviations) it is the first pass of
    :func:`main`: the options that may come before a command, so that the value of ``-u`` or ``-c`` is never
    taken for the command."""
    p = Parser(prog=PROG, add_help=False, allow_abbrev=images)
    _add_top(p)
    add_connection(p)
    _add_console(p, images=images, described=False)  # add_help=False: its help is never shown
    return p


EXIT_CLOSED = 141  # stdout closed by its reader (`| head`): as a shell reports a tool that SIGPIPE ended


def main(argv: list[str] | None = None) -> int:
    """The command line; a reader that closed stdout early (``| head``) ends it quietly with 141, once for
    every command (Python's recipe for SIGPIPE: stdout pointed at /dev/null, so that the flush at exit does
    not raise again). It had printed a BrokenPipeError traceback and exited 1."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # what is still buffered goes now, inside the try: at exit it would raise again
        return code
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLOSED


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        front, rest = console_parser(images=False).parse_known_args(argv)
        if front.print_completion:
            import shtab

            print(shtab.complete(parser(console=True), front.print_completion))
            return EXIT_OK
        command = next((a for a in rest if not a.startswith("-")), None)
        if command in NAMES:
            args = parser(only=command).parse_args(argv)
            try:
                return args.func(args)
            except ConsoleError as exc:
                if getattr(args, "json", False):  # a script reading stdout gets the error too, as JSON
                    _json_error(args, exc)
                raise
        if any(a in ("-h", "--help") for a in rest):
            parser(console=True).print_help()
            return EXIT_OK
        try:
            args = console_parser().parse_args(argv)
        except UsageError:
            _not_a_command(command)
            raise
        return _console(args, command)
    except ConsoleError as exc:
        if isinstance(exc, UsageError) and _wants_json(argv):  # refused before any command ran
            _print_json_error(None, exc)
        from triton_console.common.untrusted import visible
        from triton_console.tui.hints import CLI, worded

        print(f"error: {visible(worded(exc, CLI), 4000, multiline=True)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _json_error(args: argparse.Namespace, exc: ConsoleError) -> None:
    """``{"model", "error", "code"}`` on stdout for a command run with --json that failed (the one line on
    stderr follows as for every command); ``model`` is null for commands without one."""
    model = getattr(args, "model", None)
    if isinstance(model, list):  # -m given any number of times: null when none was (status --all)
        model = model[0] if len(model) == 1 else model or None
    _print_json_error(model, exc)


def _print_json_error(model, exc: ConsoleError) -> None:
    """The one shape of every command's JSON error; a usage error (the arguments were not understood) has
    no model and code ``usage``."""
    import json

    print(json.dumps({"model": model, "error": exc.message, "code": exc.code}), flush=True)


def _wants_json(argv: list[str]) -> bool:
    """Whether --json was among the words (before a ``--``), also abbreviated as argparse accepts it."""
    for word in argv:
        if word == "--":
            return False
        if word.startswith("--js") and "--json".startswith(word):
            return True
    return False


def _not_a_command(word: str | None) -> None:
    """The console refused its arguments and the first word reads as a mistyped command, not an image
    (``triton-console stauts --json``): say that, instead of "unrecognized arguments: --json"."""
    if not word or Path(word).exists() or any(c in word for c in "./\\"):
        return
    meant = _meant(word)
    tail = f"; did you mean `{PROG} {meant} ...`?" if meant else ""  # --help, named by the hint, lists them
    raise UsageError(PROG, f"{word!r} is not a command{tail}") from None


def _meant(word: str | None) -> str | None:
    """The command a mistyped word probably was (``stauts`` → ``status``), if any; never for what looks like
    a file name (``statu.jpg``), which the console reports as a missing image."""
    import difflib

    if not word or Path(word).exists() or any(c in word for c in "./\\"):
        return None
    found = difflib.get_close_matches(word, NAMES, n=1, cutoff=0.6)
    return found[0] if found else None


def _console(args: argparse.Namespace, first: str | None = None) -> int:
    meant = _meant(first)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        which = [n for n, f in (("stdin", sys.stdin), ("stdout", sys.stdout)) if not f.isatty()]
        which = "stdin and stdout are not terminals" if len(which) == 2 else f"{which[0]} is not a terminal"
        tail = (
            f"did you mean `{PROG} {meant} ...`?"
            if meant
            else f"for scripts use a command, e.g. `{PROG} status --json` (commands: {', '.join(NAMES)})"
        )
        raise ConsoleError(f"the console needs a terminal ({which}); {tail}", exit_code=EXIT_USAGE)
    if meant:
        raise ConsoleError(
            f"{first!r} is neither a command nor an image; did you mean `{PROG} {meant} ...`?",
            exit_code=EXIT_USAGE,
        )
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
        stop_after_exit=True,
    )
    app = ConsoleApp(opts)
    _end_on_signals(app)
    try:
        app.run()
    finally:
        _stop_own_server(app.controller)
    return app.return_code or 0


def _end_on_signals(app) -> None:
    """SIGTERM ends the console as a quit does (its screen given back, its own server stopped after); SIGHUP (a
    closed SSH session: no terminal left to give back) stops its own server at once, then ends. The default
    action killed the console outright: its server went by PDEATHSIG's SIGKILL, which left the Python
    stubs still loading a model running on their own and the server's /dev/shm regions behind."""
    import os
    import signal

    def on_term(signum, _frame) -> None:
        app.exit(return_code=128 + signum)

    def on_hangup(signum, _frame) -> None:
        signal.signal(signum, signal.SIG_DFL)
        try:
            _stop_own_server(app.controller)
        finally:
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hangup)


def _stop_own_server(controller) -> None:
    """The console's own server, stopped after the screen is restored: Triton takes seconds to unload its
    models, and the terminal says so instead of a frozen screen. A closed terminal (SIGHUP) has no one to
    tell; the stop happens all the same."""
    import contextlib
    import time

    m = controller.managed
    if m is None or not m.is_running():
        return
    err = sys.__stderr__ or sys.stderr  # the terminal's own: the app's print capture while it runs (SIGHUP)
    t0 = time.monotonic()
    with contextlib.suppress(OSError):
        print(f"stopping tritonserver (pid {m.pid})…", end="", file=err, flush=True)
    code = controller.stop()
    with contextlib.suppress(OSError):
        print(f" stopped in {time.monotonic() - t0:.1f} s (exit code {code})", file=err, flush=True)


if __name__ == "__main__":
    sys.exit(main())
