"""A hostile server on a real socket: a valid Connection Confirm, then anything at all.

The sans-IO replay tests (``tests/sequence/test_hostile_replay.py``) change what a real
server says inside the protocol. These send the engine's sockets and TLS pump what no server
should: arbitrary bytes and TLS record headers with any length where the TLS handshake or
the MCS exchange belongs, in any pieces, then a close, a reset or silence. Every probe must
end in a classified result within its deadline.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.engine import Engine, EngineOptions
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.signals import Signal
from rdpprobe.wire import nego
from tests.transport import listeners

LOOPBACK = "127.0.0.1"
TIMEOUTS = Timeouts(connect=1.0, phase=0.3, overall=1.0)
#: How long past its deadline a result may come (a turn of the loop, a slow machine).
SLACK_S = 1.0
#: TLS record content types (RFC 8446 5.1): change_cipher_spec, alert, handshake, data.
RECORD_TYPES = (20, 21, 22, 23)
SELECTIONS = (nego.SecurityProtocol.SSL, nego.SecurityProtocol.HYBRID, nego.SecurityProtocol.RDP)


def _confirm(selected: int) -> bytes:
    return nego.encode_connection_confirm(nego.ConnectionConfirm(nego.NegRsp(selected_protocol=selected)))


def _record_header(kind: int, length: int) -> bytes:
    return bytes([kind, 3, 3]) + length.to_bytes(2, "big")


CHUNKS = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=300),
        st.builds(_record_header, st.sampled_from(RECORD_TYPES), st.integers(0, 0xFFFF)),
    ),
    max_size=6,
)


@dataclass
class Script:
    selected: int
    chunks: list[bytes]
    ending: str  # "close", "reset" or "hold"

    def play(self, conn: socket.socket) -> None:
        """A ``listeners`` behaviour: the Confirm after the Request, the chunks, the ending."""
        conn.recv(4096)  # The Connection Request.
        conn.sendall(_confirm(self.selected))
        for chunk in self.chunks:
            conn.sendall(chunk)
            time.sleep(0.001)
        if self.ending == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.ending == "hold":
            listeners.stay_silent(conn)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, list[Script]]]:
    """One listener for every example: each connection plays the script in the list's one slot."""
    script = [Script(nego.SecurityProtocol.SSL, [], "close")]
    with listeners.listener(lambda conn: script[0].play(conn)) as port:
        yield port, script


def _probe(port: int) -> tuple[list[ProbeResult], float]:
    results: list[ProbeResult] = []
    started = time.monotonic()
    Engine(ProbeConfig(timeouts=TIMEOUTS), EngineOptions(concurrency=1)).run([Target(LOOPBACK, port, LOOPBACK)],
                                                                             results.append)  # fmt: skip
    return results, time.monotonic() - started


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SELECTIONS), CHUNKS, st.sampled_from(["close", "reset", "hold"]))
def test_anything_after_the_confirm_ends_in_a_classified_result(
    server: tuple[int, list[Script]], selected: int, chunks: list[bytes], ending: str
) -> None:
    port, script = server
    script[0] = Script(selected, chunks, ending)
    results, elapsed = _probe(port)
    assert len(results) == 1
    (result,) = results
    assert result.signal is not Signal.INTERNAL_ERROR, result.detail
    assert result.failed_phase is not None and result.verdict.taxonomy_id
    assert elapsed < TIMEOUTS.overall + SLACK_S
