"""What went wrong with a call, as a code: each transport classifies its own errors into these, the client
carries them on ConsoleError.code, and each surface words them (tui/hints.py). No heavy imports here."""

from __future__ import annotations

TIMEOUT = "timeout"  # no (complete) answer within the deadline: this call, not the server, gave up
UNREACHABLE = "unreachable"  # no connection, or it broke: the server is gone (or never was)
UNSUPPORTED = "unsupported"  # the server or protocol does not offer this call
STUB_UNHEALTHY = "stub-unhealthy"  # a Python-backend stub died; the model must be reloaded
MODEL_CONTROL = "model-control"  # load/unload needs a server in explicit model-control mode
TOO_LARGE = "too-large"
NOT_HTTP = "not-http"  # something answered, but not in HTTP/1.1 (an HTTP client on the gRPC port)
NOT_GRPC = "not-grpc"  # a v2 HTTP server answered where gRPC was asked (a gRPC client on the HTTP port)
MODEL_NOT_FOUND = "model-not-found"  # the server knows no model of that name
MODEL_NOT_READY = "model-not-ready"  # the server knows it, but it is not loaded (or its load failed)
NO_SUCH_FILE = "no-such-file"  # an input file given on this side (an image) is not there
UNREADABLE_FILE = (
    "unreadable-file"  # it is there but cannot be sent: a folder, empty, over the limit, no access
)
USAGE = "usage"  # the command line itself is wrong: an unknown or contradictory option, a bad value


def file_code(exc: OSError) -> str:
    """The code of a local file that could not be read: not there (``no-such-file``, also a path through a
    missing folder), else there but refused (``unreadable-file``: no access, a folder, a loop)."""
    import errno

    return NO_SUCH_FILE if exc.errno in (errno.ENOENT, errno.ENOTDIR) else UNREADABLE_FILE


def server_gone(exc) -> bool:
    """The one test of "the server is gone": the call found no server to talk to. A timeout is not: the
    server may be busy, and this call gave up (runs go on past timeouts, and end when the server is gone)."""
    return getattr(exc, "code", None) == UNREACHABLE


def wrong_protocol(exc) -> bool:
    """Something answered, but in the other protocol (gRPC asked of an HTTP port, or the reverse): no call
    there can succeed, so it is said as it is (with the port hint), never as a missing model or extension."""
    return getattr(exc, "code", None) in (NOT_GRPC, NOT_HTTP)


def no_answer(exc) -> bool:
    """The call got no answer at all (the server is gone, this call timed out, or the port speaks the other
    protocol): it says nothing about the thing asked about (a model's state, an extension), so a listing
    stops instead of guessing."""
    return server_gone(exc) or getattr(exc, "code", None) == TIMEOUT or wrong_protocol(exc)


def unknown_model(text: str) -> bool:
    """The server's words for a request to a model it does not serve (absent, unloaded or failed alike:
    Triton says "Request for unknown model: 'X' is not found" or "... has no available versions")."""
    low = text.lower()
    return "unknown model" in low or ("model with name" in low and "does not exist" in low)


def server_text_code(text: str) -> str | None:
    """Codes only the server's own words carry (the same text over both protocols)."""
    low = text.lower()
    if "is not healthy" in low:
        return STUB_UNHEALTHY
    if "explicit" in low or "polling is enabled" in low or "not allowed" in low:
        return MODEL_CONTROL
    return None
