"""The embedding API: ``probe`` (blocking) and ``aprobe`` (asyncio), with the same result."""

from __future__ import annotations

import dataclasses
from typing import Any

from rdpprobe.errors import ProbeUsageError
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence.config import Credentials, ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.nla import CREDSSP_VERSIONS
from rdpprobe.sequence.plan import plan
from rdpprobe.wire.nego import SecurityProtocol

DEFAULT_PORT = 3389


def probe(target: str, port: int | None = None, **options: Any) -> ProbeResult:
    """Walk ``target`` ("host", "host:port" or "[v6]:port") through the connection sequence.

    Options: ``protocols`` (names such as ``["SSL", "HYBRID"]`` or an int), ``cookie``,
    ``connect_timeout``, ``timeout`` (per phase), ``deadline`` (overall), ``stop_after``
    (a phase name), ``user``/``password``/``domain`` (an authentication check),
    ``full_logon``, ``legacy_tls``, ``follow_negotiation``, ``enumerate``,
    ``expected_name``, ``keylog_path``. The password is never logged or shown.
    """
    # The drivers are imported where they run, not above: ``rdpprobe scan`` uses only
    # ``build``, and asyncio loads only for ``aprobe``.
    from rdpprobe.transport import blocking

    tgt, config, keylog = build(target, port, options)
    steps = plan(config)
    step = next(steps)
    while True:
        result = blocking.run(tgt, step, keylog)
        try:
            step = steps.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def aprobe(target: str, port: int | None = None, **options: Any) -> ProbeResult:
    """The asyncio twin of ``probe``; same options, same result."""
    from rdpprobe.transport import aio  # Imported here: see ``probe``.

    tgt, config, keylog = build(target, port, options)
    steps = plan(config)
    step = next(steps)
    while True:
        result = await aio.run(tgt, step, keylog)
        try:
            step = steps.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def build(target: str, port: int | None, options: dict[str, Any]) -> tuple[Target, ProbeConfig, str | None]:
    """Validate the options; raise ``ProbeUsageError`` naming the first bad one."""
    opts = dict(options)
    host, parsed_port = split_host_port(target)
    tgt = Target(host, port or parsed_port or DEFAULT_PORT)
    if not 0 < tgt.port < 65536:
        raise ProbeUsageError(f"invalid port {tgt.port}")
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
    if opts:
        raise ProbeUsageError(f"unknown option {sorted(opts)[0]!r}")
    if config.credssp_version not in CREDSSP_VERSIONS:
        raise ProbeUsageError(f"credssp_version must be 2 to 6, not {config.credssp_version}")
    if config.full_logon and config.credentials is None:
        raise ProbeUsageError("full_logon needs user and password")
    return tgt, config, keylog


_PLAIN_OPTIONS = frozenset({
    "cookie", "routing_token", "full_logon", "legacy_tls", "follow_negotiation", "expected_name",
    "trace", "client_name", "credssp_version",
})


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    text = text.strip()
    if not text:
        raise ProbeUsageError("empty target")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port)
    return text, None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ProbeUsageError(f"invalid port {text!r}")
    return int(text)


def protocols_value(value: Any) -> int:
    """requestedProtocols from names (``"SSL,HYBRID"``, ``["SSL"]``) or an int."""
    if value is None:
        return ProbeConfig().requested_protocols
    if isinstance(value, int):
        return value
    names = value.split(",") if isinstance(value, str) else list(value)
    total = 0
    for name in names:
        key = name.strip().upper()
        if key not in SecurityProtocol.__members__:
            raise ProbeUsageError(f"unknown protocol {name!r}")
        total |= int(SecurityProtocol[key])
    return total


def _timeouts(opts: dict[str, Any]) -> Timeouts:
    default = Timeouts()
    t = Timeouts(
        connect=float(opts.pop("connect_timeout", default.connect)),
        phase=float(opts.pop("timeout", default.phase)),
        overall=float(opts.pop("deadline", default.overall)),
    )
    if min(t.connect, t.phase, t.overall) <= 0:
        raise ProbeUsageError("timeouts must be positive")
    return t


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
    if not user or password is None:
        raise ProbeUsageError("an authentication check needs both user and password")
    creds = Credentials.parse(user, password)
    return dataclasses.replace(creds, domain=domain) if domain is not None else creds
