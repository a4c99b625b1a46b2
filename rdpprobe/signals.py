"""What a probe observed when it stopped: the raw evidence, before classification.

Values are the snake_case names used in results and JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Signal(enum.Enum):
    """The observable event that ended a probe (taxonomy §4.1, "Observable signal")."""

    OK = "ok"  # The probe went as far as it was asked or allowed to go.
    DNS_FAILURE = "dns_failure"  # D1: name did not resolve.
    REFUSED = "refused"  # T1: SYN answered by RST (or ICMP port unreachable).
    TIMEOUT = "timeout"  # T2: no SYN-ACK before the connect deadline.
    UNREACHABLE = "unreachable"  # T3: ICMP host/network unreachable.
    RESET = "reset"  # X2 and later: TCP RST from the peer.
    EOF = "eof"  # X1 and later: orderly FIN from the peer.
    SILENT = "silent"  # X3/A1: connected, but no answer within the phase deadline.
    NOT_RDP = "not_rdp"  # X4: the peer speaks another protocol.
    NEG_FAILURE = "neg_failure"  # N1-N6: RDP_NEG_FAILURE.
    TLS_ALERT = "tls_alert"  # S1/S2/C3: the peer sent a TLS alert.
    TLS_EOF = "tls_eof"  # S2: the peer closed during the TLS handshake.
    TLS_ERROR = "tls_error"  # S1: any other handshake failure (e.g. wrong version number).
    CREDSSP_ERROR = "credssp_error"  # C2: TSRequest.errorCode (NTSTATUS).
    CREDSSP_VERSION = "credssp_version"  # C4: CredSSP version mismatch.
    PUBKEY_MISMATCH = "pubkey_mismatch"  # C5: server pubKeyAuth failed verification.
    AUTHZ_DENIED = "authz_denied"  # C6: Early User Authorization Result denied.
    MCS_REJECTED = "mcs_rejected"  # M1/M3: Connect Response, Attach or Join result != 0.
    DOWNGRADE = "downgrade"  # M2: clientRequestedProtocols differs from what was sent.
    BAD_SERVER_SECURITY = "bad_server_security"  # R1: Standard RDP Security data unusable.
    LICENSE_ERROR = "license_error"  # L1: licensing error message.
    SET_ERROR_INFO = "set_error_info"  # E1: Set Error Info PDU.
    DISCONNECT_ULTIMATUM = "disconnect_ultimatum"  # E2: MCS Disconnect Provider Ultimatum.
    REDIRECTED = "redirected"  # E3: Server Redirection PDU.
    CREDENTIALS_WITHHELD = "credentials_withheld"  # S3: the probe kept the password back.
    DECODE_ERROR = "decode_error"  # The peer sent bytes that do not decode.
    FLOOD = "flood"  # The peer sent more than the probe's stated input bound (see ``sequence.prober``).
    INTERNAL_ERROR = "internal_error"  # A bug in rdpprobe; the scan goes on.

    __hash__ = object.__hash__  # As Phase's: identity, in C (the verdict cache hashes it).


@dataclass(frozen=True, slots=True)
class Observed:
    """A signal plus the detail that refines it, as a driver reports it to the prober."""

    signal: Signal
    detail: str | None = None
    tls_alert: int | None = None
    """The TLS AlertDescription number, when the peer sent an alert."""
    before_certificate: bool | None = None
    """For TLS failures: True when the server sent no handshake record at all (taxonomy S2)."""
