"""The request ``infer`` sent, written out as a call anyone can run: curl (KServe v2 JSON), a Python
tritonclient snippet, or a perf_analyzer command with its ``--input-data`` file.

Small data is written inline; larger data (and perf_analyzer's input data, always a file) goes to files
in a directory the caller gives (never over a file that exists), else (``spill``) in a new temporary
folder, else it is refused: nothing is ever written into the current folder. Header values are never written: a header read from an environment variable is
referenced as that variable, any other as a placeholder to fill in.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.connection import Connection, Endpoint
from triton_console.tui.core.client.transport import raw_bytes
from triton_console.tui.core.request.infer import InputPlan

INLINE = 64 * 1024  # bytes of JSON/Python data written inline; more goes to files
NEEDS_FOLDER = "call-needs-folder"  # the code of the error: the call's data is too large to write inline
SPILL_PREFIX = "triton-console-call-"
FORMS = ("curl", "python", "perf_analyzer")
# JSON as shown in a call: a space after each comma and colon, so a box that wraps at spaces (the Try form's, a
# terminal's) breaks between values; without them the body was folded inside names and numbers at 80 columns
SHOWN = (", ", ": ")


@dataclass
class Call:
    form: str
    text: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _values(arr: np.ndarray) -> list:
    flat = arr.reshape(-1)
    if arr.dtype == np.object_:
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in flat]
    if arr.dtype.kind == "b":
        return [bool(v) for v in flat]
    if arr.dtype.kind in "iu":
        return [int(v) for v in flat]
    return [float(v) for v in flat.astype(np.float64)]


def _json_safe(plans: list[InputPlan]) -> bool:
    for p in plans:
        if p.array.dtype == np.object_:
            try:
                for v in p.array.reshape(-1):
                    if isinstance(v, bytes):
                        v.decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


def request_json(plans: list[InputPlan], outputs: list[str], binary: list[str] = (), sequence=None) -> dict:
    """The KServe v2 JSON body of the request (``binary``: outputs asked for in the binary extension;
    ``sequence``: a transport.Sequence, sent as Triton's request parameters)."""
    body = {} if sequence is None else {"parameters": _sequence_parameters(sequence)}
    return body | {
        "inputs": [
            {"name": p.name, "shape": list(p.shape), "datatype": p.datatype, "data": _values(p.array)}
            for p in plans
        ],
        "outputs": [
            {"name": n, "parameters": {"binary_data": True}} if n in binary else {"name": n} for n in outputs
        ],
    }


def _sequence_parameters(sequence) -> dict:
    params = {"sequence_id": sequence.id}
    if sequence.start:
        params["sequence_start"] = True
    if sequence.end:
        params["sequence_end"] = True
    return params


def _free(directory: Path | None, name: str) -> Path:
    """A path in ``directory`` (else the current one) that does not exist yet: nothing is written over."""
    directory = directory or Path.cwd()
    path = directory / name
    stem, suffix, n = path.stem, path.suffix, 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}{suffix}"
    return path


def _write(directory: Path | None, name: str, data: bytes, what: str) -> Path:
    if directory is None:
        raise ConsoleError(
            f"the {what} is {len(data) / 1024:.0f} KiB: pass --save DIR for its data files",
            exit_code=EXIT_USAGE,
            code=NEEDS_FOLDER,
        )
    from triton_console.common import fsutil

    directory.mkdir(parents=True, exist_ok=True)
    path = _free(directory, name)
    fsutil.write_bytes(path, data)
    return path


def _http_base(endpoint: Endpoint) -> tuple[str, list[str]]:
    notes = []
    if endpoint.protocol == "http":
        return str(endpoint), notes
    port = endpoint.port - 1
    notes.append(
        f"HTTP assumed at port {port} (Triton's layout: HTTP = gRPC - 1); change it if yours differs"
    )
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    return f"{'https' if endpoint.ssl else 'http'}://{host}:{port}", notes


