"""triton-console: a terminal console for NVIDIA Triton Inference Server (and any KServe v2 server)."""

import os as _os

# gRPC's C core logs to stderr (TLS handshake failures, reconnects): over a full-screen console that text
# would draw across the screen, and the CLI says the same in one line. Users can still set it themselves.
_os.environ.setdefault("GRPC_VERBOSITY", "NONE")
