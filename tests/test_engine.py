"""The scanner's engine against loopback listeners: refused, silent, resetting, answering."""

from __future__ import annotations

import errno
import socket
import struct
import subprocess
import sys
import textwrap
import math
import threading
import time
from collections.abc import Iterator

import pytest

from rdpprobe.api import probe
from rdpprobe.engine import Engine, EngineOptions
from rdpprobe.engine import resolve as resolve_module
from rdpprobe.engine.limits import TokenBucket, backoff_delay, cap_concurrency
from rdpprobe.mock import MockRdpServer
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from tests.transport.listeners import closed_port, closed_ports

LOOPBACK = "127.0.0.1"
SHORT = Timeouts(connect=1.0, phase=0.3, overall=2.0)
QUICK = ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, timeouts=SHORT)
#: Connection Confirm with RDP_NEG_RSP selecting SSL ([MS-RDPBCGR] 2.2.1.2).
CONFIRM_SSL = bytes.fromhex("030000130ed00000123400" "0200080001000000")
SCENARIOS = ["windows-nla", "windows-tls", "xrdp-like", "hybrid-required", "ssl-required", "tls-handshake-failure",
             "credssp-close-after-negotiate", "legacy-cc", "mcs-connect-rejected", "errinfo-denied", "redirect"]  # fmt: skip


def _scan(targets: list[Target], config: ProbeConfig = QUICK, **options: object) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    Engine(config, EngineOptions(**options)).run(targets, results.append)  # type: ignore[arg-type]
    return results


def _target(port: int, host: str = LOOPBACK) -> Target:
    return Target(host, port, host if host[0].isdigit() else None)


class _Server:
    """A thread that accepts connections and treats each with ``behaviour``."""

    def __init__(self, behaviour: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(512)
        self.port = int(self.sock.getsockname()[1])
        self.behaviour = behaviour
        self.held: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._treat(conn)

    def _treat(self, conn: socket.socket) -> None:
        if self.behaviour == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        elif self.behaviour == "confirm":
            conn.settimeout(1.0)
            try:
                conn.recv(4096)
                conn.sendall(CONFIRM_SSL)
            except OSError:
                pass
            self.held.append(conn)
        else:
            self.held.append(conn)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[_Server]:
    with _Server("silent") as server:
        yield server


def test_refused_port_is_port_closed() -> None:
    (result,) = _scan([_target(closed_port())])
    assert result.signal is Signal.REFUSED
    assert result.verdict.category == "port_closed"


def test_silent_listener_times_out_in_connection_initiation(silent: _Server) -> None:
    started = time.monotonic()
    (result,) = _scan([_target(silent.port)])
    assert result.signal is Signal.SILENT
    assert result.failed_phase is Phase.CONNECTION_INITIATION
    assert time.monotonic() - started < SHORT.phase + 1.0


def test_resetting_listener_is_reported() -> None:
    with _Server("reset") as server:
        (result,) = _scan([_target(server.port)])
    assert result.signal in (Signal.RESET, Signal.EOF)
    assert result.failed_phase is Phase.CONNECTION_INITIATION


def test_answering_listener_gives_the_selected_protocol() -> None:
    with _Server("confirm") as server:
        results = _scan([_target(server.port)] * 20, concurrency=5)
    assert [r.signal for r in results] == [Signal.OK] * 20
    assert {r.facts.selected_protocol for r in results} == {"SSL"}


def test_every_target_gets_exactly_one_result(silent: _Server) -> None:
    closed = closed_port()
    targets = [_target(closed if i % 3 else silent.port) for i in range(90)]
    results = _scan(targets, concurrency=40)
    assert len(results) == len(targets)
    assert sum(r.signal is Signal.SILENT for r in results) == 30


def test_blackholes_take_waves_of_the_timeout(silent: _Server) -> None:
    config = ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, timeouts=Timeouts(1.0, 0.2, 1.0))
    started = time.monotonic()
    results = _scan([_target(silent.port)] * 40, config, concurrency=20)
    elapsed = time.monotonic() - started
    assert len(results) == 40
    assert elapsed < 1.1 * 2 * 0.2 + 0.3


