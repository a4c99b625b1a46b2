"""``python -m rdpprobe``: the same as the ``rdpprobe`` command."""

import sys

from rdpprobe.cli import main

sys.exit(main())
