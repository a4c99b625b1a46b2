"""The quick fast path against the general prober: the same actions, timers and result for
any events and any server bytes, whether the result is built by the general prober or from a
template of an earlier probe."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rdpprobe.result import Target
from rdpprobe.sequence.config import ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import Prober
from rdpprobe.sequence.quick import MAX_TEMPLATES, QuickProber, QuickShapes
from rdpprobe.signals import Observed, Signal
from rdpprobe.wire import nego

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CONFIG = ProbeConfig(timeouts=Timeouts(connect=1.0, phase=2.0, overall=5.0), stop_after=Phase.CONNECTION_INITIATION)


def fixed_rng(n: int) -> bytes:
    return bytes(range(n))


def confirm(neg: nego.NegRsp | nego.NegFailure | None) -> bytes:
    return nego.encode_connection_confirm(nego.ConnectionConfirm(neg=neg))


REAL_CONFIRMS = [
    confirm(nego.NegRsp(selected_protocol=2, flags=0x1F)),  # Windows, NLA
    confirm(nego.NegRsp(selected_protocol=1, flags=0)),
    confirm(nego.NegRsp(selected_protocol=0, flags=0)),
    confirm(nego.NegFailure(failure_code=5)),
    confirm(nego.NegFailure(failure_code=2)),
    confirm(None),  # legacy, no negotiation data
]


@st.composite
def server_bytes(draw: st.DrawFn) -> bytes:
    """A real Connection Confirm, one with bytes changed, cut or extended, or any bytes."""
    kind = draw(st.sampled_from(["real", "edited", "cut", "extended", "any"]))
    if kind == "any":
        return draw(st.binary(max_size=64))
    data = bytearray(draw(st.sampled_from(REAL_CONFIRMS)))
    if kind == "edited":
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "cut":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif kind == "extended":
        data += draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


OBSERVED = [Observed(Signal.REFUSED, "refused"), Observed(Signal.RESET, "reset")]


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Driver calls, in an order a driver makes them or not, at times that may go back."""
    events: list[tuple[Any, ...]] = []
    common = draw(st.booleans())
    if common:
        events += [("resolved", "127.0.0.1"), ("connection_made",), ("receive_data", draw(server_bytes()))]
    for _ in range(draw(st.integers(0, 4 if common else 6))):
        events.append(draw(st.one_of(
            st.tuples(st.just("resolved"), st.sampled_from(["127.0.0.1", "::1"])),
            st.just(("connection_made",)),
            st.tuples(st.just("receive_data"), st.one_of(server_bytes(), st.just(b""))),
            st.tuples(st.just("failed"), st.sampled_from(OBSERVED)),
            st.just(("handle_timer",)),
        )))  # fmt: skip
    times = draw(st.lists(st.floats(0, 10, allow_nan=False), min_size=len(events), max_size=len(events)))
    return [(*event, when) for event, when in zip(events, times)]


def run(prober: Any, script: list[tuple[Any, ...]], timer_at: float | None = None) -> list[Any]:
    """Feed ``script``; every action, and the timer, after each call; then the result."""
    seen: list[Any] = [prober.get_timer()]
    for name, *args in script:
        if name == "handle_timer":
            timer = prober.get_timer()
            args = [args[-1] if timer is None else max(timer, args[-1])]
        try:
            getattr(prober, name)(*args)
        except Exception as exc:  # noqa: BLE001 - a call out of order: both must refuse it alike
            seen.append(("raised", type(exc), str(exc)))
            return seen
        while (action := prober.next_action()) is not None:
            seen.append(action)
        seen.append(("timer", prober.get_timer(), prober.finished))
    if prober.finished:
        seen.append(prober.result)
    return seen


def both(shapes: QuickShapes, script: list[tuple[Any, ...]], target: Target, offset: float) -> tuple[list[Any], list[Any]]:
    shifted = [(*event[:-1], event[-1] + offset) for event in script]
    started = START + timedelta(seconds=offset)
    quick = QuickProber(shapes, target, now=offset, started_at=started, rng=fixed_rng, deadline_at=offset + 4.0)
    general = Prober(target, CONFIG, now=offset, started_at=started, rng=fixed_rng, deadline_at=offset + 4.0)
    return run(quick, shifted), run(general, shifted)


@settings(max_examples=400, deadline=None)
@given(scripts(), st.floats(0, 1000, allow_nan=False), st.sampled_from(["server", "10.0.0.1"]))
def test_the_fast_path_agrees_with_the_general_prober(script: list[tuple[Any, ...]], offset: float, host: str) -> None:
    shapes = QuickShapes.for_config(CONFIG)
    assert shapes is not None
    fast, general = both(shapes, script, Target("server", 3389), 0.0)
    assert fast == general
    # The same server bytes again, for another target at other times: from a template now.
    fast, general = both(shapes, script, Target(host, 3390), offset)
    assert fast == general


def test_a_common_confirm_is_answered_from_a_template() -> None:
    shapes = QuickShapes.for_config(CONFIG)
    assert shapes is not None
    script = [("resolved", "127.0.0.1", 0.1), ("connection_made", 0.2), ("receive_data", REAL_CONFIRMS[0], 0.3)]
    first, _ = both(shapes, script, Target("a", 1), 0.0)
    assert list(shapes.templates) == [REAL_CONFIRMS[0]]
    second, general = both(shapes, script, Target("b", 2), 5.0)
    assert second == general and second[-1].facts.selected_protocol == "HYBRID"
    assert second[-1].facts is first[-1].facts  # built from the template, not decoded again


def test_templates_are_bounded() -> None:
    shapes = QuickShapes.for_config(CONFIG)
    assert shapes is not None
    for n in range(MAX_TEMPLATES + 10):
        frame = confirm(nego.NegRsp(selected_protocol=1, flags=n & 0xFF)) + bytes([n >> 8])
        both(shapes, [("resolved", "127.0.0.1", 0.0), ("connection_made", 0.0), ("receive_data", frame, 0.0)], Target("a", 1), 0.0)
    assert len(shapes.templates) == MAX_TEMPLATES


def test_configs_the_fast_path_does_not_take() -> None:
    assert QuickShapes.for_config(ProbeConfig(stop_after=Phase.TLS)) is None
    assert QuickShapes.for_config(ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, enumerate_protocols=True)) is None
    assert QuickShapes.for_config(ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, trace=True)) is None
    assert QuickShapes.for_config(ProbeConfig(stop_after=Phase.CONNECTION_INITIATION, cookie="é")) is None
