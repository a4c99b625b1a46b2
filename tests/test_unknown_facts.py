"""What a probe could not observe is unknown, never a negative (defect: a listener that
resets every connection was reported as "NLA not required")."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rdpprobe import probe
from rdpprobe.output import CSV_COLUMNS, csv_row
from rdpprobe.render import render_result
from rdpprobe.result import ProbeResult
from rdpprobe.sequence.plan import ENUMERATION
from tests.transport.listeners import Behaviour, close_at_once, listener, reset_at_once

ALL_PROTOCOLS = tuple(name for name, _ in ENUMERATION)


def _report(result: ProbeResult) -> str:
    out = io.StringIO()
    render_result(Console(file=out, width=200, color_system=None), result)
    return out.getvalue()


@pytest.mark.parametrize("behaviour", [reset_at_once, close_at_once], ids=["reset", "close"])
def test_a_listener_that_never_answers_has_unknown_nla(behaviour: Behaviour) -> None:
    with listener(behaviour) as port:
        result = probe("127.0.0.1", port, enumerate=True, timeout=2, deadline=20)
    facts = result.facts
    assert facts.nla_required is None
    assert facts.accepted_protocols is None  # Nothing accepted was observed, nor refused.
    assert facts.refused_protocols is None
    assert facts.unanswered_protocols == ALL_PROTOCOLS
    body = result.to_dict()["facts"]
    assert "nla_required" not in body and "accepted_protocols" not in body
    row = dict(zip(CSV_COLUMNS, csv_row(result)))
    assert (row["nla_required"], row["accepted_protocols"]) == ("", "")
    assert "nla_required: unknown" in _report(result)
    assert not [f.id for f in result.findings if f.id == "nla-not-required"]


def test_an_nla_only_mock_server_still_requires_nla(rdp_mock_server: object) -> None:
    host, port = rdp_mock_server("windows-nla")  # type: ignore[operator]
    result = probe(host, port, enumerate=True, stop_after="connection_initiation", deadline=20)
    assert result.facts.accepted_protocols == ("HYBRID", "HYBRID_EX")
    assert result.facts.nla_required is True
    assert "nla_required: True" in _report(result)


def test_server_core_data_without_early_capability_flags_names_none() -> None:
    """[MS-RDPBCGR] 2.2.1.4.2: earlyCapabilityFlags is optional; absent is not "none set"."""
    from datetime import UTC, datetime

    from rdpprobe.result import Target
    from rdpprobe.sequence import settings
    from rdpprobe.sequence.config import ProbeConfig
    from rdpprobe.sequence.state import ProbeState
    from rdpprobe.wire import gcc_blocks

    config = ProbeConfig()
    state = ProbeState(Target("127.0.0.1", 3389), config, bytes, datetime.now(UTC))
    settings._record_block(state, gcc_blocks.ServerCoreData(0x00080004, config.requested_protocols))
    core = state.facts.server_core
    assert core is not None and core.early_capability_flags is None
    assert core.early_capability_flag_names is None
    settings._record_block(state, gcc_blocks.ServerCoreData(0x00080004, config.requested_protocols, 0))
    assert state.facts.server_core is not None
    assert state.facts.server_core.early_capability_flag_names == ()
