"""A server conversation as fuzz input: what a driver tells the prober, serialized.

Format: one byte choosing the probe's configuration (``CONFIGS``, modulo), then events:

- ``D`` + u16 length + bytes: the server's plaintext, one read's worth;
- ``T`` + u16 length + DER: the TLS handshake completed with this certificate (none if 0);
- ``E``: end of stream; ``R``: a reset; ``A`` + u8: a TLS alert from the server;
- ``W`` + u16 milliseconds: time passes, then the prober's timer is handled.

Every event also advances the clock by ``STEP_S``. Seeds are conversations recorded from the
mock server (``fuzz.seeds``); ``mutate`` changes them the way a hostile server or network
would, knowing where TPKT and fast-path frames are: a frame's bytes changed with its length
kept true, a length field set to an extreme, frames cut, repeated, dropped, reads split and
merged, events reordered.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds each event advances the clock by.
STEP_S = 0.001
U16 = struct.Struct(">H")
MAX_CHUNK = 0xFFFF
KINDS = b"DTERAW"
#: TLS alert descriptions a server sends (RFC 8446 6.2): handshake_failure, internal_error …
ALERTS = (40, 48, 70, 80, 112)
#: TPKT and fast-path length values that framing code gets wrong most often.
EXTREME_LENGTHS = (0, 1, 3, 4, 5, 7, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF)


@dataclass(frozen=True)
class Event:
    kind: str
    data: bytes = b""
    value: int = 0


@dataclass(frozen=True)
class Conversation:
    config: int
    events: tuple[Event, ...]


def parse(blob: bytes) -> Conversation:
    """The conversation in ``blob``; a truncated or unknown event ends it (never raises)."""
    if not blob:
        return Conversation(0, ())
    events: list[Event] = []
    at = 1
    while at < len(blob):
        kind = chr(blob[at])
        at += 1
        if kind in "DTW":
            if at + 2 > len(blob):
                break
            (size,) = U16.unpack_from(blob, at)
            at += 2
            if kind == "W":
                events.append(Event(kind, value=size))
                continue
            events.append(Event(kind, blob[at : at + size]))
            at += size
        elif kind == "A":
            events.append(Event(kind, value=blob[at] if at < len(blob) else 40))
            at += 1
        elif kind in "ER":
            events.append(Event(kind))
        else:
            break
    return Conversation(blob[0], tuple(events))


def serialize(conv: Conversation) -> bytes:
    out = bytearray([conv.config & 0xFF])
    for event in conv.events:
        out += event.kind.encode()
        if event.kind in "DT":
            data = event.data[:MAX_CHUNK]
            out += U16.pack(len(data)) + data
        elif event.kind == "W":
            out += U16.pack(min(event.value, MAX_CHUNK))
        elif event.kind == "A":
            out.append(event.value & 0xFF)
    return bytes(out)


# -- structure-aware mutation ----------------------------------------------------------------

ByteMutator = Callable[[bytes, int], bytes]


def frames(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the TPKT and fast-path frames ``data`` starts with, as far as their
    headers say; what cannot be a frame header ends the list."""
    found: list[tuple[int, int]] = []
    at = 0
    while at + 4 <= len(data):
        if data[at] == 3:
            size = U16.unpack_from(data, at + 2)[0]
        elif data[at] & 0x3 == 0:
            size = data[at + 1] if data[at + 1] < 0x80 else ((data[at + 1] & 0x7F) << 8) | data[at + 2]
        else:
            break
        if size < 2:
            break
        found.append((at, min(size, len(data) - at)))
        at += size
    return found


def _set_length(frame: bytes, length: int) -> bytes:
    if frame[:1] == b"\x03" and len(frame) >= 4:
        return frame[:2] + U16.pack(length & 0xFFFF) + frame[4:]
    if len(frame) >= 3:
        return frame[:1] + bytes([0x80 | (length >> 8) & 0x7F, length & 0xFF]) + frame[3:]
    return frame


