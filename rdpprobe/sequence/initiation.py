"""Connection Initiation: the X.224 Connection Request and Confirm ([MS-RDPBCGR] 1.3.1.1, 2.2.1.1-2.2.1.2)."""

from __future__ import annotations

import functools

from rdpprobe.classify import Detail
from rdpprobe.errors import EncodeError
from rdpprobe.sequence import nla, teardown
from rdpprobe.sequence.config import MAX_COOKIE_LENGTH, ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Expect, ProbeState
from rdpprobe.signals import Signal
from rdpprobe.wire import nego
from rdpprobe.wire.codes import flag_names, name_of
from rdpprobe.wire.nego import SecurityProtocol

#: Protocols that run CredSSP after TLS ([MS-RDPBCGR] 5.4.5.2).
CREDSSP_PROTOCOLS = SecurityProtocol.HYBRID | SecurityProtocol.HYBRID_EX
#: Distinct Connection Confirms remembered decoded: servers of one build answer the same CR
#: with the same bytes, so a scan meets a handful of them.
CONFIRM_CACHE_SIZE = 256
#: Highest selectedProtocol value with a name ([MS-RDPBCGR] 2.2.1.2.1).
MAX_NAMED_PROTOCOL = max(SecurityProtocol)
#: What a cookie may hold: printable ASCII, space to tilde ([MS-RDPBCGR] 2.2.1.1, see
#: ``cookie_identifier``).
COOKIE_CHARS = frozenset(map(chr, range(ord(" "), ord("~") + 1)))


def connection_request(state: ProbeState) -> bytes:
    """The X.224 CR: cookie (or routing token) first, RDP_NEG_REQ last ([MS-RDPBCGR] 3.2.5.3.1)."""
    return request_bytes(state.config)


def request_bytes(config: ProbeConfig) -> bytes:
    """The X.224 CR a probe with ``config`` sends; ``EncodeError`` when it cannot be encoded.

    ``api.build`` calls it to refuse such options before a probe starts.
    """
    return _encoded_request(config.cookie, config.routing_token, config.requested_protocols)


def cookie_identifier(text: str) -> bytes:
    """The IDENTIFIER of ``Cookie: mstshash=IDENTIFIER`` for ``text`` ([MS-RDPBCGR] 2.2.1.1).

    The cookie is an ANSI string ended by CR LF, so only printable ASCII can be carried: a
    control character would end or corrupt the line, and any other character would have to
    be replaced. Raises ``EncodeError`` naming the first character it cannot carry. The
    identifier is cut to ``MAX_COOKIE_LENGTH`` characters, as mstsc does.
    """
    bad = next((char for char in text if char not in COOKIE_CHARS), None)
    if bad is not None:
        raise EncodeError(f"cookie must be printable ascii, got {bad!r} in {text!r}")
    return text[:MAX_COOKIE_LENGTH].encode("ascii")


@functools.lru_cache(maxsize=64)
def _encoded_request(cookie_text: str | None, routing_token: bytes | None, requested: int) -> bytes:
    """The CR bytes for one set of options; a scan sends the same CR to every target."""
    cookie = None
    if routing_token is None and cookie_text:
        cookie = cookie_identifier(cookie_text)
    req = nego.ConnectionRequest(
        cookie=cookie, routing_token=routing_token, neg_req=nego.NegReq(requested_protocols=requested)
    )
    return nego.encode_connection_request(req)


def begin(state: ProbeState) -> None:
    enter(state)
    state.send(connection_request(state))
    state.wait_for(Expect.CONNECTION_CONFIRM, on_connection_confirm)


def enter(state: ProbeState) -> None:
    """Start the connection initiation phase, with the protocols the request offers."""
    state.enter(Phase.CONNECTION_INITIATION)
    names = flag_names(SecurityProtocol, state.config.requested_protocols) or ("RDP",)
    state.learn(requested_protocols=names)


def on_connection_confirm(state: ProbeState, frame: bytes) -> None:
    """Read the CC: a selected protocol, a refusal, or a legacy CC without negotiation data.

    Some servers (xrdp, for a protocol it does not know) answer the CR with a Disconnect
    Provider Ultimatum in a Data TPDU instead: that is a refusal, not a malformed CC.
    """
    if teardown.handled_as_teardown(state, frame):
        return
    cc = _decoded_confirm(frame)
    neg = cc.neg
    if isinstance(neg, nego.NegFailure):
        state.learn(neg_failure_code=neg.failure_code)
        name = name_of(nego.FailureCode, neg.failure_code)
        state.fail(Signal.NEG_FAILURE, name, Detail(neg_failure_code=neg.failure_code))
        return
    if neg is None:
        selected = int(SecurityProtocol.RDP)
        state.learn(legacy_no_negotiation=True)
    else:
        selected = neg.selected_protocol
        state.learn(
            neg_flags=neg.flags, neg_flag_names=flag_names(nego.NegRspFlags, neg.flags)
        )
    record_selected(state, selected)
    _after_negotiation(state, selected)


@functools.lru_cache(maxsize=CONFIRM_CACHE_SIZE)
def _decoded_confirm(frame: bytes) -> nego.ConnectionConfirm:
    """``nego.decode_connection_confirm``, once per distinct frame (the value is frozen).

    A frame that does not decode raises each time: errors are not remembered.
    """
    return nego.decode_connection_confirm(frame)


def _after_negotiation(state: ProbeState, selected: int) -> None:
    """Stop, or go on with TLS, or (Standard RDP Security) straight to MCS."""
    if state.stop_if_asked(Phase.CONNECTION_INITIATION, "the connection confirm"):
        return
    if nego.is_standard_rdp_security(selected):
        nla.credentials_not_checked(state, "the server selected Standard RDP Security (no NLA)")
        nla.begin_settings(state)
    else:
        state.enter(Phase.TLS)
        state.start_tls()


def record_selected(state: ProbeState, selected: int) -> None:
    state.selected_protocol = selected
    name = protocol_name(selected)
    state.learn(selected_protocol=name)
    if nego.is_standard_rdp_security(selected):
        state.skip(Phase.TLS, Phase.NLA)


@functools.lru_cache(maxsize=CONFIRM_CACHE_SIZE)
def protocol_name(value: int) -> str:
    """``RDP``, ``SSL``, ``HYBRID`` … for one selectedProtocol value ([MS-RDPBCGR] 2.2.1.2.1)."""
    name = SecurityProtocol(value).name if value <= MAX_NAMED_PROTOCOL * 2 else None
    return name or f"unknown(0x{value:x})"


def uses_credssp(selected: int) -> bool:
    return bool(selected & CREDSSP_PROTOCOLS)
