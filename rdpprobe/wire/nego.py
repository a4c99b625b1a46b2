"""Connection Initiation: the X.224 Connection Request and Confirm of RDP.

[MS-RDPBCGR] 2.2.1.1 puts an optional cookie or routing token (one CRLF-terminated line),
an optional RDP_NEG_REQ and an optional RDP_NEG_CORRELATION_INFO in the variable part of
the X.224 CR; 2.2.1.2 puts an RDP_NEG_RSP or RDP_NEG_FAILURE (or nothing, for a legacy
server) in the variable part of the CC.

Rules of this module:
- flag and protocol fields are open code spaces: unknown bits are kept, never rejected;
- a line that starts with ``Cookie: mstshash=`` is a cookie; any other line is a routing
  token; the variable part is a bare RDP_NEG_REQ when it starts with type 0x01 and is 8 or
  44 bytes long (the CRLF rule cannot be used there: a request may contain 0x0d 0x0a).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.errors import EncodeError, InvalidField, NotEnoughData, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.tpkt import decode_tpkt, encode_tpkt
from rdpprobe.wire.x224 import (
    SERVER_SRC_REF,
    ConnectionConfirmTpdu,
    ConnectionRequestTpdu,
    read_connection_confirm_tpdu,
    read_connection_request_tpdu,
    write_connection_confirm_tpdu,
    write_connection_request_tpdu,
)

# [MS-RDPBCGR] 2.2.1.1.1, 2.2.1.1.2, 2.2.1.2.1, 2.2.1.2.2: the type byte of each structure.
TYPE_RDP_NEG_REQ = 0x01
TYPE_RDP_NEG_RSP = 0x02
TYPE_RDP_NEG_FAILURE = 0x03
TYPE_RDP_CORRELATION_INFO = 0x06

# [MS-RDPBCGR] 2.2.1.1.1 / 2.2.1.2.1 / 2.2.1.2.2: all three are 8 bytes.
NEG_SIZE = 1 + 1 + 2 + 4  # type + flags + length + requestedProtocols/selectedProtocol/failureCode
# [MS-RDPBCGR] 2.2.1.1.2 RDP_NEG_CORRELATION_INFO.
CORRELATION_ID_SIZE = 16
CORRELATION_RESERVED_SIZE = 16
CORRELATION_INFO_SIZE = 1 + 1 + 2 + CORRELATION_ID_SIZE + CORRELATION_RESERVED_SIZE  # = 36

# [MS-RDPBCGR] 2.2.1.1: cookie and routing token lines.
COOKIE_PREFIX = b"Cookie: mstshash="
CRLF = b"\r\n"


class SecurityProtocol(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.1.1 requestedProtocols / 2.2.1.2.1 selectedProtocol values."""

    RDP = 0x00000000
    SSL = 0x00000001
    HYBRID = 0x00000002
    RDSTLS = 0x00000004
    HYBRID_EX = 0x00000008
    RDSAAD = 0x00000010


PROTOCOL_RDP = SecurityProtocol.RDP


class NegReqFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.1.1 RDP_NEG_REQ flags."""

    RESTRICTED_ADMIN_MODE_REQUIRED = 0x01
    REDIRECTED_AUTHENTICATION_MODE_REQUIRED = 0x02
    CORRELATION_INFO_PRESENT = 0x08


class NegRspFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.1.2.1 RDP_NEG_RSP flags."""

    EXTENDED_CLIENT_DATA_SUPPORTED = 0x01
    DYNVC_GFX_PROTOCOL_SUPPORTED = 0x02
    NEGRSP_FLAG_RESERVED = 0x04
    RESTRICTED_ADMIN_MODE_SUPPORTED = 0x08
    REDIRECTED_AUTHENTICATION_MODE_SUPPORTED = 0x10


