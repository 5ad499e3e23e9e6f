"""The conventions of a command line: connection flags before or after the command, --version, shell
completion, a --help that lists the console's own flags, no console without a terminal, and commands that
say each thing once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CLI, ROOT, run_cli
from triton_console.tui.commands import NAMES


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_flags_before_or_after_the_command(tmp_path):
    """`triton-console -u HOST:PORT status` was refused ("unrecognized arguments") and `-c NAME status` opened
    the console with "status" taken for an image."""
    url = f"127.0.0.1:{_dead_port()}"
    for argv in (["-u", url, "status", "--json"], ["status", "-u", url, "--json"], ["-u", url, "status"]):
        res = run_cli(*argv, timeout=60, stdin=subprocess.DEVNULL)
        assert res.returncode == 2, (argv, res.stderr)
        assert "unrecognized" not in res.stderr and "terminal" not in res.stderr, res.stderr
        if "--json" in argv:
            assert json.loads(res.stdout)["url"] == f"grpc://{url}"
        else:
            assert f"cannot reach grpc://{url}" in res.stderr
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    assert run_cli("servers", "add", "box", f"http://{url}", env=env).returncode == 0
    for argv in (["-c", "box", "status", "--json"], ["status", "--json", "-c", "box"]):
        res = run_cli(*argv, timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert res.returncode == 2 and json.loads(res.stdout)["url"] == f"http://{url}", res.stderr
    # a flag before the command overrides the named server's setting as after it does
    res = run_cli(
        "-c", "box", "-i", "grpc", "status", "--json", timeout=60, env=env, stdin=subprocess.DEVNULL
    )
    assert json.loads(res.stdout)["url"] == f"grpc://{url}"


def test_version_and_help():
    from triton_console import __version__

    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"triton-console {__version__}"
    res = run_cli("--help")
    assert res.returncode == 0
    for flag in ("-u URL", "-c NAME", "--start", "--server", "--repository", "IMAGE", "--print-completion"):
        assert flag in res.stdout, flag
    for name in NAMES:
        assert f"\n    {name} " in res.stdout, name


def test_shell_completion_completes_commands_and_flags(tmp_path):
    script = tmp_path / "triton-console.bash"
    res = run_cli("--print-completion", "bash")
    assert res.returncode == 0, res.stderr
    script.write_text(res.stdout)

    def complete(*words: str) -> list[str]:
        line = " ".join(["triton-console", *words])
        probe = (
            f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; "
            '_shtab_triton_console; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run(
            ["bash", "-c", probe], capture_output=True, text=True, timeout=30, check=True, cwd=ROOT
        )
        return out.stdout.split()

    assert complete("sta") == ["status"]
    assert complete("-u", "127.0.0.1:1", "cl") == ["classify"]
    assert "--json" in complete("status", "--js")
    assert complete("classify", "tests/da") == ["tests/data"]  # files where a command takes paths
    assert complete("--root-certs", "tests/da") == ["tests/data"]
    zsh = run_cli("--print-completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef triton-console")
    assert run_cli("--print-completion", "fish").returncode == 2


@pytest.mark.parametrize(
    "argv, says",
    [
        ([], "triton-console status --json"),
        (["stauts"], "did you mean `triton-console status ...`"),
        (["-u", "127.0.0.1:1", "clasify", "x.jpg"], "did you mean `triton-console classify ...`"),
        (["statu.jpg"], "for scripts use a command"),  # a file name is not taken for a mistyped command
    ],
)
def test_console_refuses_without_a_terminal(argv, says):
    """In a script or a pipe the console would wait for keys that never come, writing escape codes: one
    line on stderr instead, exit 2, at once."""
    start = time.monotonic()
    res = subprocess.run(
        [*CLI, *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert time.monotonic() - start < 20  # a generous bound: a console that started would hang here
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.splitlines()) == 1 and "\x1b" not in res.stderr
    assert "needs a terminal" in res.stderr and says in res.stderr, res.stderr


def test_engine_precision_reaches_trtexec(tmp_path):
    """`--fp16` was the default and could not be turned off by it: --precision fp16|fp32."""
    fake = tmp_path / "trtexec"
    fake.write_text(
        "#!/usr/bin/env python3\nimport sys\n"
        "plan=[a.split('=',1)[1] for a in sys.argv if a.startswith('--saveEngine=')][0]\n"
        "open(plan,'wb').write(b'PLAN')\nopen(sys.argv[0]+'.argv','a').write(' '.join(sys.argv[1:])+'\\n')\n"
    )
    fake.chmod(0o755)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    env = dict(os.environ, TRTEXEC=str(fake))
    for extra in ([], ["--precision", "fp32"], ["--precision", "fp16"], ["--no-fp16"]):
        res = run_cli(
            "engine",
            "--onnx",
            str(tmp_path / "m.onnx"),
            "--output",
            str(tmp_path / "m.plan"),
            *extra,
            env=env,
        )
        assert res.returncode == 0, res.stderr
    runs = (tmp_path / "trtexec.argv").read_text().splitlines()
    assert ["--fp16" in r.split() for r in runs] == [True, False, True, False]
    assert run_cli("engine", "--onnx", "a", "--output", "b", "--precision", "int8").returncode == 2


def test_build_says_each_step_result_once(tmp_path):
    """`build` printed the numeric check's summary and the skipped engine twice: once as a log line, once
    as the step's result."""
    from triton_console.build_tools import pipeline
    from triton_console.common.progress import Progress

    log, steps = [], []
    pipeline.build(
        "efficientnet-lite0",
        "random",
        "python-onnxruntime",
        tmp_path / "repo",
        progress=Progress(log=log.append),
        on_step=lambda step, state, detail: steps.append((step, state, detail)),
    )
    details = [d for _, state, d in steps if state != "start" and d]
    assert {s for s, state, _ in steps if state in ("done", "skipped")} >= {"check", "engine", "repository"}
    for detail in details:  # e.g. the check's summary, or "engine: skipped (TensorRT not present)"
        assert not [line for line in log if line.strip() == detail or f"({detail})" in line], detail


