"""Structures shared by the NTLM messages ([MS-NLMP] 2.2.1, 2.2.2).

The message header, the NEGOTIATE flags, VERSION, AV_PAIRs, FILETIME conversion and the
8-byte "Fields" records (Len | MaxLen | BufferOffset) that point into a message's payload.
``payload`` checks every record against the message length before slicing, so a hostile
offset or length raises ``InvalidField`` instead of reading outside the message.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer

# [MS-NLMP] 2.2.1 message header.
NTLMSSP_SIGNATURE = b"NTLMSSP\x00"
FIELDS_LEN = 2 + 2 + 4  # Len + MaxLen + BufferOffset
VERSION_LEN = 1 + 1 + 2 + 3 + 1  # major + minor + build + reserved + NTLMRevisionCurrent
MIC_LEN = 16  # [MS-NLMP] 2.2.1.3 MIC
NTLMSSP_REVISION_W2K3 = 0x0F  # [MS-NLMP] 2.2.2.10 NTLMRevisionCurrent

# Fixed header sizes (payload offsets when every optional part is present).
NEGOTIATE_HEADER_LEN = 8 + 4 + 4 + FIELDS_LEN * 2  # up to WorkstationFields: 32
CHALLENGE_MIN_LEN = 8 + 4 + FIELDS_LEN + 4 + 8  # up to ServerChallenge: 32
CHALLENGE_HEADER_LEN = CHALLENGE_MIN_LEN + 8 + FIELDS_LEN  # + Reserved + TargetInfoFields: 48
AUTHENTICATE_FIELDS_END = 8 + 4 + FIELDS_LEN * 6 + 4  # through NegotiateFlags: 64
AUTHENTICATE_MIC_OFFSET = AUTHENTICATE_FIELDS_END + VERSION_LEN  # 72
AUTHENTICATE_HEADER_LEN = AUTHENTICATE_MIC_OFFSET + MIC_LEN  # 88

# [MS-DTYP] 2.3.3 FILETIME: 100-ns ticks since 1601-01-01 UTC.
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
FILETIME_TICKS_PER_MICROSECOND = 10
MSV_AV_FLAG_MIC = 0x00000002  # [MS-NLMP] 2.2.2.1 MsvAvFlags: the message has a MIC


class MessageType(enum.IntEnum):
    """[MS-NLMP] 2.2.1 MessageType."""

    NEGOTIATE = 1
    CHALLENGE = 2
    AUTHENTICATE = 3


class NegotiateFlags(enum.IntFlag):
    """[MS-NLMP] 2.2.2.5 NEGOTIATE flags."""

    UNICODE = 0x00000001
    OEM = 0x00000002
    REQUEST_TARGET = 0x00000004
    SIGN = 0x00000010
    SEAL = 0x00000020
    DATAGRAM = 0x00000040
    LM_KEY = 0x00000080
    NTLM = 0x00000200
    ANONYMOUS = 0x00000800
    OEM_DOMAIN_SUPPLIED = 0x00001000
    OEM_WORKSTATION_SUPPLIED = 0x00002000
    ALWAYS_SIGN = 0x00008000
    TARGET_TYPE_DOMAIN = 0x00010000
    TARGET_TYPE_SERVER = 0x00020000
    EXTENDED_SESSIONSECURITY = 0x00080000
    IDENTIFY = 0x00100000
    REQUEST_NON_NT_SESSION_KEY = 0x00400000
    TARGET_INFO = 0x00800000
    VERSION = 0x02000000
    NEGOTIATE_128 = 0x20000000
    KEY_EXCH = 0x40000000
    NEGOTIATE_56 = 0x80000000


class AvId(enum.IntEnum):
    """[MS-NLMP] 2.2.2.1 AV_PAIR AvId."""

    EOL = 0x0000
    NB_COMPUTER_NAME = 0x0001
    NB_DOMAIN_NAME = 0x0002
    DNS_COMPUTER_NAME = 0x0003
    DNS_DOMAIN_NAME = 0x0004
    DNS_TREE_NAME = 0x0005
    FLAGS = 0x0006
    TIMESTAMP = 0x0007
    SINGLE_HOST = 0x0008
    TARGET_NAME = 0x0009
    CHANNEL_BINDINGS = 0x000A


# ---------------------------------------------------------------------------------------
# Small shared structures
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NtlmVersion:
    """[MS-NLMP] 2.2.2.10 VERSION: the sender's OS version, informational only."""

    major: int
    """ProductMajorVersion."""
    minor: int
    """ProductMinorVersion."""
    build: int
    """ProductBuild."""
    revision: int = NTLMSSP_REVISION_W2K3
    """NTLMRevisionCurrent (0x0F)."""


DEFAULT_VERSION = NtlmVersion(10, 0, 17763, NTLMSSP_REVISION_W2K3)  # Windows 10 1809 / 2019


def read_version(r: Reader) -> NtlmVersion:
    major, minor, build = r.u8(), r.u8(), r.u16le()
    r.skip(3)  # Reserved
    return NtlmVersion(major, minor, build, r.u8())


def write_version(w: Writer, v: NtlmVersion | None) -> None:
    if v is None:
        w.pad(VERSION_LEN)
        return
    w.u8(v.major)
    w.u8(v.minor)
    w.u16le(v.build)
    w.pad(3)
    w.u8(v.revision)


