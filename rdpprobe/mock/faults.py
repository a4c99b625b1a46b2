"""Fault plans: declarative misbehaviour the mock server applies at a named phase.

A ``Fault`` says *where* (a ``ServerPhase``), *what* (an ``Action``) and *with which
parameters*; a ``FaultPlan`` is an ordered, composable tuple of faults. Faults never carry
hand-written PDUs: the acceptor builds every PDU through ``rdpprobe.wire`` and a fault only
chooses legal-but-unusual field values, rewrites the encoded bytes (garbage, truncation) or
changes the transport (delay, trickle, FIN, RST).

Rules of this module:
- a plan holds at most one *terminal* fault per phase (the first one wins); ``delay`` and
  ``trickle`` are *timing* faults and combine with anything;
- parameters are plain TOML-friendly values (int, float, str, bool), validated here once so
  the acceptor can trust them.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar


class ServerPhase(enum.Enum):
    """Where a fault acts, named after the [MS-RDPBCGR] 1.3.1.1 connection sequence.

    The values match the client's phase names where the two overlap, so one TOML file
    reads the same on both sides.
    """

    LISTEN = "listen"  # Before accept(): refuse, backlog full, wedged listener.
    ACCEPT = "accept"  # Right after accept(), before any byte is read (banners, RST).
    CONNECTION_INITIATION = "connection_initiation"  # X.224 CR/CC (2.2.1.1-2.2.1.2)
    TLS = "tls"  # External security handshake (5.4.5.1)
    NLA = "nla"  # CredSSP [MS-CSSP] 3.1.5
    EARLY_AUTHZ = "early_authz"  # Early User Authorization Result (2.2.10.2)
    BASIC_SETTINGS_EXCHANGE = "basic_settings_exchange"  # MCS Connect Response (2.2.1.4)
    ERECT_DOMAIN = "erect_domain"  # Erect Domain Request (2.2.1.5)
    ATTACH_USER = "attach_user"  # Attach User Confirm (2.2.1.7)
    CHANNEL_JOIN = "channel_join"  # Channel Join Confirm (2.2.1.9)
    SECURITY_COMMENCEMENT = "security_commencement"  # Security Exchange (2.2.1.10)
    SECURE_SETTINGS_EXCHANGE = "secure_settings_exchange"  # Client Info (2.2.1.11)
    LICENSING = "licensing"  # License Error PDU - Valid Client (2.2.1.12)
    CAPABILITIES_EXCHANGE = "capabilities_exchange"  # Demand Active (2.2.1.13.1)
    FINALIZATION = "finalization"  # Synchronize .. Font Map (2.2.1.14-2.2.1.22)
    ACTIVE = "active"  # After the Font Map: the session is up.


class Action(enum.Enum):
    """What the server does at the fault's phase."""

    REFUSE = "refuse"  # Nothing listens on the port (T1).
    BACKLOG_FULL = "backlog_full"  # Listener never accepts and its queue is full (T2).
    WEDGE = "wedge"  # Accept, then RST every connection after the first N (X2).
    BLACKHOLE = "blackhole"  # Stop answering from this phase on (X3, A1).
    RESET = "reset"  # Close with RST (SO_LINGER 0) instead of answering (X2).
    CLOSE = "close"  # Close with FIN instead of answering (X1, C1, M1).
    DELAY = "delay"  # Answer after ``seconds``.
    TRICKLE = "trickle"  # Answer ``chunk`` bytes every ``interval`` seconds (slowloris).
    GARBAGE = "garbage"  # Answer ``size`` pseudo-random bytes (or ``hex``), ``repeat`` times, instead (X4, a flood).
    BANNER = "banner"  # Speak another protocol: ssh, http, tls, vnc (X4).
    NEG_FAILURE = "neg_failure"  # RDP_NEG_FAILURE with ``code`` (N1-N6).
    LEGACY_CC = "legacy_cc"  # CC without rdpNegData (X5).
    SELECT_PROTOCOL = "select_protocol"  # CC selects ``protocol`` whatever was offered (a rewritten CC).
    TLS_ABORT = "tls_abort"  # Alert 80 / FIN / RST after ClientHello, before the certificate (S2).
    TLS_VERSION = "tls_version"  # Accept only TLS ``version`` ("1.0" .. "1.3") (S1).
    TLS_CIPHERS = "tls_ciphers"  # Only suites ``ciphers`` (OpenSSL list), TLS ``version`` if set, client's order if ``client_order``.
    CERTIFICATE = "certificate"  # Serve certificate ``variant`` (S3).
    CREDSSP_ERROR = "credssp_error"  # TSRequest.errorCode ``status`` after AUTHENTICATE (C2).
    CREDSSP_VERSION = "credssp_version"  # Announce ``version``; close if the client's < ``require`` (C3/C4).
    PUBKEY_MISMATCH = "pubkey_mismatch"  # Wrong pubKeyAuth proof (C5).
    AUTHZ_DENIED = "authz_denied"  # Early User Authorization Result ``result`` (C6).
    MCS_RESULT = "mcs_result"  # Connect Response / Attach / Join result ``result`` (M1, M3).
    DOWNGRADE = "downgrade"  # Server core data clientRequestedProtocols = ``requested`` (M2).
    BAD_SERVER_SECURITY = "bad_server_security"  # Broken proprietary certificate ``mode`` (R1).
    LICENSE_ERROR = "license_error"  # LICENSE_ERROR_MESSAGE ``code`` / ``transition`` (L1).
    ERROR_INFO = "error_info"  # Set Error Info ``code``, then DPUm and close (E1).
    ULTIMATUM = "ultimatum"  # Disconnect Provider Ultimatum ``reason``, then close (E2).
    REDIRECT = "redirect"  # Server Redirection PDU to ``target`` (E3).


