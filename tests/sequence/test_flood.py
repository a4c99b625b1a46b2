"""A server that floods the probe: per-probe memory stays under the stated bound, and the
flood is classified (``Signal.FLOOD``), never buffered until a timeout.

After Client Info the prober ignores fast-path PDUs; one 64 KiB read can hold 32 768 of them
(2 bytes each). They are handed to the handlers however they are segmented, up to
``MAX_FRAMES_PER_CONNECTION``, and the receive buffer never holds more than
``MAX_BUFFERED_INPUT``: in the sans-IO prober, and through a real socket via the mock.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

import rdpprobe
from rdpprobe.mock import MockRdpServer
from rdpprobe.mock.faults import Action, Fault, ServerPhase
from rdpprobe.mock.scenarios import builtin_scenarios
from rdpprobe.sequence import prober as prober_module
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import MAX_BUFFERED_INPUT, MAX_FRAMES_PER_CONNECTION, Prober
from rdpprobe.signals import Signal
from rdpprobe.transport import blocking
from tests.recording import instances_of
from tests.sequence.replay import Recording, record, seeded_rng

#: [MS-RDPBCGR] 2.2.9.1.2: a fast-path update PDU header (action 0) with a one-byte length of 2.
FASTPATH_PDU = b"\x00\x02"
READ_SIZE = 65536
FLOOD_READ = FASTPATH_PDU * (READ_SIZE // len(FASTPATH_PDU))
#: Reads of flood the tests send; today's prober handled 256 frames of each and kept the rest.
FLOOD_READS = 40
LATER = (Phase.LICENSING, Phase.CAPABILITIES_EXCHANGE)


@functools.cache
def _tls_logon() -> Recording:
    return record("windows-tls")


def _after_client_info(recording: Recording) -> tuple[Prober, float]:
    """A prober fed the recorded conversation until it waits for the server after Client Info."""
    prober = Prober(recording.target, recording.config, now=0.0, started_at=recording.result.started_at,
                    rng=seeded_rng())
    for kind, value, now in recording.events:
        if kind == "resolved":
            prober.resolved(value, now)
        elif kind == "connected":
            prober.connection_made(now)
        elif kind == "tls":
            prober.tls_established(value, now)
        elif kind == "data":
            prober.receive_data(value, now)
        while prober.next_action() is not None:
            pass
        if prober._state.phase in LATER:  # noqa: SLF001 - where the flood is fed
            return prober, now
    raise AssertionError("the recording never got past Client Info")


def test_a_fast_path_flood_after_client_info_is_classified_within_the_bound() -> None:
    prober, now = _after_client_info(_tls_logon())
    largest = 0
    for i in range(FLOOD_READS):
        prober.receive_data(FLOOD_READ, now + i * 0.01)
        largest = max(largest, len(prober._buffer))  # noqa: SLF001 - the bound under test
        if prober.finished:
            break
    assert prober.finished, "a flood must end the probe, not wait for the phase timeout"
    assert largest <= MAX_BUFFERED_INPUT
    result = prober.result
    assert result.signal is Signal.FLOOD and result.failed_phase in LATER
    assert result.verdict.category == "protocol_error" and result.verdict.taxonomy_id


@pytest.mark.parametrize("segment", [2, 1000, READ_SIZE])
def test_the_frame_bound_does_not_depend_on_segmentation(segment: int) -> None:
    """The same flood in 2-byte, 1000-byte or 64 KiB reads ends at the same frame."""
    prober, now = _after_client_info(_tls_logon())
    stream = FASTPATH_PDU * (MAX_FRAMES_PER_CONNECTION + 1)
    allowed = MAX_FRAMES_PER_CONNECTION - prober._frames  # noqa: SLF001 - the conversation's own frames
    over_at = (allowed + 1) * len(FASTPATH_PDU)  # the end of the first frame past the bound
    fed = 0
    while fed < len(stream) and not prober.finished:
        prober.receive_data(stream[fed : fed + segment], now)
        fed += segment
    assert prober.result.signal is Signal.FLOOD
    assert fed - segment < over_at <= fed  # the read holding that frame ended the probe


def test_more_unconsumed_input_than_the_bound_is_a_flood() -> None:
    """A driver handing over more than the bound at once: refused, not copied."""
    prober, now = _after_client_info(_tls_logon())
    half_frame = b"\x03\x00\xff\xff" + bytes(READ_SIZE - 8)  # a TPKT header announcing 65535
    prober.receive_data(half_frame, now)
    assert not prober.finished
    prober.receive_data(bytes(MAX_BUFFERED_INPUT), now)
    assert prober.result.signal is Signal.FLOOD
    assert len(prober._buffer) == 0  # noqa: SLF001


class _Measured(Prober):
    """A prober that notes the largest receive buffer it held."""

    __slots__ = ("largest",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.largest = 0

    def receive_data(self, data: bytes, now: float) -> None:
        super().receive_data(data, now)
        self.largest = max(self.largest, len(self._buffer))


def test_a_flood_through_a_real_socket_is_classified_and_bounded() -> None:
    """The mock answers Client Info with 4 MiB of 2-byte fast-path PDUs over TLS."""
    flood = Fault(ServerPhase.LICENSING, Action.GARBAGE, {"hex": FLOOD_READ.hex(), "repeat": 64})
    scenario = builtin_scenarios()["windows-tls"].with_faults(flood)
    with MockRdpServer(scenario) as server, instances_of(blocking, "Prober", _Measured) as made:
        host, port = server.address
        result = rdpprobe.probe(host, port, timeout=4.0, deadline=8.0)
    assert result.signal is Signal.FLOOD, (result.signal, result.detail)
    assert result.failed_phase in LATER
    assert made and max(p.largest for p in made) <= MAX_BUFFERED_INPUT


def test_the_bound_is_the_one_the_readme_states() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"{MAX_BUFFERED_INPUT // 1024} KiB" in readme
    assert f"{MAX_FRAMES_PER_CONNECTION} PDUs" in readme
    assert prober_module.MAX_BUFFERED_INPUT == MAX_BUFFERED_INPUT
