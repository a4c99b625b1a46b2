"""Worker processes on this machine: ``rdpprobe scan --workers N``.

Rules of this module:
- each worker is a fresh interpreter (``spawn``: nothing of the coordinator's threads or
  descriptors is inherited) running one engine over the shares it is handed, with its part
  of the concurrency and of the rate, and its own descriptor limit;
- the coordinator keeps every worker ``PREFETCH`` shares ahead and waits only on the
  workers' pipes and process sentinels and on the intake's wake-up socket, never on the
  targets (``engine.intake.Intake`` reads them in a thread of its own);
- a worker sends a ``Batch`` after each turn of its engine's loop that finished results, so
  a line is written as soon as its target is done;
- a worker that dies (killed, out of memory) has its open shares handed out again without
  the targets already written; one that cannot be replaced leaves them ``lost``;
- the rate budget is divided among the workers that still have shares, again each time
  one runs out of work or dies;
- Ctrl-C is the coordinator's: workers ignore SIGINT and stop when told (or when the
  coordinator's end of the pipe closes), so a killed coordinator leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable
from multiprocessing.connection import Connection, wait
from typing import Any

from rdpprobe.result import ProbeResult, Target
from rdpprobe.resume import target_key
from rdpprobe.scale.books import Books
from rdpprobe.engine.intake import Intake
from rdpprobe.scale.shares import NO_SHARE, Batch, Encoder, Key, ScanSpec, Share, engine_stats, share_size, split
from rdpprobe.scale.shares import split_concurrency, take

#: Shares a worker holds at once: the one its engine reads and the next.
PREFETCH = 2
#: Seconds the coordinator waits at most for a worker's batch, a death or new targets (each
#: of which wakes it at once).
IDLE_WAIT_S = 0.5
#: Seconds a worker's feed waits for its next share between checks that it is still wanted.
FEED_WAIT_S = 0.1
#: Seconds the workers get to send what they finished and exit once told to stop.
STOP_WAIT_S = 3.0
#: Workers started in place of dead ones, per worker asked for.
RESPAWNS_PER_WORKER = 2

SHARE, RATE, END, STOP = "share", "rate", "end", "stop"


# --- the worker process ----------------------------------------------------------------------


def worker_main(conn: Connection, spec: ScanSpec, concurrency: int, rate: float | None) -> None:
    """A worker process: scan the shares ``conn`` brings until told it has them all."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the coordinator's.
    _Worker(conn, spec, concurrency, rate).run()


class _Worker:
    """One engine fed with shares from the coordinator; batches go back after each turn."""

    def __init__(self, conn: Connection, spec: ScanSpec, concurrency: int, rate: float | None) -> None:
        self._conn = conn
        self._encoder = Encoder(spec)
        self.engine = spec.engine(concurrency, rate, self._excluded)
        self._shares: deque[Share] = deque()
        self._changed = threading.Condition()
        self._ended = False
        self._rate: list[float | None] = []
        self._pending: dict[Key, int] = {}
        """The share of each target handed to the engine and not yet finished."""
        self._batch = Batch()

    def run(self) -> None:
        threading.Thread(target=self._receive, name="rdpprobe-worker-inbox", daemon=True).start()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):  # The coordinator is gone.
            self.engine.run(self._feed(), self._emit, self._flush)
            self._flush()

    def _receive(self) -> None:
        """The coordinator's messages, in a thread of their own: the engine never waits on them."""
        try:
            while True:
                kind, value = self._conn.recv()
                with self._changed:
                    if kind == SHARE:
                        self._shares.append(value)
                    elif kind == RATE:
                        self._rate.append(value)
                    else:  # END or STOP
                        self._ended = True
                        if kind == STOP:
                            self.engine.stop()
                    self._changed.notify()
        except (EOFError, OSError):  # The coordinator died or closed its end: stop.
            with self._changed:
                self._ended = True
                self.engine.stop()
                self._changed.notify()

    def _feed(self) -> Generator[Target, None, None]:
        """The targets of each share in turn, waiting for the next share when there is none
        yet: the engine reads its input in a thread of its own, so no probe waits with it."""
        while True:
            with self._changed:
                while not self._shares and not self._ended:
                    self._changed.wait(FEED_WAIT_S)
                if not self._shares:
                    return
                share = self._shares.popleft()
            for target in share.targets:
                self._pending[target_key(target.host, target.port)] = share.index
                yield target

    def _emit(self, result: ProbeResult) -> None:
        share = self._pending.pop(target_key(result.target.host, result.target.port), NO_SHARE)
        self._batch.items.append(self._encoder.item(share, result))

    def _excluded(self, target: Target) -> None:
        key = target_key(target.host, target.port)
        self._batch.excluded.append((self._pending.pop(key, NO_SHARE), key))

    def _flush(self) -> None:
        self._apply_rate()
        batch = self._batch
        if batch.items or batch.excluded:
            batch.stats = engine_stats(self.engine)
            self._batch = Batch()
            self._conn.send(batch)

    def _apply_rate(self) -> None:
        """The latest rate the coordinator sent, set in the engine's own thread."""
        if self._rate:
            self.engine.set_rate(self._rate[-1])
            self._rate.clear()


# --- the coordinator -------------------------------------------------------------------------


class _Process:
    """A worker as the coordinator sees it."""

    __slots__ = ("process", "conn", "concurrency", "shares", "ended")

    def __init__(self, process: Any, conn: Connection, concurrency: int) -> None:
        self.process = process
        self.conn = conn
        self.concurrency = concurrency
        self.shares: set[int] = set()
        self.ended = False


