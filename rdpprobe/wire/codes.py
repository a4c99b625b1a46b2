"""Open code spaces: decoders keep raw ints; these helpers give them names.

A probe exists to record what the server actually sent, so an unnamed value is shown as
``unknown(0x…)`` rather than rejected.
"""

from __future__ import annotations

import enum


def name_of(enum_cls: type[enum.IntEnum], value: int) -> str:
    """The member name for ``value`` in ``enum_cls``, or ``unknown(0x…)``."""
    try:
        return enum_cls(value).name
    except ValueError:
        return f"unknown(0x{value:x})"


def flag_names(flag_cls: type[enum.IntFlag], value: int) -> list[str]:
    """Names of the set bits of ``value``; bits without a name show as ``unknown(0x…)``."""
    names: list[str] = []
    known = 0
    for member in flag_cls:
        bit = int(member)
        if bit and value & bit == bit and member.name:
            names.append(member.name)
            known |= bit
    if value & ~known:
        names.append(f"unknown(0x{value & ~known:x})")
    return names
