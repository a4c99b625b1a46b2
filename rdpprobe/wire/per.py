"""The X.691 ALIGNED PER subset used by T.125 domain PDUs and T.124 GCC.

Only the shapes RDP actually puts on the wire are supported, each as it appears in the
MS-RDPBCGR 4.1 examples: one-byte choices, selection (optional-field) bitmaps and set
counts; length determinants of one octet (< 0x80) or two octets (top bit set); 16-bit
constrained integers with a lower bound (user ids are sent as ``id - 1001``); unconstrained
integers as a length octet plus 1-4 value octets; object identifiers; octet strings with
a minimum size; numeric strings packed four bits per digit; padding.

The two-octet length keeps 15 bits, as FreeRDP and Windows read it, rather than treating
``11xxxxxx`` as an X.691 fragmentation marker.
"""

from __future__ import annotations

from rdpprobe.errors import EncodeError, InvalidField, UnexpectedType
from rdpprobe.wire.buffer import Reader, Writer

LENGTH_LONG = 0x80  # X.691 10.9.3.7: a two-octet length determinant has its top bit set
LENGTH_HIGH_MASK = 0x7F
SHORT_LENGTH_MAX = 0x7F
LENGTH_MAX = 0x7FFF
INTEGER_WIDTHS = (1, 2, 4)  # value octets written for an unconstrained integer
UINT16_MAX = 0xFFFF
UINT32_MAX = 0xFFFFFFFF
OID_FIRST_ARC_FACTOR = 40  # X.690 8.19.4: the first two arcs share one subidentifier
OID_SUBID_MORE = 0x80
OID_SUBID_MASK = 0x7F
DIGIT_MAX = 9
NIBBLE_BITS = 4


def read_length(r: Reader) -> int:
    """A length determinant (not checked against the data: the caller's ``take`` does)."""
    first = r.u8()
    if first & LENGTH_LONG:
        return ((first & LENGTH_HIGH_MASK) << 8) | r.u8()
    return first


def write_length(w: Writer, length: int) -> None:
    if not 0 <= length <= LENGTH_MAX:
        raise EncodeError(f"per length out of range: {length}")
    if length <= SHORT_LENGTH_MAX:
        w.u8(length)
    else:
        w.u16be(LENGTH_LONG << 8 | length)


def length_size(length: int) -> int:
    """Octets ``write_length`` uses for ``length``."""
    return 1 if length <= SHORT_LENGTH_MAX else 2


def read_choice(r: Reader) -> int:
    return r.u8()


def write_choice(w: Writer, choice: int) -> None:
    w.u8(choice)


def read_selection(r: Reader) -> int:
    """The optional-field bitmap octet."""
    return r.u8()


def write_selection(w: Writer, selection: int) -> None:
    w.u8(selection)


def read_number_of_sets(r: Reader) -> int:
    return r.u8()


def write_number_of_sets(w: Writer, count: int) -> None:
    w.u8(count)


def read_enumerated(r: Reader) -> int:
    """An enumerated value in one octet (values are kept raw, unknown ones included)."""
    return r.u8()


def write_enumerated(w: Writer, value: int) -> None:
    w.u8(value)


def read_padding(r: Reader, count: int) -> None:
    r.skip(count)


def write_padding(w: Writer, count: int) -> None:
    w.pad(count)


def read_integer16(r: Reader, minimum: int) -> int:
    """A 16-bit constrained whole number with lower bound ``minimum`` (X.691 10.5.7.3)."""
    return r.u16be() + minimum


def write_integer16(w: Writer, value: int, minimum: int) -> None:
    if not minimum <= value <= minimum + UINT16_MAX:
        raise EncodeError(f"per integer16 out of range: {value} (minimum {minimum})")
    w.u16be(value - minimum)


