"""Names and meanings of the codes a server sends when it refuses or ends a connection.

Set Error Info (taxonomy §3b), licensing error codes, Disconnect Provider Ultimatum reasons,
TLS alerts, CredSSP NTSTATUS codes (§2.2), FreeRDP's ERRCONNECT codes (§3c) and the kinds of
non-RDP replies; used by ``rdpprobe.classify`` to word verdicts. These are copies for wording
only: decoders keep raw integers and name them through their own enums.
"""

from __future__ import annotations

from rdpprobe.remedies import ADVICE, CHECK_EVENT_LOGS, Advice

# ---- confidence (taxonomy §4.1 legend H/M/L) -----------------------------------------------------
HIGH, MEDIUM, LOW = "high", "medium", "low"

# fmt: off
# ---- TLS, licensing, MCS -------------------------------------------------------------------------

#: TLS alert descriptions (RFC 5246 7.2, RFC 8446 6).
TLS_ALERTS: dict[int, str] = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
    47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
    51: "decrypt_error", 60: "export_restriction", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
    110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
    120: "no_application_protocol",
}

#: LICENSE_ERROR_MESSAGE dwErrorCode ([MS-RDPBCGR] 2.2.1.12.1.3).
LICENSE_ERRORS: dict[int, str] = {
    0x01: "ERR_INVALID_SERVER_CERTIFICATE", 0x02: "ERR_NO_LICENSE", 0x03: "ERR_INVALID_MAC",
    0x04: "ERR_INVALID_SCOPE", 0x06: "ERR_NO_LICENSE_SERVER", 0x07: "STATUS_VALID_CLIENT",
    0x08: "ERR_INVALID_CLIENT", 0x0B: "ERR_INVALID_PRODUCTID", 0x0C: "ERR_INVALID_MESSAGE_LEN",
}

#: Disconnect Provider Ultimatum reasons (T.125 Reason).
DPUM_REASONS: dict[int, str] = {
    0: "domain-disconnected", 1: "provider-initiated", 2: "token-purged",
    3: "user-requested", 4: "channel-purged",
}

#: What a non-RDP reply looked like (taxonomy X4).
NOT_RDP_KINDS: dict[str, str] = {
    "ssh": "an SSH server answered",
    "http": "an HTTP server answered",
    "tls": "a TLS server answered straight away (an RD Gateway, stunnel or similar endpoint)",
    "vnc": "a VNC server answered",
    "unknown": "the reply is not a TPKT/X.224 Connection Confirm",
}

# ---- Set Error Info (taxonomy §3b) ---------------------------------------------------------------

