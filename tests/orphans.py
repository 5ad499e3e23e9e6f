"""The whole suite's leftovers, checked once after every test process has exited (the suite runs in two
pytest workers, so a worker cannot tell the other's live servers from its own orphans).

    python -m tests.orphans record FILE   # before the suite: what of ours was already running
    python -m tests.orphans check FILE    # after it: nothing else of ours may survive (30 s grace)
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers import describe, our_processes, wait_until


def main(argv: list[str]) -> int:
    action, file = argv
    path = Path(file)
    if action == "record":
        path.write_text("\n".join(str(p.pid) for p in our_processes()))
        return 0
    before = {int(x) for x in path.read_text().split()} if path.exists() else set()
    path.unlink(missing_ok=True)
    wait_until(
        lambda: not [p for p in our_processes() if p.pid not in before],
        30,
        "no tritonserver or stub of ours left after the suite",
        show=lambda: describe([p for p in our_processes() if p.pid not in before]),
    )
    print("orphans: none left")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