def _header_args(conn: Connection) -> tuple[list[str], list[str]]:
    """curl -H arguments (as shell text) for the connection's headers, without their values."""
    args, notes = [], []
    for name in conn.headers.names:
        var = conn.headers.env.get(name)
        if var:
            args.append(f'-H "{name}: ${{{var}}}"')
        else:
            args.append("-H " + shlex.quote(f"{name}: <value>"))
            notes.append(f"fill in the value of header {name} (not written here)")
    return args, notes


def curl_stream(conn: Connection, endpoint: Endpoint, model: str, plans, directory=None) -> Call:
    """A decoupled model over HTTP: ``generate_stream`` (server-sent events; -N prints each as it comes)."""
    from triton_console.tui.core.client.transport import InputTensor, generate_body, generate_fits

    tensors = [InputTensor(p.name, p.datatype, p.array) for p in plans]
    why = generate_fits(tensors)
    if why:
        raise ConsoleError(
            f"--show-call curl: {model} is decoupled and {why}, so it has no generate_stream form; "
            "use --show-call python (the gRPC stream)",
            exit_code=EXIT_USAGE,
        )
    base, notes = _http_base(endpoint)
    headers, more = _header_args(conn)
    body = json.dumps(generate_body(tensors), separators=SHOWN)
    if len(body) <= INLINE:
        data, files = f"-d {shlex.quote(body)}", []
    else:
        path = _write(directory, f"{model}.generate.json", body.encode(), "request")
        data, files = f"-d @{shlex.quote(str(path))}", [path]
    tls = [f"--cacert {shlex.quote(conn.tls.root_certs)}"] if endpoint.ssl and conn.tls.root_certs else []
    url = f"{base}/v2/models/{model}/generate_stream"
    parts = ["curl -s -N -X POST", shlex.quote(url), *headers, *tls, data]
    notes.append(
        "each response arrives as one 'data: {...}' event, output names as keys; the stream ends after the last"
    )
    return Call("curl", " \\\n  ".join(parts), files, notes + more)


def curl(
    conn: Connection,
    endpoint: Endpoint,
    model: str,
    plans,
    outputs,
    directory=None,
    datatypes=None,
    sequence=None,
) -> Call:
    base, notes = _http_base(endpoint)
    url = f"{base}/v2/models/{model}/infer"
    headers, more = _header_args(conn)
    notes += more
    datatypes = datatypes or {}
    tls = []
    if endpoint.ssl and conn.tls.root_certs:
        tls.append(f"--cacert {shlex.quote(conn.tls.root_certs)}")
    if endpoint.ssl and conn.tls.insecure:
        tls.append("--insecure")
    files = []
    binary_out = [n for n in outputs if datatypes.get(n) in ("FP16", "BF16")]
    response = []
    if binary_out:  # Triton's JSON cannot carry FP16/BF16 outputs: they come back in the binary extension
        path = _free(directory, f"{model}.response.bin")
        response = ["-D -", f"-o {shlex.quote(str(path))}"]
        notes.append(
            f"{', '.join(binary_out)} cannot travel as JSON: the response (in {path.name}) is the v2 binary extension "
            "— Inference-Header-Content-Length bytes of JSON (header shown above), then the raw tensors"
        )
    if _json_safe(plans):
        body = json.dumps(request_json(plans, outputs, binary_out, sequence), separators=SHOWN)
        if len(body) <= INLINE:
            data = f"-d {shlex.quote(body)}"
        else:
            path = _write(directory, f"{model}.request.json", body.encode(), "request")
            files.append(path)
            data = f"-d @{shlex.quote(str(path))}"
        ctype = "-H 'Content-Type: application/json'"
    else:  # BYTES that are not text: the v2 binary tensor extension (a JSON header, then raw bytes)
        head = {
            **({"parameters": _sequence_parameters(sequence)} if sequence is not None else {}),
            "inputs": [
                {
                    "name": p.name,
                    "shape": list(p.shape),
                    "datatype": p.datatype,
                    "parameters": {"binary_data_size": _raw_size(p)},
                }
                for p in plans
            ],
            "outputs": [{"name": n, "parameters": {"binary_data": n in binary_out}} for n in outputs],
        }
        header = json.dumps(head, separators=(",", ":")).encode()
        path = _write(
            directory, f"{model}.request.bin", header + b"".join(raw_bytes(p.array) for p in plans), "request"
        )
        files.append(path)
        data = f"--data-binary @{shlex.quote(str(path))}"
        ctype = (
            f"-H 'Inference-Header-Content-Length: {len(header)}' -H 'Content-Type: application/octet-stream'"
        )
        notes.append("BYTES data that is not text travels in the v2 binary tensor extension")
    parts = ["curl -s -X POST", shlex.quote(url), ctype, *headers, *tls, data, *response]
    return Call("curl", " \\\n  ".join(parts), files, notes)


