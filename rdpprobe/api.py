"""The embedding API: ``probe`` (blocking) and ``aprobe`` (asyncio), with the same result;
``rdpprobe.many`` probes many targets with the scanner's engine."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

from rdpprobe.addresses import is_non_unicast_value
from rdpprobe.errors import EncodeError, ProbeUsageError
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence import initiation
from rdpprobe.sequence.config import ADDRESS_FAMILIES, Credentials, ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.nla import CREDSSP_VERSIONS
from rdpprobe.sequence.plan import Plan, advance, out_of_time, plan
from rdpprobe.specs import ADDRESS_TYPES, DEFAULT_PORT, TargetError, TargetSpec, is_port, parse_spec
from rdpprobe.wire.nego import SecurityProtocol

#: Longest timeout or deadline accepted, in seconds: one day. No probe step needs longer,
#: and a bound keeps huge values (1e300) from overflowing the C ``time_t`` of a socket timeout.
MAX_SECONDS = 86_400.0
#: requestedProtocols is a 32-bit field ([MS-RDPBCGR] 2.2.1.1.1).
MAX_REQUESTED_PROTOCOLS = 0xFFFFFFFF
#: The phase that checks credentials: CredSSP runs there ([MS-CSSP] 3.1.5).
CREDENTIALS_PHASE = Phase.NLA
#: The phase that checks the certificate against the expected name: the TLS handshake
#: of the External Security Protocol ([MS-RDPBCGR] 5.4.5.1).
CERTIFICATE_PHASE = Phase.TLS
#: The first phase after ``CREDENTIALS_PHASE``: a full logon goes on past CredSSP's check
#: (TSCredentials, [MS-CSSP] 3.1.5; Client Info, [MS-RDPBCGR] 2.2.1.11), so a probe doing
#: one must not stop before this phase.
LOGON_PHASE = Phase.BASIC_SETTINGS_EXCHANGE
#: How target errors name their source (the scanner names files and lines instead).
TARGET_WHERE = "target"
#: Targets in flight at once in a scan (``rdpprobe scan``, ``probe_many``).
DEFAULT_CONCURRENCY = 100
#: A valid target for ``build`` when only the options are being checked (``probe_many``,
#: ``rdpprobe scan``).
OPTIONS_TARGET = "127.0.0.1"
#: The default port handed to ``parse_spec``: a port written in a spec is never 0, so a spec
#: that comes back with port 0 named none.
_NO_PORT = 0


class ScanProbeOptions(TypedDict, total=False):
    """The options of ``probe`` that a scan (``probe_many``) takes too: all but credentials.

    Spelt out so that type checkers and IDEs know them; ``probe`` checks them again at run
    time (``ProbeUsageError``) for callers without one.
    """

    protocols: int | str | Iterable[str] | None
    """Names such as ``["SSL", "HYBRID"]``, or the requestedProtocols value."""
    cookie: str | None
    routing_token: bytes | None
    connect_timeout: float
    timeout: float
    """Seconds per phase."""
    deadline: float
    """Seconds for the whole probe, every connection of it together."""
    stop_after: str | Phase | None
    legacy_tls: bool
    follow_negotiation: bool
    enumerate: bool
    expected_name: str | None
    keylog_path: str | None
    prefer: str | None
    """``"ipv4"`` or ``"ipv6"``."""
    trace: bool
    client_name: str
    credssp_version: int
    audit: bool
    """Enumerate protocols, RDP encryption methods, TLS versions, suites and groups."""
    audit_budget: int
    """Connections an audit may make to one target, all enumerations together."""
    audit_concurrency: int
    """An audit's connections open at once to one target."""
    audit_rate: float
    """An audit's new connections per second to one target."""


class ProbeOptions(ScanProbeOptions, total=False):
    """Every keyword option of ``probe`` and ``aprobe``: a scan's, and an authentication check."""

    user: str | None
    password: str | None
    domain: str | None
    full_logon: bool