def _mutate_frame(data: bytes, rng: random.Random, mutate_bytes: ByteMutator) -> bytes:
    """One TPKT/fast-path frame of ``data`` changed; its length field kept true or made extreme."""
    found = frames(data)
    if not found:
        return mutate_bytes(data, len(data) + 64)
    at, size = rng.choice(found)
    frame, rest = data[at : at + size], data[at + size :]
    choice = rng.randrange(5)
    if choice == 0:  # body changed, length true
        header = 4 if frame[:1] == b"\x03" else 3
        body = mutate_bytes(frame[header:], max(16, 2 * len(frame)))
        frame = _set_length(frame[:header] + body, header + len(body))
    elif choice == 1:
        frame = _set_length(frame, rng.choice(EXTREME_LENGTHS))
    elif choice == 2:
        frame = frame[: rng.randrange(len(frame) + 1)]
    elif choice == 3:
        frame = frame * rng.randint(2, 4)
    else:
        frame = b""
    return data[:at] + frame + rest


def _split_or_merge(events: list[Event], rng: random.Random) -> None:
    indices = [i for i, e in enumerate(events) if e.kind == "D"]
    if not indices:
        return
    i = rng.choice(indices)
    data = events[i].data
    if rng.random() < 0.5 and len(data) > 1:
        cut = rng.randrange(1, len(data))
        events[i : i + 1] = [Event("D", data[:cut]), Event("D", data[cut:])]
    elif i + 1 < len(events) and events[i + 1].kind == "D":
        events[i : i + 2] = [Event("D", data + events[i + 1].data)]


def _structural(events: list[Event], rng: random.Random) -> None:
    choice = rng.randrange(5)
    if choice == 0 and events:
        del events[rng.randrange(len(events))]
    elif choice == 1 and events:
        i = rng.randrange(len(events))
        events.insert(i, events[i])
    elif choice == 2 and len(events) > 1:
        i = rng.randrange(len(events) - 1)
        events[i], events[i + 1] = events[i + 1], events[i]
    elif choice == 3:
        ending = rng.choice([Event("E"), Event("R"), Event("A", value=rng.choice(ALERTS)),
                             Event("W", value=rng.choice((100, 1000, 10_000, 60_000)))])
        events.insert(rng.randrange(len(events) + 1), ending)
    else:
        i = rng.randrange(len(events) + 1) if events else 0
        del events[i:]


def mutate(blob: bytes, max_size: int, seed: int, mutate_bytes: ByteMutator) -> bytes:
    """A changed conversation, at most ``max_size`` bytes; ``mutate_bytes`` is libFuzzer's own."""
    rng = random.Random(seed)
    conv = parse(blob)
    if not conv.events or rng.random() < 0.05:
        return mutate_bytes(blob, max_size)
    events = list(conv.events)
    roll = rng.random()
    data_events = [i for i, e in enumerate(events) if e.kind == "D"]
    if roll < 0.55 and data_events:
        i = rng.choice(data_events)
        events[i] = Event("D", _mutate_frame(events[i].data, rng, mutate_bytes))
    elif roll < 0.75:
        _split_or_merge(events, rng)
    elif roll < 0.95:
        _structural(events, rng)
    else:
        conv = Conversation(rng.randrange(256), conv.events)
    out = serialize(Conversation(conv.config, tuple(events)))
    return out if len(out) <= max_size else out[:max_size]


def merged_reads(events: tuple[Event, ...]) -> tuple[Event, ...]:
    """The same events with each run of consecutive reads handed over as one read."""
    out: list[Event] = []
    for event in events:
        if event.kind == "D" and out and out[-1].kind == "D":
            out[-1] = Event("D", out[-1].data + event.data)
        else:
            out.append(event)
    return tuple(out)


def libfuzzer_mutator(blob: bytes, max_size: int, seed: int) -> bytes:
    """``mutate`` with libFuzzer's byte mutator: the targets' ``custom_mutator``."""
    import atheris

    return mutate(blob, max_size, seed, atheris.Mutate)
