"""Many targets from a program: ``probe_many`` (blocking) and ``aprobe_many`` (asyncio).

Both run the scanner's engine (``rdpprobe.engine``) over targets written as ``rdpprobe scan``
takes them, and classify as ``probe`` does. ``probe_many`` drives the engine in the caller's
thread, one turn of its loop per batch of results; ``aprobe_many`` gives the engine a thread
of its own, so the event loop never waits on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Unpack

from rdpprobe.api import DEFAULT_CONCURRENCY, OPTIONS_TARGET, TARGET_WHERE, ScanProbeOptions, build
from rdpprobe.errors import ProbeUsageError
from rdpprobe.result import ProbeResult, Target
from rdpprobe.specs import DEFAULT_PORT, STDIN, TargetError, parse_ports, parse_spec

if TYPE_CHECKING:
    from rdpprobe.engine import Engine
    from rdpprobe.targets import Exclusions


class _Runs(Protocol):
    """What runs a ``probe_many``: the engine, or worker processes and cluster tasks."""

    stopping: bool

    def turns(self, targets: Iterable[Target]) -> Generator[list[ProbeResult], None, None]: ...

    def stop(self) -> None: ...


#: How errors name the ``ports`` argument.
PORTS_WHERE = "ports"
#: Options refused: a scan never sends credentials.
CREDENTIAL_OPTIONS = ("user", "password", "domain", "full_logon", "allow_unverified_credentials")
#: Turns' results waiting for an ``aprobe_many`` consumer before the engine's thread waits
#: for it: memory stays within this many times the concurrency.
MAX_WAITING_TURNS = 64
#: How often (seconds) the engine's thread, waiting for a slow consumer, checks that it is
#: still wanted.
CONSUMER_CHECK_S = 0.1


class ScanOptions(ScanProbeOptions, total=False):
    """Every keyword argument of ``probe_many`` and ``aprobe_many``: the scan's own, and
    ``probe``'s options except credentials (``ScanProbeOptions``)."""

    ports: int | Sequence[int] | str
    exclude: Iterable[str]
    depth: str | None
    concurrency: int
    rate: float | None
    tls: str
    workers: int | str | None
    """Worker processes (``"auto"``: the usable cores); see ``rdpprobe.scale``."""
    executor: Any
    """A ``concurrent.futures.Executor`` or a ``distributed.Client`` whose tasks scan the shares."""


def probe_many(targets: str | Iterable[str], **arguments: Unpack[ScanOptions]) -> Generator[ProbeResult, None, None]:
    """Probe many targets at once with the scanner's engine; yield each result as it is final.

    ``targets`` are written as ``rdpprobe scan`` takes them: hosts, ``host:port``, CIDR
    networks, ranges (``10.0.0.1-40``). Arguments (``_prepared``): ``ports`` (a port, ports,
    or ``"3389,3390-3392"``), for the targets written without one; ``exclude``, in the same
    forms as targets; ``depth``, a scan depth (``quick``, ``tls``, ``nla``, ``full``), without
    which the probe goes as far as ``probe``'s options say; ``concurrency``, ``rate`` (new
    connections per second; None or ``math.inf``: no limit) and ``tls``, the scanner's; and
    ``probe``'s options, except credentials: a scan never sends them. Repeats are probed
    once and addresses no host has (0.0.0.0, multicast, broadcast) are left out.
    ``workers`` (a number, or ``"auto"`` for the usable cores) spreads the scan over worker
    processes, ``executor`` (a ``concurrent.futures.Executor`` or a ``distributed.Client``)
    over its tasks (``rdpprobe.scale``): ``concurrency`` and ``rate`` are then the whole
    scan's, and results come from any worker as they finish.

    Results come in the order targets finish. Nothing moves on the network while the
    caller holds a result, so a long step per result belongs in another thread; leaving
    the loop early closes every connection. Bad options, and bad targets given as a string,
    list or tuple, raise ``ProbeUsageError`` before any connection; a bad target from another
    iterable raises it when the scan reaches it.
    """
    return _in_this_thread(*_prepared(targets, **arguments))


def aprobe_many(targets: str | Iterable[str], **arguments: Unpack[ScanOptions]) -> AsyncGenerator[ProbeResult, None]:
    """The asyncio twin of ``probe_many``, with its arguments: ``async for result in ...``.

    The engine runs in a thread of its own and goes on while the caller awaits; it waits
    only when more than ``MAX_WAITING_TURNS`` turns' results are not yet taken. Leaving the
    loop early (or cancelling the task) stops the engine, which closes every connection
    within a second. Bad input raises ``ProbeUsageError`` here, before any connection.
    """
    return _from_engine_thread(*_prepared(targets, **arguments))


