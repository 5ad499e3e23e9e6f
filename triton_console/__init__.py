"""triton-console: a terminal console for NVIDIA Triton Inference Server (and any KServe v2 server).

One import name for the repository's top-level folders: ``triton_console.tui`` (the console and its UI-free
core), ``triton_console.build_tools`` (model export and repository writing), ``triton_console.model_repository``
(the models' sources) and ``triton_console.common`` (what both stand on). An installed wheel holds them inside
this package; in a source checkout they are the folders beside it, so the same names import from both.
"""

import os as _os

# gRPC's C core logs to stderr (TLS handshake failures, reconnects): over a full-screen console that text
# would draw across the screen, and the CLI says the same in one line. Users can still set it themselves.
_os.environ.setdefault("GRPC_VERBOSITY", "NONE")

_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "pyproject.toml")) and _os.path.isdir(
    _os.path.join(_checkout, "tui")
):
    __path__.append(_checkout)  # noqa: F821 (a package's __path__)


def __getattr__(name: str) -> str:
    """``__version__`` on demand: importlib.metadata costs ~30 ms, which every one-shot command would pay."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from triton_console.common.version import version

    return version()
