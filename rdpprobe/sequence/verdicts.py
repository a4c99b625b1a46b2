"""From a probe's outcome to its verdict: the bridge between the prober and ``classify``."""

from __future__ import annotations

import dataclasses

from rdpprobe.classify import Detail, classify
from rdpprobe.result import Facts, Verdict
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Outcome

def classify_outcome(phase: Phase | None, outcome: Outcome, facts: Facts) -> Verdict:
    """The verdict for ``outcome`` observed in ``phase``, refined by what the probe learned."""
    detail = outcome.evidence
    if facts.legacy_no_negotiation and not detail.legacy_no_negotiation:
        detail = dataclasses.replace(detail, legacy_no_negotiation=True)
    if facts.credssp_version is not None and detail.credssp_version is None:
        detail = dataclasses.replace(detail, credssp_version=facts.credssp_version)
    return classify(phase, outcome.signal, detail)