def pool_turns(targets: Iterable[Target], spec: ScanSpec, books: Books, workers: int) -> Generator[None, None, None]:
    """Scan ``targets`` with ``workers`` processes, ``books`` writing each batch; yields
    after each wait for the workers (within ``IDLE_WAIT_S``). Closing the generator stops
    every worker."""
    count = max(1, min(workers, spec.concurrency))
    size = share_size(spec.concurrency // count)
    intake: Intake[Target] = Intake(targets, (count * PREFETCH + 1) * size)
    pool = _Pool(spec, books, size)
    try:
        for index in range(count):
            pool.spawn(split_concurrency(spec.concurrency, count, index), count)
        pool.respawns = count * RESPAWNS_PER_WORKER
        yield from pool.run(intake)
    finally:
        intake.close()
        pool.stop()
    if intake.error is not None:
        raise intake.error
    books.check_complete("worker processes died", unread=not intake.done)


class _Pool:
    def __init__(self, spec: ScanSpec, books: Books, size: int) -> None:
        self._spec = spec
        self._books = books
        self._size = size
        self._context = multiprocessing.get_context("spawn")
        self._live: list[_Process] = []
        self._again: deque[Share] = deque()
        self._next_share = 0
        self._active = 0
        """Workers the rate budget was last divided among."""
        self.respawns = 0

    def spawn(self, concurrency: int, engines: int) -> None:
        """Start a worker with ``concurrency`` slots and its part of the rate for ``engines``."""
        ours, theirs = self._context.Pipe(duplex=True)
        rate = split(self._spec.rate, engines)
        process = self._context.Process(target=worker_main, args=(theirs, self._spec, concurrency, rate),
                                        name="rdpprobe-worker", daemon=True)  # fmt: skip
        process.start()
        theirs.close()
        self._live.append(_Process(process, ours, concurrency))

    def _working(self) -> list[_Process]:
        return [worker for worker in self._live if not worker.ended]

    def run(self, intake: Intake[Target]) -> Generator[None, None, None]:
        while self._live:
            self._hand_out(intake)
            self._end_idle(intake)
            self._rebalance()
            waitables: list[Any] = [intake.wake_reader, *(w.conn for w in self._live)]
            waitables += [w.process.sentinel for w in self._live]
            for ready in wait(waitables, IDLE_WAIT_S):
                if ready is intake.wake_reader:
                    intake.drain_wake()  # New targets, or the end of them: handed out next round.
                    continue
                worker = self._owner(ready)
                if worker is not None and (ready is not worker.conn or not self._take(worker)):
                    self._died(worker, intake)
            yield

    def _owner(self, ready: object) -> _Process | None:
        return next((w for w in self._live if ready is w.conn or ready == w.process.sentinel), None)

    def _hand_out(self, intake: Intake[Target]) -> None:
        for worker in self._working():
            while len(worker.shares) < PREFETCH:
                share = self._again.popleft() if self._again else self._new_share(intake)
                if share is None:
                    return
                self._books.opened(share)
                worker.shares.add(share.index)
                with contextlib.suppress(OSError):  # A worker dying now: its death hands the share on.
                    worker.conn.send((SHARE, share))

    def _new_share(self, intake: Intake[Target]) -> Share | None:
        targets = take(intake, self._size)
        if not targets:
            return None
        self._next_share += 1
        return Share(self._next_share - 1, tuple(targets))

    def _end_idle(self, intake: Intake[Target]) -> None:
        """Tell the workers with nothing left to do that they are done."""
        if not intake.done or self._again:
            return
        for worker in self._working():
            if not worker.shares:
                worker.ended = True
                with contextlib.suppress(OSError):
                    worker.conn.send((END, None))

    def _rebalance(self) -> None:
        """Divide the rate budget among the workers that still have shares."""
        working = self._working()
        if self._spec.rate is None or len(working) == self._active or not working:
            return
        self._active = len(working)
        for worker in working:
            with contextlib.suppress(OSError):
                worker.conn.send((RATE, split(self._spec.rate, self._active)))

    def _take(self, worker: _Process) -> bool:
        """The next batch from ``worker``; False when its pipe closed (its death follows)."""
        try:
            batch = worker.conn.recv()
        except (EOFError, OSError):
            return False
        worker.shares.difference_update(self._books.take(batch, worker))
        return True

    def _died(self, worker: _Process, intake: Intake[Target]) -> None:
        """``worker`` exited: take what it sent, then hand its open shares out again."""
        while True:
            try:
                if not worker.conn.poll():
                    break
            except (EOFError, OSError):
                break
            if not self._take(worker):
                break
        worker.process.join(STOP_WAIT_S)
        worker.conn.close()
        self._live.remove(worker)
        for index in sorted(worker.shares):
            share = self._books.again(index)
            if share is not None:
                self._again.append(share)
        if (self._again or not intake.done) and self.respawns > 0:
            self.respawns -= 1
            self.spawn(worker.concurrency, len(self._working()) + 1)
        elif not self._live:
            self._give_up()

    def _give_up(self) -> None:
        """No worker is left to scan what remains: it is lost."""
        while self._again:
            self._books.give_up(self._again.popleft().index)

    def stop(self) -> None:
        """Stop every worker, taking the batches they still send, then make sure they exit."""
        for worker in self._live:
            with contextlib.suppress(OSError):
                worker.conn.send((STOP, None))
        deadline = time.monotonic() + STOP_WAIT_S
        for worker in self._live:
            with contextlib.suppress(Exception):  # The output may be what failed: nothing more to write.
                while worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    if not self._take(worker):
                        break
        for worker in self._live:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(STOP_WAIT_S)
            worker.conn.close()
        self._live.clear()
