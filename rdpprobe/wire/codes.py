"""Open code spaces: decoders keep raw ints; these helpers give them names.

A probe exists to record what the server actually sent, so an unnamed value is shown as
``unknown(0x…)`` rather than rejected.
"""

from __future__ import annotations

import enum
import functools


def name_of(enum_cls: type[enum.IntEnum] | type[enum.IntFlag], value: int) -> str:
    """The member name for ``value`` in ``enum_cls``, or ``unknown(0x…)``."""
    try:
        name = enum_cls(value).name
    except ValueError:
        name = None
    return name or f"unknown(0x{value:x})"


@functools.lru_cache(maxsize=1024)
def flag_names(flag_cls: type[enum.IntFlag], value: int) -> tuple[str, ...]:
    """Names of the set bits of ``value``; bits without a name show as ``unknown(0x…)``.

    Cached: a scan meets the same few flag words over and over.
    """
    names: list[str] = []
    known = 0
    for member in flag_cls:
        bit = int(member)
        if bit and value & bit == bit and member.name:
            names.append(member.name)
            known |= bit
    if value & ~known:
        names.append(f"unknown(0x{value & ~known:x})")
    return tuple(names)
