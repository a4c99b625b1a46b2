"""rdpprobe: walk an RDP server through the connection sequence and say where and why it fails."""

from __future__ import annotations

__version__ = "0.1.0"
