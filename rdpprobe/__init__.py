"""rdpprobe: walk an RDP server through the connection sequence and say where and why it fails."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from rdpprobe.api import aprobe, probe
    from rdpprobe.many import aprobe_many, probe_many
    from rdpprobe.result import ProbeResult, Verdict
    from rdpprobe.sequence.phases import Phase
    from rdpprobe.signals import Signal

__all__ = ["Phase", "ProbeResult", "Signal", "Verdict", "__version__", "aprobe", "aprobe_many", "probe", "probe_many"]

# The public names load on first access (PEP 562): ``import rdpprobe.cli`` or
# ``import rdpprobe.scan_cli`` then pays only for what the command runs.
_LAZY = {
    "Phase": "rdpprobe.sequence.phases",
    "ProbeResult": "rdpprobe.result",
    "Signal": "rdpprobe.signals",
    "Verdict": "rdpprobe.result",
    "aprobe": "rdpprobe.api",
    "probe": "rdpprobe.api",
    "aprobe_many": "rdpprobe.many",
    "probe_many": "rdpprobe.many",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # Cached: later lookups skip this function.
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
