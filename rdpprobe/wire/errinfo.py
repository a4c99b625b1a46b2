"""Set Error Info codes ([MS-RDPBCGR] 2.2.5.1.1 TS_SET_ERROR_INFO_PDU, errorInfo field).

The code space is open: a decoder keeps the raw ``int``; ``ErrorInfo`` names the codes the
specification lists and ``describe`` gives a short meaning for each (``unknown(0x…)`` else).
"""

from __future__ import annotations

import enum

from rdpprobe.wire.codes import name_of


class ErrorInfo(enum.IntEnum):
    """[MS-RDPBCGR] 2.2.5.1.1 errorInfo values (ERRINFO_* without the prefix)."""

    NONE = 0x0000
    # Protocol-independent codes.
    RPC_INITIATED_DISCONNECT = 0x0001
    RPC_INITIATED_LOGOFF = 0x0002
    IDLE_TIMEOUT = 0x0003
    LOGON_TIMEOUT = 0x0004
    DISCONNECTED_BY_OTHERCONNECTION = 0x0005
    OUT_OF_MEMORY = 0x0006
    SERVER_DENIED_CONNECTION = 0x0007
    SERVER_INSUFFICIENT_PRIVILEGES = 0x0009
    SERVER_FRESH_CREDENTIALS_REQUIRED = 0x000A
    RPC_INITIATED_DISCONNECT_BYUSER = 0x000B
    LOGOFF_BY_USER = 0x000C
    CLOSE_STACK_ON_DRIVER_NOT_READY = 0x000F
    SERVER_DWM_CRASH = 0x0010
    CLOSE_STACK_ON_DRIVER_FAILURE = 0x0011
    CLOSE_STACK_ON_DRIVER_IFACE_FAILURE = 0x0012
    SERVER_WINLOGON_CRASH = 0x0017
    SERVER_CSRSS_CRASH = 0x0018
    # Licensing codes.
    LICENSE_INTERNAL = 0x0100
    LICENSE_NO_LICENSE_SERVER = 0x0101
    LICENSE_NO_LICENSE = 0x0102
    LICENSE_BAD_CLIENT_MSG = 0x0103
    LICENSE_HWID_DOESNT_MATCH_LICENSE = 0x0104
    LICENSE_BAD_CLIENT_LICENSE = 0x0105
    LICENSE_CANT_FINISH_PROTOCOL = 0x0106
    LICENSE_CLIENT_ENDED_PROTOCOL = 0x0107
    LICENSE_BAD_CLIENT_ENCRYPTION = 0x0108
    LICENSE_CANT_UPGRADE_LICENSE = 0x0109
    LICENSE_NO_REMOTE_CONNECTIONS = 0x010A
    # Connection broker codes.
    CB_DESTINATION_NOT_FOUND = 0x0400
    CB_LOADING_DESTINATION = 0x0402
    CB_REDIRECTING_TO_DESTINATION = 0x0404
    CB_SESSION_ONLINE_VM_WAKE = 0x0405
    CB_SESSION_ONLINE_VM_BOOT = 0x0406
    CB_SESSION_ONLINE_VM_NO_DNS = 0x0407
    CB_DESTINATION_POOL_NOT_FREE = 0x0408
    CB_CONNECTION_CANCELLED = 0x0409
    CB_CONNECTION_ERROR_INVALID_SETTINGS = 0x0410
    CB_SESSION_ONLINE_VM_BOOT_TIMEOUT = 0x0411
    CB_SESSION_ONLINE_VM_SESSMON_FAILED = 0x0412
    # RDP protocol errors (a client-side bug as seen by the server).
    UNKNOWNPDUTYPE2 = 0x10C9
    UNKNOWNPDUTYPE = 0x10CA
    DATAPDUSEQUENCE = 0x10CB
    CONTROLPDUSEQUENCE = 0x10CD
    INVALIDCONTROLPDUACTION = 0x10CE
    INVALIDINPUTPDUTYPE = 0x10CF
    INVALIDINPUTPDUMOUSE = 0x10D0
    INVALIDREFRESHRECTPDU = 0x10D1
    CREATEUSERDATAFAILED = 0x10D2
    CONNECTFAILED = 0x10D3
    CONFIRMACTIVEWRONGSHAREID = 0x10D4
    CONFIRMACTIVEWRONGORIGINATOR = 0x10D5
    PERSISTENTKEYPDUBADLENGTH = 0x10DA
    PERSISTENTKEYPDUILLEGALFIRST = 0x10DB
    PERSISTENTKEYPDUTOOMANYTOTALKEYS = 0x10DC
    PERSISTENTKEYPDUTOOMANYCACHEKEYS = 0x10DD
    INPUTPDUBADLENGTH = 0x10DE
    BITMAPCACHEERRORPDUBADLENGTH = 0x10DF
    SECURITYDATATOOSHORT = 0x10E0
    VCHANNELDATATOOSHORT = 0x10E1
    SHAREDATATOOSHORT = 0x10E2
    BADSUPRESSOUTPUTPDU = 0x10E3
    CONFIRMACTIVEPDUTOOSHORT = 0x10E5
    CAPABILITYSETTOOSMALL = 0x10E7
    CAPABILITYSETTOOLARGE = 0x10E8
    NOCURSORCACHE = 0x10E9
    BADCAPABILITIES = 0x10EA
    VIRTUALCHANNELDECOMPRESSIONERR = 0x10EC
    INVALIDVCCOMPRESSIONTYPE = 0x10ED
    INVALIDCHANNELID = 0x10EF
    VCHANNELSTOOMANY = 0x10F0
    REMOTEAPPSNOTENABLED = 0x10F3
    CACHECAPNOTSET = 0x10F4
    BITMAPCACHEERRORPDUBADLENGTH2 = 0x10F5
    OFFSCRCACHEERRORPDUBADLENGTH = 0x10F6
    DNGCACHEERRORPDUBADLENGTH = 0x10F7
    GDIPLUSPDUBADLENGTH = 0x10F8
    SECURITYDATATOOSHORT2 = 0x1111
    SECURITYDATATOOSHORT3 = 0x1112
    SECURITYDATATOOSHORT4 = 0x1113
    SECURITYDATATOOSHORT5 = 0x1114
    SECURITYDATATOOSHORT6 = 0x1115
    SECURITYDATATOOSHORT7 = 0x1116
    SECURITYDATATOOSHORT8 = 0x1117
    SECURITYDATATOOSHORT9 = 0x1118
    SECURITYDATATOOSHORT10 = 0x1119
    SECURITYDATATOOSHORT11 = 0x111A
    SECURITYDATATOOSHORT12 = 0x111B
    SECURITYDATATOOSHORT13 = 0x111C
    SECURITYDATATOOSHORT14 = 0x111D
    SECURITYDATATOOSHORT15 = 0x111E
    SECURITYDATATOOSHORT16 = 0x111F
    SECURITYDATATOOSHORT17 = 0x1120
    SECURITYDATATOOSHORT18 = 0x1121
    SECURITYDATATOOSHORT19 = 0x1122
    SECURITYDATATOOSHORT20 = 0x1123
    SECURITYDATATOOSHORT21 = 0x1124
    SECURITYDATATOOSHORT22 = 0x1125
    SECURITYDATATOOSHORT23 = 0x1126
    BADMONITORDATA = 0x1129
    VCDECOMPRESSEDREASSEMBLEFAILED = 0x112A
    VCDATATOOLONG = 0x112B
    BAD_FRAME_ACK_DATA = 0x112C
    GRAPHICSMODENOTSUPPORTED = 0x112D
    GRAPHICSSUBSYSTEMRESETFAILED = 0x112E
    GRAPHICSSUBSYSTEMFAILED = 0x112F
    TIMEZONEKEYNAMELENGTHTOOSHORT = 0x1130
    TIMEZONEKEYNAMELENGTHTOOLONG = 0x1131
    DYNAMICDSTDISABLEDFIELDMISSING = 0x1132
    VCDECODINGERROR = 0x1133
    VIRTUALDESKTOPTOOLARGE = 0x1134
    MONITORGEOMETRYVALIDATIONFAILED = 0x1135
    INVALIDMONITORCOUNT = 0x1136
    # Standard RDP Security errors.
    UPDATESESSIONKEYFAILED = 0x1191
    DECRYPTFAILED = 0x1192
    ENCRYPTFAILED = 0x1193
    ENCPKGMISMATCH = 0x1194
    DECRYPTFAILED2 = 0x1195


