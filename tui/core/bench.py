"""Classification requests as the console makes them: one image or many, and a concurrent load of them.

``classify`` (CLI) and the Classify pane send requests through :func:`classifier.classify`; ``bench`` sends
the same prepared requests through :mod:`loadgen`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import classifier
from . import images as img
from .classifier import Classification
from .client import TIMEOUT, TritonClient
from .errors import EXIT_USAGE, ConsoleError
from .stats import Breakdown, breakdown


@dataclass
class ItemResult:
    """One image's outcome: a classification or an error, never both."""

    path: str
    result: Classification | None = None
    error: str | None = None
    breakdown: Breakdown | None = None
    data: bytes | None = field(default=None, repr=False)  # the bytes that were sent (for previews)
    code: str | None = None  # the error's hint code (see client.py)

    def to_dict(self) -> dict:
        out: dict = {"image": self.path}
        if self.result is not None:
            out.update(self.result.to_dict())
            if self.result.untrained:
                out["untrained"] = True
        else:
            out["error"] = self.error
        return out


def statistics(client: TritonClient, timeout_is_none: bool = False) -> list | None:
    """All models' statistics, or None where the server has none (latency then comes from the client only).
    A lost server raises; so does a timeout unless ``timeout_is_none`` (a load step keeps its client-side
    figures when the statistics call is what timed out)."""
    try:
        return client.model_statistics().items
    except ConsoleError as exc:
        if exc.exit_code == EXIT_USAGE and not (timeout_is_none and exc.code == TIMEOUT):
            raise
        return None


def classify_files(
    client: TritonClient,
    model: str,
    paths: list[str],
    k: int = 5,
    with_breakdown: bool = False,
    cancel: threading.Event | None = None,
    scaling: str | None = None,
    labels: list[str] | None = None,
) -> Iterator[ItemResult]:
    """Classify each file in turn; per-image problems become results, a lost server raises (exit 2)."""
    info = client.model_info(model)
    route = classifier.image_path(info, client.server_metadata().extensions, scaling)
    steps = info.steps if with_breakdown else []
    for path in img.expand(paths):
        if cancel is not None and cancel.is_set():
            return
        item = img.read(path)
        if item.error is not None:
            yield ItemResult(path, error=item.error)
            continue
        try:
            before = statistics(client) if steps else None
            result = classifier.classify(client, model, item.data, k, path=route, labels=labels)
            after = statistics(client) if before is not None else None
            bd = breakdown(before, after, model, steps) if after is not None else None
            yield ItemResult(path, result=result, breakdown=bd, data=item.data)
        except ConsoleError as exc:
            if exc.exit_code == EXIT_USAGE and exc.code != TIMEOUT:
                raise  # the server is gone: the other images would fail the same way
            yield ItemResult(path, error=exc.message, code=exc.code)


# ------------------------------------------------------------------------------------------------ load


def run(
    client: TritonClient,
    model: str,
    paths: list[str],
    concurrency: int = 1,
    requests: int = 100,
    warmup: int = 10,
):
    """``requests`` requests of the images with ``concurrency`` in flight (see :mod:`loadgen`)."""
    from . import loadgen

    return loadgen.run_step(
        loadgen.image_workload(client, model, paths), concurrency, requests=requests, warmup=warmup
    )
