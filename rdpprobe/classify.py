"""From (phase, signal, detail) to a Verdict an administrator can act on.

Rules of this module:
- There is ONE table. ``ROWS`` (kept in ``rdpprobe.rows`` for size, re-exported here) holds
  every verdict the probe can give; each row cites its row in reference/protocol-taxonomy.md
  §4.1 (``taxonomy_id``). Variants of a taxonomy row (the same row seen in another phase, say)
  get their own key, e.g. ``A1_dropped``.
- ``PHASE_ROUTES`` picks a row from ``(phase, signal)``; otherwise ``DEFAULT_ROUTES`` picks
  one from the signal alone. Every Signal has a default, so every combination lands somewhere.
- ``REFINERS``, keyed by row key, read ``Detail`` to choose a more precise row or fill in codes
  (RDP_NEG_FAILURE code, NTSTATUS, errorInfo, TLS alert, Disconnect Provider Ultimatum reason).
- ``classify()`` is total: any phase (or None), any Signal and any Detail give a Verdict; it
  never raises. ``SILENT`` and a ``TIMEOUT`` after TCP connect are the same observation.
- A Microsoft client code is given only where the taxonomy names one; ``confidence`` says how
  sure the mapping is (high/medium/low after the taxonomy's H/M/L).
- Certificate trust never fails a probe: ``classify_certificate()`` words the S3 finding.
- Pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

from rdpprobe.reasons import (
    DPUM_REASONS,
    ERRINFO,
    LICENSE_ERRORS,
    LOW,
    MEDIUM,
    NOT_RDP_KINDS,
    NTSTATUS,
    SSL_ERR_MESSAGES,
    TLS_ALERTS,
    errinfo_code,
    errinfo_group,
    freerdp_2_name,
    freerdp_errinfo_name,
    freerdp_connect_code,
)
from rdpprobe.remedies import CERT_FINDING_ADVICE, PORT, Advice, advice_for
from rdpprobe.result import Facts, MsClientCode, Verdict
from rdpprobe.rows import (
    MS_CERT_UNTRUSTED,
    MSG_BY_SERVER,
    MSG_LICENSING,
    NOT_RDP_SUMMARY,
    ROW,
    ROWS,
    Row,
    ms_code,
    verdict_for,
)
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.specs import DEFAULT_PORT

# ---- protocol numbers ----------------------------------------------------------------------------
TLS_ALERT_ACCESS_DENIED = 49  # RFC 5246 7.2.2
TLS_ALERT_INTERNAL_ERROR = 80  # RFC 5246 7.2.2
ERRINFO_INSUFFICIENT_PRIVILEGES = 0x0009  # [MS-RDPBCGR] 2.2.5.1.1
ERRINFO_LICENSE_FIRST, ERRINFO_LICENSE_LAST = 0x0100, 0x010A  # [MS-RDPBCGR] 2.2.5.1.1
ERRINFO_LOGOFF_BY_USER = 0x000C
ERRINFO_RPC_INITIATED_DISCONNECT = 0x0001
DPUM_USER_REQUESTED = 3  # T.125 Reason rn-user-requested
NEG_FAILURE_CODES = range(1, 7)  # [MS-RDPBCGR] 2.2.1.2.2 failureCode 1..6
SSL_REQUIRED_BY_SERVER = 1  # [MS-RDPBCGR] 2.2.1.2.2 failureCode
#: Distinct outcomes remembered by the classifier's cache.
CLASSIFY_CACHE_SIZE = 4096

__all__ = [
    "DEFAULT_ROUTES",
    "PHASE_ROUTES",
    "ROW",
    "ROWS",
    "Detail",
    "Row",
    "classify",
    "classify_certificate",
    "route",
    "verdict_for",
]


@dataclass(frozen=True, slots=True)
class Detail:
    """What refines a (phase, signal) pair; every field is optional."""

    neg_failure_code: int | None = None
    """RDP_NEG_FAILURE failureCode (N1-N6, or an unknown code)."""
    ntstatus: int | None = None
    """TSRequest.errorCode (C2)."""
    error_info: int | None = None
    """Set Error Info errorInfo (E1, or L1 for 0x100-0x10A)."""
    dpum_reason: int | None = None
    """Disconnect Provider Ultimatum reason (E2)."""
    tls_alert: int | None = None
    """TLS alert description received from the server."""
    before_certificate: bool | None = None
    """True when the TLS handshake ended before the server sent its certificate (S2)."""
    license_error_code: int | None = None
    """LICENSE_ERROR_MESSAGE dwErrorCode (L1)."""
    not_rdp_kind: str | None = None
    """``ssh``, ``http``, ``tls``, ``vnc`` or ``unknown`` (X4)."""
    credssp_version: int | None = None
    """TSRequest.version the server announced (C4)."""
    legacy_no_negotiation: bool = False
    """The Connection Confirm carried no RDP_NEG data (X5)."""
    client_credssp_version: int | None = None
    """The CredSSP version the probe announced; a close answering a version below 6 is C4."""
    after_authenticate: bool = False
    """The connection ended after the client sent NTLM AUTHENTICATE (C3: credentials rejected)."""
    mcs_result: int | None = None
    """T.125 Result of a refused Connect Response, Attach User or Channel Join (M1, M3)."""
    authz_result: int | None = None
    """[MS-RDPBCGR] 2.2.10.2 authorizationResult of a refused early user authorization (C6)."""
    requested_protocols: tuple[str, ...] | None = None
    """The protocols the refused request offered (``Facts.requested_protocols``), for N1."""


_P = Phase
_S = Signal

# fmt: off
#: The row for a signal in any phase that PHASE_ROUTES does not list (taxonomy §4.1).
DEFAULT_ROUTES: dict[Signal, str] = {
    _S.OK: "OK_partial",
    _S.DNS_FAILURE: "D1",
    _S.REFUSED: "T1",
    _S.TIMEOUT: "T2",
    _S.UNREACHABLE: "T3",
    _S.EOF: "X1",
    _S.RESET: "X2",
    _S.SILENT: "X3",
    _S.NOT_RDP: "X4",
    _S.NEG_FAILURE: "N*",
    _S.TLS_ALERT: "S1",
    _S.TLS_EOF: "S2",
    _S.TLS_ERROR: "S1",
    _S.CREDSSP_ERROR: "C2",
    _S.CREDSSP_VERSION: "C4",
    _S.PUBKEY_MISMATCH: "C5",
    _S.AUTHZ_DENIED: "C6",
    _S.MCS_REJECTED: "M1",
    _S.DOWNGRADE: "M2",
    _S.BAD_SERVER_SECURITY: "R1",
    _S.LICENSE_ERROR: "L1",
    _S.SET_ERROR_INFO: "E1",
    _S.DISCONNECT_ULTIMATUM: "E2",
    _S.REDIRECTED: "E3",
    _S.CREDENTIALS_WITHHELD: "S3_withheld",
    _S.DECODE_ERROR: "DECODE",
    _S.FLOOD: "FLOOD",
    _S.INTERNAL_ERROR: "INTERNAL",
}

#: Where the same signal means something else because of the phase it arrived in.
PHASE_ROUTES: dict[tuple[Phase, Signal], str] = {
    (_P.DNS, _S.TIMEOUT): "D1",                              # EAI_AGAIN
    (_P.DNS, _S.SILENT): "D1",
    (_P.TCP_CONNECT, _S.RESET): "T1",                        # RST to the SYN
    (_P.TCP_CONNECT, _S.SILENT): "T2",
    (_P.CONNECTION_INITIATION, _S.DECODE_ERROR): "X4",
    (_P.TLS, _S.EOF): "S2",                                  # FIN/RST right after ClientHello
    (_P.TLS, _S.RESET): "S2",
    (_P.TLS, _S.SILENT): "S2_silent",
    (_P.NLA, _S.EOF): "C1",
    (_P.NLA, _S.RESET): "C1",
    (_P.NLA, _S.TLS_EOF): "C1",
    (_P.NLA, _S.TLS_ERROR): "C1",
    (_P.NLA, _S.SILENT): "C1_silent",
    (_P.NLA, _S.TLS_ALERT): "C3",                            # alert 80 from a CredSSP v2 server
    (_P.BASIC_SETTINGS_EXCHANGE, _S.EOF): "M1",
    (_P.BASIC_SETTINGS_EXCHANGE, _S.RESET): "M1",
    (_P.BASIC_SETTINGS_EXCHANGE, _S.SILENT): "M1_silent",
    (_P.CHANNEL_CONNECTION, _S.EOF): "M3",
    (_P.CHANNEL_CONNECTION, _S.RESET): "M3",
    (_P.CHANNEL_CONNECTION, _S.SILENT): "M3_silent",
    (_P.CHANNEL_CONNECTION, _S.MCS_REJECTED): "M3",
    (_P.SECURITY_COMMENCEMENT, _S.EOF): "R1_dropped",
    (_P.SECURITY_COMMENCEMENT, _S.RESET): "R1_dropped",
    (_P.SECURITY_COMMENCEMENT, _S.SILENT): "A1",             # nothing due before Client Info
    (_P.SECURE_SETTINGS_EXCHANGE, _S.EOF): "A1_dropped",     # dropped during logon
    (_P.SECURE_SETTINGS_EXCHANGE, _S.RESET): "A1_dropped",
    (_P.SECURE_SETTINGS_EXCHANGE, _S.SILENT): "A1",
    (_P.LICENSING, _S.EOF): "A1_dropped",
    (_P.LICENSING, _S.RESET): "A1_dropped",
    (_P.LICENSING, _S.SILENT): "A1_licensing",
    (_P.CAPABILITIES_EXCHANGE, _S.EOF): "A1_dropped",
    (_P.CAPABILITIES_EXCHANGE, _S.RESET): "A1_dropped",
    (_P.CAPABILITIES_EXCHANGE, _S.SILENT): "A1",
}

#: The taxonomy family of an undecodable reply, by phase.
_DECODE_FAMILY: dict[Phase, str] = {
    _P.CONNECTION_INITIATION: "X4",
    _P.TLS: "S1",
    _P.NLA: "C1",
    _P.BASIC_SETTINGS_EXCHANGE: "M1",
    _P.CHANNEL_CONNECTION: "M3",
    _P.SECURITY_COMMENCEMENT: "R1",
    _P.SECURE_SETTINGS_EXCHANGE: "A1",
    _P.LICENSING: "L1",
    _P.CAPABILITIES_EXCHANGE: "A1",
}
# fmt: on

#: Phases in which a connect timeout is a timeout; later it is a silent server.
_CONNECT_PHASES = frozenset({None, _P.DNS, _P.TCP_CONNECT})


# ---- building verdicts ---------------------------------------------------------------------------


def _with_freerdp(verdict: Verdict, suffix: str) -> Verdict:
    code = freerdp_connect_code(suffix)
    return replace(verdict, freerdp=f"ERRCONNECT_{suffix}", freerdp_code=code, freerdp_2=None)


def _with_advice(verdict: Verdict, advice: Advice) -> Verdict:
    return replace(verdict, causes=advice.causes, remediation=advice.remediation)


def _append(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, summary=f"{verdict.summary} ({note})")


def _hex(value: int) -> str:
    return f"0x{value:x}" if value >= 0 else str(value)


# ---- refiners: Detail -> a more precise verdict --------------------------------------------------


def _refine_negotiation(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    code = detail.neg_failure_code
    if code == SSL_REQUIRED_BY_SERVER and detail.requested_protocols is not None:
        return _ssl_required(detail.requested_protocols)
    if code in NEG_FAILURE_CODES:
        return verdict_for(f"N{code}")
    return verdict if code is None else _append(verdict, f"failureCode {_hex(code)}")


_CREDSSP = frozenset({"HYBRID", "HYBRID_EX"})


def _ssl_required(requested: tuple[str, ...]) -> Verdict:
    """N1 in the words of what the client requested ([MS-RDPBCGR] 2.2.1.1.1, 3.3.5.3.2)."""
    offered = "|".join(requested) or "RDP"
    if "SSL" in requested:
        why = (f"the server asked for TLS although the client offered it ({offered}): a server "
               "fault, or a middlebox that rewrote the request")  # fmt: skip
    elif _CREDSSP & set(requested):
        why = (f"the client offered CredSSP without PROTOCOL_SSL ({offered}); this server "
               "requires the SSL bit itself")  # fmt: skip
    else:
        why = "the client offered only Standard RDP Security (PROTOCOL_RDP)"
    n1 = verdict_for("N1")
    summary = f"The server speaks RDP and requires TLS (SSL_REQUIRED_BY_SERVER): {why}"
    return replace(n1, summary=summary, causes=(why,) + n1.causes)


def _alert_note(alert: int) -> str:
    return f"TLS alert {alert} {TLS_ALERTS.get(alert, 'unknown')}"


def _refine_tls_failure(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    if detail.tls_alert == TLS_ALERT_INTERNAL_ERROR and detail.before_certificate is not False:
        verdict = verdict_for("S2")
    return verdict if detail.tls_alert is None else _append(verdict, _alert_note(detail.tls_alert))


_AFTER_CERTIFICATE = (
    "The server ended the TLS handshake after sending its certificate: version, cipher or "
    "policy mismatch"
)


def _refine_tls_abort(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    if detail.before_certificate is False:
        verdict = replace(verdict_for("S1"), summary=_AFTER_CERTIFICATE)
    return verdict if detail.tls_alert is None else _append(verdict, _alert_note(detail.tls_alert))


def _refine_nla_alert(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    alert = detail.tls_alert
    if alert is None or alert == TLS_ALERT_INTERNAL_ERROR:
        return verdict
    if alert == TLS_ALERT_ACCESS_DENIED:
        return verdict_for("C3_denied")
    return _append(verdict_for("C1"), _alert_note(alert))


#: The CredSSP version of the March 2018 updates (CVE-2018-0886); patched servers may refuse less.
CREDSSP_UPDATED_VERSION = 6


def _refine_nla_close(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    client = detail.client_credssp_version
    if client is not None and client < CREDSSP_UPDATED_VERSION:
        return _append(verdict_for("C4"), f"the probe announced CredSSP version {client}")
    return verdict_for("C3_closed") if detail.after_authenticate else verdict


def _refine_ntstatus(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    status = detail.ntstatus
    if status is None:
        return verdict
    entry = NTSTATUS.get(status)
    if entry is None:
        return _append(verdict, f"NTSTATUS {_hex(status)}")
    name, freerdp, mstsc, confidence, meaning = entry
    ms = None if mstsc is None else ms_code(mstsc, SSL_ERR_MESSAGES[mstsc], confidence)
    refined = _with_freerdp(replace(verdict, ms_client=ms), freerdp)
    return replace(refined, summary=f"The server rejected the logon during NLA: {meaning} "
                   f"({name}, {_hex(status)})", causes=(meaning,) + verdict.causes)


def _refine_credssp_version(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    version = detail.credssp_version
    return verdict if version is None else _append(verdict, f"server CredSSP version {version}")


def _refine_not_rdp(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    kind = detail.not_rdp_kind
    if kind is None:
        return verdict
    text = NOT_RDP_KINDS.get(kind, NOT_RDP_KINDS["unknown"])
    return replace(verdict, summary=f"{NOT_RDP_SUMMARY}: {text}", causes=(text,) + verdict.causes)


def _refine_error_info(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    code = detail.error_info
    if code is None:
        return verdict
    if ERRINFO_LICENSE_FIRST <= code <= ERRINFO_LICENSE_LAST:
        return _licensing_errinfo(code)
    ms = MsClientCode(0x3, MSG_BY_SERVER, MEDIUM, extended=code)
    refined = _errinfo_verdict(verdict, code, ms)
    if code == ERRINFO_INSUFFICIENT_PRIVILEGES:
        refined = _with_freerdp(refined, "INSUFFICIENT_PRIVILEGES")
    return refined


def _licensing_errinfo(code: int) -> Verdict:
    ms = MsClientCode(0x808, MSG_LICENSING, MEDIUM, extended=code)
    return _errinfo_verdict(verdict_for("L1"), code, ms)


def _errinfo_verdict(verdict: Verdict, code: int, ms: MsClientCode) -> Verdict:
    name, meaning = ERRINFO.get(code, (None, ""))
    group = errinfo_group(code)
    meaning = meaning or (group[0] if group else "a reason this probe does not know")
    label = f"ERRINFO_{name}" if name else None  # The specification's name.
    verdict = replace(
        verdict,
        ms_client=ms,
        freerdp=freerdp_errinfo_name(code),
        freerdp_2=None,
        freerdp_code=errinfo_code(code),
        summary=f"{verdict.summary}: {meaning} ({label or 'errorInfo'} {_hex(code)})",
    )
    return verdict if group is None else _with_advice(verdict, group[1])


def _refine_ultimatum(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    user = detail.dpum_reason == DPUM_USER_REQUESTED
    errinfo = ERRINFO_LOGOFF_BY_USER if user else ERRINFO_RPC_INITIATED_DISCONNECT
    refined = verdict_for("E2_user") if user else verdict
    refined = replace(refined, freerdp=freerdp_errinfo_name(errinfo), freerdp_2=None,
                      freerdp_code=errinfo_code(errinfo))
    reason = detail.dpum_reason
    if reason is None or user:
        return refined
    return _append(refined, f"reason {reason} {DPUM_REASONS.get(reason, 'unknown')}")


def _refine_license(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    if detail.error_info is not None:
        return _refine_error_info(verdict, phase, detail)
    code = detail.license_error_code
    if code is None:
        return verdict
    name = LICENSE_ERRORS.get(code, "unknown")
    return replace(verdict, summary=f"Licensing failed: the server sent licensing error {name} "
                                    f"({_hex(code)})")


def _refine_ok(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    if detail.legacy_no_negotiation and phase is Phase.CONNECTION_INITIATION:
        return verdict_for("X5")
    if phase is None or phase is Phase.CAPABILITIES_EXCHANGE:
        return verdict_for("OK")
    return _append(verdict, f"up to {phase.value}; the probe stopped there as configured")


def _refine_mcs(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    """M1/M3: name the T.125 Result the server refused with."""
    result = detail.mcs_result
    if result is None:
        return verdict
    # Imported here: a probe gets an MCS result only after the MCS code has loaded.
    from rdpprobe.wire.codes import name_of
    from rdpprobe.wire.mcs import McsResult

    return _append(verdict, f"MCS result {result} {name_of(McsResult, result)}")


def _refine_authz(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    """C6: the authorizationResult of [MS-RDPBCGR] 2.2.10.2."""
    result = detail.authz_result
    return verdict if result is None else _append(verdict, f"authorizationResult 0x{result:08x}")


def _refine_decode(verdict: Verdict, phase: Phase | None, detail: Detail) -> Verdict:
    if phase is None:
        return verdict
    family = _DECODE_FAMILY.get(phase, verdict.taxonomy_id)
    return replace(verdict, taxonomy_id=family, summary=f"{verdict.summary} during {phase.value}")


Refiner = Callable[[Verdict, "Phase | None", Detail], Verdict]

#: Row key -> refiner.
REFINERS: dict[str, Refiner] = {
    "N*": _refine_negotiation,
    "S1": _refine_tls_failure,
    "S2": _refine_tls_abort,
    "C2": _refine_ntstatus,
    "C3": _refine_nla_alert,
    "C1": _refine_nla_close,
    "C4": _refine_credssp_version,
    "X4": _refine_not_rdp,
    "E1": _refine_error_info,
    "E2": _refine_ultimatum,
    "L1": _refine_license,
    "OK_partial": _refine_ok,
    "M1": _refine_mcs,
    "M3": _refine_mcs,
    "C6": _refine_authz,
    "DECODE": _refine_decode,
    "FLOOD": _refine_decode,
}


# ---- public entry points -------------------------------------------------------------------------


def route(phase: Phase | None, signal: Signal) -> str:
    """The row key for ``(phase, signal)`` before any refinement."""
    if signal is Signal.TIMEOUT and phase not in _CONNECT_PHASES:
        signal = Signal.SILENT
    if phase is not None and (phase, signal) in PHASE_ROUTES:
        return PHASE_ROUTES[(phase, signal)]
    return DEFAULT_ROUTES.get(signal, "INTERNAL")


@functools.lru_cache(maxsize=CLASSIFY_CACHE_SIZE)
def classify(
    phase: Phase | None, signal: Signal, detail: Detail | None = None, port: int = DEFAULT_PORT
) -> Verdict:
    """The verdict for a probe of ``port`` that ended in ``phase`` with ``signal``; never raises.

    A pure function of its (hashable) arguments, so it is cached: a scan classifies the same
    few outcomes over and over.
    """
    detail = detail if detail is not None else Detail()
    try:
        key = route(phase, signal)
        refine = REFINERS.get(key)
        verdict = verdict_for(key)
        return finished(refine(verdict, phase, detail) if refine else verdict, port)
    except Exception as exc:  # noqa: BLE001 - classification must stay total
        return _append(verdict_for("INTERNAL"), f"could not classify: {type(exc).__name__}")


def finished(verdict: Verdict, port: int = DEFAULT_PORT) -> Verdict:
    """``verdict`` as a probe reports it: the probed port in its texts, each cause and fix
    once, and FreeRDP 2.11's name beside the 3.x one (``reasons.freerdp_2_name``)."""
    return replace(
        verdict,
        causes=_once(verdict.causes, port),
        remediation=_once(verdict.remediation, port),
        freerdp_2=verdict.freerdp_2 or freerdp_2_name(verdict.freerdp),
    )


