"""Every built-in mock scenario, probed by rdpprobe: the verdict is the scenario's row.

The mock and the prober share only the wire codecs; this is where the client's
classification meets every fault the mock can inject.
"""

from __future__ import annotations

import asyncio

import pytest

from rdpprobe.demo import DemoRow, run_demo
from rdpprobe.mock.scenarios import builtin_scenarios
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

P = Phase
#: Where each taxonomy row family fails (taxonomy §4.1 "Phase" column).
ROW_PHASES = {
    "T": {P.TCP_CONNECT},
    "X": {P.CONNECTION_INITIATION},
    "N": {P.CONNECTION_INITIATION},
    "S": {P.TLS},
    "C": {P.NLA},
    "M": {P.BASIC_SETTINGS_EXCHANGE, P.CHANNEL_CONNECTION},
    "R": {P.BASIC_SETTINGS_EXCHANGE, P.SECURITY_COMMENCEMENT},  # A bad random is refused at decode.
    "L": {P.LICENSING},
    "A": {P.LICENSING, P.CAPABILITIES_EXCHANGE},
}
#: Verdicts whose phase their category decides, not their taxonomy family: the probe itself
#: withholds the password just before Client Info (an S3 cause, met after TLS).
CATEGORY_PHASES = {"credentials_withheld": {P.SECURE_SETTINGS_EXCHANGE}}
NAMES = sorted(builtin_scenarios())


@pytest.fixture(scope="module")
def probed() -> dict[str, DemoRow]:
    rows = asyncio.run(run_demo())
    return {row.scenario.name: row for row in rows}


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_classified_as_its_row(probed: dict[str, DemoRow], name: str) -> None:
    row = probed[name]
    result = row.result
    assert row.matches, (row.scenario.taxonomy, row.found, result.signal, result.detail)
    if row.beyond_probe or result.ok:
        assert result.failed_phase is None
        return
    row_id = result.verdict.taxonomy_id
    assert result.signal is not Signal.INTERNAL_ERROR, result.detail
    expected = CATEGORY_PHASES.get(result.verdict.category) or ROW_PHASES.get(row_id[0])
    if expected is not None:
        assert result.failed_phase in expected, (row_id, result.failed_phase)


def test_healthy_personalities_reach_as_far_as_they_allow(probed: dict[str, DemoRow]) -> None:
    assert probed["windows-tls"].result.phase_reached is P.CAPABILITIES_EXCHANGE
    assert probed["windows-rdp-security"].result.phase_reached is P.CAPABILITIES_EXCHANGE
    assert probed["windows-nla"].result.phase_reached is P.NLA
    assert probed["windows-nla"].result.facts.ntlm is not None


def test_ntlm_facts_carry_the_server_time(probed: dict[str, DemoRow]) -> None:
    ntlm = probed["windows-nla"].result.facts.ntlm
    assert ntlm is not None and ntlm.timestamp is not None
    assert ntlm.timestamp.endswith("+00:00")


def test_a_short_server_random_is_refused_where_it_arrives(probed: dict[str, DemoRow]) -> None:
    """[MS-RDPBCGR] 2.2.1.4.3: serverRandomLen MUST be 32; the Connect Response carrying
    another length is refused there, with a verdict that says why."""
    result = probed["short-server-random"].result
    assert (result.failed_phase, result.signal) == (P.BASIC_SETTINGS_EXCHANGE, Signal.BAD_SERVER_SECURITY)
    assert result.verdict.taxonomy_id == "R1"
    assert result.detail is not None and "serverRandomLen: 16, must be 32" in result.detail
