"""The scanner's engine: many probes at once on one thread over non-blocking sockets.

``Engine(config, EngineOptions(...)).run(targets, emit)`` walks every target through
``sequence.plan`` with bounded concurrency, an optional connection rate, a per-target
deadline and TLS through pyOpenSSL (or the stdlib ``ssl`` module), calling ``emit`` with
each ``ProbeResult`` as soon as its target is done.
"""

from rdpprobe.engine.core import Engine, EngineOptions, EngineStats
from rdpprobe.engine.limits import check_rate
from rdpprobe.engine.tlsflavor import TLS_CHOICES

__all__ = ["TLS_CHOICES", "Engine", "EngineOptions", "EngineStats", "check_rate"]