def test_serve_says_the_gpu_errors_are_expected_without_a_gpu(tmp_path):
    """On a machine without a GPU tritonserver logs "CUDA driver version is insufficient", NVML and DCGM
    errors: serve says once that this is expected."""
    from triton_console.tui.core.server import process as srv

    if srv.visible_gpus():
        pytest.skip("this machine has a GPU")
    (tmp_path / "repo").mkdir()
    ports = [str(p) for p in srv.free_ports(3)]
    proc = subprocess.Popen(
        [*CLI, "serve", "--repository", str(tmp_path / "repo"), "--http-port", ports[0]]
        + ["--grpc-port", ports[1], "--metrics-port", ports[2], "--server", "bundled"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout.readline().startswith("tritonserver ready"), proc.stderr.read()
        shown = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "CUDA driver version is insufficient" in err
    # it started with a trace file of its own (level OFF), named for `trace`, and removed it on the way out
    traces = Path(next(line for line in shown if line.split()[0] == "traces").split()[1])
    assert f"--trace-config=triton,file={traces}" in err
    assert not list(traces.parent.glob(f"{traces.name}*"))
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the CUDA/NVML/DCGM errors are expected on a machine without a GPU: the server runs on the CPU"
    ]


def test_gpu_note_names_a_driver_problem_where_there_are_gpus():
    from triton_console.tui.commands.serve import gpu_note

    line = 'W1202 pinned_memory_manager.cc:273] "...: CUDA driver version is insufficient for CUDA runtime"'
    assert "without a GPU" in gpu_note(line, 0)
    assert "check the NVIDIA driver" in gpu_note(line, 2)
    assert gpu_note('I1202 server.cc:674] "Started GRPCInferenceService"', 0) is None


def test_bench_suite_says_where_its_results_went():
    from benchmarks.run import OUT, RECORD, done_line

    assert done_line(OUT) == f"results: {OUT} (to make it the run of record: cp {OUT} {RECORD})"
    assert done_line(RECORD) == f"results: {RECORD}"


def test_flags_before_and_after_the_command_add_up_and_a_named_servers_timeout_holds(tmp_path, monkeypatch):
    """Headers given before and after the command are all sent (the subcommand's copy used to replace the
    list), and `-c NAME` uses the timeout its entry names unless --timeout is given (30 s always won)."""
    from triton_console.tui.cli import parser
    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.client.flags import connection

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("TOKEN_FOR_TEST", "s3cret")
    contexts.add(contexts.ServerEntry("box", "http://127.0.0.1:9", timeout=4.0))
    args = parser().parse_args(
        [
            "-c",
            "box",
            "-H",
            "X-A: 1",
            "status",
            "-H",
            "X-B: 2",
            "--header-env",
            "Authorization=TOKEN_FOR_TEST",
        ]
    )
    conn = connection(args)
    assert conn.headers.as_dict() == {"X-A": "1", "X-B": "2", "Authorization": "s3cret"}
    assert conn.timeout == 4.0 and conn.url == "http://127.0.0.1:9"
    assert connection(parser().parse_args(["status", "-c", "box", "--timeout", "7"])).timeout == 7.0
    assert connection(parser().parse_args(["status"])).timeout == 30.0


def test_a_failed_command_with_json_prints_its_error_as_json():
    """`infer nosuchmodel --json` and `classify -m nosuchmodel --json` printed nothing on stdout (only the
    line on stderr), while `status --json` and `generate --json` gave an object."""
    import json

    res = run_cli("infer", "nosuchmodel", "-u", "127.0.0.1:1", "--json")
    assert res.returncode == 2, res.stderr
    (line,) = res.stdout.splitlines()
    obj = json.loads(line)
    assert obj["model"] == "nosuchmodel" and obj["error"] and "error:" in res.stderr
    res = run_cli("classify", "x.jpg", "-m", "nosuchmodel", "-u", "127.0.0.1:1", "--json")
    assert res.returncode == 2 and json.loads(res.stdout.splitlines()[-1])["error"], (res.stdout, res.stderr)
