"""From a probe's outcome to its verdict: the bridge between the prober and ``classify``."""

from __future__ import annotations

import dataclasses

from rdpprobe.classify import Detail, classify
from rdpprobe.result import Facts, Verdict
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Outcome
from rdpprobe.signals import Signal

def classify_outcome(phase: Phase | None, outcome: Outcome, facts: Facts, port: int) -> Verdict:
    """The verdict for ``outcome`` observed in ``phase`` on ``port``, refined by what the
    probe learned (the protocols a refused request offered, the server's CredSSP version)."""
    detail = outcome.evidence
    if facts.legacy_no_negotiation and not detail.legacy_no_negotiation:
        detail = dataclasses.replace(detail, legacy_no_negotiation=True)
    if facts.credssp_version is not None and detail.credssp_version is None:
        detail = dataclasses.replace(detail, credssp_version=facts.credssp_version)
    if outcome.signal is Signal.NEG_FAILURE and facts.requested_protocols is not None:
        detail = dataclasses.replace(detail, requested_protocols=facts.requested_protocols)
    return classify(phase, outcome.signal, detail, port)