def probe(target: str, port: int | None = None, **options: Unpack[ProbeOptions]) -> ProbeResult:
    """Walk ``target`` ("host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address)
    through the connection sequence; ``port``, when given, must agree with one in ``target``.

    Options (``ProbeOptions``, typed): ``protocols`` (names such as ``["SSL", "HYBRID"]`` or
    an int), ``cookie``, ``connect_timeout``, ``timeout`` (per phase), ``deadline`` (overall), ``stop_after``
    (a phase name), ``user``/``password``/``domain`` (an authentication check),
    ``full_logon``, ``legacy_tls``, ``follow_negotiation``, ``enumerate``,
    ``expected_name``, ``keylog_path``, ``prefer`` (``"ipv4"`` or ``"ipv6"``: the family
    to connect to when a name has addresses of both), ``ca_file``/``ca_path`` (trust anchors
    for the certificate chain check; default the system store), ``warn_days`` (report a
    certificate expiring within so many days, default 30), ``allow_unverified_credentials``,
    ``audit`` (enumerate protocols, RDP encryption methods, TLS versions, suites and groups:
    ``sequence.audit``; the scanner's engine then makes every connection, concurrently) with
    ``audit_budget``, ``audit_concurrency`` and ``audit_rate`` (connections in all, at once,
    and per second to the target). The password is never logged or shown.

    A full logon sends the password only to a server that proved its identity: the CredSSP
    key proof (NLA), or a certificate whose chain is trusted and that names the host (or
    ``expected_name``). Otherwise the probe stops before the Client Info PDU with
    ``Signal.CREDENTIALS_WITHHELD`` and ``facts.auth.status == "withheld"``, unless
    ``allow_unverified_credentials=True``: then anyone in the path may read the password.

    Bad input (a malformed target, an impossible or contradictory option) raises
    ``ProbeUsageError`` naming the problem before any connection is made.
    """
    # The drivers are imported where they run, not above: ``rdpprobe scan`` uses only
    # ``build``, and asyncio loads only for ``aprobe``.
    from rdpprobe.transport import blocking

    walk = _Walk.start(target, port, options)
    if walk.step.audit is not None:
        return walk.on_engine()
    while True:
        done = walk.made(blocking.run(walk.target, walk.step, walk.keylog, walk.deadline_at))
        if done is not None:
            return done


async def aprobe(target: str, port: int | None = None, **options: Unpack[ProbeOptions]) -> ProbeResult:
    """The asyncio twin of ``probe``; same options, same result."""
    import asyncio

    from rdpprobe.transport import aio  # Imported here: see ``probe``.

    walk = _Walk.start(target, port, options)
    if walk.step.audit is not None:
        return await asyncio.to_thread(walk.on_engine)
    while True:
        done = walk.made(await aio.run(walk.target, walk.step, walk.keylog, walk.deadline_at))
        if done is not None:
            return done


@dataclasses.dataclass
class _Walk:
    """One probe's connections, for a driver to make one at a time: ``step`` is the next
    one's config; ``target`` is held to the address the first connection resolved, so that
    every connection of the plan reaches the same server (as the scanner's do)."""

    target: Target
    step: ProbeConfig
    keylog: str | None
    deadline_at: float
    steps: Plan
    config: ProbeConfig
    """The probe's own config, from which ``steps`` plans."""

    @classmethod
    def start(cls, target: str, port: int | None, options: Mapping[str, Any]) -> _Walk:
        """Check ``target`` and ``options`` (``ProbeUsageError``), then plan the connections."""
        tgt, config, keylog = build(target, port, options)
        steps = plan(config)
        first = next(steps)
        if not isinstance(first, ProbeConfig):
            raise ProbeUsageError("a plan starts with a connection")
        return cls(tgt, first, keylog, target_deadline(config), steps, config)

    def on_engine(self) -> ProbeResult:
        """The whole plan run by the scanner's engine, which makes an audit's connections
        side by side (``sequence.audit``), within the target's limits and deadline."""
        from rdpprobe.engine import Engine, EngineOptions

        self.steps.close()
        results: list[ProbeResult] = []
        engine = Engine(self.config, EngineOptions(concurrency=1, keylog_path=self.keylog))
        engine.run([self.target], results.append)
        return results[0]

    def made(self, result: ProbeResult) -> ProbeResult | None:
        """Take the result of the connection ``step`` asked for: the probe's final result, or
        None with ``step`` the next connection's. ``out_of_time`` ends the plan when the
        target's deadline passed before that connection."""
        if self.target.address is None:
            self.target = result.target
        after = advance(self.steps, result)
        if not isinstance(after, ProbeResult) and time.monotonic() >= self.deadline_at:
            after = out_of_time(self.steps)
        if isinstance(after, ProbeResult):
            return after
        if not isinstance(after, ProbeConfig):  # Only an audit fans out, and ``on_engine`` runs those.
            raise ProbeUsageError("a plan without an audit asked for a fan-out")
        self.step = after
        return None


