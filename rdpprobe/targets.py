"""Targets in: parse what the user typed, expand it lazily, and hand out ``Target`` values.

Rules of this module:
- nothing here touches the network: host names stay names and the engine resolves them later;
- nothing is materialised per address: a range is an interval of integers and a keyed
  permutation picks its members one at a time, so a /8 costs the memory of a /32;
- the order is deterministic for a given input and seed, which is what makes sharding exact:
  the k-th target of that order belongs to shard ``k % n``;
- de-duplication follows input order: an address is dropped when an *earlier* spec already
  covered it on the same port, whatever order the targets are then emitted in.

Spec grammar (one spec per argument; files hold any number per line, separated by blanks or
commas, ``#`` starts a comment)::

    host  host:port  1.2.3.4  1.2.3.4:3390  ::1  [::1]:3390
    10.0.0.0/24  10.0.0.0/24:3390  [2001:db8::/120]:3390
    10.0.0.1-10.0.0.20  10.0.0.1-20 (last octet)  [2001:db8::1-2001:db8::9]:3390

A bare IPv6 address never carries a port (``::1:3390`` is an address); use brackets. A CIDR
with host bits set (``10.0.0.5/24``) means the network that contains it, as in nmap. Every
address of a network is a target, network and broadcast addresses included.

Limits, by design:
- individual addresses are remembered in a set and ranges as merged intervals, so memory
  grows with the number of specs (and exclusions), never with the number of addresses;
- a range that follows many individual hosts has those hosts cut out of it, one hole each;
- with a seed, ranges are permuted whole, but interleaving only mixes the ``ACTIVE_WINDOW``
  specs open at once: a file of a million single hosts is shuffled locally, not globally;
- a name and the address it resolves to are different targets (no lookups here).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import sys
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from rdpprobe.errors import RdpProbeError
from rdpprobe.intervals import Intervals, Permutation, Points, Spans, SplitMix, subtract
from rdpprobe.result import Target

__all__ = [
    "ACTIVE_WINDOW", "DEFAULT_PORT", "STDIN", "Source", "Target", "TargetError", "TargetFile",
    "TargetSpec", "count_targets", "iter_specs", "iter_targets", "parse_shard", "parse_spec",
]  # fmt: skip

# --- Constants ------------------------------------------------------------------------------

DEFAULT_PORT = 3389  # IANA "ms-wbt-server", the port RDP listens on by default
MAX_PORT = 65535
MAX_NAME_LENGTH = 253  # RFC 1035 2.3.4: 255 octets on the wire, 253 characters as text
MAX_LABEL_LENGTH = 63  # RFC 1035 2.3.4
OCTET_MAX = 255
OCTET_MASK = 0xFF
STDIN = "-"
COMMENT = "#"
ACTIVE_WINDOW = 256  # Specs interleaved at once when shuffling; also the local shuffle span.
_ANY_PORT = 0  # Port of an exclusion written without one: it applies to every port.

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_SEPARATORS = re.compile(r"[\s,]+")
_ADDRESS = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}


class TargetError(RdpProbeError):
    """A target spec, file or option that cannot be used; the message names where it came from."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class _Invalid(Exception):
    """Internal: what is wrong with a spec, before the source and spec text are attached."""


@dataclass(frozen=True, slots=True)
class TargetFile:
    """A file of specs (``-iL FILE``); the path ``-`` means standard input."""

    path: str


Source = str | TargetFile
"""An argument spec (``-`` alone means standard input) or a file of specs."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One parsed spec: a host name, or an inclusive interval of addresses of one family."""

    text: str
    port: int
    name: str | None = None
    """The host name, for a spec that is not an address; resolved later by the engine."""
    version: int = 0
    """4 or 6 for address specs, 0 for names."""
    first: int = 0
    last: int = 0

    @property
    def size(self) -> int:
        return 1 if self.name is not None else self.last - self.first + 1


# --- Parsing --------------------------------------------------------------------------------


