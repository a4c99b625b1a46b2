"""Scans: targets in, the engine in the middle, results out, one stage each.

``run_scan`` pulls ``Target`` values lazily from any iterable (``targets.iter_targets``),
hands them to the engine and writes every result with an ``output`` writer as soon as its
target is done, keeping only counts (``Summary``) in memory. ``depth_config`` turns a scan
depth into the probe configuration, so a scan classifies exactly as ``rdpprobe check``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TextIO

from rdpprobe.engine import Engine, EngineOptions, EngineStats
from rdpprobe.errors import ProbeUsageError, RdpProbeError
from rdpprobe.output import Summary, Writer, plural
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

#: Scan depths and where each stops: X.224 only, + TLS certificate, + NTLM challenge, as far
#: as the server allows without credentials (to Demand Active).
DEPTH_STOPS: dict[str, Phase | None] = {
    "quick": Phase.CONNECTION_INITIATION,
    "tls": Phase.TLS,
    "nla": Phase.NLA,
    "full": None,
}
DEFAULT_DEPTH = "nla"
_P = ParamSpec("_P")

#: Allocations between young-generation collections while a scan runs (CPython's default is
#: 700): probes allocate many short-lived objects, almost none of them cyclic.
SCAN_GC_THRESHOLD = 50_000


def depth_config(config: ProbeConfig, depth: str, explicit_stop: bool = False) -> ProbeConfig:
    """``config`` with the stop point of ``depth``; an explicit ``stop_after`` wins."""
    if depth not in DEPTH_STOPS:
        raise ProbeUsageError(f"unknown depth {depth!r}, expected one of {', '.join(DEPTH_STOPS)}")
    if explicit_stop:
        return config
    changes: dict[str, Any] = {"stop_after": DEPTH_STOPS[depth]}
    if depth == "full":
        changes["credentials"] = None
    return dataclasses.replace(config, **changes)


@dataclass(slots=True)
class ScanReport:
    """What a scan did: the summary counts and the engine's own figures."""

    summary: Summary = dataclasses.field(default_factory=Summary)
    stats: EngineStats = dataclasses.field(default_factory=EngineStats)
    elapsed_s: float = 0.0
    unwritten: int = 0
    """Results counted in the summary but not written (``run_scan``'s ``keep`` refused them)."""
    engine_in_flight: Callable[[], tuple[int, float | None]] | None = dataclasses.field(default=None, repr=False)
    """The running engine's ``in_flight``, set by ``run_scan``."""

    def in_flight(self) -> tuple[int, float | None]:
        """Targets in flight now and how long (seconds) the oldest of them has run; safe to
        call from another thread (a progress bar's); ``(0, None)`` before the scan starts."""
        if self.engine_in_flight is None:
            return 0, None
        count, oldest = self.engine_in_flight()
        return count, None if oldest is None else max(0.0, time.monotonic() - oldest)

    @property
    def probed(self) -> int:
        """Targets whose result was handed out: written, or counted in ``unwritten``."""
        return self.summary.total

    @property
    def abandoned(self) -> int:
        """Targets started and given no result: in flight when the scan was interrupted (a
        result finished in the turn the interruption came in, and not yet written, is one)."""
        stats = self.stats
        return max(0, stats.targets - self.summary.total - stats.excluded)

    def headline(self, notes: Sequence[str] = ()) -> str:
        """One line for people: how many targets, how fast, what went wrong locally, and the
        caller's ``notes``."""
        stats, elapsed, probed = self.stats, self.elapsed_s, self.probed
        rate = f" ({probed / elapsed:.0f}/s)" if elapsed > 0 else ""
        parts = [f"{plural(probed, 'target')} probed in {elapsed:.2f} s{rate}", plural(stats.connections, "connection")]
        extras = ((stats.excluded, "excluded after resolution"), (stats.local_retries, "retried for local resources"))
        parts += [f"{count} {what}" for count, what in extras if count]
        if stats.internal_errors:
            parts.append(plural(stats.internal_errors, "internal error"))
        return ", ".join([*parts, *notes])

    def interrupted(self) -> str:
        """The headline's note for a scan cut short: what was in flight and got no result."""
        abandoned = self.abandoned
        if not abandoned:
            return "interrupted"
        return f"interrupted with {plural(abandoned, 'target')} in flight, abandoned without a result"


class OutputError(RdpProbeError):
    """The results could not be written (a full disk, an I/O error); the scan stopped there.

    A reader that went away (``BrokenPipeError``) is not one: it ends the scan quietly.
    """


def writing(call: Callable[_P, None]) -> Callable[_P, None]:
    """``call`` with the stream errors it meets raised as ``OutputError``."""

    @functools.wraps(call)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            call(*args, **kwargs)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.strerror or str(exc)) from exc

    return guarded


