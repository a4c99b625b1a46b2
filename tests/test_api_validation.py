"""Bad input to ``api.build`` / ``probe`` is a ``ProbeUsageError`` before any connection, and a
probe asked to stop after dns or tcp_connect stops there without sending a byte."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import rdpprobe
from rdpprobe.api import MAX_SECONDS, build
from rdpprobe.engine import Engine
from rdpprobe.errors import EncodeError, ProbeUsageError
from rdpprobe.mock import MockRdpServer
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence import initiation
from rdpprobe.sequence.actions import CloseConnection, Finished, SendBytes
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import Prober
from rdpprobe.signals import Signal
from rdpprobe.transport import blocking
from rdpprobe.transport.resolve import resolve
from tests.sequence.test_prober import drain
from tests.transport import listeners

FAST: dict[str, Any] = {"connect_timeout": 1.0, "timeout": 1.0, "deadline": 3.0}
TIMEOUTS = Timeouts(connect=1.0, phase=1.0, overall=3.0)
#: A name whose 64-character label the idna codec refuses before any lookup (RFC 1035 2.3.4).
UNENCODABLE_NAME = "a" * 64 + ".invalid"
#: A name of legal labels, longer than the 253 characters a name may have.
LONG_NAME = ".".join(["a" * 60] * 5) + ".invalid"
PHASES_BEFORE_NLA = [Phase.DNS, Phase.TCP_CONNECT, Phase.CONNECTION_INITIATION, Phase.TLS]


def _usage_error(target: str = "127.0.0.1", port: int | None = None, **options: Any) -> str:
    with pytest.raises(ProbeUsageError) as caught:
        build(target, port, options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- Targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "message"), [
    ("300.1.1.1", "invalid ip address"),
    ("127.0.0.1/33", "invalid network"),
    ("127.0.0.0/24", "check probes one host; use rdpprobe scan"),
    ("127.0.0.1-2", "check probes one host"),
    ("127.0.0.5-1", "backwards range"),
    ("0.0.0.0", "0.0.0.0 is not a host's address"),
    ("224.0.0.1:3389", "224.0.0.1 is not a host's address"),
    ("255.255.255.255", "255.255.255.255 is not a host's address"),
    ("[::]:3389", ":: is not a host's address"),
    ("ff02::1", "ff02::1 is not a host's address"),
    ("[::ffff:224.0.0.1]", "::ffff:e000:1 is not a host's address"),
    (":1", "empty host"),
    ("[]:1", "empty host"),
    ("a b.invalid", "illegal character ' '"),
    ("a\x01b.invalid", "illegal character"),
    ("[::1", "missing ']'"),
    ("[::1]x", "unexpected 'x' after ']'"),
    ("[127.0.0.1]:1", "brackets are only for ipv6"),
    (LONG_NAME, "longer than 253 characters"),
    (UNENCODABLE_NAME, "over 63"),
    ("127.0.0.1:0", "invalid port '0'"),
    ("", "empty target"),
])  # fmt: skip
def test_a_malformed_target_is_refused_with_the_scanners_grammar(target: str, message: str) -> None:
    text = _usage_error(target)
    assert message in text and text.startswith("target: ")


@pytest.mark.parametrize(("target", "host", "port"), [
    ("rdp.invalid", "rdp.invalid", 3389),
    ("rdp.invalid:3390", "rdp.invalid", 3390),
    ("127.0.0.1", "127.0.0.1", 3389),
    ("[::1]:3390", "::1", 3390),
    ("[::1]", "::1", 3389),
    ("::1", "::1", 3389),
    ("fe80::1", "fe80::1", 3389),
    (" 127.0.0.1:3390 ", "127.0.0.1", 3390),
    ("127.0.0.7/32", "127.0.0.7", 3389),
])  # fmt: skip
def test_one_host_in_every_form_check_accepted_is_still_accepted(target: str, host: str, port: int) -> None:
    tgt, _, _ = build(target, None, {})
    assert (tgt.host, tgt.port) == (host, port)


def test_probe_refuses_a_bad_target_before_connecting() -> None:
    with pytest.raises(ProbeUsageError, match="one host"):
        rdpprobe.probe("127.0.0.0/30", **FAST)


# --- Ports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_a_port_outside_1_to_65535_is_refused_never_replaced(port: int) -> None:
    assert _usage_error(port=port) == f"invalid port {port}"


def test_a_port_given_twice_must_agree() -> None:
    assert "two ports" in _usage_error("127.0.0.1:3390", 3391)
    assert build("127.0.0.1:3390", 3390, {})[0].port == 3390
    assert build("127.0.0.1", 3391, {})[0].port == 3391


# --- Time limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["connect_timeout", "timeout", "deadline"])
@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "must be a finite number of seconds, got nan"),
    (float("inf"), "must be a finite number of seconds, got inf"),
    (float("-inf"), "must be a finite number of seconds, got -inf"),
    (1e300, "must be at most 86400 seconds (one day), got 1e+300"),
    (0, "must be positive, got 0"),
    (-1.0, "must be positive, got -1"),
    ("soon", "must be a number of seconds, got 'soon'"),
])  # fmt: skip
def test_a_time_limit_must_be_finite_positive_and_bounded(key: str, value: object, message: str) -> None:
    options: dict[str, Any] = {key: value}
    assert _usage_error(**options) == f"{key} {message}"


def test_a_day_is_the_longest_time_limit() -> None:
    assert build("127.0.0.1", None, {"deadline": MAX_SECONDS})[1].timeouts.overall == MAX_SECONDS


# --- Credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "message"), [
    ("", "user must not be empty"),
    ("  ", "user must not be empty"),
    ("DOMAIN\\", "has an empty user name"),
])  # fmt: skip
def test_an_empty_user_is_refused(user: str, message: str) -> None:
    assert message in _usage_error(user=user, password="secret")


@pytest.mark.parametrize("stop", PHASES_BEFORE_NLA, ids=lambda phase: phase.value)
def test_credentials_with_a_stop_before_nla_are_a_conflict(stop: Phase) -> None:
    message = _usage_error(user="alice", password="secret", stop_after=stop.value)
    assert message == f"user is checked in the nla phase, but stop_after {stop.value} ends the probe before it"


def test_credentials_with_a_stop_at_or_after_nla_are_accepted() -> None:
    for stop in ("nla", "capabilities_exchange"):
        _, config, _ = build("127.0.0.1", None, {"user": "alice", "password": "secret", "stop_after": stop})
        assert config.credentials is not None and config.credentials.user == "alice"


# --- Expected name and full logon ------------------------------------------------------------

PHASES_BEFORE_TLS = PHASES_BEFORE_NLA[:PHASES_BEFORE_NLA.index(Phase.TLS)]
CREDENTIALS: dict[str, Any] = {"user": "alice", "password": "secret"}


@pytest.mark.parametrize("name", ["", " ", "\t\n"], ids=["empty", "space", "whitespace"])
def test_an_empty_expected_name_is_refused(name: str) -> None:
    assert _usage_error(expected_name=name) == "expected_name must not be empty"


def test_an_expected_name_that_is_no_string_is_refused() -> None:
    assert _usage_error(expected_name=b"rdp.invalid") == "expected_name must be a string, got bytes"


@pytest.mark.parametrize("stop", PHASES_BEFORE_TLS, ids=lambda phase: phase.value)
def test_an_expected_name_with_a_stop_before_tls_is_a_conflict(stop: Phase) -> None:
    message = _usage_error(expected_name="rdp.invalid", stop_after=stop.value)
    assert message == f"expected_name is checked in the tls phase, but stop_after {stop.value} ends the probe before it"


@pytest.mark.parametrize("stop", [None, "tls", "nla", "capabilities_exchange"])
def test_an_expected_name_with_a_stop_at_or_after_tls_is_accepted(stop: str | None) -> None:
    _, config, _ = build("127.0.0.1", None, {"expected_name": "rdp.invalid", "stop_after": stop})
    assert config.expected_name == "rdp.invalid"


@pytest.mark.parametrize("stop", [*PHASES_BEFORE_NLA, Phase.NLA], ids=lambda phase: phase.value)
def test_a_full_logon_with_a_stop_at_or_before_nla_is_a_conflict(stop: Phase) -> None:
    message = _usage_error(**CREDENTIALS, full_logon=True, stop_after=stop.value)
    assert message == f"full_logon logs on after the nla phase, but stop_after {stop.value} ends the probe before it"


@pytest.mark.parametrize("stop", [None, "basic_settings_exchange", "capabilities_exchange"])
def test_a_full_logon_with_a_stop_after_nla_is_accepted(stop: str | None) -> None:
    _, config, _ = build("127.0.0.1", None, {**CREDENTIALS, "full_logon": True, "stop_after": stop})
    assert config.full_logon and config.stop_after == (None if stop is None else Phase(stop))


def test_probe_refuses_an_empty_expected_name_before_connecting() -> None:
    # The port is closed: a probe that went on would come back refused, not raise.
    with pytest.raises(ProbeUsageError, match="^expected_name must not be empty$"):
        rdpprobe.probe(f"127.0.0.1:{listeners.closed_port()}", expected_name="", **FAST)


# --- Key log --------------------------------------------------------------------------------


def test_an_unwritable_keylog_is_refused_up_front(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "keys.log"
    message = _usage_error(keylog_path=str(missing))
    assert message == f"cannot write keylog file {missing}: No such file or directory"
    assert _usage_error(keylog_path=str(tmp_path)).endswith("Is a directory")


def test_a_writable_keylog_is_accepted_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text("CLIENT_RANDOM earlier\n")
    assert build("127.0.0.1", None, {"keylog_path": str(path)})[2] == str(path)
    assert path.read_text() == "CLIENT_RANDOM earlier\n"  # Opened for append: nothing lost.


def test_a_usage_error_leaves_no_keylog_behind(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    _usage_error("300.1.1.1", keylog_path=str(path))
    _usage_error(deadline=float("nan"), keylog_path=str(path))
    assert not path.exists()


# --- The Connection Request -----------------------------------------------------------------


@pytest.mark.parametrize("cookie", ["a\r\nb", "a\nb", "a\rb", "user\x00", "tab\there", "caf\u00e9", "del\x7f"])
def test_a_cookie_the_request_cannot_carry_is_refused(cookie: str) -> None:
    assert _usage_error(cookie=cookie).startswith("cookie must be printable ascii")
    with pytest.raises(EncodeError):  # The same rule as the encoder's: it is the encoder's.
        initiation.request_bytes(ProbeConfig(cookie=cookie))


@pytest.mark.parametrize("cookie", ["probe", "", "Administrator", "a b~!"])
def test_a_printable_cookie_is_accepted(cookie: str) -> None:
    assert build("127.0.0.1", None, {"cookie": cookie})[1].cookie == cookie


@pytest.mark.parametrize("value", [-1, 2**32])
def test_requested_protocols_must_fit_32_bits(value: int) -> None:
    assert "protocols must be 0 to 0xffffffff" in _usage_error(protocols=value)


# --- Stop points: the sans-IO prober --------------------------------------------------------


def _prober(stop: Phase) -> Prober:
    config = ProbeConfig(timeouts=TIMEOUTS, stop_after=stop)
    return Prober(Target("server.invalid", 3389), config, now=0.0,
                  started_at=datetime(2026, 1, 1, tzinfo=timezone.utc), rng=bytes)


def test_stop_after_dns_ends_at_the_resolved_address() -> None:
    prober = _prober(Phase.DNS)
    prober.resolved("127.0.0.1", 0.1)
    assert prober.finished
    prober.connection_made(0.2)  # A driver that connects anyway changes nothing.
    actions = drain(prober)
    assert isinstance(actions[0], CloseConnection) and isinstance(actions[-1], Finished)
    assert not any(isinstance(action, SendBytes) for action in actions)
    result = prober.result
    assert (result.signal, result.phase_reached, result.failed_phase) == (Signal.OK, Phase.DNS, None)
    assert result.detail == "stopped after name resolution, as asked"
    assert result.target.address == "127.0.0.1" and result.ok


def test_stop_after_tcp_connect_sends_nothing() -> None:
    prober = _prober(Phase.TCP_CONNECT)
    prober.resolved("127.0.0.1", 0.1)
    assert not prober.finished and drain(prober) == []
    prober.connection_made(0.2)
    actions = drain(prober)
    assert [type(action) for action in actions] == [CloseConnection, Finished]
    result = prober.result
    assert (result.signal, result.phase_reached) == (Signal.OK, Phase.TCP_CONNECT)
    assert result.detail == "stopped after the tcp connection, as asked" and result.ok


def test_stop_after_connection_initiation_still_sends_the_request() -> None:
    prober = _prober(Phase.CONNECTION_INITIATION)
    prober.resolved("127.0.0.1", 0.1)
    prober.connection_made(0.2)
    assert isinstance(drain(prober)[0], SendBytes)


# --- Stop points: the drivers ---------------------------------------------------------------


class _Recorder:
    """A listener behaviour that keeps what each connection sent."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, conn: socket.socket) -> None:
        data = conn.recv(4096)
        with self.lock:
            self.received.append(data)


