"""``rdpprobe.probe_many`` and ``aprobe_many``: the scanner's engine for embedding programs."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
from collections.abc import Iterator

import pytest

import rdpprobe
from rdpprobe.errors import ProbeUsageError
from rdpprobe.mock import MockRdpServer
from rdpprobe.sequence.phases import Phase
from tests.transport.listeners import closed_port, closed_ports

FAST = {"connect_timeout": 1, "timeout": 1, "deadline": 3}


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _silent_listeners(stack: contextlib.ExitStack, count: int) -> list[int]:
    """Ports where connections complete in the backlog and are never accepted or answered."""
    ports = []
    for _ in range(count):
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        ports.append(listener.getsockname()[1])
    return ports


def test_many_targets_classified_as_probe_classifies_each() -> None:
    closed = closed_port()
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
    with MockRdpServer("windows-nla") as server:
        closed = closed_ports(2)  # While the server holds its port: none is that one.
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
        # The closed port after 19 silent ones: targets start in input order, so its result
        # comes with those 19 in flight, however the input reached the engine.
        silent = _silent_listeners(stack, 30)
        ports = [*silent[:19], closed_port(), *silent[19:]]
        before = _open_descriptors()
        results = rdpprobe.probe_many("127.0.0.1", ports=ports, concurrency=20, timeout=20, deadline=30)
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


@pytest.mark.parametrize("rate", [None, math.inf])
def test_no_rate_and_an_infinite_rate_are_both_no_limit(rate: float | None) -> None:
    """As ``rdpprobe scan --rate inf`` takes it."""
    port = closed_port()
    results = list(rdpprobe.probe_many("127.0.0.1-20", ports=port, rate=rate, depth="quick"))
    assert len(results) == 20 and {r.signal.value for r in results} == {"refused"}


def test_a_bad_target_from_a_stream_ends_the_scan_where_it_is_read() -> None:
    closed = closed_port()

    def lines() -> Iterator[str]:
        yield f"127.0.0.1:{closed}"
        yield "not a target!"

    results = rdpprobe.probe_many(lines(), **FAST)
    assert next(results).target.port == closed
    with pytest.raises(ProbeUsageError, match="not a target!"):
        next(results)


async def _collect(targets: list[str], **options: object) -> list[rdpprobe.ProbeResult]:
    return [result async for result in rdpprobe.aprobe_many(targets, **options)]


def test_aprobe_many_gives_what_probe_many_gives() -> None:
    closed = closed_port()
    with MockRdpServer("windows-tls") as tls:
        targets = [f"127.0.0.1:{tls.address[1]}", f"127.0.0.1:{closed}"]
        many = sorted((r.target.port, r.signal, r.phase_reached) for r in rdpprobe.probe_many(targets, **FAST))
        amany = sorted((r.target.port, r.signal, r.phase_reached) for r in asyncio.run(_collect(targets, **FAST)))
    assert amany == many and len(many) == 2


def test_aprobe_many_never_holds_the_event_loop() -> None:
    """The engine waits on the network in its own thread: the loop's other tasks go on."""

    async def main(ports: list[int]) -> tuple[int, list[rdpprobe.ProbeResult]]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        results = await _collect(["127.0.0.1"], ports=ports, depth="quick", timeout=0.5, deadline=1)
        task.cancel()
        return ticks, results

    with contextlib.ExitStack() as stack:
        ticks, results = asyncio.run(main(_silent_listeners(stack, 5)))
    assert len(results) == 5 and all(r.failed_phase is Phase.CONNECTION_INITIATION for r in results)
    assert ticks >= 10  # About 25 in the half second the probes wait; 0 if the loop were held.


def test_leaving_aprobe_many_early_closes_every_connection() -> None:
    async def first(ports: list[int]) -> rdpprobe.ProbeResult:
        results = rdpprobe.aprobe_many("127.0.0.1", ports=ports, concurrency=20, timeout=20, deadline=30)
        async for result in results:
            await results.aclose()
            return result
        raise AssertionError("no result")

    with contextlib.ExitStack() as stack:
        # The closed port after 19 silent ones: targets start in input order, so its result
        # comes with those 19 in flight, however the input reached the engine.
        silent = _silent_listeners(stack, 30)
        ports = [*silent[:19], closed_port(), *silent[19:]]
        before = _open_descriptors()
        assert asyncio.run(first(ports)).signal.value == "refused"
        give_up = time.monotonic() + 3  # The engine's thread notices within its poll's second.
        while _open_descriptors() > before and time.monotonic() < give_up:
            time.sleep(0.05)
        assert _open_descriptors() == before


def test_aprobe_many_refuses_bad_input_when_called() -> None:
    with pytest.raises(ProbeUsageError, match="never sends credentials"):
        rdpprobe.aprobe_many("127.0.0.1", password="p")
    with pytest.raises(ProbeUsageError, match="10.0.0.1/33"):
        rdpprobe.aprobe_many(["10.0.0.1/33"])


def test_aprobe_many_raises_a_bad_streamed_target_where_it_is_read() -> None:
    closed = closed_port()

    async def main() -> list[int]:
        ports = []
        with pytest.raises(ProbeUsageError, match="not a target!"):
            async for result in rdpprobe.aprobe_many(iter([f"127.0.0.1:{closed}", "not a target!"]), **FAST):
                ports.append(result.target.port)
        return ports

    assert asyncio.run(main()) == [closed]
