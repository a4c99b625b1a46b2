"""X.224 class 0 TPDUs (ISO 8073 / ITU-T X.224 section 13) as used by RDP.

Every TPDU starts with a length indicator (LI) that counts the header bytes after itself
(the user data of a Data TPDU is not counted)::

    CR / CC:  LI | code|CDT | DST-REF (2, BE) | SRC-REF (2, BE) | class option | variable part
    DR:       LI | 0x80     | DST-REF (2, BE) | SRC-REF (2, BE) | reason       | variable part
    ER:       LI | 0x70     | DST-REF (2, BE) | reject cause    | variable part
    DT:       LI=2 | 0xF0   | EOT|TPDU-NR     | user data ...

Rules of this module: the LI must fit in the bytes present and may not be 255 (reserved,
X.224 13.2.1); a CR, CC or DR has LI >= 6, an ER LI >= 4, and a DT LI == 2.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from rdpprobe.errors import EncodeError, InvalidField, NotEnoughData, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.tpkt import decode_tpkt, encode_tpkt


class TpduCode(enum.IntEnum):
    """X.224 13.1 Table 8: TPDU codes (high nibble of the second byte)."""

    CONNECTION_REQUEST = 0xE0
    CONNECTION_CONFIRM = 0xD0
    DISCONNECT_REQUEST = 0x80
    DATA = 0xF0
    ERROR = 0x70


TPDU_CODE_MASK = 0xF0  # X.224 13.3.1: the low nibble of CR/CC is the credit (CDT)
CDT_MASK = 0x0F
LI_RESERVED = 0xFF  # X.224 13.2.1: the value 255 is reserved
LI_MAX = 0xFE
# X.224 13.3 / 13.4 / 13.5: fixed part after LI for CR, CC and DR.
CONNECTION_FIXED_SIZE = 1 + 2 + 2 + 1  # code + DST-REF + SRC-REF + class option (or reason)
# X.224 13.12: fixed part after LI for ER.
ERROR_FIXED_SIZE = 1 + 2 + 1  # code + DST-REF + reject cause
# X.224 13.7: class 0 Data TPDU: LI = 2 (code + EOT/NR).
DATA_LI = 1 + 1  # code + EOT|TPDU-NR
DT_EOT = 0x80  # X.224 13.7.3 b): EOT bit, set on the last TPDU of a TSDU
DATA_HEADER = bytes((DATA_LI, TpduCode.DATA, DT_EOT))
DATA_HEADER_SIZE = 1 + DATA_LI
SERVER_SRC_REF = 0x1234  # [MS-RDPBCGR] 3.3.5.3.2: the server's Connection Confirm SRC-REF


@dataclass(frozen=True, slots=True)
class ConnectionRequestTpdu:
    """X.224 13.3 Connection Request (CR) TPDU.

    [MS-RDPBCGR] 2.2.1.1 carries the cookie and RDP_NEG_REQ in ``variable``.
    """

    variable: bytes = b""
    """Everything after the class option byte (parameters or, in RDP, user data)."""
    dst_ref: int = 0
    src_ref: int = 0
    class_option: int = 0
    cdt: int = 0
    """The credit nibble beside the TPDU code (0 in class 0)."""


@dataclass(frozen=True, slots=True)
class ConnectionConfirmTpdu:
    """X.224 13.4 Connection Confirm (CC) TPDU.

    [MS-RDPBCGR] 2.2.1.2 carries RDP_NEG_RSP or RDP_NEG_FAILURE in ``variable``.
    """

    variable: bytes = b""
    dst_ref: int = 0
    src_ref: int = SERVER_SRC_REF
    class_option: int = 0
    cdt: int = 0


@dataclass(frozen=True, slots=True)
class DisconnectRequestTpdu:
    """X.224 13.5 Disconnect Request (DR) TPDU.

    Windows servers do not send it; seeing one points at another stack or a middlebox.
    """

    reason: int = 0
    """X.224 13.5.3 d) reason code (raw)."""
    dst_ref: int = 0
    src_ref: int = 0
    variable: bytes = b""


@dataclass(frozen=True, slots=True)
class ErrorTpdu:
    """X.224 13.12 TPDU Error (ER) TPDU.

    Sent by a transport entity that rejected a TPDU it could not parse.
    """

    cause: int = 0
    """X.224 13.12.3 d) reject cause (raw)."""
    dst_ref: int = 0
    variable: bytes = b""


@dataclass(frozen=True, slots=True)
class DataTpdu:
    """X.224 13.7 Data (DT) TPDU, class 0.

    Carries every slow-path RDP PDU after the connection confirm.
    """

    data: bytes = b""
    eot_nr: int = DT_EOT
    """The EOT bit and TPDU-NR byte (0x80 in RDP)."""


Tpdu = ConnectionRequestTpdu | ConnectionConfirmTpdu | DisconnectRequestTpdu | ErrorTpdu | DataTpdu


def read_tpdu_code(tpdu: bytes | bytearray | memoryview) -> int:
    """The TPDU code (credit nibble masked off) of the X.224 TPDU in ``tpdu``."""
    if len(tpdu) < 2:
        raise NotEnoughData("x224", 2, len(tpdu), 0)
    return tpdu[1] & TPDU_CODE_MASK


def _read_li(r: Reader, minimum: int) -> Reader:
    """Read the length indicator and return a reader over the header it covers."""
    start = r.offset
    li = r.u8()
    if li == LI_RESERVED:
        raise InvalidField(r.pdu, "length indicator", "255 is reserved", start)
    if li < minimum:
        raise InvalidField(r.pdu, "length indicator", f"{li} < {minimum}", start)
    if li > r.remaining:
        raise InvalidField(r.pdu, "length indicator", f"{li} > {r.remaining} bytes present", start)
    return r.sub(li)


def _read_code(h: Reader, expected: TpduCode) -> int:
    start = h.offset
    byte = h.u8()
    if byte & TPDU_CODE_MASK != expected:
        raise UnexpectedType(h.pdu, byte & TPDU_CODE_MASK, int(expected), start)
    return byte & CDT_MASK


def _write_li(w: Writer, li: int) -> None:
    if li > LI_MAX:
        raise EncodeError(f"x224 length indicator too large: {li} > {LI_MAX}")
    w.u8(li)


def read_connection_request_tpdu(r: Reader) -> ConnectionRequestTpdu:
    h = _read_li(r, CONNECTION_FIXED_SIZE)
    cdt = _read_code(h, TpduCode.CONNECTION_REQUEST)
    dst, src, option = h.u16be(), h.u16be(), h.u8()
    return ConnectionRequestTpdu(h.rest(), dst, src, option, cdt)


def write_connection_request_tpdu(w: Writer, t: ConnectionRequestTpdu) -> None:
    _write_li(w, CONNECTION_FIXED_SIZE + len(t.variable))
    w.u8(TpduCode.CONNECTION_REQUEST | _cdt(t.cdt))
    w.u16be(t.dst_ref)
    w.u16be(t.src_ref)
    w.u8(t.class_option)
    w.write(t.variable)


def read_connection_confirm_tpdu(r: Reader) -> ConnectionConfirmTpdu:
    h = _read_li(r, CONNECTION_FIXED_SIZE)
    cdt = _read_code(h, TpduCode.CONNECTION_CONFIRM)
    dst, src, option = h.u16be(), h.u16be(), h.u8()
    return ConnectionConfirmTpdu(h.rest(), dst, src, option, cdt)


def write_connection_confirm_tpdu(w: Writer, t: ConnectionConfirmTpdu) -> None:
    _write_li(w, CONNECTION_FIXED_SIZE + len(t.variable))
    w.u8(TpduCode.CONNECTION_CONFIRM | _cdt(t.cdt))
    w.u16be(t.dst_ref)
    w.u16be(t.src_ref)
    w.u8(t.class_option)
    w.write(t.variable)


def read_disconnect_request_tpdu(r: Reader) -> DisconnectRequestTpdu:
    h = _read_li(r, CONNECTION_FIXED_SIZE)
    _read_code(h, TpduCode.DISCONNECT_REQUEST)
    dst, src, reason = h.u16be(), h.u16be(), h.u8()
    return DisconnectRequestTpdu(reason, dst, src, h.rest())


def write_disconnect_request_tpdu(w: Writer, t: DisconnectRequestTpdu) -> None:
    _write_li(w, CONNECTION_FIXED_SIZE + len(t.variable))
    w.u8(TpduCode.DISCONNECT_REQUEST)
    w.u16be(t.dst_ref)
    w.u16be(t.src_ref)
    w.u8(t.reason)
    w.write(t.variable)


def read_error_tpdu(r: Reader) -> ErrorTpdu:
    h = _read_li(r, ERROR_FIXED_SIZE)
    _read_code(h, TpduCode.ERROR)
    dst, cause = h.u16be(), h.u8()
    return ErrorTpdu(cause, dst, h.rest())


def write_error_tpdu(w: Writer, t: ErrorTpdu) -> None:
    _write_li(w, ERROR_FIXED_SIZE + len(t.variable))
    w.u8(TpduCode.ERROR)
    w.u16be(t.dst_ref)
    w.u8(t.cause)
    w.write(t.variable)


def read_data_header(r: Reader) -> int:
    """Read a class 0 DT header and return its EOT/TPDU-NR byte."""
    start = r.offset
    li = r.u8()
    if li != DATA_LI:
        raise InvalidField(r.pdu, "length indicator", f"{li} != {DATA_LI}", start)
    _read_code(r, TpduCode.DATA)
    return r.u8()


def write_data_header(w: Writer, eot_nr: int = DT_EOT) -> None:
    w.u8(DATA_LI)
    w.u8(TpduCode.DATA)
    w.u8(eot_nr)


def read_data_tpdu(r: Reader) -> DataTpdu:
    eot_nr = read_data_header(r)
    return DataTpdu(r.rest(), eot_nr)


def write_data_tpdu(w: Writer, t: DataTpdu) -> None:
    write_data_header(w, t.eot_nr)
    w.write(t.data)


_READERS: dict[int, Callable[[Reader], Tpdu]] = {
    TpduCode.CONNECTION_REQUEST: read_connection_request_tpdu,
    TpduCode.CONNECTION_CONFIRM: read_connection_confirm_tpdu,
    TpduCode.DISCONNECT_REQUEST: read_disconnect_request_tpdu,
    TpduCode.ERROR: read_error_tpdu,
    TpduCode.DATA: read_data_tpdu,
}

_WRITERS: dict[type, Callable[[Writer, Any], None]] = {
    ConnectionRequestTpdu: write_connection_request_tpdu,
    ConnectionConfirmTpdu: write_connection_confirm_tpdu,
    DisconnectRequestTpdu: write_disconnect_request_tpdu,
    ErrorTpdu: write_error_tpdu,
    DataTpdu: write_data_tpdu,
}


def read_tpdu(r: Reader) -> Tpdu:
    """Read any of the five class 0 TPDUs; consumes the rest of ``r``."""
    return decode_tpdu(r.rest())


def decode_tpdu(data: bytes) -> Tpdu:
    """One X.224 TPDU (no TPKT header); must consume ``data`` exactly."""
    r = Reader(data, "x224")
    code = read_tpdu_code(data)
    if code not in _READERS:
        raise UnexpectedType("x224", code, "x224 tpdu code", 1)
    tpdu = _READERS[code](r)
    r.expect_end()
    return tpdu


def encode_tpdu(tpdu: Tpdu) -> bytes:
    w = Writer()
    _WRITERS[type(tpdu)](w, tpdu)
    return bytes(w)


def decode_x224_frame(frame: bytes) -> Tpdu:
    """One whole TPKT frame holding one X.224 TPDU."""
    return decode_tpdu(decode_tpkt(frame))


def encode_x224_frame(tpdu: Tpdu) -> bytes:
    """``tpdu`` wrapped in a TPKT header."""
    return encode_tpkt(encode_tpdu(tpdu))


def encode_data_frame(payload: bytes) -> bytes:
    """TPKT + X.224 DT header + ``payload``: the frame of every slow-path PDU."""
    return encode_tpkt(DATA_HEADER + payload)


def decode_data_frame(frame: bytes) -> bytes:
    """The user data of a whole TPKT + X.224 DT frame."""
    r = Reader(decode_tpkt(frame), "x224")
    read_data_header(r)
    return r.rest()


def _cdt(cdt: int) -> int:
    if not 0 <= cdt <= CDT_MASK:
        raise EncodeError(f"x224 credit out of range: {cdt}")
    return cdt
