"""``rdpprobe.probe_many``: the scanner's engine for embedding programs."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import pytest

import rdpprobe
from rdpprobe.errors import ProbeUsageError
from rdpprobe.mock import MockRdpServer
from rdpprobe.sequence.phases import Phase

FAST = {"connect_timeout": 1, "timeout": 1, "deadline": 3}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_targets_classified_as_probe_classifies_each() -> None:
    closed = _closed_port()
    with MockRdpServer("windows-tls") as tls, MockRdpServer("windows-nla") as nla:
        targets = [f"127.0.0.1:{tls.address[1]}", f"127.0.0.1:{nla.address[1]}", f"127.0.0.1:{closed}"]
        many = {result.target.port: result for result in rdpprobe.probe_many(targets, **FAST)}
        single = {port: rdpprobe.probe(f"127.0.0.1:{port}", **FAST) for port in many}
    assert set(many) == {tls.address[1], nla.address[1], closed}
    for port, result in many.items():
        expected = single[port]
        assert (result.phase_reached, result.signal, result.verdict.taxonomy_id) == (
            expected.phase_reached, expected.signal, expected.verdict.taxonomy_id)  # fmt: skip
    assert many[tls.address[1]].phase_reached is Phase.CAPABILITIES_EXCHANGE


def test_depth_ports_ranges_and_exclusions() -> None:
    closed = [_closed_port(), _closed_port()]
    with MockRdpServer("windows-nla") as server:
        port = server.address[1]
        results = list(rdpprobe.probe_many(["127.0.0.1-3", f"127.0.0.1:{port}"], ports=closed, exclude=["127.0.0.2"],
                                           depth="quick", **FAST))  # fmt: skip
    seen = sorted((result.target.host, result.target.port, result.signal.value) for result in results)
    assert seen == sorted([
        ("127.0.0.1", port, "ok"), ("127.0.0.1", closed[0], "refused"), ("127.0.0.1", closed[1], "refused"),
        ("127.0.0.3", closed[0], "refused"), ("127.0.0.3", closed[1], "refused"),
    ])  # fmt: skip
    assert next(r for r in results if r.ok).phase_reached is Phase.CONNECTION_INITIATION


def test_leaving_the_loop_early_closes_every_connection() -> None:
    with contextlib.ExitStack() as stack:
        silent = [stack.enter_context(socket.socket()) for _ in range(30)]
        for listener in silent:  # Connections complete in the backlog and are never accepted.
            listener.bind(("127.0.0.1", 0))
            listener.listen(4)
        before = _open_descriptors()
        ports = [_closed_port(), *(listener.getsockname()[1] for listener in silent)]
        results = rdpprobe.probe_many("127.0.0.1", ports=ports, concurrency=20, **FAST)
        assert next(results).signal.value == "refused"
        assert _open_descriptors() >= before + 19  # The silent listeners' probes are in flight.
        results.close()
        assert _open_descriptors() == before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rdpprobe.probe_many(["127.0.0.1", "10.0.0.1/33"]), "10.0.0.1/33"),
        (lambda: rdpprobe.probe_many("-"), "standard input"),
        (lambda: rdpprobe.probe_many([b"127.0.0.1"]), "expected a string"),
        (lambda: rdpprobe.probe_many("127.0.0.1", user="u", password="p"), "never sends credentials (user given)"),
        (lambda: rdpprobe.probe_many("127.0.0.1", ports=0), "invalid port 0"),
        (lambda: rdpprobe.probe_many("127.0.0.1", ports="3389,,3390"), "ports: invalid port ''"),
        (lambda: rdpprobe.probe_many("127.0.0.1", ports=[]), "at least one port"),
        (lambda: rdpprobe.probe_many("127.0.0.1", concurrency=0), "concurrency must be"),
        (lambda: rdpprobe.probe_many("127.0.0.1", rate=float("nan")), "rate must be"),
        (lambda: rdpprobe.probe_many("127.0.0.1", tls="gnutls"), "tls must be one of"),
        (lambda: rdpprobe.probe_many("127.0.0.1", depth="deep"), "unknown depth"),
        (lambda: rdpprobe.probe_many("127.0.0.1", timeout=-1), "timeout must be positive"),
        (lambda: rdpprobe.probe_many("127.0.0.1", exclude=["10.0.0.0/99"]), "10.0.0.0/99"),
    ],
)
def test_bad_input_is_refused_before_any_connection(call: object, message: str) -> None:
    with pytest.raises(ProbeUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()  # type: ignore[operator]


def test_a_bad_target_from_a_stream_ends_the_scan_where_it_is_read() -> None:
    closed = _closed_port()

    def lines() -> Iterator[str]:
        yield f"127.0.0.1:{closed}"
        yield "not a target!"

    results = rdpprobe.probe_many(lines(), **FAST)
    assert next(results).target.port == closed
    with pytest.raises(ProbeUsageError, match="not a target!"):
        next(results)
