"""``rdpprobe mock``: run one mock RDP server in the foreground, or list the scenarios.

``run_mock_cli(argv)`` parses its own arguments so the main CLI only forwards them::

    rdpprobe mock --list
    RDPPROBE_PASSWORD=P rdpprobe mock --scenario windows-nla [--host 127.0.0.1] [--port 3389] [--user U] [-v]

It prints the address, serves until Ctrl-C or SIGTERM, and returns an exit status. Bad input
(an option, a scenario name or file, an address that cannot be bound) ends with one
``rdpprobe: error: …`` line on stderr and the main CLI's usage exit status, as every
``rdpprobe`` command does.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from rdpprobe.addresses import host_port
from rdpprobe.mock.scenarios import (
    NOT_REPRODUCIBLE,
    Scenario,
    ScenarioError,
    UnknownScenario,
    builtin_scenarios,
    get_scenario,
)
from rdpprobe.mock.server import MockRdpServer
from rdpprobe.specs import DEFAULT_PORT, MAX_PORT

PROG = "rdpprobe mock"
DEFAULT_SCENARIO = "windows-tls"
DEFAULT_HOST = "127.0.0.1"
#: What starting the listener raises for a host or port it cannot use: resolution and bind
#: failures (OSError, socket.gaierror), a port out of range (OverflowError), a host name
#: the IDNA codec rejects (UnicodeError).
BIND_ERRORS = (OSError, OverflowError, UnicodeError)
#: Where ``--user``'s password comes from, as for ``rdpprobe check``: never the command line,
#: which every user of the machine can read.
PASSWORD_ENV = "RDPPROBE_PASSWORD"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are usage errors, reported as one line by the caller."""

    def error(self, message: str) -> NoReturn:
        raise _usage_error(message)


def _port(text: str) -> int:
    """A ``--port`` value: a TCP port number, 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"invalid port {text} (expected 0..{MAX_PORT})")
    return port


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The ``rdpprobe mock`` options (also shown by the main CLI's help)."""
    p = _Parser(prog=prog, description="Run a mock RDP server with fault injection.")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help="built-in scenario name or TOML path")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: loopback)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port to bind (0 = any free port)")
    p.add_argument("--user", help=f"the account NLA accepts (password from ${PASSWORD_ENV} or a prompt)")
    p.add_argument("--password", help=argparse.SUPPRESS)  # Refused with a word on where it goes.
    p.add_argument("--domain", help="its domain (any domain when omitted)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log each PDU too (one line per connection is always logged)")
    return p


def list_scenarios(out: TextIO) -> None:
    """One line per built-in scenario: name, personality, taxonomy rows, description."""
    for s in sorted(builtin_scenarios().values(), key=lambda s: s.name):
        rows = ",".join(s.taxonomy) or "-"
        out.write(f"{s.name:34} {s.personality.name:22} {rows:8} {s.description}\n")
    for row, why in NOT_REPRODUCIBLE.items():
        out.write(f"({row} not reproducible on loopback: {why})\n")


def run_mock_cli(argv: Sequence[str] | None = None, out: TextIO | None = None, verbosity: int = 0) -> int:
    """Entry point for ``rdpprobe mock``; returns the process exit status.

    ``out`` (default: the current ``sys.stdout``) receives the listing and the address;
    ``verbosity`` is the ``-v`` count given before ``mock`` (``rdpprobe -v mock …``).
    """
    # Imported here, not at the top: ``import rdpprobe.mock`` (the pytest plugin, MockPair)
    # must not load the prober that the main CLI module pulls in.
    from rdpprobe.cli import EXIT_OK, UsageError, logging_to_stderr, report_usage_error

    out = sys.stdout if out is None else out
    try:
        args = build_parser().parse_args(argv)
        if args.list:
            list_scenarios(out)
            return EXIT_OK
        _check_options(args)
        password = _password() if args.user is not None else None
        server = MockRdpServer(_scenario(args.scenario), args.host, args.port,
                               args.user, password, args.domain)
        # One line per connection always (INFO); each PDU with -v (DEBUG).
        with logging_to_stderr(1 + verbosity + args.verbose):
            asyncio.run(_serve(server, out))
    except UsageError as exc:
        return report_usage_error(" ".join(str(exc).splitlines()))
    return EXIT_OK


def _usage_error(message: str) -> Exception:
    """The main CLI's ``UsageError`` for ``message`` (imported late, see ``run_mock_cli``)."""
    from rdpprobe.cli import UsageError

    return UsageError(message)


def _check_options(args: argparse.Namespace) -> None:
    """Reject option combinations the server would otherwise quietly replace by defaults."""
    if not args.host:
        raise _usage_error("--host must not be empty (0.0.0.0 or :: listen on every interface)")
    if args.password is not None:
        raise _usage_error(f"--password is not taken on the command line, which every user of the machine can read: "
                           f"set {PASSWORD_ENV} or answer the prompt")
    if args.domain is not None and args.user is None:
        raise _usage_error("--domain needs --user")
    if args.user == "":
        raise _usage_error("--user must not be empty")


def _password() -> str:
    """``--user``'s password: ``$RDPPROBE_PASSWORD``, else a prompt on the terminal."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise _usage_error(f"--user needs a password: set {PASSWORD_ENV} (no terminal to prompt on)")
        password = getpass.getpass("Password for the mock's account: ")
    if password == "":
        raise _usage_error(f"the password ({PASSWORD_ENV}) must not be empty")
    return password


def _scenario(spec: str) -> Scenario:
    """The scenario ``--scenario`` names; an unknown name or an unusable file is a usage error."""
    try:
        return get_scenario(spec)
    except (UnknownScenario, ScenarioError) as exc:
        raise _usage_error(str(exc)) from exc


async def _serve(server: MockRdpServer, out: TextIO) -> None:
    """Listen, print the address, serve until SIGINT or SIGTERM, then stop."""
    await _start(server)
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        host, port = server.address
        out.write(f"mock RDP server '{server.scenario.name}' listening on {host}:{port} "
                  f"({server.scenario.description})\n")
        out.flush()
        await stop.wait()
    finally:
        await server.stop()
    out.write("stopped\n")


async def _start(server: MockRdpServer) -> None:
    """Start listening; a host or port that cannot be bound is a usage error."""
    try:
        await server.start()
    except BIND_ERRORS as exc:
        await server.stop()
        raise _usage_error(f"cannot listen on {host_port(server.host, server.port)}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """The system's wording for ``exc`` ("Address already in use"), without asyncio's wrapping."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return os.strerror(code)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
