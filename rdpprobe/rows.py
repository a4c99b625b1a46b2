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

# ---- Microsoft client codes and wording (taxonomy §3a, §3d) ---------------------------------------
MSG_CANT_CONNECT = "Remote Desktop can't connect to the remote computer"
MSG_SESSION_ENDED = "Your session ended because of an error"
MSG_INTERNAL = "An internal error has occurred"
MSG_RESET = 'Your session ended because of an error (the older Mac client says "Connection '
            'reset by peer")'
MSG_LOGON_FAILED = "The logon attempt failed"
MSG_BY_SERVER = "The remote session was ended by the server"
MSG_LICENSING = "The remote session was disconnected because of a licensing error"


def ms_code(code: int, message: str, confidence: str) -> MsClientCode:
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
    """ERRCONNECT suffix, e.g. ``CONNECT_FAILED``."""


NOT_RDP_SUMMARY = "Something answered on this port, but it does not speak RDP"

ROWS: tuple[Row, ...] = (
    Row("D1", "D1", "dns_failure", "The host name did not resolve, so no connection was attempted",
        ms_code(0x104, "We couldn't connect to the remote PC because the PC can't be found", HIGH), "DNS_NAME_NOT_FOUND"),
    Row("T1", "T1", "port_closed", "The host refused the TCP connection: nothing listens for RDP on this port",
        ms_code(0x204, MSG_CANT_CONNECT, HIGH), "CONNECT_FAILED"),
    Row("T2", "T2", "filtered", "Nothing answered the TCP connection attempt: the host is off or asleep, "
        "or a firewall drops the traffic", ms_code(0x204, MSG_CANT_CONNECT, MEDIUM), "CONNECT_FAILED"),
    Row("T3", "T3", "unreachable", "The network reported the host or its network unreachable",
        ms_code(0x204, MSG_CANT_CONNECT, MEDIUM), "CONNECT_FAILED"),
    Row("X1", "X1", "connection_dropped", "The server accepted the TCP connection, then closed it without "
        "answering the RDP connection request", ms_code(0x4, MSG_SESSION_ENDED, MEDIUM), "CONNECT_TRANSPORT_FAILED"),
    Row("X2", "X2", "connection_reset", "The server reset the connection instead of answering the RDP "
        "connection request", ms_code(0x4, MSG_RESET, MEDIUM), "CONNECT_TRANSPORT_FAILED"),
    Row("X3", "X3", "no_response", "The server accepted the TCP connection but never answered the RDP "
        "connection request", ms_code(0x204, MSG_CANT_CONNECT, LOW), "CONNECT_TRANSPORT_FAILED"),
    Row("X4", "X4", "not_rdp", NOT_RDP_SUMMARY, ms_code(0x4, MSG_INTERNAL, LOW), "SECURITY_NEGO_CONNECT_FAILED"),
    Row("X5", "X5", "ok", "The server answered without RDP negotiation data: a legacy server that offers only "
        "Standard RDP Security"),
    Row("N1", "N1", "negotiation_refused", "The server speaks RDP and requires TLS (SSL_REQUIRED_BY_SERVER), "
        "which was not offered", None, "SECURITY_NEGO_CONNECT_FAILED"),
    Row("N2", "N2", "negotiation_refused", "The server speaks RDP but allows only Standard RDP Security "
        "(SSL_NOT_ALLOWED_BY_SERVER); the Microsoft client connects with an identity warning",
        None, "SECURITY_NEGO_CONNECT_FAILED"),
    Row("N3", "N3", "negotiation_refused", "The server speaks RDP but has no usable TLS certificate "
        "(SSL_CERT_NOT_ON_SERVER)", ms_code(0x4, MSG_INTERNAL, LOW), "TLS_CONNECT_FAILED"),
    Row("N4", "N4", "negotiation_refused", "The server called the requested protocols inconsistent "
        "(INCONSISTENT_FLAGS), which points to a client bug", None, "SECURITY_NEGO_CONNECT_FAILED"),
    Row("N5", "N5", "negotiation_refused", "The server requires Network Level Authentication "
        "(HYBRID_REQUIRED_BY_SERVER) and CredSSP was not offered; the Microsoft client says "
        "the remote "
        "computer requires NLA", None, "HYBRID_REQUIRED_BY_SERVER"),
    Row("N6", "N6", "negotiation_refused", "The server requires TLS with a client certificate "
        "(SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)", None, "SECURITY_NEGO_CONNECT_FAILED"),
    Row("N*", "N*", "negotiation_refused", "The server speaks RDP but refused the negotiation with a failure "
        "code outside the specification", None, "SECURITY_NEGO_CONNECT_FAILED"),
    Row("S1", "S1", "tls_failed", "The TLS handshake failed: server and client share no TLS version or cipher",
        ms_code(0x4, MSG_INTERNAL, LOW), "TLS_CONNECT_FAILED"),
    Row("S2", "S2", "tls_failed", "The server selected TLS but aborted the handshake before sending its "
        "certificate: it cannot use its certificate's private "
        "key", ms_code(0x4, MSG_INTERNAL, MEDIUM),
        "TLS_CONNECT_FAILED"),
    Row("S2_silent", "S2", "tls_failed", "The server selected TLS but never answered the TLS handshake",
        ms_code(0x4, MSG_INTERNAL, LOW), "TLS_CONNECT_FAILED"),
    Row("C1", "C1", "nla_failed", "The server closed the connection during CredSSP without answering; the "
        "Microsoft client reports an authentication error", None, "CONNECT_TRANSPORT_FAILED"),
    Row("C1_silent", "C1", "nla_failed", "The server stopped answering during CredSSP", None,
        "CONNECT_TRANSPORT_FAILED"),
    Row("C2", "C2", "logon_failed", "The server rejected the credentials during "
                                    "NLA", None, "AUTHENTICATION_FAILED"),
    Row("C3", "C3", "logon_failed", "The server aborted CredSSP with a TLS internal_error alert instead of an "
        "error code, which is how older servers report a failed logon (FreeRDP's name for this, "
        "PASSWORD_CERTAINLY_EXPIRED, is misleading: it means a generic NLA failure)",
        ms_code(0x807, MSG_LOGON_FAILED, LOW), "PASSWORD_CERTAINLY_EXPIRED"),
    Row("C3_denied", "C3", "logon_failed", "The server refused the authentication with a TLS access_denied alert",
        ms_code(0x807, MSG_LOGON_FAILED, LOW), "AUTHENTICATION_FAILED"),
    Row("C4", "C4", "nla_failed", "Client and server CredSSP versions do not fit: one side lacks the 2018 "
        "CredSSP updates, and the Microsoft client reports an authentication error mentioning "
        "CredSSP "
        "encryption oracle remediation", None, "PASSWORD_CERTAINLY_EXPIRED"),
    Row("C5", "C5", "nla_failed", "The server's CredSSP public-key proof does not match its TLS certificate: "
        "something intercepts TLS on the path", None, "CONNECT_TRANSPORT_FAILED"),
    Row("C6", "C6", "logon_failed", "The credentials are valid but the user may not sign in through Remote "
        "Desktop Services (early user authorization denied)", None, "ACCESS_DENIED"),
    Row("M1", "M1", "mcs_failed", "The server rejected or dropped the MCS Connect Initial (basic settings "
        "exchange)", ms_code(0x4, MSG_INTERNAL, LOW), "CONNECT_TRANSPORT_FAILED"),
    Row("M1_silent", "M1", "mcs_failed", "The server never answered the MCS Connect Initial",
        ms_code(0x4, MSG_INTERNAL, LOW), "CONNECT_TRANSPORT_FAILED"),
    Row("M2", "M2", "security_failed", "The server saw different requested protocols than the client sent: "
        "something on the path changed the security negotiation"),
    Row("M3", "M3", "mcs_failed", "The server refused or dropped the MCS attach-user or channel-join request",
        None, "CONNECT_TRANSPORT_FAILED"),
    Row("M3_silent", "M3", "mcs_failed", "The server stopped answering during the MCS channel joins", None,
        "CONNECT_TRANSPORT_FAILED"),
    Row("R1", "R1", "security_failed", "The server's Standard RDP Security data (certificate or server random) "
        "is unusable", ms_code(0x706, "Because of a security error, the client could not connect to the remote "
           "computer", MEDIUM), "CONNECT_TRANSPORT_FAILED"),
    Row("R1_dropped", "R1", "security_failed", "The server closed the connection after the Security Exchange",
        ms_code(0x606, "Because of a security error, the client could not connect to the "
                       "remote computer", LOW),
        "CONNECT_TRANSPORT_FAILED"),
    Row("L1", "L1", "licensing_failed", "Licensing failed", ms_code(0x808, MSG_LICENSING, MEDIUM),
        "CONNECT_TRANSPORT_FAILED"),
    Row("E1", "E1", "server_error", "The server ended the connection and said why (Set Error Info)",
        ms_code(0x3, MSG_BY_SERVER, MEDIUM)),
    Row("E2", "E2", "server_disconnect", "The server disconnected without giving a reason (Disconnect "
        "Provider Ultimatum, provider-initiated)", ms_code(0x3, MSG_BY_SERVER, MEDIUM)),
    Row("E2_user", "E2", "server_disconnect", "The session was ended by a user or administrator (Disconnect "
        "Provider Ultimatum, user-requested)", ms_code(0x2, "The remote session was ended by the user", MEDIUM)),
    Row("E3", "E3", "redirected", "The server redirected the client to another server (connection broker or "
        "load balancer)"),
    Row("A1", "A1", "activation_timeout", "The server took the logon data but never activated the session "
        "(no Demand Active before the deadline); the Microsoft client hangs at 'Configuring "
        "remote session'",
        None, "ACTIVATION_TIMEOUT"),
    Row("A1_licensing", "A1", "activation_timeout", "The server stopped answering during licensing",
        ms_code(0x908, "Licensing timed out", LOW), "ACTIVATION_TIMEOUT"),
    Row("A1_dropped", "A1", "connection_dropped", "The server closed the connection during logon, after the "
        "client sent its logon information, without giving a reason", ms_code(0x904, "The connection was closed",
        LOW), "CONNECT_TRANSPORT_FAILED"),
    Row("DECODE", "A1", "protocol_error", "The server sent data the probe could not decode", None,
        "CONNECT_TRANSPORT_FAILED"),
    Row("OK", "OK", "ok", "The server completed the connection sequence to the Demand Active: a client would "
        "get a session"),
    Row("OK_partial", "OK", "ok", "The server answered every step the probe took"),
    Row("INTERNAL", "INTERNAL", "internal_error", "rdpprobe hit an internal error; this says nothing about "
        "the server"),
)
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
        causes=advice.causes,
        remediation=advice.remediation,
        taxonomy_id=row.taxonomy_id,
        summary=row.summary,
    )