def target_deadline(config: ProbeConfig) -> float:
    """When the whole probe must end (``time.monotonic``): ``deadline`` bounds every
    connection its plan makes together (enumeration, negotiation fallback), as in a scan."""
    return time.monotonic() + config.timeouts.overall


def build(target: str, port: int | None, options: Mapping[str, Any]) -> tuple[Target, ProbeConfig, str | None]:
    """Validate the target and the options; raise ``ProbeUsageError`` naming the first bad one.

    Bad input is found here, before any connection, so that a probe that starts only meets
    the network's problems and the server's.
    """
    opts = dict(options)
    tgt = parse_target(target, port)
    keylog = opts.pop("keylog_path", None)
    config = ProbeConfig(
        requested_protocols=protocols_value(opts.pop("protocols", None)),
        timeouts=_timeouts(opts),
        stop_after=_phase(opts.pop("stop_after", None)),
        credentials=_credentials(opts),
        **{k: opts.pop(k) for k in list(opts) if k in _PLAIN_OPTIONS},
    )
    if opts.pop("enumerate", False):
        config = dataclasses.replace(config, enumerate_protocols=True)
    config = _audit(config, opts)
    if opts:
        raise ProbeUsageError(f"unknown option {sorted(opts)[0]!r}")
    _check_config(config)
    if keylog is not None:
        check_keylog(keylog)  # Last: it creates the file, which a usage error must not leave.
    return tgt, config, keylog


_PLAIN_OPTIONS = frozenset({
    "cookie", "routing_token", "full_logon", "legacy_tls", "follow_negotiation", "expected_name",
    "trace", "client_name", "credssp_version", "prefer", "ca_file", "ca_path", "warn_days",
    "allow_unverified_credentials",
})


def _audit(config: ProbeConfig, opts: dict[str, Any]) -> ProbeConfig:
    """``config`` with ``audit`` and its limits taken from ``opts``; the audit implies the
    protocol enumeration, and offers what pyOpenSSL's library can (``tls_openssl``)."""
    wanted = opts.pop("audit", False)
    limits = {name: opts.pop(f"audit_{name}") for name in AUDIT_LIMITS if f"audit_{name}" in opts}
    if not wanted:
        if limits:
            raise ProbeUsageError(f"audit_{next(iter(limits))} needs audit")
        return config
    from rdpprobe.transport.tls_openssl import audit_settings  # pyOpenSSL: only for an audit.

    settings = audit_settings()
    for name, value in limits.items():
        check_audit_limit(name, value, f"audit_{name}")
    budget = limits.get("budget", settings.budget)
    concurrency = limits.get("concurrency", settings.concurrency)
    rate = limits.get("rate", settings.rate)
    audit = dataclasses.replace(settings, budget=budget, concurrency=concurrency, rate=float(rate))
    return dataclasses.replace(config, enumerate_protocols=True, audit=audit)


#: The limits of an audit, as options ``audit_<name>`` (``AuditSettings`` fields).
AUDIT_LIMITS = ("budget", "concurrency", "rate")


