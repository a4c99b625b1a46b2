"""The connection plan: enumeration, reuse of an enumerated connection, negotiation fallback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from rdpprobe.classify import classify
from rdpprobe.errors import ProbeUsageError
from rdpprobe.result import Facts, ProbeResult, Target
from rdpprobe.scan import depth_config
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.plan import ENUMERATION, HYBRID, Plan, out_of_time, plan
from rdpprobe.signals import Signal
from rdpprobe.wire.nego import FailureCode, SecurityProtocol

#: What the fake server accepts, by requestedProtocols: the protocol it selects.
WINDOWS_SELECTS = {0: "RDP", 0x1: "SSL", HYBRID: "HYBRID", 0xB: "HYBRID_EX"}


def _answer(config: ProbeConfig, selects: dict[int, str]) -> ProbeResult:
    """The result a server that selects as ``selects`` says would give ``config``."""
    phase = Phase.CONNECTION_INITIATION
    selected = selects.get(config.requested_protocols)
    if selected is None:
        facts = Facts(neg_failure_code=int(FailureCode.SSL_NOT_ALLOWED_BY_SERVER))
        signal, failed = Signal.NEG_FAILURE, phase
    else:
        facts = Facts(selected_protocol=selected)
        signal, failed = Signal.OK, None
    return ProbeResult(
        target=Target("192.0.2.1", 3389), started_at=datetime.now(UTC), phase_reached=phase,
        failed_phase=failed, signal=signal, detail=None, verdict=classify(phase, signal), facts=facts,
    )  # fmt: skip


def _walk(config: ProbeConfig, selects: dict[int, str]) -> tuple[list[ProbeConfig], ProbeResult]:
    """Every connection the plan asks for, and its final result."""
    steps = plan(config)
    asked = [next(steps)]
    try:
        while len(asked) < 20:
            asked.append(steps.send(_answer(asked[-1], selects)))
    except StopIteration as done:
        return asked, done.value
    raise AssertionError("the plan did not end")


def test_quick_enumeration_reuses_the_matching_connection() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    asked, result = _walk(config, WINDOWS_SELECTS)
    assert [c.requested_protocols for c in asked] == [value for _, value in ENUMERATION]
    assert result.facts.selected_protocol == "HYBRID_EX"
    assert result.facts.accepted_protocols == ("RDP", "SSL", "HYBRID", "HYBRID_EX")
    assert result.facts.nla_required is False


def test_deeper_enumeration_still_makes_the_probe_itself() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "nla")
    asked, _ = _walk(config, WINDOWS_SELECTS)
    assert len(asked) == len(ENUMERATION) + 1
    assert asked[-1] == config


def test_enumeration_without_a_matching_request_makes_the_probe_itself() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True, requested_protocols=0x2), "quick")
    asked, result = _walk(config, {**WINDOWS_SELECTS, 0x2: "HYBRID"})
    assert len(asked) == len(ENUMERATION) + 1
    assert result.facts.selected_protocol == "HYBRID"


def test_nla_only_server_is_reported_as_requiring_nla() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    _, result = _walk(config, {HYBRID: "HYBRID", 0xB: "HYBRID_EX"})
    assert result.facts.accepted_protocols == ("HYBRID", "HYBRID_EX")
    assert result.facts.nla_required is True


def test_refusal_is_followed_with_what_the_server_asked_for() -> None:
    config = depth_config(ProbeConfig(), "quick")
    asked, result = _walk(config, {int(SecurityProtocol.RDP): "RDP"})
    assert [c.requested_protocols for c in asked] == [config.requested_protocols, 0]
    assert result.facts.selected_protocol == "RDP"
    assert result.facts.neg_failure_code == FailureCode.SSL_NOT_ALLOWED_BY_SERVER
    assert [a.taxonomy_id for a in result.advisories] == ["N2"]


def test_a_host_that_never_answers_ends_enumeration_at_once() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    steps = plan(config)
    first = next(steps)
    silent = dataclasses.replace(_answer(first, {}), signal=Signal.SILENT, facts=Facts())
    try:
        steps.send(silent)
    except StopIteration as done:
        assert done.value.signal is Signal.SILENT
    else:
        raise AssertionError("enumeration went on after a silent host")


def test_a_probe_that_stops_before_negotiation_is_not_replaced_by_an_enumerated_one() -> None:
    config = ProbeConfig(enumerate_protocols=True, stop_after=Phase.TCP_CONNECT)
    asked, _ = _walk(config, WINDOWS_SELECTS)
    assert asked[-1] == config
    assert len(asked) == len(ENUMERATION) + 1


def _answered(steps: Plan, count: int, selects: dict[int, str]) -> ProbeConfig:
    """Answer the plan's first ``count`` connections; the config of the one after them."""
    step = next(steps)
    for _ in range(count):
        step = steps.send(_answer(step, selects))
    return step


