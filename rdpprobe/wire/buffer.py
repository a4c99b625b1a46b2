"""A bounds-checked cursor over bytes (``Reader``) and its writing twin (``Writer``).

Every read checks the remaining length first and raises ``NotEnoughData`` naming the PDU,
so no decoder can raise ``IndexError`` or ``struct.error`` on short input, and no read
allocates more than the input holds.
"""

from __future__ import annotations

import struct

from rdpprobe.errors import EncodeError, InvalidField, NotEnoughData

_U16LE = struct.Struct("<H")
_U16BE = struct.Struct(">H")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct(">I")
_U64LE = struct.Struct("<Q")


class Reader:
    """Cursor over ``data``; ``pdu`` names what is being decoded, for error messages."""

    __slots__ = ("_data", "_pos", "_end", "pdu")

    def __init__(self, data: bytes | bytearray | memoryview, pdu: str = "pdu") -> None:
        self._data = bytes(data)
        self._pos = 0
        self._end = len(self._data)
        self.pdu = pdu

    @property
    def offset(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def _need(self, n: int) -> int:
        if n < 0:
            raise InvalidField(self.pdu, "length", f"negative length {n}", self._pos)
        if self._end - self._pos < n:
            raise NotEnoughData(self.pdu, n, self._end - self._pos, self._pos)
        start = self._pos
        self._pos += n
        return start

    def take(self, n: int) -> bytes:
        start = self._need(n)
        return self._data[start : start + n]

    def skip(self, n: int) -> None:
        self._need(n)

    def peek_u8(self) -> int:
        if self._pos >= self._end:
            raise NotEnoughData(self.pdu, 1, 0, self._pos)
        return self._data[self._pos]

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def u8(self) -> int:
        return self._data[self._need(1)]

    def unpack(self, layout: struct.Struct) -> tuple[int, ...]:
        """Several fixed-size fields in one bounds check (``layout`` is a ``struct.Struct``)."""
        return layout.unpack_from(self._data, self._need(layout.size))

    def u16le(self) -> int:
        value: int = _U16LE.unpack_from(self._data, self._need(2))[0]
        return value

    def u16be(self) -> int:
        value: int = _U16BE.unpack_from(self._data, self._need(2))[0]
        return value

    def u32le(self) -> int:
        value: int = _U32LE.unpack_from(self._data, self._need(4))[0]
        return value

    def u32be(self) -> int:
        value: int = _U32BE.unpack_from(self._data, self._need(4))[0]
        return value

    def u64le(self) -> int:
        value: int = _U64LE.unpack_from(self._data, self._need(8))[0]
        return value

    def sub(self, n: int, pdu: str | None = None) -> Reader:
        """A reader over the next ``n`` bytes, consumed from this one."""
        return Reader(self.take(n), pdu or self.pdu)

    def expect_end(self) -> None:
        """Raise unless every byte was consumed (``decode_*`` must consume exactly)."""
        if self._pos != self._end:
            raise InvalidField(self.pdu, "length", f"{self._end - self._pos} trailing bytes", self._pos)


class Writer:
    """Appends encoded fields; ``bytes()`` returns what was written."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def __bytes__(self) -> bytes:
        return bytes(self._buf)

    def write(self, data: bytes | bytearray) -> None:
        self._buf += data

    def u8(self, v: int) -> None:
        self._buf.append(_check(v, 0xFF, "u8"))

    def u16le(self, v: int) -> None:
        self._buf += _U16LE.pack(_check(v, 0xFFFF, "u16"))

    def u16be(self, v: int) -> None:
        self._buf += _U16BE.pack(_check(v, 0xFFFF, "u16"))

    def u32le(self, v: int) -> None:
        self._buf += _U32LE.pack(_check(v, 0xFFFFFFFF, "u32"))

    def u32be(self, v: int) -> None:
        self._buf += _U32BE.pack(_check(v, 0xFFFFFFFF, "u32"))

    def u64le(self, v: int) -> None:
        self._buf += _U64LE.pack(_check(v, 0xFFFFFFFFFFFFFFFF, "u64"))

    def pad(self, n: int) -> None:
        self._buf += bytes(n)


def _check(v: int, top: int, what: str) -> int:
    if not 0 <= v <= top:
        raise EncodeError(f"value out of range for {what}: {v}")
    return v
