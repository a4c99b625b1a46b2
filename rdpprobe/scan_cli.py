"""``rdpprobe scan``: many targets, JSON Lines out, a progress bar and a summary on stderr.

Exit codes: 0 the scan completed (whatever the verdicts); 2 usage error (bad option, bad
target line, unreadable file); 3 nothing to probe (empty input, every target excluded, a
repeat or an address no host has, or an empty shard), said on stderr; 4 the scan completed
and, with ``--fail-on SEVERITY``, some target had a finding at or above it; 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM), with every result finished before the signal written
out. Results go to stdout (or ``--output``); everything else, progress and summary
included, goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import signal
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TextIO

from rdpprobe.addresses import host_port
from rdpprobe.api import DEFAULT_CONCURRENCY, OPTIONS_TARGET, build
from rdpprobe.cli import (
    EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK, UsageError, add_probe_options, discard_stdout, log_trace, probe_options,
    register,
)
from rdpprobe.engine import TLS_CHOICES, EngineOptions, check_rate
from rdpprobe.findings import severity_rank
from rdpprobe.output import FORMATS, console_for, make_writer, plural
from rdpprobe.result import ProbeResult
from rdpprobe.resume import Finished, read_finished
from rdpprobe.scale.books import ScanIncomplete
from rdpprobe.sequence.phases import Phase
from rdpprobe.scan import (
    DEFAULT_DEPTH, DEPTH_STOPS, OutputError, ProgressBar, ScanReport, connected, depth_config, run_scan,
)  # fmt: skip
from rdpprobe.targets import (
    DEFAULT_PORT,
    STDIN,
    Exclusions,
    LeftOut,
    Target,
    TargetError,
    TargetFile,
    count_targets,
    iter_targets,
    parse_ports,
    parse_shard,
)

#: Seeds drawn for ``--randomize`` are below this bound.
SEED_BOUND = 2**63
#: Targets counted up front for the progress bar's total; larger inputs show no total.
COUNT_LIMIT_SOURCES = 10_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``scan`` options."""
    p.add_argument("targets", nargs="*", metavar="TARGET", help="host, host:port, [v6]:port, CIDR, range, or - for stdin")
    p.add_argument("-iL", dest="input_files", action="append", default=[], metavar="FILE", help="read targets from FILE (- for stdin)")
    p.add_argument("--exclude", action="append", default=[], metavar="SPEC", help="skip these targets")
    p.add_argument("--exclude-file", action="append", default=[], metavar="FILE", help="skip the targets listed in FILE")
    p.add_argument("-p", "--port", default=str(DEFAULT_PORT), metavar="PORTS",
                   help=f"ports for targets given without one, e.g. 3389,3390,50000-50010 (default {DEFAULT_PORT})")
    p.add_argument("--shard", metavar="I/N", help="scan only shard I of N (I counted from 0)")
    p.add_argument("--seed", type=int, help="shuffle the targets with this seed (same seed: same order)")
    p.add_argument("--randomize", action="store_true", help="shuffle the targets with a random seed")
    p.add_argument("--include-non-unicast", action="store_true",
                   help="probe addresses no host has too (0.0.0.0/8, multicast, 240.0.0.0/4 and broadcast, ::, "
                        "ff00::/8), which a scan leaves out by default")
    p.add_argument("--depth", choices=list(DEPTH_STOPS), default=DEFAULT_DEPTH, help="how far to walk each target (default nla)")
    add_probe_options(p)
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N", help="targets in flight at once (default %(default)s)")
    p.add_argument("--rate", type=float, metavar="N", help="new connections per second (default: unlimited)")
    p.add_argument("--workers", default="1", metavar="N",
                   help="worker processes, each scanning its share of the targets (auto: one per usable core)")
    p.add_argument("--dask", metavar="ADDRESS", help="scan on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786)")
    p.add_argument("--tls", choices=TLS_CHOICES, default="auto", help="TLS library (default: pyOpenSSL when present)")
    p.add_argument("-o", "--output", metavar="FILE", help="write results here instead of stdout")
    p.add_argument("--resume", metavar="FILE",
                   help="go on with an interrupted scan: skip the targets FILE has results for, append the rest to it")
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="output format (default jsonl)")
    p.add_argument("--open", action="store_true",
                   help="write only the targets that accepted a TCP connection (the summary still counts all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    p.add_argument("--no-summary", action="store_true", help="no summary at the end")


def _check_open(args: argparse.Namespace) -> None:
    if args.open and args.stop_after == Phase.DNS.value:
        raise UsageError("--open writes the targets that connected; --stop-after dns makes no connection")


def _check_numbers(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.rate is not None:
        check_rate(args.rate, "--rate")
    from rdpprobe.scale import parse_workers  # A light module: the pool loads only when used.

    args.workers = parse_workers(args.workers)
    if args.dask is not None and args.workers > 1:
        raise UsageError("--workers and --dask cannot be given together: the cluster's workers scan the shares")
    if not (args.targets or args.input_files):
        raise UsageError("no targets: give TARGET arguments, -iL FILE or - for stdin")


def _sources(args: argparse.Namespace) -> list[str | TargetFile]:
    return [*args.targets, *(TargetFile(path) for path in args.input_files)]


def _check_files(args: argparse.Namespace) -> None:
    """Standard input is read once, and the output must not overwrite a file still to be read."""
    inputs = [*(t for t in args.targets if t == STDIN), *args.input_files, *args.exclude_file]
    if inputs.count(STDIN) > 1:
        raise UsageError("standard input (-) is given twice (targets, -iL or --exclude-file); it can be read once")
    if args.resume is not None:
        _check_resume(args)
        _check_not_read(inputs, "--resume", args.resume, "appended to")
    elif args.output is not None:
        _check_not_read(inputs, "--output", args.output, "emptied")


def _check_not_read(inputs: list[str], option: str, output: str, fate: str) -> None:
    """The file results go to must not be one the scan still has to read."""
    for path in inputs:
        if path != STDIN and _same_file(path, output):
            raise UsageError(f"{option} {output} is also read as input; it would be {fate} before it is read")


def _check_resume(args: argparse.Namespace) -> None:
    if args.open:
        raise UsageError(f"--resume skips the targets {args.resume} has lines for; with --open, those that did not "
                         "connect have none and would all be probed again")
    if args.output is not None:
        raise UsageError(f"--resume appends to {args.resume} itself; --output cannot be given with it")
    if args.format != "jsonl":
        raise UsageError(f"--resume reads and extends JSON Lines; --format {args.format} cannot be given with it")
    if args.resume == STDIN:
        raise UsageError("--resume needs a file: standard input (-) cannot be read and appended to")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # Either does not exist (yet): not the same file, and reading it fails later.
        return False


def _seed(args: argparse.Namespace) -> int | None:
    if args.seed is not None:
        return int(args.seed)
    if args.randomize:
        if args.shard is not None:
            raise UsageError("--shard with --randomize needs --seed, so that every shard shares one order")
        return random.SystemRandom().randrange(SEED_BOUND)
    return None


def _total(args: argparse.Namespace, sources: list[str | TargetFile], excludes: Exclusions, shard: tuple[int, int],
           ports: tuple[int, ...], finished: int) -> int | None:
    """The progress bar's total: the targets to probe, less those resumed past."""
    if args.no_progress or not sys.stderr.isatty():
        return None
    total = count_targets(sources, excludes, shard, ports=ports, keep_non_unicast=args.include_non_unicast)
    return None if total is None else max(0, total - finished)


def _finished(args: argparse.Namespace) -> Finished:
    """What ``--resume``'s file already has, its unfinished last line cut off; nothing without it."""
    if args.resume is None:
        return Finished()
    finished = read_finished(args.resume)
    finished.drop_cut_line(args.resume)
    if finished and not args.no_summary:
        print(f"rdpprobe: resuming {args.resume}: skipping {plural(len(finished), 'target')} with results there", file=sys.stderr)
    return finished


@contextlib.contextmanager
def _output(path: str | None, append: bool = False) -> Iterator[TextIO]:
    """The results' stream, ``path`` emptied first unless ``append``; a failure to write it
    (``OutputError``) is one line naming it."""
    if path is None:
        try:
            yield sys.stdout
        except OutputError as exc:
            discard_stdout()
            raise UsageError(f"cannot write results to standard output: {exc}") from exc
        return
    try:
        stream = open(path, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        yield stream
    except OutputError as exc:
        raise UsageError(f"cannot write results to {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):  # Its error, if any, was reported above.
            stream.close()


def _notes(left_out: LeftOut, report: ScanReport) -> list[str]:
    """The headline's word on addresses the targets held but no host has, and on results
    ``--open`` did not write."""
    notes = [f"{count} {what}" for count, what in ((left_out.excluded, "excluded"), (left_out.repeated, "repeated"))
             if count]  # fmt: skip
    if left_out.non_unicast:
        count = plural(left_out.non_unicast, "non-unicast address", "non-unicast addresses")
        notes.append(f"{count} left out (--include-non-unicast probes them)")
    if report.unwritten:
        notes.append(f"{plural(report.unwritten, 'target')} without a TCP connection not written (--open)")
    return notes


#: The exit status of a scan that had nothing to probe (said on stderr).
EXIT_NO_TARGETS = 3
#: The exit status of a scan ended by SIGTERM: 128 + the signal's number, as a shell reports it.
EXIT_TERMINATED = 128 + signal.SIGTERM


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(EXIT_TERMINATED)


@contextlib.contextmanager
def _terminate_gracefully() -> Iterator[None]:
    """SIGTERM ends the scan as Ctrl-C does: connections closed and every finished result
    written out (the writer buffers a turn's lines), instead of dying with them unwritten."""
    try:
        before = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # Not the main thread (an embedding program): its signals, its rules.
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run(args: argparse.Namespace) -> int:
    """The ``scan`` handler."""
    _check_numbers(args)
    _check_open(args)
    _check_files(args)
    options = probe_options(args)
    _, config, keylog = build(OPTIONS_TARGET, None, options)
    config = depth_config(config, args.depth, explicit_stop=args.stop_after is not None)
    try:
        return _scan(args, config, keylog)
    except TargetError as exc:
        raise UsageError(str(exc)) from exc


def _scan(args: argparse.Namespace, config: object, keylog: str | None) -> int:
    shard = parse_shard(args.shard) if args.shard is not None else (0, 1)
    ports = parse_ports(args.port)
    excludes = Exclusions.from_sources([*args.exclude, *(TargetFile(path) for path in args.exclude_file)])
    sources = _sources(args)
    left_out = LeftOut()
    targets = iter_targets(sources, excludes, shard, _seed(args), ports=ports,
                           keep_non_unicast=args.include_non_unicast, left_out=left_out)  # fmt: skip
    finished = _finished(args)
    if finished:
        targets = itertools.filterfalse(finished.covers, targets)
    engine_options = EngineOptions(
        concurrency=args.concurrency, rate=args.rate, deadline=args.deadline, tls=args.tls,
        keylog_path=keylog, address_filter=lambda address, port: not excludes.covers(address, port),
    )  # fmt: skip
    report = ScanReport()
    progress = None
    if not args.no_progress:
        progress = ProgressBar(_total(args, sources, excludes, shard, ports, len(finished)), in_flight=report.in_flight)
    try:
        _write_results(args, targets, config, engine_options, progress, report, excludes)
    except (KeyboardInterrupt, SystemExit):
        if not args.no_summary:
            _summarize(report, [*_notes(left_out, report), report.interrupted()])
            _resume_hint(args)
        raise
    except ScanIncomplete as exc:  # Workers died: what they left is named, for --resume to finish.
        if not args.no_summary:
            _summarize(report, [*_notes(left_out, report), "incomplete"])
        print(f"rdpprobe: {exc}", file=sys.stderr)
        _resume_hint(args)
        return EXIT_FAILURE
    if not args.no_summary:
        _summarize(report, _notes(left_out, report))
    if not report.stats.targets:
        return _nothing_probed(args, left_out, len(finished))
    return _exit_status(args, report)


def _nothing_probed(args: argparse.Namespace, left_out: LeftOut, resumed: int) -> int:
    """Say why a scan that completed probed nothing: ``EXIT_NO_TARGETS``, or ``EXIT_OK`` when
    ``--resume`` found every target already done."""
    if resumed and left_out.kept:
        print(f"rdpprobe: nothing left to probe: every target has a result in {args.resume}", file=sys.stderr)
        return EXIT_OK
    if not left_out.given:
        why = "no targets: the input held none"
    elif not left_out.kept:
        why = f"no targets after exclusions: 0 of {left_out.given} kept"
        reasons = ((left_out.excluded, "excluded"), (left_out.repeated, "repeated"),
                   (left_out.non_unicast, "non-unicast (--include-non-unicast probes them)"))  # fmt: skip
        why += f" ({', '.join(f'{count} {what}' for count, what in reasons if count)})"
    else:
        why = f"no targets in shard {args.shard}: {plural(left_out.kept, 'target')} kept, none of them in this shard"
    print(f"rdpprobe: {why}", file=sys.stderr)
    return EXIT_NO_TARGETS


def _exit_status(args: argparse.Namespace, report: ScanReport) -> int:
    """``EXIT_FINDINGS`` when ``--fail-on`` is given and a finding reached it, else ``EXIT_OK``."""
    worst = report.summary.worst
    if args.fail_on is not None and worst is not None and severity_rank(worst) <= severity_rank(args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def _write_results(args: argparse.Namespace, targets: Iterable[Target], config: object, options: EngineOptions,
                   progress: ProgressBar | None, report: ScanReport, excludes: Exclusions) -> None:
    """Run the scan into its output stream, filling ``report``; the progress bar ends with it."""
    with _output(args.resume or args.output, append=args.resume is not None) as stream, _terminate_gracefully():
        writer = make_writer(args.format, stream)
        try:
            if args.workers > 1 or args.dask is not None:
                from rdpprobe.scale.run import scan_command

                scan_command(args, targets, config, options, excludes, writer, stream, report, progress)  # type: ignore[arg-type]
                return
            run_scan(targets, config, writer, options, _on_result(progress), report,  # type: ignore[arg-type]
                     keep=connected if args.open else None)
        finally:
            if progress is not None:
                progress.close()


def _on_result(progress: ProgressBar | None) -> Callable[[ProbeResult], None]:
    """What each finished result is handed to: its trace is logged (``-v``), each line named
    by its target, and the progress bar advances."""

    def finished(result: ProbeResult) -> None:
        if result.trace:
            log_trace(result, f"{host_port(result.target.host, result.target.port)} ")
        if progress is not None:
            progress.advance(result)

    return finished


def _summarize(report: ScanReport, notes: list[str]) -> None:
    # console_for loads rich here, never above: --no-summary scans do without it.
    report.summary.render(console_for(sys.stderr), report.headline(notes))


def _resume_hint(args: argparse.Namespace) -> None:
    """After an interruption: how to go on where the scan stopped, when its results are in a file."""
    if args.format != "jsonl" or args.open:  # --resume reads JSON Lines with a line per target.
        return
    path = args.resume or args.output
    if path:
        instead = f" in place of --output {path}" if args.output else ""
        print(f"rdpprobe: to go on, run the same command with --resume {path}{instead}", file=sys.stderr)
    elif _stdout_is_a_file():
        print("rdpprobe: to go on, run the same command with --resume FILE, FILE being the file standard output "
              "went to, in place of the redirection", file=sys.stderr)  # fmt: skip


def _stdout_is_a_file() -> bool:
    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError):  # No descriptor (an embedding program's stream), or closed.
        return False


register("scan", "probe many targets fast; JSON Lines out", add_arguments, run)
