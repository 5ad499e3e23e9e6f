"""A CPU model's memory: the resident memory of its Python-backend stub processes, for a server on this
machine (each instance is one ``triton_python_backend_stub`` whose argv names the model's file). Linux /proc
only; None where nothing is found (a remote server, another backend).

After a reload the previous version's stubs take a while to exit, and Triton keeps an unchanged instance when
only the count changes; so the newest ``instances`` stubs are counted (the config's instance count).

A GPU model's memory: the server's GPU memory used, sampled before and after a load (the metrics endpoint's
``nv_gpu_memory_used_bytes``, or NVML where the server runs on this machine and ``pynvml`` is importable); the
delta is the load's footprint. A server without GPU metrics gets one line saying so, never a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _start_ticks(entry: Path) -> int:
    """When the process started, in clock ticks after boot (field 22 of /proc/PID/stat)."""
    return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[19])


def _rss(entry: Path) -> int:
    for line in (entry / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stub_rss(
    repository: Path | None, name: str, instances: int | None = None, proc: Path = Path("/proc")
) -> int | None:
    """Bytes resident in the newest ``instances`` stubs running ``<repository>/<name>/…/model.py`` (all of
    them without ``instances``); None when none is found."""
    if repository is None or not proc.is_dir():
        return None
    prefix = str(Path(repository).resolve() / name) + "/"
    found: list[tuple[int, int]] = []  # (start, rss)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if len(argv) < 2 or not argv[0].endswith(b"triton_python_backend_stub"):
                continue
            if not argv[1].decode(errors="replace").startswith(prefix):
                continue
            found.append((_start_ticks(entry), _rss(entry)))
        except (OSError, ValueError, IndexError):
            continue
    if not found:
        return None
    found.sort(reverse=True)
    return sum(rss for _, rss in found[: instances or len(found)])


def instance_count(config) -> int:
    """How many instances a config asks for (a count of 0 is taken as 1, as Triton does)."""
    return sum(max(1, g.count) for g in config.instance_group) or 1


# ------------------------------------------------------------------------------------------ GPU memory

NO_GPU = "GPU memory: no GPU metrics on this server"
METRICS_INTERVAL_S = 2.0  # Triton refreshes its GPU gauges this often (--metrics-interval-ms, default 2000)


@dataclass(frozen=True)
class GpuSample:
    """Bytes used and in all per GPU (by UUID), and where they came from (the metrics endpoint or NVML)."""

    used: dict[str, float]
    total: dict[str, float]
    source: str

    @property
    def free(self) -> dict[str, float]:
        return {g: self.total[g] - self.used[g] for g in self.used if g in self.total}


def _from_metrics(text: str) -> dict[str, tuple[float, float]]:
    """Per GPU (used, total) from Triton's ``nv_gpu_memory_used_bytes`` / ``nv_gpu_memory_total_bytes``,
    parsed by the one metrics parser (prometheus_client's)."""
    from triton_console.tui.core.server.metrics import parse

    return {
        uuid: (g["mem_used"], g["mem_total"])
        for uuid, g in parse(text).gpus.items()
        if "mem_used" in g and "mem_total" in g
    }


def _from_nvml() -> dict[str, tuple[float, float]]:
    """Per GPU (used, total) from NVML, where ``pynvml`` (nvidia-ml-py) is importable and a driver answers;
    empty otherwise (optional: never installed by the console)."""
    try:
        import pynvml
    except ImportError:
        return {}
    out = {}
    try:
        pynvml.nvmlInit()
        try:
            for i in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(i)
                uuid = pynvml.nvmlDeviceGetUUID(handle)
                info = pynvml.nvmlDeviceGetMemoryInfo(handle)
                key = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
                out[key] = (float(info.used), float(info.total))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # pynvml.NVMLError and its many subclasses: no driver, no GPU, no permission
        return {}
    return out


def gpu_sample(client, local: bool = False) -> GpuSample | str:
    """GPU memory now: the server's metrics endpoint, else NVML where the server runs on this machine
    (``local``); the one line saying why not when neither has a GPU (never a made-up figure)."""
    from triton_console.common.errors import ConsoleError

    gpus, why = {}, ""
    try:
        gpus = _from_metrics(client.metrics())
    except ConsoleError as exc:
        why = f" ({exc.message})"
    if gpus:
        return GpuSample(
            {g: u for g, (u, _) in gpus.items()}, {g: t for g, (_, t) in gpus.items()}, "metrics"
        )
    if local:
        gpus = _from_nvml()
        if gpus:
            return GpuSample(
                {g: u for g, (u, _) in gpus.items()}, {g: t for g, (_, t) in gpus.items()}, "NVML"
            )
    return NO_GPU + why


def settle(sample: GpuSample | str, since: float, interval: float | None = None) -> None:
    """Wait until a metrics sample taken now reflects what happened at ``since`` (time.monotonic()): Triton
    updates its GPU gauges every ``interval`` seconds (METRICS_INTERVAL_S). NVML and no GPU need no wait."""
    import time

    interval = METRICS_INTERVAL_S if interval is None else interval
    if isinstance(sample, GpuSample) and sample.source == "metrics":
        time.sleep(max(0.0, since + interval + 0.2 - time.monotonic()))


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


@dataclass(frozen=True)
class GpuFootprint:
    """GPU memory across one load: the delta of memory used (summed over the GPUs) is the model's footprint
    (against what served before the load: nothing after an unload, the previous config after an override);
    "would it fit again" = the most free memory on one GPU after the load against that footprint."""

    before: GpuSample | None = None
    after: GpuSample | None = None
    reason: str | None = None  # why nothing was measured (the one line shown instead)

    @classmethod
    def between(cls, before: GpuSample | str, after: GpuSample | str) -> GpuFootprint:
        if isinstance(before, str):
            return cls(reason=before)
        if isinstance(after, str):
            return cls(reason=after)
        return cls(before, after)

    @property
    def delta(self) -> dict[str, float]:
        if self.before is None or self.after is None:
            return {}
        return {g: u - self.before.used[g] for g, u in self.after.used.items() if g in self.before.used}

    @property
    def bytes(self) -> int | None:
        return int(sum(self.delta.values())) if self.delta else None

    @property
    def free_bytes(self) -> int | None:
        """The most free memory on one GPU after the load."""
        free = self.after.free if self.after is not None else {}
        return int(max(free.values())) if free else None

    @property
    def fits(self) -> bool | None:
        """Whether another load this size fits on one GPU (None without a growth to compare)."""
        if self.bytes is None or self.bytes <= 0 or self.free_bytes is None:
            return None
        return self.free_bytes >= self.bytes

    def describe(self) -> str:
        if self.reason is not None or self.after is None:
            return self.reason or NO_GPU
        n = self.bytes or 0
        best = max(self.after.free, key=self.after.free.get)
        free = f"free {_gib(self.after.free[best])} of {_gib(self.after.total[best])} on {best[:12]}"
        if len(self.after.free) > 1:
            free += f" (the most of {len(self.after.free)} GPUs)"
        verdict = (
            "no growth measured"
            if self.fits is None
            else f"another {_gib(n)} {'fits' if self.fits else 'does not fit'}"
        )
        return f"GPU memory ({self.source}): {'+' if n >= 0 else '-'}{_gib(abs(n))} at this load; {free}: {verdict}"

    @property
    def source(self) -> str:
        return self.after.source if self.after is not None else ""

    def to_dict(self) -> dict:
        """The trial's GPU fields."""
        return {
            "gpu_memory_bytes": self.bytes,
            "gpu_free_bytes": self.free_bytes,
            "gpu_fits": self.fits,
            "gpu_memory": self.describe(),
        }


class AroundLoad:
    """GPU memory around one load (the Models pane's ``l``, each tune trial): sampled now (or ``probe``, a
    sample just taken), again between the unload and the load of a reload (``unloaded``), and after the load
    once Triton's gauges have caught up (``footprint``). Without GPU metrics nothing more is fetched."""

    def __init__(self, client, local: bool = False, probe: GpuSample | str | None = None) -> None:
        self.client, self.local = client, local
        self.probe = gpu_sample(client, local) if probe is None else probe
        self.before = self.probe
        self.loaded_at: float | None = None

    def _sample(self) -> GpuSample | str:
        return gpu_sample(self.client, self.local) if isinstance(self.probe, GpuSample) else self.probe

    def unloaded(self, *_) -> None:
        """The model is gone (a reload's unload): what the GPUs hold without it is the base."""
        import time

        settle(self.probe, time.monotonic())
        self.before = self._sample()

    def loaded(self) -> None:
        import time

        self.loaded_at = time.monotonic()

    def footprint(self) -> GpuFootprint:
        import time

        settle(self.probe, self.loaded_at or time.monotonic())
        return GpuFootprint.between(self.before, self._sample())


def stub_line(repository: Path | None, name: str, config) -> str | None:
    """The CPU side in words: the resident memory of the model's Python stubs (a server on this machine)."""
    n = instance_count(config)
    rss = stub_rss(repository, name, n)
    if rss is None:
        return None
    return f"Python stubs resident: {rss / 2**20:.0f} MiB ({n} instance{'s' if n > 1 else ''})"
