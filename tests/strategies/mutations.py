"""Hypothesis strategies for a peer that breaks a recorded conversation, and the code that
breaks it: bytes flipped, overwritten with extreme values, cut, padded or deleted, frames
repeated or dropped.

A recording here is a sequence of event tuples ``(kind, value, ...)``; the events whose
kind is ``"data"`` and whose value is not empty (``b""`` is the end of the stream) are the
frames a change may pick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

#: Values a length or count field is set to: empty, the sign bit, the maximum, BER long forms.
EXTREMES = (b"\x00", b"\xff", b"\x00\x00", b"\x80\x00", b"\xff\xff", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff",
            b"\x81", b"\x82\xff\xff", b"\x84\xff\xff\xff\xff")  # fmt: skip
#: Bytes inserted or appended at once, at most.
MAX_NOISE = 64
#: Positions are taken modulo the frame's length (plus one), so one value fits any frame.
_POSITION = st.integers(0, 2**16)

EDITS = st.one_of(
    st.tuples(st.just("flip"), _POSITION, st.integers(1, 255)),
    st.tuples(st.just("cut"), _POSITION),
    st.tuples(st.just("insert"), _POSITION, st.binary(min_size=1, max_size=MAX_NOISE)),
    st.tuples(st.just("put"), _POSITION, st.sampled_from(EXTREMES)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=MAX_NOISE)),
    st.tuples(st.just("delete"), _POSITION, st.integers(1, 64)),
)
FRAME_CHANGES = st.one_of(
    st.tuples(st.just("edit"), st.lists(EDITS, min_size=1, max_size=3)),
    st.tuples(st.just("repeat")),
    st.tuples(st.just("drop")),
)
#: Up to three changes, each to the frame its first number picks (modulo the frames there are).
CHANGES = st.lists(st.tuples(st.integers(0, 64), FRAME_CHANGES), min_size=1, max_size=3)


def edit(data: bytes, change: tuple[Any, ...]) -> bytes:
    """``data`` with one edit of ``EDITS`` made to it."""
    kind, *args = change
    if kind == "append":
        return data + args[0]
    at = args[0] % (len(data) + 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ args[1]]) + data[at + 1 :] if at < len(data) else data
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + args[1] + data[at:]
    if kind == "put":
        return data[:at] + args[1] + data[at + len(args[1]) :]
    return data[:at] + data[at + args[1] :]  # delete


def frames(events: Sequence[tuple[Any, ...]]) -> list[int]:
    """The indexes of the events that carry bytes."""
    return [i for i, event in enumerate(events) if event[0] == "data" and event[1]]


def changed(events: Sequence[tuple[Any, ...]], changes: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """``events`` with ``changes`` (``CHANGES``) made to their frames, the first change to a
    frame kept: bytes edited, a frame repeated or dropped."""
    out = list(events)
    indexes = frames(events)
    if not indexes:
        return out
    chosen = {indexes[which % len(indexes)]: change for which, change in reversed(changes)}
    for at, change in sorted(chosen.items(), reverse=True):  # Later frames first: indexes hold.
        kind, data, *rest = out[at]
        if change[0] == "edit":
            for one in change[1]:
                data = edit(data, one)
            out[at] = (kind, data, *rest)
        elif change[0] == "repeat":
            out.insert(at, out[at])
        else:
            del out[at]
    return out