def _prepared(
    targets: str | Iterable[str],
    *,
    ports: int | Sequence[int] | str = DEFAULT_PORT,
    depth: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate: float | None = None,
    exclude: Iterable[str] = (),
    tls: str = "auto",
    workers: int | str | None = None,
    executor: Any = None,
    **options: Any,
) -> tuple[_Runs, Iterable[Target]]:
    """The engine and the target stream of ``probe_many``'s arguments, every one checked."""
    from rdpprobe.targets import Exclusions, iter_targets

    sources: Iterable[str] = [targets] if isinstance(targets, str) else targets
    if isinstance(sources, (list, tuple)):
        for text in sources:
            _check_spec(text)
    else:
        sources = _checked(sources)
    try:
        excludes = Exclusions.from_sources([_check_spec(text) for text in exclude])
        stream = iter_targets(sources, excludes, ports=_ports(ports))
    except TargetError as exc:
        raise ProbeUsageError(str(exc)) from None
    engine = _engine(options, depth, concurrency, rate, tls, excludes)
    if workers is None and executor is None:
        return engine, stream
    from rdpprobe.scale import parse_workers
    from rdpprobe.scale.run import ScaledRun
    from rdpprobe.scale.shares import ScanSpec

    count = 1 if workers is None else parse_workers(workers, "workers")
    if count == 1 and executor is None:
        return engine, stream
    return ScaledRun(ScanSpec.of(engine.config, engine.options, excludes), count, executor), stream


def _engine(options: dict[str, Any], depth: str | None, concurrency: Any, rate: Any, tls: str,
            excludes: Exclusions) -> Engine:
    """The engine to run, its options checked as ``probe`` checks them."""
    from rdpprobe.engine import TLS_CHOICES, Engine, EngineOptions, check_rate
    from rdpprobe.scan import depth_config

    given = [name for name in CREDENTIAL_OPTIONS if options.get(name)]
    if given:
        raise ProbeUsageError(f"a scan never sends credentials ({given[0]} given); probe one server for that")
    if not (isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency >= 1):
        raise ProbeUsageError(f"concurrency must be a whole number of at least 1, got {concurrency!r}")
    if rate is not None:
        check_rate(rate, "rate")
    if tls not in TLS_CHOICES:
        raise ProbeUsageError(f"tls must be one of {', '.join(TLS_CHOICES)}, got {tls!r}")
    _, config, keylog = build(OPTIONS_TARGET, None, options)
    if depth is not None:
        config = depth_config(config, depth, explicit_stop=config.stop_after is not None)
    engine_options = EngineOptions(concurrency=concurrency, rate=rate, tls=tls, keylog_path=keylog,
                                   address_filter=lambda address, port: not excludes.covers(address, port))  # fmt: skip
    return Engine(config, engine_options)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_spec(text: Any) -> str:
    if not isinstance(text, str):
        raise ProbeUsageError(f"{TARGET_WHERE}: expected a string, got {type(text).__name__}")
    if text.strip() == STDIN:
        raise ProbeUsageError(f"{TARGET_WHERE}: '-' (standard input) is for the command line; pass the lines instead")
    try:
        parse_spec(text, DEFAULT_PORT, TARGET_WHERE)
    except TargetError as exc:
        raise ProbeUsageError(str(exc)) from None
    return text


def _checked(sources: Iterable[str]) -> Generator[str, None, None]:
    for text in sources:
        yield _check_spec(text)


def _ports(value: Any) -> Sequence[int]:
    """A port, ports, or a port list written as ``-p`` takes it (``"3389,3390-3392"``);
    ``TargetError`` naming ``ports`` when one is not a port."""
    from rdpprobe.targets import check_ports

    if isinstance(value, str):
        return parse_ports(value, PORTS_WHERE)
    try:
        ports = (value,) if _is_number(value) else tuple(value)
    except TypeError:
        raise ProbeUsageError(f"ports must be a port or ports, got {value!r}") from None
    return check_ports(ports, PORTS_WHERE)


def _in_this_thread(engine: _Runs, targets: Iterable[Target]) -> Generator[ProbeResult, None, None]:
    with contextlib.closing(engine.turns(targets)) as turns:
        try:
            for finished in turns:
                yield from finished
        except TargetError as exc:
            raise ProbeUsageError(str(exc)) from None


async def _from_engine_thread(engine: _Runs, targets: Iterable[Target]) -> AsyncGenerator[ProbeResult, None]:
    """Results from the engine run in a thread of its own, handed over a turn at a time."""
    loop = asyncio.get_running_loop()
    handed: asyncio.Queue[list[ProbeResult] | BaseException | None] = asyncio.Queue()
    room = threading.Semaphore(MAX_WAITING_TURNS)

    def hand(item: list[ProbeResult] | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # The event loop is gone: nobody is waiting.
            loop.call_soon_threadsafe(handed.put_nowait, item)

    def run() -> None:
        try:
            with contextlib.closing(engine.turns(targets)) as turns:
                for finished in turns:
                    while not room.acquire(timeout=CONSUMER_CHECK_S):
                        if engine.stopping:
                            return
                    hand(finished)
        except BaseException as exc:  # noqa: BLE001 - the consumer raises it in its own task
            hand(exc)
            return
        hand(None)

    worker = threading.Thread(target=run, name="rdpprobe-engine", daemon=True)
    worker.start()
    try:
        while (item := await handed.get()) is not None:
            if isinstance(item, TargetError):
                raise ProbeUsageError(str(item)) from None
            if isinstance(item, BaseException):
                raise item
            room.release()
            for result in item:
                yield result
    finally:
        engine.stop()
