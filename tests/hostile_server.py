"""A hostile KServe v2 server for the tests, over HTTP and gRPC: every string it sends carries markup, control
characters or bidi overrides, and each model misbehaves in its own way (Triton's L0_http_fuzz in spirit).

Run as its own process: ``python -m tests.hostile_server [--http-port P --grpc-port Q --metrics-port R]
[--models N]``. A port left out (or 0) is chosen by the system while binding, and the ready line names them
all (``hostile server ready http=P grpc=Q metrics=R``): ports chosen beforehand and released could be taken
by another process before this one binds them. ``--models N`` adds N well-formed models to the index (the
20,000-model case).

Models:
- ``bad_classes``: an image model (UINT8 [-1] → FP32 [10]) whose classification strings are garbage;
- ``nan_scores``: the same input, outputs with NaN and Inf among real scores (client-side top-k);
- ``absurd_dims``: metadata with shapes no one can allocate;
- ``oversized``: answers every request with OVERSIZED_MIB of output;
- ``slow``: answers after SLOW_S seconds, dripping one byte a second over HTTP;
- ``undecodable``: an output whose data does not fit its declared shape;
- ``[bold red]FAKE READY[/]`` and a name with control characters: listed in the index;
- ``broken``: UNAVAILABLE with a reason full of markup and escapes.
"""

from __future__ import annotations

import argparse
import json
import struct
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKUP = "[bold red]FAKE READY[/] [link=http://evil.example]click[/link] \x1b[2J\x1b[31mred\u202eevil\u200b"
BROKEN_REASON = "boom [/] \x1b]0;pwned\x07 \u202etxet desrever [red]"
OVERSIZED_MIB = 24
SLOW_S = 30
CLASSES = [b"abc", b"0.5:notanint:x", b"nan:5:[blink]nan[/blink]", b"0.9:3:\x1b[31mkite [/]", b"inf:2:inf"]


def index(extra: int) -> list[dict]:
    rows = [
        {"name": "bad_classes", "version": "1", "state": "READY", "reason": ""},
        {"name": "nan_scores", "version": "1", "state": "READY", "reason": ""},
        {"name": "absurd_dims", "version": "1", "state": "READY", "reason": ""},
        {"name": "oversized", "version": "1", "state": "READY", "reason": ""},
        {"name": "slow", "version": "1", "state": "READY", "reason": ""},
        {"name": "undecodable", "version": "1", "state": "READY", "reason": ""},
        {"name": "broken", "version": "1", "state": "UNAVAILABLE", "reason": BROKEN_REASON},
        {"name": "[bold red]FAKE READY[/]", "version": "[b]1[/b]", "state": "READY", "reason": MARKUP},
        {"name": "ctl\x1b[31m\u202ename", "version": "1", "state": "READY\x1b[0m", "reason": ""},
    ]
    rows += [{"name": f"model_{i:05d}", "version": "1", "state": "READY", "reason": ""} for i in range(extra)]
    return rows


def metadata(name: str) -> dict:
    if name == "absurd_dims":
        return {
            "name": name,
            "versions": ["1"],
            "platform": MARKUP,
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-5, 10**13]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [10**14]}],
        }
    out = "y" if name != "oversized" else "big"
    return {
        "name": name,
        "versions": ["1"],
        "platform": MARKUP,
        "inputs": [{"name": "INPUT", "datatype": "UINT8", "shape": [-1]}],
        "outputs": [{"name": out, "datatype": "FP32", "shape": [10]}],
    }


def statistics() -> dict:
    """Wrong types where counters should be, for every model."""
    return {
        "model_stats": [
            {"name": "bad_classes", "version": "1", "inference_count": "lots", "execution_count": None},
            {
                "name": MARKUP,
                "version": 7,
                "inference_count": -3,
                "inference_stats": {"success": {"count": "x"}},
            },
            {
                "name": "nan_scores",
                "version": "1",
                "inference_count": 4,
                "execution_count": 2,
                "inference_stats": [],
            },
            "not an object",
        ]
    }


