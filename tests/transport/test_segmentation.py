"""The same server bytes give the same result through every driver, in any segmentation.

The engine (``scan``, ``probe_many``, over pyOpenSSL or the stdlib), the blocking driver
(``probe``) and the asyncio driver (``aprobe``) share the sans-IO prober, so what differs is
only how bytes reach it: which reads they arrive in, and what the TLS pump makes of them. Two
families of cases pin that down:

- scripted servers: a Connection Confirm selecting TLS and what follows it (an alert, garbage,
  a record header) in one TCP segment or several; bytes in the CC's own segment belong to the
  TLS stream ([MS-RDPBCGR] 5.4.5.1) and must reach the TLS pump;
- a mock server behind a proxy that resets or half-closes at each offset where the recorded
  conversation waits for the client: a reset that meets the client's Finished, a FIN after a
  whole TLS record that meets the client's next write.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator

import pytest

import rdpprobe
from rdpprobe.engine import Engine, EngineOptions
from rdpprobe.engine import poller as poller_module
from rdpprobe.mock import MockRdpServer
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.signals import Signal
from rdpprobe.wire import nego
from tests.transport import faultproxy, listeners

LOOPBACK = "127.0.0.1"
CONNECT_S, PHASE_S, OVERALL_S = 1.0, 0.6, 3.0
OPTIONS = {"connect_timeout": CONNECT_S, "timeout": PHASE_S, "deadline": OVERALL_S, "follow_negotiation": False}
#: Pause between scripted segments, so that each arrives in a read of its own.
SEGMENT_GAP_S = 0.05
#: A fatal handshake_failure alert (RFC 8446 6.2) as a plaintext record.
ALERT = bytes.fromhex("15030300020228")
GARBAGE = bytes(range(0x40, 0x80))
CONFIRM = nego.encode_connection_confirm(nego.ConnectionConfirm(nego.NegRsp(selected_protocol=nego.SecurityProtocol.SSL)))

Run = Callable[[int], ProbeResult]


def _probe(port: int) -> ProbeResult:
    return rdpprobe.probe(LOOPBACK, port, **OPTIONS)


def _aprobe(port: int) -> ProbeResult:
    return asyncio.run(rdpprobe.aprobe(LOOPBACK, port, **OPTIONS))


def _engine(tls: str) -> Run:
    def run(port: int) -> ProbeResult:
        results: list[ProbeResult] = []
        config = ProbeConfig(timeouts=Timeouts(CONNECT_S, PHASE_S, OVERALL_S), follow_negotiation=False)
        Engine(config, EngineOptions(concurrency=1, tls=tls)).run([Target(LOOPBACK, port, LOOPBACK)], results.append)
        assert len(results) == 1
        return results[0]

    return run


DRIVERS: dict[str, Run] = {"probe": _probe, "aprobe": _aprobe, "engine-openssl": _engine("openssl"),
                           "engine-stdlib": _engine("stdlib")}


def _key(result: ProbeResult) -> tuple[object, ...]:
    return result.failed_phase, result.signal, result.verdict.taxonomy_id


def _segments(parts: list[bytes], ending: str) -> listeners.Behaviour:
    def behaviour(conn: socket.socket) -> None:
        conn.recv(4096)  # The Connection Request.
        for i, part in enumerate(parts):
            if i:
                time.sleep(SEGMENT_GAP_S)
            conn.sendall(part)
        if ending == "hold":
            listeners.stay_silent(conn)

    return behaviour


#: Server bytes after the Connection Request, each cut into segments in several ways.
STREAMS = {
    "alert": CONFIRM + ALERT,
    "garbage": CONFIRM + GARBAGE,
    "record-header": CONFIRM + bytes.fromhex("1603030010") + bytes(16),
}


def _cuts(stream: bytes) -> dict[str, list[bytes]]:
    cc = len(CONFIRM)
    return {
        "one-segment": [stream],
        "cc-then-rest": [stream[:cc], stream[cc:]],
        "cc-and-a-byte": [stream[: cc + 1], stream[cc + 1 :]],
        "split-cc": [stream[: cc - 3], stream[cc - 3 :]],
    }


@pytest.mark.parametrize("ending", ["close", "hold"])
@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_every_driver_and_segmentation_agrees(stream: str, ending: str) -> None:
    seen: dict[tuple[str, str], tuple[object, ...]] = {}
    for cut, parts in _cuts(STREAMS[stream]).items():
        with listeners.listener(_segments(parts, ending)) as port:
            for name, run in DRIVERS.items():
                result = run(port)
                assert result.signal is not Signal.INTERNAL_ERROR, (cut, name, result.detail)
                seen[cut, name] = _key(result)
    if ending == "close":
        # The client's ClientHello meets the closed socket (an RST) or the FIN first: timing.
        seen = {where: (key[0], _close_kind(key[1])) for where, key in seen.items()}  # type: ignore[arg-type]
    expected = seen["cc-then-rest", "probe"]
    assert {where: key for where, key in seen.items() if key != expected} == {}


def test_an_alert_in_the_confirms_segment_is_the_servers_alert() -> None:
    with listeners.listener(_segments([CONFIRM + ALERT], "hold")) as port:
        for name, run in DRIVERS.items():
            result = run(port)
            assert (result.signal, result.verdict.taxonomy_id) == (Signal.TLS_ALERT, "S1"), name


# -- resets and half-closes where a recorded conversation waits for the client -----------

@pytest.fixture(scope="module", params=["windows-tls", "windows-nla"])
def conversation(request: pytest.FixtureRequest) -> Iterator[tuple[tuple[str, int], list[int]]]:
    """A mock server and the offsets in its stream where it waited for the client."""
    with MockRdpServer(request.param) as server:
        with faultproxy.proxy(server.address) as (port, transcripts):
            assert _probe(port).signal is Signal.OK
        yield server.address, transcripts[0].bursts()


def _close_kind(signal: Signal) -> object:
    """FIN and RST racing bytes in flight are seen either way (as in ``tests/test_engine.py``)."""
    return "closed" if signal in (Signal.EOF, Signal.RESET, Signal.TLS_EOF) else signal


@pytest.mark.parametrize("ending", faultproxy.ENDINGS)
def test_a_cut_after_the_servers_tls_flight_is_classified_alike(
    conversation: tuple[tuple[str, int], list[int]], ending: str
) -> None:
    """Byte 1342 of ``windows-tls``: the reset meets the client's Finished; a FIN there meets
    the client's first write over TLS. Before, the engine ended both in ``internal_error``."""
    upstream, bursts = conversation
    after_flight = bursts[1]  # bursts[0] is the end of the Connection Confirm.
    with faultproxy.proxy(upstream, after_flight, ending) as (port, _):
        results = {name: run(port) for name, run in DRIVERS.items()}
    for name, result in results.items():
        # Whether the client's Finished (or first write) leaves before the reset or FIN lands
        # is timing; either way the connection was closed on it, never an internal error.
        assert result.signal is not Signal.INTERNAL_ERROR, (name, result.detail)
        assert _close_kind(result.signal) == "closed", (name, result.signal)
        assert result.phase_reached is not None and result.failed_phase is result.phase_reached, name


