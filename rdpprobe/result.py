"""What a probe returns: the target, how far it got, the evidence, the verdict and the facts.

Rules of this module:
- every type is a frozen, slotted dataclass, never mutated: a prober collects what it learns
  and builds each value once; a later change is a new value (``dataclasses.replace`` or
  ``Facts.update``);
- ``to_dict()`` is the JSON form, one for every output (``check --json``, a scan's JSON
  Lines, the library): the envelope's keys first (``schema_version``, ``timestamp``, ``ip``,
  ``port``, ``hostname``: ``envelope_keys``), then the result's; snake_case keys, enums by
  their value (the snake_case name), bytes as lowercase hex, datetimes as RFC 3339 UTC
  strings; ``rdpprobe/schema/result-v1.json`` is its JSON Schema;
- in the JSON form the top-level keys and the verdict keys are always present (``null`` when
  unknown); inside ``facts`` a field that was never learned is omitted, so ``facts`` only says
  what the probe actually saw.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

from rdpprobe.addresses import host_port, ip_literal
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

# Width of a FreeRDP error code in hex digits: class << 16 | code (include/freerdp/error.h).
FREERDP_CODE_HEX_DIGITS = 8

SCHEMA_VERSION = 1
"""Version of the JSON form; bump it (and the schema file) on any breaking change."""
_RFC3339_UTC_MILLIS = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"

AUTH_NOT_REQUESTED = "not_requested"
AUTH_SUCCEEDED = "succeeded"
AUTH_FAILED = "failed"
AUTH_NOT_PERFORMED = "not_performed"
#: The probe kept the password to itself: the server proved nothing (see ``AuthOutcome``).
AUTH_WITHHELD = "withheld"
AUTH_STATUSES = frozenset({AUTH_NOT_REQUESTED, AUTH_SUCCEEDED, AUTH_FAILED, AUTH_NOT_PERFORMED, AUTH_WITHHELD})


@dataclass(frozen=True, slots=True)
class Target:
    """The endpoint probed."""

    host: str
    """The name or address as the user gave it."""
    port: int
    address: str | None = None
    """The IP address actually connected to, once resolved."""

    def __str__(self) -> str:
        """``host:port``, with an IPv6 address in brackets: ``[2001:db8::1]:3389``."""
        return host_port(self.host, self.port)


@dataclass(frozen=True, slots=True)
class MsClientCode:
    """What the Microsoft client would show (taxonomy §3a, §3d)."""

    code: int
    """``discReason`` as a number, e.g. 0x204 (516); JSON's ``code_int``."""
    message: str
    confidence: str
    """``high``, ``medium`` or ``low``: how sure the mapping is (taxonomy §4.1 legend)."""
    extended: int | None = None
    """The extended disconnect reason, where the client shows one (Set Error Info value)."""

    @property
    def hex(self) -> str:
        """The code as the client's dialog shows it, e.g. ``0x204``; JSON's ``code``."""
        return f"0x{self.code:x}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The classified outcome of a probe, in the terms an administrator sees."""

    category: str
    """Short snake_case class of outcome, e.g. ``port_closed``, ``tls_failed``, ``ok``."""
    ms_client: MsClientCode | None
    freerdp: str | None
    """FreeRDP's name for it, e.g. ``ERRCONNECT_CONNECT_TRANSPORT_FAILED``."""
    freerdp_code: int | None
    """The full FreeRDP code, class << 16 | code (0x0002xxxx connect, 0x0001xxxx errinfo)."""
    causes: tuple[str, ...]
    remediation: tuple[str, ...]
    """Fixes in the order to try them."""
    taxonomy_id: str
    """The row of reference/protocol-taxonomy.md §4.1 this verdict comes from, e.g. ``T1``."""
    summary: str
    """One sentence for a person."""
    freerdp_2: str | None = None
    """FreeRDP 2.11's name for it where it differs from ``freerdp`` (FreeRDP 3.x's), else
    the same name (None with ``freerdp``)."""

    @property
    def ok(self) -> bool:
        return self.category == "ok"


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """An X.509 certificate as a probe reports it (see ``rdpprobe.certinfo``)."""

    subject: str | None = None
    issuer: str | None = None
    common_name: str | None = None
    san_dns: tuple[str, ...] = ()
    san_ip: tuple[str, ...] = ()
    serial: str | None = None
    """Serial number as lowercase hex."""
    not_before: str | None = None
    not_after: str | None = None
    key_type: str | None = None
    """``rsa``, ``ec``, ``dsa``, ``ed25519``, ``ed448`` or ``unknown``."""
    key_size: int | None = None
    signature_hash: str | None = None
    """Hash of the signature algorithm, e.g. ``sha256``; None for hash-less schemes."""
    sha256: str | None = None
    """SHA-256 fingerprint of the DER encoding, lowercase hex."""
    ekus: tuple[str, ...] | None = None
    """Extended key usage OIDs (dotted); None when the extension is absent."""
    findings: tuple[str, ...] = ()
    parse_error: str | None = None


