"""NTSTATUS values a CredSSP peer reports in TSRequest.errorCode ([MS-ERREF] 2.3.1).

The code space is open: decoders keep the raw int and ``codes.name_of(NtStatus, value)``
names it. The values are the ones clients map to distinct errors (FreeRDP
winpr/include/winpr/nt.h; see the errorCode table of the protocol reference).
"""

from __future__ import annotations

import enum


class NtStatus(enum.IntEnum):
    """[MS-ERREF] 2.3.1 NTSTATUS values seen in CredSSP and NTLM failures."""

    STATUS_SUCCESS = 0x00000000
    STATUS_ACCESS_DENIED = 0xC0000022
    STATUS_NO_LOGON_SERVERS = 0xC000005E
    STATUS_NO_SUCH_USER = 0xC0000064
    STATUS_WRONG_PASSWORD = 0xC000006A
    STATUS_LOGON_FAILURE = 0xC000006D
    STATUS_ACCOUNT_RESTRICTION = 0xC000006E
    STATUS_INVALID_LOGON_HOURS = 0xC000006F
    STATUS_INVALID_WORKSTATION = 0xC0000070
    STATUS_PASSWORD_EXPIRED = 0xC0000071
    STATUS_ACCOUNT_DISABLED = 0xC0000072
    STATUS_TIME_DIFFERENCE_AT_DC = 0xC0000133
    STATUS_LOGON_TYPE_NOT_GRANTED = 0xC000015B
    STATUS_ACCOUNT_EXPIRED = 0xC0000193
    STATUS_PASSWORD_MUST_CHANGE = 0xC0000224
    STATUS_ACCOUNT_LOCKED_OUT = 0xC0000234
    STATUS_DOWNGRADE_DETECTED = 0xC0000388
    STATUS_AUTHENTICATION_FIREWALL_FAILED = 0xC0000413
