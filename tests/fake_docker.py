"""A stand-in ``docker`` for the tests (Docker is not installed on the CI machine): it understands the few
commands the console uses and runs the bundled tritonserver where a container would run NVIDIA's image.

Like a real container, the server does not die with the ``docker run`` client: only ``docker stop`` or
``docker rm -f`` end it, so the console's cleanup (and its reaper after a SIGKILL) is what gets tested.

State: ``$FAKE_DOCKER_STATE`` (a directory, one JSON file per container); images present:
``$FAKE_DOCKER_IMAGES`` (comma-separated); ``$FAKE_DOCKER_MODE``: ``permission`` or ``down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("FAKE_DOCKER_STATE", "/tmp/fake-docker"))


def fail(text: str, code: int = 1) -> None:
    print(text, file=sys.stderr)
    sys.exit(code)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _kill(name: str, grace: float) -> None:
    f = STATE / f"{name}.json"
    if not f.exists():
        fail(f"Error response from daemon: No such container: {name}")
    pid = json.loads(f.read_text())["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    f.unlink(missing_ok=True)
    print(name)


def run(args: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from triton_console.tui.core.server import process as srv

    name, ports, mounts, i = None, {}, {}, 0
    while args[i].startswith("-"):
        flag = args[i]
        if flag in ("--name", "--label", "-p", "-v"):
            value = args[i + 1]
            if flag == "--name":
                name = value
            elif flag == "-p":
                host, hport, cport = value.split(":")
                ports[cport] = (host, hport)
            elif flag == "-v":
                src, dst, *_ = value.split(":")
                mounts[dst] = src
            i += 2
        else:
            i += 1
    image, command = args[i], args[i + 1 :]
    if image not in os.environ.get("FAKE_DOCKER_IMAGES", "").split(","):
        fail(f"Unable to find image '{image}' locally")
    assert command[0] == "tritonserver", command
    binary = srv.locate("bundled")
    argv = [binary.path]
    for a in command[1:]:
        key, _, value = a.partition("=")
        if key == "--model-repository":
            a = f"{key}={mounts[value]}"
        elif key in ("--http-address", "--grpc-address", "--metrics-address"):
            a = f"{key}=127.0.0.1"
        elif key in ("--http-port", "--grpc-port", "--metrics-port"):
            a = f"{key}={ports[value][1]}"
        argv.append(a)
    argv.append(f"--backend-directory={binary.backend_dir}")
    env = dict(os.environ)
    for k, v in binary.env.items():
        env[k] = v + (os.pathsep + env[k] if env.get(k) and k.endswith("PATH") else "")
    # the "container": its own session, not tied to this client's life
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True
    )
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / f"{name}.json").write_text(json.dumps({"pid": proc.pid, "image": image, "argv": args}))

    def forward(signum, _frame):  # docker run's sig-proxy
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    for line in proc.stdout:
        print(line, end="", flush=True)
    code = proc.wait()
    (STATE / f"{name}.json").unlink(missing_ok=True)  # --rm
    sys.exit(code)


def main() -> None:
    args = sys.argv[1:]
    mode = os.environ.get("FAKE_DOCKER_MODE", "")
    if mode == "down":
        fail(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        )
    if mode == "permission":
        fail(
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"
        )
    cmd = args[0]
    if cmd == "info":
        print(json.dumps({"runc": {"path": "runc"}}))
    elif cmd == "image" and args[1] == "inspect":
        if args[-1] in os.environ.get("FAKE_DOCKER_IMAGES", "").split(","):
            print("sha256:0123456789abcdef")
        else:
            fail(f"Error: No such image: {args[-1]}")
    elif cmd == "run":
        run(args[1:])
    elif cmd == "stop":
        _kill(args[-1], float(args[args.index("-t") + 1]) if "-t" in args else 10)
    elif cmd == "rm":
        _kill(args[-1], 0)
    elif cmd == "ps":
        for f in sorted(STATE.glob("*.json")) if STATE.exists() else []:
            if _alive(json.loads(f.read_text())["pid"]):
                print(f.stem)
    else:
        fail(f"fake docker: unsupported command {cmd}")


if __name__ == "__main__":
    main()
