"""The X.690 BER subset that T.125 uses for MCS Connect-Initial and Connect-Response.

Supported: identifier octets for universal tags and two-byte APPLICATION tags
(``7f 65`` = [APPLICATION 101]), definite lengths in short, ``0x81`` and ``0x82`` forms,
INTEGER, BOOLEAN, OCTET STRING, ENUMERATED and SEQUENCE.

Rules of this module: indefinite lengths (``0x80``) and lengths wider than two octets are
rejected, and every length is checked against the bytes actually present before use.
INTEGER values are read as unsigned, since T.125 only uses ``INTEGER (0..MAX)`` and the
MS-RDPBCGR 4.1.3 client example writes 65535 as ``02 02 ff ff``.
"""

from __future__ import annotations

from rdpprobe.errors import EncodeError, InvalidField, NotEnoughData, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer

# X.690 8.1.2: identifier octets.
TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_ENUMERATED = 0x0A
TAG_SEQUENCE = 0x30  # universal 16, constructed
CLASS_APPLICATION = 0x40
CONSTRUCTED = 0x20
TAG_NUMBER_HIGH = 0x1F  # X.690 8.1.2.4: tag number in the following octets
HIGH_TAG_MAX = 0x7F  # one subsequent octet carries tag numbers up to 127

# X.690 8.1.3: length octets.
LENGTH_LONG = 0x80
LENGTH_INDEFINITE = 0x80
LENGTH_ONE_OCTET = 0x81
LENGTH_TWO_OCTETS = 0x82
SHORT_LENGTH_MAX = 0x7F

BOOLEAN_TRUE = 0xFF  # X.690 11.1: DER/CER encode TRUE as all ones
INTEGER_MAX_OCTETS = 5  # 32-bit unsigned values, plus a leading zero octet
UINT32_MAX = 0xFFFFFFFF


def read_length(r: Reader) -> int:
    """A definite length, checked against the bytes left in ``r``."""
    start = r.offset
    first = r.u8()
    if first < LENGTH_LONG:
        length = first
    elif first == LENGTH_ONE_OCTET:
        length = r.u8()
    elif first == LENGTH_TWO_OCTETS:
        length = r.u16be()
    elif first == LENGTH_INDEFINITE:
        raise InvalidField(r.pdu, "ber length", "indefinite length not allowed", start)
    else:
        raise InvalidField(r.pdu, "ber length", f"unsupported length form 0x{first:02x}", start)
    if length > r.remaining:
        raise NotEnoughData(r.pdu, length, r.remaining, r.offset)
    return length


def write_length(w: Writer, length: int) -> None:
    if length <= SHORT_LENGTH_MAX:
        w.u8(length)
    elif length <= 0xFF:
        w.u8(LENGTH_ONE_OCTET)
        w.u8(length)
    elif length <= 0xFFFF:
        w.u8(LENGTH_TWO_OCTETS)
        w.u16be(length)
    else:
        raise EncodeError(f"ber length too large: {length}")


def read_tag(r: Reader, tag: int) -> None:
    """Consume a one-byte universal tag, which must equal ``tag``."""
    start = r.offset
    got = r.u8()
    if got != tag:
        raise UnexpectedType(r.pdu, got, tag, start)


def read_application_tag(r: Reader, number: int) -> int:
    """Consume ``[APPLICATION number]`` (constructed, two-byte form) and return its length."""
    start = r.offset
    first = r.u8()
    expected = CLASS_APPLICATION | CONSTRUCTED | TAG_NUMBER_HIGH
    if first != expected:
        raise UnexpectedType(r.pdu, first, expected, start)
    got = r.u8()
    if got != number:
        raise UnexpectedType(r.pdu, got, number, start + 1)
    return read_length(r)


def write_application_tag(w: Writer, number: int, length: int) -> None:
    if not TAG_NUMBER_HIGH <= number <= HIGH_TAG_MAX:
        raise EncodeError(f"application tag number out of range: {number}")
    w.u8(CLASS_APPLICATION | CONSTRUCTED | TAG_NUMBER_HIGH)
    w.u8(number)
    write_length(w, length)


def read_sequence(r: Reader) -> Reader:
    """A reader over the contents of the SEQUENCE at the reader's position."""
    read_tag(r, TAG_SEQUENCE)
    return r.sub(read_length(r))


def write_sequence(w: Writer, contents: bytes) -> None:
    w.u8(TAG_SEQUENCE)
    write_length(w, len(contents))
    w.write(contents)


def read_boolean(r: Reader) -> bool:
    read_tag(r, TAG_BOOLEAN)
    start = r.offset
    length = read_length(r)
    if length != 1:
        raise InvalidField(r.pdu, "boolean length", f"{length} != 1", start)
    return r.u8() != 0


def write_boolean(w: Writer, value: bool) -> None:
    w.u8(TAG_BOOLEAN)
    w.u8(1)
    w.u8(BOOLEAN_TRUE if value else 0)


def read_integer_octets(r: Reader) -> bytes:
    """The content octets of an INTEGER (1 to 5 of them, value within 32 bits)."""
    read_tag(r, TAG_INTEGER)
    start = r.offset
    length = read_length(r)
    if not 1 <= length <= INTEGER_MAX_OCTETS:
        raise InvalidField(r.pdu, "integer length", f"{length} not in 1..{INTEGER_MAX_OCTETS}", start)
    octets = r.take(length)
    if length == INTEGER_MAX_OCTETS and octets[0] != 0:
        raise InvalidField(r.pdu, "integer", "value wider than 32 bits", start)
    return octets


def read_integer(r: Reader) -> int:
    """An INTEGER read as unsigned big-endian (T.125 INTEGER (0..MAX))."""
    return int.from_bytes(read_integer_octets(r), "big")


def integer_octets(value: int, unsigned: bool = False) -> bytes:
    """Minimal content octets for ``value``.

    X.690 8.3 two's-complement form by default (65528 -> ``00 ff f8``, as Windows servers
    write it); with ``unsigned`` the minimal unsigned form (65535 -> ``ff ff``, as the
    MS-RDPBCGR 4.1.3 client example writes it).
    """
    if not 0 <= value <= UINT32_MAX:
        raise EncodeError(f"ber integer out of range: {value}")
    bits = value.bit_length() if unsigned else value.bit_length() + 1
    return value.to_bytes(max(1, (bits + 7) // 8), "big")


def write_integer(w: Writer, value: int, unsigned: bool = False) -> None:
    octets = integer_octets(value, unsigned)
    w.u8(TAG_INTEGER)
    write_length(w, len(octets))
    w.write(octets)


def read_enumerated(r: Reader) -> int:
    read_tag(r, TAG_ENUMERATED)
    start = r.offset
    length = read_length(r)
    if length != 1:
        raise InvalidField(r.pdu, "enumerated length", f"{length} != 1", start)
    return r.u8()


def write_enumerated(w: Writer, value: int) -> None:
    w.u8(TAG_ENUMERATED)
    w.u8(1)
    w.u8(value)


def read_octet_string(r: Reader) -> bytes:
    read_tag(r, TAG_OCTET_STRING)
    return r.take(read_length(r))


def write_octet_string(w: Writer, value: bytes) -> None:
    w.u8(TAG_OCTET_STRING)
    write_length(w, len(value))
    w.write(value)
