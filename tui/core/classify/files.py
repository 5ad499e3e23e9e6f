"""Classify files one after another, as ``classify`` (CLI) and the Classify pane do: per-image problems become
results, a lost server ends the run, and after a dead stub's first error the rest are reported unsent
(``bench`` sends the same requests as a load: :mod:`...load.loadgen`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.classify import classifier
from triton_console.tui.core.classify import images as img
from triton_console.tui.core.classify.classifier import Classification
from triton_console.tui.core.client.client import STUB_UNHEALTHY, TritonClient, server_gone

if TYPE_CHECKING:
    from triton_console.tui.core.client.stats import Breakdown


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
        else:  # as the other commands' JSON errors: the message and its code (null for the server's own words)
            out["error"], out["code"] = self.error, self.code
        return out


def classify_files(
    client: TritonClient,
    model: str,
    paths: list[str],
    k: int = 5,
    with_breakdown: bool = False,
    cancel: threading.Event | None = None,
    scaling: str | None = None,
    labels: list[str] | None = None,
    per_request: int = 1,
) -> Iterator[ItemResult]:
    """Classify each file in turn; per-image problems become results, a lost server raises (exit 2).
    ``per_request`` > 1: the readable files go k to a request (:func:`classifier.classify_many`)."""
    info = client.model_info(model)
    route = classifier.image_path(info, client.server_metadata().extensions, scaling)
    if per_request > 1:
        yield from _in_requests(client, model, route, paths, k, per_request, cancel, labels)
        return
    steps = info.steps if with_breakdown else []
    if steps:  # the statistics calls only for a breakdown (the Classify pane's), not for a one-shot command
        from triton_console.tui.core.client.stats import statistics
    broken: str | None = None  # the model's stub died: the rest would each wait ~1 s to fail the same way
    for path in img.expand(paths):
        if cancel is not None and cancel.is_set():
            return
        if broken is not None:
            yield ItemResult(path, error=f"not sent: {broken}", code=STUB_UNHEALTHY)
            continue
        item = img.read(path)
        if item.error is not None:
            yield ItemResult(path, error=item.error, code=item.code)
            continue
        try:
            before = statistics(client) if steps else None
            result = classifier.classify(client, model, item.data, k, path=route, labels=labels)
            bd = _breakdown(client, before, model, steps) if before is not None else None
            yield ItemResult(path, result=result, breakdown=bd, data=item.data)
        except ConsoleError as exc:
            if server_gone(exc):
                raise  # the other images would fail the same way
            if exc.code == STUB_UNHEALTHY:
                broken = exc.message
            yield ItemResult(path, error=exc.message, code=exc.code)


def _in_requests(client, model, route, paths, k, per_request, cancel, labels) -> Iterator[ItemResult]:
    """Files in requests of ``per_request`` images; a request's error is each of its images' error. A model
    that cannot take several images in a request is refused once, before any is read (exit 2)."""
    classifier.check_many(route)
    pending: list = []

    def flush() -> Iterator[ItemResult]:
        try:
            results = classifier.classify_many(
                client, model, [item.data for item in pending], k, path=route, labels=labels
            )
            for item, result in zip(pending, results, strict=True):
                yield ItemResult(item.path, result=result, data=item.data)
        except ConsoleError as exc:
            if server_gone(exc):
                raise
            for item in pending:
                yield ItemResult(item.path, error=exc.message, code=exc.code)
        pending.clear()

    for path in img.expand(paths):
        if cancel is not None and cancel.is_set():
            return
        item = img.read(path)
        if item.error is not None:
            yield ItemResult(path, error=item.error, code=item.code)
            continue
        pending.append(item)
        if len(pending) == per_request:
            yield from flush()
    if pending:
        yield from flush()


def _breakdown(client: TritonClient, before: list, model: str, steps: list[str], attempts: int = 10):
    """The per-step breakdown of the request just answered. Triton counts an ensemble's last step when that
    step's response is released, which can come after the client has the ensemble's answer: read again for
    a moment (``attempts`` reads, about 1 s in all) until every step has counted it (the CI's breakdown test
    saw two steps of three under load). Past that the breakdown is partial and says so (``missing``)."""
    import time

    from triton_console.tui.core.client.stats import breakdown, statistics

    bd = None
    for attempt in range(attempts):
        after = statistics(client)
        if after is None:
            return None
        bd = breakdown(before, after, model, steps)
        if not bd.missing:
            break
        if attempt + 1 < attempts:
            time.sleep(0.02 * (attempt + 1))
    return bd