def test_a_deadline_passing_mid_enumeration_ends_the_probe_with_the_deadline() -> None:
    steps = plan(depth_config(ProbeConfig(enumerate_protocols=True), "nla"))
    _answered(steps, 2, WINDOWS_SELECTS)
    result = out_of_time(steps)
    assert (result.signal, result.phase_reached, result.failed_phase) == (
        Signal.SILENT, Phase.CONNECTION_INITIATION, Phase.CONNECTION_INITIATION
    )
    assert result.detail is not None and "passed before the probe's next connection" in result.detail
    assert result.verdict == classify(Phase.CONNECTION_INITIATION, Signal.SILENT)
    assert result.facts.selected_protocol == "SSL"  # What the last connection learned stays.
    assert result.facts.accepted_protocols is None  # Two of six answers are not the set.


def test_a_deadline_passing_after_enumeration_keeps_the_accepted_protocols() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "nla")
    steps = plan(config)
    assert _answered(steps, len(ENUMERATION), WINDOWS_SELECTS) == config
    result = out_of_time(steps)
    assert result.signal is Signal.SILENT
    assert result.facts.accepted_protocols == ("RDP", "SSL", "HYBRID", "HYBRID_EX")


def test_a_refusal_stands_when_the_deadline_passes_before_the_retry() -> None:
    steps = plan(depth_config(ProbeConfig(), "quick"))
    _answered(steps, 1, {int(SecurityProtocol.RDP): "RDP"})
    result = out_of_time(steps)
    assert result.signal is Signal.NEG_FAILURE
    assert result.facts.neg_failure_code == FailureCode.SSL_NOT_ALLOWED_BY_SERVER


def test_the_first_connection_cannot_be_skipped() -> None:
    steps = plan(ProbeConfig())
    next(steps)
    with pytest.raises(ProbeUsageError):
        out_of_time(steps)


def _walk_with(config: ProbeConfig, selects: dict[int, str], unanswered: set[int]) -> ProbeResult:
    """As ``_walk``, where the connections offering ``unanswered`` are reset after the CR."""
    steps = plan(config)
    step = next(steps)
    for _ in range(20):
        answer = _answer(step, selects)
        if step.requested_protocols in unanswered:
            answer = dataclasses.replace(answer, signal=Signal.RESET, facts=Facts())
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
    raise AssertionError("the plan did not end")


def test_a_server_that_resets_every_connection_has_unknown_protocol_facts() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    result = _walk_with(config, WINDOWS_SELECTS, {value for _, value in ENUMERATION})
    assert result.facts.nla_required is None
    assert result.facts.accepted_protocols is None
    assert result.facts.refused_protocols is None
    assert result.facts.unanswered_protocols == tuple(name for name, _ in ENUMERATION)


def test_a_protocol_without_credssp_that_got_no_answer_leaves_nla_unknown() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    result = _walk_with(config, {HYBRID: "HYBRID", 0xB: "HYBRID_EX"}, {int(SecurityProtocol.RDP)})
    assert result.facts.accepted_protocols == ("HYBRID", "HYBRID_EX")
    assert result.facts.refused_protocols == ("SSL", "RDSTLS", "RDSAAD")
    assert result.facts.unanswered_protocols == ("RDP",)
    assert result.facts.nla_required is None  # RDP might have been accepted: unknown.


def test_an_accepted_protocol_without_credssp_says_nla_is_not_required_whatever_else() -> None:
    config = depth_config(ProbeConfig(enumerate_protocols=True), "quick")
    result = _walk_with(config, WINDOWS_SELECTS, {0x1})
    assert result.facts.unanswered_protocols == ("SSL",)
    assert result.facts.nla_required is False


# ---- possible downgrade (issue 17 defect 5): only from what earlier connections showed ---------


def _walk_changing(config: ProbeConfig, first: dict[int, str], later: dict[int, str],
                   switch_after: int) -> ProbeResult:
    """A server that selects as ``first`` for its first ``switch_after`` connections, then as
    ``later``: what a rewritten Connection Confirm looks like from the client."""
    steps = plan(config)
    asked = [next(steps)]
    try:
        while len(asked) < 20:
            selects = first if len(asked) <= switch_after else later
            asked.append(steps.send(_answer(asked[-1], selects)))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("the plan did not end")


NLA_ONLY = {HYBRID: "HYBRID", 0xB: "HYBRID_EX"}
DOWNGRADED = {0x1: "SSL", HYBRID: "SSL", 0xB: "SSL"}