@dataclass(frozen=True, slots=True)
class TrustFacts:
    """Whether the server's certificate chain validates against a trust store (RFC 5280 6).

    ``trusted`` is None when the check could not be made (no certificate seen, the store
    unreadable, the intermediates the server sent not visible): unknown, never False.
    """

    trusted: bool | None = None
    error: str | None = None
    """Why the chain did not validate, or why it could not be checked."""
    store: str | None = None
    """What was trusted: ``system``, ``ca-file:PATH`` or ``ca-path:PATH``."""


@dataclass(frozen=True, slots=True)
class TlsFacts:
    """The external security layer as negotiated."""

    version: str | None = None
    cipher: str | None = None
    certificate: CertificateFacts | None = None
    findings: tuple[str, ...] = ()
    trust: TrustFacts | None = None
    """Chain validation of the certificate; None: not checked."""


@dataclass(frozen=True, slots=True)
class NtlmFacts:
    """NTLM CHALLENGE target information [MS-NLMP] 2.2.2.1 (AV_PAIRs) and 2.2.2.10 (VERSION)."""

    netbios_domain: str | None = None
    netbios_computer: str | None = None
    dns_domain: str | None = None
    dns_computer: str | None = None
    dns_tree: str | None = None
    product_version: str | None = None
    """``major.minor.build``, e.g. ``10.0.20348``."""
    build: int | None = None
    timestamp: str | None = None
    """Server time from MsvAvTimestamp, ISO 8601 UTC."""


@dataclass(frozen=True, slots=True)
class ServerCoreFacts:
    """[MS-RDPBCGR] 2.2.1.4.2 Server Core Data (TS_UD_SC_CORE)."""

    rdp_version: int | None = None
    rdp_version_name: str | None = None
    client_requested_protocols: int | None = None
    """``clientRequestedProtocols`` as echoed by the server."""
    early_capability_flags: int | None = None
    early_capability_flag_names: tuple[str, ...] | None = None
    """None when the server sent no earlyCapabilityFlags field (unknown, not "none set")."""


@dataclass(frozen=True, slots=True)
class EncryptionFacts:
    """[MS-RDPBCGR] 2.2.1.4.3 Server Security Data (TS_UD_SC_SEC1)."""

    method: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """Channel ids from Server Network Data (2.2.1.4.4) and the joins (2.2.1.8-2.2.1.9)."""

    io_channel: int | None = None
    user_id: int | None = None
    joined: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CapabilityFacts:
    """[MS-RDPBCGR] 2.2.1.13.1 Demand Active: what the server offered."""

    capability_sets: tuple[str, ...] = ()
    desktop_width: int | None = None
    desktop_height: int | None = None


