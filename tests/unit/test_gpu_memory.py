"""GPU memory per model: Triton's metrics text, as its metrics endpoint prints it, served by a real HTTP
server on loopback so the console's own scraping (client.metrics, metrics.parse) runs; the footprint of a load
and "would it fit" worked out from two samples. Without GPU metrics: one line, no figure."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import http_server
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.tune import memory

GPU0 = "GPU-3f2a9c1e-7b44-4d0e-9a51-0c6e2b8d1f77"
GPU1 = "GPU-b81d5e02-19ac-4f63-8e2d-5a7c9f0e4b13"

# Triton 2.x's exposition text (HELP/TYPE lines, gpu_uuid labels, six decimals), request counters beside it
TEMPLATE = """\
# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{{model="resnet50",version="1"}} 120
# HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{{gpu_uuid="{g0}"}} 0.120000
nv_gpu_utilization{{gpu_uuid="{g1}"}} 0.000000
# HELP nv_gpu_memory_total_bytes GPU total memory, in bytes
# TYPE nv_gpu_memory_total_bytes gauge
nv_gpu_memory_total_bytes{{gpu_uuid="{g0}"}} 17179869184.000000
nv_gpu_memory_total_bytes{{gpu_uuid="{g1}"}} 17179869184.000000
# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes
# TYPE nv_gpu_memory_used_bytes gauge
nv_gpu_memory_used_bytes{{gpu_uuid="{g0}"}} {u0}
nv_gpu_memory_used_bytes{{gpu_uuid="{g1}"}} {u1}
# HELP nv_cpu_memory_used_bytes CPU used memory, in bytes
# TYPE nv_cpu_memory_used_bytes gauge
nv_cpu_memory_used_bytes 8123456789.000000
"""
CPU_ONLY = """\
# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="cold",version="1"} 3
# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]
# TYPE nv_cpu_utilization gauge
nv_cpu_utilization 0.25
"""
GIB = 2**30


def text(u0: str, u1: str) -> str:
    return TEMPLATE.format(g0=GPU0, g1=GPU1, u0=u0, u1=u1)


@pytest.fixture
def metrics():
    """A metrics endpoint on 127.0.0.1 whose text the test changes between samples; a client reading it."""
    state = {"text": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = state["text"].encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with http_server(Handler) as httpd:
        port = httpd.server_address[1]
        client = TritonClient("127.0.0.1:9", "http", metrics_url=f"http://127.0.0.1:{port}/metrics")
        try:
            yield state, client
        finally:
            client.close()


def test_a_load_footprint_is_the_delta_of_memory_used_and_fits_where_one_gpu_has_room(metrics):
    state, client = metrics
    state["text"] = text("1.2e+09", "512000000.000000")
    before = memory.gpu_sample(client)
    assert isinstance(before, memory.GpuSample) and before.source == "metrics"
    assert before.used == {GPU0: 1.2e9, GPU1: 512e6} and before.total[GPU0] == 16 * GIB

    state["text"] = text("3.4e+09", "512000000.000000")  # the model took 2.2 GB on GPU 0
    after = memory.gpu_sample(client)
    f = memory.GpuFootprint.between(before, after)
    assert f.delta == {GPU0: pytest.approx(2.2e9), GPU1: 0.0}
    assert f.bytes == 2_200_000_000
    assert f.free_bytes == 16 * GIB - 512_000_000  # GPU 1 has the most room
    assert f.fits is True
    line = f.describe()
    assert line.startswith(
        "GPU memory (metrics): +2.05 GiB at this load; free 15.52 GiB of 16.00 GiB on GPU-b81d5e02"
    )
    assert "(the most of 2 GPUs): another 2.05 GiB fits" in line
    assert f.to_dict() == {
        "gpu_memory_bytes": 2_200_000_000,
        "gpu_free_bytes": 16 * GIB - 512_000_000,
        "gpu_fits": True,
        "gpu_memory": line,
    }


def test_a_footprint_larger_than_any_gpus_free_memory_does_not_fit(metrics):
    state, client = metrics
    state["text"] = text("2e+09", "9.5e+09")
    before = memory.gpu_sample(client)
    state["text"] = text("1.0e+10", "9.5e+09")  # +8 GB; then 7.18 GB free on GPU 0, 7.68 GB on GPU 1
    f = memory.GpuFootprint.between(before, memory.gpu_sample(client))
    assert f.bytes == 8_000_000_000 and f.free_bytes == 16 * GIB - 9_500_000_000
    assert f.fits is False and "another 7.45 GiB does not fit" in f.describe()

    g = memory.GpuFootprint.between(f.after, memory.gpu_sample(client))  # nothing changed
    assert g.bytes == 0 and g.fits is None and g.describe().endswith(": no growth measured")
    state["text"] = text("9.5e+09", "9.5e+09")  # a smaller config replaced it: memory went down
    h = memory.GpuFootprint.between(f.after, memory.gpu_sample(client))
    assert h.bytes == -500_000_000 and h.fits is None
    assert h.describe().startswith("GPU memory (metrics): -0.47 GiB at this load")


def test_without_gpu_metrics_one_line_and_no_figure(metrics):
    state, client = metrics
    state["text"] = CPU_ONLY
    sample = memory.gpu_sample(client)
    assert sample == memory.NO_GPU == "GPU memory: no GPU metrics on this server"
    f = memory.GpuFootprint.between(sample, sample)
    assert f.describe() == memory.NO_GPU
    assert f.to_dict() == {
        "gpu_memory_bytes": None,
        "gpu_free_bytes": None,
        "gpu_fits": None,
        "gpu_memory": memory.NO_GPU,
    }
    gone = TritonClient("127.0.0.1:9", "http", metrics_url="http://127.0.0.1:9/metrics")  # nothing listens
    said = memory.gpu_sample(gone)
    assert said.startswith(memory.NO_GPU + " (cannot read metrics at http://127.0.0.1:9/metrics")
    assert "\n" not in said
    gone.close()


def test_a_metrics_sample_waits_for_tritons_next_refresh(metrics):
    import time

    state, client = metrics
    state["text"] = text("1e+09", "1e+09")
    sample = memory.gpu_sample(client)
    t0 = time.monotonic()
    memory.settle(sample, since=t0, interval=0.3)
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    memory.settle(memory.NO_GPU, since=t0, interval=30)  # nothing to wait for
    assert time.monotonic() - t0 < 5


def test_around_a_reload_the_base_is_sampled_once_the_model_is_gone(metrics, monkeypatch):
    """The Models pane's l on a READY model: unload, then load. The footprint is against the GPUs without the
    model (sampled between the two), each sample once Triton's gauges have caught up."""
    import time

    monkeypatch.setattr(memory, "METRICS_INTERVAL_S", 0.2)
    state, client = metrics
    state["text"] = text("5e+09", "1e+09")  # the model serves: 4 GB of it on GPU 0
    around = memory.AroundLoad(client)
    state["text"] = text("1e+09", "1e+09")  # unloaded
    t0 = time.monotonic()
    around.unloaded("m")
    assert time.monotonic() - t0 >= 0.2  # waited for the gauges
    state["text"] = text("5.5e+09", "1e+09")  # loaded again, a little larger
    around.loaded()
    f = around.footprint()
    assert f.bytes == 4_500_000_000 and f.fits is True


def test_without_gpu_metrics_nothing_more_is_fetched_around_a_load(metrics):
    state, client = metrics
    state["text"] = CPU_ONLY
    around = memory.AroundLoad(client)
    state["text"] = text("5e+09", "1e+09")  # not read again: the first answer had no GPU
    around.unloaded("m")
    around.loaded()
    assert around.footprint().describe() == memory.NO_GPU
