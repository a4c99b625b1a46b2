"""Server personalities: how a given kind of RDP server negotiates and what it announces.

A personality is the *healthy* behaviour of a server (a Windows host with NLA required, an
xrdp in negotiate mode, a FreeRDP server, a pre-Vista host); faults are layered on top.
The negotiation rules follow [MS-RDPBCGR] 3.3.5.3.2 and the behaviour observed on loopback
for xrdp 0.9 and the FreeRDP 2.11 server (CC flags, SRC-REF, answer to a CR without
RDP_NEG_REQ).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdpprobe.wire.gcc_consts import EncryptionLevel, EncryptionMethod
from rdpprobe.wire.ntlm import DEFAULT_VERSION, NtlmVersion
from rdpprobe.wire.nego import FailureCode, NegFailure, NegRsp, NegRspFlags, SecurityProtocol
from rdpprobe.wire.x224 import SERVER_SRC_REF

SSL = int(SecurityProtocol.SSL)
HYBRID = int(SecurityProtocol.HYBRID)
HYBRID_EX = int(SecurityProtocol.HYBRID_EX)
RDP = int(SecurityProtocol.RDP)

# [MS-RDPBCGR] 2.2.1.4.2 TS_UD_SC_CORE version values.
RDP_VERSION_5_TO_8 = 0x00080004
RDP_VERSION_10_12 = 0x00080011

# [MS-RDPBCGR] 2.2.1.4.3 encryptionMethod / encryptionLevel of the personalities.
ENCRYPTION_METHOD_40BIT = int(EncryptionMethod.ENCRYPTION_METHOD_40BIT)
ENCRYPTION_METHOD_56BIT = int(EncryptionMethod.ENCRYPTION_METHOD_56BIT)
ENCRYPTION_METHOD_128BIT = int(EncryptionMethod.ENCRYPTION_METHOD_128BIT)
ENCRYPTION_METHOD_FIPS = int(EncryptionMethod.ENCRYPTION_METHOD_FIPS)  # 3DES, HMAC-SHA1 (5.3.6.2)
ENCRYPTION_LEVEL_NONE = int(EncryptionLevel.ENCRYPTION_LEVEL_NONE)
ENCRYPTION_LEVEL_LOW = int(EncryptionLevel.ENCRYPTION_LEVEL_LOW)
ENCRYPTION_LEVEL_CLIENT_COMPATIBLE = int(EncryptionLevel.ENCRYPTION_LEVEL_CLIENT_COMPATIBLE)
ENCRYPTION_LEVEL_HIGH = int(EncryptionLevel.ENCRYPTION_LEVEL_HIGH)
ENCRYPTION_LEVEL_FIPS = int(EncryptionLevel.ENCRYPTION_LEVEL_FIPS)

# Observed: FreeRDP servers answer with SRC-REF 0 and flags EXTENDED|DYNVC_GFX (real-servers §2).
FREERDP_SRC_REF = 0x0000
WINDOWS_RSP_FLAGS = 0x1F  # Windows 10, requestedProtocols 3 (taxonomy §1.5, FreeRDP #9323).
# Windows Server 2008 R2 SP1 before the 2018 CredSSP updates: CredSSP version 2 (taxonomy
# §2.3, FreeRDP PR #3250), NTLM VERSION 6.1.7601, and no restricted admin flags (2.2.1.2.1).
WINDOWS_2008R2_VERSION = NtlmVersion(6, 1, 7601)
WINDOWS_2008R2_CREDSSP = 2


class NoNegStyle(enum.Enum):
    """What the server answers to a CR without RDP_NEG_REQ ([MS-RDPBCGR] 3.3.5.3.2)."""

    BARE_CC = "bare_cc"  # Windows and xrdp: an 11-byte CC, Standard RDP Security.
    FULL_RSP = "full_rsp"  # FreeRDP: a 19-byte CC with RDP_NEG_RSP or RDP_NEG_FAILURE.


@dataclass(frozen=True, slots=True)
class Personality:
    """The healthy behaviour of one kind of RDP server."""

    name: str
    supported: int
    """``SecurityProtocol`` bits the server accepts; SSL is implied by HYBRID."""
    allow_rdp: bool
    """Standard RDP Security is accepted (SecurityLayer RDP or Negotiate)."""
    require_nla: bool = False
    """UserAuthentication = 1: refuse clients that do not offer HYBRID."""
    force_rdp: bool = False
    """Select PROTOCOL_RDP whatever was requested (xrdp ``security_layer=rdp``)."""
    fallback_rdp: bool = False
    """Select PROTOCOL_RDP when nothing offered is supported (xrdp negotiate mode)."""
    legacy: bool = False
    """Pre-Vista: never sends rdpNegData, always Standard RDP Security."""
    no_neg_style: NoNegStyle = NoNegStyle.BARE_CC
    rsp_flags: int = int(NegRspFlags.EXTENDED_CLIENT_DATA_SUPPORTED)
    src_ref: int = SERVER_SRC_REF
    credssp_version: int = 6
    certificate: str = "self-signed"
    rdp_version: int = RDP_VERSION_10_12
    encryption_method: int = ENCRYPTION_METHOD_128BIT
    """Standard RDP Security only; Enhanced Security always announces NONE (2.2.1.4.3)."""
    encryption_level: int = ENCRYPTION_LEVEL_CLIENT_COMPATIBLE
    encryption_methods: int | None = None
    """Methods the server supports, to choose from the client's offer ([MS-RDPBCGR] 5.3.2,
    ``choose_method``); None: ``encryption_method`` whatever the client offers."""
    computer_name: str = "MOCKRDP"
    domain_name: str = "MOCKRDP"
    os_version: NtlmVersion = DEFAULT_VERSION
    """The VERSION the NTLM CHALLENGE carries ([MS-NLMP] 2.2.2.10)."""


def choose(p: Personality, requested: int | None) -> NegRsp | NegFailure | None:
    """The rdpNegData to answer a CR with (None = legacy CC without rdpNegData)."""
    if p.legacy:
        return None
    if requested is None:
        return _no_neg_req(p)
    if p.force_rdp:
        return NegRsp(RDP, p.rsp_flags)
    allowed = (HYBRID_EX, HYBRID) if p.require_nla else (HYBRID_EX, HYBRID, SSL)
    for proto in allowed:
        if requested & proto and p.supported & proto:
            return NegRsp(proto, p.rsp_flags)
    return _refusal(p, requested)


def _no_neg_req(p: Personality) -> NegRsp | NegFailure | None:
    if p.no_neg_style is NoNegStyle.BARE_CC and (p.allow_rdp or not p.require_nla):
        return None
    if p.allow_rdp:
        return NegRsp(RDP, p.rsp_flags)
    return _refusal(p, RDP)


def _refusal(p: Personality, requested: int) -> NegRsp | NegFailure:
    """The failure a server answers when nothing it supports was offered."""
    if p.require_nla:
        return NegFailure(FailureCode.HYBRID_REQUIRED_BY_SERVER)
    if p.allow_rdp and p.fallback_rdp:
        return NegRsp(RDP, p.rsp_flags)
    if not requested & (SSL | HYBRID | HYBRID_EX):
        if p.allow_rdp:
            return NegRsp(RDP, p.rsp_flags)
        return NegFailure(FailureCode.SSL_REQUIRED_BY_SERVER)
    if not p.supported:
        return NegFailure(FailureCode.SSL_NOT_ALLOWED_BY_SERVER)
    # Only CredSSP was requested but the server supports TLS only (2.2.1.2.2, code 1).
    return NegFailure(FailureCode.SSL_REQUIRED_BY_SERVER)


PERSONALITIES: dict[str, Personality] = {
    p.name: p
    for p in (
        Personality("windows-nla", SSL | HYBRID | HYBRID_EX, False, require_nla=True,
                    rsp_flags=WINDOWS_RSP_FLAGS),
        Personality("windows-tls", SSL, False, rsp_flags=WINDOWS_RSP_FLAGS),
        Personality("windows-rdp-security", 0, True, rsp_flags=WINDOWS_RSP_FLAGS),
        Personality("windows-rdp-fips", 0, True, rsp_flags=WINDOWS_RSP_FLAGS,
                    encryption_method=ENCRYPTION_METHOD_FIPS, encryption_level=ENCRYPTION_LEVEL_FIPS),
        Personality("windows-2008r2-nla", SSL | HYBRID, False, require_nla=True,
                    credssp_version=WINDOWS_2008R2_CREDSSP, os_version=WINDOWS_2008R2_VERSION,
                    rdp_version=RDP_VERSION_5_TO_8, computer_name="WIN2008R2"),
        Personality("rdp-40bit-only", 0, True, rsp_flags=WINDOWS_RSP_FLAGS, encryption_level=ENCRYPTION_LEVEL_LOW,
                    encryption_methods=ENCRYPTION_METHOD_40BIT),
        Personality("rdp-56bit-only", 0, True, rsp_flags=WINDOWS_RSP_FLAGS,
                    encryption_methods=ENCRYPTION_METHOD_56BIT),
        Personality("rdp-client-compatible", 0, True, rsp_flags=WINDOWS_RSP_FLAGS,
                    encryption_methods=ENCRYPTION_METHOD_40BIT | ENCRYPTION_METHOD_56BIT | ENCRYPTION_METHOD_128BIT),
        Personality("rdp-high", 0, True, rsp_flags=WINDOWS_RSP_FLAGS, encryption_level=ENCRYPTION_LEVEL_HIGH,
                    encryption_methods=ENCRYPTION_METHOD_40BIT | ENCRYPTION_METHOD_56BIT | ENCRYPTION_METHOD_128BIT),
        Personality("rdp-no-encryption", 0, True, rsp_flags=WINDOWS_RSP_FLAGS, encryption_method=0,
                    encryption_level=ENCRYPTION_LEVEL_NONE, encryption_methods=0),
        Personality("windows-negotiate", SSL | HYBRID | HYBRID_EX, True, rsp_flags=WINDOWS_RSP_FLAGS),
        Personality("xrdp-like", SSL, True, fallback_rdp=True, credssp_version=0, rdp_version=RDP_VERSION_5_TO_8,
                    computer_name="XRDP"),
        Personality("freerdp-like", SSL | HYBRID, True, no_neg_style=NoNegStyle.FULL_RSP,
                    rsp_flags=0x03, src_ref=FREERDP_SRC_REF, computer_name="FREERDP"),
        Personality("legacy-no-negotiation", 0, True, legacy=True, rdp_version=RDP_VERSION_5_TO_8,
                    computer_name="LEGACY"),
    )
}


#: Methods by strength, strongest first, as a server picks among the client's (5.3.2).
METHODS_BY_STRENGTH = (ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_128BIT, ENCRYPTION_METHOD_56BIT,
                       ENCRYPTION_METHOD_40BIT)


def choose_method(p: Personality, offered: int) -> int | None:
    """The encryptionMethod ``p`` answers Client Security Data's ``offered`` with; None: the
    server drops the client, having no method in common ([MS-RDPBCGR] 5.3.2).

    Level NONE answers NONE. Low and client compatible take the strongest method both
    support; high takes the server's strongest, which the client must have offered.
    """
    if p.encryption_methods is None:
        return p.encryption_method
    if p.encryption_level == ENCRYPTION_LEVEL_NONE:
        return 0
    supported = [m for m in METHODS_BY_STRENGTH if p.encryption_methods & m]
    if p.encryption_level >= ENCRYPTION_LEVEL_HIGH:
        supported = supported[:1]
    return next((m for m in supported if offered & m), None)


def personality(name: str) -> Personality:
    """The built-in personality called ``name``."""
    try:
        return PERSONALITIES[name]
    except KeyError:
        raise KeyError(f"unknown personality {name!r}; known: {sorted(PERSONALITIES)}") from None
