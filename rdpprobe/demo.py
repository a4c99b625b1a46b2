"""``rdpprobe demo``: every built-in mock scenario probed on loopback, one table.

Each scenario is served on an ephemeral loopback port and probed with the asyncio
driver; the table shows what rdpprobe concluded next to the taxonomy rows the scenario
is meant to reproduce. The exit status is 1 when any verdict falls outside them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from rdpprobe.addresses import host_port
from rdpprobe.api import aprobe
from rdpprobe.mock.nla import DEFAULT_PASSWORD, DEFAULT_USER
from rdpprobe.mock.faults import ServerPhase
from rdpprobe.mock.scenarios import Scenario, builtin_scenarios
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.output import console_for
from rdpprobe.result import ProbeResult

#: Short deadlines: every failure in the catalogue shows within them on loopback.
DEMO_OPTIONS = {"connect_timeout": 1.5, "timeout": 2.0, "deadline": 6.0}
#: Scenarios probed at once (each holds one loopback connection or two).
DEMO_CONCURRENCY = 16
#: Rows that only show after NTLM AUTHENTICATE: those scenarios are probed with credentials.
CREDENTIAL_ROWS = frozenset({"C2", "C4", "C5", "C6"})
#: Rows that need the credentials delegated (full logon) before the server reacts.
FULL_LOGON_ROWS = frozenset({"C6", "E1", "E2", "E3", "L1", "A1", "M1", "M2", "M3"})
#: C3 is a wrong password on a server that cannot send errorCode.
WRONG_PASSWORD_ROWS = frozenset({"C3"})
#: A wedged listener serves one connection and breaks the next: probe twice, keep the last.
WEDGED_ROWS = frozenset({"X1", "X2"})
WRONG_PASSWORD = "not-the-password"
#: Server phases after the probe's success criterion, Demand Active.
AFTER_DEMAND_ACTIVE = frozenset({ServerPhase.FINALIZATION, ServerPhase.ACTIVE})
#: Scenarios where a full logon shows the row: the probe withholds the password (S3).
FULL_LOGON_SCENARIOS = frozenset({"downgrade-to-ssl"})
#: Scenarios that reproduce a row only for an older client: probe as that client.
AS_OLD_CLIENT = {"credssp-require-v6": {"credssp_version": 5}}


@dataclass(frozen=True, slots=True)
class DemoRow:
    scenario: Scenario
    result: ProbeResult

    @property
    def found(self) -> tuple[str, ...]:
        """The verdict's taxonomy row and those of its advisories (S3, X5, S1 …)."""
        return (self.result.verdict.taxonomy_id, *(v.taxonomy_id for v in self.result.advisories))

    @property
    def beyond_probe(self) -> bool:
        """The fault acts after Demand Active, where a probe stops: only full clients meet it."""
        faults = self.scenario.plan.faults
        return bool(faults) and all(f.phase in AFTER_DEMAND_ACTIVE for f in faults)

    @property
    def matches(self) -> bool:
        return self.beyond_probe or bool(set(self.found) & set(self.scenario.taxonomy))


def probe_options(scenario: Scenario) -> dict[str, Any]:
    """How a client would have to connect to meet the scenario's fault."""
    rows = set(scenario.taxonomy)
    options: dict[str, Any] = dict(DEMO_OPTIONS)
    options.update(AS_OLD_CLIENT.get(scenario.name, {}))
    needs_nla = scenario.personality.name.endswith("nla")
    if rows & WRONG_PASSWORD_ROWS:
        options.update(user=DEFAULT_USER, password=WRONG_PASSWORD)
    elif rows & CREDENTIAL_ROWS or (needs_nla and rows & FULL_LOGON_ROWS):
        options.update(user=DEFAULT_USER, password=DEFAULT_PASSWORD)
    if needs_nla and rows & FULL_LOGON_ROWS:
        options["full_logon"] = True
    if scenario.name in FULL_LOGON_SCENARIOS:
        options.update(user=DEFAULT_USER, password=DEFAULT_PASSWORD, full_logon=True)
    return options


async def probe_scenario(scenario: Scenario, gate: asyncio.Semaphore) -> DemoRow:
    attempts = 2 if scenario.name.startswith("wedged") and WEDGED_ROWS & set(scenario.taxonomy) else 1
    async with gate:
        async with MockRdpServer(scenario) as server:
            host, port = server.address
            for _ in range(attempts):
                result = await aprobe(host_port(host, port), **probe_options(scenario))
    return DemoRow(scenario, result)


async def run_demo(names: list[str] | None = None) -> list[DemoRow]:
    catalogue = builtin_scenarios()
    chosen = [catalogue[n] for n in names] if names else sorted(catalogue.values(), key=lambda s: s.name)
    gate = asyncio.Semaphore(DEMO_CONCURRENCY)
    return list(await asyncio.gather(*(probe_scenario(s, gate) for s in chosen)))


def render(console: Console, rows: list[DemoRow]) -> None:
    table = Table(title="rdpprobe against the mock RDP server", show_lines=False)
    for column in ("scenario", "expects", "phase reached", "signal", "verdict (rows)", "MS code", "FreeRDP", ""):
        table.add_column(column, no_wrap=column in ("scenario", "phase reached"))
    for row in rows:
        result, verdict = row.result, row.result.verdict
        ms = verdict.ms_client
        table.add_row(
            row.scenario.name,
            ",".join(row.scenario.taxonomy),
            result.phase_reached.value if result.phase_reached else "-",
            result.signal.value,
            " ".join((verdict.category, *row.found)),
            f"0x{ms.code:x}" if ms else "-",
            (verdict.freerdp or "-").removeprefix("ERRCONNECT_"),
            "–" if row.beyond_probe else "✓" if row.matches else "✗",
        )
    console.print(table)
    beyond = sum(row.beyond_probe for row in rows)
    matched = sum(row.matches and not row.beyond_probe for row in rows)
    console.print(f"{matched} of {len(rows) - beyond} scenarios classified as their taxonomy rows; "
                  f"{beyond} act after Demand Active, where a probe stops (–)")


def run(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.scenarios) - set(builtin_scenarios()))
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r} (see rdpprobe mock --list)")
    rows = asyncio.run(run_demo(args.scenarios or None))
    render(console_for(sys.stdout), rows)
    return 0 if all(row.matches for row in rows) else 1
