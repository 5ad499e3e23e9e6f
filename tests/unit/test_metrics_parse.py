"""Metrics text through prometheus_client's parser, and rates from counter deltas (no server)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from triton_console.tui.core.server import metrics as mt

TRITON = """# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="ens",version="1"} 10
nv_inference_request_success{model="pre",version="1"} 10
nv_inference_request_failure{model="pre",reason="BACKEND",version="1"} 2
nv_inference_count{model="pre",version="1"} 10
nv_inference_exec_count{model="pre",version="1"} 4
nv_inference_queue_duration_us{model="pre",version="1"} 5000
nv_inference_compute_infer_duration_us{model="pre",version="1"} 20000
nv_inference_pending_request_count{model="pre",version="1"} 3
nv_gpu_utilization{gpu_uuid="GPU-abc"} 0.5
nv_gpu_memory_used_bytes{gpu_uuid="GPU-abc"} 1073741824
nv_cpu_utilization 0.25
"""


def test_parse_real_text():
    s = mt.parse(TRITON)
    assert s.models["pre"].success == 10 and s.models["pre"].failure == 2 and s.models["pre"].queue_us == 5000
    assert s.pending == {"pre": 3} and s.gpus == {"GPU-abc": {"util": 0.5, "mem_used": 1073741824}}
    assert s.cpu == {"util": 0.25} and not s.problems


def test_garbage_lines_are_skipped_with_a_problem_each():
    s = mt.parse(
        TRITON + 'garbage {{{\nnv_inference_count{model="[red]x[/]",version="1"} NaN\nnot_a_metric lots\n'
    )
    assert s.models["pre"].inferences == 10 and "[red]x[/]" not in s.models  # NaN is no count
    assert any("does not parse" in p for p in s.problems)


def test_rates_are_deltas_per_second_and_per_request():
    before = {"m": mt.Counters(success=10, inferences=10, executions=5, queue_us=1000, infer_us=10000)}
    after = {
        "m": mt.Counters(success=30, failure=2, inferences=40, executions=10, queue_us=5000, infer_us=50000)
    }
    r = mt.rates(before, after, 2.0, {"m": 4})["m"]
    assert (r.inf_s, r.exec_s, r.avg_batch, r.fail_s, r.pending) == (15.0, 2.5, 6.0, 1.0, 4)
    assert r.queue_ms == 0.2 and r.infer_ms == 2.0 and r.compute_ms == 2.0
    restarted = mt.rates(after, before, 1.0, {})["m"]  # counters went down: a restart, not negative rates
    assert restarted.inf_s == 0 and restarted.queue_ms == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_raising(text):
    mt.parse(text)
