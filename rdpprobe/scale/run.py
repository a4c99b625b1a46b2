"""The two ways in: ``rdpprobe scan`` writing a spread scan's output (``write_scan``), and
``probe_many``/``aprobe_many`` yielding its results (``ScaledRun``, an engine look-alike).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any, TextIO

from rdpprobe.engine import EngineOptions
from rdpprobe.output import Writer
from rdpprobe.result import ProbeResult, Target
from rdpprobe.scale.books import Books
from rdpprobe.scale.shares import ScanSpec
from rdpprobe.scan import OutputError, ProgressBar, ScanReport, writing
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.targets import Exclusions


def turns(targets: Iterable[Target], spec: ScanSpec, books: Books, workers: int,
          runner: Any = None) -> Generator[None, None, None]:  # fmt: skip
    """The scan on ``runner`` (an Executor or a ``distributed.Client``), or else on
    ``workers`` processes of this machine."""
    if runner is not None:
        from rdpprobe.scale.cluster import executor_turns

        return executor_turns(runner, targets, spec, books)
    from rdpprobe.scale.pool import pool_turns

    return pool_turns(targets, spec, books, workers)


def can_encode(stream: TextIO, text: str = "\u00e9\u4e2d\U0001f600") -> bool:
    """Whether ``stream`` carries text beyond ASCII (JSON lines escape it otherwise)."""
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _payload_writer(payload: str, writer: Writer, stream: TextIO) -> Callable[[list[Any]], None]:
    """How a batch's payloads reach the output: text as is, a table's records through its writer."""
    if payload == "table":

        def rows(payloads: list[Any]) -> None:
            for record, started_at in payloads:
                writer.write(record, started_at)

        return writing(rows)

    def text(payloads: list[Any]) -> None:
        stream.write("".join(payloads))
        stream.flush()

    return writing(text)


def write_scan(targets: Iterable[Target], spec: ScanSpec, writer: Writer, stream: TextIO, report: ScanReport,
               on_count: Callable[[int], None] | None, workers: int, dask: str | None = None) -> None:  # fmt: skip
    """``rdpprobe scan --workers``/``--dask``: as ``scan.run_scan``, the workers encoding the
    lines and this process writing them. Raises ``books.ScanIncomplete`` when workers died
    and targets were given up, after writing everything else."""
    books = Books(report, _payload_writer(spec.payload, writer, stream), on_count)
    runner = None
    if dask is not None:
        from rdpprobe.scale.cluster import connect

        runner = connect(dask)
    close = writing(writer.close)
    started = time.monotonic()
    try:
        for _ in turns(targets, spec, books, workers, runner):
            pass
    except (KeyboardInterrupt, SystemExit):
        with contextlib.suppress(OutputError, BrokenPipeError):
            close()  # What finished is written out: a table renders the rows it has.
        raise
    finally:
        report.elapsed_s = time.monotonic() - started
        if runner is not None:
            runner.close()
    close()


def scan_command(args: Any, targets: Iterable[Target], config: ProbeConfig, options: EngineOptions,
                 excludes: Exclusions, writer: Writer, stream: TextIO, report: ScanReport,
                 progress: ProgressBar | None) -> None:  # fmt: skip
    """``write_scan`` for the ``scan`` command's ``args`` (``--workers``, ``--dask``,
    ``--format``, ``--open``)."""
    spec = ScanSpec.of(config, options, excludes, payload=args.format, keep_open=args.open,
                       ascii_only=not can_encode(stream))  # fmt: skip
    on_count = None if progress is None else (lambda count: progress.advance(None, count))
    write_scan(targets, spec, writer, stream, report, on_count, args.workers, args.dask)


class ScaledRun:
    """What ``probe_many`` runs when given ``workers`` or ``executor``: the engine's
    ``turns``/``stop`` over worker processes or cluster tasks."""

    def __init__(self, spec: ScanSpec, workers: int, runner: Any = None) -> None:
        self._spec = spec
        self._workers = workers
        self._runner = runner
        self.stopping = False

    def stop(self) -> None:
        """Ask the run, from any thread, to end after its next batch (within a second)."""
        self.stopping = True

    def turns(self, targets: Iterable[Target]) -> Generator[list[ProbeResult], None, None]:
        """Each batch of results as a worker or a task hands it back."""
        got: list[ProbeResult] = []
        books = Books(ScanReport(), got.extend)
        with contextlib.closing(turns(targets, self._spec, books, self._workers, self._runner)) as steps:
            for _ in steps:
                if got:
                    finished = list(got)
                    got.clear()
                    yield finished
                if self.stopping:
                    return
        if got:
            yield got
