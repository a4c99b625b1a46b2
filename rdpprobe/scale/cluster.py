"""Shares as tasks of a cluster: ``rdpprobe scan --dask ADDRESS``, or any
``concurrent.futures.Executor`` (a ``distributed.Client`` is used through its own).

Rules of this module:
- a task is ``shares.scan_share``: one share scanned to the end by an engine in the
  cluster's worker process, the whole batch returned; it depends only on its arguments, so
  Dask may run it again after losing a worker (``retries`` covers a task that raised);
- at most ``TASKS_PER_SLOT`` tasks per thread of the cluster are submitted at once and more
  only as they complete: a /8 is never listed, in the coordinator or on the scheduler;
- results are merged as tasks complete and de-duplicated by target (``books.Books``); a
  task that failed for good is submitted once more with the targets it still owes;
- each task gets an equal part of ``--concurrency`` and of ``--rate`` for the threads of the
  cluster: the sum never exceeds the budget (it is not moved when tasks run out).
- ``distributed`` is imported only here, only when a ``--dask`` address is given.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections import deque
from collections.abc import Generator, Iterable
from typing import Any

from rdpprobe.errors import ProbeUsageError
from rdpprobe.result import Target
from rdpprobe.scale import usable_cores
from rdpprobe.scale.books import Books
from rdpprobe.engine.intake import Intake
from rdpprobe.scale.shares import ScanSpec, Share, scan_share, share_size, split, take

#: Tasks submitted per thread of the cluster: one running, one queued behind it.
TASKS_PER_SLOT = 2
#: Seconds between checks for new targets while none has arrived and no task is running.
INTAKE_WAIT_S = 0.02
#: Seconds waited on the tasks at once, so that an interruption is seen.
TASK_WAIT_S = 0.5
#: Times Dask runs a task again after it raised (a worker's loss is retried by Dask anyway).
TASK_RETRIES = 1
#: What to install for ``--dask``.
DASK_EXTRA = "rdpprobe[dask]"


def connect(address: str) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address``; ``ProbeUsageError`` naming the
    extra when Dask is not installed, or the address when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise ProbeUsageError(f"--dask needs Dask's distributed scheduler: pip install '{DASK_EXTRA}'") from None
    try:
        return Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ProbeUsageError(f"--dask {address}: cannot reach the scheduler ({exc})") from None


def executor_of(runner: Any) -> tuple[cf.Executor, int]:
    """An ``Executor`` for ``runner`` (an Executor, or a ``distributed.Client``) and its
    threads: how many tasks run at once."""
    if isinstance(runner, cf.Executor):
        return runner, int(getattr(runner, "_max_workers", 0) or usable_cores())
    if hasattr(runner, "get_executor") and hasattr(runner, "nthreads"):
        threads = sum(runner.nthreads().values()) or 1
        return runner.get_executor(pure=False, retries=TASK_RETRIES), threads
    raise ProbeUsageError(f"expected a concurrent.futures.Executor or a distributed.Client, got {type(runner).__name__}")


def executor_turns(runner: Any, targets: Iterable[Target], spec: ScanSpec, books: Books) -> Generator[None, None, None]:
    """Scan ``targets`` as tasks of ``runner``; yields after each wait for them (within
    ``TASK_WAIT_S``).
    Closing the generator cancels the tasks not yet finished."""
    executor, slots = executor_of(runner)
    concurrency = max(1, spec.concurrency // slots)
    rate = split(spec.rate, slots)
    size = share_size(concurrency)
    intake: Intake[Target] = Intake(targets, (slots * TASKS_PER_SLOT + 1) * size)
    running: dict[cf.Future[Any], Share] = {}
    again: deque[Share] = deque()
    made = 0
    try:
        while True:
            while len(running) < slots * TASKS_PER_SLOT:
                share = again.popleft() if again else _share(intake, made, size)
                if share is None:
                    break
                made = max(made, share.index + 1)
                books.opened(share)
                running[executor.submit(scan_share, spec, share, concurrency, rate)] = share
            if not running:
                if intake.done:
                    break
                time.sleep(INTAKE_WAIT_S)
                yield
                continue
            done, _ = cf.wait(running, TASK_WAIT_S, return_when=cf.FIRST_COMPLETED)
            for future in done:
                _settle(books, running.pop(future), future, again)
            yield
    finally:
        intake.close()
        for future in running:
            future.cancel()
    if intake.error is not None:
        raise intake.error
    books.check_complete("cluster tasks failed", unread=not intake.done)


def _share(intake: Intake[Target], index: int, size: int) -> Share | None:
    targets = take(intake, size)
    return Share(index, tuple(targets)) if targets else None


def _settle(books: Books, share: Share, future: cf.Future[Any], again: deque[Share]) -> None:
    """Take a finished task's batch, or queue its share once more when it failed."""
    try:
        batch = future.result()
    except Exception:  # noqa: BLE001 - a lost worker or a bug in the task: the share is scanned again
        rest = books.again(share.index)
        if rest is not None:
            again.append(rest)
        return
    books.take(batch, None)
