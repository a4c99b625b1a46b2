"""Integer sets and a keyed permutation: the address arithmetic behind target expansion.

Everything here works on plain ints (an IPv4 or IPv6 address as a number), so a range of any
size costs a few objects, never a list of its members.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Intervals", "Permutation", "Points", "SplitMix", "Spans", "subtract"]

FEISTEL_ROUNDS = 4  # Luby-Rackoff: four rounds give a strong pseudo-random permutation.
_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # splitmix64 increment
_MIX_MULT_1 = 0xBF58476D1CE4E5B9  # splitmix64 finaliser multipliers
_MIX_MULT_2 = 0x94D049BB133111EB
_MIX_SHIFTS = (30, 27, 31)

# --- Interval sets --------------------------------------------------------------------------

Spans = list[tuple[int, int]]


class Intervals:
    """Disjoint, merged, sorted closed intervals of integers, searched with bisect."""

    __slots__ = ("_starts", "_ends")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, first: int, last: int) -> None:
        lo = bisect_left(self._ends, first - 1)
        hi = bisect_right(self._starts, last + 1)
        if lo < hi:
            first, last = min(first, self._starts[lo]), max(last, self._ends[hi - 1])
        self._starts[lo:hi] = [first]
        self._ends[lo:hi] = [last]

    def __contains__(self, value: int) -> bool:
        i = bisect_right(self._starts, value) - 1
        return i >= 0 and self._ends[i] >= value

    def overlapping(self, first: int, last: int) -> Iterator[tuple[int, int]]:
        i = bisect_left(self._ends, first)
        while i < len(self._starts) and self._starts[i] <= last:
            yield self._starts[i], self._ends[i]
            i += 1


class Points:
    """Single addresses: a set for membership, sorted lazily when a range asks what it holds."""

    __slots__ = ("_set", "_sorted", "_pending")

    def __init__(self) -> None:
        self._set: set[int] = set()
        self._sorted: list[int] = []
        self._pending: list[int] = []

    def add(self, value: int) -> None:
        self._set.add(value)
        self._pending.append(value)

    def __contains__(self, value: int) -> bool:
        return value in self._set

    def overlapping(self, first: int, last: int) -> Iterator[tuple[int, int]]:
        if self._pending:
            self._sorted.extend(self._pending)
            self._sorted.sort()  # Timsort merges the two sorted runs in linear time.
            self._pending = []
        lo, hi = bisect_left(self._sorted, first), bisect_right(self._sorted, last)
        return ((value, value) for value in self._sorted[lo:hi])


def subtract(spans: Spans, holes: Callable[[int, int], Iterable[tuple[int, int]]]) -> Spans:
    out: Spans = []
    for first, last in spans:
        cursor = first
        for start, end in holes(first, last):
            if start > cursor:
                out.append((cursor, start - 1))
            cursor = max(cursor, end + 1)
        if cursor <= last:
            out.append((cursor, last))
    return out


# --- Permutation ----------------------------------------------------------------------------


def _mix64(value: int) -> int:
    """The splitmix64 finaliser: a cheap, well-spread 64-bit mixing function."""
    first, second, third = _MIX_SHIFTS
    value = ((value ^ (value >> first)) * _MIX_MULT_1) & _MASK64
    value = ((value ^ (value >> second)) * _MIX_MULT_2) & _MASK64
    return value ^ (value >> third)


@dataclass(frozen=True, slots=True)
class Permutation:
    """A keyed bijection on ``[0, size)``: a balanced Feistel network with cycle-walking."""

    size: int
    keys: tuple[int, ...]
    half_bits: int

    @classmethod
    def keyed(cls, size: int, seed: int, salt: int) -> Permutation:
        digest = hashlib.blake2b(f"{seed}/{salt}".encode(), digest_size=8 * FEISTEL_ROUNDS).digest()
        keys = tuple(int.from_bytes(digest[i : i + 8], "big") for i in range(0, len(digest), 8))
        half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
        return cls(size, keys, half_bits)

    def __call__(self, index: int) -> int:
        """The image of ``index``, which must lie in ``[0, size)``."""
        value = self._encrypt(index)
        while value >= self.size:  # INVARIANT: the domain is under 4 * size, so this ends fast.
            value = self._encrypt(value)
        return value

    def _encrypt(self, value: int) -> int:
        mask = (1 << self.half_bits) - 1
        left, right = value >> self.half_bits, value & mask
        for key in self.keys:
            left, right = right, left ^ (_mix64(right ^ key) & mask)
        return (left << self.half_bits) | right


class SplitMix:
    """A tiny deterministic generator, so the order never depends on the Python version."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK64

    def below(self, bound: int) -> int:
        self._state = (self._state + _GOLDEN_GAMMA) & _MASK64
        return _mix64(self._state) % bound
