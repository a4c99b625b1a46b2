"""The coordinator's books: which targets of each open share still lack a result.

Rules of this module:
- a share is opened when it is handed out and closed when each of its targets has a result
  or was excluded after resolution; memory follows the shares open, not the scan;
- the first result of a target is kept and any later one (a share scanned again after its
  worker died, a task a cluster ran twice) is dropped, so no target is written twice;
- a share handed out ``MAX_ATTEMPTS`` times without closing is given up: its targets
  without a result are ``lost`` and named at the end, for ``--resume`` to finish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rdpprobe.errors import RdpProbeError
from rdpprobe.output import SummaryKey, plural, summary_of_key
from rdpprobe.addresses import host_port
from rdpprobe.result import Target
from rdpprobe.resume import target_key
from rdpprobe.scale.shares import Batch, Key, Share
from rdpprobe.scan import ScanReport

#: Times one share is handed out (its first scan and one more after a worker's death).
MAX_ATTEMPTS = 2
#: Targets a ``ScanIncomplete`` message names; the count says how many more there are.
NAMED_LOST = 5


class ScanIncomplete(RdpProbeError):
    """Workers died and some targets were not probed: their count and the first few."""

    def __init__(self, lost: list[Target], why: str) -> None:
        self.lost = lost
        shown = ", ".join(host_port(t.host, t.port) for t in lost[:NAMED_LOST])
        more = f" and {len(lost) - NAMED_LOST} more" if len(lost) > NAMED_LOST else ""
        named = f": {shown}{more}" if lost else ""
        super().__init__(f"{plural(len(lost), 'target')} of the shares handed out not probed ({why}){named}")


@dataclass(slots=True)
class Books:
    """Open shares, the results taken from them, and what the scan's report counts."""

    report: ScanReport
    write: Callable[[list[Any]], None]
    """Given the payloads a batch adds to the output, in order (``None`` ones left out)."""
    on_count: Callable[[int], None] | None = None
    open: dict[int, dict[Key, Target]] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    lost: list[Target] = field(default_factory=list)
    duplicates: int = 0
    _stats: dict[object, tuple[int, int, int, int]] = field(default_factory=dict)
    _finished: tuple[int, int, int, int] = (0, 0, 0, 0)

    def opened(self, share: Share) -> None:
        """``share`` is handed out: its targets are owed a result."""
        if share.index not in self.open:
            self.open[share.index] = {target_key(t.host, t.port): t for t in share.targets}
        self.attempts[share.index] = share.attempt + 1

    def take(self, batch: Batch, source: object | None) -> list[int]:
        """Write ``batch``'s new results; return the shares it closed. ``source`` names the
        worker whose engine's figures so far the batch brings; None: a task's, all of them."""
        summary, report = self.report.summary, self.report
        closed: list[int] = []
        payloads: list[Any] = []
        counted = 0
        alike: Counter[SummaryKey] = Counter()
        for share, key, payload, counts in batch.items:
            if not self._settle(share, key, closed):
                continue
            counted += 1
            alike[counts] += 1
            if payload is None:
                report.unwritten += 1
            else:
                payloads.append(payload)
        excluded = sum(self._settle(share, key, closed) for share, key in batch.excluded)
        report.stats.targets += counted + excluded
        for counts, number in alike.items():
            summary.add(summary_of_key(counts), number)
        if source is None:  # A task's one batch: its engine's figures are final.
            self._finished = tuple(map(sum, zip(self._finished, batch.stats)))  # type: ignore[assignment]
        else:
            self._stats[source] = batch.stats
        report.stats.results += counted
        self._sum_stats()
        if payloads:
            self.write(payloads)
        if counted and self.on_count is not None:
            self.on_count(counted)
        return closed

    def _settle(self, share: int, key: Key, closed: list[int]) -> bool:
        """Whether ``key`` of ``share`` was owed (now no longer); a share left owing nothing closes."""
        owed = self.open.get(share)
        if owed is None or owed.pop(key, None) is None:
            self.duplicates += 1
            return False
        if not owed:
            del self.open[share]
            self.attempts.pop(share, None)
            closed.append(share)
        return True

    def again(self, index: int) -> Share | None:
        """The rest of an open share whose worker died, to hand out again; None when it was
        handed out too often (its targets are then ``lost``) or has nothing left."""
        owed = self.open.get(index)
        if owed is None:
            return None
        attempt = self.attempts.get(index, 1)
        if attempt >= MAX_ATTEMPTS:
            self.give_up(index)
            return None
        return Share(index, tuple(owed.values()), attempt)

    def give_up(self, index: int) -> None:
        """Nothing will scan the rest of share ``index``: its targets are lost."""
        owed = self.open.pop(index, None)
        self.attempts.pop(index, None)
        if owed:
            self.lost.extend(owed.values())

    def _sum_stats(self) -> None:
        stats = self.report.stats
        columns = list(zip(self._finished, *self._stats.values()))
        stats.connections, stats.local_retries, stats.internal_errors, stats.excluded = (sum(c) for c in columns)

    def check_complete(self, why: str, unread: bool = False) -> None:
        """Raise ``ScanIncomplete`` when targets were given up (``unread``: and the targets
        not yet read were never handed out)."""
        if self.lost or unread:
            raise ScanIncomplete(self.lost, why + (", before every target was handed out" if unread else ""))

    def owed(self) -> Iterable[Target]:
        return (target for owed in self.open.values() for target in owed.values())
