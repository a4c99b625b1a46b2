"""A hostile client against the mock server: a real probe's bytes, recorded, changed, replayed.

Test authors point their own clients at the mock, and a client under test sends what it
sends. The acceptor's rule is that a peer's malformed input never escapes as an exception:
it notes the error and drops the connection, as a server should ([MS-RDPBCGR] 3.3.5.3.1).
These tests record what the acceptor received from rdpprobe on the TLS, NLA (with a full
logon) and Standard RDP Security paths, with its randomness and clock fixed so that a replay
reaches the recorded state, then change those bytes (``tests.strategies.mutations``).
"""

from __future__ import annotations

import functools
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.api import probe
from rdpprobe.demo import probe_options
from rdpprobe.mock import server as mock_server
from rdpprobe.mock.acceptor import Acceptor, Record
from rdpprobe.mock.faults import ServerPhase
from rdpprobe.mock.nla import DEFAULT_PASSWORD, DEFAULT_USER
from rdpprobe.mock.scenarios import Scenario, builtin_scenarios
from rdpprobe.mock.states import State
from tests.recording import instances_of
from tests.strategies import mutations

#: The server's randomness and clock, the same in a recording and its replays.
RNG_SEED = 3
NOW = 1_700_000_000.0
#: Scenarios and how rdpprobe is asked to probe them: every path the acceptor serves.
PROBES: dict[str, dict[str, Any]] = {
    "windows-tls": {},
    "windows-nla": {"user": DEFAULT_USER, "password": DEFAULT_PASSWORD, "full_logon": True},
    "windows-negotiate": {},
    "windows-rdp-security": {"protocols": "RDP"},
    "windows-rdp-fips": {"protocols": "RDP"},
    "legacy-no-negotiation": {"protocols": "RDP"},
    "xrdp-like": {},
    "errinfo-fresh-credentials": {},
}
Event = tuple[str, bytes]


def _acceptor(scenario: Scenario, credentials: Any = None) -> Acceptor:
    return Acceptor(scenario, credentials, rng=random.Random(RNG_SEED).randbytes, clock=lambda: NOW)


class _RecordingAcceptor(Acceptor):
    """An ``Acceptor`` with fixed randomness and clock that notes what its driver gave it,
    and where each input left it (the server's own shutdown adds to its notes later)."""

    def __init__(self, scenario: Scenario, credentials: Any = None, **_ignored: Any) -> None:
        super().__init__(scenario, credentials, rng=random.Random(RNG_SEED).randbytes, clock=lambda: NOW)
        self.events: list[Event] = []
        self.after: Record = self.record()

    def _noted(self, kind: str, data: bytes, steps: list[Any]) -> list[Any]:
        self.events.append((kind, data))
        self.after = self.record()
        return steps

    def on_connect(self) -> list[Any]:
        return self._noted("connect", b"", super().on_connect())

    def receive(self, data: bytes) -> list[Any]:
        return self._noted("data", data, super().receive(data))

    def tls_established(self) -> list[Any]:
        return self._noted("tls", b"", super().tls_established())


@functools.cache
def _recorded() -> dict[str, tuple[Scenario, tuple[Event, ...], Record]]:
    """Per scenario: what the acceptor received from one probe, and where it ended."""
    out = {}
    for name, options in PROBES.items():
        scenario = builtin_scenarios()[name]
        recording = instances_of(mock_server, "Acceptor", _RecordingAcceptor)
        with recording as made, mock_server.MockRdpServer(scenario) as server:
            host, port = server.address
            probe(f"{host}:{port}", **{**probe_options(scenario), **options})
        acceptor = made[-1]
        out[name] = (scenario, tuple(acceptor.events), acceptor.after)
    return out


def _replay(scenario: Scenario, events: list[Event] | tuple[Event, ...]) -> Acceptor:
    """A fresh acceptor driven through ``events``; TLS completes only where it was started."""
    acceptor = _acceptor(scenario)
    for kind, data in events:
        if kind == "connect":
            acceptor.on_connect()
        elif kind == "data":
            acceptor.receive(data)
        elif acceptor.state is State.TLS_HANDSHAKE:
            acceptor.tls_established()
    return acceptor


def _end(acceptor: Acceptor) -> tuple[object, ...]:
    record = acceptor.record()
    return record.phase_reached, record.state, record.notes, record.authenticated_user


def test_replays_reach_the_recorded_state() -> None:
    for name, (scenario, events, record) in _recorded().items():
        replayed = _replay(scenario, events)
        assert _end(replayed) == (record.phase_reached, record.state, record.notes, record.authenticated_user), name
    reached = {record.phase_reached for _, _, record in _recorded().values()}
    assert ServerPhase.CAPABILITIES_EXCHANGE in reached
    assert _recorded()["windows-nla"][2].authenticated_user == DEFAULT_USER


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(PROBES)), st.lists(st.integers(1, 600), min_size=1, max_size=8))
def test_the_same_bytes_in_other_pieces_reach_the_same_state(name: str, sizes: list[int]) -> None:
    """Each frame the client sent, handed over in pieces of ``sizes`` (in turn)."""
    scenario, events, _ = _recorded()[name]
    pieces: list[Event] = []
    for kind, data in events:
        if kind != "data" or not data:
            pieces.append((kind, data))
            continue
        at, turn = 0, 0
        while at < len(data):
            pieces.append(("data", data[at : at + sizes[turn % len(sizes)]]))
            at, turn = at + sizes[turn % len(sizes)], turn + 1
    assert _end(_replay(scenario, pieces)) == _end(_replay(scenario, events))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PROBES)), mutations.CHANGES)
def test_a_hostile_client_never_breaks_the_acceptor(name: str, changes: list[tuple[int, tuple[Any, ...]]]) -> None:
    scenario, events, _ = _recorded()[name]
    acceptor = _replay(scenario, mutations.changed(events, changes))  # Raises on a broken rule.
    record = acceptor.record()
    assert record.state is State.CLOSED or not any(note.startswith("protocol error") for note in record.notes)