@dataclass(frozen=True, slots=True)
class RedirectionFacts:
    """[MS-RDPBCGR] 2.2.13 Server Redirection PDU."""

    session_id: int | None = None
    redir_flags: int | None = None
    redir_flag_names: tuple[str, ...] = ()
    target_address: str | None = None
    target_fqdn: str | None = None
    load_balance_info: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """Whether credentials were checked, and how it went.

    A server that never selected CredSSP gets ``not_performed``, never ``succeeded``; a full
    logon to a server that proved nothing (no CredSSP key proof, no certificate trusted for
    the name) gets ``withheld``: the password was not sent.
    """

    status: str = AUTH_NOT_REQUESTED
    """One of ``not_requested``, ``succeeded``, ``failed``, ``not_performed``, ``withheld``."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TlsVersionSupport:
    """One TLS version as ``--audit`` tried it: accepted or not, and with which suites."""

    version: str
    """Spelled as ``TlsFacts.version``: ``SSLv3``, ``TLSv1``, ``TLSv1.1``, ``TLSv1.2``, ``TLSv1.3``."""
    accepted: bool | None
    """None: not tested (the TLS library cannot offer it, or the connections failed
    for another reason than the server's refusal)."""
    ciphers: tuple[str, ...] = ()
    """IANA names of the suites the server accepted with this version, in the order it chose them."""
    complete: bool | None = None
    """True when the offers went on until the server refused one: ``ciphers`` is every suite
    it accepts of those the library can offer. False: cut short (deadline, budget, a failed
    connection), so suites not listed are unknown."""


@dataclass(frozen=True, slots=True)
class TlsAuditFacts:
    """The TLS versions, suites and groups a server accepts (``--audit``), each one from a
    handshake inside X.224 negotiation that selected SSL ([MS-RDPBCGR] 5.4.5.1)."""

    versions: tuple[TlsVersionSupport, ...] = ()
    server_cipher_preference: bool | None = None
    """True: the server chose the same suite from an offer and from its reverse."""
    groups: tuple[str, ...] | None = None
    """Key exchange groups accepted, where enumerated (None: not enumerated)."""
    library: str | None = None
    """The TLS library that made the offers (what it cannot offer stays untested)."""


@dataclass(frozen=True, slots=True)
class RdpEncryptionAuditFacts:
    """Standard RDP Security encryption methods a server accepts (``--audit``): one
    connection per method, offering only it in Client Security Data ([MS-RDPBCGR]
    2.2.1.3.3), with the server's choice read from Server Security Data (2.2.1.4.3)."""

    methods_accepted: tuple[str, ...] = ()
    """``EncryptionMethod`` names the server chose when offered alone."""
    methods_refused: tuple[str, ...] = ()
    """Offered alone, the server chose another method or refused the connection."""
    methods_unknown: tuple[str, ...] = ()
    """Not established: the connection failed for another reason, or was never made."""
    levels: tuple[str, ...] = ()
    """``EncryptionLevel`` names the server answered with."""


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything learned on the way; every field stays None until the probe learns it."""

    selected_protocol: str | None = None
    requested_protocols: tuple[str, ...] | None = None
    accepted_protocols: tuple[str, ...] | None = None
    """Protocols the server accepted when enumerated over several connections; None when no
    enumeration connection got an answer (nothing was observed)."""
    refused_protocols: tuple[str, ...] | None = None
    """Enumerated protocols the server refused: RDP_NEG_FAILURE, or it selected another."""
    unanswered_protocols: tuple[str, ...] | None = None
    """Enumerated protocols whose connection got no Connection Confirm (reset, closed): for
    these the server's answer is unknown."""
    nla_required: bool | None = None
    """True or False only from evidence: a refusal naming CredSSP, a protocol without it
    selected, or an enumeration that saw it; None (unknown) otherwise."""
    neg_flags: int | None = None
    neg_flag_names: tuple[str, ...] | None = None
    neg_failure_code: int | None = None
    neg_failure_requested: tuple[str, ...] | None = None
    """What the request refused with ``neg_failure_code`` offered, when the probe then
    reconnected offering something else (``requested_protocols`` is the last request)."""
    legacy_no_negotiation: bool | None = None
    """The Connection Confirm carried no RDP_NEG data (taxonomy X5)."""
    tls: TlsFacts | None = None
    ntlm: NtlmFacts | None = None
    credssp_version: int | None = None
    client_credssp_version: int | None = None
    """The TSRequest version this probe announced; a server answers with its own supported
    version, and treats a higher one as its own ([MS-CSSP] 2.2.1)."""
    server_core: ServerCoreFacts | None = None
    encryption: EncryptionFacts | None = None
    channels: ChannelFacts | None = None
    licensing: str | None = None
    """Licensing outcome, e.g. ``valid_client``."""
    licensing_quirk: str | None = None
    """A known deviation the server's licensing PDUs showed and the probe accepted:
    ``wmsgsize_counts_security_header`` (IronRDP's wMsgSize, [MS-RDPBCGR] 2.2.1.12.1.1)."""
    capabilities: CapabilityFacts | None = None
    redirection: RedirectionFacts | None = None
    auth: AuthOutcome | None = None
    tls_audit: TlsAuditFacts | None = None
    """TLS versions and suites accepted, from ``--audit``; None: not enumerated."""
    rdp_encryption_audit: RdpEncryptionAuditFacts | None = None
    """Standard RDP Security encryption methods accepted, from ``--audit``; None: not enumerated."""
    possible_downgrade: str | None = None
    """Set only from observed evidence: what the server selected or required before (an
    earlier connection of the same probe) and the weaker protocol it selected now."""
    mcs_result: int | None = None
    """T.125 Result of the MCS confirm the server refused with (Connect Response, Attach
    User or Channel Join, [MS-RDPBCGR] 2.2.1.4, 2.2.1.7, 2.2.1.9); 0 is rt-successful."""
    authz_result: int | None = None
    """[MS-RDPBCGR] 2.2.10.2 authorizationResult of a refused Early User Authorization."""

    def update(self, **changes: Any) -> Facts:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Finding:
    """One security finding from the catalogue in ``rdpprobe.findings``, with its evidence."""

    id: str
    """Stable id, e.g. ``nla-not-required``."""
    severity: str
    """``critical``, ``high``, ``medium``, ``low`` or ``info``."""
    title: str
    evidence: tuple[str, ...]
    """The observed facts that triggered it, as ``fact = value``."""
    fix: str
    references: tuple[str, ...]
    """Specification sections, Microsoft documentation, CVE ids."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe against one target."""

    target: Target
    started_at: datetime
    """When the probe started, timezone-aware UTC."""
    phase_reached: Phase | None
    """The last phase entered."""
    failed_phase: Phase | None
    """The phase that failed; None on success."""
    signal: Signal
    detail: str | None
    verdict: Verdict
    timings: tuple[tuple[Phase, float], ...] = ()
    """Seconds spent per phase, in order."""
    skipped_phases: tuple[Phase, ...] = ()
    facts: Facts = field(default_factory=Facts)
    advisories: tuple[Verdict, ...] = ()
    """Findings that did not stop the probe but that a client would meet: a certificate a
    Microsoft client warns about (S3), a legacy server (X5), TLS 1.0 only (S1), a refused
    first negotiation the probe recovered from (N1/N2/N5)."""
    findings: tuple[Finding, ...] = ()
    """Security findings from what the probe observed (``rdpprobe.findings``), most severe first."""
    trace: tuple[Any, ...] | None = None
    """Debug-only record of the exchange; omitted from ``to_dict`` unless asked for."""

    @property
    def ok(self) -> bool:
        return self.failed_phase is None and self.verdict.category == "ok"

    @property
    def error(self) -> str | None:
        """The internal error message, if rdpprobe itself failed."""
        return self.detail if self.signal is Signal.INTERNAL_ERROR else None

    def to_dict(self, *, include_trace: bool = False) -> dict[str, Any]:
        """The JSON form (see the module docstring for the conventions)."""
        # Enum members are read through ``_value_``, the attribute the ``value`` property
        # returns, at a tenth of the cost: a result carries one signal and a phase per timing.
        target = _plain(self.target, omit_none=False)
        out: dict[str, Any] = {
            **envelope_keys(target, self.started_at),
            "target": target,
            "started_at": _plain(self.started_at),
            "phase_reached": _plain(self.phase_reached),
            "failed_phase": _plain(self.failed_phase),
            "signal": self.signal._value_,
            "detail": self.detail,
            "verdict": verdict_to_dict(self.verdict),
            "timings": {phase._value_: seconds for phase, seconds in self.timings},
            "skipped_phases": [phase._value_ for phase in self.skipped_phases],
            "facts": _plain(self.facts),
            "advisories": [verdict_to_dict(v) for v in self.advisories],
            "findings": [_plain(f) for f in self.findings],
            "error": self.error,
        }
        if include_trace:
            out["trace"] = _plain(self.trace)
        return out


def envelope_keys(target: Mapping[str, Any], timestamp: datetime) -> dict[str, Any]:
    """The keys every JSON result starts with, from its ``target`` object and ``timestamp``.

    ``ip`` is the address probed (the target's literal address, or the resolved one);
    ``hostname`` is the name the user gave, None when they gave an address.
    """
    host, address = target.get("host"), target.get("address")
    if address is None and _is_address(host):
        address = host
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": rfc3339(timestamp),
        "ip": address,
        "port": target.get("port"),
        "hostname": None if host is None or host == address or _is_address(host) else host,
    }