def _raw_size(p: InputPlan) -> int:
    return len(raw_bytes(p.array))


def python(
    conn: Connection,
    endpoint: Endpoint,
    model: str,
    plans,
    outputs,
    directory=None,
    streaming=False,
    sequence=None,
) -> Call:
    """``streaming``: the gRPC stream (start_stream/async_stream_infer), printing each response as it comes
    until the final flag; it is gRPC-only, so an HTTP endpoint is written as gRPC on Triton's port layout."""
    swapped = streaming and endpoint.protocol != "grpc"
    if swapped:
        from dataclasses import replace

        endpoint = replace(endpoint, protocol="grpc", port=endpoint.port + 1)
    mod = "tritonclient.grpc" if endpoint.protocol == "grpc" else "tritonclient.http"
    kw = []
    if endpoint.ssl:
        kw.append("ssl=True")
        if endpoint.protocol == "grpc":
            for arg, path in (
                ("root_certificates", conn.tls.root_certs),
                ("private_key", conn.tls.client_key),
                ("certificate_chain", conn.tls.client_cert),
            ):
                if path:
                    kw.append(f"{arg}={path!r}")
        elif conn.tls.insecure:
            kw.append("insecure=True")
    lines = [
        "import json",
        "import os",
        "",
        "import numpy as np",
        f"import {mod} as tc",
        "",
        f"client = tc.InferenceServerClient({endpoint.url!r}{', ' + ', '.join(kw) if kw else ''})",
        "inputs = []",
    ]
    files, notes = [], []
    inline_budget = INLINE
    for p in plans:
        var = "x"
        dtype = _np_name(p)
        size = p.array.nbytes if p.array.dtype != np.object_ else sum(len(v) for v in p.array.reshape(-1))
        if size * 3 <= inline_budget and (p.array.dtype != np.object_ or _json_safe([p])):
            inline_budget -= size * 3
            values = _values(p.array)
            if p.array.dtype == np.object_:
                lines.append(
                    f"{var} = np.array({[v.encode() for v in values]!r}, dtype=np.object_).reshape({list(p.shape)})"
                )
            else:
                lines.append(f"{var} = np.array({values!r}, dtype={dtype}).reshape({list(p.shape)})")
        else:
            import io

            buf = io.BytesIO()
            np.save(buf, p.array, allow_pickle=p.array.dtype == np.object_)
            path = _write(directory, f"{_safe(p.name)}.npy", buf.getvalue(), f"data of input {p.name}")
            files.append(path)
            lines.append(f"{var} = np.load({str(path)!r}, allow_pickle={p.array.dtype == np.object_})")
        lines.append(f"i = tc.InferInput({p.name!r}, list({var}.shape), {p.datatype!r})")
        lines.append(
            f"i.set_data_from_numpy({var}{', binary_data=True' if endpoint.protocol == 'http' else ''})"
        )
        lines.append("inputs.append(i)")
    headers = {}
    for name in conn.headers.names:
        var = (conn.headers.env).get(name)
        headers[name] = f"os.environ[{var!r}]" if var else "'<value>'"
        if not var:
            notes.append(f"fill in the value of header {name} (not written here)")
    header_text = "{" + ", ".join(f"{k!r}: {v}" for k, v in headers.items()) + "}" if headers else "None"
    seq = (
        f", sequence_id={sequence.id!r}, sequence_start={sequence.start}, sequence_end={sequence.end}"
        if sequence is not None
        else ""
    )
    if streaming:
        lines[2:2] = ["import queue", "import time"]
        lines += [
            "",
            "def values(a):",
            "    return [v.decode('utf-8', 'replace') if isinstance(v, bytes) else v for v in a.reshape(-1).tolist()]",
            "",
            "responses = queue.Queue()",
            f"client.start_stream(lambda result, error: responses.put((time.perf_counter(), result, error)), headers={header_text})",
            "start = time.perf_counter()",
            f"client.async_stream_infer({model!r}, inputs, outputs=[tc.InferRequestedOutput(n) for n in {list(outputs)!r}],"
            f" enable_empty_final_response=True{seq})",
            "try:",
            "    while True:",
            "        at, result, error = responses.get()",
            "        if error is not None:",
            "            raise SystemExit(f'error: {error}')",
            "        response = result.get_response()",
            "        if response.outputs:",
            "            outs = {o.name: values(result.as_numpy(o.name)) for o in response.outputs}",
            "            print(f'{(at - start) * 1000:.1f} ms', json.dumps(outs))",
            "        if response.parameters['triton_final_response'].bool_param:",
            "            break",
            "finally:",
            "    client.stop_stream(cancel_requests=True)",
        ]
        notes.append(
            "decoupled models answer only on the gRPC stream: one callback per response, then the final flag"
        )
        if swapped:
            notes.append(f"gRPC assumed at port {endpoint.port} (Triton's layout: HTTP + 1)")
        return Call("python", "\n".join(lines), files, notes)
    lines += [
        f"outputs = [tc.InferRequestedOutput(n) for n in {list(outputs)!r}]",
        f"result = client.infer({model!r}, inputs, outputs=outputs, headers={header_text}{seq})",
        "",
        "def values(a):",
        "    return [v.decode('utf-8', 'replace') if isinstance(v, bytes) else v for v in a.reshape(-1).tolist()]",
        "",
        f"print(json.dumps({{n: values(result.as_numpy(n)) for n in {list(outputs)!r}}}))",
    ]
    return Call("python", "\n".join(lines), files, notes)


