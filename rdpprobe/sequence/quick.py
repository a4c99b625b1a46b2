"""The fast path of a probe that stops at the Connection Confirm ([MS-RDPBCGR] 1.3.1.1).

A scan at ``--depth quick`` sends every target the same X.224 Connection Request and most
servers answer it with one of a handful of Connection Confirms (servers of one build send
the same bytes, 2.2.1.2). ``QuickProber`` has ``Prober``'s driver interface and walks that
common path with no state machine at all: the request's bytes are encoded once per scan,
and the result for a Confirm seen before is built from the result the general prober gave
for the same bytes, with this probe's target, start and timings.

Rules of this module:
- the general ``Prober`` decides every result: a template is only ever the fields of a
  result it built but target, start and timings, kept once the result rebuilt from it for
  that same probe is checked to equal that result;
- anything off the common path (a failure, a timer, a Confirm not seen before or split
  across reads, any later input) hands the probe to a general ``Prober``, which is given
  every event so far again, with the same times: from then on it answers for the probe;
- both paths give the same actions, timers and result for any input (the property test
  in ``tests/sequence/test_quick.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rdpprobe.errors import EncodeError
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.actions import Action, CloseConnection, Finished, SendBytes, TlsInfo
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.initiation import request_bytes
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import Prober, SoFar
from rdpprobe.signals import Observed

#: Distinct first reads remembered with their result; the oldest is forgotten first.
MAX_TEMPLATES = 256
#: Longest first read kept as a template's key (a Connection Confirm is 11-19 bytes).
MAX_TEMPLATE_KEY = 512
#: Steps of the common path: created (DNS), resolved (TCP connect), connected (waiting for
#: the Connection Confirm), done (the result came from a template).
CREATED, RESOLVED, CONNECTED, DONE = range(4)
_CLOSE = CloseConnection()
#: The fields of a result that are this probe's own: the rest come from the template.
OWN_FIELDS = frozenset({"target", "started_at", "timings"})
_TEMPLATE_FIELDS = tuple(f.name for f in dataclasses.fields(ProbeResult) if f.name not in OWN_FIELDS)
Template = dict[str, Any]
"""A result's fields but ``OWN_FIELDS``, by name: what probes answered alike share."""


def template_of(result: ProbeResult) -> Template:
    return {name: getattr(result, name) for name in _TEMPLATE_FIELDS}


class QuickShapes:
    """What every fast probe of one config shares: the request, the budgets, the templates."""

    __slots__ = ("config", "request", "connect_budget", "phase_budget", "overall", "templates")

    def __init__(self, config: ProbeConfig, request: bytes) -> None:
        self.config = config
        self.request = SendBytes(request)
        timeouts = config.timeouts
        self.connect_budget, self.phase_budget, self.overall = timeouts.connect, timeouts.phase, timeouts.overall
        self.templates: dict[bytes, Template] = {}

    @classmethod
    def for_config(cls, config: ProbeConfig) -> QuickShapes | None:
        """Shapes for ``config``, or None when its probes do not fit the fast path: they go
        past the Connection Confirm, enumerate, trace, or their request cannot be encoded."""
        if config.stop_after is not Phase.CONNECTION_INITIATION or config.enumerate_protocols or config.trace:
            return None
        try:
            return cls(config, request_bytes(config))
        except EncodeError:
            return None

    def remember(self, key: bytes, template: Template) -> None:
        templates = self.templates
        if len(templates) >= MAX_TEMPLATES:
            del templates[next(iter(templates))]
        templates[key] = template