@pytest.mark.parametrize("ending", faultproxy.ENDINGS)
def test_a_cut_at_every_pause_of_the_conversation_is_classified(
    conversation: tuple[tuple[str, int], list[int]], ending: str
) -> None:
    upstream, bursts = conversation
    for offset in bursts:
        with faultproxy.proxy(upstream, offset, ending) as (port, _):
            for name in ("engine-openssl", "engine-stdlib"):
                result = DRIVERS[name](port)
                assert result.signal is not Signal.INTERNAL_ERROR, (offset, name, result.detail)
                assert result.failed_phase is not None, (offset, name)


def _half_close_at_once(conn: socket.socket) -> None:
    """Accept and send a FIN at once, then read what the client sends (no RST for it)."""
    conn.shutdown(socket.SHUT_WR)
    listeners.stay_silent(conn)


def test_a_fin_that_comes_with_the_connect_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The edge that says "connected" also carries the FIN when the engine is slow to look
    (a busy scan): it is the only event for it, so the link reads there. Before, the engine
    dropped it and reported a silent server (X3) where the others report X1."""
    original = poller_module.EpollPoller.poll

    def late(self: poller_module.EpollPoller, timeout: float | None) -> list[tuple[int, int]]:
        time.sleep(SEGMENT_GAP_S)  # the connection completes and the FIN lands meanwhile
        return original(self, timeout)

    monkeypatch.setattr(poller_module.EpollPoller, "poll", late)
    with listeners.listener(_half_close_at_once) as port:
        for name in ("engine-openssl", "probe"):
            result = DRIVERS[name](port)
            assert (result.signal, result.verdict.taxonomy_id) == (Signal.EOF, "X1"), name
