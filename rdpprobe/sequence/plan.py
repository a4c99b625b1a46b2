"""Which connections one probe makes: negotiation fallback and protocol enumeration.

Pure logic: a generator yields the config of the next connection and receives its result,
so the blocking and asyncio drivers share it. Like FreeRDP, a probe that is refused with
RDP_NEG_FAILURE reconnects offering what the server asked for ([MS-RDPBCGR] 2.2.1.2.2),
so the report can say "NLA required" or "Standard RDP Security only" precisely. With
enumeration it first connects once per protocol, as nmap's rdp-enum-encryption does. With
an audit (``config.audit``) it then yields one ``audit.Fanout``: independent chains of
connections for the driver to run at once, whose answers it receives as a tuple, in order.

All connections of a plan share the target's deadline. When it passes before the next
connection is made, a driver sends None in place of that connection's result (``out_of_time``
does it) and the plan returns at once: a refusal the probe itself received stands as its
answer; otherwise the result is the deadline's, in the phase the last connection reached,
with what that connection learned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from datetime import date, datetime

from rdpprobe.classify import advisories
from rdpprobe.errors import ProbeUsageError
from rdpprobe.findings import findings
from rdpprobe.result import Facts, Finding, ProbeResult, Verdict
from rdpprobe.sequence import audit
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Outcome
from rdpprobe.sequence.verdicts import classify_outcome
from rdpprobe.signals import Signal
from rdpprobe.wire.nego import FailureCode, SecurityProtocol

Step = ProbeConfig | audit.Fanout
"""What a plan asks for next: one connection, or an audit's chains of them."""
Answer = ProbeResult | tuple[object, ...] | None
"""What a driver sends back: the connection's result (None: not made, the deadline passed),
or the answers of a fan-out's chains in order."""
Plan = Generator[Step, Answer, ProbeResult]

SSL = int(SecurityProtocol.SSL)
HYBRID = int(SecurityProtocol.SSL | SecurityProtocol.HYBRID)
HYBRID_EX = int(SecurityProtocol.SSL | SecurityProtocol.HYBRID | SecurityProtocol.HYBRID_EX)
#: (name, requestedProtocols) per enumerated protocol; CredSSP is offered with TLS, as clients do.
ENUMERATION = (
    ("RDP", int(SecurityProtocol.RDP)),
    ("SSL", SSL),
    ("HYBRID", HYBRID),
    ("HYBRID_EX", HYBRID_EX),
    ("RDSTLS", int(SecurityProtocol.RDSTLS)),
    ("RDSAAD", int(SecurityProtocol.RDSAAD)),
)
CREDSSP_NAMES = frozenset({"HYBRID", "HYBRID_EX"})
#: Protocols that carry no CredSSP: a server that accepts either does not require NLA.
WITHOUT_CREDSSP = frozenset({"RDP", "SSL"})
#: How an enumeration connection ended, per protocol offered.
ACCEPTED, REFUSED, UNANSWERED = "accepted", "refused", "unanswered"
#: The protocols a server may select, weakest first: Standard RDP Security authenticates no
#: server (5.3), SSL only by its certificate (5.4.5.1), CredSSP by the key proof (5.4.5.2).
STRENGTH = {"RDP": 0, "SSL": 1, "HYBRID": 2, "HYBRID_EX": 3}
#: The protocol an RDP_NEG_FAILURE says the server requires ([MS-RDPBCGR] 2.2.1.2.2).
REQUIRED_BY_FAILURE = {
    int(FailureCode.SSL_REQUIRED_BY_SERVER): "SSL",
    int(FailureCode.HYBRID_REQUIRED_BY_SERVER): "HYBRID",
}