def test_blocking_stop_after_dns_does_not_connect() -> None:
    result = rdpprobe.probe(f"127.0.0.1:{listeners.closed_port()}", stop_after="dns", **FAST)
    assert result.signal is Signal.OK and result.phase_reached is Phase.DNS  # Connecting is refused.


@pytest.mark.parametrize("run", ["blocking", "asyncio", "engine"])
def test_stop_after_dns_opens_no_connection(run: str) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.setblocking(False)
        port = server.getsockname()[1]
        if run == "blocking":
            result = rdpprobe.probe(f"127.0.0.1:{port}", stop_after="dns", **FAST)
        elif run == "asyncio":
            result = asyncio.run(rdpprobe.aprobe(f"127.0.0.1:{port}", stop_after="dns", **FAST))
        else:
            results: list[ProbeResult] = []
            config = ProbeConfig(timeouts=TIMEOUTS, stop_after=Phase.DNS)
            Engine(config).run([Target("127.0.0.1", port, "127.0.0.1")], results.append)
            (result,) = results
        assert result.signal is Signal.OK and result.phase_reached is Phase.DNS
        with pytest.raises(BlockingIOError):  # Nothing in the accept queue: not even a SYN.
            server.accept()


@pytest.mark.parametrize("run", ["blocking", "asyncio"])
def test_stop_after_tcp_connect_sends_no_request(run: str) -> None:
    recorder = _Recorder()
    with listeners.listener(recorder) as port:
        target = f"127.0.0.1:{port}"
        if run == "blocking":
            result = rdpprobe.probe(target, stop_after="tcp_connect", **FAST)
        else:
            result = asyncio.run(rdpprobe.aprobe(target, stop_after="tcp_connect", **FAST))
        wait_for(lambda: bool(recorder.received))
    assert result.signal is Signal.OK and result.phase_reached is Phase.TCP_CONNECT
    assert recorder.received == [b""]  # Connected, then closed without a byte.


