"""rdpprobe: walk an RDP server through the connection sequence and say where and why it fails."""

from __future__ import annotations

__version__ = "0.1.0"

from rdpprobe.api import aprobe, probe
from rdpprobe.result import ProbeResult, Verdict
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

__all__ = ["Phase", "ProbeResult", "Signal", "Verdict", "__version__", "aprobe", "probe"]