#: FreeRDP's ERRINFO_ names (include/freerdp/error.h, the same at 2.11.7, 3.0.0 and
#: 3.30.0) where they differ from the specification's in ``ERRINFO``, e.g. 0x10C9.
FREERDP_ERRINFO_NAMES: dict[int, str] = {
    0x0005: "DISCONNECTED_BY_OTHER_CONNECTION", 0x000B: "RPC_INITIATED_DISCONNECT_BY_USER",
    0x10C9: "UNKNOWN_DATA_PDU_TYPE", 0x10CA: "UNKNOWN_PDU_TYPE", 0x10CB: "DATA_PDU_SEQUENCE",
    0x10CD: "CONTROL_PDU_SEQUENCE", 0x10CE: "INVALID_CONTROL_PDU_ACTION",
    0x10CF: "INVALID_INPUT_PDU_TYPE", 0x10D0: "INVALID_INPUT_PDU_MOUSE",
    0x10D1: "INVALID_REFRESH_RECT_PDU", 0x10D2: "CREATE_USER_DATA_FAILED",
    0x10D3: "CONNECT_FAILED", 0x10D4: "CONFIRM_ACTIVE_HAS_WRONG_SHAREID",
    0x10D5: "CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR", 0x10DA: "PERSISTENT_KEY_PDU_BAD_LENGTH",
    0x10DB: "PERSISTENT_KEY_PDU_ILLEGAL_FIRST", 0x10DC: "PERSISTENT_KEY_PDU_TOO_MANY_TOTAL_KEYS",
    0x10DD: "PERSISTENT_KEY_PDU_TOO_MANY_CACHE_KEYS", 0x10DE: "INPUT_PDU_BAD_LENGTH",
    0x10DF: "BITMAP_CACHE_ERROR_PDU_BAD_LENGTH", 0x10E0: "SECURITY_DATA_TOO_SHORT",
    0x10E1: "VCHANNEL_DATA_TOO_SHORT", 0x10E2: "SHARE_DATA_TOO_SHORT",
    0x10E3: "BAD_SUPPRESS_OUTPUT_PDU", 0x10E5: "CONFIRM_ACTIVE_PDU_TOO_SHORT",
    0x10E7: "CAPABILITY_SET_TOO_SMALL", 0x10E8: "CAPABILITY_SET_TOO_LARGE",
    0x10E9: "NO_CURSOR_CACHE", 0x10EA: "BAD_CAPABILITIES", 0x10EC: "VIRTUAL_CHANNEL_DECOMPRESSION",
    0x10ED: "INVALID_VC_COMPRESSION_TYPE", 0x10EF: "INVALID_CHANNEL_ID",
    0x10F0: "VCHANNELS_TOO_MANY", 0x10F3: "REMOTEAPP_NOT_ENABLED", 0x10F4: "CACHE_CAP_NOT_SET",
    0x10F5: "BITMAP_CACHE_ERROR_PDU_BAD_LENGTH2", 0x10F6: "OFFSCREEN_CACHE_ERROR_PDU_BAD_LENGTH",
    0x10F7: "DRAWNINEGRID_CACHE_ERROR_PDU_BAD_LENGTH", 0x10F8: "GDIPLUS_PDU_BAD_LENGTH",
    0x1111: "SECURITY_DATA_TOO_SHORT2", 0x1112: "SECURITY_DATA_TOO_SHORT3",
    0x1113: "SECURITY_DATA_TOO_SHORT4", 0x1114: "SECURITY_DATA_TOO_SHORT5",
    0x1115: "SECURITY_DATA_TOO_SHORT6", 0x1116: "SECURITY_DATA_TOO_SHORT7",
    0x1117: "SECURITY_DATA_TOO_SHORT8", 0x1118: "SECURITY_DATA_TOO_SHORT9",
    0x1119: "SECURITY_DATA_TOO_SHORT10", 0x111A: "SECURITY_DATA_TOO_SHORT11",
    0x111B: "SECURITY_DATA_TOO_SHORT12", 0x111C: "SECURITY_DATA_TOO_SHORT13",
    0x111D: "SECURITY_DATA_TOO_SHORT14", 0x111E: "SECURITY_DATA_TOO_SHORT15",
    0x111F: "SECURITY_DATA_TOO_SHORT16", 0x1120: "SECURITY_DATA_TOO_SHORT17",
    0x1121: "SECURITY_DATA_TOO_SHORT18", 0x1122: "SECURITY_DATA_TOO_SHORT19",
    0x1123: "SECURITY_DATA_TOO_SHORT20", 0x1124: "SECURITY_DATA_TOO_SHORT21",
    0x1125: "SECURITY_DATA_TOO_SHORT22", 0x1126: "SECURITY_DATA_TOO_SHORT23",
    0x1129: "BAD_MONITOR_DATA", 0x112A: "VC_DECOMPRESSED_REASSEMBLE_FAILED",
    0x112B: "VC_DATA_TOO_LONG", 0x112D: "GRAPHICS_MODE_NOT_SUPPORTED",
    0x112E: "GRAPHICS_SUBSYSTEM_RESET_FAILED", 0x112F: "GRAPHICS_SUBSYSTEM_FAILED",
    0x1130: "TIMEZONE_KEY_NAME_LENGTH_TOO_SHORT", 0x1131: "TIMEZONE_KEY_NAME_LENGTH_TOO_LONG",
    0x1132: "DYNAMIC_DST_DISABLED_FIELD_MISSING", 0x1133: "VC_DECODING_ERROR",
    0x1191: "UPDATE_SESSION_KEY_FAILED", 0x1192: "DECRYPT_FAILED", 0x1193: "ENCRYPT_FAILED",
    0x1194: "ENCRYPTION_PACKAGE_MISMATCH", 0x1195: "DECRYPT_FAILED2",
}  # fmt: skip


def freerdp_errinfo_name(code: int) -> str | None:
    """``ERRINFO_…`` as FreeRDP names the Set Error Info ``code``; None when unknown."""
    name = FREERDP_ERRINFO_NAMES.get(code) or ERRINFO.get(code, (None, ""))[0]
    return f"ERRINFO_{name}" if name else None