def check_audit_limit(name: str, value: Any, option: str) -> None:
    """Refuse an audit limit ``name`` (one of ``AUDIT_LIMITS``) that bounds nothing: a budget
    or concurrency below one connection, a rate that is not positive. ``option`` is its
    spelling (``audit_rate``, ``--audit-rate``)."""
    if name == "rate":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ProbeUsageError(f"{option} must be positive (connections per second; inf for no limit), got {value!r}")
    elif not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ProbeUsageError(f"{option} must be a whole number of at least 1, got {value!r}")


def _check_config(config: ProbeConfig) -> None:
    """The checks that need the whole config: versions, option pairs, the request's bytes."""
    if config.credssp_version not in CREDSSP_VERSIONS:
        raise ProbeUsageError(f"credssp_version must be 2 to 6, not {config.credssp_version}")
    if config.full_logon and config.credentials is None:
        raise ProbeUsageError("full_logon needs user and password")
    if config.expected_name is not None:
        check_expected_name(config.expected_name, "expected_name")
    if config.prefer is not None and config.prefer not in ADDRESS_FAMILIES:
        raise ProbeUsageError(f"prefer must be {' or '.join(map(repr, ADDRESS_FAMILIES))}, not {config.prefer!r}")
    check_warn_days(config.warn_days, "warn_days")
    if not isinstance(config.allow_unverified_credentials, bool):
        raise ProbeUsageError("allow_unverified_credentials must be True or False")
    check_trust_store(config.ca_file, config.ca_path, "ca_file", "ca_path")
    _check_stop_reaches_options(config)
    _check_connection_request(config)


def _check_stop_reaches_options(config: ProbeConfig) -> None:
    """Refuse a ``stop_after`` that ends the probe before an option given with it acts."""
    stop = config.stop_after
    if config.full_logon:
        check_stop_reaches_logon(stop, "full_logon", "stop_after")
    if config.credentials is not None:
        check_stop_reaches_credentials(stop, "user", "stop_after")
    if config.expected_name is not None:
        check_stop_reaches_certificate(stop, "expected_name", "stop_after")


# --- The target -----------------------------------------------------------------------------


def parse_target(text: Any, port: int | None = None) -> Target:
    """The one host ``text`` names, on ``port`` or the port written in ``text`` (default 3389).

    ``text`` follows the scanner's grammar (``rdpprobe.specs``): ``host``, ``host:port``,
    ``[v6]``, ``[v6]:port`` or a bare IPv6 address. A network or range of more than one
    address is refused: ``rdpprobe scan`` probes those. ``port``, when given, must agree with
    a port written in ``text``. An address no host has (``addresses.NON_UNICAST_NETWORKS``:
    0.0.0.0, multicast, broadcast …) is refused too: nothing there answers TCP, and Linux
    connects 0.0.0.0 to this machine.
    """
    if not isinstance(text, str):
        raise ProbeUsageError(f"{TARGET_WHERE}: expected a string, got {type(text).__name__}")
    try:
        spec = parse_spec(text, _NO_PORT, TARGET_WHERE)
    except TargetError as exc:
        raise ProbeUsageError(str(exc)) from None
    if spec.size != 1:
        raise ProbeUsageError(
            f"{TARGET_WHERE}: {spec.text!r} is a network or range of {spec.size} addresses; "
            "check probes one host; use rdpprobe scan for networks and ranges"
        )
    host = _host(spec)
    if spec.name is None and is_non_unicast_value(spec.version, spec.first):
        raise ProbeUsageError(
            f"{TARGET_WHERE}: {host} is not a host's address; "
            "no server answers at 0.0.0.0/8, multicast, 240.0.0.0/4 or ::"
        )
    return Target(host, _port(port, spec.port))


def _host(spec: TargetSpec) -> str:
    """The name, or the address in its canonical text (as the scanner writes it)."""
    if spec.name is not None:
        return spec.name
    return str(ADDRESS_TYPES[spec.version](spec.first))


def _port(given: Any, written: int) -> int:
    """``given`` (the ``port`` argument, ``-p``) or else the port written in the target."""
    if given is None:
        return written or DEFAULT_PORT
    if not is_port(given):
        raise ProbeUsageError(f"invalid port {given!r}")
    if written and written != given:
        raise ProbeUsageError(f"two ports for one target: {written} in the target and {given} as the port option")
    return given


