"""Targets in: specs expanded lazily into ``Target`` values, de-duplicated, shuffled, sharded.

Rules of this module:
- nothing here touches the network: host names stay names and the engine resolves them later;
- nothing is materialised per address: a range is an interval of integers and a keyed
  permutation picks its members one at a time, so a /8 costs the memory of a /32;
- the order is deterministic for a given input and seed, which is what makes sharding exact:
  the k-th target of that order belongs to shard ``k % n``;
- de-duplication follows input order: an address is dropped when an *earlier* spec already
  covered it on the same port, whatever order the targets are then emitted in.

The spec grammar lives in ``rdpprobe.specs``; its public names are re-exported here.

Limits, by design:
- individual addresses are remembered in a set and ranges as merged intervals, so memory
  grows with the number of specs (and exclusions) times the ports each stands for, never
  with the number of addresses in a range;
- a range that follows many individual hosts has those hosts cut out of it, one hole each;
- with a seed, ranges are permuted whole, but interleaving only mixes the ``ACTIVE_WINDOW``
  specs open at once: a file of a million single hosts is shuffled locally, not globally,
  and up to ``ACTIVE_WINDOW`` specs are parsed ahead of the targets being emitted;
- a name and the address it resolves to are different targets (no lookups here); the engine
  should check a resolved address against ``Exclusions.covers``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from rdpprobe.addresses import non_unicast_spans
from rdpprobe.intervals import Intervals, Permutation, Points, Spans, SplitMix, subtract
from rdpprobe.result import Target
from rdpprobe.specs import (
    ADDRESS_TYPES,
    DEFAULT_PORT,
    STDIN,
    Source,
    TargetError,
    TargetFile,
    TargetSpec,
    is_digits,
    is_port,
    is_stdin,
    iter_specs,
    parse_ports,
    parse_spec,
)

__all__ = [
    "ACTIVE_WINDOW", "DEFAULT_PORT", "STDIN", "Exclusions", "LeftOut", "Source", "Target",
    "TargetError", "TargetFile", "TargetSpec", "count_targets", "iter_specs", "iter_targets",
    "parse_ports", "parse_shard", "parse_spec",
]  # fmt: skip

ACTIVE_WINDOW = 256  # Specs interleaved at once when shuffling; also the local shuffle span.
_ANY_PORT = 0  # Port of a spec written without one: an exclusion for every port, a target for each.


# --- Sharding -------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (I counted from 0) as the ``(index, count)`` pair ``iter_targets`` takes."""
    index_text, sep, count_text = text.partition("/")
    if not (sep and is_digits(index_text) and is_digits(count_text)):
        raise TargetError("--shard", f"invalid shard {text!r}, expected I/N such as 0/4")
    return _check_shard((int(index_text), int(count_text)))