METRICS = (
    "# HELP nv_inference_count [bold]x[/]\n# TYPE nv_inference_count counter\n"
    'nv_inference_count{model="[red]m[/]",version="1"} NaN\n'
    'nv_inference_count{model="bad_classes",version="1"} not_a_number\n'
    "garbage line {{{\n"
    'nv_gpu_utilization{gpu_uuid="\x1b[31m"} 2e400\n'
)


def scores(name: str) -> list[float]:
    if name == "nan_scores":
        return [0.1, float("nan"), 0.3, float("inf"), 0.05, 0.0, 0.2, 0.1, 0.05, 0.2]
    return [0.1] * 10


# ------------------------------------------------------------------------------------------ HTTP


class Handler(BaseHTTPRequestHandler):
    extra = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *_a) -> None:  # quiet
        pass

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {"Content-Length": str(len(body))}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode())

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        parts = path.split("/")
        if path in ("/v2/health/live", "/v2/health/ready"):
            return self._send(200, b"", headers={"Content-Length": "0"})
        if path == "/v2":
            return self._json(
                {
                    "name": MARKUP,
                    "version": "[link=x]2.51[/link]\u202e",
                    "extensions": ["classification", "statistics", "[/]"],
                }
            )
        if path == "/metrics":
            return self._send(200, METRICS.encode(), "text/plain")
        if path == "/v2/models/stats" or path.endswith("/stats"):
            return self._json(statistics())
        if len(parts) >= 4 and parts[2] == "models":
            name = _unquote(parts[3])
            if path.endswith("/ready"):
                return self._send(200 if name != "broken" else 400, b"", headers={"Content-Length": "0"})
            if path.endswith("/config"):
                return self._json(
                    {
                        "name": name,
                        "platform": MARKUP,
                        "max_batch_size": 0,
                        "parameters": {"x": {"string_value": MARKUP}},
                    }
                )
            return self._json(metadata(name))
        return self._json({"error": f"no route {MARKUP}"}, 404)

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        body = self._body()
        if path == "/v2/repository/index":
            return self._json(index(self.extra))
        if path.endswith("/infer"):
            name = _unquote(path.split("/")[3])
            return self._infer(name, body)
        return self._json({"error": "[red]unsupported[/]"}, 400)

    def _infer(self, name: str, body: bytes) -> None:
        header_len = self.headers.get("Inference-Header-Content-Length")
        request = json.loads(body[: int(header_len)] if header_len else body)
        wants = {o["name"]: o.get("parameters", {}) for o in request.get("outputs", [])}
        if name == "slow":
            payload = json.dumps({"model_name": name, "outputs": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for b in payload:  # one byte a second
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(1)
            return
        if name == "oversized":
            size = OVERSIZED_MIB * 2**20
            head = json.dumps(
                {
                    "model_name": name,
                    "outputs": [
                        {
                            "name": "big",
                            "datatype": "FP32",
                            "shape": [size // 4],
                            "parameters": {"binary_data_size": size},
                        }
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Inference-Header-Content-Length", str(len(head)))
            self.send_header("Content-Length", str(len(head) + size))
            self.end_headers()
            self.wfile.write(head)
            chunk = b"\0" * 2**20
            try:
                for _ in range(OVERSIZED_MIB):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if name == "undecodable":
            return self._json(
                {
                    "model_name": name,
                    "outputs": [{"name": "y", "datatype": "FP32", "shape": [10], "data": [1, 2, 3]}],
                }
            )
        outs = []
        for out_name, params in (wants or {"y": {}}).items():
            if params.get("classification"):
                strings = [c.decode("latin-1") for c in CLASSES]
                outs.append({"name": out_name, "datatype": "BYTES", "shape": [len(strings)], "data": strings})
            else:
                outs.append({"name": out_name, "datatype": "FP32", "shape": [10], "data": scores(name)})
        text = json.dumps({"model_name": name, "outputs": outs}).replace("NaN", "NaN").encode()
        self._send(200, text)


def _unquote(s: str) -> str:
    from urllib.parse import unquote

    return unquote(s)


# ------------------------------------------------------------------------------------------ gRPC


def grpc_server(port: int, extra: int) -> tuple:
    import grpc
    import numpy as np
    from tritonclient.grpc import model_config_pb2 as mc
    from tritonclient.grpc import service_pb2 as pb
    from tritonclient.grpc import service_pb2_grpc as svc

    def tensor_md(t):
        return pb.ModelMetadataResponse.TensorMetadata(
            name=t["name"], datatype=t["datatype"], shape=t["shape"]
        )

    class Hostile(svc.GRPCInferenceServiceServicer):
        def ServerLive(self, request, context):
            return pb.ServerLiveResponse(live=True)

        def ServerReady(self, request, context):
            return pb.ServerReadyResponse(ready=True)

        def ModelReady(self, request, context):
            return pb.ModelReadyResponse(ready=request.name != "broken")

        def ServerMetadata(self, request, context):
            return pb.ServerMetadataResponse(
                name=MARKUP, version="[link=x]2.51[/link]\u202e", extensions=["classification", "[/]"]
            )

        def RepositoryIndex(self, request, context):
            return pb.RepositoryIndexResponse(
                models=[pb.RepositoryIndexResponse.ModelIndex(**r) for r in index(extra)]
            )

        def ModelMetadata(self, request, context):
            m = metadata(request.name)
            return pb.ModelMetadataResponse(
                name=m["name"],
                versions=m["versions"],
                platform=m["platform"],
                inputs=[tensor_md(t) for t in m["inputs"]],
                outputs=[tensor_md(t) for t in m["outputs"]],
            )

        def ModelConfig(self, request, context):
            cfg = mc.ModelConfig(name=request.name, platform=MARKUP, max_batch_size=0)
            cfg.parameters["x"].string_value = MARKUP
            return pb.ModelConfigResponse(config=cfg)

        def ModelStatistics(self, request, context):
            s = pb.ModelStatistics(
                name=MARKUP, version="[b]1[/b]", inference_count=2**63 - 1, execution_count=0
            )
            return pb.ModelStatisticsResponse(model_stats=[s])

        def ModelInfer(self, request, context):
            name = request.model_name
            if name == "slow":
                time.sleep(SLOW_S)
            response = pb.ModelInferResponse(model_name=name, model_version="1")
            wants = [
                (
                    o.name,
                    o.parameters["classification"].int64_param if "classification" in o.parameters else 0,
                )
                for o in request.outputs
            ] or [("y", 0)]
            for out_name, k in wants:
                if name == "oversized":
                    data = b"\0" * (OVERSIZED_MIB * 2**20)
                    response.outputs.add(name=out_name, datatype="FP32", shape=[len(data) // 4])
                elif name == "undecodable":
                    data = b"\0" * 12
                    response.outputs.add(name=out_name, datatype="FP32", shape=[10])
                elif k:
                    data = b"".join(struct.pack("<I", len(c)) + c for c in CLASSES)
                    response.outputs.add(name=out_name, datatype="BYTES", shape=[len(CLASSES)])
                else:
                    data = np.array(scores(name), dtype=np.float32).tobytes()
                    response.outputs.add(name=out_name, datatype="FP32", shape=[10])
                response.raw_output_contents.append(data)
            return response

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_send_message_length", 2**31 - 1), ("grpc.max_receive_message_length", 2**31 - 1)],
    )
    svc.add_GRPCInferenceServiceServicer_to_server(Hostile(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    return server, bound


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--grpc-port", type=int, default=0)
    ap.add_argument("--metrics-port", type=int, default=0)
    ap.add_argument("--models", type=int, default=0)
    args = ap.parse_args()
    Handler.extra = args.models
    servers = [ThreadingHTTPServer(("127.0.0.1", p), Handler) for p in (args.http_port, args.metrics_port)]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    g, grpc_port = grpc_server(args.grpc_port, args.models)
    g.start()
    http, metrics = (s.server_address[1] for s in servers)
    print(f"hostile server ready http={http} grpc={grpc_port} metrics={metrics}", flush=True)
    g.wait_for_termination()


if __name__ == "__main__":
    main()
