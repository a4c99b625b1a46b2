"""TPKT framing (T.123 section 8) and fast-path framing ([MS-RDPBCGR] 2.2.9.1.2).

Byte layout of a TPKT header::

    +---------+----------+-----------------------+
    | version | reserved | length (big-endian)   |
    |  0x03   |   0x00   | whole PDU incl. header|
    +---------+----------+-----------------------+

A fast-path output PDU starts with ``fpOutputHeader`` (action in the low two bits, 0 for
fast-path) followed by a one- or two-byte length (``0x80`` set means two bytes).

Framing answers "is a whole frame here yet?": ``None`` means "need more bytes"; a
malformed header raises a ``DecodeError``.
"""

from __future__ import annotations

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer

# T.123 section 8: TPKT header.
TPKT_VERSION = 3  # T.123 s.8 version field
TPKT_HEADER_SIZE = 1 + 1 + 2  # version + reserved + length
TPKT_MAX_LENGTH = 0xFFFF  # T.123 s.8: the length field is 16 bits
# The shortest X.224 TPDU carried in RDP is the 3-byte Data TPDU header (X.224 13.7).
X224_MIN_TPDU_SIZE = 3
TPKT_MIN_LENGTH = TPKT_HEADER_SIZE + X224_MIN_TPDU_SIZE

# [MS-RDPBCGR] 2.2.9.1.2 Server Fast-Path Update PDU (TS_FP_UPDATE_PDU): fpOutputHeader.
FASTPATH_ACTION_MASK = 0x03
FASTPATH_OUTPUT_ACTION_FASTPATH = 0x0
FASTPATH_OUTPUT_ACTION_X224 = 0x3
FASTPATH_LENGTH_LONG = 0x80  # [MS-RDPBCGR] 2.2.9.1.2 length1: high bit means two bytes
FASTPATH_LENGTH_HIGH_MASK = 0x7F
FASTPATH_MIN_HEADER_SIZE = 1 + 1  # fpOutputHeader + length1
FASTPATH_MAX_LENGTH = 0x7FFF  # 15 bits of length1/length2

_PDU = "tpkt"
_FP_PDU = "fastpath"


def frame_length(buf: bytes | bytearray | memoryview) -> int | None:
    """Length of the TPKT frame at the start of ``buf``, or ``None`` until 4 bytes are there."""
    if len(buf) < TPKT_HEADER_SIZE:
        return None
    if buf[0] != TPKT_VERSION:
        raise UnexpectedType(_PDU, buf[0], TPKT_VERSION, 0)
    length = (buf[2] << 8) | buf[3]
    if length < TPKT_MIN_LENGTH:
        raise InvalidField(_PDU, "length", f"{length} < {TPKT_MIN_LENGTH}", 2)
    return length


def encode_tpkt(payload: bytes) -> bytes:
    """A TPKT frame around ``payload`` (an X.224 TPDU)."""
    length = TPKT_HEADER_SIZE + len(payload)
    if len(payload) < X224_MIN_TPDU_SIZE or length > TPKT_MAX_LENGTH:
        raise EncodeError(f"tpkt payload size out of range: {len(payload)}")
    w = Writer()
    w.u8(TPKT_VERSION)
    w.u8(0)
    w.u16be(length)
    w.write(payload)
    return bytes(w)


def read_tpkt(r: Reader) -> bytes:
    """The payload of the TPKT frame at the reader's position."""
    start = r.offset
    version = r.u8()
    if version != TPKT_VERSION:
        raise UnexpectedType(r.pdu, version, TPKT_VERSION, start)
    r.skip(1)
    length = r.u16be()
    if length < TPKT_MIN_LENGTH:
        raise InvalidField(r.pdu, "length", f"{length} < {TPKT_MIN_LENGTH}", start + 2)
    return r.take(length - TPKT_HEADER_SIZE)


def write_tpkt(w: Writer, payload: bytes) -> None:
    w.write(encode_tpkt(payload))


def decode_tpkt(data: bytes) -> bytes:
    """The payload of one whole TPKT frame; ``data`` must hold exactly that frame."""
    r = Reader(data, _PDU)
    payload = read_tpkt(r)
    r.expect_end()
    return payload


def is_fastpath(first_byte: int) -> bool:
    """True when a frame starting with ``first_byte`` is a fast-path PDU, not TPKT."""
    return first_byte & FASTPATH_ACTION_MASK == FASTPATH_OUTPUT_ACTION_FASTPATH


def fastpath_frame_length(buf: bytes | bytearray | memoryview) -> int | None:
    """Length of the fast-path PDU at the start of ``buf``, or ``None`` until its length is there."""
    if len(buf) < FASTPATH_MIN_HEADER_SIZE:
        return None
    if not is_fastpath(buf[0]):
        raise UnexpectedType(_FP_PDU, buf[0] & FASTPATH_ACTION_MASK, FASTPATH_OUTPUT_ACTION_FASTPATH, 0)
    length1 = buf[1]
    if length1 & FASTPATH_LENGTH_LONG:
        if len(buf) < FASTPATH_MIN_HEADER_SIZE + 1:
            return None
        length = ((length1 & FASTPATH_LENGTH_HIGH_MASK) << 8) | buf[2]
        header = FASTPATH_MIN_HEADER_SIZE + 1
    else:
        length, header = length1, FASTPATH_MIN_HEADER_SIZE
    if length < header:
        raise InvalidField(_FP_PDU, "length", f"{length} < {header}", 1)
    return length


def encode_fastpath_length(length: int) -> bytes:
    """The fast-path length field for a PDU of ``length`` bytes (header included)."""
    if not 0 <= length <= FASTPATH_MAX_LENGTH:
        raise EncodeError(f"fast-path length out of range: {length}")
    if length < FASTPATH_LENGTH_LONG:
        return bytes((length,))
    return bytes((FASTPATH_LENGTH_LONG | (length >> 8), length & 0xFF))