def read_integer(r: Reader) -> int:
    """An unconstrained INTEGER (0..MAX): a length octet and 1-4 value octets."""
    start = r.offset
    length = read_length(r)
    if not 1 <= length <= 4:
        raise InvalidField(r.pdu, "per integer length", f"{length} not in 1..4", start)
    return int.from_bytes(r.take(length), "big")


def write_integer(w: Writer, value: int) -> None:
    if not 0 <= value <= UINT32_MAX:
        raise EncodeError(f"per integer out of range: {value}")
    width = next(n for n in INTEGER_WIDTHS if value < 1 << (8 * n))
    write_length(w, width)
    w.write(value.to_bytes(width, "big"))


def read_object_identifier(r: Reader) -> tuple[int, ...]:
    """An OBJECT IDENTIFIER: a length and X.690 8.19 subidentifiers."""
    body = r.sub(read_length(r))
    arcs: list[int] = []
    value, pending = 0, False
    while body.remaining:
        octet = body.u8()
        value = (value << 7) | (octet & OID_SUBID_MASK)
        pending = bool(octet & OID_SUBID_MORE)
        if not pending:
            arcs.append(value)
            value = 0
    if pending or not arcs:
        raise InvalidField(r.pdu, "object identifier", "truncated subidentifier", r.offset)
    first = min(arcs[0] // OID_FIRST_ARC_FACTOR, 2)
    return (first, arcs[0] - first * OID_FIRST_ARC_FACTOR, *arcs[1:])


def write_object_identifier(w: Writer, oid: tuple[int, ...]) -> None:
    if len(oid) < 2 or oid[0] > 2 or min(oid) < 0:
        raise EncodeError(f"invalid object identifier: {oid}")
    body = bytearray()
    for arc in (oid[0] * OID_FIRST_ARC_FACTOR + oid[1], *oid[2:]):
        body += _subidentifier(arc)
    write_length(w, len(body))
    w.write(body)


def _subidentifier(arc: int) -> bytes:
    out = [arc & OID_SUBID_MASK]
    arc >>= 7
    while arc:
        out.append(OID_SUBID_MORE | (arc & OID_SUBID_MASK))
        arc >>= 7
    return bytes(reversed(out))


def expect_object_identifier(r: Reader, oid: tuple[int, ...]) -> None:
    start = r.offset
    got = read_object_identifier(r)
    if got != oid:
        raise UnexpectedType(r.pdu, got, oid, start)


def read_octet_string(r: Reader, min_length: int = 0) -> bytes:
    """An OCTET STRING whose length is sent as ``length - min_length``."""
    return r.take(read_length(r) + min_length)


def write_octet_string(w: Writer, value: bytes, min_length: int = 0) -> None:
    if len(value) < min_length:
        raise EncodeError(f"per octet string shorter than {min_length}: {len(value)}")
    write_length(w, len(value) - min_length)
    w.write(value)


def read_numeric_string(r: Reader, min_length: int = 0) -> str:
    """A NumericString of digits packed four bits each, length sent minus ``min_length``."""
    start = r.offset
    count = read_length(r) + min_length
    packed = r.take((count + 1) // 2)
    digits = []
    for i in range(count):
        nibble = packed[i // 2] >> NIBBLE_BITS if i % 2 == 0 else packed[i // 2] & 0x0F
        if nibble > DIGIT_MAX:
            raise InvalidField(r.pdu, "numeric string", f"nibble 0x{nibble:x} is not a digit", start)
        digits.append(chr(ord("0") + nibble))
    return "".join(digits)


def write_numeric_string(w: Writer, text: str, min_length: int = 0) -> None:
    if len(text) < min_length or not all("0" <= c <= "9" for c in text):
        raise EncodeError(f"invalid numeric string: {text!r}")
    write_length(w, len(text) - min_length)
    nibbles = [ord(c) - ord("0") for c in text] + [0] * (len(text) % 2)
    w.write(bytes((nibbles[i] << NIBBLE_BITS) | nibbles[i + 1] for i in range(0, len(nibbles), 2)))
