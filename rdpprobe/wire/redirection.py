"""Server Redirection PDU ([MS-RDPBCGR] 2.2.13): the broker's "connect there instead".

Two carriers: under Enhanced RDP Security a Share Control Header with pduType
PDUTYPE_SERVER_REDIR_PKT (0xA) + pad2Octets(2) + packet + optional pad(1) (2.2.13.3.1);
under Standard RDP Security a security header with SEC_REDIRECTION_PKT, always encrypted,
followed by the packet (2.2.13.2.1; unseal it with ``rdpcrypto.unseal`` first).

RDP_SERVER_REDIRECTION_PACKET (2.2.13.1): Flags(2)=0x0400 Length(2) SessionID(4)
RedirFlags(4), then each optional field as length(4) + bytes, in the order of ``_FIELDS``,
present exactly when its LB_* bit is set, then optional padding.

Rules of this module:
- strings are UTF-16LE; one trailing NUL is stripped on decode and written on encode;
- the password (a cookie or an encrypted blob) stays opaque bytes and out of ``repr()``;
- bytes after the last field inside Length are kept as ``padding``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from rdpprobe.errors import DecodeError, EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.share import (
    PDU_TYPE_MASK,
    PDUTYPE_SERVER_REDIR_PKT,
    SHARE_CONTROL_HEADER_SIZE,
    TS_PROTOCOL_VERSION,
)


class RedirFlags(enum.IntFlag):
    """[MS-RDPBCGR] 2.2.13.1 RDP_SERVER_REDIRECTION_PACKET RedirFlags (LB_*)."""

    LB_TARGET_NET_ADDRESS = 0x00000001
    LB_LOAD_BALANCE_INFO = 0x00000002
    LB_USERNAME = 0x00000004
    LB_DOMAIN = 0x00000008
    LB_PASSWORD = 0x00000010
    LB_DONTSTOREUSERNAME = 0x00000020
    LB_SMARTCARD_LOGON = 0x00000040
    LB_NOREDIRECT = 0x00000080
    LB_TARGET_FQDN = 0x00000100
    LB_TARGET_NETBIOS_NAME = 0x00000200
    LB_TARGET_NET_ADDRESSES = 0x00000800
    LB_CLIENT_TSV_URL = 0x00001000
    LB_SERVER_TSV_CAPABLE = 0x00002000
    LB_PASSWORD_IS_PK_ENCRYPTED = 0x00004000
    LB_REDIRECTION_GUID = 0x00008000
    LB_TARGET_CERTIFICATE = 0x00010000


SEC_REDIRECTION_PKT = 0x0400  # [MS-RDPBCGR] 2.2.13.1 Flags MUST be SEC_REDIRECTION_PKT
REDIRECTION_HEADER_SIZE = 2 + 2 + 4 + 4  # Flags + Length + SessionID + RedirFlags
ENHANCED_PAD_SIZE = 2  # [MS-RDPBCGR] 2.2.13.3.1 pad2Octets
_UTF16 = "utf-16-le"
_REDIR = "server redirection"

# (attribute, LB_* bit, is_text) in wire order ([MS-RDPBCGR] 2.2.13.1).
_FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("target_net_address", RedirFlags.LB_TARGET_NET_ADDRESS, True),
    ("load_balance_info", RedirFlags.LB_LOAD_BALANCE_INFO, False),
    ("user_name", RedirFlags.LB_USERNAME, True),
    ("domain", RedirFlags.LB_DOMAIN, True),
    ("password", RedirFlags.LB_PASSWORD, False),
    ("target_fqdn", RedirFlags.LB_TARGET_FQDN, True),
    ("target_netbios_name", RedirFlags.LB_TARGET_NETBIOS_NAME, True),
    ("tsv_url", RedirFlags.LB_CLIENT_TSV_URL, False),
    ("redirection_guid", RedirFlags.LB_REDIRECTION_GUID, False),
    ("target_certificate", RedirFlags.LB_TARGET_CERTIFICATE, False),
)


@dataclass(frozen=True, slots=True)
class ServerRedirection:
    """[MS-RDPBCGR] 2.2.13.1 Server Redirection Packet (RDP_SERVER_REDIRECTION_PACKET).

    Where and how the client should reconnect; ``load_balance_info`` becomes the routing
    token of the next X.224 Connection Request."""

    session_id: int
    redir_flags: int
    """RedirFlags raw; each optional field is present exactly when its LB_* bit is set."""
    target_net_address: str | None = None
    load_balance_info: bytes | None = None
    user_name: str | None = None
    domain: str | None = None
    password: bytes | None = field(default=None, repr=False)
    target_fqdn: str | None = None
    target_netbios_name: str | None = None
    tsv_url: bytes | None = None
    redirection_guid: bytes | None = None
    target_certificate: bytes | None = None
    target_net_addresses: tuple[str, ...] | None = None
    padding: bytes = b""
    flags: int = SEC_REDIRECTION_PKT


def _read_text(raw: bytes, what: str) -> str:
    if len(raw) % 2:
        raise InvalidField(_REDIR, what, f"odd length {len(raw)} for utf-16")
    text = raw.decode(_UTF16, "surrogatepass")
    return text[:-1] if text.endswith("\0") else text


def _text_bytes(text: str) -> bytes:
    try:
        return (text + "\0").encode(_UTF16, "surrogatepass")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"string not encodable: {text!r}") from exc


def _read_net_addresses(raw: bytes) -> tuple[str, ...]:
    r = Reader(raw, f"{_REDIR} target net addresses")
    count = r.u32le()
    # INVARIANT: each address consumes at least 4 bytes, so the loop is bounded by input.
    addresses = tuple(_read_text(r.take(r.u32le()), "TargetNetAddress") for _ in range(count))
    r.expect_end()
    return addresses


def _net_addresses_bytes(addresses: tuple[str, ...]) -> bytes:
    w = Writer()
    w.u32le(len(addresses))
    for address in addresses:
        raw = _text_bytes(address)
        w.u32le(len(raw))
        w.write(raw)
    return bytes(w)


def _read_fields(r: Reader, redir_flags: int) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, bit, is_text in _FIELDS:
        if redir_flags & bit:
            raw = r.take(r.u32le())
            values[name] = _read_text(raw, name) if is_text else raw
    if redir_flags & RedirFlags.LB_TARGET_NET_ADDRESSES:
        values["target_net_addresses"] = _read_net_addresses(r.take(r.u32le()))
    return values


def read_redirection_packet(r: Reader) -> ServerRedirection:
    start = r.offset
    flags, length = r.u16le(), r.u16le()
    if length < REDIRECTION_HEADER_SIZE:
        raise InvalidField(_REDIR, "Length", f"{length} < {REDIRECTION_HEADER_SIZE}", start + 2)
    body = r.sub(length - 4, _REDIR)
    session_id, redir_flags = body.u32le(), body.u32le()
    values = _read_fields(body, redir_flags)
    return ServerRedirection(session_id, redir_flags, padding=body.rest(), flags=flags, **values)  # type: ignore[arg-type]


def _field_bytes(pdu: ServerRedirection) -> bytes:
    w = Writer()
    for name, bit, is_text in _FIELDS:
        value = getattr(pdu, name)
        _check_presence(name, value, bool(pdu.redir_flags & bit))
        if value is not None:
            raw = _text_bytes(value) if is_text else value
            w.u32le(len(raw))
            w.write(raw)
    addresses = pdu.target_net_addresses
    _check_presence("target_net_addresses", addresses, bool(pdu.redir_flags & RedirFlags.LB_TARGET_NET_ADDRESSES))
    if addresses is not None:
        raw = _net_addresses_bytes(addresses)
        w.u32le(len(raw))
        w.write(raw)
    return bytes(w)


def _check_presence(name: str, value: object, flagged: bool) -> None:
    if (value is not None) != flagged:
        raise EncodeError(f"redirection field {name} presence does not match RedirFlags")


def write_redirection_packet(w: Writer, pdu: ServerRedirection) -> None:
    fields_raw = _field_bytes(pdu)
    w.u16le(pdu.flags)
    w.u16le(REDIRECTION_HEADER_SIZE + len(fields_raw) + len(pdu.padding))
    w.u32le(pdu.session_id)
    w.u32le(pdu.redir_flags)
    w.write(fields_raw)
    w.write(pdu.padding)


def decode_redirection_packet(data: bytes) -> ServerRedirection:
    """The raw packet (the Standard Security form, after unsealing)."""
    r = Reader(data, _REDIR)
    pdu = read_redirection_packet(r)
    r.expect_end()
    return pdu


def encode_redirection_packet(pdu: ServerRedirection) -> bytes:
    w = Writer()
    write_redirection_packet(w, pdu)
    return bytes(w)


@dataclass(frozen=True, slots=True)
class EnhancedRedirection:
    """[MS-RDPBCGR] 2.2.13.3.1 Enhanced Security Server Redirection (TS_ENHANCED_SECURITY_SERVER_REDIRECTION).

    The packet behind a Share Control Header, sent under TLS/CredSSP."""

    redirection: ServerRedirection
    pdu_source: int = 0
    trailing_pad: bool = True
    """Whether the optional 1-byte pad after the packet is present."""


def decode_enhanced_redirection(data: bytes) -> EnhancedRedirection:
    r = Reader(data, _REDIR)
    total, pdu_type, source = r.u16le(), r.u16le(), r.u16le()
    if pdu_type & PDU_TYPE_MASK != PDUTYPE_SERVER_REDIR_PKT:
        raise UnexpectedType(_REDIR, pdu_type, PDUTYPE_SERVER_REDIR_PKT, 2)
    if total != len(data):
        raise InvalidField(_REDIR, "totalLength", f"{total} != {len(data)}", 0)
    r.skip(ENHANCED_PAD_SIZE)
    packet = read_redirection_packet(r)
    pad = r.remaining == 1
    if pad:
        r.skip(1)
    r.expect_end()
    return EnhancedRedirection(packet, source, pad)


def encode_enhanced_redirection(pdu: EnhancedRedirection) -> bytes:
    packet = encode_redirection_packet(pdu.redirection)
    pad = 1 if pdu.trailing_pad else 0
    w = Writer()
    w.u16le(SHARE_CONTROL_HEADER_SIZE + ENHANCED_PAD_SIZE + len(packet) + pad)
    w.u16le(PDUTYPE_SERVER_REDIR_PKT | TS_PROTOCOL_VERSION)
    w.u16le(pdu.pdu_source)
    w.pad(ENHANCED_PAD_SIZE)
    w.write(packet)
    w.pad(pad)
    return bytes(w)


def decode_redirection_pdu(data: bytes) -> ServerRedirection:
    """The packet from either carrier: the raw packet (Flags 0x0400 first) or the Enhanced
    Security form (Share Control Header first)."""
    if data[:2] == SEC_REDIRECTION_PKT.to_bytes(2, "little"):
        try:
            return decode_redirection_packet(data)
        except DecodeError:
            pass  # A Share Control Header whose totalLength happens to be 0x0400.
    return decode_enhanced_redirection(data).redirection
