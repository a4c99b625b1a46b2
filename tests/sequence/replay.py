"""Record what a mock server sends a real probe, then replay it, changed, to a fresh prober.

A recording is every call the blocking driver made on its ``Prober`` (resolved, connected,
the plaintext it received, the TLS outcome, timers, failures), with the time of each since
the probe began. The client's randomness is a seeded generator in both runs, so the client
random, the NTLM client challenge and the keys of Standard RDP Security come out the same:
a replay of the unchanged events reaches the recorded result, and a replay of changed events
meets the changed bytes where a real server would have put them, at every phase.

Replays are sans-IO: no socket, no TLS, no clock. A ``tls`` event is given only while the
prober is waiting for one, as a driver would (a changed Connection Confirm may not ask for
TLS at all).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rdpprobe.api import build
from rdpprobe.demo import probe_options
from rdpprobe.mock import MockRdpServer
from rdpprobe.mock.scenarios import builtin_scenarios
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.actions import StartTls
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.prober import Prober
from rdpprobe.transport import blocking
from tests.recording import instances_of

#: The client's random bytes in a recording and in its replays.
RNG_SEED = 7
#: Far past any deadline a probe has: the last event of every replay.
THE_END = 1e6

#: One driver call: its kind, its argument (bytes for ``data``), seconds since the start.
Event = tuple[str, Any, float]


@dataclass(frozen=True)
class Recording:
    scenario: str
    target: Target
    config: ProbeConfig
    events: tuple[Event, ...]
    result: ProbeResult


def seeded_rng() -> Callable[[int], bytes]:
    return random.Random(RNG_SEED).randbytes


class _RecordingProber(Prober):
    """A ``Prober`` that notes every driver call, with a seeded generator for its randomness."""

    __slots__ = ("events", "origin")

    def __init__(self, target: Target, config: ProbeConfig, *, now: float, started_at: datetime,
                 rng: Callable[[int], bytes], deadline_at: float | None = None) -> None:
        super().__init__(target, config, now=now, started_at=started_at, rng=seeded_rng(), deadline_at=deadline_at)
        self.events: list[Event] = []
        self.origin = now

    def _note(self, kind: str, value: Any, now: float) -> None:
        self.events.append((kind, value, now - self.origin))

    def resolved(self, address: str, now: float) -> None:
        self._note("resolved", address, now)
        super().resolved(address, now)

    def connection_made(self, now: float) -> None:
        self._note("connected", None, now)
        super().connection_made(now)

    def failed(self, observed: Any, now: float) -> None:
        self._note("failed", observed, now)
        super().failed(observed, now)

    def tls_established(self, info: Any, now: float) -> None:
        self._note("tls", info, now)
        super().tls_established(info, now)

    def receive_data(self, data: bytes, now: float) -> None:
        self._note("data", data, now)
        super().receive_data(data, now)

    def handle_timer(self, now: float) -> None:
        self._note("timer", None, now)
        super().handle_timer(now)


def record(scenario: str, **options: Any) -> Recording:
    """One connection of a probe to the built-in ``scenario``, as the demo would probe it
    (credentials and full logon where the scenario needs them), ``options`` on top."""
    chosen = builtin_scenarios()[scenario]
    with MockRdpServer(chosen) as server, instances_of(blocking, "Prober", _RecordingProber) as made:
        host, port = server.address
        target, config, _ = build(f"{host}:{port}", None, {**probe_options(chosen), **options})
        result = blocking.run(target, config)
    return Recording(scenario, target, config, tuple(made[-1].events), result)


def replay(recording: Recording, events: list[Event] | tuple[Event, ...]) -> ProbeResult:
    """Drive a fresh prober through ``events``, then past every deadline; its result."""
    prober = Prober(recording.target, recording.config, now=0.0, started_at=recording.result.started_at,
                    rng=seeded_rng())
    awaiting_tls = False
    for kind, value, now in events:
        if kind == "tls" and not (awaiting_tls and not prober.finished):
            continue
        _DELIVER[kind](prober, value, now)
        awaiting_tls = (awaiting_tls and kind != "tls") or _asks_for_tls(prober)
    prober.handle_timer(THE_END)
    _asks_for_tls(prober)
    return prober.result


def _asks_for_tls(prober: Prober) -> bool:
    """Drain the prober's actions; whether one of them was StartTls."""
    asked = False
    while (action := prober.next_action()) is not None:
        asked = asked or isinstance(action, StartTls)
    return asked


_DELIVER: dict[str, Callable[[Prober, Any, float], None]] = {
    "resolved": lambda p, value, now: p.resolved(value, now),
    "connected": lambda p, _value, now: p.connection_made(now),
    "failed": lambda p, value, now: p.failed(value, now),
    "tls": lambda p, value, now: p.tls_established(value, now),
    "data": lambda p, value, now: p.receive_data(value, now),
    "timer": lambda p, _value, now: p.handle_timer(now),
}