#: errorInfo code -> (name without the ERRINFO_ prefix, meaning); [MS-RDPBCGR] 2.2.5.1.1.
ERRINFO: dict[int, tuple[str, str]] = {
    0x0001: ("RPC_INITIATED_DISCONNECT", "an administrative tool disconnected the session"),
    0x0002: ("RPC_INITIATED_LOGOFF", "an administrative tool forced a logoff"),
    0x0003: ("IDLE_TIMEOUT", "the idle session time limit elapsed"),
    0x0004: ("LOGON_TIMEOUT", "the active session time limit elapsed"),
    0x0005: ("DISCONNECTED_BY_OTHERCONNECTION", "another connection took over the session"),
    0x0006: ("OUT_OF_MEMORY", "the server ran out of memory"),
    0x0007: ("SERVER_DENIED_CONNECTION", "the server denied the connection"),
    0x0009: ("SERVER_INSUFFICIENT_PRIVILEGES", "the user has no right to connect"),
    0x000A: ("SERVER_FRESH_CREDENTIALS_REQUIRED", "the server does not accept saved credentials"),
    0x000B: ("RPC_INITIATED_DISCONNECT_BYUSER", "the user disconnected with an admin tool"),
    0x000C: ("LOGOFF_BY_USER", "the user logged off"),
    0x000F: ("CLOSE_STACK_ON_DRIVER_NOT_READY", "the display driver was not ready"),
    0x0010: ("SERVER_DWM_CRASH", "the Desktop Window Manager crashed"),
    0x0011: ("CLOSE_STACK_ON_DRIVER_FAILURE", "the display driver failed to start"),
    0x0012: ("CLOSE_STACK_ON_DRIVER_IFACE_FAILURE", "the display driver interface failed"),
    0x0017: ("SERVER_WINLOGON_CRASH", "Winlogon crashed"),
    0x0018: ("SERVER_CSRSS_CRASH", "CSRSS crashed"),
    0x0100: ("LICENSE_INTERNAL", "internal licensing error"),
    0x0101: ("LICENSE_NO_LICENSE_SERVER", "no license server was available"),
    0x0102: ("LICENSE_NO_LICENSE", "no client access licenses are available"),
    0x0103: ("LICENSE_BAD_CLIENT_MSG", "the client sent an invalid licensing message"),
    0x0104: ("LICENSE_HWID_DOESNT_MATCH_LICENSE", "the client's license belongs to another device"),
    0x0105: ("LICENSE_BAD_CLIENT_LICENSE", "the client's license is invalid"),
    0x0106: ("LICENSE_CANT_FINISH_PROTOCOL", "the licensing exchange could not finish"),
    0x0107: ("LICENSE_CLIENT_ENDED_PROTOCOL", "the client ended the licensing exchange"),
    0x0108: ("LICENSE_BAD_CLIENT_ENCRYPTION", "a licensing message was badly encrypted"),
    0x0109: ("LICENSE_CANT_UPGRADE_LICENSE", "the client's license could not be upgraded"),
    0x010A: ("LICENSE_NO_REMOTE_CONNECTIONS", "the server is not licensed for remote connections"),
}

