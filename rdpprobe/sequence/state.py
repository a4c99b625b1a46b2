"""The mutable state of one probe, shared by the phase handlers.

Rules of this module:
- only the prober and its handlers touch a ``ProbeState``; drivers see actions and results;
- a phase is entered once and phases never move backwards (``enter`` enforces it);
- the first outcome recorded wins: after ``finish`` every later event is ignored;
- facts are collected with ``learn`` into a plain dict and become one frozen ``Facts`` when
  the result is built: a probe learns about ten of them, one at a time.
"""

from __future__ import annotations

import enum
from datetime import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from rdpprobe.classify import Detail
from rdpprobe.result import Facts, Target
from rdpprobe.sequence.actions import Action, CloseConnection, SendBytes, StartTls
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.trace import PHASE_ENDED, PHASE_STARTED, SENT, TraceEvent
from rdpprobe.signals import Signal
from rdpprobe.wire.describe import describe

if TYPE_CHECKING:  # Licensing code (and its crypto) loads only when a probe gets that far.
    from rdpprobe.wire.license_client import LicenseClientContext


FrameHandler = Callable[["ProbeState", bytes], None]


class Expect(enum.Enum):
    """What the prober waits for next; it decides how incoming bytes are framed."""

    NOTHING = "nothing"
    CONNECTION_CONFIRM = "connection_confirm"  # TPKT, [MS-RDPBCGR] 2.2.1.2
    TLS_HANDSHAKE = "tls_handshake"  # The driver runs TLS and reports back.
    TS_REQUEST = "ts_request"  # DER on the TLS stream, [MS-CSSP] 2.2.1
    EARLY_AUTHZ = "early_authz"  # 4 raw bytes, [MS-RDPBCGR] 2.2.10.2
    MCS = "mcs"  # TPKT frames (slow path) or fast-path frames.


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the probe ended: the evidence the classifier works from."""

    signal: Signal
    failed: bool
    detail: str | None = None
    evidence: Detail = Detail()
    """Refinements for the classifier: ``neg_failure_code``, ``ntstatus``, ``error_info`` …;
    typed, so that a refinement ``Detail`` has no field for is an error, not lost."""


@dataclass(slots=True)
class McsState:
    """What the basic settings exchange and channel connection learned."""

    user_id: int | None = None
    io_channel: int | None = None
    pending_joins: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    encryption_method: int = 0
    encryption_level: int = 0
    server_random: bytes | None = None
    server_certificate: bytes | None = None
    share_id: int | None = None
    error_info: int = 0
    """The last non-zero Set Error Info code received ([MS-RDPBCGR] 2.2.5.1.1)."""
    license_client: LicenseClientContext | None = None
    """The client's licensing state once a LICENSE_REQUEST arrived ([MS-RDPELE] 3.3.1)."""