def wait_for(condition: Callable[[], bool], limit: float = 3.0) -> None:
    """Poll ``condition`` until it holds or ``limit`` seconds have passed."""
    event = threading.Event()
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        event.wait(0.02)


@pytest.mark.parametrize("stop", [Phase.DNS, Phase.TCP_CONNECT], ids=lambda phase: phase.value)
def test_the_engine_finishes_probes_that_stop_early(stop: Phase) -> None:
    recorder = _Recorder()
    results: list[ProbeResult] = []
    with listeners.listener(recorder) as port:
        targets = [Target("127.0.0.1", port, "127.0.0.1"), Target("localhost", port)]
        Engine(ProbeConfig(timeouts=TIMEOUTS, stop_after=stop)).run(targets, results.append)
    assert [(r.signal, r.phase_reached) for r in results] == [(Signal.OK, stop)] * 2
    assert not any(recorder.received)  # Not one byte of a Connection Request.


# --- Names the resolver cannot encode -------------------------------------------------------


@pytest.mark.parametrize("name", [UNENCODABLE_NAME, LONG_NAME, "a..invalid", "nul\x00.invalid"])
def test_a_name_getaddrinfo_refuses_is_a_dns_failure(name: str) -> None:
    with pytest.raises(socket.gaierror):
        resolve(name, 3389, 1.0)
    result = blocking.run(Target(name, 3389), ProbeConfig(timeouts=TIMEOUTS))
    assert (result.signal, result.phase_reached) == (Signal.DNS_FAILURE, Phase.DNS)


