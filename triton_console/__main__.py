"""``python -m triton_console``: the same as the ``triton-console`` command."""

import sys

from triton_console.tui.cli import main

sys.exit(main())
