"""make bench's temporary folders (a built repository each) are gone when it exits."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scratch_folders_removed_at_exit() -> None:
    code = (
        "from benchmarks.run import scratch; from pathlib import Path\n"
        "p = Path(scratch('tc-bench-test-')); (p / 'repo').mkdir(); (p / 'repo' / 'f').write_text('x'); print(p)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.name.startswith("tc-bench-test-")
    assert not path.exists()