# --- Options --------------------------------------------------------------------------------


def protocols_value(value: Any) -> int:
    """requestedProtocols from names (``"SSL,HYBRID"``, ``["SSL"]``) or an int."""
    if value is None:
        return ProbeConfig().requested_protocols
    if isinstance(value, int):
        if not 0 <= value <= MAX_REQUESTED_PROTOCOLS:
            raise ProbeUsageError(f"protocols must be 0 to 0x{MAX_REQUESTED_PROTOCOLS:x}, got {value}")
        return value
    names = value.split(",") if isinstance(value, str) else list(value)
    total = 0
    for name in names:
        key = name.strip().upper()
        if key not in SecurityProtocol.__members__:
            raise ProbeUsageError(f"unknown protocol {name!r}")
        total |= int(SecurityProtocol[key])
    return total


def seconds(value: Any, name: str) -> float:
    """``value`` as a time limit: a finite number of seconds above 0 and at most ``MAX_SECONDS``.

    ``name`` is the option as the caller spells it (``deadline`` in the library,
    ``--deadline`` on the command line); the error names it.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProbeUsageError(f"{name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number):
        raise ProbeUsageError(f"{name} must be a finite number of seconds, got {number}")
    if number <= 0:
        raise ProbeUsageError(f"{name} must be positive, got {number:g}")
    if number > MAX_SECONDS:
        raise ProbeUsageError(f"{name} must be at most {MAX_SECONDS:g} seconds (one day), got {number:g}")
    return number


def _timeouts(opts: dict[str, Any]) -> Timeouts:
    default = Timeouts()
    return Timeouts(
        connect=seconds(opts.pop("connect_timeout", default.connect), "connect_timeout"),
        phase=seconds(opts.pop("timeout", default.phase), "timeout"),
        overall=seconds(opts.pop("deadline", default.overall), "deadline"),
    )


def _phase(value: Any) -> Phase | None:
    if value is None or isinstance(value, Phase):
        return value
    try:
        return Phase(str(value))
    except ValueError:
        raise ProbeUsageError(f"unknown phase {value!r}") from None


def _credentials(opts: dict[str, Any]) -> Credentials | None:
    user, password, domain = opts.pop("user", None), opts.pop("password", None), opts.pop("domain", None)
    if user is None and password is None:
        return None
    if user is None or password is None:
        raise ProbeUsageError("an authentication check needs both user and password")
    creds = Credentials.parse(check_user(user, "user"), password)
    return dataclasses.replace(creds, domain=domain) if domain is not None else creds


def check_user(user: Any, name: str) -> str:
    """``user`` (``USER`` or ``DOMAIN\\USER``) when it names a user; ``name`` is the option's spelling."""
    if not isinstance(user, str):
        raise ProbeUsageError(f"{name} must be a string, got {type(user).__name__}")
    if not user.strip():
        raise ProbeUsageError(f"{name} must not be empty")
    if not Credentials.parse(user, "").user.strip():
        raise ProbeUsageError(f"{name} {user!r} has an empty user name")
    return user


def check_warn_days(days: Any, option: str) -> float:
    """``days`` when it is a number of days, zero or more (``math.inf``: always warn)."""
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != days or days < 0:
        raise ProbeUsageError(f"{option} must be a number of days, zero or more, got {days!r}")
    return float(days)