# Connection broker, protocol and Standard RDP Security codes, as "hex NAME" pairs; their
# meaning comes from ERRINFO_RANGES.
_MORE_ERRINFO = """
0400 CB_DESTINATION_NOT_FOUND 0402 CB_LOADING_DESTINATION 0404 CB_REDIRECTING_TO_DESTINATION
0405 CB_SESSION_ONLINE_VM_WAKE 0406 CB_SESSION_ONLINE_VM_BOOT 0407 CB_SESSION_ONLINE_VM_NO_DNS
0408 CB_DESTINATION_POOL_NOT_FREE 0409 CB_CONNECTION_CANCELLED
0410 CB_CONNECTION_ERROR_INVALID_SETTINGS 0411 CB_SESSION_ONLINE_VM_BOOT_TIMEOUT
0412 CB_SESSION_ONLINE_VM_SESSMON_FAILED
10C9 UNKNOWNPDUTYPE2 10CA UNKNOWNPDUTYPE 10CB DATAPDUSEQUENCE 10CD CONTROLPDUSEQUENCE
10CE INVALIDCONTROLPDUACTION 10CF INVALIDINPUTPDUTYPE 10D0 INVALIDINPUTPDUMOUSE
10D1 INVALIDREFRESHRECTPDU 10D2 CREATEUSERDATAFAILED 10D3 CONNECTFAILED
10D4 CONFIRMACTIVEWRONGSHAREID 10D5 CONFIRMACTIVEWRONGORIGINATOR 10DA PERSISTENTKEYPDUBADLENGTH
10DB PERSISTENTKEYPDUILLEGALFIRST 10DC PERSISTENTKEYPDUTOOMANYTOTALKEYS
10DD PERSISTENTKEYPDUTOOMANYCACHEKEYS 10DE INPUTPDUBADLENGTH 10DF BITMAPCACHEERRORPDUBADLENGTH
10E0 SECURITYDATATOOSHORT 10E1 VCHANNELDATATOOSHORT 10E2 SHAREDATATOOSHORT
10E3 BADSUPRESSOUTPUTPDU 10E5 CONFIRMACTIVEPDUTOOSHORT 10E7 CAPABILITYSETTOOSMALL
10E8 CAPABILITYSETTOOLARGE 10E9 NOCURSORCACHE 10EA BADCAPABILITIES
10EC VIRTUALCHANNELDECOMPRESSIONERR 10ED INVALIDVCCOMPRESSIONTYPE 10EF INVALIDCHANNELID
10F0 VCHANNELSTOOMANY 10F3 REMOTEAPPSNOTENABLED 10F4 CACHECAPNOTSET
10F5 BITMAPCACHEERRORPDUBADLENGTH2 10F6 OFFSCRCACHEERRORPDUBADLENGTH
10F7 DNGCACHEERRORPDUBADLENGTH 10F8 GDIPLUSPDUBADLENGTH 1129 BADMONITORDATA
112A VCDECOMPRESSEDREASSEMBLEFAILED 112B VCDATATOOLONG 112C BAD_FRAME_ACK_DATA
112D GRAPHICSMODENOTSUPPORTED 112E GRAPHICSSUBSYSTEMRESETFAILED 112F GRAPHICSSUBSYSTEMFAILED
1130 TIMEZONEKEYNAMELENGTHTOOSHORT 1131 TIMEZONEKEYNAMELENGTHTOOLONG
1132 DYNAMICDSTDISABLEDFIELDMISSING 1133 VCDECODINGERROR 1134 VIRTUALDESKTOPTOOLARGE
1135 MONITORGEOMETRYVALIDATIONFAILED 1136 INVALIDMONITORCOUNT
1191 UPDATESESSIONKEYFAILED 1192 DECRYPTFAILED 1193 ENCRYPTFAILED 1194 ENCPKGMISMATCH
1195 DECRYPTFAILED2 1196 PEER_DISCONNECTED
"""
# 0x1111-0x1126 are SECURITYDATATOOSHORT2 ... SECURITYDATATOOSHORT23.
_SECURITYDATATOOSHORT_FIRST = 0x1111
_SECURITYDATATOOSHORT_LAST = 0x1126
_FIRST_NUMBERED_SUFFIX = 2


def _advice(cause: str, *fixes: str) -> Advice:
    return Advice((cause,), fixes)


#: (first, last, meaning, advice) for groups of errorInfo codes.
ERRINFO_RANGES: tuple[tuple[int, int, str, Advice], ...] = (
    (0x0001, 0x0002, "disconnected by an administrative tool",
     _advice("someone used an administrative tool to end the session",
             "ask the server's administrators")),
    (0x0003, 0x0004, "a session time limit elapsed",
     _advice("session time limits set by policy",
             "adjust the Remote Desktop Services session time limits")),
    (0x0005, 0x0005, "another connection took over the session",
     _advice("the same user connected from another client",
             "allow more than one session per user, or disconnect the other client")),
    (0x0006, 0x0006, "the server ran out of memory",
     _advice("memory exhaustion on the server", "add memory or reduce the load")),
    (0x0007, 0x0007, "the server denied the connection",
     _advice("Remote Desktop refuses this connection (policy, license or connection limits)",
             "check the Remote Desktop settings and connection limits", CHECK_EVENT_LOGS)),
    (0x0009, 0x0009, "the user has no right to connect",
     _advice("the user is not in Remote Desktop Users or lacks the logon right",
             "grant the right or the group membership")),
    (0x000A, 0x000A, "saved credentials are refused",
     _advice("policy demands freshly typed credentials",
             "type the password instead of using saved credentials")),
    (0x000B, 0x000C, "the user ended the session",
     _advice("the user logged off or disconnected", "nothing to fix unless unexpected")),
    (0x000F, 0x0018, "a server component crashed",
     _advice("the display driver, DWM, Winlogon or CSRSS failed",
             CHECK_EVENT_LOGS, "reboot the server")),
    (0x0100, 0x010A, "licensing failed", ADVICE["L1"]),
    (0x0400, 0x0412, "the connection broker could not place the session",
     _advice("the RD Connection Broker has no usable destination",
             "check the broker's collection and session hosts")),
    (0x10C9, 0x1136, "the server reports an RDP protocol error, almost always a client bug",
     _advice("the client sent something the server could not accept", "report it with a trace")),
    (0x1191, 0x1196, "Standard RDP Security encryption failed",
     _advice("encryption keys or methods disagree",
             "prefer TLS/NLA over Standard RDP Security", "report it with a trace")),
)