def test_enumeration_then_a_weaker_selection_is_a_possible_downgrade() -> None:
    config = ProbeConfig(enumerate_protocols=True)
    result = _walk_changing(config, NLA_ONLY, DOWNGRADED, switch_after=len(ENUMERATION))
    assert result.facts.selected_protocol == "SSL"
    assert result.facts.possible_downgrade is not None
    assert "HYBRID_EX" in result.facts.possible_downgrade and "SSL" in result.facts.possible_downgrade
    assert any(v.category == "possible_downgrade" for v in result.advisories)


def test_hybrid_required_then_ssl_selected_is_a_possible_downgrade() -> None:
    refuses = {}  # Every request refused with HYBRID_REQUIRED_BY_SERVER (see _answer's default).
    config = ProbeConfig(requested_protocols=int(SecurityProtocol.SSL))
    steps = plan(config)
    first = next(steps)
    refused = dataclasses.replace(_answer(first, refuses),
                                  facts=Facts(neg_failure_code=int(FailureCode.HYBRID_REQUIRED_BY_SERVER)))
    retry = steps.send(refused)
    assert retry.requested_protocols == HYBRID
    try:
        steps.send(_answer(retry, DOWNGRADED))
    except StopIteration as done:
        result = done.value
    assert result.facts.possible_downgrade == (
        "the server answered an earlier connection with HYBRID_REQUIRED_BY_SERVER, then selected SSL")


@pytest.mark.parametrize("selects", [WINDOWS_SELECTS, DOWNGRADED, NLA_ONLY])
def test_a_consistent_server_is_never_a_possible_downgrade(selects: dict[int, str]) -> None:
    """Selecting SSL, even for a client that offered CredSSP, is no evidence on its own."""
    for config in (ProbeConfig(), ProbeConfig(enumerate_protocols=True)):
        _, result = _walk(config, selects)
        assert result.facts.possible_downgrade is None
        assert not any(v.category == "possible_downgrade" for v in result.advisories)


def test_a_recovered_ssl_required_is_explained_from_the_refused_request() -> None:
    """The advisory for a refusal the probe recovered from words what the refused request
    offered, not what the retry offered ([MS-RDPBCGR] 2.2.1.2.2 SSL_REQUIRED_BY_SERVER)."""
    from rdpprobe.wire.codes import flag_names

    def answer(config: ProbeConfig) -> ProbeResult:
        plain = _answer(config, {int(SecurityProtocol.SSL): "SSL"})
        requested = flag_names(SecurityProtocol, config.requested_protocols) or ("RDP",)
        code = None if plain.signal is Signal.OK else int(FailureCode.SSL_REQUIRED_BY_SERVER)
        facts = dataclasses.replace(plain.facts, requested_protocols=requested, neg_failure_code=code)
        return dataclasses.replace(plain, facts=facts)

    config = depth_config(ProbeConfig(), "quick")
    steps = plan(config)
    step = next(steps)
    first = answer(step)
    retry = steps.send(first)
    assert retry.requested_protocols == SecurityProtocol.SSL
    try:
        steps.send(answer(retry))
    except StopIteration as done:
        result = done.value
    else:
        raise AssertionError("the plan did not end")
    assert result.facts.neg_failure_requested == first.facts.requested_protocols
    assert result.facts.requested_protocols == ("SSL",)
    (n1,) = [a for a in result.advisories if a.taxonomy_id == "N1"]
    assert "although the client offered it" in n1.summary

def test_results_that_share_facts_are_graded_once_and_alike() -> None:
    """Advisories and findings are remembered per ``Facts`` object and day: the same facts
    on the same day give the same grading, another day is graded again (end of support)."""
    from datetime import datetime, timezone

    from rdpprobe.classify import advisories
    from rdpprobe.findings import findings
    from rdpprobe.result import Facts
    from rdpprobe.sequence import plan as plan_module

    facts = Facts(selected_protocol="RDP", legacy_no_negotiation=True, requested_protocols=("SSL",))
    day_one = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = plan_module._grade(facts, day_one, 3389)
    assert first == (advisories(facts, 3389), findings(facts, day_one))
    assert plan_module._grade(facts, day_one.replace(hour=5), 3389)[1] is first[1]
    much_later = datetime(2040, 1, 1, tzinfo=timezone.utc)
    assert plan_module._grade(facts, day_one, 443) == (advisories(facts, 443), findings(facts, day_one))
    assert plan_module._grade(facts, day_one, 443)[1] is first[1]  # findings do not depend on the port
    assert plan_module._grade(facts, much_later, 3389) == (advisories(facts, 3389), findings(facts, much_later))
    for n in range(plan_module.GRADED_CACHE_SIZE + 5):
        plan_module._grade(Facts(selected_protocol="SSL", neg_flags=n), day_one, 3389)
    assert len(plan_module._graded) <= plan_module.GRADED_CACHE_SIZE
