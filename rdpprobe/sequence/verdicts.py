"""From a probe's outcome to its verdict: the bridge between the prober and ``classify``."""

from __future__ import annotations

import dataclasses

from rdpprobe.classify import Detail, classify
from rdpprobe.result import Facts, Verdict
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.state import Outcome

_DETAIL_FIELDS = frozenset(f.name for f in dataclasses.fields(Detail))


def classify_outcome(phase: Phase | None, outcome: Outcome, facts: Facts) -> Verdict:
    """The verdict for ``outcome`` observed in ``phase``, refined by what the probe learned."""
    refinements = {k: v for k, v in outcome.extra.items() if k in _DETAIL_FIELDS and v is not None}
    if facts.legacy_no_negotiation:
        refinements["legacy_no_negotiation"] = True
    if facts.credssp_version is not None:
        refinements.setdefault("credssp_version", facts.credssp_version)
    return classify(phase, outcome.signal, Detail(**refinements))