@dataclass(frozen=True, slots=True)
class AvPair:
    """[MS-NLMP] 2.2.2.1 AV_PAIR: one attribute of the target information."""

    av_id: int
    """AvId, raw (``AvId`` names the known ones)."""
    value: bytes
    """The value bytes (AvLen of them)."""


_EOL = int(AvId.EOL)  # A plain int: compared once per pair.
_AV_HEADER = struct.Struct("<HH")  # AvId, AvLen


def read_av_pairs(r: Reader) -> tuple[AvPair, ...]:
    """AV_PAIRs up to MsvAvEOL (excluded) or the end of ``r``; bytes after EOL are skipped."""
    pairs: list[AvPair] = []
    while r.remaining:
        av_id, length = r.unpack(_AV_HEADER)
        if av_id == _EOL:
            r.skip(r.remaining)
            break
        pairs.append(AvPair(av_id, r.take(length)))
    return tuple(pairs)


def decode_av_pairs(data: bytes) -> tuple[AvPair, ...]:
    return read_av_pairs(Reader(data, "ntlm av_pairs"))


def encode_av_pairs(pairs: tuple[AvPair, ...] | list[AvPair]) -> bytes:
    """The AV_PAIR list followed by MsvAvEOL."""
    w = Writer()
    for pair in pairs:
        if pair.av_id == AvId.EOL:
            raise EncodeError("av_pairs: MsvAvEOL is added by the encoder")
        w.u16le(pair.av_id)
        w.u16le(len(pair.value))
        w.write(pair.value)
    w.u32le(0)  # MsvAvEOL, AvLen 0
    return bytes(w)


def find_av(pairs: tuple[AvPair, ...], av_id: int) -> bytes | None:
    """The value of the first pair with ``av_id``, or None."""
    return next((p.value for p in pairs if p.av_id == av_id), None)


def utf16(value: str) -> bytes:
    return value.encode("utf-16-le", "surrogatepass")


def text(data: bytes, unicode: bool = True) -> str:
    """A peer's string: UTF-16LE (or OEM, read as Latin-1), invalid sequences replaced."""
    return data.decode("utf-16-le", "replace") if unicode else data.decode("latin-1")


def filetime_to_datetime(filetime: int) -> datetime | None:
    """A FILETIME as an aware UTC datetime, or None if it lies outside datetime's range."""
    try:
        return FILETIME_EPOCH + timedelta(microseconds=filetime // FILETIME_TICKS_PER_MICROSECOND)
    except OverflowError:
        return None


def datetime_to_filetime(moment: datetime) -> int:
    """The FILETIME of an aware datetime (the mock server passes its clock in through this)."""
    delta = moment - FILETIME_EPOCH
    return (delta // timedelta(microseconds=1)) * FILETIME_TICKS_PER_MICROSECOND


# ---------------------------------------------------------------------------------------
# Fields records
# ---------------------------------------------------------------------------------------


def read_fields(r: Reader) -> tuple[int, int]:
    """A Fields record as (length, offset); MaxLen is ignored as 2.2 allows."""
    length = r.u16le()
    r.skip(2)  # MaxLen
    return length, r.u32le()


def payload(data: bytes, pdu: str, name: str, fields: tuple[int, int]) -> bytes:
    """The bytes a Fields record points at, checked against the message bounds."""
    length, offset = fields
    if length == 0:
        return b""
    if offset + length > len(data):
        raise InvalidField(pdu, name, f"buffer {offset}+{length} beyond message end {len(data)}")
    return data[offset : offset + length]


def header_end(data_len: int, records: list[tuple[int, int]]) -> int:
    """Where the payload starts: the lowest offset of a non-empty field, else the message end."""
    return min((off for length, off in records if length), default=data_len)


class PayloadWriter:
    """Lays out Fields records and their payload after a fixed header of known size."""

    def __init__(self, header_len: int) -> None:
        self.records: list[tuple[int, int]] = []
        self.payload = Writer()
        self.header_len = header_len

    def add(self, value: bytes, empty_at_zero: bool = False) -> None:
        """Append ``value``; an empty one points at the payload end, or at 0 if asked."""
        if len(value) > 0xFFFF:
            raise EncodeError(f"ntlm field too long: {len(value)} bytes")
        offset = 0 if empty_at_zero and not value else self.header_len + len(self.payload)
        self.records.append((len(value), offset))
        self.payload.write(value)

    def write_record(self, w: Writer, index: int) -> None:
        length, offset = self.records[index]
        w.u16le(length)
        w.u16le(length)
        w.u32le(offset)


def read_header(r: Reader, expected: MessageType) -> None:
    signature = r.take(len(NTLMSSP_SIGNATURE))
    if signature != NTLMSSP_SIGNATURE:
        raise UnexpectedType(r.pdu, signature, NTLMSSP_SIGNATURE, 0)
    message_type = r.u32le()
    if message_type != expected:
        raise UnexpectedType(r.pdu, message_type, int(expected), 8)


def write_header(w: Writer, message_type: MessageType) -> None:
    w.write(NTLMSSP_SIGNATURE)
    w.u32le(message_type)