def _is_address(text: Any) -> bool:
    return isinstance(text, str) and ip_literal(text) is not None


def rfc3339(timestamp: datetime) -> str:
    """``timestamp`` in UTC to the millisecond (truncated, as ``isoformat`` does), with a Z."""
    if timestamp.tzinfo is not UTC:  # Already UTC, the usual case: nothing to check or convert.
        if timestamp.tzinfo is None or timestamp.utcoffset() is None:
            raise ValueError("timestamp has no time zone; pass an aware datetime")
        timestamp = timestamp.astimezone(UTC)
    return _RFC3339_UTC_MILLIS % (
        timestamp.year, timestamp.month, timestamp.day,
        timestamp.hour, timestamp.minute, timestamp.second, timestamp.microsecond // 1000,
    )  # fmt: skip


def format_freerdp_code(code: int | None) -> str | None:
    """``0x0002000d`` style, as FreeRDP logs print it."""
    return None if code is None else f"0x{code:0{FREERDP_CODE_HEX_DIGITS}x}"


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    """The JSON form of a verdict; every key is always present."""
    return {
        "category": verdict.category,
        "ms_client": _ms_client_to_dict(verdict.ms_client),
        "freerdp": verdict.freerdp,
        "freerdp_code": format_freerdp_code(verdict.freerdp_code),
        "freerdp_2": verdict.freerdp_2,
        "causes": list(verdict.causes),
        "remediation": list(verdict.remediation),
        "taxonomy_id": verdict.taxonomy_id,
        "summary": verdict.summary,
    }


