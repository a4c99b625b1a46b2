"""The scanner's engine: one thread, one poller, many probes at once.

Rules of this module:
- targets are read from the iterator by ``intake.Intake`` in a thread of its own, into a
  bounded queue, so a producer that pauses (a pipe on standard input) never stalls the
  loop: probes, timers and results go on while it is idle, and a new target wakes the
  poller; a target is taken off that queue only when a slot is free, and each result is
  handed to ``emit`` as soon as its target is done: memory follows the concurrency and the
  queue's bound, not the scan;
- a target holds one slot from its first connection to its final result, through every
  connection its plan makes (negotiation fallback, protocol enumeration), and the whole of
  it must end within the per-target deadline;
- new connections are paced by a token bucket when a rate is set;
- a local shortage (EMFILE, ENOBUFS, no ephemeral port) puts the target back in line after
  a back-off and lowers the concurrency to what the machine bore; it is never a result;
- any other exception while driving a probe ends that target with an ``internal_error``
  result; the scan goes on;
- an audit's fan-out (``sequence.audit``) runs its chains side by side under the target's
  slot and deadline: at most ``AuditSettings.concurrency`` of its connections open at once,
  started at most ``AuditSettings.rate`` a second (``Fan``), each also paced by the scan's rate.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rdpprobe.addresses import canonical_literal
from rdpprobe.engine.intake import INTAKE_FLOOR, Intake
from rdpprobe.engine.limits import (
    TokenBucket,
    backoff_delay,
    cap_concurrency,
    raise_fd_limit,
    MAX_LOCAL_RETRIES,
)
from rdpprobe.engine.link import RECV_SIZE, Link, LinkTable
from rdpprobe.engine.poller import Poller, make_poller
from rdpprobe.engine.resolve import Resolver
from rdpprobe.engine.tlsflavor import TlsFlavor, audit_flavor, tls_flavor
from rdpprobe.result import ProbeResult, Target, internal_error_result
from rdpprobe.sequence import audit
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.plan import Plan, Step, advance, out_of_time, plan
from rdpprobe.sequence.prober import Prober
from rdpprobe.sequence.quick import QuickProber, QuickShapes
from rdpprobe.transport.errors import LocalResourceError

logger = logging.getLogger(__name__)

#: Longest single wait in the poller, in seconds, so that the loop notices a stop request.
MAX_POLL_WAIT = 1.0
#: The timer heap is rebuilt without stale entries once it holds this many per live link.
STALE_TIMER_RATIO = 4
STALE_TIMER_FLOOR = 1024

Emit = Callable[[ProbeResult], None]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How hard and how fast to scan."""

    concurrency: int = 100
    """Targets in flight at once (lowered to fit the descriptor limit)."""
    rate: float | None = None
    """New connections per second; None, 0 or infinity: as fast as slots free up."""
    deadline: float | None = None
    """Seconds one target may take, all its connections included; None: the config's overall."""
    tls: str = "auto"
    """TLS library: ``auto`` (pyOpenSSL if importable), ``openssl`` or ``stdlib``."""
    keylog_path: str | None = None
    address_filter: Callable[[str, int], bool] | None = None
    """Asked about the address a host name resolved to; False drops the target (excluded)."""
    on_excluded: Callable[[Target], None] | None = None
    """Told of each target ``address_filter`` dropped, which gets no result (a coordinator
    spreading a scan over processes counts it as done)."""
    prefer_epoll: bool = True


@dataclass(slots=True)
class EngineStats:
    """What the engine did, for the summary and the benchmarks."""

    targets: int = 0
    results: int = 0
    connections: int = 0
    local_retries: int = 0
    internal_errors: int = 0
    excluded: int = 0
    fd_limit: int = 0
    concurrency: int = 0
    tls: str = ""
    """The TLS library the probes used; empty when none needed TLS."""