def check_trust_store(ca_file: Any, ca_path: Any, file_option: str, path_option: str) -> None:
    """Refuse trust anchors that cannot be read, before any connection is made.

    Only a store that was named is read here (and kept for the probes, ``trust.load_store``
    caches it): the system store is read at the first certificate to check.
    """
    for value, option in ((ca_file, file_option), (ca_path, path_option)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ProbeUsageError(f"{option} must be a path, got {value!r}")
    if ca_path is not None and not os.path.isdir(ca_path):
        raise ProbeUsageError(f"{path_option}: {ca_path} is not a directory")
    if ca_file is None and ca_path is None:
        return
    from rdpprobe import trust  # Imported only for a named store (``cryptography``).

    loaded = trust.load_store(ca_file, ca_path)
    if loaded.store is None:
        where = file_option if ca_file is not None else path_option
        raise ProbeUsageError(f"{where}: {loaded.error}")


def check_expected_name(name: Any, option: str) -> str:
    """``name`` when it can be checked against a certificate; ``option`` is its spelling.

    The client checks the server's certificate against the name it was given
    ([MS-RDPBCGR] 5.4.5.1); an empty name names nothing to check, and must not quietly
    become the host.
    """
    if not isinstance(name, str):
        raise ProbeUsageError(f"{option} must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ProbeUsageError(f"{option} must not be empty")
    return name


def check_stop_reaches_credentials(stop_after: Phase | None, user: str, stop: str) -> None:
    """Refuse a stop before ``CREDENTIALS_PHASE``, where credentials are checked.

    CredSSP ([MS-CSSP] 3.1.5) authenticates the user in the nla phase; a probe stopped
    earlier would never check them. ``user`` and ``stop`` are the options' spellings.
    """
    what = f"{user} is checked in the {CREDENTIALS_PHASE.value} phase"
    _check_stop_reaches(stop_after, CREDENTIALS_PHASE, what, stop)


def check_stop_reaches_certificate(stop_after: Phase | None, name: str, stop: str) -> None:
    """Refuse a stop before ``CERTIFICATE_PHASE``, where the expected name is checked.

    The certificate arrives in the TLS handshake ([MS-RDPBCGR] 5.4.5.1); a probe stopped
    earlier would never compare it with the name. ``name`` and ``stop`` are the options'
    spellings.
    """
    what = f"{name} is checked in the {CERTIFICATE_PHASE.value} phase"
    _check_stop_reaches(stop_after, CERTIFICATE_PHASE, what, stop)


def check_stop_reaches_logon(stop_after: Phase | None, full_logon: str, stop: str) -> None:
    """Refuse a stop before ``LOGON_PHASE``: a full logon goes on past the nla phase.

    Stopped at or before nla, the probe ends once CredSSP has checked the credentials
    ([MS-CSSP] 3.1.5) and never sends them on. ``full_logon`` and ``stop`` are the options'
    spellings.
    """
    what = f"{full_logon} logs on after the {CREDENTIALS_PHASE.value} phase"
    _check_stop_reaches(stop_after, LOGON_PHASE, what, stop)


def _check_stop_reaches(stop_after: Phase | None, needed: Phase, what: str, stop: str) -> None:
    """Refuse a ``stop_after`` earlier than ``needed``; ``what`` says what happens there."""
    if stop_after is not None and stop_after < needed:
        raise ProbeUsageError(f"{what}, but {stop} {stop_after.value} ends the probe before it")


#: A key log decrypts every session it records: created readable by its owner only.
KEYLOG_MODE = 0o600


def check_keylog(path: Any) -> None:
    """Open ``path`` for append (creating it, ``KEYLOG_MODE``) and close it: a key log that
    cannot be written is a usage error now, not a failure in the middle of the TLS handshake."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, KEYLOG_MODE))
    except OSError as exc:
        raise ProbeUsageError(f"cannot write keylog file {path}: {exc.strerror or exc}") from None
    except (TypeError, ValueError) as exc:  # Not a path at all, or one with a NUL byte.
        raise ProbeUsageError(f"cannot write keylog file {path!r}: {exc}") from None


def _check_connection_request(config: ProbeConfig) -> None:
    """Encode the X.224 Connection Request now ([MS-RDPBCGR] 2.2.1.1), with the encoder the
    probe uses: a cookie or routing token it cannot carry is a usage error, not a failure
    mid-probe."""
    if config.cookie is not None and not isinstance(config.cookie, str):
        raise ProbeUsageError(f"cookie must be a string, got {type(config.cookie).__name__}")
    try:
        initiation.request_bytes(config)
    except EncodeError as exc:
        raise ProbeUsageError(str(exc)) from None