def fallback_request(failure_code: int, requested: int) -> int | None:
    """The requestedProtocols to retry with after RDP_NEG_FAILURE, or None (terminal)."""
    if failure_code == FailureCode.SSL_REQUIRED_BY_SERVER and requested != SSL:
        return SSL
    if failure_code == FailureCode.SSL_NOT_ALLOWED_BY_SERVER and requested != SecurityProtocol.RDP:
        return int(SecurityProtocol.RDP)
    if failure_code == FailureCode.HYBRID_REQUIRED_BY_SERVER and not requested & SecurityProtocol.HYBRID:
        return HYBRID
    return None


def plan(config: ProbeConfig) -> Plan:
    """Yield the config of each connection to make (or an audit's fan-out); return the final,
    merged result."""
    result = yield from _probe(config)
    fan = audit.fanout(config, result)
    if fan is None:
        return result
    answers = yield fan
    if answers is None:
        return result  # The deadline passed first: nothing was enumerated.
    if not isinstance(answers, tuple) or len(answers) != len(fan.chains):
        raise ProbeUsageError("an audit's fan-out needs one answer per chain")
    return _with_advisories(audit.with_audit(result, fan, answers))  # Findings from the audit's facts too.


def _result(answer: Answer) -> ProbeResult | None:
    """A connection's result from what a driver sent back; a fan-out's answers are no result."""
    if answer is None or isinstance(answer, ProbeResult):
        return answer
    raise ProbeUsageError("a connection's result was expected, not a fan-out's answers")


def _probe(config: ProbeConfig) -> Plan:
    """The probe itself: enumeration, the connection asked for, negotiation fallback."""
    answers: dict[str, str] | None = None
    result: ProbeResult | None = None
    last: ProbeResult | None = None
    if config.enumerate_protocols:
        answers = {}
        reusable = _reusable_step(config)
        for name, value in ENUMERATION:
            step = _enumeration_config(config, value)
            probe = _result((yield step))
            if probe is None:
                return _with_advisories(_deadline_passed(config, last))
            if _never_reached_rdp(probe):
                return _with_advisories(probe)
            answers[name] = _enumeration_answer(name, probe)
            if step == reusable:
                result = probe  # The final connection would repeat this one exactly.
            last = probe
    if result is None:
        result = _result((yield config))
        if result is None:
            return _with_protocol_facts(config, _deadline_passed(config, last), answers, compare=False)
    result = yield from _follow_negotiation(config, result)
    return _with_protocol_facts(config, result, answers)


def advance(steps: Plan, result: Answer) -> Step | ProbeResult:
    """Give ``steps`` the result of its last connection (None: not made, see the module
    docstring) or a fan-out's answers; the next step, or the plan's final result."""
    try:
        return steps.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def out_of_time(steps: Plan) -> ProbeResult:
    """End ``steps`` because the target's deadline passed before its next connection; the
    plan's final result (see the module docstring)."""
    after = advance(steps, None)
    if isinstance(after, ProbeResult):
        return after
    steps.close()
    raise ProbeUsageError("the connection plan went on after its deadline had passed")


def _deadline_passed(config: ProbeConfig, last: ProbeResult | None) -> ProbeResult:
    """The deadline's outcome in the phase ``last`` reached, keeping what it learned."""
    if last is None:
        raise ProbeUsageError("a probe's first connection is always made")
    detail = f"overall deadline of {config.timeouts.overall:g}s passed before the probe's next connection"
    phase = last.phase_reached
    outcome = Outcome(Signal.SILENT, failed=True, detail=detail)
    return dataclasses.replace(
        last, failed_phase=phase, signal=outcome.signal, detail=detail,
        verdict=classify_outcome(phase, outcome, last.facts, last.target.port),
    )  # fmt: skip


def _reusable_step(config: ProbeConfig) -> ProbeConfig | None:
    """The enumerated connection the probe itself would repeat, when it too stops at the
    Connection Confirm; None when the probe goes further."""
    if config.stop_after is not Phase.CONNECTION_INITIATION:
        return None
    return _enumeration_config(config, config.requested_protocols)


