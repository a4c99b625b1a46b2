"""NTLM message codecs: NEGOTIATE, CHALLENGE, AUTHENTICATE and AV_PAIRs ([MS-NLMP] 2.2).

Every message starts with the same 12 bytes; variable fields are 8-byte "Fields" records
pointing into the payload after the fixed header::

    0  Signature "NTLMSSP\\0"   8
    8  MessageType (u32le)      4
    12 ... fixed fields ...     Fields = Len (u16le) | MaxLen (u16le) | BufferOffset (u32le)
    .. Version (8, optional) | MIC (16, AUTHENTICATE only) | Payload

Rules of this module:
- decoders raise only ``DecodeError`` subclasses: every Fields record is checked against the
  message length before it is sliced, so a hostile offset or length cannot read outside the
  message nor allocate more than the message holds;
- names from the peer are decoded leniently (invalid UTF-16 becomes U+FFFD): a probe reports
  what it saw, and the raw bytes stay available in ``av_pairs``;
- flags and AV_PAIR ids are open code spaces kept as raw ints (``NegotiateFlags``/``AvId``
  give the names).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime

from rdpprobe.errors import EncodeError
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.ntlm_fields import (
    AUTHENTICATE_FIELDS_END,
    AUTHENTICATE_HEADER_LEN,
    AUTHENTICATE_MIC_OFFSET,
    CHALLENGE_HEADER_LEN,
    DEFAULT_VERSION,
    FIELDS_LEN,
    MIC_LEN,
    NEGOTIATE_HEADER_LEN,
    VERSION_LEN,
    AvId,
    AvPair,
    MessageType,
    NegotiateFlags,
    NtlmVersion,
    PayloadWriter,
    decode_av_pairs,
    encode_av_pairs,
    filetime_to_datetime,
    find_av,
    header_end,
    payload,
    read_fields,
    read_header,
    read_version,
    text,
    utf16,
    write_header,
    write_version,
)


# ---------------------------------------------------------------------------------------
# NEGOTIATE_MESSAGE
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NegotiateMessage:
    """[MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE: the client's opening offer of flags."""

    flags: int
    """NegotiateFlags, raw."""
    domain: str = ""
    """DomainName (OEM), usually empty."""
    workstation: str = ""
    """Workstation (OEM), usually empty."""
    version: NtlmVersion | None = None
    """VERSION, present when NTLMSSP_NEGOTIATE_VERSION is set."""


def encode_negotiate(msg: NegotiateMessage) -> bytes:
    has_version = msg.version is not None
    layout = PayloadWriter(NEGOTIATE_HEADER_LEN + (VERSION_LEN if has_version else 0))
    # Empty fields point at offset 0, as in the NEGOTIATE of Windows RDP clients and nmap.
    layout.add(msg.domain.encode("latin-1"), empty_at_zero=True)
    layout.add(msg.workstation.encode("latin-1"), empty_at_zero=True)
    w = Writer()
    write_header(w, MessageType.NEGOTIATE)
    w.u32le(msg.flags)
    layout.write_record(w, 0)
    layout.write_record(w, 1)
    if has_version:
        write_version(w, msg.version)
    w.write(bytes(layout.payload))
    return bytes(w)


def decode_negotiate(data: bytes) -> NegotiateMessage:
    pdu = "ntlm negotiate"
    r = Reader(data, pdu)
    read_header(r, MessageType.NEGOTIATE)
    flags = r.u32le()
    domain_f, ws_f = read_fields(r), read_fields(r)
    version = None
    if flags & NegotiateFlags.VERSION and header_end(len(data), [domain_f, ws_f]) >= r.offset + VERSION_LEN:
        version = read_version(r)
    domain = text(payload(data, pdu, "domain", domain_f), unicode=False)
    workstation = text(payload(data, pdu, "workstation", ws_f), unicode=False)
    return NegotiateMessage(flags, domain, workstation, version)


# ---------------------------------------------------------------------------------------
# CHALLENGE_MESSAGE
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChallengeInfo:
    """[MS-NLMP] 2.2.1.2 CHALLENGE_MESSAGE: the server's challenge and what it says about itself."""

    flags: int
    """NegotiateFlags chosen by the server, raw."""
    server_challenge: bytes
    """ServerChallenge (8 bytes)."""
    target_name: str
    """TargetName: the NetBIOS domain, or the computer name of a workgroup server."""
    netbios_computer: str | None
    """MsvAvNbComputerName."""
    netbios_domain: str | None
    """MsvAvNbDomainName."""
    dns_computer: str | None
    """MsvAvDnsComputerName."""
    dns_domain: str | None
    """MsvAvDnsDomainName."""
    dns_tree: str | None
    """MsvAvDnsTreeName."""
    timestamp: int | None
    """MsvAvTimestamp as a FILETIME (100-ns ticks since 1601), None if absent or not 8 bytes."""
    version: NtlmVersion | None
    """VERSION: the server's OS version and build."""
    av_pairs: tuple[AvPair, ...]
    """Every AV_PAIR of TargetInfo in order, MsvAvEOL excluded."""
    target_info: bytes = field(default=b"", repr=False)
    """The raw TargetInfo bytes, which an NTLMv2 client echoes."""

    def server_time(self) -> datetime | None:
        """MsvAvTimestamp as an aware UTC datetime (None if absent or out of range)."""
        return None if self.timestamp is None else filetime_to_datetime(self.timestamp)


# Plain ints: an ``IntEnum`` member read from its class costs a descriptor call per use.
_NB_COMPUTER, _NB_DOMAIN = int(AvId.NB_COMPUTER_NAME), int(AvId.NB_DOMAIN_NAME)
_DNS_COMPUTER, _DNS_DOMAIN, _DNS_TREE = int(AvId.DNS_COMPUTER_NAME), int(AvId.DNS_DOMAIN_NAME), int(AvId.DNS_TREE_NAME)
_TIMESTAMP = int(AvId.TIMESTAMP)
_FLAG_VERSION, _FLAG_UNICODE = int(NegotiateFlags.VERSION), int(NegotiateFlags.UNICODE)


def _first_values(pairs: tuple[AvPair, ...]) -> dict[int, bytes]:
    """Each AvId's first value (``find_av``'s answer for every id in one pass)."""
    first: dict[int, bytes] = {}
    for pair in pairs:
        first.setdefault(pair.av_id, pair.value)
    return first


def _named(values: dict[int, bytes], av_id: int) -> str | None:
    value = values.get(av_id)
    return None if value is None else text(value)


def _timestamp(values: dict[int, bytes]) -> int | None:
    value = values.get(_TIMESTAMP)
    return None if value is None or len(value) != 8 else int.from_bytes(value, "little")


def decode_challenge(data: bytes) -> ChallengeInfo:
    """Decode a CHALLENGE_MESSAGE; old 32- and 40-byte forms without TargetInfo are accepted."""
    pdu = "ntlm challenge"
    r = Reader(data, pdu)
    read_header(r, MessageType.CHALLENGE)
    name_f = read_fields(r)
    flags = r.u32le()
    server_challenge = r.take(8)
    info_f, version = (0, 0), None
    end = header_end(len(data), [name_f])
    if end >= CHALLENGE_HEADER_LEN and r.remaining >= 8 + FIELDS_LEN:
        r.skip(8)  # Reserved
        info_f = read_fields(r)
        end = header_end(len(data), [name_f, info_f])
        if flags & _FLAG_VERSION and end >= CHALLENGE_HEADER_LEN + VERSION_LEN:
            version = read_version(r)
    target_info = payload(data, pdu, "target info", info_f)
    pairs = decode_av_pairs(target_info)
    values = _first_values(pairs)
    return ChallengeInfo(
        flags=flags,
        server_challenge=server_challenge,
        target_name=text(payload(data, pdu, "target name", name_f), bool(flags & _FLAG_UNICODE)),
        netbios_computer=_named(values, _NB_COMPUTER),
        netbios_domain=_named(values, _NB_DOMAIN),
        dns_computer=_named(values, _DNS_COMPUTER),
        dns_domain=_named(values, _DNS_DOMAIN),
        dns_tree=_named(values, _DNS_TREE),
        timestamp=_timestamp(values),
        version=version,
        av_pairs=pairs,
        target_info=target_info,
    )


def challenge_av_pairs(names: tuple[str | None, ...], timestamp: int | None) -> list[AvPair]:
    """Target-information pairs in Windows order: NbDomainName, NbComputerName, DnsDomainName,
    DnsComputerName, DnsTreeName (``names``, None = omitted), then MsvAvTimestamp ([MS-NLMP] 4.2.4).
    """
    order = (AvId.NB_DOMAIN_NAME, AvId.NB_COMPUTER_NAME, AvId.DNS_DOMAIN_NAME, AvId.DNS_COMPUTER_NAME,
             AvId.DNS_TREE_NAME)
    pairs = [AvPair(av_id, utf16(name)) for av_id, name in zip(order, names) if name is not None]
    if timestamp is not None:
        pairs.append(AvPair(AvId.TIMESTAMP, struct.pack("<Q", timestamp)))
    return pairs


# [MS-NLMP] 2.2.1.2 flags a Windows server answers an RDP client's NEGOTIATE with.
DEFAULT_CHALLENGE_FLAGS = (
    NegotiateFlags.UNICODE
    | NegotiateFlags.REQUEST_TARGET
    | NegotiateFlags.SIGN
    | NegotiateFlags.SEAL
    | NegotiateFlags.NTLM
    | NegotiateFlags.ALWAYS_SIGN
    | NegotiateFlags.TARGET_TYPE_SERVER
    | NegotiateFlags.EXTENDED_SESSIONSECURITY
    | NegotiateFlags.TARGET_INFO
    | NegotiateFlags.VERSION
    | NegotiateFlags.NEGOTIATE_128
    | NegotiateFlags.KEY_EXCH
    | NegotiateFlags.NEGOTIATE_56
)


def encode_challenge(
    server_challenge: bytes,
    *,
    target_name: str = "",
    netbios_computer: str | None = None,
    netbios_domain: str | None = None,
    dns_computer: str | None = None,
    dns_domain: str | None = None,
    dns_tree: str | None = None,
    timestamp: int | None = None,
    version: NtlmVersion | None = DEFAULT_VERSION,
    flags: int = DEFAULT_CHALLENGE_FLAGS,
    extra_av_pairs: tuple[AvPair, ...] = (),
) -> bytes:
    """A CHALLENGE_MESSAGE (server side). The VERSION flag follows ``version``; strings are UTF-16LE.

    ``timestamp`` is a FILETIME (see ``datetime_to_filetime``); a server that sends one gets a
    MIC from modern clients.
    """
    if len(server_challenge) != 8:
        raise EncodeError(f"server challenge must be 8 bytes, not {len(server_challenge)}")
    flags = flags | NegotiateFlags.VERSION if version is not None else flags & ~NegotiateFlags.VERSION
    names = (netbios_domain, netbios_computer, dns_domain, dns_computer, dns_tree)
    layout = PayloadWriter(CHALLENGE_HEADER_LEN + (VERSION_LEN if version is not None else 0))
    layout.add(utf16(target_name))
    layout.add(encode_av_pairs(challenge_av_pairs(names, timestamp) + list(extra_av_pairs)))
    w = Writer()
    write_header(w, MessageType.CHALLENGE)
    layout.write_record(w, 0)
    w.u32le(flags)
    w.write(server_challenge)
    w.pad(8)  # Reserved
    layout.write_record(w, 1)
    if version is not None:
        write_version(w, version)
    w.write(bytes(layout.payload))
    return bytes(w)


# ---------------------------------------------------------------------------------------
# AUTHENTICATE_MESSAGE
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthenticateMessage:
    """[MS-NLMP] 2.2.1.3 AUTHENTICATE_MESSAGE: the client's responses and identity."""

    flags: int
    """NegotiateFlags the client settled on, raw."""
    lm_response: bytes
    """LmChallengeResponse (Z(24) or an LMv2 response for NTLMv2)."""
    nt_response: bytes = field(repr=False)
    """NtChallengeResponse: NTProofStr ‖ NTLMv2_CLIENT_CHALLENGE for NTLMv2."""
    domain: str
    """DomainName."""
    user: str
    """UserName."""
    workstation: str
    """Workstation."""
    encrypted_session_key: bytes = field(repr=False)
    """EncryptedRandomSessionKey (16 bytes with KEY_EXCH, else empty)."""
    version: NtlmVersion | None = None
    """VERSION, present when NTLMSSP_NEGOTIATE_VERSION is set."""
    mic: bytes | None = None
    """MIC (16 bytes) when the header has room for one, else None."""


def _authenticate_header_len(msg: AuthenticateMessage) -> int:
    if msg.mic is not None:
        return AUTHENTICATE_HEADER_LEN
    return AUTHENTICATE_MIC_OFFSET if msg.version is not None else AUTHENTICATE_FIELDS_END


def encode_authenticate(msg: AuthenticateMessage) -> bytes:
    """An AUTHENTICATE_MESSAGE; payload in Windows order (domain, user, workstation, LM, NT, key)."""
    if msg.mic is not None and len(msg.mic) != MIC_LEN:
        raise EncodeError(f"mic must be {MIC_LEN} bytes, not {len(msg.mic)}")
    unicode = bool(msg.flags & NegotiateFlags.UNICODE)
    enc = utf16 if unicode else (lambda s: s.encode("latin-1"))
    layout = PayloadWriter(_authenticate_header_len(msg))
    for value in (enc(msg.domain), enc(msg.user), enc(msg.workstation)):
        layout.add(value)
    for value in (msg.lm_response, msg.nt_response, msg.encrypted_session_key):
        layout.add(value)
    w = Writer()
    write_header(w, MessageType.AUTHENTICATE)
    for index in (3, 4, 0, 1, 2, 5):  # LM, NT, domain, user, workstation, key
        layout.write_record(w, index)
    w.u32le(msg.flags)
    if len(w) < layout.header_len:
        write_version(w, msg.version)
    if msg.mic is not None:
        w.write(msg.mic)
    w.write(bytes(layout.payload))
    return bytes(w)


def decode_authenticate(data: bytes) -> AuthenticateMessage:
    pdu = "ntlm authenticate"
    r = Reader(data, pdu)
    read_header(r, MessageType.AUTHENTICATE)
    lm_f, nt_f, domain_f, user_f, ws_f, key_f = (read_fields(r) for _ in range(6))
    flags = r.u32le()
    end = header_end(len(data), [lm_f, nt_f, domain_f, user_f, ws_f, key_f])
    version = mic = None
    if end >= AUTHENTICATE_MIC_OFFSET:
        raw_version = read_version(r)
        version = raw_version if flags & NegotiateFlags.VERSION else None
    if end >= AUTHENTICATE_HEADER_LEN:
        mic = r.take(MIC_LEN)
    unicode = bool(flags & NegotiateFlags.UNICODE)
    return AuthenticateMessage(
        flags=flags,
        lm_response=payload(data, pdu, "lm response", lm_f),
        nt_response=payload(data, pdu, "nt response", nt_f),
        domain=text(payload(data, pdu, "domain", domain_f), unicode),
        user=text(payload(data, pdu, "user", user_f), unicode),
        workstation=text(payload(data, pdu, "workstation", ws_f), unicode),
        encrypted_session_key=payload(data, pdu, "session key", key_f),
        version=version,
        mic=mic,
    )
