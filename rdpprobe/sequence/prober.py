"""The client side of the RDP connection sequence as a sans-IO state machine.

Rules of this module:
- no sockets, no ``ssl``, no clock, no randomness: time comes in as ``now`` (seconds, any
  monotonic origin), randomness through the injected ``rng``, TLS outcomes from the driver;
- every public method may queue actions: the driver drains ``next_action()`` after each
  call, in order, until it returns None;
- a peer's misbehaviour never escapes as an exception: a ``DecodeError`` at a handler
  becomes ``Signal.DECODE_ERROR``; after the outcome is set every further input is ignored;
- per-phase deadlines and one overall deadline bound the probe: ``get_timer()`` says when
  the driver must call ``handle_timer``. The overall deadline is ``timeouts.overall`` from
  ``now``, or the earlier ``deadline_at`` a driver gives: the deadline of the whole target,
  which every connection of its plan (enumeration, negotiation fallback) shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from rdpprobe.classify import Detail
from rdpprobe.sequence.verdicts import classify_outcome
from rdpprobe.errors import DecodeError, ProbeUsageError
from rdpprobe.result import Facts, ProbeResult, Target
from rdpprobe.sequence import handlers
from rdpprobe.sequence.actions import Action, Finished, StartTls, TlsInfo
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.framing import foreign_protocol, frame_size
from rdpprobe.sequence.phases import CONNECT_PHASES, Phase
from rdpprobe.sequence.state import Expect, ProbeState
from rdpprobe.sequence.trace import CLOSED, RECEIVED, TLS
from rdpprobe.wire.describe import describe
from rdpprobe.signals import Observed, Signal

#: Input the prober holds and has not consumed, at most: one incomplete PDU (every format
#: caps its length at 64 KiB: TPKT 65535, fast-path 32767, TSRequest ``MAX_TS_REQUEST_LEN``)
#: plus one 64 KiB read that completes it. More is a flood (``Signal.FLOOD``), never buffered.
MAX_BUFFERED_INPUT = 128 * 1024
#: Frames one connection may hand to the handlers. The sequence up to the Demand Active takes
#: a few dozen; a server that sends more is flooding (fast-path updates after Client Info,
#: ignored PDUs) and the probe ends there, whatever TCP segments the frames came in.
MAX_FRAMES_PER_CONNECTION = 1024


@dataclass(frozen=True, slots=True)
class SoFar:
    """How far a probe had got when it was cut short (Ctrl-C): the phases it completed with
    their durations, the one under way and for how long. Being interrupted is nothing the
    server did, so there is no signal and no verdict; the facts are those learned so far."""

    target: Target
    timings: tuple[tuple[Phase, float], ...]
    current: Phase | None
    current_s: float
    skipped: tuple[Phase, ...]
    facts: Facts


class ProbeInterrupted(KeyboardInterrupt):
    """Ctrl-C during a probe; ``so_far`` says how far it had got. A ``KeyboardInterrupt``,
    so that whatever handles those handles this one."""

    def __init__(self, so_far: SoFar) -> None:
        super().__init__()
        self.so_far = so_far


class Prober:
    """Walks one connection through the sequence; see the module rules."""

    __slots__ = ("_state", "_started_at", "_deadline", "_buffer", "_frames", "_result", "_finished_emitted")

    def __init__(
        self,
        target: Target,
        config: ProbeConfig,
        *,
        now: float,
        started_at: datetime,
        rng: Callable[[int], bytes],
        deadline_at: float | None = None,
    ) -> None:
        self._state = ProbeState(target, config, rng, started_at)
        self._state.now = now
        self._started_at = started_at
        self._deadline = now + config.timeouts.overall
        if deadline_at is not None and deadline_at < self._deadline:
            self._deadline = deadline_at  # The target's deadline, shared by all its connections.
        self._buffer = bytearray()
        self._frames = 0
        """Frames handled so far on this connection (``MAX_FRAMES_PER_CONNECTION``)."""
        self._result: ProbeResult | None = None
        self._finished_emitted = False
        self._state.enter(Phase.DNS)

    # -- driver inputs -------------------------------------------------------------------

    def resolved(self, address: str, now: float) -> None:
        """Name resolution gave ``address``; the driver connects next, unless the probe is
        ``finished`` (asked to stop after dns). Drain ``next_action()`` afterwards."""
        self._tick(now)
        state = self._state
        if state.finished:
            return
        state.target = Target(state.target.host, state.target.port, address)
        if not state.stop_if_asked(Phase.DNS, "name resolution"):
            state.enter(Phase.TCP_CONNECT)

    def connection_made(self, now: float) -> None:
        """TCP is established: send the X.224 Connection Request ([MS-RDPBCGR] 1.3.1.1), or
        stop there when asked to stop after tcp_connect. Drain ``next_action()`` afterwards."""
        self._tick(now)
        state = self._state
        if state.finished or state.stop_if_asked(Phase.TCP_CONNECT, "the tcp connection"):
            return
        self._guard(lambda: handlers.begin_connection_initiation(state))

    def failed(self, observed: Observed, now: float) -> None:
        """The transport failed (refused, reset, TLS alert …). Drain ``next_action()``."""
        self._tick(now)
        if not self._state.finished:
            handlers.transport_failed(self._state, observed)

    def tls_established(self, info: TlsInfo, now: float) -> None:
        """The TLS handshake the prober asked for completed. Drain ``next_action()``."""
        self._tick(now)
        if self._state.finished:
            return  # The connection failed while the handshake finished (a reset met our Finished).
        if self._state.expect is not Expect.TLS_HANDSHAKE:
            raise ProbeUsageError("tls_established without a pending StartTls")
        if self._state.trace is not None:
            self._state.record(TLS, f"{info.version or 'unknown version'}, {info.cipher or 'unknown cipher'}")
        self._guard(lambda: handlers.tls_done(self._state, info))

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the peer (plaintext once TLS is up); ``b""`` is end of stream."""
        self._tick(now)
        if self._state.finished:
            return
        if not data:
            self._state.record(CLOSED, "by the peer")
            handlers.peer_closed(self._state)
            return
        if len(self._buffer) + len(data) > MAX_BUFFERED_INPUT:
            self._flood(f"more than {MAX_BUFFERED_INPUT // 1024} KiB of input the probe had not consumed")
            return
        self._buffer += data
        self._guard(self._drain_frames)

    def handle_timer(self, now: float) -> None:
        """Call when ``get_timer()`` has passed. Drain ``next_action()`` afterwards."""
        self._tick(now)
        if self._state.finished or now < self._timer():
            return
        overall = now >= self._deadline
        handlers.deadline_passed(self._state, overall)

    # -- driver outputs ------------------------------------------------------------------

    def next_action(self) -> Action | None:
        state = self._state
        if state.outbox:
            action = state.outbox.pop(0)
            if isinstance(action, StartTls) and self._buffer:
                # INVARIANT: what follows the CC in the same read belongs to TLS, not to us.
                action = StartTls(action.server_name, bytes(self._buffer))
                self._buffer.clear()
            return action
        if state.finished and not self._finished_emitted:
            self._finished_emitted = True
            return Finished(self.result)
        return None

    def get_timer(self) -> float | None:
        return None if self._state.finished else self._timer()

    @property
    def finished(self) -> bool:
        return self._state.finished

    @property
    def result(self) -> ProbeResult:
        if self._result is None:
            if not self._state.finished:
                raise ProbeUsageError("the probe has not finished")
            self._result = self._build_result()
        return self._result

    def so_far(self, now: float) -> SoFar:
        """How far the probe has got, for a driver that was interrupted (see ``SoFar``)."""
        state = self._state
        current = None if state.finished else state.phase
        return SoFar(
            target=state.target,
            timings=tuple(state.timings),
            current=current,
            current_s=max(0.0, now - state.phase_started) if current is not None else 0.0,
            skipped=tuple(state.skipped),
            facts=state.facts,
        )

    # -- internals -----------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self._state.now = max(self._state.now, now)

    def _timer(self) -> float:
        state = self._state
        budget = state.config.timeouts
        per_phase = budget.connect if state.phase in CONNECT_PHASES else budget.phase
        return min(self._deadline, state.phase_started + per_phase)

    def _guard(self, step: Callable[[], None]) -> None:
        try:
            step()
        except DecodeError as exc:
            self._state.fail(Signal.DECODE_ERROR, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must end in a result, never a traceback
            self._state.fail(Signal.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    def _drain_frames(self) -> None:
        """Hand every complete frame in the buffer to its handler, up to the frame bound."""
        state = self._state
        while True:
            if state.finished or not self._buffer or state.expect is Expect.TLS_HANDSHAKE:
                return
            if state.expect is Expect.CONNECTION_CONFIRM and self._reject_foreign():
                return
            size = frame_size(state.expect, self._buffer)
            if size is None:
                return
            handler = state.handler
            if handler is None:  # Only a finished probe has none, and that returned above.
                return
            if self._frames >= MAX_FRAMES_PER_CONNECTION:
                self._flood(f"more than {MAX_FRAMES_PER_CONNECTION} pdus on one connection")
                return
            self._frames += 1
            frame = bytes(self._buffer[:size])
            del self._buffer[:size]
            if state.trace is not None:
                state.record(RECEIVED, describe(frame), frame)
            handler(state, frame)

    def _flood(self, detail: str) -> None:
        """The peer pushed past the input bound: classified, and nothing more is kept."""
        self._buffer = bytearray()
        self._state.fail(Signal.FLOOD, f"the server sent {detail}")

    def _reject_foreign(self) -> bool:
        kind = foreign_protocol(bytes(self._buffer[:8]))
        if kind is None:
            return False
        self._state.fail(Signal.NOT_RDP, f"peer answered like {kind}", Detail(not_rdp_kind=kind))
        return True

    def _build_result(self) -> ProbeResult:
        state = self._state
        assert state.outcome is not None
        if state.phase is not None:
            state.timings.append((state.phase, state.now - state.phase_started))
        outcome = state.outcome
        facts = state.facts
        return ProbeResult(
            target=state.target,
            started_at=self._started_at,
            phase_reached=state.phase,
            failed_phase=state.phase if outcome.failed else None,
            signal=outcome.signal,
            detail=outcome.detail,
            verdict=classify_outcome(state.phase, outcome, facts, state.target.port),
            timings=tuple(state.timings),
            skipped_phases=tuple(state.skipped),
            facts=facts,
            trace=None if state.trace is None else tuple(state.trace),
        )
