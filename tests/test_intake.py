"""Targets in, off the engine's thread: a producer that pauses never stalls a scan."""

from __future__ import annotations

import asyncio
import itertools
import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import rdpprobe
from tests.transport.listeners import closed_ports

FAST = {"connect_timeout": 1, "timeout": 1, "deadline": 3}
#: How long a test's producer pauses at most, waiting for the result of what it gave so far;
#: a scan that stalls on the producer makes it wait all of it.
PAUSE_BOUND_S = 10.0
#: Every wait below ends by this bound.
WAIT_BOUND_S = 30.0


def _scan(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rdpprobe", "scan", "-", "--no-progress", *argv], text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _line_within(stream: object, bound: float) -> str:
    """The next line of ``stream`` if one starts within ``bound`` seconds, else ''."""
    ready, _, _ = select.select([stream], [], [], bound)
    return stream.readline() if ready else ""  # type: ignore[attr-defined]


def test_a_result_is_written_while_the_producer_on_stdin_pauses() -> None:
    """``(echo A; sleep; echo B) | rdpprobe scan -``: A's line is out, flushed to the pipe,
    before the producer writes B, and A's connect time is the connect's, not the pause's."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        [closed] = closed_ports(1)
        with _scan("--stop-after", "tcp_connect", "--connect-timeout", "1", "--no-summary") as proc:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"127.0.0.1:{port}\n")
            proc.stdin.flush()
            first = _line_within(proc.stdout, PAUSE_BOUND_S)  # The producer pauses here.
            proc.stdin.write(f"127.0.0.1:{closed}\n")
            proc.stdin.close()
            rest = proc.stdout.read()
            assert proc.wait(timeout=WAIT_BOUND_S) == 0
    assert first, "no result while the producer paused"
    record = json.loads(first)
    assert (record["port"], record["signal"]) == (port, "ok")
    assert record["timings"]["tcp_connect"] < 1.0  # Within --connect-timeout, as a connect must be.
    assert [json.loads(line)["port"] for line in rest.splitlines()] == [closed]


def test_ctrl_c_while_the_producer_is_idle_ends_the_scan_at_once() -> None:
    """SIGINT with the producer silent and the input open: exit 130, no hang, no abort."""
    import signal

    [closed] = closed_ports(1)
    with _scan("--depth", "quick", "--connect-timeout", "1") as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(f"127.0.0.1:{closed}\n")
        proc.stdin.flush()
        first = _line_within(proc.stdout, PAUSE_BOUND_S)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=WAIT_BOUND_S)
        err = proc.stderr.read()
        proc.stdin.close()
    assert first and json.loads(first)["signal"] == "refused"
    assert code == 130 and "Fatal Python error" not in err and "Traceback" not in err


def _pausing(first: str, second: str, resume: threading.Event, waited: list[bool]) -> Iterator[str]:
    """``first``, then a pause until ``resume`` is set (bounded), then ``second``."""
    yield first
    waited.append(resume.wait(PAUSE_BOUND_S))
    yield second


def test_probe_many_yields_while_a_slow_iterator_pauses() -> None:
    ports = closed_ports(2)
    resume, waited = threading.Event(), []
    targets = _pausing(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", resume, waited)
    seen = []
    for result in rdpprobe.probe_many(targets, depth="quick", **FAST):
        seen.append(result.target.port)
        resume.set()
    assert waited == [True], "the first result waited for the iterator's next target"
    assert seen == ports


def test_aprobe_many_yields_while_a_slow_iterator_pauses() -> None:
    ports = closed_ports(2)
    resume, waited = threading.Event(), []
    targets = _pausing(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", resume, waited)

    async def scan() -> list[int]:
        seen = []
        async for result in rdpprobe.aprobe_many(targets, depth="quick", **FAST):
            seen.append(result.target.port)
            resume.set()
        return seen

    assert asyncio.run(scan()) == ports
    assert waited == [True]


def test_leaving_probe_many_early_does_not_wait_for_a_blocked_iterator() -> None:
    [closed] = closed_ports(1)
    release, returned = threading.Event(), threading.Event()

    def targets() -> Iterator[str]:
        yield f"127.0.0.1:{closed}"
        release.wait(WAIT_BOUND_S)  # Blocked until the test is over.
        returned.set()
        yield f"127.0.0.1:{closed}"

    try:
        for result in rdpprobe.probe_many(targets(), depth="quick", **FAST):
            assert result.target.port == closed
            break
        assert not returned.is_set(), "leaving the loop waited for the blocked iterator"
    finally:
        release.set()


def test_the_intake_holds_at_most_its_capacity_and_refills_from_half() -> None:
    from rdpprobe.engine.intake import Intake

    produced = itertools.count()
    read: list[int] = []

    def source() -> Iterator[int]:
        for value in itertools.count():
            read.append(next(produced))
            yield value

    intake: Intake[int] = Intake(source(), capacity=8)
    try:
        ready, _, _ = select.select([intake.wake_reader], [], [], WAIT_BOUND_S)
        assert ready  # A first item landed on the empty queue and woke the reader.
        give_up = time.monotonic() + WAIT_BOUND_S
        while len(read) < 9 and time.monotonic() < give_up:
            time.sleep(0.01)
        time.sleep(0.1)  # Room for a reader that ignores the bound to run past it.
        assert len(read) == 9  # Eight queued, the ninth held until there is room.
        taken = [intake.take() for _ in range(3)]
        time.sleep(0.1)
        assert taken == [0, 1, 2] and len(read) == 9  # Not yet down to half: no refill.
        assert intake.take() == 3  # Down to half: the reader fills the queue again.
        while len(read) < 13 and time.monotonic() < give_up:
            time.sleep(0.01)
        assert len(read) == 13 and not intake.done
    finally:
        intake.close()


def test_the_intake_ends_with_the_error_its_source_raised() -> None:
    from rdpprobe.engine.intake import Intake

    def source() -> Iterator[int]:
        yield 1
        raise ValueError("bad line")

    intake: Intake[int] = Intake(source())
    try:
        give_up = time.monotonic() + WAIT_BOUND_S
        while not intake.done and time.monotonic() < give_up:
            if intake.take() is None:
                time.sleep(0.01)
        assert intake.done and isinstance(intake.error, ValueError)
    finally:
        intake.close()

