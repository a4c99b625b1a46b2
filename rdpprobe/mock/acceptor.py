"""The server side of the RDP connection sequence as a sans-IO state machine.

Rules of this module:
- the acceptor takes bytes (``receive``) and TLS outcomes (``tls_established``) and returns
  ``actions`` (send, pause, start TLS, close); it never touches sockets, clocks or ``ssl``;
- every PDU is built and parsed by ``rdpprobe.wire``; faults only pick field values or act
  on the encoded bytes (``transportfaults``);
- states are named after what the server waits for ([MS-RDPBCGR] 1.3.1.1); each state has
  one handler in ``_HANDLERS`` (per-phase logic lives in ``mock.nla``, ``mock.mcsserver``
  and ``mock.activation``);
- a peer's malformed input never escapes as an exception: the acceptor notes it and drops
  the connection, as a server SHOULD ([MS-RDPBCGR] 3.3.5.3.1).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from rdpprobe.errors import DecodeError, RdpProbeError
from rdpprobe.mock import activation, mcsserver, transportfaults
from rdpprobe.mock.actions import Action as Step
from rdpprobe.mock.actions import Close, Send, StartTls
from rdpprobe.mock.certs import CertBundle, certificate_variant
from rdpprobe.mock.faults import Action, Fault, ServerPhase
from rdpprobe.mock.nla import Credentials, NlaServer
from rdpprobe.mock.personality import choose
from rdpprobe.mock.scenarios import Scenario
from rdpprobe.mock.states import State
from rdpprobe.wire import nego, tpkt
from rdpprobe.wire.nego import ConnectionConfirm, NegFailure, NegRsp

Rng = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class Record:
    """What one connection went through, for tests and logs."""

    phase_reached: ServerPhase
    state: State
    selected_protocol: int | None
    notes: tuple[str, ...]
    authenticated_user: str | None


class Acceptor:
    """One server connection's protocol state. Drain the returned actions after each call."""

    def __init__(self, scenario: Scenario, credentials: Credentials | None = None,
                 rng: Rng = os.urandom, clock: Callable[[], float] = time.time) -> None:
        self.scenario = scenario
        self.persona = scenario.personality
        self.plan = scenario.plan
        self.rng = rng
        self.clock = clock
        self.credentials = credentials or Credentials()
        self.state = State.WAIT_CONNECTION_REQUEST
        self.phase_reached = ServerPhase.ACCEPT
        self.notes: list[str] = []
        self.requested: int | None = None
        self.selected: int | None = None
        self.bundle = self._certificate()
        self.nla: NlaServer | None = None
        self.mcs = mcsserver.McsServer(self)
        self.session = activation.Activation(self)
        self._buf = b""

    # -- driver interface ------------------------------------------------------------------

    def on_connect(self) -> list[Step]:
        """Actions right after the TCP accept (banners, immediate RST)."""
        return self.respond(ServerPhase.ACCEPT, b"")

    def receive(self, data: bytes) -> list[Step]:
        """Bytes from the client (plaintext once TLS is up); ``b""`` means the peer closed."""
        if self.state is State.CLOSED:
            return []
        if not data:
            self.note("peer closed")
            return self.close()
        if self.state is State.SILENT:
            return []
        self._buf += data
        return self._drain()

    def tls_established(self) -> list[Step]:
        """The TLS handshake finished ([MS-RDPBCGR] 5.4.5.1)."""
        self.reach(ServerPhase.TLS)
        if self.selected in (nego.SecurityProtocol.HYBRID, nego.SecurityProtocol.HYBRID_EX):
            self.nla = NlaServer(self)
            self.state = State.WAIT_TS_REQUEST
        else:
            self.state = State.WAIT_CONNECT_INITIAL
        return []

    def record(self) -> Record:
        user = self.nla.authenticated_user if self.nla else self.session.client_user
        return Record(self.phase_reached, self.state, self.selected, tuple(self.notes), user)

    # -- helpers for the phase modules -----------------------------------------------------

    def note(self, text: str) -> None:
        self.notes.append(text)

    def reach(self, phase: ServerPhase) -> None:
        if _ORDER[phase] > _ORDER[self.phase_reached]:
            self.phase_reached = phase

    def fault(self, phase: ServerPhase, *actions: Action) -> Fault | None:
        """The terminal fault at ``phase`` if its action is one of ``actions``."""
        f = self.plan.terminal(phase)
        return f if f is not None and f.action in actions else None

    def respond(self, phase: ServerPhase, data: bytes, then: State | None = None) -> list[Step]:
        """Send ``data`` as the answer of ``phase``, applying the phase's generic faults."""
        self.reach(phase)
        f = self.plan.terminal(phase)
        steps = self._generic(f, data) if f is not None else None
        if steps is not None:
            return steps
        if then is not None:
            self.state = then
        return transportfaults.timed(self.plan.timing(phase), data)

    def close(self, reset: bool = False) -> list[Step]:
        self.state = State.CLOSED
        return [Close(reset)]

    def _generic(self, f: Fault, data: bytes) -> list[Step] | None:
        if f.action in (Action.CLOSE, Action.RESET):
            self.state = State.CLOSED
            return transportfaults.hang_up(f, data)
        if f.action is Action.BLACKHOLE:
            self.state = State.SILENT
            self.note(f"silent from {f.phase.value}")
            return []
        if f.action is Action.GARBAGE:
            self.state = State.SILENT
            send = Send(transportfaults.garbage(f, f.phase.value.encode()))
            return [send] * max(1, int(f.param("repeat")))
        if f.action is Action.BANNER:
            steps = transportfaults.banner(str(f.param("kind")))
            self.state = State.CLOSED if isinstance(steps[-1], Close) else State.SILENT
            return steps
        return None

    # -- framing and dispatch --------------------------------------------------------------

    def _drain(self) -> list[Step]:
        steps: list[Step] = []
        while self.state not in (State.CLOSED, State.SILENT, State.TLS_HANDSHAKE):
            try:
                length = self._frame_length()
            except DecodeError as exc:
                return steps + self._protocol_error(exc)
            if length is None or len(self._buf) < length:
                break
            frame, self._buf = self._buf[:length], self._buf[length:]
            steps += self._dispatch(frame)
        return steps

    def _frame_length(self) -> int | None:
        if self.state is State.WAIT_CLIENT_HELLO:
            return transportfaults.tls_record_length(self._buf)
        if self.state is State.WAIT_TS_REQUEST:
            assert self.nla is not None
            return self.nla.frame_length(self._buf)
        if self._buf and self._buf[0] != tpkt.TPKT_VERSION and self.state is State.ACTIVE:
            return tpkt.fastpath_frame_length(self._buf)
        return tpkt.frame_length(self._buf)

    def _dispatch(self, frame: bytes) -> list[Step]:
        handler = _HANDLERS.get(self.state)
        if handler is None:
            return []
        try:
            return handler(self, frame)
        except (RdpProbeError, ValueError) as exc:
            return self._protocol_error(exc)

    def _protocol_error(self, exc: Exception) -> list[Step]:
        self.note(f"protocol error in {self.state.value}: {exc}")
        return self.close()

    # -- connection initiation ([MS-RDPBCGR] 2.2.1.1 / 2.2.1.2 / 3.3.5.3.2) ---------------

    def _on_connection_request(self, frame: bytes) -> list[Step]:
        req = nego.decode_connection_request(frame)
        self.requested = req.neg_req.requested_protocols if req.neg_req else None
        self.note(f"connection request: requested={self.requested}")
        neg = self._negotiation_answer()
        cc = ConnectionConfirm(neg, src_ref=self.persona.src_ref)
        data = nego.encode_connection_confirm(cc)
        steps = self.respond(ServerPhase.CONNECTION_INITIATION, data, then=self._after_cc(neg))
        if self.state is State.TLS_HANDSHAKE:
            steps.append(self._start_tls())
        elif isinstance(neg, NegFailure):
            steps += self.close()
        return steps

    def _negotiation_answer(self) -> NegRsp | NegFailure | None:
        f = self.fault(ServerPhase.CONNECTION_INITIATION, Action.NEG_FAILURE, Action.LEGACY_CC,
                       Action.SELECT_PROTOCOL)
        if f is not None and f.action is Action.NEG_FAILURE:
            return NegFailure(int(f.param("code")))
        if f is not None and f.action is Action.SELECT_PROTOCOL:
            # What a machine in the middle that rewrote the CC serves: the protocol it chose,
            # here on the server itself ([MS-RDPBCGR] 2.2.1.2.1 selectedProtocol).
            return NegRsp(int(f.param("protocol")), self.persona.rsp_flags)
        if f is not None:
            return None
        return choose(self.persona, self.requested)

    def _after_cc(self, neg: NegRsp | NegFailure | None) -> State:
        if isinstance(neg, NegFailure):
            return State.CLOSED
        self.selected = neg.selected_protocol if neg is not None else nego.PROTOCOL_RDP
        if self.selected == nego.PROTOCOL_RDP:
            return State.WAIT_CONNECT_INITIAL
        if self.fault(ServerPhase.TLS, Action.TLS_ABORT, Action.CLOSE, Action.RESET):
            return State.WAIT_CLIENT_HELLO
        return State.TLS_HANDSHAKE

    def _on_client_hello(self, frame: bytes) -> list[Step]:
        """A tls_abort fault: the ClientHello arrived; fail before any certificate (S2)."""
        self.reach(ServerPhase.TLS)
        f = self.plan.terminal(ServerPhase.TLS)
        assert f is not None
        if f.action is Action.TLS_ABORT and f.param("mode") == "alert":
            alert = transportfaults.tls_alert_record(int(f.param("alert")))
            return [Send(alert)] + self.close()
        reset = f.action is Action.RESET or f.param("mode") == "reset"
        return self.close(reset=reset)

    def _certificate(self) -> CertBundle:
        f = self.fault(ServerPhase.TLS, Action.CERTIFICATE)
        return certificate_variant(str(f.param("variant")) if f else self.persona.certificate)

    def _start_tls(self) -> StartTls:
        f = self.fault(ServerPhase.TLS, Action.TLS_VERSION, Action.TLS_CIPHERS)
        if f is None:
            return StartTls(self.bundle)
        version = str(f.param("version")) or None
        if f.action is Action.TLS_VERSION:
            return StartTls(self.bundle, version)
        return StartTls(self.bundle, version, str(f.param("ciphers")), bool(f.param("client_order")))


_ORDER = {phase: i for i, phase in enumerate(ServerPhase)}

_HANDLERS: dict[State, Callable[[Acceptor, bytes], list[Step]]] = {
    State.WAIT_CONNECTION_REQUEST: Acceptor._on_connection_request,
    State.WAIT_CLIENT_HELLO: Acceptor._on_client_hello,
    State.WAIT_TS_REQUEST: lambda a, f: a.nla.on_ts_request(f) if a.nla else [],
    State.WAIT_CONNECT_INITIAL: lambda a, f: a.mcs.on_connect_initial(f),
    State.WAIT_DOMAIN_PDUS: lambda a, f: a.mcs.on_domain_pdu(f),
    State.WAIT_SECURITY_EXCHANGE: lambda a, f: a.mcs.on_security_exchange(f),
    State.WAIT_CLIENT_INFO: lambda a, f: a.session.on_client_info(f),
    State.WAIT_CONFIRM_ACTIVE: lambda a, f: a.session.on_confirm_active(f),
    State.WAIT_FINALIZATION: lambda a, f: a.session.on_finalization(f),
    State.ACTIVE: lambda a, f: a.session.on_active(f),
}