def _ms_client_to_dict(ms: MsClientCode | None) -> dict[str, Any] | None:
    if ms is None:
        return None
    return {
        "code": ms.hex,
        "code_int": ms.code,
        "message": ms.message,
        "confidence": ms.confidence,
        "extended": None if ms.extended is None else f"0x{ms.extended:x}",
    }


def internal_error_result(
    target: Target, started_at: datetime, message: str, phase_reached: Phase | None = None
) -> ProbeResult:
    """The result for a probe that rdpprobe itself broke on; the scan goes on."""
    verdict = Verdict(
        category="internal_error",
        ms_client=None,
        freerdp=None,
        freerdp_code=None,
        causes=("a bug in rdpprobe, not a property of the server",),
        remediation=("report the error with the debug trace",),
        taxonomy_id="INTERNAL",
        summary="rdpprobe hit an internal error; this says nothing about the server",
    )
    return ProbeResult(
        target=target,
        started_at=started_at,
        phase_reached=phase_reached,
        failed_phase=phase_reached,
        signal=Signal.INTERNAL_ERROR,
        detail=message,
        verdict=verdict,
    )


#: Types that are already JSON values.
_JSON_SCALARS = frozenset({str, int, float, bool})

_Converter = Callable[[Any, bool], Any]
"""Makes one value of a known type JSON-ready; the flag is ``omit_none``."""
_FieldReader = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]


