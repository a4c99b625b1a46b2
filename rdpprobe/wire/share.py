"""Share-layer PDUs ([MS-RDPBCGR] 2.2.8.1.1.1, 2.2.1.13, 2.2.3.1, 2.2.5.1, 2.2.10.1): what
follows the security header (if any) in server-to-client and client-to-server slow-path PDUs.

Share Control Header (6): totalLength(2) pduType(2) pduSource(2); pduType holds the type
in the low 4 bits and TS_PROTOCOL_VERSION (0x10) above. Data PDUs continue with the Share
Data Header: shareId(4) pad1(1) streamId(1) uncompressedLength(2) pduType2(1)
compressedType(1) compressedLength(2).

Rules of this module:
- totalLength must equal the PDU length (decode consumes exactly);
- uncompressedLength is never validated (Microsoft writes totalLength - 14, FreeRDP the
  payload length); typed data PDUs re-encode it as totalLength - 14;
- capability sets are kept raw; ``general_capability`` and ``bitmap_capability`` are views;
- unknown pduType / pduType2 values and compressed data PDUs come back raw, never rejected.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.errors import DecodeError, InvalidField
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.codes import name_of


class PduType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.8.1.1.1.1 Share Control Header pduType (low 4 bits)."""

    PDUTYPE_DEMANDACTIVEPDU = 0x1
    PDUTYPE_CONFIRMACTIVEPDU = 0x3
    PDUTYPE_DEACTIVATEALLPDU = 0x6
    PDUTYPE_DATAPDU = 0x7
    PDUTYPE_SERVER_REDIR_PKT = 0xA


