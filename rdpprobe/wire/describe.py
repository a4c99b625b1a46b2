"""One line naming what a PDU is, for logs: the framing and the type, never the content.

Rules of this module:
- pure: bytes in, a short text out, no decoding past the type fields, never an exception;
- the line names a type, a length and a few header fields (the protocols negotiated, the
  CredSSP version, which TSRequest fields are present, the NTLM message type, an error
  code), never a field's content, so it cannot carry a password or a key, whatever the PDU
  holds (a Client Info PDU, an NTLM AUTHENTICATE inside a TSRequest).
"""

from __future__ import annotations

from collections.abc import Callable

from rdpprobe.errors import DecodeError
from rdpprobe.wire.mcs import DomainPduType
from rdpprobe.wire.nego import NegFailure, NegRsp, SecurityProtocol, decode_connection_confirm, decode_connection_request
from rdpprobe.wire.ntlm_fields import NTLMSSP_SIGNATURE
from rdpprobe.wire.tpkt import FASTPATH_ACTION_MASK, FASTPATH_OUTPUT_ACTION_FASTPATH, TPKT_VERSION
from rdpprobe.wire.x224 import TPDU_CODE_MASK, TpduCode

#: Offsets in a TPKT-framed X.224 TPDU (T.123 s.8, X.224 13.3): the TPDU code follows the
#: 4-byte TPKT header and the length indicator; an MCS PDU follows the 3-byte Data TPDU.
X224_CODE_OFFSET = 5
MCS_OFFSET = 7
#: [T.125] BER application tags of MCS Connect-Initial (101) and Connect-Response (102),
#: written 0x7F 0x65 / 0x7F 0x66 ([MS-RDPBCGR] 2.2.1.3, 2.2.1.4).
BER_APPLICATION_LONG_TAG = 0x7F
MCS_CONNECT_TAGS = {0x65: "MCS Connect Initial", 0x66: "MCS Connect Response"}
#: The DomainMCSPDU choice is the top six bits of its first byte (PER, [T.125] 7).
DOMAIN_CHOICE_SHIFT = 2
#: A DER SEQUENCE: the TSRequest of CredSSP ([MS-CSSP] 2.2.1).
DER_SEQUENCE = 0x30
#: TLS record content types (RFC 8446 5.1) seen before the TLS layer takes over.
TLS_RECORD_TYPES = {0x14: "change cipher spec", 0x15: "alert", 0x16: "handshake", 0x17: "application data"}
TLS_MAJOR_VERSION = 0x03
#: The Early User Authorization Result PDU is 4 bytes ([MS-RDPBCGR] 2.2.10.2).
EARLY_AUTHZ_SIZE = 4

#: The MessageType field follows the NTLMSSP signature ([MS-NLMP] 2.2.1).
NTLM_TYPE_OFFSET = len(NTLMSSP_SIGNATURE)
NTLM_MESSAGE_TYPES = {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}

_TPDU_NAMES: dict[int, str] = {
    TpduCode.CONNECTION_REQUEST: "X.224 Connection Request",
    TpduCode.CONNECTION_CONFIRM: "X.224 Connection Confirm",
    TpduCode.DISCONNECT_REQUEST: "X.224 Disconnect Request",
    TpduCode.ERROR: "X.224 Error",
}


def describe(data: bytes) -> str:
    """``data``'s kind and length: ``"MCS Attach User Request, 12 bytes"``."""
    if not data:
        return "end of stream"
    return f"{_kind(data)}, {len(data)} bytes"


def _kind(data: bytes) -> str:
    first = data[0]
    if first == TPKT_VERSION:
        return _tpkt_kind(data)
    if first == DER_SEQUENCE:
        return "CredSSP TSRequest" + _guarded(_ts_request_fields, data)
    if first in TLS_RECORD_TYPES and len(data) > 1 and data[1] == TLS_MAJOR_VERSION:
        return f"TLS {TLS_RECORD_TYPES[first]} record"
    if len(data) == EARLY_AUTHZ_SIZE:
        return "Early User Authorization Result"
    if first & FASTPATH_ACTION_MASK == FASTPATH_OUTPUT_ACTION_FASTPATH:
        return "fast-path PDU"
    return "unrecognised bytes"


def _tpkt_kind(data: bytes) -> str:
    if len(data) <= X224_CODE_OFFSET:
        return "TPKT (short)"
    code = data[X224_CODE_OFFSET] & TPDU_CODE_MASK
    if code == TpduCode.CONNECTION_REQUEST:
        return _TPDU_NAMES[code] + _guarded(_requested, data)
    if code == TpduCode.CONNECTION_CONFIRM:
        return _TPDU_NAMES[code] + _guarded(_confirmed, data)
    if code != TpduCode.DATA:
        return _TPDU_NAMES.get(code, f"X.224 TPDU 0x{code:02x}")
    if len(data) <= MCS_OFFSET:
        return "X.224 Data"
    if data[MCS_OFFSET] == BER_APPLICATION_LONG_TAG:
        tag = data[MCS_OFFSET + 1] if len(data) > MCS_OFFSET + 1 else None
        return MCS_CONNECT_TAGS.get(tag, "MCS BER PDU") if tag is not None else "MCS BER PDU"
    choice = data[MCS_OFFSET] >> DOMAIN_CHOICE_SHIFT
    try:
        name = DomainPduType(choice).name
    except ValueError:
        return f"MCS DomainPDU {choice}"
    return "MCS " + name.replace("_", " ").title()


def _guarded(decode: Callable[[bytes], str], data: bytes) -> str:
    """`` (what decode says)``, or `` (undecodable)`` when the PDU is malformed."""
    try:
        return f" ({decode(data)})"
    except DecodeError:
        return " (undecodable)"


def _protocols(value: int) -> str:
    if value == SecurityProtocol.RDP:
        return "RDP"
    return "|".join(p.name or "" for p in SecurityProtocol if p and value & p) or f"0x{value:x}"


def _requested(data: bytes) -> str:
    """[MS-RDPBCGR] 2.2.1.1: the protocols the client requests."""
    request = decode_connection_request(data)
    return "no rdpNegReq" if request.neg_req is None else f"requested {_protocols(request.neg_req.requested_protocols)}"


def _confirmed(data: bytes) -> str:
    """[MS-RDPBCGR] 2.2.1.2: the protocol selected, or the failure code."""
    neg = decode_connection_confirm(data).neg
    if isinstance(neg, NegRsp):
        return f"selected {_protocols(neg.selected_protocol)}"
    if isinstance(neg, NegFailure):
        return f"RDP_NEG_FAILURE {neg.failure_code}"
    return "no rdpNegData"


def _ts_request_fields(data: bytes) -> str:
    """[MS-CSSP] 2.2.1: the version, the fields present and the NTLM message types."""
    from rdpprobe.wire.credssp import decode_ts_request  # Loaded only when a trace is logged.

    request = decode_ts_request(data)
    parts = [f"version {request.version}"]
    for token in request.nego_tokens:
        kind = token[NTLM_TYPE_OFFSET] if token.startswith(NTLMSSP_SIGNATURE) and len(token) > NTLM_TYPE_OFFSET else None
        parts.append(f"NTLM {NTLM_MESSAGE_TYPES.get(kind, 'token')}" if kind is not None else "negoToken")
    parts += [name for name, value in (("pubKeyAuth", request.pub_key_auth), ("authInfo", request.auth_info),
                                       ("clientNonce", request.client_nonce)) if value is not None]
    if request.error_code is not None:
        parts.append(f"errorCode 0x{request.error_code:08x}")
    return ", ".join(parts)