def _np_name(p: InputPlan) -> str:
    if p.datatype == "BF16":
        return "__import__('ml_dtypes').bfloat16"
    if p.array.dtype == np.object_:
        return "np.object_"
    return "np.bool_" if p.array.dtype.kind == "b" else f"np.{p.array.dtype.name}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "input"


def input_data(tensors, batched: bool) -> tuple[dict, dict[str, tuple[int, ...]]]:
    """One entry of perf_analyzer's --input-data JSON for tensors (anything with .name and .array), and the
    shape of each without the batch dimension (for its --shape flags)."""
    entry, dims = {}, {}
    for p in tensors:
        one = p.array[0] if batched else p.array
        if p.array.dtype == np.object_:
            raw = [v if isinstance(v, bytes) else str(v).encode() for v in one.reshape(-1)]
            if all(_utf8(v) for v in raw):
                entry[p.name] = {"content": [v.decode() for v in raw], "shape": list(one.shape)}
            else:  # perf_analyzer sends b64 data as the tensor's wire bytes: a 4-byte length before each element
                from tritonclient.utils import serialize_byte_tensor

                wire = serialize_byte_tensor(np.array(raw, dtype=np.object_)).item()
                entry[p.name] = {"b64": base64.b64encode(wire).decode(), "shape": list(one.shape)}
        else:
            entry[p.name] = {"content": _values(one), "shape": list(one.shape)}
        dims[p.name] = tuple(one.shape)
    return entry, dims