class QuickProber:
    """``Prober`` for a probe that stops at the Connection Confirm; see the module rules."""

    __slots__ = ("_shapes", "_target", "_address", "_started_at", "_rng", "_deadline_at", "_deadline",
                 "_step", "_t0", "_t1", "_t2", "_last", "_queue", "_emitted", "_result", "_general")  # fmt: skip

    def __init__(
        self,
        shapes: QuickShapes,
        target: Target,
        *,
        now: float,
        started_at: datetime,
        rng: Callable[[int], bytes],
        deadline_at: float | None = None,
    ) -> None:
        self._shapes = shapes
        self._target = target
        self._address: Target | None = None
        """The target with the address it resolved to, once it has."""
        self._started_at = started_at
        self._rng = rng
        self._deadline_at = deadline_at
        deadline = now + shapes.overall
        self._deadline = deadline_at if deadline_at is not None and deadline_at < deadline else deadline
        self._step = CREATED
        # The clock when each step was reached, never moving back (as ``Prober._tick``).
        self._t0 = self._t1 = self._t2 = now
        self._last: tuple[bytes, float] | None = None
        """The read a template answered, and when (replayed if a general prober takes over)."""
        self._queue: list[Action] = []
        self._emitted = 0
        """Actions the driver has taken from this prober (a general one skips as many)."""
        self._result: ProbeResult | None = None
        self._general: Prober | None = None

    # -- driver inputs -------------------------------------------------------------------

    def resolved(self, address: str, now: float) -> None:
        general = self._general or (self._take_over() if self._step != CREATED else None)
        if general is not None:
            general.resolved(address, now)
            return
        self._t1 = self._t0 if now < self._t0 else now
        target = self._target
        self._address = Target(target.host, target.port, address)
        self._step = RESOLVED

    def connection_made(self, now: float) -> None:
        general = self._general or (self._take_over() if self._step != RESOLVED else None)
        if general is not None:
            general.connection_made(now)
            return
        self._t2 = self._t1 if now < self._t1 else now
        self._queue.append(self._shapes.request)
        self._step = CONNECTED

    def receive_data(self, data: bytes, now: float) -> None:
        general = self._general
        if general is None and self._step == CONNECTED and data:
            template = self._shapes.templates.get(data)
            if template is not None:
                self._last = (data, now)
                self._finish(self._from_template(template, now))
                return
            general = self._take_over()
            general.receive_data(data, now)
            self._learn(data, now, general)
            return
        (general or self._take_over()).receive_data(data, now)

    def failed(self, observed: Observed, now: float) -> None:
        (self._general or self._take_over()).failed(observed, now)

    def tls_established(self, info: TlsInfo, now: float) -> None:
        (self._general or self._take_over()).tls_established(info, now)

    def handle_timer(self, now: float) -> None:
        (self._general or self._take_over()).handle_timer(now)

    # -- driver outputs ------------------------------------------------------------------

    def next_action(self) -> Action | None:
        queue = self._queue
        if queue:
            self._emitted += 1
            return queue.pop(0)
        general = self._general
        return None if general is None else general.next_action()

    def get_timer(self) -> float | None:
        """As ``Prober.get_timer``: the step's budget (connect, then phase) or the deadline."""
        general = self._general
        if general is not None:
            return general.get_timer()
        step, shapes = self._step, self._shapes
        if step == CREATED:
            wanted = self._t0 + shapes.connect_budget
        elif step == RESOLVED:
            wanted = self._t1 + shapes.connect_budget
        elif step == CONNECTED:
            wanted = self._t2 + shapes.phase_budget
        else:
            return None
        return wanted if wanted < self._deadline else self._deadline

    @property
    def finished(self) -> bool:
        general = self._general
        return self._step == DONE if general is None else general.finished

    @property
    def result(self) -> ProbeResult:
        if self._result is not None:
            return self._result
        return (self._general or self._take_over()).result

    def so_far(self, now: float) -> SoFar:
        return (self._general or self._take_over()).so_far(now)

    # -- internals -----------------------------------------------------------------------

    def _from_template(self, template: Template, now: float) -> ProbeResult:
        """``template`` with this probe's target, start and timings (the read came at ``now``)."""
        t0, t1, t2 = self._t0, self._t1, self._t2
        t3 = t2 if now < t2 else now
        timings = ((Phase.DNS, t1 - t0), (Phase.TCP_CONNECT, t2 - t1), (Phase.CONNECTION_INITIATION, t3 - t2))
        return ProbeResult(target=self._address or self._target, started_at=self._started_at, timings=timings,
                           **template)  # fmt: skip

    def _finish(self, result: ProbeResult) -> None:
        self._result = result
        self._queue += (_CLOSE, Finished(result))
        self._step = DONE

    def _take_over(self) -> Prober:
        """A general prober, given every event so far with the times this one took; the
        actions the driver already took are dropped from what it asks for."""
        general = Prober(self._target, self._shapes.config, now=self._t0, started_at=self._started_at,
                         rng=self._rng, deadline_at=self._deadline_at)  # fmt: skip
        step = self._step
        if step >= RESOLVED and self._address is not None:
            general.resolved(self._address.address or "", self._t1)
        if step >= CONNECTED:
            general.connection_made(self._t2)
        if step == DONE and self._last is not None:
            general.receive_data(*self._last)
        for _ in range(self._emitted):
            general.next_action()
        self._queue.clear()
        self._general = general
        return general

    def _learn(self, data: bytes, now: float, general: Prober) -> None:
        """Keep the result ``general`` gave for the first read ``data`` as a template, when
        that read finished the probe and ``_from_template`` rebuilds exactly that result."""
        if not general.finished or len(data) > MAX_TEMPLATE_KEY:
            return
        actions = []
        while (action := general.next_action()) is not None:
            actions.append(action)
        self._queue[:] = actions  # Served before the (now empty) general prober's.
        result = general.result
        template = template_of(result)
        if actions == [_CLOSE, Finished(result)] and self._from_template(template, now) == result:
            self._shapes.remember(data, template)
