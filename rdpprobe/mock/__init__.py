"""The mock RDP server: a server-side connection sequence built on ``rdpprobe.wire``, with fault plans.

- ``MockRdpServer`` (``server``): asyncio runner on loopback, with a thread-backed sync mode;
- ``MockPair`` (``pair``): the same server driven in memory, for socket-free tests;
- ``Scenario`` / ``get_scenario`` / ``builtin_scenarios`` (``scenarios``): personalities plus
  fault plans, loaded from TOML;
- ``Fault`` / ``FaultPlan`` / ``ServerPhase`` / ``Action`` (``faults``): declarative misbehaviour;
- ``Acceptor`` (``acceptor``): the sans-IO server state machine underneath;
- ``run_mock_cli`` (``cli``): ``rdpprobe mock``.

The pytest fixture ``rdp_mock_server`` lives in ``rdpprobe.pytest_plugin``.
"""

from __future__ import annotations

from rdpprobe.mock.acceptor import Acceptor, Record
from rdpprobe.mock.cli import run_mock_cli
from rdpprobe.mock.faults import Action, Fault, FaultError, FaultPlan, ServerPhase
from rdpprobe.mock.nla import Credentials
from rdpprobe.mock.pair import MockPair
from rdpprobe.mock.personality import PERSONALITIES, Personality
from rdpprobe.mock.scenarios import (
    NOT_REPRODUCIBLE,
    Scenario,
    builtin_scenarios,
    get_scenario,
    load_file,
    taxonomy_coverage,
)
from rdpprobe.mock.server import MockRdpServer

__all__ = [
    "NOT_REPRODUCIBLE",
    "PERSONALITIES",
    "Acceptor",
    "Action",
    "Credentials",
    "Fault",
    "FaultError",
    "FaultPlan",
    "MockPair",
    "MockRdpServer",
    "Personality",
    "Record",
    "Scenario",
    "ServerPhase",
    "builtin_scenarios",
    "get_scenario",
    "load_file",
    "run_mock_cli",
    "taxonomy_coverage",
]
