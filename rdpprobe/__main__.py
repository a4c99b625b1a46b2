"""``python -m rdpprobe``: the same as the ``rdpprobe`` command."""

import sys

from rdpprobe.cli import main

if __name__ == "__main__":  # Not when a worker process of ``scan --workers`` imports it.
    sys.exit(main())