def test_the_engine_reports_an_unencodable_name_as_a_dns_failure() -> None:
    results: list[ProbeResult] = []
    Engine(ProbeConfig(timeouts=TIMEOUTS)).run([Target(UNENCODABLE_NAME, 3389)], results.append)
    assert [r.signal for r in results] == [Signal.DNS_FAILURE]


# --- Names that resolve only to addresses no host has ---------------------------------------


def resolver_answering(*addresses: str) -> Callable[..., list[tuple[Any, ...]]]:
    """A ``getaddrinfo`` that answers every name with ``addresses``, in that order."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]  # fmt: skip

    return getaddrinfo


def _sinkholed_probes(port: int) -> list[ProbeResult]:
    target = Target("sinkholed.invalid", port)
    engine_results: list[ProbeResult] = []
    Engine(ProbeConfig(timeouts=TIMEOUTS)).run([target], engine_results.append)
    library = asyncio.run(rdpprobe.aprobe(f"sinkholed.invalid:{port}", **FAST))
    return [blocking.run(target, ProbeConfig(timeouts=TIMEOUTS)), library, *engine_results]


def test_a_sinkholed_name_is_a_dns_failure_and_nothing_is_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """0.0.0.0 is this machine to Linux: probing it would report the local server as the name's."""
    monkeypatch.setattr(socket, "getaddrinfo", resolver_answering("0.0.0.0", "::"))
    recorder = _Recorder()
    with listeners.listener(recorder) as port:
        results = _sinkholed_probes(port)
    assert [(r.signal, r.phase_reached) for r in results] == [(Signal.DNS_FAILURE, Phase.DNS)] * 3
    assert all("resolves only to 0.0.0.0 and ::" in (r.detail or "") and "sinkhole" in (r.detail or "") for r in results)
    assert all(r.verdict.taxonomy_id == "D1" for r in results)
    assert recorder.received == []