def connected(result: ProbeResult) -> bool:
    """Whether the target accepted a TCP connection, or rdpprobe broke on it (``scan --open``
    writes these: an internal error is never hidden)."""
    if result.signal is Signal.INTERNAL_ERROR:
        return True
    phase = result.phase_reached
    if phase is None or phase is Phase.DNS:
        return False
    return phase is not Phase.TCP_CONNECT or result.failed_phase is None  # Connected, asked to stop.


def run_scan(
    targets: Iterable[Target],
    config: ProbeConfig,
    writer: Writer,
    options: EngineOptions = EngineOptions(),
    on_result: Callable[[ProbeResult], None] | None = None,
    report: ScanReport | None = None,
    keep: Callable[[ProbeResult], bool] | None = None,
) -> ScanReport:
    """Probe every target, write each result as it finishes, return the summary.

    ``keep``, when given, chooses the results written (``connected``: ``scan --open``); the
    summary counts every result, and ``report.unwritten`` the others. ``report``, when
    given, is the one filled in, so a caller still has the counts so far when the scan is
    interrupted (``KeyboardInterrupt``, or ``SystemExit`` from a signal handler); the results
    finished by then are written out first. Raises ``OutputError`` when the writer's stream
    fails, after closing every connection.
    """
    engine = Engine(config, options, clock=time.monotonic)  # ScanReport.in_flight reads this clock.
    report = report if report is not None else ScanReport()
    report.stats = engine.stats
    report.engine_in_flight = engine.in_flight
    summary = report.summary
    write, flush, close = writing(writer.write), writing(writer.flush), writing(writer.close)

    def emit(result: ProbeResult) -> None:
        record = result.to_dict()
        if keep is None or keep(result):
            write(record, result.started_at)
        else:
            report.unwritten += 1
        summary.add(record)
        if on_result is not None:
            on_result(result)

    started = time.monotonic()
    try:
        try:
            with _lean_gc():
                engine.run(targets, emit, flush)
        finally:
            report.elapsed_s = time.monotonic() - started
    except (KeyboardInterrupt, SystemExit):
        with contextlib.suppress(OutputError, BrokenPipeError):
            close()  # What finished is written out: a table renders the rows it has.
        raise
    close()
    return report


@contextlib.contextmanager
def _lean_gc() -> Iterator[None]:
    """Fewer garbage collections during the scan; the previous settings come back after."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(SCAN_GC_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def in_flight_text(count: int, oldest_s: float | None) -> str:
    """The progress bar's word on targets in flight: ``3 in flight, oldest 12 s``."""
    if not count:
        return ""
    oldest = f", oldest {oldest_s:.0f} s" if oldest_s is not None else ""
    return f"{count} in flight{oldest}"


class ProgressBar:
    """A ``rich`` progress bar with rate and ETA on a terminal stream; silent otherwise.

    ``in_flight`` (``ScanReport.in_flight``), when given, adds the targets in flight and the
    age of the oldest, redrawn as time passes: "100 %, ETA 0:00:01" while a silent target
    waits out its timeout then reads as what it is."""

    def __init__(self, total: int | None, stream: TextIO | None = None,
                 in_flight: Callable[[], tuple[int, float | None]] | None = None) -> None:  # fmt: skip
        stream = sys.stderr if stream is None else stream  # Read now: a program may have replaced it.
        self.enabled = stream.isatty()
        self._progress: Any = None
        self._task: Any = None
        if self.enabled:
            self._start(total, stream, in_flight)

    def _start(self, total: int | None, stream: TextIO, in_flight: Callable[[], tuple[int, float | None]] | None) -> None:
        from rich.console import Console
        from rich import progress as rp
        from rich.text import Text

        class InFlight(rp.ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(in_flight_text(*in_flight()) if in_flight is not None else "")

        columns = (
            rp.TextColumn("scanning"), rp.BarColumn(), rp.MofNCompleteColumn(),
            rp.TaskProgressColumn(), rp.TextColumn("{task.fields[rate]}/s"), rp.TimeRemainingColumn(), InFlight(),
        )  # fmt: skip
        self._progress = rp.Progress(*columns, console=Console(file=stream), transient=True)
        self._task = self._progress.add_task("scan", total=total, rate="0")
        self._progress.start()

    def advance(self, _result: ProbeResult | None = None, count: int = 1) -> None:
        """One more target done (``count`` more: a batch from a worker process)."""
        if self._progress is None:
            return
        self._progress.advance(self._task, count)
        task = self._progress.tasks[0]
        speed = task.speed or 0.0
        self._progress.update(self._task, rate=f"{speed:.0f}")

    def refresh(self) -> None:
        """Redraw now (rich also redraws on its own, several times a second)."""
        if self._progress is not None:
            self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