def _plain(value: Any, omit_none: bool = True) -> Any:
    """A JSON-ready copy of ``value`` (dataclasses, enums, bytes, datetimes, containers).

    ``omit_none`` drops the None fields of dataclasses, at every depth.
    """
    kind: type = type(value)
    if kind in _JSON_SCALARS or value is None:
        return value
    return _converter(kind)(value, omit_none)


@functools.cache
def _converter(kind: type) -> _Converter:
    """The converter for values of exactly type ``kind``.

    Which conversion applies depends on the type alone, so it is chosen once per type
    instead of testing every value against each kind in turn.
    """
    reader = _field_reader(kind)
    if reader is not None:
        return _dataclass_converter(reader)
    for bases, convert in _CONVERTERS_BY_BASE:
        if issubclass(kind, bases):
            return convert
    return _unchanged


@functools.cache
def _field_reader(kind: type) -> _FieldReader | None:
    """A dataclass type's field names, in order, and one call that reads them all at once;
    None for any other type."""
    if not dataclasses.is_dataclass(kind):
        return None
    names = tuple(f.name for f in dataclasses.fields(kind))
    if len(names) == 1:
        only = names[0]
        return names, lambda value: (getattr(value, only),)
    return names, operator.attrgetter(*names)


def _dataclass_converter(reader: _FieldReader) -> _Converter:
    """A converter to a dict of the fields in declaration order, None fields dropped when
    ``omit_none`` is set."""
    names, read = reader

    def convert(value: Any, omit_none: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in zip(names, read(value)):
            kind: type = type(item)
            if kind in _JSON_SCALARS:  # _plain's work, inlined: this runs for every field.
                out[name] = item
            elif item is not None:
                out[name] = _converter(kind)(item, omit_none)
            elif not omit_none:
                out[name] = None
        return out

    return convert


def _plain_enum(value: enum.Enum, omit_none: bool) -> Any:
    """The value if it is text, else the name (``_value_``: see ``ProbeResult.to_dict``)."""
    raw = value._value_
    return raw if isinstance(raw, str) else value._name_


def _plain_bytes(value: bytes | bytearray | memoryview, omit_none: bool) -> str:
    return bytes(value).hex()


def _plain_datetime(value: datetime, omit_none: bool) -> str:
    return value.isoformat()


def _plain_items(value: Any, omit_none: bool) -> list[Any]:
    """A tuple, list or set as a JSON array."""
    # _plain's scalar test, inlined: items are mostly strings, and a call costs more.
    return [item if type(item) in _JSON_SCALARS else _plain(item, omit_none) for item in value]


def _plain_mapping(value: dict[Any, Any], omit_none: bool) -> dict[str, Any]:
    """A dict as a JSON object: keys converted, then made text."""
    return {str(_plain(k)): _plain(v, omit_none) for k, v in value.items()}


def _unchanged(value: Any, omit_none: bool) -> Any:
    return value


#: The converter for each kind of value that is not a dataclass, tried in this order.
_CONVERTERS_BY_BASE: tuple[tuple[type | tuple[type, ...], _Converter], ...] = (
    (enum.Enum, _plain_enum),
    ((bytes, bytearray, memoryview), _plain_bytes),
    (datetime, _plain_datetime),
    ((tuple, list, frozenset, set), _plain_items),
    (dict, _plain_mapping),
)
