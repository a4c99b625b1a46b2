"""Fault plans, scenario files, taxonomy coverage, the pytest fixture and the CLI function."""

from __future__ import annotations

import io
import socket

import pytest

from rdpprobe.mock import (
    NOT_REPRODUCIBLE,
    Action,
    Fault,
    FaultError,
    FaultPlan,
    ServerPhase,
    builtin_scenarios,
    get_scenario,
    load_file,
    run_mock_cli,
    taxonomy_coverage,
)
from rdpprobe.mock.scenarios import parse_scenarios, scenario_to_dict

TAXONOMY_ROWS = ("D1 T1 T2 T3 X1 X2 X3 X4 X5 N1 N2 N3 N4 N5 N6 S1 S2 S3 C1 C2 C3 C4 C5 C6 "
                 "M1 M2 M3 R1 L1 E1 E2 E3 A1 OK").split()
PERSONALITY_NAMES = ("windows-nla", "windows-tls", "windows-rdp-security", "windows-rdp-fips", "xrdp-like",
                     "freerdp-like", "legacy-no-negotiation")


def test_every_taxonomy_row_is_covered_or_explained() -> None:
    covered = taxonomy_coverage()
    for row in TAXONOMY_ROWS:
        assert row in covered or row in NOT_REPRODUCIBLE, row


def test_personalities_are_scenarios() -> None:
    scenarios = builtin_scenarios()
    for name in PERSONALITY_NAMES:
        assert scenarios[name].healthy and scenarios[name].personality.name == name


def test_scenarios_round_trip_through_toml_tables() -> None:
    for scenario in builtin_scenarios().values():
        assert scenario.description
        table = scenario_to_dict(scenario)
        assert FaultPlan.from_list(table["faults"]) == scenario.plan


def test_fixture_file_loads(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    names = [s.name for s in load_file(fixtures_dir / "composed.toml")]
    assert names == ["slow-nla-then-wrong-password-code", "expired-cert-then-denied"]


def test_single_scenario_document() -> None:
    (s,) = parse_scenarios('name = "x"\npersonality = "xrdp-like"\n'
                           'faults = [{ phase = "accept", action = "reset" }]\n')
    assert s.plan.terminal(ServerPhase.ACCEPT) == Fault(ServerPhase.ACCEPT, Action.RESET)


def test_plans_compose_and_split_timing_from_terminal() -> None:
    plan = FaultPlan.of(Fault(ServerPhase.NLA, Action.DELAY, {"seconds": 1})) + FaultPlan.of(
        Fault(ServerPhase.NLA, Action.CLOSE))
    assert plan.terminal(ServerPhase.NLA).action is Action.CLOSE  # type: ignore[union-attr]
    assert [f.action for f in plan.timing(ServerPhase.NLA)] == [Action.DELAY]
    assert plan.find(Action.CLOSE).param("after_bytes") == -1  # type: ignore[union-attr]


@pytest.mark.parametrize("raw", [
    {"phase": "nowhere", "action": "close"},
    {"phase": "accept", "action": "explode"},
    {"phase": "connection_initiation", "action": "neg_failure"},
    {"phase": "accept", "action": "banner", "kind": "gopher"},
    {"phase": "connection_initiation", "action": "delay", "seconds": "soon"},
])
def test_bad_faults_are_rejected(raw: dict[str, object]) -> None:
    with pytest.raises(FaultError):
        Fault.from_dict(raw)


def test_unknown_scenario() -> None:
    with pytest.raises(KeyError):
        get_scenario("no-such-scenario")


def test_fixture_factory_starts_and_serves(rdp_mock_server, rdp_mock_servers) -> None:  # type: ignore[no-untyped-def]
    host, port = rdp_mock_server("ssl-required")
    with socket.create_connection((host, port), timeout=3) as sock:
        sock.sendall(bytes.fromhex("030000130ee000000000000100080000000000"))
        sock.settimeout(3)
        assert sock.recv(19) == bytes.fromhex("030000130ed00000123400030008000" "1000000")
    assert rdp_mock_servers[0].scenario.name == "ssl-required"


def test_cli_lists_scenarios() -> None:
    out = io.StringIO()
    assert run_mock_cli(["--list"], out) == 0
    text = out.getvalue()
    assert "hybrid-required" in text and "not reproducible" in text


def test_cli_rejects_unknown_scenario() -> None:
    out = io.StringIO()
    assert run_mock_cli(["--scenario", "nope"], out) == 2