def test_a_name_with_a_host_address_among_others_connects_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolver_answering("224.0.0.1", "::ffff:0.0.0.0", "127.0.0.1"))
    assert resolve("mixed.invalid", 3389, 1.0) == (socket.AF_INET, "127.0.0.1")


# --- A name with IPv6 and IPv4 addresses: the resolver's order, or the family preferred -----


@pytest.mark.parametrize(
    ("answers", "prefer", "expected"),
    [
        (("::1", "127.0.0.1"), None, "::1"),  # The resolver's order (RFC 6724 puts IPv6 first).
        (("::1", "127.0.0.1"), "ipv4", "127.0.0.1"),  # As FreeRDP's client chooses.
        (("127.0.0.1", "::1"), "ipv6", "::1"),  # As FreeRDP's /ipv6 chooses.
        (("127.0.0.2",), "ipv6", "127.0.0.2"),  # No address of that family: the first there is.
        (("::1", "0.0.0.0"), "ipv4", "::1"),  # An address no host has is never preferred.
    ],
)
def test_a_name_s_address_follows_the_family_preferred(
    answers: tuple[str, ...], prefer: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolver_answering(*answers))
    assert resolve("dual.invalid", 3389, 1.0, prefer)[1] == expected


def test_every_driver_connects_to_the_family_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dual-stack name whose server listens on IPv4 only: probed in the resolver's order it
    is refused on ::1; preferring IPv4 reaches the server, as FreeRDP's client would."""
    monkeypatch.setattr(socket, "getaddrinfo", resolver_answering("::1", "127.0.0.1"))
    with MockRdpServer("windows-nla") as server:
        port = server.address[1]
        target = f"dual.invalid:{port}"
        options = {**FAST, "stop_after": "connection_initiation"}
        first = rdpprobe.probe(target, **options)
        found = [
            rdpprobe.probe(target, prefer="ipv4", **options),
            asyncio.run(rdpprobe.aprobe(target, prefer="ipv4", **options)),
            *rdpprobe.probe_many([target], prefer="ipv4", **options),
        ]
    assert (first.signal, first.target.address) == (Signal.REFUSED, "::1")
    assert [(r.signal, r.target.address) for r in found] == [(Signal.OK, "127.0.0.1")] * 3


def test_prefer_takes_only_a_family_name() -> None:
    with pytest.raises(ProbeUsageError, match="prefer must be 'ipv4' or 'ipv6', not 'ipv5'"):
        rdpprobe.probe("127.0.0.1", prefer="ipv5")