def test_host_names_are_resolved() -> None:
    (result,) = _scan([_target(closed_port(), "localhost")])
    assert result.signal is Signal.REFUSED
    assert result.target.address in ("127.0.0.1", "::1")


def test_a_name_is_looked_up_once_for_all_its_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every port of one name is probed at the same address, after one lookup; a local
    shortage during a lookup says nothing of the name and is asked again."""
    calls: list[str] = []
    answers = iter([OSError(errno.EMFILE, "Too many open files")])

    def counted(host: str, port: int, timeout: float, prefer: str | None = None) -> tuple[socket.AddressFamily, str]:
        calls.append(host)
        failure = next(answers, None)
        if failure is not None:
            raise failure
        return socket.AF_INET, LOOPBACK

    monkeypatch.setattr(resolve_module, "resolve", counted)
    ports = closed_ports(3)
    results = _scan([_target(port, "rdp.example.test") for port in ports], concurrency=3)
    assert sorted(result.target.port for result in results) == sorted(ports)
    assert {(result.signal, result.target.address) for result in results} == {(Signal.REFUSED, LOOPBACK)}
    assert calls == ["rdp.example.test"] * 2  # The shortage, then the one answer all three took.


def test_a_name_that_does_not_resolve_is_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def unknown(host: str, port: int, timeout: float, prefer: str | None = None) -> tuple[socket.AddressFamily, str]:
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(resolve_module, "resolve", unknown)
    results = _scan([_target(port, "nowhere.invalid") for port in (3389, 3390, 3391)], concurrency=1)
    assert [result.signal for result in results] == [Signal.DNS_FAILURE] * 3
    assert calls == ["nowhere.invalid"]


def test_address_filter_drops_excluded_names() -> None:
    results = _scan([_target(closed_port(), "localhost")], address_filter=lambda address, port: False)
    assert results == []


def test_a_crashing_probe_is_an_error_result_and_the_scan_goes_on() -> None:
    def explode(address: str, port: int) -> bool:
        raise RuntimeError("boom")

    closed = closed_port()
    results = _scan([_target(closed, "localhost"), _target(closed)], address_filter=explode)
    by_host = {r.target.host: r for r in results}
    assert by_host["localhost"].signal is Signal.INTERNAL_ERROR
    assert "boom" in (by_host["localhost"].detail or "")
    assert by_host[LOOPBACK].signal is Signal.REFUSED


def test_rate_limits_new_connections() -> None:
    closed = closed_port()
    started = time.monotonic()
    _scan([_target(closed)] * 30, rate=100.0)
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("rate", [math.inf, 0.0])
def test_an_infinite_or_zero_rate_is_no_limit(rate: float) -> None:
    """``--rate inf`` on the command line, ``rate=math.inf`` in a program: no token bucket,
    whose arithmetic would meet infinity times zero (NaN) on a clock that did not move.
    ``EngineOptions(rate=0)`` has always meant no limit too."""
    closed = closed_port()
    results = _scan([_target(closed, f"127.0.0.{n}") for n in range(1, 31)], rate=rate)
    assert [r.signal for r in results] == [Signal.REFUSED] * 30


def test_a_slow_rate_does_not_hold_the_scan_open_after_the_last_target() -> None:
    """At 0.05 connections/s the next token is 20 s away: the end of the input must be seen
    without waiting for it."""
    started = time.monotonic()
    results = _scan([_target(closed_port())], rate=0.05)
    assert [r.signal for r in results] == [Signal.REFUSED]
    assert time.monotonic() - started < 10.0


def test_per_target_deadline_bounds_the_plan(silent: _Server) -> None:
    config = ProbeConfig(timeouts=Timeouts(1.0, 5.0, 5.0), enumerate_protocols=True)
    started = time.monotonic()
    (result,) = _scan([_target(silent.port)], config, deadline=0.3)
    assert time.monotonic() - started < 1.5
    assert result.signal is Signal.SILENT


def test_a_deadline_passing_while_the_next_connection_waits_for_the_rate_ends_the_target() -> None:
    # At 2 connections/s the second enumeration connection waits 0.5 s for its token, past the
    # target's 0.3 s deadline: the target ends with the deadline, not with the first
    # connection's answer, a refusal of RDP alone that the probe itself never asked about.
    config = ProbeConfig(timeouts=Timeouts(1.0, 1.0, 0.3), enumerate_protocols=True)
    with MockRdpServer("windows-nla") as server:
        host, port = server.address
        (result,) = _scan([_target(port, host)], config, rate=2.0)
    assert (result.signal, result.failed_phase) == (Signal.SILENT, Phase.CONNECTION_INITIATION)
    assert result.detail == "overall deadline of 0.3s passed before the probe's next connection"


@pytest.mark.parametrize("tls", ["openssl", "stdlib"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_classification_as_check(scenario: str, tls: str) -> None:
    config = ProbeConfig(timeouts=Timeouts(2.0, 2.0, 5.0))
    with MockRdpServer(scenario) as server:
        host, port = server.address
        expected = probe(host, port, connect_timeout=2.0, timeout=2.0, deadline=5.0)
        (result,) = _scan([_target(port, host)], config, tls=tls)
    assert (result.phase_reached, result.verdict.taxonomy_id, result.verdict.category) == (
        expected.phase_reached, expected.verdict.taxonomy_id, expected.verdict.category
    )
    # A server that closes while bytes are in flight is seen as FIN or RST, depending on timing.
    assert _close_kind(result.signal) == _close_kind(expected.signal)
    assert result.facts.selected_protocol == expected.facts.selected_protocol


def _close_kind(signal: Signal) -> object:
    return "closed" if signal in (Signal.EOF, Signal.RESET, Signal.TLS_EOF) else signal


def test_enumeration_lists_accepted_protocols() -> None:
    config = ProbeConfig(timeouts=Timeouts(2.0, 2.0, 10.0), enumerate_protocols=True)
    with MockRdpServer("windows-nla") as server:
        host, port = server.address
        expected = probe(host, port, enumerate=True)
        (result,) = _scan([_target(port, host)], config)
    assert result.facts.accepted_protocols == expected.facts.accepted_protocols
    assert result.facts.accepted_protocols


def test_local_descriptor_shortage_is_retried_never_reported(tmp_path: object) -> None:
    script = textwrap.dedent(
        """
        import resource, socket
        from rdpprobe.engine import Engine, EngineOptions
        from rdpprobe.result import Target
        from rdpprobe.sequence.config import ProbeConfig, Timeouts
        from rdpprobe.sequence.phases import Phase
        resource.setrlimit(resource.RLIMIT_NOFILE, (120, 120))
        hog = [socket.socket() for _ in range(70)]
        probe_port = socket.socket(); probe_port.bind(("127.0.0.1", 0)); port = probe_port.getsockname()[1]
        probe_port.close()
        results = []
        config = ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, timeouts=Timeouts(1, 1, 2))
        stats = Engine(config, EngineOptions(concurrency=500)).run(
            (Target("127.0.0.1", port, "127.0.0.1") for _ in range(300)), results.append)
        print(len(results), sum(r.signal.value == "refused" for r in results), stats.local_retries)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    total, refused, retries = map(int, out.stdout.split())
    assert total == refused == 300
    assert retries > 0


def test_limits_helpers() -> None:
    assert cap_concurrency(10_000, 1024) == 1024 - 64
    assert cap_concurrency(5, 20) == 1
    bucket = TokenBucket(10.0, now=0.0)
    assert bucket.take(0.0)
    assert not bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(0.1)
    assert bucket.take(0.1)
    assert backoff_delay(1) < backoff_delay(3) <= 1.0