_MEANINGS: dict[int, str] = {
    ErrorInfo.NONE: "no error",
    ErrorInfo.RPC_INITIATED_DISCONNECT: "disconnected by an administrative tool on the server",
    ErrorInfo.RPC_INITIATED_LOGOFF: "logged off by an administrative tool on the server",
    ErrorInfo.IDLE_TIMEOUT: "idle session time limit elapsed",
    ErrorInfo.LOGON_TIMEOUT: "active session time limit elapsed",
    ErrorInfo.DISCONNECTED_BY_OTHERCONNECTION: "another connection took over the session",
    ErrorInfo.OUT_OF_MEMORY: "server out of memory",
    ErrorInfo.SERVER_DENIED_CONNECTION: "server denied the connection",
    ErrorInfo.SERVER_INSUFFICIENT_PRIVILEGES: "user lacks the right to log on remotely",
    ErrorInfo.SERVER_FRESH_CREDENTIALS_REQUIRED: "saved credentials not accepted, fresh ones required",
    ErrorInfo.RPC_INITIATED_DISCONNECT_BYUSER: "disconnected by the user through an administrative tool",
    ErrorInfo.LOGOFF_BY_USER: "user logged off",
    ErrorInfo.CLOSE_STACK_ON_DRIVER_NOT_READY: "display driver not ready",
    ErrorInfo.SERVER_DWM_CRASH: "desktop window manager crashed",
    ErrorInfo.CLOSE_STACK_ON_DRIVER_FAILURE: "display driver failed to start",
    ErrorInfo.CLOSE_STACK_ON_DRIVER_IFACE_FAILURE: "display driver interface failure",
    ErrorInfo.SERVER_WINLOGON_CRASH: "winlogon crashed",
    ErrorInfo.SERVER_CSRSS_CRASH: "csrss crashed",
    ErrorInfo.LICENSE_INTERNAL: "internal licensing error",
    ErrorInfo.LICENSE_NO_LICENSE_SERVER: "no license server available",
    ErrorInfo.LICENSE_NO_LICENSE: "no client access licenses available",
    ErrorInfo.LICENSE_BAD_CLIENT_MSG: "invalid licensing message from the client",
    ErrorInfo.LICENSE_HWID_DOESNT_MATCH_LICENSE: "license hardware id does not match",
    ErrorInfo.LICENSE_BAD_CLIENT_LICENSE: "client license is invalid",
    ErrorInfo.LICENSE_CANT_FINISH_PROTOCOL: "licensing protocol could not finish",
    ErrorInfo.LICENSE_CLIENT_ENDED_PROTOCOL: "client ended the licensing protocol",
    ErrorInfo.LICENSE_BAD_CLIENT_ENCRYPTION: "licensing message badly encrypted",
    ErrorInfo.LICENSE_CANT_UPGRADE_LICENSE: "client license could not be upgraded",
    ErrorInfo.LICENSE_NO_REMOTE_CONNECTIONS: "server not licensed for remote connections",
    ErrorInfo.CB_DESTINATION_NOT_FOUND: "broker: destination not found",
    ErrorInfo.CB_LOADING_DESTINATION: "broker: destination is loading",
    ErrorInfo.CB_REDIRECTING_TO_DESTINATION: "broker: redirecting to the destination",
    ErrorInfo.CB_SESSION_ONLINE_VM_WAKE: "broker: waking the virtual machine",
    ErrorInfo.CB_SESSION_ONLINE_VM_BOOT: "broker: booting the virtual machine",
    ErrorInfo.CB_SESSION_ONLINE_VM_NO_DNS: "broker: virtual machine has no dns name",
    ErrorInfo.CB_DESTINATION_POOL_NOT_FREE: "broker: no free machine in the pool",
    ErrorInfo.CB_CONNECTION_CANCELLED: "broker: connection cancelled",
    ErrorInfo.CB_CONNECTION_ERROR_INVALID_SETTINGS: "broker: invalid routing settings",
    ErrorInfo.CB_SESSION_ONLINE_VM_BOOT_TIMEOUT: "broker: virtual machine boot timed out",
    ErrorInfo.CB_SESSION_ONLINE_VM_SESSMON_FAILED: "broker: session monitoring failed",
    ErrorInfo.CREATEUSERDATAFAILED: "server could not build its gcc user data",
    ErrorInfo.CONNECTFAILED: "server could not complete the connection",
    ErrorInfo.SECURITYDATATOOSHORT23: "client info pdu too short",
    ErrorInfo.UPDATESESSIONKEYFAILED: "session key update failed",
    ErrorInfo.DECRYPTFAILED: "server could not decrypt client data",
    ErrorInfo.ENCRYPTFAILED: "server could not encrypt data",
    ErrorInfo.ENCPKGMISMATCH: "encryption package mismatch",
    ErrorInfo.DECRYPTFAILED2: "server could not decrypt client data (unencrypted pdu)",
}

# INVARIANT: codes in the protocol-error ranges without a specific entry share one meaning.
_PROTOCOL_ERROR_FIRST = 0x10C9  # [MS-RDPBCGR] 2.2.5.1.1 first RDP protocol error code
_PROTOCOL_ERROR_LAST = 0x1136  # [MS-RDPBCGR] 2.2.5.1.1 last RDP protocol error code


def describe(code: int) -> str:
    """A short meaning of ``code``; ``unknown(0x…)`` when the table does not name it."""
    if code in _MEANINGS:
        return _MEANINGS[code]
    name = name_of(ErrorInfo, code)
    if name.startswith("unknown("):
        return name
    if _PROTOCOL_ERROR_FIRST <= code <= _PROTOCOL_ERROR_LAST:
        return f"rdp protocol error reported by the server ({name.lower()})"
    return name.lower()