# ---- FreeRDP codes: class << 16 | code (include/freerdp/error.h; taxonomy §3c) -------------------
FREERDP_ERRINFO_CLASS = 0x1
FREERDP_CONNECT_CLASS = 0x2
_CLASS_SHIFT = 16
_CODE_MASK = 0xFFFF
ERRCONNECT: dict[str, int] = {
    "DNS_NAME_NOT_FOUND": 0x05, "CONNECT_FAILED": 0x06, "MCS_CONNECT_INITIAL_ERROR": 0x07,
    "TLS_CONNECT_FAILED": 0x08, "AUTHENTICATION_FAILED": 0x09, "INSUFFICIENT_PRIVILEGES": 0x0A,
    "SECURITY_NEGO_CONNECT_FAILED": 0x0C, "CONNECT_TRANSPORT_FAILED": 0x0D,
    "PASSWORD_EXPIRED": 0x0E, "PASSWORD_CERTAINLY_EXPIRED": 0x0F, "ACCOUNT_DISABLED": 0x12,
    "PASSWORD_MUST_CHANGE": 0x13, "LOGON_FAILURE": 0x14, "WRONG_PASSWORD": 0x15,
    "ACCESS_DENIED": 0x16, "ACCOUNT_RESTRICTION": 0x17, "ACCOUNT_LOCKED_OUT": 0x18,
    "ACCOUNT_EXPIRED": 0x19, "LOGON_TYPE_NOT_GRANTED": 0x1A, "ACTIVATION_TIMEOUT": 0x1C,
}
"""ERRCONNECT names and codes as FreeRDP 3.x has them (include/freerdp/error.h, checked at
3.0.0 and 3.30.0); 2.11.x has the same for each, except ACTIVATION_TIMEOUT (new in 3.0)."""
#: What FreeRDP 2.11 reports where 3.x reports the key (libfreerdp/core at 2.11.7, and
#: xfreerdp 2.11 against the mock, tests/mock/xfreerdp_faults.md):
#: - on "Timeout waiting for activation" 2.11 sets no code and aborts the connect, which
#:   ends in CONNECT_CANCELLED; ACTIVATION_TIMEOUT is new in 3.0;
#: (a row whose 2.11 name depends on more than the 3.x name says so itself: ``Row.freerdp_2``).
FREERDP_2_NAMES: dict[str, str | None] = {"ERRCONNECT_ACTIVATION_TIMEOUT": "ERRCONNECT_CONNECT_CANCELLED"}


def freerdp_2_name(name: str | None) -> str | None:
    """FreeRDP 2.11's name for what FreeRDP 3.x calls ``name`` (usually the same)."""
    return FREERDP_2_NAMES.get(name, name) if name is not None else None

# ---- CredSSP errorCode (taxonomy §2.2) -----------------------------------------------------------