def _once(texts: tuple[str, ...], port: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.replace(PORT, str(port)) for text in texts))


# ---- certificate findings (S3) -------------------------------------------------------------------

CERT_EXPIRED_FINDING = "expired"
MS_CERT_EXPIRED = ms_code(0x1B07, "The certificate received from the remote computer has "
                                  "expired", LOW)


@functools.lru_cache(maxsize=CLASSIFY_CACHE_SIZE)
def classify_certificate(findings: tuple[str, ...]) -> Verdict | None:
    """The S3 verdict for a certificate's findings, or None when it has none a client would flag.

    This is a finding for the report: the handshake itself never fails because of trust.
    """
    known = tuple(f for f in findings if f in CERT_FINDING_ADVICE)
    if not known:
        return None
    # Only the causes and fixes of the findings present: a self-signed certificate gets no
    # name-mismatch fixes (the S3 row's general advice covers every finding at once).
    causes = tuple(CERT_FINDING_ADVICE[f][0] for f in known)
    fixes = tuple(CERT_FINDING_ADVICE[f][1] for f in known)
    return finished(Verdict(
        category="certificate_untrusted",
        ms_client=MS_CERT_EXPIRED if CERT_EXPIRED_FINDING in known else MS_CERT_UNTRUSTED,
        freerdp="ERRCONNECT_TLS_CONNECT_FAILED",
        freerdp_code=freerdp_connect_code("TLS_CONNECT_FAILED"),
        causes=causes,
        remediation=fixes,
        taxonomy_id="S3",
        summary="A client would warn about the server's certificate: "
                "" + ", ".join(known).replace("_", " "),
    ))