class Job:
    """One target's walk through its plan."""

    __slots__ = ("target", "steps", "config", "family", "address", "started_at", "deadline_at", "link", "retries", "connections", "done")

    def __init__(self, target: Target, steps: Plan, deadline_at: float) -> None:
        self.target = target
        self.steps = steps
        first = next(steps)
        if not isinstance(first, ProbeConfig):
            raise TypeError("a plan starts with a connection")
        self.config = first
        self.family, self.address = _literal(target)
        self.started_at = datetime.now(UTC)
        self.deadline_at = deadline_at
        self.link: Link | None = None
        self.retries = 0
        self.connections = 0
        """Connections of the plan made so far (a retry for local resources is none)."""
        self.done = False


class Fan:
    """One target's audit chains in flight (``audit.Fanout``), for the parent ``job``.

    ``running`` counts chain jobs holding one of the target's connection slots, whether
    connected, queued to connect or waiting for the target's pace; ``next_at`` is when the
    next of them may start.
    """

    __slots__ = ("job", "plan", "answers", "pending", "queue", "running", "next_at")

    def __init__(self, job: Job, plan: audit.Fanout, now: float) -> None:
        self.job = job
        self.plan = plan
        self.answers: list[object] = [None] * len(plan.chains)
        self.pending = len(plan.chains)
        self.queue: deque[ChainJob] = deque()
        self.running = 0
        self.next_at = now


class ChainJob(Job):
    """One chain of a ``Fan``: connections made one after another for one question."""

    __slots__ = ("fan", "index", "chain")

    def __init__(self, fan: Fan, index: int, chain: audit.Chain, config: ProbeConfig) -> None:
        # INVARIANT: the base initialiser is not called; it would start a plan.
        parent = fan.job
        self.fan, self.index, self.chain = fan, index, chain
        self.target, self.steps, self.config = parent.target, parent.steps, config
        self.family, self.address = parent.family, parent.address
        self.started_at = datetime.now(UTC)
        self.deadline_at = parent.deadline_at
        self.link: Link | None = None
        self.retries = 0
        self.connections = 0
        self.done = False


def _literal(target: Target) -> tuple[int, str | None]:
    """The address family and canonical text of the target's address literal; None: a name.

    A literal already in canonical form is returned as the target's own string, so that a
    parked job does not keep a second copy of it.
    """
    literal = canonical_literal((target.address or target.host).strip("[]"))
    return (socket.AF_INET, None) if literal is None else literal


