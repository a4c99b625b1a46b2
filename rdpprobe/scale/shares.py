"""Shares: runs of the scan's target order, what each is probed with, and what comes back.

Rules of this module:
- everything here pickles: a ``ScanSpec`` and a ``Share`` travel to worker processes and
  cluster tasks, ``Batch`` values travel back;
- a worker encodes each result itself (a JSON line, a CSV row, a table's record), so the
  coordinator only writes text and counts labels;
- a share's scan is a pure function of the spec and the share (``scan_share``): a cluster
  may run it again after losing a worker, and the coordinator keeps the first result of
  each target.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rdpprobe.engine import Engine, EngineOptions
from rdpprobe.engine.intake import Intake
from rdpprobe.output import SummaryKey, csv_row, jsonl_line, summary_key
from rdpprobe.result import ProbeResult, Target
from rdpprobe.resume import target_key
from rdpprobe.scan import connected
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.targets import Exclusions

#: What a worker hands back for each result: the ProbeResult itself (the library), a JSON
#: line or a CSV row (text the coordinator writes as is), or a table's (record, time).
PAYLOADS = ("result", "jsonl", "csv", "table")
#: The fewest and the most targets in one share: a share holds about one worker's
#: concurrency, so two shares queued keep its slots full.
SHARE_MIN, SHARE_MAX = 64, 2048
#: A share's share index for a result whose share the worker did not know (never expected).
NO_SHARE = -1

Key = int | tuple[str, int]
#: One finished target: (share, key, payload or None when ``--open`` leaves it out, what the
#: summary counts of it).
Item = tuple[int, Key, Any, SummaryKey]


@dataclass(frozen=True, slots=True)
class ScanSpec:
    """What every share of one scan is probed with; the engine's figures are the whole
    scan's, divided among the engines that run at once (``split``)."""

    config: ProbeConfig
    concurrency: int
    rate: float | None = None
    deadline: float | None = None
    tls: str = "auto"
    keylog_path: str | None = None
    excludes: Exclusions = field(default_factory=lambda: Exclusions({}, frozenset()))
    payload: str = "result"
    keep_open: bool = False
    """Only targets that connected get a payload (``scan --open``); all are counted."""
    ascii_only: bool = False
    """JSON lines escape everything beyond ASCII (the output stream cannot carry it)."""

    @classmethod
    def of(cls, config: ProbeConfig, options: EngineOptions, excludes: Exclusions, **rest: Any) -> ScanSpec:
        """The spec of a scan set up as ``Engine(config, options)`` would run it."""
        return cls(config, options.concurrency, options.rate, options.deadline, options.tls, options.keylog_path,
                   excludes, **rest)  # fmt: skip

    def engine(self, concurrency: int, rate: float | None, on_excluded: Callable[[Target], None]) -> Engine:
        """An engine for one worker's part of the scan."""
        excludes = self.excludes
        options = EngineOptions(
            concurrency=concurrency, rate=rate, deadline=self.deadline, tls=self.tls, keylog_path=self.keylog_path,
            address_filter=lambda address, port: not excludes.covers(address, port), on_excluded=on_excluded,
        )  # fmt: skip
        return Engine(self.config, options)


def split(total: float | None, parts: int) -> float | None:
    """One of ``parts`` equal parts of a rate (None or infinity, no limit, stays so)."""
    if total is None or total == math.inf:
        return total
    return total / parts


def split_concurrency(total: int, parts: int, index: int) -> int:
    """Whole slots: the first ``total % parts`` parts take one more."""
    return max(1, total // parts + (1 if index < total % parts else 0))


def share_size(concurrency: int) -> int:
    """Targets per share for a worker with ``concurrency`` slots."""
    return max(SHARE_MIN, min(SHARE_MAX, concurrency))


def take(intake: Intake[Target], count: int) -> list[Target]:
    """Up to ``count`` targets the intake holds now; never waits."""
    taken: list[Target] = []
    while len(taken) < count and (target := intake.take()) is not None:
        taken.append(target)
    return taken


@dataclass(frozen=True, slots=True)
class Share:
    """Consecutive targets of the scan's order; ``attempt`` counts the times it was handed out."""

    index: int
    targets: tuple[Target, ...]
    attempt: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        # Targets travel as plain tuples: a tenth of the cost of pickling the dataclasses.
        return _share, (self.index, tuple((t.host, t.port, t.address) for t in self.targets), self.attempt)


def _share(index: int, targets: tuple[tuple[str, int, str | None], ...], attempt: int) -> Share:
    return Share(index, tuple(Target(*target) for target in targets), attempt)


@dataclass(slots=True)
class Batch:
    """Results a worker finished since its last batch, and the targets it excluded."""

    items: list[Item] = field(default_factory=list)
    excluded: list[tuple[int, Key]] = field(default_factory=list)
    stats: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The worker's engine so far: connections, local retries, internal errors, exclusions."""


class Encoder:
    """Turns a worker's results into ``Item`` values as its ``ScanSpec`` says."""

    def __init__(self, spec: ScanSpec) -> None:
        self._spec = spec
        self._csv_buffer = io.StringIO()
        self._csv = csv.writer(self._csv_buffer, lineterminator="\n")

    def item(self, share: int, result: ProbeResult) -> Item:
        spec = self._spec
        record = result.to_dict()
        counted = summary_key(record)
        key = target_key(result.target.host, result.target.port)
        if spec.keep_open and not connected(result):
            return share, key, None, counted
        return share, key, self._payload(record, result), counted

    def _payload(self, record: dict[str, Any], result: ProbeResult) -> Any:
        kind = self._spec.payload
        if kind == "jsonl":
            return jsonl_line(record, result.started_at, self._spec.ascii_only)
        if kind == "csv":
            buffer = self._csv_buffer
            buffer.seek(0)
            buffer.truncate()
            self._csv.writerow(csv_row(record, result.started_at))
            return buffer.getvalue()
        if kind == "table":
            return record, result.started_at
        return result


def engine_stats(engine: Engine) -> tuple[int, int, int, int]:
    stats = engine.stats
    return stats.connections, stats.local_retries, stats.internal_errors, stats.excluded


def scan_share(spec: ScanSpec, share: Share, concurrency: int, rate: float | None) -> Batch:
    """Scan one share to the end in this process (a cluster task); the whole batch at once."""
    batch = Batch()
    encoder = Encoder(spec)

    def excluded(target: Target) -> None:
        batch.excluded.append((share.index, target_key(target.host, target.port)))

    engine = spec.engine(concurrency, rate, excluded)
    engine.run(share.targets, lambda result: batch.items.append(encoder.item(share.index, result)))
    batch.stats = engine_stats(engine)
    return batch