class ProbeState:
    """Everything a probe knows while it runs (slotted: a scan parks thousands of them)."""

    __slots__ = (
        "target", "config", "rng", "phase", "phase_started", "timings", "skipped", "learned",
        "expect", "handler", "selected_protocol", "tls_certificate", "nla", "_mcs", "security",
        "outcome", "outbox", "now", "started_at", "trace", "trace_origin",
    )

    def __init__(
        self, target: Target, config: ProbeConfig, rng: Callable[[int], bytes], started_at: datetime
    ) -> None:
        self.target = target
        self.config = config
        self.rng = rng
        self.phase: Phase | None = None
        self.phase_started = 0.0
        self.timings: list[tuple[Phase, float]] = []
        self.skipped: list[Phase] = []
        self.learned: dict[str, Any] = {}
        """``Facts`` fields learned so far; the ``Facts`` value is built once, at the end."""
        self.expect = Expect.NOTHING
        self.handler: FrameHandler | None = None
        self.selected_protocol: int | None = None
        self.tls_certificate: bytes | None = None
        self.nla: Any = None
        self._mcs: McsState | None = None
        self.security: Any = None
        self.outcome: Outcome | None = None
        self.outbox: list[Action] = []
        self.now = 0.0
        self.started_at = started_at  # Wall-clock start; certificates are judged against it.
        self.trace: list[TraceEvent] | None = [] if config.trace else None
        self.trace_origin: float | None = None

    @property
    def mcs(self) -> McsState:
        """MCS state, made when first needed (most scanned hosts never get that far)."""
        if self._mcs is None:
            self._mcs = McsState()
        return self._mcs

    @property
    def facts(self) -> Facts:
        """What the probe has learned, as the result reports it."""
        return Facts(**self.learned)

    def learn(self, **facts: Any) -> None:
        """Record ``Facts`` fields; a later value for the same field replaces the earlier."""
        self.learned.update(facts)

    def record(self, event: str, summary: str, data: bytes | None = None) -> None:
        """Add an event to the trace, when ``ProbeConfig.trace`` asked for one."""
        if self.trace is None:
            return
        if self.trace_origin is None:
            self.trace_origin = self.now
        phase = self.phase.value if self.phase is not None else None
        self.trace.append(TraceEvent(self.now - self.trace_origin, event, phase, summary, data))

    # -- phases ------------------------------------------------------------------------

    def enter(self, phase: Phase) -> None:
        """Close the timing of the current phase and start ``phase``."""
        if self.phase is not None:
            if phase < self.phase:
                raise AssertionError(f"phase moved backwards: {self.phase.value} -> {phase.value}")
            self.timings.append((self.phase, self.now - self.phase_started))
            if self.trace is not None:
                self.record(PHASE_ENDED, f"after {(self.now - self.phase_started) * 1000:.0f} ms")
        self.phase = phase
        self.phase_started = self.now
        self.record(PHASE_STARTED, "")

    def skip(self, *phases: Phase) -> None:
        self.skipped.extend(p for p in phases if p not in self.skipped)

    def wants_to_stop_after(self, phase: Phase) -> bool:
        """True when the user asked to stop once ``phase`` is complete."""
        stop = self.config.stop_after
        return stop is not None and stop <= phase

    def stop_if_asked(self, phase: Phase, what: str) -> bool:
        """Succeed, saying the probe stopped after ``what``, when the user asked to stop once
        ``phase`` is complete; True when it did."""
        if not self.wants_to_stop_after(phase):
            return False
        self.succeed(f"stopped after {what}, as asked")
        return True

    # -- actions -----------------------------------------------------------------------

    def send(self, data: bytes, secret: bool = False) -> None:
        """Queue ``data`` to send; ``secret``: it carries credentials or what is derived from
        them, and the trace keeps its type and length only."""
        self.outbox.append(SendBytes(data))
        if self.trace is not None:
            self.record(SENT, describe(data), None if secret else data)

    def wait_for(self, expect: Expect, handler: FrameHandler) -> None:
        """Frame the next input as ``expect`` and hand each frame to ``handler``."""
        self.expect = expect
        self.handler = handler

    def start_tls(self) -> None:
        self.expect = Expect.TLS_HANDSHAKE
        self.outbox.append(StartTls(self.config.expected_name or self.target.host))

    # -- outcomes ----------------------------------------------------------------------

    def succeed(self, detail: str | None = None) -> None:
        """The probe went as far as it was asked or allowed to go."""
        self._finish(Outcome(Signal.OK, False, detail))

    def fail(self, signal: Signal, detail: str | None = None, evidence: Detail = Detail()) -> None:
        """The probe stopped on a failure observed in the current phase; ``evidence`` is what
        refines its verdict (an RDP_NEG_FAILURE code, an NTSTATUS, an MCS result …)."""
        self._finish(Outcome(signal, True, detail, evidence))

    def _finish(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.expect = Expect.NOTHING
            self.handler = None
            self.outbox.append(CloseConnection())

    @property
    def finished(self) -> bool:
        return self.outcome is not None
