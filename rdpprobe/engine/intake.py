"""Targets in, off the engine's thread: a reader thread, a bounded queue, a wake-up socket.

The targets of a scan come from an iterable the engine cannot see into: a list, a range
being expanded, a file, or standard input fed by a producer (``zmap … | rdpprobe scan -``)
that may pause for as long as it likes. ``next()`` on such an iterable may block, so the
engine never calls it. ``Intake`` runs the iteration in a daemon thread of its own:

- the thread puts each target on a queue of at most ``capacity`` targets and waits while
  the queue is full (memory stays bounded whatever the input; the producer feels
  backpressure); it starts again once the engine has taken the queue down to half of it,
  so that the two threads hand over a batch at a time, not one target at a time;
- when a target lands on an empty queue, or the input ends, one byte on a socket pair
  wakes the engine's poller (``wake_reader`` is registered there like any socket), so an
  idle engine learns of new input at once and a busy one never polls for it;
- the engine takes targets with ``take``, which never blocks, and learns the end of the
  input from ``done``; an exception raised by the iterable (a malformed target line) is
  kept in ``error`` and the input ends there;
- ``close`` never waits for the thread: a producer that never writes again must not hold up
  Ctrl-C or the end of a ``probe_many`` loop left early. The thread is a daemon, stops at
  its next target, and keeps no socket or lock that the engine needs.

Nothing here knows what a target is: a coordinator that spreads targets over several
processes can use the same class to read its input.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

#: Targets the queue holds at least, whatever the concurrency.
INTAKE_FLOOR = 256
#: Bytes drained from the wake-up socket per readiness event.
WAKE_DRAIN = 4096
#: How long (seconds) the reader thread waits on a full queue before it checks again that
#: the intake is still open (``close`` also wakes it at once).
FULL_QUEUE_CHECK_S = 1.0

T = TypeVar("T")


class Intake(Generic[T]):
    """The items of ``source`` read in a daemon thread; see the module rules."""

    def __init__(self, source: Iterable[T], capacity: int = INTAKE_FLOOR) -> None:
        self._source = source
        self._capacity = max(1, capacity)
        self._refill_at = self._capacity // 2
        self._queue: deque[T] = deque()
        self._room = threading.Condition()
        self._ended = False
        self._closed = False
        self.error: BaseException | None = None
        """What the iterable raised, if it did; the input ended there."""
        self.wake_reader, self._wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._thread = threading.Thread(target=self._read, name="rdpprobe-intake", daemon=True)
        self._thread.start()

    # -- the engine's side ---------------------------------------------------------------

    def take(self) -> T | None:
        """The next item, or None when none is waiting (see ``done`` for the end).

        No lock on the way: a deque's ``popleft`` is atomic, and the reader is told only when
        the queue comes down to half (under the lock, so the notice cannot be lost).
        """
        queue = self._queue
        try:
            item = queue.popleft()
        except IndexError:
            return None
        if len(queue) == self._refill_at:
            with self._room:
                self._room.notify()
        return item

    @property
    def done(self) -> bool:
        """Whether the input has ended and every item of it has been taken."""
        return self._ended and not self._queue

    def drain_wake(self) -> None:
        """Empty the wake-up socket (its reader is level-triggered in the poller)."""
        with contextlib.suppress(BlockingIOError, InterruptedError, OSError):
            while self.wake_reader.recv(WAKE_DRAIN):
                pass

    def close(self) -> None:
        """Stop reading, without waiting for the thread (it may be blocked in the input)."""
        with self._room:
            self._closed = True
            self._queue.clear()
            self._room.notify_all()
        self._wake_writer.close()
        self.wake_reader.close()

    # -- the reader thread ---------------------------------------------------------------

    def _read(self) -> None:
        try:
            items: Iterator[T] = iter(self._source)
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the engine, raised there
            self.error = exc
        finally:
            with self._room:
                self._ended = True
            self._wake()

    def _put(self, item: T) -> bool:
        """Queue ``item`` once there is room; False when the intake was closed meanwhile."""
        with self._room:
            while len(self._queue) >= self._capacity and not self._closed:
                self._room.wait(FULL_QUEUE_CHECK_S)
            if self._closed:
                return False
            self._queue.append(item)
            landed_alone = len(self._queue) == 1
        if landed_alone:  # The engine found the queue empty last time, or is taking this now.
            self._wake()
        return True

    def _wake(self) -> None:
        # Full (a wake is pending anyway) or closed (nobody is listening): nothing to do.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_writer.send(b"\0")
