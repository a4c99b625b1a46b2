"""A scan spread over processes: every core of this machine (``--workers``), or a cluster
(``--dask``, any ``concurrent.futures.Executor``).

The coordinator walks the scan's one deterministic target order (``targets.iter_targets``:
the order ``--seed`` and ``--shard`` define) and cuts it into *shares*, runs of consecutive
targets of that order. Each share is scanned by one engine in a worker process or a
cluster task; the results come back to the coordinator, which alone writes the output,
counts the summary and keeps the books: a share is done when each of its targets has a
result (or was excluded after resolution). A share whose worker died is scanned again
without the targets that already have a result, so nothing is lost and nothing written
twice. Modules:

- ``shares``: a share, what every share of a scan is probed with, one share scanned in a
  task, and the results as a worker hands them back;
- the target order is read ahead by the engine's ``engine.intake.Intake``, in a thread of
  its own, so that neither the coordinator nor a worker waits on a slow standard input;
- ``books``: the coordinator's accounts of open shares, de-duplication by target, output;
- ``pool``: worker processes on this machine;
- ``cluster``: shares as tasks of an ``Executor`` or a ``distributed.Client``.
"""

from __future__ import annotations

import os

from rdpprobe.errors import ProbeUsageError

#: ``--workers`` for as many workers as this process may run on cores.
AUTO = "auto"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as ``os.process_cpu_count``)."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13 and later.
    if counter is not None:
        return int(counter() or 1)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # Not Linux: every core the machine has.
        return os.cpu_count() or 1


def parse_workers(value: object, where: str = "--workers") -> int:
    """A worker count as given (a whole number of at least 1, or ``auto``)."""
    if value == AUTO:
        return usable_cores()
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ProbeUsageError(f"{where} must be a whole number of at least 1 or {AUTO}, got {value!r}")
    return int(text)