def perf_analyzer(
    conn: Connection,
    endpoint: Endpoint,
    model: str,
    plans,
    outputs,
    directory=None,
    batched=False,
    streaming=False,
) -> Call:
    """perf_analyzer's own input-data JSON (one request's worth, without the batch dimension)."""
    entry, dims = input_data(plans, batched)
    shapes = [f"--shape {shlex.quote(name)}:{','.join(map(str, d))}" for name, d in dims.items()]
    data = json.dumps({"data": [entry]}).encode()
    if directory is None:  # never the current folder: it is the user's (and a run is no request to write)
        raise ConsoleError(
            f"perf_analyzer reads its input data ({len(data) / 1024:.0f} KiB) from a file: "
            "pass --save DIR for it",
            exit_code=EXIT_USAGE,
            code=NEEDS_FOLDER,
        )
    path = _write(directory, f"{model}.perf_analyzer.json", data, "input data")
    notes = []
    if streaming and endpoint.protocol != "grpc":
        from dataclasses import replace

        endpoint = replace(endpoint, protocol="grpc", port=endpoint.port + 1)
        notes.append(
            f"--streaming is gRPC only: gRPC assumed at port {endpoint.port} (Triton's layout: HTTP + 1)"
        )
    url = endpoint.url
    args = [
        "perf_analyzer",
        f"-m {shlex.quote(model)}",
        f"-u {shlex.quote(url)}",
        f"-i {endpoint.protocol}",
        *(["--streaming"] if streaming else []),
        f"--input-data {shlex.quote(str(path))}",
        *shapes,
        f"-b {plans[0].shape[0] if batched and plans else 1}",
        "--concurrency-range 1:8:2",
    ]
    if endpoint.ssl and endpoint.protocol == "grpc":
        args.append("--ssl-grpc-use-ssl")
        if conn.tls.root_certs:
            args.append(f"--ssl-grpc-root-certifications-file {shlex.quote(conn.tls.root_certs)}")
    for name in conn.headers.names:
        var = (conn.headers.env).get(name)
        args.append(f'-H "{name}:${{{var}}}"' if var else "-H " + shlex.quote(f"{name}:<value>"))
        if not var:
            notes.append(f"fill in the value of header {name} (not written here)")
    return Call("perf_analyzer", " \\\n  ".join(args), [path], notes)


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def make(
    form: str,
    conn: Connection,
    endpoint: Endpoint,
    model: str,
    plans,
    outputs,
    directory=None,
    batched=False,
    datatypes=None,
    streaming=False,
    sequence=None,
    spill=False,
) -> Call:
    """``outputs``: names in order; ``datatypes``: output name → datatype (FP16 needs the binary extension);
    ``streaming``: the model is decoupled (the streaming form of each call); ``sequence``: a transport.Sequence.

    Data too large to write inline goes to ``directory``; without one, ``spill`` puts it in a new temporary
    folder (named in the call's notes) where it would otherwise be refused: the request itself succeeded.
    """
    args = (form, conn, endpoint, model, plans, outputs)
    rest = (batched, datatypes, streaming, sequence)
    try:
        return _make(*args, directory, *rest)
    except ConsoleError as exc:
        if not (spill and directory is None and exc.code == NEEDS_FOLDER):
            raise
    import tempfile

    _prune_spills(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX))
    call = _make(*args, folder, *rest)
    why = (
        "perf_analyzer reads its input data from a file"
        if form == "perf_analyzer"
        else "the call's data is too large to show inline"
    )
    call.notes.append(f"{why}: its files are in {folder} (kept a day, for the call to run after the console)")
    return call


SPILL_KEPT_S = 24 * 3600


def _prune_spills(tmp: Path) -> None:
    """Spilled calls' folders older than a day, removed when the next is made. They must outlive the console
    (the copied call names them), so none is removed at exit; "temporary" alone left them in /tmp for good."""
    import shutil
    import time

    now = time.time()
    for folder in tmp.glob(f"{SPILL_PREFIX}*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > SPILL_KEPT_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _make(
    form, conn, endpoint, model, plans, outputs, directory, batched, datatypes, streaming=False, sequence=None
) -> Call:
    if form == "curl":
        if streaming:
            return curl_stream(conn, endpoint, model, plans, directory)
        return curl(conn, endpoint, model, plans, outputs, directory, datatypes, sequence)
    if form == "python":
        return python(conn, endpoint, model, plans, outputs, directory, streaming, sequence)
    if form == "perf_analyzer":
        return perf_analyzer(conn, endpoint, model, plans, outputs, directory, batched, streaming)
    raise ConsoleError(f"--show-call must be one of {', '.join(FORMS)}, not {form!r}")