class PduType2(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.8.1.1.1.2 Share Data Header pduType2 (the ones a probe meets)."""

    PDUTYPE2_UPDATE = 0x02
    PDUTYPE2_CONTROL = 0x14
    PDUTYPE2_POINTER = 0x1B
    PDUTYPE2_INPUT = 0x1C
    PDUTYPE2_SYNCHRONIZE = 0x1F
    PDUTYPE2_REFRESH_RECT = 0x21
    PDUTYPE2_PLAY_SOUND = 0x22
    PDUTYPE2_SUPPRESS_OUTPUT = 0x23
    PDUTYPE2_SHUTDOWN_REQUEST = 0x24
    PDUTYPE2_SHUTDOWN_DENIED = 0x25
    PDUTYPE2_SAVE_SESSION_INFO = 0x26
    PDUTYPE2_FONTLIST = 0x27
    PDUTYPE2_FONTMAP = 0x28
    PDUTYPE2_SET_KEYBOARD_INDICATORS = 0x29
    PDUTYPE2_BITMAPCACHE_PERSISTENT_LIST = 0x2B
    PDUTYPE2_BITMAPCACHE_ERROR_PDU = 0x2C
    PDUTYPE2_SET_KEYBOARD_IME_STATUS = 0x2D
    PDUTYPE2_OFFSCRCACHE_ERROR_PDU = 0x2E
    PDUTYPE2_SET_ERROR_INFO_PDU = 0x2F
    PDUTYPE2_DRAWNINEGRID_ERROR_PDU = 0x30
    PDUTYPE2_DRAWGDIPLUS_ERROR_PDU = 0x31
    PDUTYPE2_ARC_STATUS_PDU = 0x32
    PDUTYPE2_STATUS_INFO_PDU = 0x36
    PDUTYPE2_MONITOR_LAYOUT_PDU = 0x37


class CapabilitySetType(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.1.13.1.1.1 Capability Set capabilitySetType."""

    CAPSTYPE_GENERAL = 1
    CAPSTYPE_BITMAP = 2
    CAPSTYPE_ORDER = 3
    CAPSTYPE_BITMAPCACHE = 4
    CAPSTYPE_CONTROL = 5
    CAPSTYPE_ACTIVATION = 7
    CAPSTYPE_POINTER = 8
    CAPSTYPE_SHARE = 9
    CAPSTYPE_COLORCACHE = 10
    CAPSTYPE_SOUND = 12
    CAPSTYPE_INPUT = 13
    CAPSTYPE_FONT = 14
    CAPSTYPE_BRUSH = 15
    CAPSTYPE_GLYPHCACHE = 16
    CAPSTYPE_OFFSCREENCACHE = 17
    CAPSTYPE_BITMAPCACHE_HOSTSUPPORT = 18
    CAPSTYPE_BITMAPCACHE_REV2 = 19
    CAPSTYPE_VIRTUALCHANNEL = 20
    CAPSTYPE_DRAWNINEGRIDCACHE = 21
    CAPSTYPE_DRAWGDIPLUS = 22
    CAPSTYPE_RAIL = 23
    CAPSTYPE_WINDOW = 24
    CAPSETTYPE_COMPDESK = 25
    CAPSETTYPE_MULTIFRAGMENTUPDATE = 26
    CAPSETTYPE_LARGE_POINTER = 27
    CAPSETTYPE_SURFACE_COMMANDS = 28
    CAPSETTYPE_BITMAP_CODECS = 29
    CAPSETTYPE_FRAME_ACKNOWLEDGE = 30


TS_PROTOCOL_VERSION = 0x0010  # [MS-RDPBCGR] 2.2.8.1.1.1.1 high bits of pduType
PDU_TYPE_MASK = 0x000F  # [MS-RDPBCGR] 2.2.8.1.1.1.1 type in the low 4 bits
PDUTYPE_DEMANDACTIVEPDU = 0x1  # [MS-RDPBCGR] 2.2.8.1.1.1.1
PDUTYPE_CONFIRMACTIVEPDU = 0x3  # [MS-RDPBCGR] 2.2.8.1.1.1.1
PDUTYPE_DEACTIVATEALLPDU = 0x6  # [MS-RDPBCGR] 2.2.8.1.1.1.1
PDUTYPE_DATAPDU = 0x7  # [MS-RDPBCGR] 2.2.8.1.1.1.1
PDUTYPE_SERVER_REDIR_PKT = 0xA  # [MS-RDPBCGR] 2.2.8.1.1.1.1
PDUTYPE2_SAVE_SESSION_INFO = 0x26  # [MS-RDPBCGR] 2.2.8.1.1.1.2
PDUTYPE2_SET_ERROR_INFO_PDU = 0x2F  # [MS-RDPBCGR] 2.2.8.1.1.1.2
STREAM_LOW = 0x01  # [MS-RDPBCGR] 2.2.8.1.1.1.2 streamId
PACKET_COMPRESSED = 0x20  # [MS-RDPBCGR] 2.2.8.1.1.1.2 compressedType flag
SHARE_CONTROL_HEADER_SIZE = 2 + 2 + 2  # totalLength + pduType + pduSource
SHARE_DATA_HEADER_SIZE = SHARE_CONTROL_HEADER_SIZE + 4 + 1 + 1 + 2 + 1 + 1 + 2
UNCOMPRESSED_LENGTH_BIAS = 14  # [MS-RDPBCGR] 4.1.14 examples: totalLength - 14
CAPABILITY_HEADER_SIZE = 2 + 2  # capabilitySetType + lengthCapability
SOURCE_DESCRIPTOR_RDP = b"RDP\x00"  # [MS-RDPBCGR] 4.1.12 sourceDescriptor
ORIGINATOR_ID_SERVER = 0x03EA  # [MS-RDPBCGR] 2.2.1.13.2.1 originatorId MUST be 0x03EA
_SHARE = "share pdu"


def capability_name(cap_type: int) -> str:
    """The name of a capabilitySetType, or ``unknown(0x…)``."""
    return name_of(CapabilitySetType, cap_type)


name_of_capability = capability_name


# --- Capability sets ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapabilitySet:
    """[MS-RDPBCGR] 2.2.1.13.1.1.1 Capability Set (TS_CAPS_SET), kept raw."""

    type: int
    """capabilitySetType (``CapabilitySetType``)."""
    data: bytes
    """capabilityData: the bytes after the 4-byte header."""


@dataclass(frozen=True, slots=True)
class GeneralCapability:
    """[MS-RDPBCGR] 2.2.7.1.1 General Capability Set (TS_GENERAL_CAPABILITYSET), a view."""

    os_major_type: int
    os_minor_type: int
    protocol_version: int
    general_compression_types: int
    extra_flags: int
    update_capability_flag: int
    remote_unshare_flag: int
    general_compression_level: int
    refresh_rect_support: int
    suppress_output_support: int


@dataclass(frozen=True, slots=True)
class BitmapCapability:
    """[MS-RDPBCGR] 2.2.7.1.2 Bitmap Capability Set (TS_BITMAP_CAPABILITYSET), a view."""

    preferred_bits_per_pixel: int
    desktop_width: int
    desktop_height: int
    desktop_resize_flag: int
    drawing_flags: int


def general_capability(cap: CapabilitySet) -> GeneralCapability:
    r = Reader(cap.data, "general capability set")
    major, minor, version = r.u16le(), r.u16le(), r.u16le()
    r.skip(2)  # pad2octetsA
    types, extra, update, unshare, level = (r.u16le() for _ in range(5))
    return GeneralCapability(major, minor, version, types, extra, update, unshare, level, r.u8(), r.u8())


def bitmap_capability(cap: CapabilitySet) -> BitmapCapability:
    r = Reader(cap.data, "bitmap capability set")
    bpp = r.u16le()
    r.skip(2 + 2 + 2)  # receive1BitPerPixel, receive4BitsPerPixel, receive8BitsPerPixel
    width, height = r.u16le(), r.u16le()
    r.skip(2)  # pad2octets
    resize = r.u16le()
    r.skip(2 + 1)  # bitmapCompressionFlag, highColorFlags
    return BitmapCapability(bpp, width, height, resize, r.u8())


def desktop_size(pdu: DemandActive | ConfirmActive) -> tuple[int, int] | None:
    """(width, height) from the first well-formed BITMAP capability set, if any."""
    for cap in pdu.capability_sets:
        if cap.type == CapabilitySetType.CAPSTYPE_BITMAP:
            try:
                view = bitmap_capability(cap)
            except DecodeError:
                continue
            return view.desktop_width, view.desktop_height
    return None


def read_capability_sets(r: Reader, count: int) -> tuple[CapabilitySet, ...]:
    sets: list[CapabilitySet] = []
    for _ in range(count):
        # INVARIANT: each set consumes at least 4 bytes, so the loop is bounded by input.
        start = r.offset
        cap_type, length = r.u16le(), r.u16le()
        if length < CAPABILITY_HEADER_SIZE:
            raise InvalidField(r.pdu, "lengthCapability", f"{length} < 4", start + 2)
        sets.append(CapabilitySet(cap_type, r.take(length - CAPABILITY_HEADER_SIZE)))
    return tuple(sets)


def write_capability_sets(w: Writer, sets: tuple[CapabilitySet, ...]) -> None:
    for cap in sets:
        w.u16le(cap.type)
        w.u16le(CAPABILITY_HEADER_SIZE + len(cap.data))
        w.write(cap.data)


def _caps_size(sets: tuple[CapabilitySet, ...]) -> int:
    return sum(CAPABILITY_HEADER_SIZE + len(cap.data) for cap in sets)


# --- PDUs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandActive:
    """[MS-RDPBCGR] 2.2.1.13.1.1 Demand Active PDU Data (TS_DEMAND_ACTIVE_PDU).

    The server's capabilities; its arrival ends the connection phases a probe checks."""

    share_id: int
    source_descriptor: bytes
    capability_sets: tuple[CapabilitySet, ...]
    session_id: int | None = 0
    """sessionId; None when a (pre-5.0) server omits it."""
    pdu_source: int = 0
    pad: int = 0
    """pad2Octets, raw."""


@dataclass(frozen=True, slots=True)
class ConfirmActive:
    """[MS-RDPBCGR] 2.2.1.13.2.1 Confirm Active PDU Data (TS_CONFIRM_ACTIVE_PDU).

    The client's answer to Demand Active with its own capabilities."""

    share_id: int
    source_descriptor: bytes
    capability_sets: tuple[CapabilitySet, ...]
    pdu_source: int = 0
    originator_id: int = ORIGINATOR_ID_SERVER
    pad: int = 0


@dataclass(frozen=True, slots=True)
class DeactivateAll:
    """[MS-RDPBCGR] 2.2.3.1.1 Deactivate All PDU Data (TS_DEACTIVATE_ALL_PDU)."""

    share_id: int
    source_descriptor: bytes = b"\x00"
    pdu_source: int = 0


@dataclass(frozen=True, slots=True)
class SetErrorInfo:
    """[MS-RDPBCGR] 2.2.5.1.1 Set Error Info PDU Data (TS_SET_ERROR_INFO_PDU).

    Why the server is about to disconnect (``errinfo.ErrorInfo``)."""

    error_info: int
    share_id: int = 0
    pdu_source: int = 0
    stream_id: int = STREAM_LOW


@dataclass(frozen=True, slots=True)
class SaveSessionInfo:
    """[MS-RDPBCGR] 2.2.10.1.1 Save Session Info PDU Data (TS_SAVE_SESSION_INFO_PDU_DATA).

    Logon notification; ``data`` (infoData) is kept raw."""

    info_type: int
    data: bytes
    share_id: int = 0
    pdu_source: int = 0
    stream_id: int = STREAM_LOW


@dataclass(frozen=True, slots=True)
class ShareDataHeader:
    """[MS-RDPBCGR] 2.2.8.1.1.1.2 Share Data Header (TS_SHAREDATAHEADER), all fields raw."""

    share_id: int
    stream_id: int
    uncompressed_length: int
    pdu_type2: int
    compressed_type: int
    compressed_length: int
    pdu_source: int = 0
    pad1: int = 0


@dataclass(frozen=True, slots=True)
class ShareDataPdu:
    """[MS-RDPBCGR] 2.2.8.1.1.1.2 a data PDU this module does not parse (or compressed)."""

    header: ShareDataHeader
    payload: bytes


@dataclass(frozen=True, slots=True)
class UnknownSharePdu:
    """[MS-RDPBCGR] 2.2.8.1.1.1.1 a share control PDU of a type this module does not parse."""

    pdu_type: int
    """pduType, raw (version bits included)."""
    pdu_source: int
    body: bytes


SharePdu = (
    DemandActive | ConfirmActive | DeactivateAll | SetErrorInfo | SaveSessionInfo
    | ShareDataPdu | UnknownSharePdu
)


def peek_share_pdu_type(data: bytes) -> int | None:
    """The low 4 bits of pduType, or None when fewer than 4 bytes are there."""
    if len(data) < 4:
        return None
    return (data[2] | data[3] << 8) & PDU_TYPE_MASK


def _read_demand_active(r: Reader, source: int) -> DemandActive:
    share_id, len_src, len_caps = r.u32le(), r.u16le(), r.u16le()
    descriptor = r.take(len_src)
    caps_r = r.sub(len_caps, "demand active capabilities")
    count, pad = caps_r.u16le(), caps_r.u16le()
    sets = read_capability_sets(caps_r, count)
    caps_r.expect_end()
    session_id = r.u32le() if r.remaining else None
    return DemandActive(share_id, descriptor, sets, session_id, source, pad)


def _read_confirm_active(r: Reader, source: int) -> ConfirmActive:
    share_id, originator, len_src, len_caps = r.u32le(), r.u16le(), r.u16le(), r.u16le()
    descriptor = r.take(len_src)
    caps_r = r.sub(len_caps, "confirm active capabilities")
    count, pad = caps_r.u16le(), caps_r.u16le()
    sets = read_capability_sets(caps_r, count)
    caps_r.expect_end()
    return ConfirmActive(share_id, descriptor, sets, source, originator, pad)


def _read_deactivate_all(r: Reader, source: int) -> DeactivateAll:
    share_id = r.u32le()
    descriptor = r.take(r.u16le()) if r.remaining else b""
    return DeactivateAll(share_id, descriptor, source)


def _read_data_pdu(r: Reader, source: int) -> SetErrorInfo | SaveSessionInfo | ShareDataPdu:
    share_id, pad1, stream_id, uncompressed = r.u32le(), r.u8(), r.u8(), r.u16le()
    pdu_type2, compressed_type, compressed_length = r.u8(), r.u8(), r.u16le()
    header = ShareDataHeader(
        share_id, stream_id, uncompressed, pdu_type2, compressed_type, compressed_length, source, pad1
    )
    if compressed_type & PACKET_COMPRESSED:
        return ShareDataPdu(header, r.rest())
    if pdu_type2 == PDUTYPE2_SET_ERROR_INFO_PDU:
        return SetErrorInfo(r.u32le(), share_id, source, stream_id)
    if pdu_type2 == PDUTYPE2_SAVE_SESSION_INFO:
        return SaveSessionInfo(r.u32le(), r.rest(), share_id, source, stream_id)
    return ShareDataPdu(header, r.rest())


def read_share_pdu(r: Reader) -> SharePdu:
    start = r.offset
    total, pdu_type, source = r.u16le(), r.u16le(), r.u16le()
    if total < SHARE_CONTROL_HEADER_SIZE:
        raise InvalidField(_SHARE, "totalLength", f"{total} < {SHARE_CONTROL_HEADER_SIZE}", start)
    body = r.sub(total - SHARE_CONTROL_HEADER_SIZE, _SHARE)
    pdu = _read_share_body(body, pdu_type, source)
    body.expect_end()
    return pdu


def _read_share_body(r: Reader, pdu_type: int, source: int) -> SharePdu:
    kind = pdu_type & PDU_TYPE_MASK
    if kind == PDUTYPE_DEMANDACTIVEPDU:
        return _read_demand_active(r, source)
    if kind == PDUTYPE_CONFIRMACTIVEPDU:
        return _read_confirm_active(r, source)
    if kind == PDUTYPE_DEACTIVATEALLPDU:
        return _read_deactivate_all(r, source)
    if kind == PDUTYPE_DATAPDU:
        return _read_data_pdu(r, source)
    return UnknownSharePdu(pdu_type, source, r.rest())


def _caps_block(w: Writer, sets: tuple[CapabilitySet, ...], pad: int) -> None:
    w.u16le(len(sets))
    w.u16le(pad)
    write_capability_sets(w, sets)


def _write_share_body(w: Writer, pdu: SharePdu) -> tuple[int, int]:
    """Write the body of ``pdu``; return (pduType without version bits, pduSource)."""
    if isinstance(pdu, DemandActive):
        w.u32le(pdu.share_id)
        w.u16le(len(pdu.source_descriptor))
        w.u16le(4 + _caps_size(pdu.capability_sets))
        w.write(pdu.source_descriptor)
        _caps_block(w, pdu.capability_sets, pdu.pad)
        if pdu.session_id is not None:
            w.u32le(pdu.session_id)
        return PDUTYPE_DEMANDACTIVEPDU, pdu.pdu_source
    if isinstance(pdu, ConfirmActive):
        w.u32le(pdu.share_id)
        w.u16le(pdu.originator_id)
        w.u16le(len(pdu.source_descriptor))
        w.u16le(4 + _caps_size(pdu.capability_sets))
        w.write(pdu.source_descriptor)
        _caps_block(w, pdu.capability_sets, pdu.pad)
        return PDUTYPE_CONFIRMACTIVEPDU, pdu.pdu_source
    if isinstance(pdu, DeactivateAll):
        w.u32le(pdu.share_id)
        if pdu.source_descriptor:
            w.u16le(len(pdu.source_descriptor))
            w.write(pdu.source_descriptor)
        return PDUTYPE_DEACTIVATEALLPDU, pdu.pdu_source
    return _write_data_or_unknown(w, pdu)


def _write_data_or_unknown(w: Writer, pdu: SharePdu) -> tuple[int, int]:
    if isinstance(pdu, UnknownSharePdu):
        w.write(pdu.body)
        return pdu.pdu_type & ~TS_PROTOCOL_VERSION, pdu.pdu_source
    if isinstance(pdu, ShareDataPdu):
        h = pdu.header
        _write_data_header(w, h.share_id, h.pad1, h.stream_id, h.uncompressed_length)
        w.u8(h.pdu_type2)
        w.u8(h.compressed_type)
        w.u16le(h.compressed_length)
        w.write(pdu.payload)
        return PDUTYPE_DATAPDU, h.pdu_source
    assert isinstance(pdu, (SetErrorInfo, SaveSessionInfo))
    body = Writer()
    if isinstance(pdu, SetErrorInfo):
        body.u32le(pdu.error_info)
        pdu_type2 = PDUTYPE2_SET_ERROR_INFO_PDU
    else:
        body.u32le(pdu.info_type)
        body.write(pdu.data)
        pdu_type2 = PDUTYPE2_SAVE_SESSION_INFO
    total = SHARE_DATA_HEADER_SIZE + len(body)
    _write_data_header(w, pdu.share_id, 0, pdu.stream_id, total - UNCOMPRESSED_LENGTH_BIAS)
    w.u8(pdu_type2)
    w.u8(0)
    w.u16le(0)
    w.write(bytes(body))
    return PDUTYPE_DATAPDU, pdu.pdu_source


def _write_data_header(w: Writer, share_id: int, pad1: int, stream_id: int, length: int) -> None:
    w.u32le(share_id)
    w.u8(pad1)
    w.u8(stream_id)
    w.u16le(max(length, 0))


def write_share_pdu(w: Writer, pdu: SharePdu) -> None:
    body = Writer()
    pdu_type, source = _write_share_body(body, pdu)
    version = pdu.pdu_type & ~PDU_TYPE_MASK if isinstance(pdu, UnknownSharePdu) else TS_PROTOCOL_VERSION
    w.u16le(SHARE_CONTROL_HEADER_SIZE + len(body))
    w.u16le((pdu_type & PDU_TYPE_MASK) | version)
    w.u16le(source)
    w.write(bytes(body))


def decode_share_pdu(data: bytes) -> SharePdu:
    """One of the typed PDUs, ``ShareDataPdu`` or ``UnknownSharePdu``."""
    r = Reader(data, _SHARE)
    pdu = read_share_pdu(r)
    r.expect_end()
    return pdu


def encode_share_pdu(pdu: SharePdu) -> bytes:
    w = Writer()
    write_share_pdu(w, pdu)
    return bytes(w)
