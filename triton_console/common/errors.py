"""One exception type that carries a user-facing message and the exit code the CLI should use."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran but something it worked on failed (e.g. one image)
EXIT_USAGE = 2  # bad arguments, missing tools, unreachable server


class ConsoleError(Exception):
    """An error meant for the user: a clear message, an optional hint, and an exit code."""

    def __init__(
        self, message: str, *, hint: str | None = None, exit_code: int = EXIT_USAGE, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.code = code  # a hint code (e.g. "stub-unhealthy") that each surface words in its own way

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class Cancelled(ConsoleError):
    """A long step was cancelled by its caller (Ctrl-C or the console's cancel key)."""

    def __init__(self, what: str = "operation"):
        super().__init__(f"{what} cancelled", exit_code=130)
