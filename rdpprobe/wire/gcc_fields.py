"""Field helpers shared by the GCC user data blocks ([MS-RDPBCGR] 2.2.1.3.x, 2.2.1.4.x).

Fixed-size text fields (UTF-16LE client name, ASCII channel names) and table-driven
little-endian fields, including the "optional trailing fields" rule of the core blocks:
a field may be present only if every field before it is.
"""

from __future__ import annotations

from rdpprobe.errors import EncodeError, NotEnoughData
from rdpprobe.wire.buffer import Reader, Writer
from rdpprobe.wire.gcc_consts import CHANNEL_NAME_SIZE

INT_SIZES = (1, 2, 4)  # field sizes read as little-endian unsigned ints
UTF16_NUL = b"\0\0"
UTF16_UNIT = 2


def utf16_field(text: str, size: int) -> bytes:
    """``text`` as UTF-16LE, truncated to leave a NUL terminator, NUL-padded to ``size``."""
    raw = text.encode("utf-16-le")[: size - UTF16_UNIT]
    return raw[: len(raw) & ~1].ljust(size, b"\0")


def utf16_text(raw: bytes) -> str:
    """The text of a NUL-padded UTF-16LE field, up to the first NUL code unit."""
    units = raw[: len(raw) & ~1]
    for i in range(0, len(units), UTF16_UNIT):
        if units[i : i + UTF16_UNIT] == UTF16_NUL:
            units = units[:i]
            break
    return units.decode("utf-16-le", errors="replace")


def channel_name(text: str) -> bytes:
    """An 8-byte CHANNEL_DEF name: ASCII, at most 7 characters, NUL-padded."""
    raw = text.encode("ascii")
    if len(raw) >= CHANNEL_NAME_SIZE:
        raise EncodeError(f"channel name longer than 7 characters: {text!r}")
    return raw.ljust(CHANNEL_NAME_SIZE, b"\0")


def read_field(r: Reader, size: int) -> int | bytes:
    if size == 1:
        return r.u8()
    if size == 2:
        return r.u16le()
    if size == 4:
        return r.u32le()
    return r.take(size)


def write_field(w: Writer, size: int, value: int | bytes, name: str) -> None:
    if size in INT_SIZES:
        if not isinstance(value, int):
            raise EncodeError(f"{name} must be an int")
        (w.u8 if size == 1 else w.u16le if size == 2 else w.u32le)(value)
        return
    if not isinstance(value, bytes) or len(value) != size:
        raise EncodeError(f"{name} must be {size} bytes")
    w.write(value)


def read_optional(r: Reader, table: tuple[tuple[str, int], ...]) -> dict[str, int | bytes]:
    """Fields from ``table`` while bytes remain; a field cut short is an error."""
    values: dict[str, int | bytes] = {}
    for name, size in table:
        if not r.remaining:
            break
        if r.remaining < size:
            raise NotEnoughData(r.pdu, size, r.remaining, r.offset)
        values[name] = read_field(r, size)
    return values


def write_optional(w: Writer, table: tuple[tuple[str, int], ...], block: object, extra: bytes) -> None:
    present = True
    for name, size in table:
        value = getattr(block, name)
        if value is None:
            present = False
        elif not present:
            raise EncodeError(f"{name} is set but an earlier optional field is not")
        else:
            write_field(w, size, value, name)
    if extra and not present:
        raise EncodeError("extra bytes need every optional field present")
    w.write(extra)