def _enumeration_config(config: ProbeConfig, requested: int) -> ProbeConfig:
    return dataclasses.replace(
        config,
        requested_protocols=requested,
        stop_after=Phase.CONNECTION_INITIATION,
        enumerate_protocols=False,
        credentials=None,
    )


#: Answers to a CR that say nothing RDP-like is listening: enumeration stops there.
NOT_AN_RDP_ANSWER = frozenset({Signal.NOT_RDP, Signal.SILENT, Signal.TIMEOUT, Signal.DECODE_ERROR})


def _never_reached_rdp(result: ProbeResult) -> bool:
    """True when the host is down or is not an RDP server; a refusal of one protocol is not."""
    reached = result.phase_reached
    if reached is None or reached < Phase.CONNECTION_INITIATION:
        return True
    return reached is Phase.CONNECTION_INITIATION and result.signal in NOT_AN_RDP_ANSWER


def _follow_negotiation(config: ProbeConfig, result: ProbeResult) -> Plan:
    code = result.facts.neg_failure_code
    if result.signal is not Signal.NEG_FAILURE or code is None or not config.follow_negotiation:
        return result
    retry = fallback_request(code, config.requested_protocols)
    if retry is None:
        return result
    second = _result((yield dataclasses.replace(config, requested_protocols=retry)))
    if second is None:
        return result  # The refusal answers the probe; the retry only refines it.
    refused = second if second.facts.neg_failure_code is not None else result
    facts = second.facts.update(neg_failure_code=refused.facts.neg_failure_code,
                                neg_failure_requested=refused.facts.requested_protocols)  # fmt: skip
    required = REQUIRED_BY_FAILURE.get(code)
    selected = facts.selected_protocol
    if required is not None and _weaker(selected, required):
        name = FailureCode(code).name
        facts = facts.update(possible_downgrade=(
            f"the server answered an earlier connection with {name}, then selected {selected}"))
    return dataclasses.replace(second, facts=facts)


def _enumeration_answer(name: str, probe: ProbeResult) -> str:
    """``ACCEPTED`` when the server selected ``name``; ``REFUSED`` when it answered with
    RDP_NEG_FAILURE or selected another protocol ([MS-RDPBCGR] 2.2.1.2.1, 2.2.1.2.2);
    ``UNANSWERED`` when the connection ended with no Connection Confirm (reset, closed)."""
    selected = probe.facts.selected_protocol
    if selected == name:
        return ACCEPTED
    if selected is not None or probe.facts.neg_failure_code is not None:
        return REFUSED
    return UNANSWERED


def _enumerated_facts(answers: dict[str, str]) -> dict[str, object]:
    """The protocol facts an enumeration observed; what got no answer stays unknown.

    NLA is required only when a CredSSP protocol was accepted and both protocols without
    it were refused; it is not required when either was accepted; otherwise it is unknown.
    """
    by_answer = {kind: tuple(n for n, a in answers.items() if a == kind)
                 for kind in (ACCEPTED, REFUSED, UNANSWERED)}  # fmt: skip
    accepted, refused = set(by_answer[ACCEPTED]), set(by_answer[REFUSED])
    answered = bool(accepted or refused)
    changes: dict[str, object] = {
        "accepted_protocols": by_answer[ACCEPTED] if answered else None,
        "refused_protocols": by_answer[REFUSED] if answered else None,
        "unanswered_protocols": by_answer[UNANSWERED],
    }
    if WITHOUT_CREDSSP & accepted:
        changes["nla_required"] = False
    elif CREDSSP_NAMES & accepted and WITHOUT_CREDSSP <= refused:
        changes["nla_required"] = True
    return changes