def parse_spec(text: str, default_port: int = DEFAULT_PORT, where: str = "argv") -> TargetSpec:
    """Parse one spec; raise ``TargetError`` naming ``where`` and the spec on bad input."""
    spec = text.strip()
    if not spec:
        raise TargetError(where, "empty target")
    try:
        host, port, bracketed = _split_port(spec, default_port)
        parsed = _parse_host(spec, host, port)
        if bracketed and parsed.version != 6:
            raise _Invalid("brackets are only for ipv6 addresses")
    except _Invalid as exc:
        raise TargetError(where, f"{exc} in {spec!r}") from None
    return parsed


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (I counted from 0) as the ``(index, count)`` pair ``iter_targets`` takes."""
    index_text, sep, count_text = text.partition("/")
    if not (sep and _is_digits(index_text) and _is_digits(count_text)):
        raise TargetError("--shard", f"invalid shard {text!r}, expected I/N such as 0/4")
    return _check_shard((int(index_text), int(count_text)))


def _check_shard(shard: tuple[int, int]) -> tuple[int, int]:
    index, count = shard
    if count < 1:
        raise TargetError("--shard", f"invalid shard count {count}, must be at least 1")
    if not 0 <= index < count:
        raise TargetError("--shard", f"shard index {index} out of range 0..{count - 1}")
    return index, count


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _split_port(spec: str, default_port: int) -> tuple[str, int, bool]:
    if spec.startswith("["):
        inner, sep, rest = spec[1:].partition("]")
        if not sep:
            raise _Invalid("missing ']'")
        if rest and not rest.startswith(":"):
            raise _Invalid(f"unexpected {rest!r} after ']'")
        return inner, _parse_port(rest[1:]) if rest else default_port, True
    if spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        return host, _parse_port(port_text), False
    return spec, default_port, False


def _parse_port(text: str) -> int:
    if not _is_digits(text) or not 1 <= int(text) <= MAX_PORT:
        raise _Invalid(f"invalid port {text!r}")
    return int(text)


def _parse_host(spec: str, host: str, port: int) -> TargetSpec:
    if not host:
        raise _Invalid("empty host")
    if "/" in host:
        return _parse_network(spec, host, port)
    start, dash, end = host.partition("-")
    if dash and (first := _address_or_none(start)) is not None:
        return _parse_range(spec, first, end, port)
    address = _address_or_none(host)
    if address is not None:
        return TargetSpec(spec, port, None, address.version, int(address), int(address))
    return TargetSpec(spec, port, _check_name(host))


def _address_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_network(spec: str, host: str, port: int) -> TargetSpec:
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        raise _Invalid(f"invalid network {host!r}") from None
    first, last = int(network.network_address), int(network.broadcast_address)
    return TargetSpec(spec, port, None, network.version, first, last)


def _parse_range(
    spec: str, start: ipaddress.IPv4Address | ipaddress.IPv6Address, end: str, port: int
) -> TargetSpec:
    first = int(start)
    if start.version == 4 and _is_digits(end) and int(end) <= OCTET_MAX:
        last = (first & ~OCTET_MASK) | int(end)
    else:
        stop = _address_or_none(end)
        if stop is None:
            raise _Invalid(f"invalid range end {end!r}")
        if stop.version != start.version:
            raise _Invalid("range mixes ipv4 and ipv6")
        last = int(stop)
    if last < first:
        raise _Invalid(f"backwards range: end {_ADDRESS[start.version](last)} is before {start}")
    return TargetSpec(spec, port, None, start.version, first, last)


def _check_name(name: str) -> str:
    bad = _NAME_CHARS.search(name)
    if bad:
        raise _Invalid(f"illegal character {bad.group()!r} in host name")
    labels = name.removesuffix(".").split(".")
    if labels[-1].isdigit():
        raise _Invalid("invalid ip address")
    if len(name) > MAX_NAME_LENGTH:
        raise _Invalid(f"host name longer than {MAX_NAME_LENGTH} characters")
    for label in labels:
        if not 1 <= len(label) <= MAX_LABEL_LENGTH:
            raise _Invalid(f"host name label {label!r} is empty or over {MAX_LABEL_LENGTH} chars")
        if label.startswith("-") or label.endswith("-"):
            raise _Invalid(f"host name label {label!r} starts or ends with '-'")
    return name


# --- Sources --------------------------------------------------------------------------------


def iter_specs(sources: Iterable[Source], default_port: int = DEFAULT_PORT) -> Iterator[TargetSpec]:
    """Every spec of ``sources`` in input order, files and standard input read lazily."""
    for source in sources:
        if isinstance(source, TargetFile) and source.path != STDIN:
            yield from _file_specs(source.path, default_port)
        elif isinstance(source, TargetFile) or source == STDIN:
            yield from _stream_specs(sys.stdin, "<stdin>", default_port)
        else:
            yield parse_spec(source, default_port)


def _file_specs(path: str, default_port: int) -> Iterator[TargetSpec]:
    try:
        stream = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise TargetError(path, f"cannot read target file: {exc.strerror}") from exc
    with stream:
        yield from _stream_specs(stream, path, default_port)


def _stream_specs(lines: Iterable[str], name: str, default_port: int) -> Iterator[TargetSpec]:
    for number, line in enumerate(lines, 1):
        for token in _SEPARATORS.split(line.partition(COMMENT)[0]):
            if token:
                yield parse_spec(token, default_port, f"{name}:{number}")


def _is_stdin(source: Source) -> bool:
    return source == STDIN or (isinstance(source, TargetFile) and source.path == STDIN)



# --- Planning: what each spec still contributes ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """A spec with the addresses already covered or excluded cut away."""

    spec: TargetSpec
    spans: tuple[tuple[int, int], ...]
    offsets: tuple[int, ...]
    """``offsets[j]`` is the number of addresses in the spans before span ``j``."""
    size: int

    @classmethod
    def of(cls, spec: TargetSpec, spans: Spans) -> _Plan:
        sizes = [last - first + 1 for first, last in spans]
        offsets = tuple(itertools.accumulate(sizes, initial=0))
        return cls(spec, tuple(spans), offsets[:-1], offsets[-1])

    def target_at(self, index: int) -> Target:
        if self.spec.name is not None:
            return Target(self.spec.name, self.spec.port, None)
        span = bisect_right(self.offsets, index) - 1
        address = str(_ADDRESS[self.spec.version](self.spans[span][0] + index - self.offsets[span]))
        return Target(address, self.spec.port, address)


@dataclass(frozen=True, slots=True)
class _Exclusions:
    """Excluded addresses keyed by (version, port), names keyed by (name, port); port 0 = any."""

    addresses: dict[tuple[int, int], Intervals]
    names: frozenset[tuple[str, int]]


def _build_exclusions(sources: Iterable[Source]) -> _Exclusions:
    addresses: dict[tuple[int, int], Intervals] = {}
    names: set[tuple[str, int]] = set()
    for spec in iter_specs(sources, _ANY_PORT):
        if spec.name is not None:
            names.add((_name_key(spec.name), spec.port))
        else:
            addresses.setdefault((spec.version, spec.port), Intervals()).add(spec.first, spec.last)
    return _Exclusions(addresses, frozenset(names))


def _name_key(name: str) -> str:
    return name.lower().removesuffix(".")


class _Planner:
    """Turns specs, in input order, into plans; remembers what earlier specs covered."""

    def __init__(self, exclusions: _Exclusions, dedupe: bool) -> None:
        self._exclusions = exclusions
        self._dedupe = dedupe
        self._ranges: dict[tuple[int, int], Intervals] = {}
        self._hosts: dict[tuple[int, int], Points] = {}
        self._names: set[tuple[str, int]] = set()

    def plan(self, spec: TargetSpec) -> _Plan | None:
        """The plan for ``spec``, or None when nothing of it is left to probe."""
        if spec.name is not None:
            return self._plan_name(spec)
        key = (spec.version, spec.port)
        spans = self._uncovered(spec, key)
        if self._dedupe and spec.size == 1:
            self._hosts.setdefault(key, Points()).add(spec.first)
        elif self._dedupe:
            self._ranges.setdefault(key, Intervals()).add(spec.first, spec.last)
        return _Plan.of(spec, spans) if spans else None

    def _plan_name(self, spec: TargetSpec) -> _Plan | None:
        name = _name_key(spec.name or "")
        if {(name, _ANY_PORT), (name, spec.port)} & self._exclusions.names:
            return None
        if self._dedupe and (name, spec.port) in self._names:
            return None
        if self._dedupe:
            self._names.add((name, spec.port))
        return _Plan.of(spec, [(0, 0)])

    def _uncovered(self, spec: TargetSpec, key: tuple[int, int]) -> Spans:
        sets: list[Intervals | Points | None] = [
            self._exclusions.addresses.get((spec.version, _ANY_PORT)),
            self._exclusions.addresses.get(key),
            self._ranges.get(key) if self._dedupe else None,
            self._hosts.get(key) if self._dedupe else None,
        ]
        present = [covered for covered in sets if covered is not None]
        if spec.size == 1:  # A set lookup, so a file of many single hosts stays linear.
            hit = any(spec.first in covered for covered in present)
            return [] if hit else [(spec.first, spec.last)]
        spans = [(spec.first, spec.last)]
        for covered in present:
            spans = subtract(spans, covered.overlapping)
        return spans


def _plans(
    sources: Iterable[Source], exclusions: _Exclusions, dedupe: bool, default_port: int
) -> Iterator[_Plan]:
    planner = _Planner(exclusions, dedupe)
    for spec in iter_specs(sources, default_port):
        plan = planner.plan(spec)
        if plan is not None:
            yield plan


# --- Ordering and sharding ------------------------------------------------------------------


def _expand(plan: _Plan, seed: int | None, salt: int) -> Iterator[Target]:
    if seed is None or plan.size == 1:
        return map(plan.target_at, range(plan.size))
    order = Permutation.keyed(plan.size, seed, salt)
    return (plan.target_at(order(k)) for k in range(plan.size))


def _interleave(streams: Iterator[Iterator[Target]], seed: int) -> Iterator[Target]:
    """Pick the next target from a random one of up to ``ACTIVE_WINDOW`` open streams."""
    rng = SplitMix(seed)
    active = list(itertools.islice(streams, ACTIVE_WINDOW))
    while active:
        slot = rng.below(len(active))
        target = next(active[slot], None)
        if target is not None:
            yield target
            continue
        refill = next(streams, None)
        if refill is not None:
            active[slot] = refill
        else:
            active[slot] = active[-1]
            active.pop()


def iter_targets(
    sources: Iterable[Source],
    excludes: Iterable[Source] = (),
    shard: tuple[int, int] = (0, 1),
    seed: int | None = None,
    dedupe: bool = True,
    default_port: int = DEFAULT_PORT,
) -> Iterator[Target]:
    """Every target of ``sources`` minus ``excludes``, lazily, in a deterministic order.

    ``seed=None`` keeps input order; a seed permutes each range and interleaves specs. The
    k-th target of that order goes to shard ``index`` of ``(index, count)`` iff
    ``k % count == index``, so shards run with the same arguments partition the targets.
    Exclusions are read now; ``sources`` are read as the iterator is consumed, and a bad spec
    raises ``TargetError`` at that point.
    """
    index, count = _check_shard(shard)
    plans = _plans(sources, _build_exclusions(excludes), dedupe, default_port)
    ordered: Iterator[Target]
    if seed is None:
        ordered = itertools.chain.from_iterable(_expand(plan, None, 0) for plan in plans)
    else:
        streams = (_expand(plan, seed, salt) for salt, plan in enumerate(plans))
        ordered = _interleave(streams, seed)
    return itertools.islice(ordered, index, None, count)


def count_targets(
    sources: Collection[Source],
    excludes: Iterable[Source] = (),
    shard: tuple[int, int] = (0, 1),
    seed: int | None = None,
    dedupe: bool = True,
    default_port: int = DEFAULT_PORT,
) -> int | None:
    """How many targets ``iter_targets`` yields for these arguments, without enumerating them.

    Reads files but not standard input: None when a source is ``-``. A host name counts as
    one target. ``seed`` is accepted for symmetry; the count does not depend on it.
    """
    del seed
    index, count = _check_shard(shard)
    if any(_is_stdin(source) for source in sources):
        return None
    plans = _plans(sources, _build_exclusions(excludes), dedupe, default_port)
    total = sum(plan.size for plan in plans)
    return max(0, (total - index + count - 1) // count)
