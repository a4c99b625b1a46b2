"""``rdpprobe mock``: run one mock RDP server in the foreground, or list the scenarios.

``run_mock_cli(argv)`` parses its own arguments so the main CLI only forwards them::

    rdpprobe mock --list
    rdpprobe mock --scenario windows-nla [--host 127.0.0.1] [--port 3389] [--user U --password P]

It prints the address, serves until Ctrl-C or SIGTERM, and returns an exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from rdpprobe.mock.scenarios import NOT_REPRODUCIBLE, builtin_scenarios, get_scenario
from rdpprobe.mock.server import MockRdpServer

EXIT_OK = 0
EXIT_USAGE = 2


def build_parser(prog: str = "rdpprobe mock") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Run a mock RDP server with fault injection.")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    p.add_argument("--scenario", default="windows-tls", help="built-in scenario name or TOML path")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=3389, help="port to bind (0 = any free port)")
    p.add_argument("--user", help="the account NLA accepts")
    p.add_argument("--password", help="its password")
    p.add_argument("--domain", help="its domain (any domain when omitted)")
    return p


def list_scenarios(out: TextIO) -> None:
    """One line per built-in scenario: name, personality, taxonomy rows, description."""
    for s in sorted(builtin_scenarios().values(), key=lambda s: s.name):
        rows = ",".join(s.taxonomy) or "-"
        out.write(f"{s.name:34} {s.personality.name:22} {rows:8} {s.description}\n")
    for row, why in NOT_REPRODUCIBLE.items():
        out.write(f"({row} not reproducible on loopback: {why})\n")


def run_mock_cli(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Entry point for ``rdpprobe mock``; returns the process exit status."""
    args = build_parser().parse_args(argv)
    if args.list:
        list_scenarios(out)
        return EXIT_OK
    try:
        scenario = get_scenario(args.scenario)
    except KeyError as exc:
        out.write(f"error: {exc.args[0]}\n")
        return EXIT_USAGE
    server = MockRdpServer(scenario, args.host, args.port, args.user, args.password, args.domain)
    asyncio.run(_serve(server, out))
    return EXIT_OK


async def _serve(server: MockRdpServer, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        host, port = server.address
        out.write(f"mock RDP server '{server.scenario.name}' listening on {host}:{port} "
                  f"({server.scenario.description})\n")
        out.flush()
        await stop.wait()
    out.write("stopped\n")
