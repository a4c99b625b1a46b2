"""The ``rdpprobe`` command line: the only place that sets up logging and terminal output.

Exit codes: 0 the command did what was asked (for ``check``: no failure, and credentials,
when given, verified); 1 ``check`` classified a failure; 2 usage error; 4 ``--fail-on
SEVERITY`` was given and a finding at or above it was found (``check`` and ``scan``); 130
interrupted (Ctrl-C; ``check`` prints the phase ladder as far as it got).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TextIO

from rdpprobe import __version__
from rdpprobe.api import (
    AUDIT_LIMITS,
    check_audit_limit,
    check_expected_name,
    check_trust_store,
    check_warn_days,
    check_stop_reaches_certificate,
    check_stop_reaches_credentials,
    check_stop_reaches_logon,
    check_user,
    probe,
    seconds,
)
from rdpprobe.errors import ProbeUsageError
from rdpprobe.findings import SEVERITIES, at_or_above
from rdpprobe.result import AUTH_SUCCEEDED
from rdpprobe.sequence.config import ADDRESS_FAMILIES, DEFAULT_WARN_DAYS
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import ProbeInterrupted

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it.
PASSWORD_ENV = "RDPPROBE_PASSWORD"
#: Bytes per line of a ``-vv`` hex dump.
HEX_DUMP_WIDTH = 16

log = logging.getLogger("rdpprobe")


class UsageError(Exception):
    """Bad user input: one line naming the problem, exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are ``UsageError``: one line naming the option and the
    bad value (argparse's own wording), never the usage text before it. Its subcommands'
    parsers are of this class too (``add_subparsers`` makes them of the parent's type)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(" ".join(message.split()))


#: The command whose arguments its own parser reads (``rdpprobe.mock.cli``): the main parser
#: only hands them over, so that the mock server loads only for ``mock``.
MOCK_COMMAND = "mock"
VERBOSE_HELP = "log each phase and PDU to stderr (-vv: with hex dumps)"


def add_verbosity(p: argparse.ArgumentParser, dest: str = "verbose") -> None:
    """``-v``/``--verbose``, counted. A subcommand's count goes to ``sub_verbose`` and adds to
    the count given before the command (``rdpprobe -v check … -v`` is ``-vv``)."""
    p.add_argument("-v", "--verbose", action="count", dest=dest, default=0, help=VERBOSE_HELP)


def verbosity(args: argparse.Namespace) -> int:
    """The ``-v`` count, before and after the command name together."""
    return int(args.verbose) + int(getattr(args, "sub_verbose", 0))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="rdpprobe",
        description="Walk an RDP server through the connection sequence and say where and why it fails.",
    )
    parser.add_argument("--version", action="version", version=f"rdpprobe {__version__}")
    add_verbosity(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_check(commands.add_parser("check", help="probe one server and explain the outcome"))
    for name, adder in _EXTRA_COMMANDS:
        adder(commands.add_parser(name, help=_EXTRA_HELP[name], add_help=name != MOCK_COMMAND))
    return parser


def add_probe_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``check`` and ``scan``."""
    add_verbosity(p, "sub_verbose")
    p.add_argument("--protocols", help="requested protocols, e.g. SSL,HYBRID,HYBRID_EX (default)")
    p.add_argument("--cookie", help="mstshash cookie (default: probe)")
    p.add_argument("--connect-timeout", type=float, default=5.0, metavar="S", help="TCP connect timeout (default %(default)s)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="timeout per phase (default %(default)s)")
    p.add_argument("--deadline", type=float, default=30.0, metavar="S", help="overall deadline per target (default %(default)s)")
    p.add_argument("--stop-after", choices=[p.value for p in Phase], help="stop once this phase is complete")
    p.add_argument("--no-legacy-tls", action="store_true", help="refuse TLS 1.0/1.1 and weak ciphers")
    p.add_argument("--no-follow", action="store_true", help="do not reconnect after RDP_NEG_FAILURE")
    p.add_argument("--enumerate", action="store_true", help="connect once per protocol to list those accepted")
    p.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding this severe or more is found ({', '.join(SEVERITIES)})")
    p.add_argument("--ca-file", metavar="FILE", help="trust these CA certificates (PEM) for the chain check "
                                                     "(default: the system store)")
    p.add_argument("--ca-path", metavar="DIR", help="trust the CA certificates of this directory (PEM files)")
    p.add_argument("--warn-days", type=float, default=DEFAULT_WARN_DAYS, metavar="DAYS",
                   help="report a certificate that expires within DAYS (default %(default)g)")
    p.add_argument("--audit", action="store_true",
                   help="also enumerate protocols, RDP encryption methods, TLS versions, suites and groups "
                        "(a few dozen short connections per target)")
    p.add_argument("--audit-budget", type=int, metavar="N", help="with --audit, connections per target at most (default 200)")
    p.add_argument("--audit-concurrency", type=int, metavar="N",
                   help="with --audit, connections open at once per target (default 4)")
    p.add_argument("--audit-rate", type=float, metavar="R",
                   help="with --audit, new connections per second per target (default 50)")
    p.add_argument("--prefer", choices=ADDRESS_FAMILIES,
                   help="for a name with both, connect to its first address of this family (FreeRDP prefers ipv4; "
                        "default: the resolver's order)")


def _add_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="one host: HOST, HOST:PORT, IPv6 or [IPv6]:PORT (scan takes networks and ranges)")
    p.add_argument("-p", "--port", type=int, help="port (default 3389)")
    add_probe_options(p)
    p.add_argument("--user", help=f"check credentials: USER or DOMAIN\\USER (password from ${PASSWORD_ENV} or a prompt)")
    p.add_argument("--full-logon", action="store_true",
                   help="with --user, also send the credentials and log on (only to a server that proved its "
                        "identity: NLA, or a certificate trusted for the name)")
    p.add_argument("--send-password-to-unverified-server", action="store_true",
                   help="with --full-logon, send the password even when the server proved nothing (no NLA, an "
                        "untrusted certificate, Standard RDP Security): anyone in the path can read it")
    p.add_argument("--expected-name", help="name to check the certificate against (default: the host)")
    p.add_argument("--keylog", metavar="FILE", help="write TLS keys here (for Wireshark)")
    p.add_argument("--json", action="store_true", help="print the JSON form of the result")


#: The time limits among the probe options: (keyword of ``probe``, command-line option).
TIME_OPTIONS = (("connect_timeout", "--connect-timeout"), ("timeout", "--timeout"), ("deadline", "--deadline"))


def probe_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``probe`` keywords of the options shared by ``check`` and ``scan``; time limits are
    checked here so that their errors name the command-line option."""
    options: dict[str, Any] = {key: seconds(getattr(args, key), flag) for key, flag in TIME_OPTIONS}
    options.update({
        "legacy_tls": not args.no_legacy_tls,
        "follow_negotiation": not args.no_follow,
        "enumerate": args.enumerate,
    })
    if args.audit:
        options["audit"] = True
    for name in AUDIT_LIMITS:
        value = getattr(args, f"audit_{name}")
        if value is None:
            continue
        flag = f"--audit-{name}"
        if not args.audit:
            raise UsageError(f"{flag} needs --audit")
        check_audit_limit(name, value, flag)
        options[f"audit_{name}"] = value
    for key in ("protocols", "cookie", "stop_after", "prefer", "ca_file", "ca_path"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    options["warn_days"] = check_warn_days(args.warn_days, "--warn-days")
    check_trust_store(args.ca_file, args.ca_path, "--ca-file", "--ca-path")
    if verbosity(args):
        options["trace"] = True  # Logged by ``log_trace``: the sequence itself never logs.
    return options


def log_trace(result: Any, prefix: str = "") -> None:
    """Log ``result``'s trace: each phase and PDU at INFO (``-v``), the PDUs' bytes as hex
    at DEBUG (``-vv``); the trace holds no bytes of what carries credentials."""
    if not log.isEnabledFor(logging.INFO) or not result.trace:
        return
    for event in result.trace:
        log.info("%s%s", prefix, event.line())
        if event.data and log.isEnabledFor(logging.DEBUG):
            for line in hex_dump(event.data):
                log.debug("%s%s", prefix, line)
    log.info("%s%s", prefix, f"outcome: {result.signal.value}: {result.detail or ''}".rstrip(": "))


def hex_dump(data: bytes) -> list[str]:
    """``data`` as offset, hex and printable ASCII, ``HEX_DUMP_WIDTH`` bytes a line."""
    lines = []
    for offset in range(0, len(data), HEX_DUMP_WIDTH):
        chunk = data[offset:offset + HEX_DUMP_WIDTH]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"  {offset:04x}  {chunk.hex(' '):<{HEX_DUMP_WIDTH * 3}} {text}")
    return lines


def _password() -> str:
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise UsageError(f"--user needs a password: set {PASSWORD_ENV} (no terminal to prompt on)")
    return getpass.getpass("Password: ")


def _stop_after(args: argparse.Namespace) -> Phase | None:
    """The phase ``--stop-after`` names (argparse has checked the name), or None."""
    return Phase(args.stop_after) if args.stop_after is not None else None


def _credential_options(args: argparse.Namespace) -> dict[str, Any]:
    """``user``, ``password`` and ``full_logon`` for ``--user``; the user name and the clashes
    of ``--user`` and ``--full-logon`` with ``--stop-after`` are checked before the password
    is asked for."""
    if args.send_password_to_unverified_server and not args.full_logon:
        raise UsageError("--send-password-to-unverified-server needs --full-logon")
    if args.user is None:
        if args.full_logon:
            raise UsageError("--full-logon needs --user")
        return {}
    check_user(args.user, "--user")
    stop = _stop_after(args)
    if args.full_logon:
        check_stop_reaches_logon(stop, "--full-logon", "--stop-after")
    check_stop_reaches_credentials(stop, "--user", "--stop-after")
    options = {"user": args.user, "password": _password(), "full_logon": args.full_logon}
    if args.send_password_to_unverified_server:
        options["allow_unverified_credentials"] = True
    return options


def _expected_name_options(args: argparse.Namespace) -> dict[str, Any]:
    """``expected_name`` for ``--expected-name``, whatever its value (the library refuses an
    empty one too); checked here so that the errors name the command-line options."""
    if args.expected_name is None:
        return {}
    check_expected_name(args.expected_name, "--expected-name")
    check_stop_reaches_certificate(_stop_after(args), "--expected-name", "--stop-after")
    return {"expected_name": args.expected_name}


def run_check(args: argparse.Namespace) -> int:
    options = probe_options(args)
    options.update(_expected_name_options(args))
    options.update(_credential_options(args))
    if args.keylog is not None:
        options["keylog_path"] = args.keylog
    try:
        result = probe(args.target, args.port, **options)
    except ProbeInterrupted as exc:
        return _interrupted(args, exc)
    log_trace(result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _report(result, credentials_given=args.user is not None)
    if args.fail_on is not None and at_or_above(result.findings, args.fail_on):
        return EXIT_FINDINGS
    auth = result.facts.auth
    verified = args.user is None or (auth is not None and auth.status == AUTH_SUCCEEDED)
    return EXIT_OK if result.ok and verified else EXIT_FAILURE


def _interrupted(args: argparse.Namespace, exc: ProbeInterrupted) -> int:
    """Ctrl-C during ``check``: the ladder so far (on stderr with --json), exit 130."""
    from rdpprobe.render import render_interrupted

    _render(sys.stderr if args.json else sys.stdout, lambda console: render_interrupted(console, exc.so_far))
    return EXIT_INTERRUPTED


def _report(result: Any, credentials_given: bool) -> None:
    """The human report on stdout."""
    from rdpprobe.render import render_result

    _render(sys.stdout, lambda console: render_result(console, result, credentials_given))


def _render(stream: TextIO, draw: Callable[[Any], None]) -> None:
    """``draw`` on a rich console for ``stream``; in a file or a pipe, without the spaces
    that pad table cells at the ends of lines."""
    # rich loads here, only for the human report: --json and scans never need it.
    from rdpprobe.output import console_for

    console = console_for(stream)
    if console.is_terminal:
        draw(console)
        return
    with console.capture() as captured:
        draw(console)
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is at the time (a test's capture, say)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """``StreamHandler.__init__`` sets a stream; this handler has none of its own."""


@contextlib.contextmanager
def logging_to_stderr(verbosity: int) -> Iterator[None]:
    """The ``rdpprobe`` loggers write to stderr while the command runs: warnings only,
    ``-v`` each phase and PDU (INFO), ``-vv`` their bytes too (DEBUG); as they were after."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("rdpprobe: %(message)s"))
    before = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(before[0])
        log.propagate = before[1]


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as Unix tools do.
        discard_stdout()
        return EXIT_OK


def report_usage_error(message: str) -> int:
    """Print ``message`` as the one ``rdpprobe: error:`` line of a usage error on stderr;
    return the exit status that goes with it."""
    print(f"rdpprobe: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def discard_stdout() -> None:
    """Point standard output at /dev/null: what could not be written must not fail again
    (and print a traceback) when the interpreter flushes it on the way out."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _dispatch(argv: list[str]) -> int:
    try:
        parser = build_parser()
        args, rest = parser.parse_known_args(argv)
        if args.command == MOCK_COMMAND:
            # ``mock`` has its own parser (shared with the plugin's documentation).
            from rdpprobe.mock.cli import run_mock_cli

            return run_mock_cli(rest, verbosity=verbosity(args))
        if rest:
            where = f"{args.command}: " if args.command else ""
            raise UsageError(f"{where}unrecognized arguments: {' '.join(rest)}")
    except UsageError as exc:
        return report_usage_error(str(exc))
    handler = _HANDLERS.get(args.command)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with logging_to_stderr(verbosity(args)):
            return handler(args)
    except (UsageError, ProbeUsageError) as exc:
        return report_usage_error(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


_HANDLERS: dict[str | None, Callable[[argparse.Namespace], int]] = {"check": run_check}
_EXTRA_COMMANDS: list[tuple[str, Any]] = []
_EXTRA_HELP: dict[str, str] = {}


def register(
    name: str, help_text: str, add_arguments: Any, handler: Callable[[argparse.Namespace], int]
) -> None:
    """Add a subcommand (used by the scan, mock and demo modules)."""
    _EXTRA_COMMANDS.append((name, add_arguments))
    _EXTRA_HELP[name] = help_text
    _HANDLERS[name] = handler


def _run_demo(args: argparse.Namespace) -> int:
    from rdpprobe import demo

    try:
        return demo.run(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _add_demo(parser: argparse.ArgumentParser) -> None:
    # Here, not in ``demo``: every command builds this parser, and importing ``demo`` would
    # load asyncio, rich and the whole mock server.
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")


def _add_mock(parser: argparse.ArgumentParser) -> None:
    """``_dispatch`` hands the arguments after ``mock`` to the mock's own parser (its
    ``--help`` included); this entry names the command in the main help."""


def _run_mock(args: argparse.Namespace) -> int:  # Never called: ``_dispatch`` runs the mock.
    raise AssertionError("rdpprobe mock is dispatched before the handlers")


register("demo", "probe every built-in mock scenario on loopback and print a table", _add_demo, _run_demo)
register("mock", "run a mock RDP server with fault injection (--list for scenarios)", _add_mock, _run_mock)


import rdpprobe.scan_cli  # noqa: E402,F401  (registers the "scan" command)

if __name__ == "__main__":
    # Run as a script this file is a second copy of the module; the commands registered
    # themselves in ``rdpprobe.cli``, so run that one.
    from rdpprobe.cli import main as _main

    sys.exit(_main())
