"""Every verdict the probe can give: the rows of the classification table.

Each row cites its row in reference/protocol-taxonomy.md §4.1 (``taxonomy_id``) and carries the
Microsoft client's code and message where the taxonomy names one, FreeRDP's ERRCONNECT name,
and a one-sentence summary; causes and fixes come from ``rdpprobe.remedies``. Which row applies
to a (phase, signal, detail) is decided in ``rdpprobe.classify``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdpprobe.reasons import HIGH, LOW, MEDIUM, freerdp_connect_code
from rdpprobe.remedies import advice_for
from rdpprobe.result import MsClientCode, Verdict

# ---- Microsoft client codes and wording (taxonomy §3a, §3d) --------------------------------------
MSG_CANT_CONNECT = "Remote Desktop can't connect to the remote computer"
MSG_SESSION_ENDED = "Your session ended because of an error"
MSG_INTERNAL = "An internal error has occurred"
MSG_RESET = (
    "Your session ended because of an error "
    '(the older Mac client says "Connection reset by peer")'
)
MSG_DNS = "We couldn't connect to the remote PC because the PC can't be found"
MSG_LOGON_FAILED = "The logon attempt failed"
MSG_SECURITY = "Because of a security error, the client could not connect to the remote computer"
MSG_BY_SERVER = "The remote session was ended by the server"
MSG_BY_USER = "The remote session was ended by the user"
MSG_LICENSING = "The remote session was disconnected because of a licensing error"
MSG_LICENSING_TIMEOUT = "Licensing timed out"
MSG_SOCKET_CLOSED = "The connection was closed"

NOT_RDP_SUMMARY = "Something answered on this port, but it does not speak RDP"


def ms_code(code: int, message: str, confidence: str) -> MsClientCode:
    """A Microsoft client code with its message and confidence."""
    return MsClientCode(code=code, message=message, confidence=confidence)


@dataclass(frozen=True, slots=True)
class Row:
    """One verdict the probe can give, citing its taxonomy row."""

    key: str
    taxonomy_id: str
    category: str
    summary: str
    ms: MsClientCode | None = None
    freerdp: str | None = None
    """ERRCONNECT suffix, e.g. ``CONNECT_FAILED``, as FreeRDP 3.x reports it."""
    freerdp_2: str | None = None
    """FreeRDP 2.11's ERRCONNECT suffix where it is not ``reasons.freerdp_2_name``'s."""


#: The Microsoft client's identity warning (taxonomy S3, N2); declining it ends the attempt.
MS_CERT_UNTRUSTED = ms_code(
    0x907,
    "The identity of the remote computer cannot be verified (certificate warning; "
    "declining it ends the connection)",
    LOW,
)
_CANT_CONNECT_HIGH = ms_code(0x204, MSG_CANT_CONNECT, HIGH)
_CANT_CONNECT_MEDIUM = ms_code(0x204, MSG_CANT_CONNECT, MEDIUM)
_INTERNAL_LOW = ms_code(0x4, MSG_INTERNAL, LOW)
_TRANSPORT = "CONNECT_TRANSPORT_FAILED"
_NEGO = "SECURITY_NEGO_CONNECT_FAILED"
_TLS = "TLS_CONNECT_FAILED"
# FreeRDP names are what its 3.x releases report (libfreerdp/core/connection.c and nego.c
# at 3.0.0 and 3.30.0): every RDP_NEG_FAILURE ends in SECURITY_NEGO_CONNECT_FAILED, as in
# 2.11. Only FreeRDP's unreleased master (after 3.30.0) names N3 TLS_CONNECT_FAILED and N5
# HYBRID_REQUIRED_BY_SERVER. ``freerdp_2`` gives 2.11's name where it differs (reasons).

# fmt: off
ROWS: tuple[Row, ...] = (
    Row("D1", "D1", "dns_failure",
        "The host name did not resolve, so no connection was attempted",
        ms_code(0x104, MSG_DNS, HIGH), "DNS_NAME_NOT_FOUND"),
    Row("T1", "T1", "port_closed",
        "The host refused the TCP connection: nothing listens for RDP on this port",
        _CANT_CONNECT_HIGH, "CONNECT_FAILED"),
    Row("T2", "T2", "filtered",
        "Nothing answered the TCP connection attempt: the host is off or asleep, "
        "or a firewall drops the traffic",
        _CANT_CONNECT_MEDIUM, "CONNECT_FAILED"),
    Row("T3", "T3", "unreachable",
        "The network reported the host or its network unreachable",
        _CANT_CONNECT_MEDIUM, "CONNECT_FAILED"),
    Row("X1", "X1", "connection_dropped",
        "The server accepted the TCP connection, then closed it without answering "
        "the RDP connection request",
        ms_code(0x4, MSG_SESSION_ENDED, MEDIUM), _TRANSPORT),
    Row("X2", "X2", "connection_reset",
        "The server reset the connection instead of answering the RDP connection request",
        ms_code(0x4, MSG_RESET, MEDIUM), _TRANSPORT),
    Row("X3", "X3", "no_response",
        "The server accepted the TCP connection but never answered the RDP connection request",
        ms_code(0x204, MSG_CANT_CONNECT, LOW), _TRANSPORT),
    # The taxonomy allows 0x0C or 0x0D; FreeRDP 2.11 was seen to report 0x0D against SSH and
    # HTTP servers (tests/interop/test_probe_vs_xfreerdp.py), so that is the name given.
    Row("X4", "X4", "not_rdp", NOT_RDP_SUMMARY, _INTERNAL_LOW, _TRANSPORT),
    Row("X5", "X5", "ok",
        "The server answered without RDP negotiation data: a legacy server that offers "
        "only Standard RDP Security"),
    Row("N1", "N1", "negotiation_refused",
        "The server speaks RDP and requires TLS (SSL_REQUIRED_BY_SERVER), which was not offered",
        None, _NEGO),
    Row("N2", "N2", "negotiation_refused",
        "The server speaks RDP but allows only Standard RDP Security "
        "(SSL_NOT_ALLOWED_BY_SERVER); the Microsoft client connects with an identity warning",
        None, _NEGO),
    Row("N3", "N3", "negotiation_refused",
        "The server speaks RDP but has no usable TLS certificate (SSL_CERT_NOT_ON_SERVER)",
        _INTERNAL_LOW, _NEGO),
    Row("N4", "N4", "negotiation_refused",
        "The server called the requested protocols inconsistent (INCONSISTENT_FLAGS), "
        "which points to a client bug",
        None, _NEGO),
    Row("N5", "N5", "negotiation_refused",
        "The server requires Network Level Authentication (HYBRID_REQUIRED_BY_SERVER) and "
        "CredSSP was not offered; the Microsoft client says the remote computer requires NLA",
        None, _NEGO),
    Row("N_selected_rdp", "N2", "ok",
        "The server selected Standard RDP Security, which the client did not request "
        "([MS-RDPBCGR] 3.3.5.3.2 allows it): the connection has no TLS and the server's "
        "identity is not verified"),
    Row("N_selected_unrequested", "N*", "protocol_error",
        "The server selected a security protocol the client did not request: a server fault "
        "([MS-RDPBCGR] 3.3.5.3.2 allows only PROTOCOL_RDP in that case)"),
    Row("N6", "N6", "negotiation_refused",
        "The server requires TLS with a client certificate "
        "(SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)",
        None, _NEGO),
    Row("N*", "N*", "negotiation_refused",
        "The server speaks RDP but refused the negotiation with a failure code outside "
        "the specification",
        None, _NEGO),
    Row("S1", "S1", "tls_failed",
        "The TLS handshake failed: server and client share no TLS version or cipher",
        _INTERNAL_LOW, _TLS),
    Row("S2", "S2", "tls_failed",
        "The server selected TLS but aborted the handshake before sending its certificate: "
        "it cannot use its certificate's private key",
        ms_code(0x4, MSG_INTERNAL, MEDIUM), _TLS),
    Row("S2_silent", "S2", "tls_failed",
        "The server selected TLS but never answered the TLS handshake",
        _INTERNAL_LOW, _TLS),
    Row("C1", "C1", "nla_failed",
        "The server closed the connection during CredSSP without answering; the Microsoft "
        "client reports an authentication error",
        None, _TRANSPORT),
    Row("C1_silent", "C1", "nla_failed",
        "The server stopped answering during CredSSP",
        None, _TRANSPORT),
    Row("C2", "C2", "logon_failed",
        "The server rejected the credentials during NLA",
        None, "AUTHENTICATION_FAILED"),
    Row("C3", "C3", "logon_failed",
        "The server aborted CredSSP with a TLS internal_error alert instead of an error code, "
        "which is how older servers report a failed logon (FreeRDP's name for this, "
        "PASSWORD_CERTAINLY_EXPIRED, is misleading: it means a generic NLA failure)",
        ms_code(0x807, MSG_LOGON_FAILED, LOW), "PASSWORD_CERTAINLY_EXPIRED"),
    Row("C3_closed", "C3", "logon_failed",
        "The server closed the connection right after the NTLM AUTHENTICATE message, without "
        "an error code: it rejected the credentials (FreeRDP-based servers and CredSSP v2 "
        "Windows servers report a failed logon this way)",
        ms_code(0x807, MSG_LOGON_FAILED, LOW), _TRANSPORT),
    Row("C3_denied", "C3", "logon_failed",
        "The server refused the authentication with a TLS access_denied alert",
        ms_code(0x807, MSG_LOGON_FAILED, LOW), "AUTHENTICATION_FAILED"),
    Row("C4", "C4", "nla_failed",
        "Client and server CredSSP versions do not fit: one side lacks the 2018 CredSSP "
        "updates, and the Microsoft client reports an authentication error mentioning "
        "CredSSP encryption oracle remediation",
        None, "PASSWORD_CERTAINLY_EXPIRED"),
    Row("C5", "C5", "nla_failed",
        "The server's CredSSP public-key proof does not match its TLS certificate: "
        "something intercepts TLS on the path",
        None, _TRANSPORT),
    Row("C6", "C6", "logon_failed",
        "The credentials are valid but the user may not sign in through Remote Desktop "
        "Services (early user authorization denied)",
        # 3.30.0 nla_recv_pdu (ACCESS_DENIED on master only). 2.11 cannot complete the
        # HYBRID_EX negotiation this needs, so it fails before CredSSP.
        None, "AUTHENTICATION_FAILED", "SECURITY_NEGO_CONNECT_FAILED"),
    Row("M1", "M1", "mcs_failed",
        "The server rejected or dropped the MCS Connect Initial (basic settings exchange)",
        _INTERNAL_LOW, _TRANSPORT),
    Row("M1_silent", "M1", "mcs_failed",
        "The server never answered the MCS Connect Initial",
        _INTERNAL_LOW, _TRANSPORT),
    Row("M2", "M2", "security_failed",
        "The server saw different requested protocols than the client sent: something on "
        "the path changed the security negotiation"),
    Row("M2_possible", "M2", "possible_downgrade",
        "Possible downgrade: the server selected a weaker security protocol than it selected "
        "or required before for the same client; something on the path may have rewritten "
        "the Connection Confirm"),
    Row("M3", "M3", "mcs_failed",
        "The server refused or dropped the MCS attach-user or channel-join request",
        None, _TRANSPORT),
    Row("M3_silent", "M3", "mcs_failed",
        "The server stopped answering during the MCS channel joins",
        None, _TRANSPORT),
    Row("R1", "R1", "security_failed",
        "The server's Standard RDP Security data (certificate or server random) is unusable",
        ms_code(0x706, MSG_SECURITY, MEDIUM), _TRANSPORT),
    Row("R1_dropped", "R1", "security_failed",
        "The server closed the connection after the Security Exchange",
        ms_code(0x606, MSG_SECURITY, LOW), _TRANSPORT),
    Row("L1", "L1", "licensing_failed",
        "Licensing failed",
        ms_code(0x808, MSG_LICENSING, MEDIUM), _TRANSPORT),
    Row("E1", "E1", "server_error",
        "The server ended the connection and said why (Set Error Info)",
        ms_code(0x3, MSG_BY_SERVER, MEDIUM)),
    Row("E2", "E2", "server_disconnect",
        "The server disconnected without giving a reason (Disconnect Provider Ultimatum, "
        "provider-initiated)",
        ms_code(0x3, MSG_BY_SERVER, MEDIUM)),
    Row("E2_user", "E2", "server_disconnect",
        "The session was ended by a user or administrator (Disconnect Provider Ultimatum, "
        "user-requested)",
        ms_code(0x2, MSG_BY_USER, MEDIUM)),
    Row("E3", "E3", "redirected",
        "The server redirected the client to another server (connection broker or load "
        "balancer)"),
    Row("A1", "A1", "activation_timeout",
        "The server took the logon data but never activated the session (no Demand Active "
        "before the deadline); the Microsoft client hangs at 'Configuring remote session'",
        None, "ACTIVATION_TIMEOUT"),
    Row("A1_licensing", "A1", "activation_timeout",
        "The server stopped answering during licensing",
        ms_code(0x908, MSG_LICENSING_TIMEOUT, LOW), "ACTIVATION_TIMEOUT"),
    Row("A1_dropped", "A1", "connection_dropped",
        "The server closed the connection during logon, after the client sent its logon "
        "information, without giving a reason",
        ms_code(0x904, MSG_SOCKET_CLOSED, LOW), _TRANSPORT),
    Row("DECODE", "A1", "protocol_error",
        "The server sent data the probe could not decode",
        None, _TRANSPORT),
    Row("FLOOD", "A1", "protocol_error",
        "The server sent far more than the connection sequence needs (a flood of PDUs or "
        "bytes the probe did not ask for); the probe stopped reading rather than buffer it",
        None, _TRANSPORT),
    Row("S3_withheld", "S3", "credentials_withheld",
        "Credentials withheld: the server did not prove its identity (no CredSSP key proof, "
        "no certificate trusted for the name probed), so the probe stopped before sending "
        "the password in Client Info",
        MS_CERT_UNTRUSTED),
    Row("OK", "OK", "ok",
        "The server completed the connection sequence to the Demand Active: a client would "
        "get a session"),
    Row("OK_partial", "OK", "ok",
        "The server answered every step the probe took"),
    Row("INTERNAL", "INTERNAL", "internal_error",
        "rdpprobe hit an internal error; this says nothing about the server"),
)
# fmt: on
ROW = {row.key: row for row in ROWS}


def verdict_for(key: str) -> Verdict:
    """The unrefined verdict of a row."""
    row = ROW[key]
    advice = advice_for(row.key, row.taxonomy_id)
    return Verdict(
        category=row.category,
        ms_client=row.ms,
        freerdp=None if row.freerdp is None else f"ERRCONNECT_{row.freerdp}",
        freerdp_code=freerdp_connect_code(row.freerdp),
        freerdp_2=None if row.freerdp_2 is None else f"ERRCONNECT_{row.freerdp_2}",
        causes=advice.causes,
        remediation=advice.remediation,
        taxonomy_id=row.taxonomy_id,
        summary=row.summary,
    )