# ---- advisories: findings on a probe that did not fail -------------------------------------------

#: TLS versions a current client refuses by default (taxonomy S1).
LEGACY_TLS_VERSIONS = frozenset({"TLSv1", "TLSv1.1", "SSLv3"})


def advisories(facts: Facts, port: int = DEFAULT_PORT) -> tuple[Verdict, ...]:
    """Verdicts for what a probe of ``port`` learned without failing: X5, S1, S3, a
    recovered N*, a selected protocol the client did not request and a possible
    downgrade (M2)."""
    found: list[Verdict] = []
    if facts.legacy_no_negotiation:
        found.append(verdict_for("X5"))
    unrequested = _unrequested_selection(facts)
    if unrequested is not None:
        found.append(unrequested)
    if facts.neg_failure_code is not None:
        offered = facts.neg_failure_requested or facts.requested_protocols
        refused = classify(Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE,
                           Detail(neg_failure_code=facts.neg_failure_code, requested_protocols=offered), port)
        found.append(_append(refused, "the probe then reconnected offering what the server asked for"))
    tls = facts.tls
    if tls is not None and tls.version in LEGACY_TLS_VERSIONS:
        found.append(_append(verdict_for("S1"), f"the server negotiated {tls.version}"))
    certificate = classify_certificate(tls.findings) if tls is not None else None
    if certificate is not None:
        found.append(certificate)
    if facts.possible_downgrade is not None:
        found.append(_append(verdict_for("M2_possible"), facts.possible_downgrade))
    return tuple(finished(verdict, port) for verdict in found)


def _unrequested_selection(facts: Facts) -> Verdict | None:
    """[MS-RDPBCGR] 3.3.5.3.2: a server may select PROTOCOL_RDP whatever was requested;
    selecting any other protocol the client did not request is a server fault."""
    selected, requested = facts.selected_protocol, facts.requested_protocols
    if selected is None or requested is None or facts.legacy_no_negotiation or selected in requested:
        return None
    key = "N_selected_rdp" if selected == "RDP" else "N_selected_unrequested"
    return _append(verdict_for(key), f"requested {'|'.join(requested)}, selected {selected}")
