"""The codec targets' shared check: one family's decoders, picked by the input's first byte.

Input: one byte choosing the decoder (modulo the family's size), then the bytes it decodes.
Invariants, for every decoder:
- it returns or raises ``DecodeError`` (the family's documented failure), nothing else;
- where the family has an encoder, what decoded either re-encodes to bytes that decode to
  the same value again, or is refused by the encoder with ``EncodeError`` (a value the
  decoder tolerates but the encoder will not write, such as an ambiguous routing token);
- a frame-length function returns None ("need more") or a length within its format's cap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fuzz.common import expect
from rdpprobe.errors import DecodeError, EncodeError


@dataclass(frozen=True)
class Codec:
    """One decoder of a family, with its encoder when there is one."""

    name: str
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes] | None = None
    check: Callable[[bytes, Any], None] | None = None
    """More invariants on (input, decoded value)."""


def check_family(family: Sequence[Codec], data: bytes) -> None:
    """Run the decoder ``data[0]`` picks on ``data[1:]``; see the module's invariants."""
    if not data:
        return
    codec = family[data[0] % len(family)]
    body = data[1:]
    try:
        value = codec.decode(body)
    except DecodeError:
        return
    if codec.check is not None:
        codec.check(body, value)
    if codec.encode is None:
        return
    try:
        encoded = codec.encode(value)
    except EncodeError:
        return
    try:
        again = codec.decode(encoded)
    except DecodeError as exc:
        raise AssertionError(f"{codec.name}: its own encoding of a decoded value does not decode: {exc}") from exc
    expect(again == value, f"{codec.name}: decode(encode(decode(x))) != decode(x)")


def seed(family: Sequence[Codec], name: str, data: bytes) -> bytes:
    """A corpus entry that runs the decoder called ``name`` on ``data``."""
    index = next(i for i, codec in enumerate(family) if codec.name == name)
    return bytes([index]) + data


def length_within(cap: int) -> Callable[[bytes, Any], None]:
    """A ``check`` for frame-length functions: None or a length in 1..``cap``."""

    def check(_data: bytes, length: Any) -> None:
        expect(length is None or 0 < length <= cap, f"frame length {length} outside 1..{cap}")

    return check