def _target_cap(config: ProbeConfig, concurrency: int, fd_limit: int) -> int:
    """Targets in flight: ``concurrency``, lowered so that every connection an audited
    target may hold open at once has a descriptor."""
    per_target = config.audit.concurrency if config.audit is not None else 1
    return max(1, cap_concurrency(concurrency * per_target, fd_limit) // per_target)


def _connection_started_at(job: Job) -> datetime:
    """Wall-clock start of ``job``'s next connection.

    The first connection of a job is made in the loop turn that pulled it, so it shares the
    job's own timestamp instead of taking (and keeping) another; later ones take their own.
    """
    if not job.connections and not job.retries:
        return job.started_at
    return datetime.now(UTC)


class Engine:
    """Runs ``plan(config)`` for every target with bounded concurrency; see the module rules."""

    def __init__(
        self,
        config: ProbeConfig,
        options: EngineOptions = EngineOptions(),
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config
        self.options = options
        self.buffer = bytearray(RECV_SIZE)
        self.view = memoryview(self.buffer)
        self.stats = EngineStats()
        self._tls: TlsFlavor | None = None
        self._audit_tls: TlsFlavor | None = None
        if options.tls != "auto":
            self._tls = self.tls  # An explicit choice is checked before the scan starts.
        self._clock = clock
        self._rng = rng
        self._deadline = options.deadline or config.timeouts.overall
        self._seq = itertools.count()
        self.poller: Poller = make_poller(options.prefer_epoll)
        self._links = LinkTable()
        self._timers: list[tuple[float, int, Link]] = []
        self._later: list[tuple[float, int, Job]] = []
        self._ready: deque[Job] = deque()
        self._again: list[Link] = []
        self._done: deque[ProbeResult] = deque()
        self._active = 0
        self._cap = 1
        self._intake: Intake[Target] | None = None
        self._flying: dict[Job, None] = {}
        """The jobs in flight, oldest first (for ``in_flight``)."""
        self._lookahead: Target | None = None
        """The next target, read before a connection is spent on it (see ``_peek``)."""
        self._exhausted = False
        self._target_error: BaseException | None = None
        self._bucket: TokenBucket | None = None
        self._resolver: Resolver | None = None
        self._quick = QuickShapes.for_config(config)
        """The fast path's shared state when the scan stops at the Connection Confirm."""
        self.stopping = False
        """Set by ``stop``: the loop ends at its next turn."""

    # -- public --------------------------------------------------------------------------

    @property
    def tls(self) -> TlsFlavor:
        """The TLS library, loaded when a probe first needs it (a quick scan never does)."""
        if self._tls is None:
            self._tls = tls_flavor(self.options.tls, self.config.legacy_tls, self.options.keylog_path)
            self.stats.tls = self._tls.name
        return self._tls

    @property
    def audit_tls(self) -> TlsFlavor:
        """The TLS library of audit connections (``tlsflavor.audit_flavor``), loaded when first needed."""
        if self._audit_tls is None:
            self._audit_tls = audit_flavor(self.options.keylog_path)
        return self._audit_tls

    def run(self, targets: Iterable[Target], emit: Emit, flush: Callable[[], None] | None = None) -> EngineStats:
        """Probe every target; call ``emit`` with each result as it is final.

        ``flush``, when given, is called after each turn's results are emitted, before the
        engine waits again: output can be buffered per turn (one write for all the results
        a turn finished) and still never wait on the network.
        """
        with contextlib.closing(self.turns(targets)) as turns:
            for finished in turns:
                for result in finished:
                    emit(result)
                if flush is not None:
                    flush()
        return self.stats

    def stop(self) -> None:
        """Ask a running loop, from any thread, to end at its next turn (within ``MAX_POLL_WAIT``):
        every connection is closed and the unfinished targets get no result."""
        self.stopping = True

    def set_rate(self, rate: float | None) -> None:
        """Change the connection rate of a running scan from its own thread (a coordinator
        moving a global budget between processes); None or infinity: no limit."""
        self._bucket = TokenBucket(rate, self._clock()) if rate and rate < math.inf else None

    def turns(self, targets: Iterable[Target]) -> Generator[list[ProbeResult], None, None]:
        """Probe every target, yielding the results each turn of the loop finished.

        Nothing moves on the network while the caller holds a turn's results; closing the
        generator early closes every connection. A malformed target raises its error once
        the targets read before it are done.
        """
        self.stats.fd_limit = raise_fd_limit()
        self._cap = _target_cap(self.config, self.options.concurrency, self.stats.fd_limit)
        self.stats.concurrency = self._cap
        intake = self._intake = Intake(targets, max(INTAKE_FLOOR, self._cap))
        self.poller.add_reader(intake.wake_reader)
        now = self._clock()
        if self.options.rate and self.options.rate < math.inf:  # 0 and infinity: no limit.
            self._bucket = TokenBucket(self.options.rate, now)
        try:
            yield from self._loop()
        finally:
            self._shutdown()
        if self._target_error is not None:
            raise self._target_error

    def in_flight(self) -> tuple[int, float | None]:
        """Targets in flight and when (``clock``) the oldest of them started; safe to call from
        another thread (a progress bar's), where it may lag a turn behind."""
        try:
            oldest = next(iter(self._flying), None)
        except RuntimeError:  # The loop changed the jobs as they were read: ask again later.
            return self._active, None
        return self._active, None if oldest is None else oldest.deadline_at - self._deadline

    # -- called by links -----------------------------------------------------------------

    def attach(self, link: Link, sock: socket.socket) -> None:
        self._links.add(sock.fileno(), link)
        self.stats.connections += 1

    def detach(self, link: Link, sock: socket.socket) -> None:
        self._links.remove(sock.fileno(), link)
        self.poller.forget(sock)

    def arm(self, when: float, link: Link) -> None:
        """Make sure the timer heap wakes ``link`` no later than ``when``.

        A link keeps one live heap entry: a later deadline leaves the earlier entry where
        it is (``_fire`` moves it on when it comes due), only an earlier one is pushed.
        """
        armed = link.armed
        if armed is not None and armed <= when:
            return
        link.armed = when
        heapq.heappush(self._timers, (when, next(self._seq), link))

    def read_again(self, link: Link) -> None:
        self._again.append(link)

    def connection_done(self, link: Link, result: ProbeResult) -> None:
        """A connection of ``link.job`` is over: advance its plan or finish the target."""
        job = link.job
        job.link = None
        job.connections += 1
        if isinstance(job, ChainJob):
            self._chain_made(job, result)
            return
        self._next_step(job, advance(job.steps, result))

    def _next_step(self, job: Job, after: Step | ProbeResult) -> None:
        if isinstance(after, ProbeResult):
            self._complete(job, after)
        elif isinstance(after, audit.Fanout):
            self._fan_out(job, after)
        else:
            job.config = after
            self._ready.append(job)

    # -- an audit's fan-out --------------------------------------------------------------

    def _fan_out(self, job: Job, plan: audit.Fanout) -> None:
        fan = Fan(job, plan, self._clock())
        for index, chain in enumerate(plan.chains):
            self._chain_next(fan, index, chain, audit.step(chain, None), None)
        self._fan_pump(fan)

    def _chain_made(self, job: ChainJob, result: ProbeResult | None) -> None:
        """A connection of a chain is over (None: not made); its chain goes on or answers."""
        fan = job.fan
        fan.running -= 1
        if fan.job.done:
            return
        self._chain_next(fan, job.index, job.chain, audit.step(job.chain, result), job)
        self._fan_pump(fan)

    def _chain_next(self, fan: Fan, index: int, chain: audit.Chain, after: ProbeConfig | audit.Answered,
                    job: ChainJob | None) -> None:
        if isinstance(after, audit.Answered):
            fan.answers[index] = after.value
            fan.pending -= 1
            return
        if job is None:
            job = ChainJob(fan, index, chain, after)
        job.config = after
        fan.queue.append(job)

    def _fan_pump(self, fan: Fan) -> None:
        """Start what the target's limits allow; resume the plan once every chain answered."""
        if fan.pending == 0 and not fan.running:
            parent = fan.job
            if not parent.done:
                self._next_step(parent, advance(parent.steps, tuple(fan.answers)))
            return
        limits, now = fan.plan.limits, self._clock()
        gap = 1.0 / limits.rate if limits.rate and limits.rate < math.inf else 0.0
        while fan.queue and fan.running < limits.concurrency:
            job = fan.queue.popleft()
            fan.running += 1
            start = max(now, fan.next_at)
            fan.next_at = start + gap
            if start <= now:
                self._ready.append(job)
            else:
                heapq.heappush(self._later, (start, next(self._seq), job))

    # -- the loop ------------------------------------------------------------------------

    def _loop(self) -> Generator[list[ProbeResult], None, None]:
        poller, links, clock, done = self.poller, self._links, self._clock, self._done
        while not self.stopping:
            self._start(clock())
            if done:
                finished = list(done)
                done.clear()
                yield finished
            if not self._active and self._exhausted:
                return
            events = poller.poll(self._timeout(clock()))
            now = clock()
            for fd, mask in events:
                link = links.get(fd)
                if link is None:
                    self._woken(fd, now)
                    continue
                try:
                    link.on_event(mask, now)
                except LocalResourceError as exc:
                    self._shortage(link.job, exc, now)
                except Exception as exc:  # noqa: BLE001 - one probe's bug is one error result
                    self._crash(link.job, exc)
            self._fire(now)

    def _timeout(self, now: float) -> float:
        if self._again or self._done:
            return 0.0
        wait = MAX_POLL_WAIT
        if self._timers:
            wait = min(wait, self._timers[0][0] - now)
        if self._later:
            wait = min(wait, self._later[0][0] - now)
        if self._has_work():
            wait = min(wait, self._bucket.wait(now) if self._bucket else 0.0)
        return max(0.0, wait)

    def _has_work(self) -> bool:
        return bool(self._ready) or (self._active < self._cap and self._peek())

    def _peek(self) -> bool:
        """Whether another target is waiting in the input.

        It is read one ahead so that the end of the input is seen as soon as it comes, not
        after the rate limiter's next token (a second at --rate 1, forever at tiny rates).
        """
        if self._lookahead is None and not self._exhausted:
            self._lookahead = self._read_target()
        return self._lookahead is not None

    def _read_target(self) -> Target | None:
        """The next target the intake holds, never waiting for one; at the end of the input,
        None and ``_exhausted`` (a bad target line ends the input, not the scan)."""
        intake = self._intake
        if intake is None:
            return None
        target = intake.take()
        if target is None and intake.done:
            self._exhausted = True
            self._target_error = intake.error
        return target

    def _woken(self, fd: int, now: float) -> None:
        """A wake-up socket is readable: new targets came in, or names were resolved."""
        intake = self._intake
        if intake is not None and fd == intake.wake_reader.fileno():
            intake.drain_wake()
        else:
            self._resolved(now)

    def _start(self, now: float) -> None:
        """Open connections for waiting jobs and new targets, at most ``cap`` per turn."""
        later = self._later
        while later and later[0][0] <= now:
            self._ready.append(heapq.heappop(later)[2])
        bucket = self._bucket
        for _ in range(self._cap):
            if not self._has_work() or (bucket is not None and not bucket.take(now)):
                return
            job = self._ready.popleft() if self._ready else self._pull(now)
            if job is None:
                return
            try:
                self._connect(job, now)
            except LocalResourceError as exc:
                self._shortage(job, exc, now)
            except Exception as exc:  # noqa: BLE001 - one probe's bug is one error result
                self._crash(job, exc)

    def _pull(self, now: float) -> Job | None:
        """A job for the target ``_peek`` read ahead (``_has_work`` has just peeked)."""
        target, self._lookahead = self._lookahead, None
        if target is None:
            return None
        self._active += 1
        self.stats.targets += 1
        try:
            job = Job(target, plan(self.config), now + self._deadline)
        except Exception as exc:  # noqa: BLE001
            self._complete_error(target, datetime.now(UTC), exc)
            return None
        self._flying[job] = None
        return job

    def _connect(self, job: Job, now: float) -> None:
        if isinstance(job, ChainJob) and (job.fan.job.done or job.deadline_at <= now):
            self._chain_made(job, None)  # Out of time, or the target ended: not made.
            return
        if job.deadline_at <= now and job.connections:
            self._complete(job, out_of_time(job.steps))
            return
        config = job.config
        started_at = _connection_started_at(job)
        quick = self._quick
        prober: Prober | QuickProber
        if quick is not None and config is quick.config:  # The plan's own config: the fast path.
            prober = QuickProber(quick, job.target, now=now, started_at=started_at, rng=self._rng, deadline_at=job.deadline_at)
        else:
            prober = Prober(job.target, config, now=now, started_at=started_at, rng=self._rng, deadline_at=job.deadline_at)
        link = job.link = Link(self, job, prober)
        if job.address is not None:
            link.open(job.family, job.address, now)
        else:
            link.drain(now)
            self._lookup(link, config.timeouts.connect)

    # -- names ---------------------------------------------------------------------------

    def _lookup(self, link: Link, timeout: float) -> None:
        if self._resolver is None:
            self._resolver = Resolver(self.config.prefer)
            self.poller.add_reader(self._resolver.wake_reader)
        target = link.job.target
        self._resolver.submit(link, target.host, target.port, timeout)

    def _resolved(self, now: float) -> None:
        if self._resolver is None:
            return
        for link, answer, exc in self._resolver.answers():
            if link.closed or link.job.done:
                continue
            try:
                self._on_answer(link, answer, exc, now)
            except LocalResourceError as error:
                self._shortage(link.job, error, now)
            except Exception as error:  # noqa: BLE001
                self._crash(link.job, error)

    def _on_answer(self, link: Link, answer: tuple[socket.AddressFamily, str] | None, exc: BaseException | None, now: float) -> None:
        job = link.job
        if answer is None:
            link.on_resolve_failed(exc or OSError("resolution failed"), now)
            return
        family, address = answer
        allowed = self.options.address_filter
        if allowed is not None and not allowed(address, job.target.port):
            link.close()
            self.stats.excluded += 1
            if self._finish(job) and self.options.on_excluded is not None:
                self.options.on_excluded(job.target)
            return
        job.family, job.address = family, address
        link.open(family, address, now)

    # -- timers --------------------------------------------------------------------------

    def _fire(self, now: float) -> None:
        again, self._again = self._again, []
        for link in again:
            if not link.closed:
                self._guarded(link, link.on_event, self.poller.READ, now)
        heap = self._timers
        while heap and heap[0][0] <= now:
            when, _, link = heapq.heappop(heap)
            if link.closed or link.armed != when:
                continue  # the link is gone, or an earlier entry superseded this one
            link.armed = None
            deadline = link.deadline
            if deadline is None:
                continue
            if deadline > now:
                self.arm(deadline, link)  # the deadline moved later since this entry was pushed
                continue
            link.deadline = None
            self._guarded(link, link.on_timer, now)
        if len(heap) > STALE_TIMER_FLOOR + STALE_TIMER_RATIO * len(self._links):
            self._timers = [entry for entry in heap if not entry[2].closed and entry[2].armed == entry[0]]
            heapq.heapify(self._timers)

    def _guarded(self, link: Link, step: Callable[..., None], *args: object) -> None:
        try:
            step(*args)
        except LocalResourceError as exc:
            self._shortage(link.job, exc, args[-1])  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001
            self._crash(link.job, exc)

    # -- endings -------------------------------------------------------------------------

    def _shortage(self, job: Job, exc: LocalResourceError, now: float) -> None:
        """Out of descriptors or buffers: drop this attempt, lower the cap, retry later."""
        if job.link is not None:
            job.link.close()
            job.link = None
        job.retries += 1
        self.stats.local_retries += 1
        self._cap = max(1, min(self._cap, len(self._links)))
        logger.debug("Local shortage, target requeued", extra={"target": job.target, "error": str(exc)})
        if job.retries > MAX_LOCAL_RETRIES and isinstance(job, ChainJob):
            self._crash(job, exc)
            return
        if job.retries > MAX_LOCAL_RETRIES:
            message = f"local resources exhausted ({exc}) after {job.retries} attempts; the target was not probed"
            self._complete(job, internal_error_result(job.target, job.started_at, message))
            return
        heapq.heappush(self._later, (now + backoff_delay(job.retries), next(self._seq), job))

    def _crash(self, job: Job, exc: BaseException) -> None:
        logger.debug("Probe crashed", exc_info=exc, extra={"target": job.target})
        if job.link is not None:
            job.link.close()
            job.link = None
        if isinstance(job, ChainJob):
            job.chain.close()
            job = job.fan.job  # A chain's bug ends its target; its other chains stop there.
        job.steps.close()
        self.stats.internal_errors += 1
        self._complete(job, internal_error_result(job.target, job.started_at, f"{type(exc).__name__}: {exc}"))

    def _complete_error(self, target: Target, started_at: datetime, exc: BaseException) -> None:
        self.stats.internal_errors += 1
        self._active -= 1
        self._done.append(internal_error_result(target, started_at, f"{type(exc).__name__}: {exc}"))

    def _complete(self, job: Job, result: ProbeResult) -> None:
        if self._finish(job):
            self._done.append(result)
            self.stats.results += 1

    def _finish(self, job: Job) -> bool:
        if job.done:
            return False
        job.done = True
        self._active -= 1
        del self._flying[job]
        return True

    def _shutdown(self) -> None:
        for link in self._links.links():
            link.close()
        if self._intake is not None:
            self._intake.close()  # Never waits: the producer may be idle for good.
        self._flying.clear()
        self.poller.close()
        if self._resolver is not None:
            self._resolver.close()