def _with_protocol_facts(config: ProbeConfig, result: ProbeResult, answers: dict[str, str] | None,
                         compare: bool = True) -> ProbeResult:
    """``result`` with what the enumeration found; ``compare``: ``result`` is the probe's own
    connection (made with ``config``), which may then be compared with the enumeration."""
    facts = result.facts
    changes = _enumerated_facts(answers) if answers is not None else {}
    nla = changes.get("nla_required", _nla_from_negotiation(facts))
    if nla is not None:
        changes["nla_required"] = nla
    if answers is not None and compare and facts.possible_downgrade is None:
        accepted = [name for name, answer in answers.items() if answer == ACCEPTED]
        downgrade = _downgrade_against_enumeration(config, result, accepted)
        if downgrade is not None:
            changes["possible_downgrade"] = downgrade
    return _with_advisories(result, facts.update(**changes) if changes else facts)


def _weaker(selected: str | None, than: str) -> bool:
    """``selected`` is a protocol of less strength than ``than`` (both in ``STRENGTH``)."""
    return selected in STRENGTH and than in STRENGTH and STRENGTH[selected] < STRENGTH[than]


def _downgrade_against_enumeration(config: ProbeConfig, result: ProbeResult, accepted: list[str]) -> str | None:
    """The enumeration saw the server select a stronger protocol that this connection also
    offered; a server picks the strongest it supports among those offered (3.3.5.3.1)."""
    selected = result.facts.selected_protocol
    offered = {name for name, value in ENUMERATION if value & config.requested_protocols == value and value}
    stronger = [name for name in accepted if name in offered and _weaker(selected, name)]
    if not stronger:
        return None
    best = max(stronger, key=STRENGTH.__getitem__)
    return (f"the server selected {best} when the probe enumerated it, then {selected} for a request "
            f"that offered {best} too")


def _nla_from_negotiation(facts: Facts) -> bool | None:
    """What the probe's own negotiation says of NLA: required when the server refused with
    HYBRID_REQUIRED_BY_SERVER, not required when it selected RDP or SSL; else unknown."""
    if facts.neg_failure_code == FailureCode.HYBRID_REQUIRED_BY_SERVER:
        return True
    if facts.selected_protocol in WITHOUT_CREDSSP:
        return False
    return None


#: Facts whose advisories and findings are remembered, by identity: results answered alike
#: share one ``Facts`` (``sequence.quick``), and grading them again gives the same answer.
GRADED_CACHE_SIZE = 64
_graded: dict[int, tuple[Facts, date, tuple[Finding, ...], int, tuple[Verdict, ...]]] = {}


def _grade(facts: Facts, started_at: datetime, port: int) -> tuple[tuple[Verdict, ...], tuple[Finding, ...]]:
    """``classify.advisories(facts, port)`` and ``findings(facts, started_at)``, remembered
    for the last ``GRADED_CACHE_SIZE`` distinct ``Facts`` objects (frozen): the findings
    with the day they were judged on, the advisories with the port (a scan of many ports
    grades one server's facts once, its advisories per port)."""
    day = started_at.date()
    kept = _graded.get(id(facts))
    if kept is None or kept[0] is not facts or kept[1] != day:
        kept = (facts, day, findings(facts, day), port, advisories(facts, port))
    elif kept[3] != port:
        kept = (facts, day, kept[2], port, advisories(facts, port))
    else:
        return kept[4], kept[2]
    if id(facts) not in _graded and len(_graded) >= GRADED_CACHE_SIZE:
        del _graded[next(iter(_graded))]
    _graded[id(facts)] = kept
    return kept[4], kept[2]


def _with_advisories(result: ProbeResult, facts: Facts | None = None) -> ProbeResult:
    """``result`` with ``facts``, the findings that did not stop the probe
    (``classify.advisories``) and the security findings (``rdpprobe.findings``)."""
    facts = result.facts if facts is None else facts
    found, graded = _grade(facts, result.started_at, result.target.port)
    if facts is result.facts and found == result.advisories and graded == result.findings:
        return result  # Most results: nothing to add, so no copy.
    return dataclasses.replace(result, facts=facts, advisories=found, findings=graded)
