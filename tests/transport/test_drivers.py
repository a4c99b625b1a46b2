"""Both drivers against loopback servers that fail in every way a scan meets."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest

import rdpprobe
from rdpprobe.mock import MockRdpServer
from rdpprobe.result import ProbeResult
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.transport import aio, blocking
from rdpprobe.transport.resolve import resolve
from tests.transport import listeners

FAST = {"connect_timeout": 1.0, "timeout": 1.0, "deadline": 3.0, "follow_negotiation": False}
FAIL5_CC = bytes.fromhex("030000130ed000001234000300080005000000")
LEGACY_CC = bytes.fromhex("0300000b06d00000123400")


def run_blocking(target: str, **options: object) -> ProbeResult:
    return rdpprobe.probe(target, **{**FAST, **options})


def run_async(target: str, **options: object) -> ProbeResult:
    return asyncio.run(rdpprobe.aprobe(target, **{**FAST, **options}))


DRIVERS = [pytest.param(run_blocking, id="blocking"), pytest.param(run_async, id="asyncio")]
Driver = Callable[..., ProbeResult]

CASES = [
    # (behaviour, phase, signal, taxonomy row)
    (listeners.close_at_once, Phase.CONNECTION_INITIATION, Signal.EOF, "X1"),
    (listeners.reset_at_once, Phase.CONNECTION_INITIATION, Signal.RESET, "X2"),
    (listeners.stay_silent, Phase.CONNECTION_INITIATION, Signal.SILENT, "X3"),
    (listeners.reply(b"SSH-2.0-OpenSSH_9.2p1\r\n"), Phase.CONNECTION_INITIATION, Signal.NOT_RDP, "X4"),
    (listeners.reply(b"HTTP/1.1 400 Bad Request\r\n\r\n"), Phase.CONNECTION_INITIATION, Signal.NOT_RDP, "X4"),
    (listeners.reply(bytes.fromhex("15030300020228")), Phase.CONNECTION_INITIATION, Signal.NOT_RDP, "X4"),
    (listeners.reply(FAIL5_CC), Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE, "N5"),
    (listeners.reply(b"\x03\x00\x00\x05\xff"), Phase.CONNECTION_INITIATION, Signal.DECODE_ERROR, "X4"),
    (listeners.trickle(b"\x03\x00\x00\x13\x0e\xd0", 0.4), Phase.CONNECTION_INITIATION, Signal.SILENT, "X3"),
]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("behaviour, phase, signal, row", CASES)
def test_failure_is_classified(driver: Driver, behaviour: listeners.Behaviour, phase: Phase,
                               signal: Signal, row: str) -> None:
    with listeners.listener(behaviour) as port:
        started = time.monotonic()
        result = driver(f"127.0.0.1:{port}")
    assert time.monotonic() - started < FAST["deadline"] + 1.0
    assert (result.failed_phase, result.signal) == (phase, signal), result.detail
    assert result.verdict.taxonomy_id.startswith(row[0]), result.verdict
    assert result.verdict.taxonomy_id == row or signal is Signal.DECODE_ERROR


@pytest.mark.parametrize("driver", DRIVERS)
def test_refused_port(driver: Driver) -> None:
    result = driver(f"127.0.0.1:{listeners.closed_port()}")
    assert (result.failed_phase, result.signal) == (Phase.TCP_CONNECT, Signal.REFUSED)
    assert result.verdict.ms_client is not None and result.verdict.ms_client.code == 0x204
    assert result.verdict.freerdp == "ERRCONNECT_CONNECT_FAILED"


@pytest.mark.parametrize("driver", DRIVERS)
def test_ipv6_loopback(driver: Driver) -> None:
    with listeners.listener(listeners.reply(FAIL5_CC), host="::1") as port:
        result = driver(f"[::1]:{port}")
    assert result.target.address == "::1"
    assert result.signal is Signal.NEG_FAILURE


@pytest.mark.parametrize("driver", DRIVERS)
def test_legacy_server_goes_on_to_mcs(driver: Driver) -> None:
    with listeners.listener(listeners.reply(LEGACY_CC)) as port:
        result = driver(f"127.0.0.1:{port}")
    assert result.facts.legacy_no_negotiation is True
    assert result.failed_phase is Phase.BASIC_SETTINGS_EXCHANGE
    assert result.signal is Signal.SILENT


@pytest.mark.parametrize("driver", DRIVERS)
def test_tls_garbage_after_selecting_ssl(driver: Driver) -> None:
    ssl_cc = bytes.fromhex("030000130ed000001234000201080001000000")
    with listeners.listener(listeners.reply(ssl_cc + b"this is not tls at all")) as port:
        result = driver(f"127.0.0.1:{port}")
    assert result.failed_phase is Phase.TLS
    assert result.signal in (Signal.TLS_ERROR, Signal.TLS_EOF, Signal.SILENT)
    assert result.verdict.category == "tls_failed"


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(rdpprobe.errors.ProbeUsageError, match="port"):
        rdpprobe.probe("127.0.0.1:99999")
    with pytest.raises(rdpprobe.errors.ProbeUsageError, match="unknown protocol"):
        rdpprobe.probe("127.0.0.1", protocols="SSL,BOGUS")
    with pytest.raises(rdpprobe.errors.ProbeUsageError, match="needs both"):
        rdpprobe.probe("127.0.0.1", user="alice")


def test_unresolvable_name_is_d1() -> None:
    # RFC 6761: .invalid never resolves. The asyncio driver bounds the lookup in time.
    result = run_async("no-such-host.invalid", connect_timeout=2.0)
    assert (result.failed_phase, result.signal) == (Phase.DNS, Signal.DNS_FAILURE)
    assert result.verdict.taxonomy_id == "D1"
    assert result.verdict.ms_client is not None and result.verdict.ms_client.code == 0x104


@pytest.mark.parametrize("code", ["EHOSTUNREACH", "ENETUNREACH"])
def test_icmp_unreachable_maps_to_t3(code: str) -> None:
    # Loopback never produces ICMP unreachable; the one error table is checked directly.
    import errno

    from rdpprobe.classify import classify
    from rdpprobe.transport.errors import observe

    observed = observe(OSError(getattr(errno, code), code))
    assert observed.signal is Signal.UNREACHABLE
    assert classify(Phase.TCP_CONNECT, observed.signal).taxonomy_id == "T3"


#: The ``slow-cc`` mock answers each Connection Request after this long.
SLOW_CC_S = 0.5


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_deadline_bounds_every_connection_of_the_probe_together(driver: Driver) -> None:
    # --enumerate makes six connections before the probe's own; at 0.5 s each they would
    # take over 3 s if each had the whole deadline to itself.
    deadline = 1.2
    with MockRdpServer("slow-cc") as server:
        started = time.monotonic()
        host, port = server.address
        result = driver(f"{host}:{port}", enumerate=True, timeout=5.0, deadline=deadline)
        elapsed = time.monotonic() - started
    assert elapsed < deadline + SLOW_CC_S
    assert result.signal is Signal.SILENT
    assert result.detail == f"overall deadline of {deadline:g}s passed"


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_deadline_passing_between_connections_ends_the_probe(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each connection is made, then overstays the target's deadline: the plan's next one must
    # not start, and the result says the deadline passed, not "stopped as asked".
    deadline = 0.5
    made: list[ProbeResult] = []

    def overstay(run: Callable[..., ProbeResult]) -> Callable[..., ProbeResult]:
        def connection(*args: object) -> ProbeResult:
            made.append(run(*args))
            time.sleep(deadline)
            return made[-1]
        return connection

    async def overstay_async(*args: object) -> ProbeResult:
        made.append(await real_aio_run(*args))
        await asyncio.sleep(deadline)
        return made[-1]

    real_aio_run = aio.run
    monkeypatch.setattr(blocking, "run", overstay(blocking.run))
    monkeypatch.setattr(aio, "run", overstay_async)
    with MockRdpServer("windows-nla") as server:
        host, port = server.address
        result = driver(f"{host}:{port}", enumerate=True, deadline=deadline)
    assert len(made) == 1
    assert made[0].signal is Signal.NEG_FAILURE  # The first enumeration step: RDP alone, refused.
    assert (result.signal, result.failed_phase) == (Signal.SILENT, Phase.CONNECTION_INITIATION)
    assert result.detail == f"overall deadline of {deadline:g}s passed before the probe's next connection"


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_connection_of_a_probe_goes_to_the_address_its_name_first_resolved_to(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round-robin name answers each lookup with another address: an enumeration's six
    connections and the probe's own must all reach one server, so the name is looked up once."""
    looked_up: list[str] = []

    def round_robin(host: str, port: int, timeout: float, prefer: str | None = None) -> tuple[socket.AddressFamily, str]:
        looked_up.append(host)
        return resolve(host if host != "rdp.example.test" else "127.0.0.1", port, timeout)

    monkeypatch.setattr(blocking, "resolve", round_robin)
    monkeypatch.setattr(aio, "resolve", round_robin)
    with MockRdpServer("windows-nla") as server:
        result = driver(f"rdp.example.test:{server.address[1]}", enumerate=True, stop_after="connection_initiation")
    assert result.ok and result.facts.accepted_protocols
    assert (result.target.host, result.target.address) == ("rdp.example.test", "127.0.0.1")
    assert looked_up[0] == "rdp.example.test" and set(looked_up[1:]) == {"127.0.0.1"}
    assert len(looked_up) > 1  # Several connections, one lookup of the name.
