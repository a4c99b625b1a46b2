"""rdpprobe: walk an RDP server through the connection sequence and say where and why it fails."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from rdpprobe.api import ProbeOptions, aprobe, probe
    from rdpprobe.errors import (
        DecodeError, EncodeError, InvalidField, NotEnoughData, ProbeUsageError, RdpProbeError,
        UnexpectedType, UnsupportedVersion,
    )  # fmt: skip
    from rdpprobe.many import ScanOptions
    from rdpprobe.mock.scenarios import ScenarioError, UnknownScenario
    from rdpprobe.scan import OutputError
    from rdpprobe.specs import TargetError
    from rdpprobe.many import aprobe_many, probe_many
    from rdpprobe.result import Finding, ProbeResult, Verdict
    from rdpprobe.sequence.phases import Phase
    from rdpprobe.signals import Signal

#: The exceptions rdpprobe raises on purpose, by module: ``except rdpprobe.ProbeUsageError``.
_EXCEPTIONS = {
    "rdpprobe.errors": (
        "DecodeError", "EncodeError", "InvalidField", "NotEnoughData", "ProbeUsageError",
        "RdpProbeError", "UnexpectedType", "UnsupportedVersion",
    ),
    "rdpprobe.specs": ("TargetError",),
    "rdpprobe.scan": ("OutputError",),
    "rdpprobe.mock.scenarios": ("ScenarioError", "UnknownScenario"),
}  # fmt: skip

__all__ = [
    "DecodeError", "EncodeError", "Finding", "InvalidField", "NotEnoughData", "OutputError", "Phase",
    "ProbeOptions", "ProbeResult", "ProbeUsageError", "RdpProbeError", "ScanOptions",
    "ScenarioError", "Signal", "TargetError", "UnexpectedType", "UnknownScenario",
    "UnsupportedVersion", "Verdict", "__version__", "aprobe", "aprobe_many", "probe", "probe_many",
]  # fmt: skip

# The public names load on first access (PEP 562): ``import rdpprobe.cli`` or
# ``import rdpprobe.scan_cli`` then pays only for what the command runs.
_LAZY = {
    "Finding": "rdpprobe.result",
    "Phase": "rdpprobe.sequence.phases",
    "ProbeResult": "rdpprobe.result",
    "Signal": "rdpprobe.signals",
    "Verdict": "rdpprobe.result",
    "aprobe": "rdpprobe.api",
    "probe": "rdpprobe.api",
    "aprobe_many": "rdpprobe.many",
    "probe_many": "rdpprobe.many",
    "ProbeOptions": "rdpprobe.api",
    "ScanOptions": "rdpprobe.many",
    **{name: module for module, names in _EXCEPTIONS.items() for name in names},
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