#: NTSTATUS -> (name, ERRCONNECT suffix, mstsc code, confidence, what it means).
NTSTATUS: dict[int, tuple[str, str, int | None, str, str]] = {
    0xC000006D: ("STATUS_LOGON_FAILURE", "LOGON_FAILURE", 0x807, MEDIUM,
                 "unknown user name or bad password"),
    0xC000006A: ("STATUS_WRONG_PASSWORD", "WRONG_PASSWORD", 0x807, LOW,
                 "the password is wrong"),
    0xC0000064: ("STATUS_NO_SUCH_USER", "AUTHENTICATION_FAILED", 0xA07, MEDIUM,
                 "the user does not exist"),
    0xC0000072: ("STATUS_ACCOUNT_DISABLED", "ACCOUNT_DISABLED", 0xB07, MEDIUM,
                 "the account is disabled"),
    0xC000006E: ("STATUS_ACCOUNT_RESTRICTION", "ACCOUNT_RESTRICTION", 0xC07, MEDIUM,
                 "an account restriction applies (e.g. a blank password)"),
    0xC000006F: ("STATUS_INVALID_LOGON_HOURS", "AUTHENTICATION_FAILED", 0xC07, LOW,
                 "outside the allowed logon hours"),
    0xC0000070: ("STATUS_INVALID_WORKSTATION", "AUTHENTICATION_FAILED", 0xC07, LOW,
                 "the account may not log on from this workstation"),
    0xC0000071: ("STATUS_PASSWORD_EXPIRED", "PASSWORD_EXPIRED", 0xF07, MEDIUM,
                 "the password has expired"),
    0xC0000193: ("STATUS_ACCOUNT_EXPIRED", "ACCOUNT_EXPIRED", 0xE07, MEDIUM,
                 "the account has expired"),
    0xC0000224: ("STATUS_PASSWORD_MUST_CHANGE", "PASSWORD_MUST_CHANGE", 0x1207, MEDIUM,
                 "the password must be changed before the first logon"),
    0xC0000234: ("STATUS_ACCOUNT_LOCKED_OUT", "ACCOUNT_LOCKED_OUT", 0xD07, MEDIUM,
                 "the account is locked out"),
    0xC000015B: ("STATUS_LOGON_TYPE_NOT_GRANTED", "LOGON_TYPE_NOT_GRANTED", None, LOW,
                 "the user lacks the right to log on through Remote Desktop Services"),
    0xC0000022: ("STATUS_ACCESS_DENIED", "ACCESS_DENIED", None, LOW,
                 "access is denied"),
    0xC000005E: ("STATUS_NO_LOGON_SERVERS", "AUTHENTICATION_FAILED", 0x1807, LOW,
                 "no domain controller is reachable"),
    0xC0000133: ("STATUS_TIME_DIFFERENCE_AT_DC", "AUTHENTICATION_FAILED", None, LOW,
                 "the clocks of server and domain controller differ too much"),
    0xC0000388: ("STATUS_DOWNGRADE_DETECTED", "AUTHENTICATION_FAILED", None, LOW,
                 "a downgrade was detected"),
    0xC0000413: ("STATUS_AUTHENTICATION_FIREWALL_FAILED", "AUTHENTICATION_FAILED", None, LOW,
                 "the authentication firewall refused the user"),
}

#: SSL_ERR_* wording for the mstsc codes above (taxonomy §3a).
SSL_ERR_MESSAGES: dict[int, str] = {
    0x807: "The logon attempt failed",
    0xA07: "The user account does not exist",
    0xB07: "The user account is disabled",
    0xC07: "The user account is restricted",
    0xD07: "The user account is locked out",
    0xE07: "The user account has expired",
    0xF07: "The password has expired",
    0x1207: "The password must be changed before logging on the first time",
    0x1807: "No authority could be contacted for authentication",
}
# fmt: on


def _more_errinfo() -> dict[int, tuple[str, str]]:
    words = _MORE_ERRINFO.split()
    table = {int(code, 16): (name, "") for code, name in zip(words[::2], words[1::2])}
    first, last = _SECURITYDATATOOSHORT_FIRST, _SECURITYDATATOOSHORT_LAST
    for code in range(first, last + 1):
        table[code] = (f"SECURITYDATATOOSHORT{code - first + _FIRST_NUMBERED_SUFFIX}", "")
    return table


for _code, _entry in _more_errinfo().items():
    ERRINFO.setdefault(_code, _entry)


def errinfo_group(code: int) -> tuple[str, Advice] | None:
    """The meaning and advice of the range ``code`` falls in, if any."""
    for low, high, meaning, advice in ERRINFO_RANGES:
        if low <= code <= high:
            return meaning, advice
    return None


def freerdp_connect_code(name: str | None) -> int | None:
    """Full code for an ERRCONNECT suffix, e.g. ``CONNECT_FAILED`` -> 0x00020006."""
    if name is None or name not in ERRCONNECT:
        return None
    return FREERDP_CONNECT_CLASS << _CLASS_SHIFT | ERRCONNECT[name]


def errinfo_code(error_info: int) -> int:
    """FreeRDP's full code for a Set Error Info value, e.g. 0x101 -> 0x00010101."""
    return FREERDP_ERRINFO_CLASS << _CLASS_SHIFT | (error_info & _CODE_MASK)
