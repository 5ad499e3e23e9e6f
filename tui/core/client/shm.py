"""Triton's shared-memory extension for a request's tensors (``--shm system|cuda``), through tritonclient's own
utilities, so the cost of the wire can be seen: inputs are written once into regions registered with the
server, and requests carry only region names. Regions are always unregistered and freed — on exit from the
``with`` block, at interpreter exit and on SIGTERM/SIGINT (a live set of them is kept for that).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import uuid

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.common.paths import SHM_PREFIX
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.transport import InputTensor, raw_bytes

KINDS = ("none", "system", "cuda")
_LIVE: set[Regions] = set()
_LOCK = threading.Lock()


class Regions:
    """One region per input tensor, registered with the server while the block runs."""

    def __init__(self, client: TritonClient, kind: str, inputs: list[InputTensor]) -> None:
        if kind not in ("system", "cuda"):
            raise ConsoleError(f"--shm must be one of {', '.join(KINDS)}, not {kind!r}")
        self.client = client
        self.kind = kind
        self.inputs = inputs
        self.tag = f"{SHM_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._handles: list[tuple[str, object]] = []
        self.request: list[InputTensor] = []

    def __enter__(self) -> Regions:
        with _LOCK:
            _LIVE.add(self)
        try:
            for i, t in enumerate(self.inputs):
                data = raw_bytes(t.array)
                name, size = f"{self.tag}_{i}", len(data)
                if self.kind == "system":
                    import tritonclient.utils.shared_memory as shm

                    handle = shm.create_shared_memory_region(name, f"/{name}", len(data), create_only=True)
                    shm.set_shared_memory_region(handle, [np.frombuffer(data, dtype=np.uint8)])
                    self._handles.append((name, handle))
                    self.client.call(
                        "register shared memory",
                        lambda tr, n=name, s=size: tr.shm_register("system", n, f"/{n}", s),
                    )
                else:
                    handle = self._cuda_region(name, data)
                    self._handles.append((name, handle))
                    import tritonclient.utils.cuda_shared_memory as cudashm

                    raw = cudashm.get_raw_handle(handle)
                    self.client.call(
                        "register CUDA shared memory",
                        lambda tr, n=name, r=raw, s=size: tr.shm_register("cuda", n, r, s, 0),
                    )
                self.request.append(InputTensor(t.name, t.datatype, t.array, shm=(name, size, 0)))
        except BaseException:
            self.close()
            raise
        return self

    def _cuda_region(self, name: str, data: bytes):
        try:
            import tritonclient.utils.cuda_shared_memory as cudashm

            handle = cudashm.create_shared_memory_region(name, len(data), 0)
            cudashm.set_shared_memory_region(handle, [np.frombuffer(data, dtype=np.uint8)])
            return handle
        except ImportError as exc:
            raise ConsoleError(
                f"--shm cuda needs CUDA and the cuda-python package ({exc})", exit_code=EXIT_USAGE
            ) from None
        except Exception as exc:
            raise ConsoleError(
                f"--shm cuda: cannot create a CUDA region ({exc})", exit_code=EXIT_USAGE
            ) from None

    def close(self) -> None:
        handles, self._handles = self._handles, []
        for name, handle in handles:
            with contextlib.suppress(Exception):
                self.client.call(
                    "unregister shared memory", lambda tr, n=name: tr.shm_unregister(self.kind, n)
                )
            with contextlib.suppress(Exception):
                if self.kind == "system":
                    import tritonclient.utils.shared_memory as shm

                    shm.destroy_shared_memory_region(handle)
                else:
                    import tritonclient.utils.cuda_shared_memory as cudashm

                    cudashm.destroy_shared_memory_region(handle)
        with _LOCK:
            _LIVE.discard(self)

    def __exit__(self, *exc) -> None:
        self.close()


def close_all() -> None:
    """Free every live region of this process (atexit, and the CLI's signal handlers)."""
    with _LOCK:
        live = list(_LIVE)
    for r in live:
        r.close()


atexit.register(close_all)