def _check_shard(shard: tuple[int, int]) -> tuple[int, int]:
    index, count = shard
    if count < 1:
        raise TargetError("--shard", f"invalid shard count {count}, must be at least 1")
    if not 0 <= index < count:
        raise TargetError("--shard", f"shard index {index} out of range 0..{count - 1}")
    return index, count


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
        value = self.spans[span][0] + index - self.offsets[span]
        address = str(ADDRESS_TYPES[self.spec.version](value))
        return Target(address, self.spec.port, address)


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Excluded addresses keyed by (version, port), names keyed by (name, port); port 0 = any.

    ``iter_targets`` applies them to what the user typed; the engine should also ask
    ``covers`` about the address a name resolved to, since no lookups happen here.
    """

    addresses: dict[tuple[int, int], Intervals]
    names: frozenset[tuple[str, int]]

    @classmethod
    def from_sources(cls, sources: Iterable[Source]) -> Exclusions:
        """Read every exclusion now (argument specs, files, ``-``); errors name the line."""
        addresses: dict[tuple[int, int], Intervals] = {}
        names: set[tuple[str, int]] = set()
        for spec in iter_specs(sources, _ANY_PORT):
            if spec.name is not None:
                names.add((name_key(spec.name), spec.port))
            else:
                key = (spec.version, spec.port)
                addresses.setdefault(key, Intervals()).add(spec.first, spec.last)
        return cls(addresses, frozenset(names))

    def covering(self, version: int, port: int) -> list[Intervals]:
        """The interval sets that exclude addresses of ``version`` on ``port``."""
        keys = ((version, _ANY_PORT), (version, port))
        return [self.addresses[key] for key in keys if key in self.addresses]

    def covers(self, address: str, port: int) -> bool:
        """Whether ``address`` (an IP literal) on ``port`` is excluded."""
        parsed = ipaddress.ip_address(address)
        return any(int(parsed) in covered for covered in self.covering(parsed.version, port))

    def covers_name(self, name: str, port: int) -> bool:
        key = name_key(name)
        return bool({(key, _ANY_PORT), (key, port)} & self.names)


def _intervals(spans: Iterable[tuple[int, int]]) -> Intervals:
    out = Intervals()
    for first, last in spans:
        out.add(first, last)
    return out


#: ``addresses.NON_UNICAST_NETWORKS`` by IP version, as the planner cuts them out.
_NON_UNICAST = {version: _intervals(non_unicast_spans(version)) for version in ADDRESS_TYPES}


@dataclass(slots=True)
class LeftOut:
    """What the planner was given and left out, counted over the whole target set, before
    sharding; each target left out is counted once, under the first reason that applies.

    A scan reads its input in a thread of its own: the counts are final once the targets
    have all been read."""

    non_unicast: int = 0
    """Addresses no host has (``addresses.NON_UNICAST_NETWORKS``), unless they are kept."""
    given: int = 0
    """Targets the specs stand for (a host name is one), each port on its own."""
    excluded: int = 0
    """Targets an exclusion covered."""
    repeated: int = 0
    """Targets an earlier spec already gave (probed once)."""

    @property
    def kept(self) -> int:
        """The targets left to probe, before sharding."""
        return self.given - self.excluded - self.repeated - self.non_unicast


def name_key(name: str) -> str:
    """A host name as targets are compared: without case or final dot."""
    return name.lower().removesuffix(".")


class _Planner:
    """Turns specs, in input order, into plans; remembers what earlier specs covered."""

    def __init__(self, exclusions: Exclusions, dedupe: bool, left_out: LeftOut, cut_non_unicast: bool) -> None:
        self._exclusions = exclusions
        self._dedupe = dedupe
        self._left_out = left_out
        self._cut_out_non_unicast = cut_non_unicast
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
        name = name_key(spec.name or "")
        left_out = self._left_out
        left_out.given += 1
        if self._exclusions.covers_name(name, spec.port):
            left_out.excluded += 1
            return None
        if self._dedupe and (name, spec.port) in self._names:
            left_out.repeated += 1
            return None
        if self._dedupe:
            self._names.add((name, spec.port))
        return _Plan.of(spec, [(0, 0)])

    def _uncovered(self, spec: TargetSpec, key: tuple[int, int]) -> Spans:
        left_out = self._left_out
        left_out.given += spec.size
        spans = _cut(spec, [(spec.first, spec.last)], self._exclusions.covering(*key))
        left_out.excluded += spec.size - _span_size(spans)
        if self._dedupe and spans:
            before = _span_size(spans)
            seen = [s for s in (self._ranges.get(key), self._hosts.get(key)) if s is not None]
            spans = _cut(spec, spans, seen)
            left_out.repeated += before - _span_size(spans)
        return self._cut_non_unicast(spec.version, spans)

    def _cut_non_unicast(self, version: int, spans: Spans) -> Spans:
        """``spans`` without the addresses no host has, counted; done last, so the count
        holds only addresses that nothing else left out."""
        left_out = self._left_out
        if not self._cut_out_non_unicast or not spans:
            return spans
        non_unicast = _NON_UNICAST[version]
        first, last = spans[0]
        if first == last and len(spans) == 1:  # One host: a bisect, not a subtraction.
            if first not in non_unicast:
                return spans
            left_out.non_unicast += 1
            return []
        kept = subtract(spans, non_unicast.overlapping)
        left_out.non_unicast += _span_size(spans) - _span_size(kept)
        return kept


def _span_size(spans: Spans) -> int:
    return sum(last - first + 1 for first, last in spans)


def _cut(spec: TargetSpec, spans: Spans, covering: Sequence[Intervals | Points]) -> Spans:
    """``spans`` (of ``spec``) less what ``covering`` holds."""
    if not covering:
        return spans
    if spec.size == 1:  # A set lookup, so a file of many single hosts stays linear.
        return [] if any(spec.first in covered for covered in covering) else spans
    for covered in covering:
        spans = subtract(spans, covered.overlapping)
    return spans


def _plans(
    sources: Iterable[Source],
    exclusions: Exclusions,
    dedupe: bool,
    ports: Sequence[int],
    left_out: LeftOut | None,
    keep_non_unicast: bool,
) -> Iterator[_Plan]:
    """A plan per spec and port: a spec written without a port is one spec for each of ``ports``."""
    planner = _Planner(exclusions, dedupe, left_out if left_out is not None else LeftOut(), not keep_non_unicast)
    if len(ports) == 1:
        specs = iter_specs(sources, ports[0])
    else:
        specs = _per_port(iter_specs(sources, _ANY_PORT), ports)
    for spec in specs:
        plan = planner.plan(spec)
        if plan is not None:
            yield plan


def _per_port(specs: Iterable[TargetSpec], ports: Sequence[int]) -> Iterator[TargetSpec]:
    for spec in specs:
        if spec.port != _ANY_PORT:
            yield spec
        else:
            yield from (dataclasses.replace(spec, port=port) for port in ports)


def check_ports(ports: Sequence[int], where: str = "--port") -> Sequence[int]:
    """``ports`` when it holds at least one port and nothing else; ``TargetError`` naming
    ``where`` (the option as its caller spells it) otherwise."""
    if not ports:
        raise TargetError(where, "at least one port is needed")
    bad = next((port for port in ports if not is_port(port)), None)
    if bad is not None:
        raise TargetError(where, f"invalid port {bad!r}")
    return ports


def _exclusions(excludes: Iterable[Source] | Exclusions) -> Exclusions:
    return excludes if isinstance(excludes, Exclusions) else Exclusions.from_sources(excludes)


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
    excludes: Iterable[Source] | Exclusions = (),
    shard: tuple[int, int] = (0, 1),
    seed: int | None = None,
    dedupe: bool = True,
    ports: Sequence[int] = (DEFAULT_PORT,),
    keep_non_unicast: bool = False,
    left_out: LeftOut | None = None,
) -> Iterator[Target]:
    """Every target of ``sources`` minus ``excludes``, lazily, in a deterministic order.

    ``seed=None`` keeps input order; a seed permutes each range and interleaves specs. The
    k-th target of that order goes to shard ``index`` of ``(index, count)`` iff
    ``k % count == index``, so shards run with the same arguments partition the targets.
    Exclusions are read now; ``sources`` are read as the iterator is consumed, and a bad spec
    raises ``TargetError`` at that point. A spec written without a port stands for one
    target per port of ``ports``, port after port. Addresses no host has are left out
    unless ``keep_non_unicast``; ``left_out`` counts the targets given and those left out
    (excluded, repeated, non-unicast) as the sources are read.
    """
    index, count = _check_shard(shard)
    plans = _plans(sources, _exclusions(excludes), dedupe, check_ports(ports), left_out, keep_non_unicast)
    ordered: Iterator[Target]
    if seed is None:
        ordered = itertools.chain.from_iterable(_expand(plan, None, 0) for plan in plans)
    else:
        streams = (_expand(plan, seed, salt) for salt, plan in enumerate(plans))
        ordered = _interleave(streams, seed)
    return itertools.islice(ordered, index, None, count)


def count_targets(
    sources: Collection[Source],
    excludes: Iterable[Source] | Exclusions = (),
    shard: tuple[int, int] = (0, 1),
    seed: int | None = None,
    dedupe: bool = True,
    ports: Sequence[int] = (DEFAULT_PORT,),
    keep_non_unicast: bool = False,
) -> int | None:
    """How many targets ``iter_targets`` yields for these arguments, without enumerating them.

    Reads files but not standard input: None when a source is ``-``. A host name counts as
    one target. ``seed`` is accepted for symmetry; the count does not depend on it.
    """
    del seed
    index, count = _check_shard(shard)
    if any(is_stdin(source) for source in sources):
        return None
    plans = _plans(sources, _exclusions(excludes), dedupe, check_ports(ports), None, keep_non_unicast)
    total = sum(plan.size for plan in plans)
    return max(0, (total - index + count - 1) // count)
