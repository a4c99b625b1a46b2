"""What a parked probe costs the engine: one timer entry per link, a descriptor table, shared
strings and timestamps; and the behaviour each of these savings must keep."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import pytest

from rdpprobe.engine import Engine
from rdpprobe.engine.core import Job, _connection_started_at, _literal
from rdpprobe.engine.link import Link, LinkTable
from rdpprobe.result import Target
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.plan import plan

QUICK = ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, timeouts=Timeouts(connect=1.0, phase=0.3, overall=2.0))


@dataclass
class _Link:
    """What the timer heap looks at on a link."""

    deadline: float | None = None
    armed: float | None = None
    closed: bool = False
    fired: list[float] = field(default_factory=list)

    def on_timer(self, now: float) -> None:
        self.fired.append(now)


def _arm(engine: Engine, link: _Link, when: float) -> None:
    """What ``Link.drain`` does when the prober's timer changes."""
    link.deadline = when
    engine.arm(when, link)  # type: ignore[arg-type]


def test_a_later_deadline_adds_no_heap_entry_and_fires_on_time() -> None:
    engine = Engine(QUICK)
    link = _Link()
    for when in (1.0, 2.0, 3.0):
        _arm(engine, link, when)
    assert len(engine._timers) == 1
    engine._fire(1.0)
    assert link.fired == [] and len(engine._timers) == 1  # moved on to the current deadline
    engine._fire(2.5)
    assert link.fired == []
    engine._fire(3.0)
    assert link.fired == [3.0] and link.deadline is None


def test_an_earlier_deadline_fires_early_and_the_old_entry_is_ignored() -> None:
    engine = Engine(QUICK)
    link = _Link()
    _arm(engine, link, 5.0)
    _arm(engine, link, 1.0)
    engine._fire(1.0)
    assert link.fired == [1.0]
    engine._fire(5.0)
    assert link.fired == [1.0]
    assert engine._timers == []


def test_closed_and_finished_links_never_fire() -> None:
    engine = Engine(QUICK)
    closed, finished = _Link(), _Link()
    _arm(engine, closed, 1.0)
    _arm(engine, finished, 1.0)
    closed.closed = True
    finished.deadline = None  # the prober has no timer any more
    engine._fire(2.0)
    assert closed.fired == [] and finished.fired == []


def test_link_table_by_descriptor() -> None:
    table = LinkTable()
    first, second = object(), object()
    table.add(7, first)  # type: ignore[arg-type]
    table.add(3, second)  # type: ignore[arg-type]
    table.add(7, first)  # type: ignore[arg-type]
    assert len(table) == 2
    assert table.get(7) is first and table.get(3) is second
    assert table.get(4) is None and table.get(1000) is None
    table.remove(3, first)  # type: ignore[arg-type]  # fd 3 names another link now
    table.remove(7, first)  # type: ignore[arg-type]
    table.remove(7, first)  # type: ignore[arg-type]
    table.remove(1000, first)  # type: ignore[arg-type]
    table.remove(-1, second)  # type: ignore[arg-type]  # a closed socket's fileno()
    assert len(table) == 1 and table.links() == [second]
    assert table.get(-1) is None


@pytest.mark.parametrize(
    ("text", "family", "canonical"),
    [("192.0.2.1", socket.AF_INET, "192.0.2.1"), ("[2001:db8::1]", socket.AF_INET6, "2001:db8::1"),
     ("2001:DB8:0::1", socket.AF_INET6, "2001:db8::1"), ("rdp.example", socket.AF_INET, None)],
)  # fmt: skip
def test_literal_addresses_are_canonical(text: str, family: int, canonical: str | None) -> None:
    assert _literal(Target(text, 3389, None)) == (family, canonical)


def test_a_canonical_literal_is_the_targets_own_string() -> None:
    address = "".join(["192.0.2.", "17"])  # built at run time: not an interned constant
    _, literal = _literal(Target(address, 3389, address))
    assert literal is address


def test_the_first_connection_shares_the_job_timestamp() -> None:
    job = Job(Target("192.0.2.1", 3389, "192.0.2.1"), plan(QUICK), 10.0)
    assert _connection_started_at(job) is job.started_at
    job.retries = 1
    assert _connection_started_at(job) is not job.started_at


def test_closing_a_link_lets_go_of_tls() -> None:
    engine = Engine(QUICK)
    job = Job(Target("192.0.2.1", 3389, "192.0.2.1"), plan(QUICK), 10.0)
    link = Link(engine, job, None)  # type: ignore[arg-type]
    link.tls = engine.tls.make_pump(None)
    link.close()
    assert link.closed and link.tls is None