#: Faults that only change timing; they compose with the terminal fault of a phase.
TIMING_ACTIONS = frozenset({Action.DELAY, Action.TRICKLE})
#: Faults that act on the listening socket, not on a connection.
LISTENER_ACTIONS = frozenset({Action.REFUSE, Action.BACKLOG_FULL, Action.WEDGE})

_Scalar = int | float | str | bool
_SCALAR_TYPES = (int, float, str, bool)
_Member = TypeVar("_Member", bound=enum.Enum)

#: TOML's names for the Python types ``tomllib`` produces, most specific first (bool is an int).
_TOML_TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    ((list, tuple), "array"),
    (Mapping, "table"),
    (datetime.datetime, "datetime"),
    (datetime.date, "date"),
    (datetime.time, "time"),
)

# Required parameters and their types; optional ones have defaults in ``_DEFAULTS``.
_REQUIRED: dict[Action, dict[str, type | tuple[type, ...]]] = {
    Action.DELAY: {"seconds": (int, float)},
    Action.NEG_FAILURE: {"code": int},
    Action.CERTIFICATE: {"variant": str},
    Action.CREDSSP_ERROR: {"status": (int, str)},
    Action.MCS_RESULT: {"result": int},
    Action.ERROR_INFO: {"code": int},
    Action.LICENSE_ERROR: {"code": int},
    Action.BANNER: {"kind": str},
    Action.TLS_VERSION: {"version": str},
    Action.SELECT_PROTOCOL: {"protocol": int},
    Action.TLS_CIPHERS: {"ciphers": str},
}
_DEFAULTS: dict[Action, dict[str, _Scalar]] = {
    Action.WEDGE: {"after": 1, "mode": "reset"},
    Action.RESET: {"after_bytes": -1},
    Action.CLOSE: {"after_bytes": -1},
    Action.TRICKLE: {"chunk": 1, "interval": 0.05},
    Action.GARBAGE: {"size": 64, "hex": "", "repeat": 1},
    Action.TLS_ABORT: {"mode": "alert", "alert": 80},
    Action.TLS_CIPHERS: {"client_order": 0, "version": ""},
    Action.CREDSSP_VERSION: {"version": 2, "require": 0},
    Action.AUTHZ_DENIED: {"result": 5},
    Action.DOWNGRADE: {"requested": 0},
    Action.BAD_SERVER_SECURITY: {"mode": "bad-signature"},
    Action.LICENSE_ERROR: {"transition": 1},
    Action.ULTIMATUM: {"reason": 3},
    Action.REDIRECT: {"target": "127.0.0.1", "lb_info": ""},
}
_BANNER_KINDS = frozenset({"ssh", "http", "tls", "vnc"})
_TLS_ABORT_MODES = frozenset({"alert", "close", "reset"})


class FaultError(ValueError):
    """A fault or plan description that cannot be applied."""