class FailureCode(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.2.2 RDP_NEG_FAILURE failureCode values."""

    SSL_REQUIRED_BY_SERVER = 0x00000001
    SSL_NOT_ALLOWED_BY_SERVER = 0x00000002
    SSL_CERT_NOT_ON_SERVER = 0x00000003
    INCONSISTENT_FLAGS = 0x00000004
    HYBRID_REQUIRED_BY_SERVER = 0x00000005
    SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER = 0x00000006


def is_standard_rdp_security(selected: int) -> bool:
    """True when ``selectedProtocol`` means Standard RDP Security ([MS-RDPBCGR] 3.3.5.3.2)."""
    return selected == PROTOCOL_RDP


@dataclass(frozen=True, slots=True)
class NegReq:
    """[MS-RDPBCGR] 2.2.1.1.1 RDP Negotiation Request (RDP_NEG_REQ).

    The security protocols the client offers.
    """

    requested_protocols: int = 0
    """``requestedProtocols``: an OR of ``SecurityProtocol`` bits (raw)."""
    flags: int = 0
    """``flags``: ``NegReqFlags`` bits (raw)."""


@dataclass(frozen=True, slots=True)
class CorrelationInfo:
    """[MS-RDPBCGR] 2.2.1.1.2 RDP Correlation Info (RDP_NEG_CORRELATION_INFO).

    A 16-byte identifier that lets the server's event logs be matched to this connection.
    """

    correlation_id: bytes = bytes(CORRELATION_ID_SIZE)
    flags: int = 0
    reserved: bytes = bytes(CORRELATION_RESERVED_SIZE)


@dataclass(frozen=True, slots=True)
class NegRsp:
    """[MS-RDPBCGR] 2.2.1.2.1 RDP Negotiation Response (RDP_NEG_RSP).

    The security protocol the server selected.
    """

    selected_protocol: int = 0
    """``selectedProtocol``: one ``SecurityProtocol`` value (raw)."""
    flags: int = 0
    """``flags``: ``NegRspFlags`` bits (raw)."""


@dataclass(frozen=True, slots=True)
class NegFailure:
    """[MS-RDPBCGR] 2.2.1.2.2 RDP Negotiation Failure (RDP_NEG_FAILURE).

    The server refuses every protocol the client offered; the code says why.
    """

    failure_code: int = 0
    """``failureCode``: a ``FailureCode`` value (raw)."""
    flags: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    """[MS-RDPBCGR] 2.2.1.1 Client X.224 Connection Request PDU.

    The first PDU of a connection: optional cookie or routing token, optional RDP_NEG_REQ.
    """

    cookie: bytes | None = None
    """The ``IDENTIFIER`` of ``Cookie: mstshash=IDENTIFIER\\r\\n`` (no prefix, no CRLF)."""
    routing_token: bytes | None = None
    """``routingToken`` without its CRLF terminator."""
    neg_req: NegReq | None = None
    correlation: CorrelationInfo | None = None
    dst_ref: int = 0
    src_ref: int = 0
    class_option: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionConfirm:
    """[MS-RDPBCGR] 2.2.1.2 Server X.224 Connection Confirm PDU.

    ``neg`` is None for a legacy server that sent no rdpNegData (LI 6).
    """

    neg: NegRsp | NegFailure | None = None
    dst_ref: int = 0
    src_ref: int = SERVER_SRC_REF
    class_option: int = 0


def _read_neg_header(r: Reader, expected: int) -> int:
    start = r.offset
    kind = r.u8()
    if kind != expected:
        raise UnexpectedType(r.pdu, kind, expected, start)
    flags = r.u8()
    length = r.u16le()
    if length != NEG_SIZE:
        raise InvalidField(r.pdu, "length", f"{length} != {NEG_SIZE}", start + 2)
    return flags


def read_neg_req(r: Reader) -> NegReq:
    flags = _read_neg_header(r, TYPE_RDP_NEG_REQ)
    return NegReq(r.u32le(), flags)


def write_neg_req(w: Writer, n: NegReq) -> None:
    _write_neg(w, TYPE_RDP_NEG_REQ, n.flags, n.requested_protocols)


def read_neg_rsp(r: Reader) -> NegRsp:
    flags = _read_neg_header(r, TYPE_RDP_NEG_RSP)
    return NegRsp(r.u32le(), flags)


def write_neg_rsp(w: Writer, n: NegRsp) -> None:
    _write_neg(w, TYPE_RDP_NEG_RSP, n.flags, n.selected_protocol)


def read_neg_failure(r: Reader) -> NegFailure:
    flags = _read_neg_header(r, TYPE_RDP_NEG_FAILURE)
    return NegFailure(r.u32le(), flags)


def write_neg_failure(w: Writer, n: NegFailure) -> None:
    _write_neg(w, TYPE_RDP_NEG_FAILURE, n.flags, n.failure_code)


def _write_neg(w: Writer, kind: int, flags: int, value: int) -> None:
    w.u8(kind)
    w.u8(flags)
    w.u16le(NEG_SIZE)
    w.u32le(value)


def read_correlation_info(r: Reader) -> CorrelationInfo:
    start = r.offset
    kind = r.u8()
    if kind != TYPE_RDP_CORRELATION_INFO:
        raise UnexpectedType(r.pdu, kind, TYPE_RDP_CORRELATION_INFO, start)
    flags = r.u8()
    length = r.u16le()
    if length != CORRELATION_INFO_SIZE:
        raise InvalidField(r.pdu, "length", f"{length} != {CORRELATION_INFO_SIZE}", start + 2)
    return CorrelationInfo(r.take(CORRELATION_ID_SIZE), flags, r.take(CORRELATION_RESERVED_SIZE))


def write_correlation_info(w: Writer, c: CorrelationInfo) -> None:
    if len(c.correlation_id) != CORRELATION_ID_SIZE or len(c.reserved) != CORRELATION_RESERVED_SIZE:
        raise EncodeError("correlation info fields must be 16 bytes each")
    w.u8(TYPE_RDP_CORRELATION_INFO)
    w.u8(c.flags)
    w.u16le(CORRELATION_INFO_SIZE)
    w.write(c.correlation_id)
    w.write(c.reserved)


def _is_bare_neg_req(data: bytes) -> bool:
    sizes = (NEG_SIZE, NEG_SIZE + CORRELATION_INFO_SIZE)
    return len(data) in sizes and data[0] == TYPE_RDP_NEG_REQ


_CR_PDU = "x224 connection request"
_NEG_REQ_PDU = "rdp_neg_req"


def _split_token(data: bytes) -> tuple[bytes | None, bytes]:
    """Split the leading cookie/token line (without CRLF) from the rest of the variable part.

    A part that starts with the RDP_NEG_REQ type byte and has no CRLF is a request that is
    truncated or followed by stray bytes (a token never starts with that byte: see
    ``_check_request``), so its reader says which, not "missing crlf terminator".
    """
    if not data or _is_bare_neg_req(data):
        return None, data
    end = data.find(CRLF)
    if end < 0:
        if data[0] == TYPE_RDP_NEG_REQ:
            return None, data
        raise InvalidField(_CR_PDU, "routing token", "missing crlf terminator")
    return data[:end], data[end + len(CRLF) :]


def read_request_variable(data: bytes) -> tuple[bytes | None, bytes | None, NegReq | None, CorrelationInfo | None]:
    """Decode the CR variable part into (cookie, routing token, RDP_NEG_REQ, correlation)."""
    line, rest = _split_token(data)
    cookie = token = None
    if line is not None and line.startswith(COOKIE_PREFIX):
        cookie = line[len(COOKIE_PREFIX) :]
    else:
        token = line
    r = Reader(rest, _CR_PDU)
    neg = _read_request_neg(r, len(data) - len(rest)) if r.remaining else None
    corr = None
    if r.remaining and r.peek_u8() == TYPE_RDP_CORRELATION_INFO:
        if r.remaining < CORRELATION_INFO_SIZE:
            raise NotEnoughData("rdp_neg_correlation_info", CORRELATION_INFO_SIZE, r.remaining, r.offset)
        corr = read_correlation_info(r)
    if r.remaining:
        after = "rdp_neg_correlation_info" if corr is not None else _NEG_REQ_PDU
        raise InvalidField(_CR_PDU, "variable part", f"{r.remaining} trailing bytes after the {after}", r.offset)
    return cookie, token, neg, corr


def _read_request_neg(r: Reader, offset: int) -> NegReq:
    """The RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1.1), named as such when it is cut short."""
    if r.remaining < NEG_SIZE:
        raise NotEnoughData(_NEG_REQ_PDU, NEG_SIZE, r.remaining, offset)
    return read_neg_req(r)


def write_request_variable(w: Writer, req: ConnectionRequest) -> None:
    _check_request(req)
    if req.cookie is not None:
        w.write(COOKIE_PREFIX + req.cookie + CRLF)
    elif req.routing_token is not None:
        w.write(req.routing_token + CRLF)
    if req.neg_req is not None:
        write_neg_req(w, req.neg_req)
    if req.correlation is not None:
        write_correlation_info(w, req.correlation)


def _check_request(req: ConnectionRequest) -> None:
    """Refuse values whose encoding would decode as something else."""
    if req.cookie is not None and req.routing_token is not None:
        raise EncodeError("cookie and routing token must not both be present")
    if req.correlation is not None and req.neg_req is None:
        raise EncodeError("correlation info requires an rdp_neg_req")
    if req.cookie is not None and CRLF in req.cookie:
        raise EncodeError("cookie must not contain crlf")
    token = req.routing_token
    if token is not None:
        if CRLF in token or token.startswith(COOKIE_PREFIX):
            raise EncodeError("routing token must not contain crlf or start with the cookie prefix")
        if token[:1] == bytes((TYPE_RDP_NEG_REQ,)):
            raise EncodeError("routing token must not start with the rdp_neg_req type byte")


def connection_request_tpdu(req: ConnectionRequest) -> ConnectionRequestTpdu:
    w = Writer()
    write_request_variable(w, req)
    return ConnectionRequestTpdu(bytes(w), req.dst_ref, req.src_ref, req.class_option)


def read_connection_request(r: Reader) -> ConnectionRequest:
    """Read the X.224 CR TPDU (no TPKT) and its RDP variable part."""
    t = read_connection_request_tpdu(r)
    cookie, token, neg, corr = read_request_variable(t.variable)
    return ConnectionRequest(cookie, token, neg, corr, t.dst_ref, t.src_ref, t.class_option)


def write_connection_request(w: Writer, req: ConnectionRequest) -> None:
    write_connection_request_tpdu(w, connection_request_tpdu(req))


def encode_connection_request(req: ConnectionRequest) -> bytes:
    """The whole TPKT + X.224 CR frame."""
    w = Writer()
    write_connection_request(w, req)
    return encode_tpkt(bytes(w))


def decode_connection_request(frame: bytes) -> ConnectionRequest:
    """A whole TPKT + X.224 CR frame; must be consumed exactly."""
    r = Reader(decode_tpkt(frame), _CR_PDU)
    req = read_connection_request(r)
    if r.remaining:
        raise InvalidField(_CR_PDU, "tpkt length", f"{r.remaining} trailing bytes after the x224 tpdu "
                           "its length indicator covers", r.offset)  # fmt: skip
    return req


def read_confirm_variable(data: bytes) -> NegRsp | NegFailure | None:
    """Decode the CC variable part: empty, RDP_NEG_RSP or RDP_NEG_FAILURE."""
    if not data:
        return None
    r = Reader(data, "x224 connection confirm")
    if len(data) < NEG_SIZE:
        raise NotEnoughData(r.pdu, NEG_SIZE, len(data), 0)
    if data[0] == TYPE_RDP_NEG_FAILURE:
        neg: NegRsp | NegFailure = read_neg_failure(r)
    else:
        neg = read_neg_rsp(r)
    r.expect_end()
    return neg


def write_confirm_variable(w: Writer, neg: NegRsp | NegFailure | None) -> None:
    if isinstance(neg, NegRsp):
        write_neg_rsp(w, neg)
    elif isinstance(neg, NegFailure):
        write_neg_failure(w, neg)


def read_connection_confirm(r: Reader) -> ConnectionConfirm:
    """Read the X.224 CC TPDU (no TPKT) and its rdpNegData."""
    t = read_connection_confirm_tpdu(r)
    return ConnectionConfirm(read_confirm_variable(t.variable), t.dst_ref, t.src_ref, t.class_option)


def write_connection_confirm(w: Writer, cc: ConnectionConfirm) -> None:
    v = Writer()
    write_confirm_variable(v, cc.neg)
    write_connection_confirm_tpdu(w, ConnectionConfirmTpdu(bytes(v), cc.dst_ref, cc.src_ref, cc.class_option))


def encode_connection_confirm(cc: ConnectionConfirm) -> bytes:
    """The whole TPKT + X.224 CC frame."""
    w = Writer()
    write_connection_confirm(w, cc)
    return encode_tpkt(bytes(w))


def decode_connection_confirm(frame: bytes) -> ConnectionConfirm:
    """A whole TPKT + X.224 CC frame; must be consumed exactly."""
    r = Reader(decode_tpkt(frame), "x224 connection confirm")
    cc = read_connection_confirm(r)
    r.expect_end()
    return cc