def toml_type(value: object) -> str:
    """The TOML name of ``value``'s type ("string", "array", "table", ...), for messages."""
    for kind, name in _TOML_TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _expected(kind: type | tuple[type, ...]) -> str:
    """``kind`` in TOML words: "integer", "integer or string"."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(next(n for k, n in _TOML_TYPE_NAMES if k is t) for t in kinds)


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour: at ``phase`` the server performs ``action`` with ``params``."""

    phase: ServerPhase
    action: Action
    params: Mapping[str, _Scalar] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        merged = {**_DEFAULTS.get(self.action, {}), **dict(self.params)}
        _validate(self.action, merged)
        object.__setattr__(self, "params", MappingProxyType(merged))

    def param(self, name: str) -> Any:
        """The value of parameter ``name`` (defaults applied)."""
        return self.params[name]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Fault:
        """Build from a TOML table: ``{phase = "...", action = "...", <params>}``.

        ``FaultError`` names the missing or bad key and what was expected.
        """
        if not isinstance(raw, Mapping):
            raise FaultError(f"a fault must be a table, not {toml_type(raw)}")
        phase = _member(ServerPhase, raw, "phase")
        action = _member(Action, raw, "action")
        params = {k: v for k, v in raw.items() if k not in ("phase", "action")}
        return cls(phase, action, params)

    def to_dict(self) -> dict[str, _Scalar]:
        return {"phase": self.phase.value, "action": self.action.value, **dict(self.params)}


def _member(kind: type[_Member], raw: Mapping[str, Any], key: str) -> _Member:
    """The ``kind`` member named by ``raw[key]``: a string, one of the enum's values."""
    if key not in raw:
        raise FaultError(f"missing {key!r}")
    value = raw[key]
    if not isinstance(value, str):
        raise FaultError(f"{key!r} must be a string, not {toml_type(value)}")
    known = {member.value: member for member in kind}
    if value not in known:
        raise FaultError(f"unknown {key} {value!r} (known: {', '.join(known)})")
    return known[value]


def _check_type(action: Action, name: str, value: object, kind: type | tuple[type, ...]) -> None:
    """Raise unless ``value`` is a ``kind`` (a boolean counts only where ``bool`` is named)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise FaultError(f"action {action.value}: parameter {name!r} must be {_expected(kind)}, "
                         f"not {toml_type(value)}")


def _validate(action: Action, params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        _check_type(action, name, value, _SCALAR_TYPES)
    for name, kind in _REQUIRED.get(action, {}).items():
        if name not in params:
            raise FaultError(f"action {action.value} needs parameter {name!r}")
        _check_type(action, name, params[name], kind)
    for name, default in _DEFAULTS.get(action, {}).items():
        wanted = (int, float) if isinstance(default, float) else type(default)
        _check_type(action, name, params[name], wanted)
    if action is Action.BANNER and params["kind"] not in _BANNER_KINDS:
        raise FaultError(f"banner kind must be one of {sorted(_BANNER_KINDS)}")
    if action is Action.TLS_ABORT and params["mode"] not in _TLS_ABORT_MODES:
        raise FaultError(f"tls_abort mode must be one of {sorted(_TLS_ABORT_MODES)}")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """An ordered set of faults; ``+`` composes two plans."""

    faults: tuple[Fault, ...] = ()

    def __add__(self, other: FaultPlan) -> FaultPlan:
        return FaultPlan(self.faults + other.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def at(self, phase: ServerPhase) -> tuple[Fault, ...]:
        """Every fault registered for ``phase``, in plan order."""
        return tuple(f for f in self.faults if f.phase is phase)

    def terminal(self, phase: ServerPhase) -> Fault | None:
        """The first non-timing fault at ``phase``, if any."""
        return next((f for f in self.at(phase) if f.action not in TIMING_ACTIONS), None)

    def timing(self, phase: ServerPhase) -> tuple[Fault, ...]:
        return tuple(f for f in self.at(phase) if f.action in TIMING_ACTIONS)

    def find(self, action: Action) -> Fault | None:
        """The first fault with ``action`` at any phase."""
        return next((f for f in self.faults if f.action is action), None)

    @classmethod
    def of(cls, *faults: Fault) -> FaultPlan:
        return cls(tuple(faults))

    @classmethod
    def from_list(cls, raw: Iterable[Mapping[str, Any]]) -> FaultPlan:
        """Build from a TOML array of fault tables; ``FaultError`` says which fault is bad."""
        if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
            raise FaultError(f"'faults' must be an array of tables, not {toml_type(raw)}")
        faults: list[Fault] = []
        for number, item in enumerate(raw, 1):
            try:
                faults.append(Fault.from_dict(item))
            except FaultError as exc:
                raise FaultError(f"fault {number}: {exc}") from exc
        return cls(tuple(faults))

    def to_list(self) -> list[dict[str, _Scalar]]:
        return [f.to_dict() for f in self.faults]
