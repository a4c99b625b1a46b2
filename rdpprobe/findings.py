"""The security findings catalogue: from the facts a probe observed to graded findings.

Rules of this module:
- There is ONE table. ``CATALOGUE`` holds every finding rdpprobe can report, each row with a
  stable id, a severity, a title, the fix and its references (specification sections,
  Microsoft documentation, CVE ids), and the rule that reads the facts.
- A rule reads only ``Facts`` (and the probe's date) and returns the evidence that triggered
  it, as ``fact = value`` strings, or None. A finding is only ever made from evidence the
  probe observed: a fact that is absent (None) is unknown, and an unknown fact never makes a
  finding, nor is it reported as passed. A listener that resets every connection therefore
  gets no finding at all, not "NLA not required".
- ``findings()`` is pure and total: no I/O, no clock (the probe's own date is passed in),
  and any Facts give a tuple, most severe first.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rdpprobe.result import (
    CertificateFacts,
    Facts,
    Finding,
    ProbeResult,
    TlsAuditFacts,
)

__all__ = [
    "CATALOGUE", "END_OF_SUPPORT", "READ_FIELDS", "SEVERITIES", "EndOfSupport", "Entry", "Finding", "Hit",
    "at_or_above", "findings", "max_severity", "severity_rank",
]  # fmt: skip

CRITICAL, HIGH, MEDIUM, LOW, INFO = "critical", "high", "medium", "low", "info"
#: Severities, most severe first.
SEVERITIES = (CRITICAL, HIGH, MEDIUM, LOW, INFO)
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# ---- protocol numbers ----------------------------------------------------------------------------
RESTRICTED_ADMIN_MODE_SUPPORTED = 0x08  # [MS-RDPBCGR] 2.2.1.2.1 RDP_NEG_RSP flags
REDIRECTED_AUTHENTICATION_MODE_SUPPORTED = 0x10  # [MS-RDPBCGR] 2.2.1.2.1
#: [MS-CSSP] 2.2.1 / 3.1.5: from version 5 the pubKeyAuth binding is a SHA-256 hash over a
#: clientNonce, the change the March 2018 updates for CVE-2018-0886 brought (KB4093492).
CREDSSP_HASH_BINDING_VERSION = 5
WITHOUT_CREDSSP = ("RDP", "SSL")
CREDSSP_PROTOCOLS = frozenset({"HYBRID", "HYBRID_EX"})
STANDARD_RDP = "RDP"
#: ``EncryptionMethod`` names ([MS-RDPBCGR] 2.2.1.4.3) and the finding each one makes.
ENCRYPTION_FINDINGS = {
    "NONE": "rdp-encryption-none",
    "ENCRYPTION_METHOD_40BIT": "rdp-encryption-40bit",
    "ENCRYPTION_METHOD_56BIT": "rdp-encryption-56bit",
    "ENCRYPTION_METHOD_128BIT": "rdp-encryption-128bit",
}
#: TLS versions (spelled as ``TlsFacts.version``) and the finding accepting each one makes.
LEGACY_TLS_FINDINGS = {"SSLv3": "sslv3-accepted", "TLSv1": "tls-1.0-accepted", "TLSv1.1": "tls-1.1-accepted"}
#: Certificate finding names (``rdpprobe.certinfo``) and the catalogue id of each.
CERTIFICATE_FINDINGS = {
    "untrusted_chain": "cert-untrusted-chain",
    "expiring_soon": "cert-expiring-soon",
    "self_signed": "cert-self-signed",
    "expired": "cert-expired",
    "not_yet_valid": "cert-not-yet-valid",
    "name_mismatch": "cert-name-mismatch",
    "weak_key": "cert-weak-key",
    "sha1_signature": "cert-weak-signature",
    "md5_signature": "cert-weak-signature",
    "no_server_auth_eku": "cert-no-server-auth-eku",
}

# ---- references ----------------------------------------------------------------------------------
_SPECS = "https://learn.microsoft.com/en-us/openspecs/windows_protocols"
RDPBCGR_NEG_REQ = f"[MS-RDPBCGR] 2.2.1.1.1 RDP_NEG_REQ {_SPECS}/ms-rdpbcgr/902b090b-9cb3-4efc-92bf-ee13373371e3"
RDPBCGR_NEG_RSP = f"[MS-RDPBCGR] 2.2.1.2.1 RDP_NEG_RSP {_SPECS}/ms-rdpbcgr/b2975bdc-6d56-49ee-9c57-f2ff3a0b6817"
RDPBCGR_SC_SEC1 = f"[MS-RDPBCGR] 2.2.1.4.3 TS_UD_SC_SEC1 {_SPECS}/ms-rdpbcgr/3e86b68d-3e2e-4433-b486-878875778f4b"
CSSP_TSREQUEST = f"[MS-CSSP] 2.2.1 TSRequest {_SPECS}/ms-cssp/6aac4dea-08ef-47a6-8747-22ea7f6d8685"
CSSP_SEQUENCE = f"[MS-CSSP] 3.1.5 Processing Events and Sequencing Rules {_SPECS}/ms-cssp/385a7489-d46b-464c-b224-f7340e308a5c"
KB_CREDSSP = "KB4093492 https://support.microsoft.com/en-us/help/4093492/credssp-updates-for-cve-2018-0886-march-13-2018"
CVE_CREDSSP = "CVE-2018-0886"
_UNATTEND = "https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend"
USER_AUTHENTICATION = f"UserAuthentication {_UNATTEND}/microsoft-windows-terminalservices-rdp-winstationextensions-userauthentication"
SECURITY_LAYER = f"SecurityLayer {_UNATTEND}/microsoft-windows-terminalservices-rdp-winstationextensions-securitylayer"
NMAP_RDP_ENUM = "nmap rdp-enum-encryption https://nmap.org/nsedoc/scripts/rdp-enum-encryption.html"
RFC_TLS_DEPRECATION = "RFC 8996 (TLS 1.0 and 1.1 deprecated) https://www.rfc-editor.org/rfc/rfc8996"
RFC_SSLV3 = "RFC 7568 (SSL 3.0 deprecated) https://www.rfc-editor.org/rfc/rfc7568"
RFC_RC4 = "RFC 7465 (RC4 prohibited in TLS) https://www.rfc-editor.org/rfc/rfc7465"
RFC_X509 = "RFC 5280 https://www.rfc-editor.org/rfc/rfc5280"
NLMP_AV_PAIR = "[MS-NLMP] 2.2.2.1 AV_PAIR, 2.2.2.10 VERSION"
LIFECYCLE = "https://learn.microsoft.com/en-us/lifecycle/products"
RELEASE_INFORMATION = "https://learn.microsoft.com/en-us/windows/release-health/release-information"


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule's answer: the evidence, and a severity where the row's does not fit the case."""

    evidence: tuple[str, ...]
    severity: str | None = None


Rule = Callable[[Facts, date | None], Hit | None]
"""Reads the facts (and the probe's date, None when unknown); the evidence, or None."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the catalogue."""

    id: str
    severity: str
    title: str
    fix: str
    references: tuple[str, ...]
    rule: Rule


@dataclass(frozen=True, slots=True)
class EndOfSupport:
    """The last day of support of every Windows release that reports one build.

    NTLM's VERSION cannot tell editions apart (Windows 10 1607 and Windows Server 2016 share
    10.0.14393), so a build is past its end only when the latest of them has passed.
    """

    product_version: str
    """``major.minor.build`` as ``NtlmFacts.product_version`` spells it."""
    releases: str
    ends: date
    """The last day of extended support (Pacific time, as Microsoft's pages give it)."""
    source: str
    also_reported_by: str | None = None
    """A non-Windows implementation that reports this build whatever its OS, if one does."""


def _eos(version: str, releases: str, ends: str, source: str, also: str | None = None) -> EndOfSupport:
    return EndOfSupport(version, releases, date.fromisoformat(ends), source, also)


#: WinPR (FreeRDP's library, under its shadow server and FreeRDP-based servers) sends a fixed
#: NTLM VERSION of 6.1.7601 on every OS, as the FreeRDP interop tests observe.
WINPR = "WinPR (FreeRDP-based servers) reports 6.1.7601 on every OS: confirm the server runs Windows"


#: Microsoft's dates are Pacific time and a probe's date is UTC: a day later is surely past.
END_OF_DAY_MARGIN = timedelta(days=1)
_W10 = f"{LIFECYCLE}/windows-10-enterprise-and-education"
_W11 = f"{LIFECYCLE}/windows-11-enterprise-and-education"
#: Builds and the end of support of the last release that reports each; Microsoft lifecycle
#: pages. Builds not listed are unknown: no finding is made for them.
END_OF_SUPPORT: dict[str, EndOfSupport] = {e.product_version: e for e in (
    _eos("6.0.6001", "Windows Vista SP1, Windows Server 2008", "2020-01-14", f"{LIFECYCLE}/windows-server-2008"),
    _eos("6.0.6002", "Windows Vista SP2, Windows Server 2008 SP2", "2020-01-14", f"{LIFECYCLE}/windows-server-2008"),
    _eos("6.0.6003", "Windows Server 2008 SP2", "2020-01-14", f"{LIFECYCLE}/windows-server-2008"),
    _eos("6.1.7600", "Windows 7, Windows Server 2008 R2", "2020-01-14", f"{LIFECYCLE}/windows-server-2008-r2"),
    _eos("6.1.7601", "Windows 7 SP1, Windows Server 2008 R2 SP1", "2020-01-14", f"{LIFECYCLE}/windows-server-2008-r2",
         WINPR),
    _eos("6.2.9200", "Windows 8, Windows Server 2012", "2023-10-10", f"{LIFECYCLE}/windows-server-2012"),
    _eos("6.3.9600", "Windows 8.1, Windows Server 2012 R2", "2023-10-10", f"{LIFECYCLE}/windows-server-2012-r2"),
    _eos("10.0.10240", "Windows 10 1507, Windows 10 Enterprise 2015 LTSB", "2025-10-14", RELEASE_INFORMATION),
    _eos("10.0.10586", "Windows 10 1511", "2017-10-10", _W10),
    _eos("10.0.14393", "Windows 10 1607, Windows 10 Enterprise 2016 LTSB, Windows Server 2016", "2027-01-12",
         f"{LIFECYCLE}/windows-server-2016"),
    _eos("10.0.15063", "Windows 10 1703", "2019-10-08", _W10),
    _eos("10.0.16299", "Windows 10 1709, Windows Server 1709", "2020-10-13", _W10),
    _eos("10.0.17134", "Windows 10 1803, Windows Server 1803", "2021-05-11", _W10),
    _eos("10.0.17763", "Windows 10 1809, Windows 10 Enterprise LTSC 2019, Windows Server 2019", "2029-01-09",
         f"{LIFECYCLE}/windows-server-2019"),
    _eos("10.0.18362", "Windows 10 1903, Windows Server 1903", "2020-12-08", _W10),
    _eos("10.0.18363", "Windows 10 1909, Windows Server 1909", "2022-05-10", _W10),
    _eos("10.0.19041", "Windows 10 2004, Windows Server 2004", "2021-12-14", _W10),
    _eos("10.0.19042", "Windows 10 20H2, Windows Server 20H2", "2023-05-09", _W10),
    _eos("10.0.19043", "Windows 10 21H1", "2022-12-13", _W10),
    _eos("10.0.19045", "Windows 10 22H2", "2025-10-14", _W10),
    _eos("10.0.20348", "Windows Server 2022", "2031-10-14", f"{LIFECYCLE}/windows-server-2022"),
    _eos("10.0.22000", "Windows 11 21H2", "2024-10-08", _W11),
    _eos("10.0.22621", "Windows 11 22H2", "2025-10-14", _W11),
    _eos("10.0.22631", "Windows 11 23H2", "2026-11-10", _W11),
)}  # fmt: skip


# ---- evidence helpers ----------------------------------------------------------------------------


def _fact(name: str, value: object) -> str:
    """``name = value``, a list joined with commas."""
    if isinstance(value, (tuple, list)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = str(value).lower()
    return f"{name} = {value}"


def _hit(evidence: Iterable[str], severity: str | None = None) -> Hit | None:
    found = tuple(dict.fromkeys(evidence))
    return Hit(found, severity) if found else None


def _accepted(facts: Facts, names: Iterable[str]) -> list[str]:
    """Evidence that the server took a connection with one of ``names``: the protocol it
    selected, or those the enumeration saw accepted."""
    wanted = set(names)
    out = []
    if facts.selected_protocol in wanted:
        out.append(_fact("selected_protocol", facts.selected_protocol))
    if facts.accepted_protocols is not None and wanted & set(facts.accepted_protocols):
        out.append(_fact("accepted_protocols", facts.accepted_protocols))
    return out


# ---- rules: security layer -----------------------------------------------------------------------


def _nla_not_required(facts: Facts, _on: date | None) -> Hit | None:
    evidence = _accepted(facts, WITHOUT_CREDSSP)
    if facts.legacy_no_negotiation:
        evidence.append(_fact("legacy_no_negotiation", True))
    if evidence and facts.nla_required is False:
        evidence.append(_fact("nla_required", False))
    return _hit(evidence)


def _standard_rdp_security(facts: Facts, _on: date | None) -> Hit | None:
    evidence = _accepted(facts, (STANDARD_RDP,))
    if facts.legacy_no_negotiation:
        evidence.append(_fact("legacy_no_negotiation", True))
    audit = facts.rdp_encryption_audit
    if audit is not None and audit.methods_accepted:
        evidence.append(_fact("rdp_encryption_audit.methods_accepted", audit.methods_accepted))
    return _hit(evidence)


def _standard_rdp_in_use(facts: Facts) -> bool:
    return facts.selected_protocol == STANDARD_RDP or bool(facts.legacy_no_negotiation)


def _encryption_rule(method: str) -> Rule:
    """The rule for Standard RDP Security with ``method``: enumerated as accepted, or chosen
    by the server on a connection that ran Standard RDP Security (with Enhanced RDP Security
    the field is always NONE, [MS-RDPBCGR] 2.2.1.4.3, and says nothing)."""

    def rule(facts: Facts, _on: date | None) -> Hit | None:
        evidence = []
        audit = facts.rdp_encryption_audit
        if audit is not None and method in audit.methods_accepted:
            evidence.append(_fact("rdp_encryption_audit.methods_accepted", audit.methods_accepted))
        chosen = facts.encryption.method if facts.encryption is not None else None
        if chosen == method and _standard_rdp_in_use(facts):
            evidence += [_fact("encryption.method", chosen), _fact("selected_protocol", facts.selected_protocol)]
        return _hit(evidence)

    return rule


def _credssp_version_old(facts: Facts, _on: date | None) -> Hit | None:
    """The server answered a TSRequest of version 5 or more with an older version: it lacks
    the hash binding. Only then: a server may answer a lower client with the client's own."""
    version, ours = facts.credssp_version, facts.client_credssp_version
    if version is None or version >= CREDSSP_HASH_BINDING_VERSION:
        return None
    if ours is None or ours < CREDSSP_HASH_BINDING_VERSION:
        return None
    offered = _accepted(facts, CREDSSP_PROTOCOLS)
    evidence = [_fact("credssp_version", version), _fact("client_credssp_version", ours), *offered]
    return _hit(evidence) if offered else None


def _possible_downgrade(facts: Facts, _on: date | None) -> Hit | None:
    sentence = facts.possible_downgrade
    return _hit([_fact("possible_downgrade", sentence)]) if sentence else None


def _flag_rule(flag: int, name: str) -> Rule:
    def rule(facts: Facts, _on: date | None) -> Hit | None:
        flags = facts.neg_flags
        if flags is None or not flags & flag:
            return None
        return _hit([_fact("neg_flags", f"0x{flags:02x}"), _fact("neg_flag_names", name)])

    return rule


# ---- rules: TLS ----------------------------------------------------------------------------------


def _tls_version_rule(version: str) -> Rule:
    """Accepted when negotiated on the probe's own connection or enumerated as accepted."""

    def rule(facts: Facts, _on: date | None) -> Hit | None:
        evidence = []
        if facts.tls is not None and facts.tls.version == version:
            evidence.append(_fact("tls.version", version))
        audit = facts.tls_audit
        if audit is not None and any(v.version == version and v.accepted for v in audit.versions):
            evidence.append(_fact("tls_audit.versions", f"{version} accepted"))
        return _hit(evidence)

    return rule


#: Cipher suite name fragments (IANA and OpenSSL spellings) and how weak each makes a suite.
_BROKEN_CIPHER_MARKS = ("NULL", "EXPORT", "EXP-", "_anon_", "ADH-", "AECDH-")
_WEAK_CIPHER_MARKS = ("RC4", "3DES", "DES-CBC", "_DES_", "DES-CBC3")
_AEAD_MARKS = ("GCM", "CHACHA", "CCM")


def cipher_weakness(name: str) -> str | None:
    """The severity a cipher suite's weakness deserves: NULL, EXPORT and anonymous suites are
    high, RC4 and (3)DES medium, CBC with SHA-1 MACs low; None for a sound suite."""
    if any(mark in name for mark in _BROKEN_CIPHER_MARKS):
        return HIGH
    if any(mark in name for mark in _WEAK_CIPHER_MARKS):
        return MEDIUM
    if not any(mark in name for mark in _AEAD_MARKS) and (name.endswith("_SHA") or name.endswith("-SHA")):
        return LOW
    return None


def _suites_seen(facts: Facts) -> list[tuple[str, str]]:
    """(evidence, suite) for the negotiated suite and every suite enumerated as accepted."""
    seen = []
    if facts.tls is not None and facts.tls.cipher:
        seen.append((_fact("tls.cipher", facts.tls.cipher), facts.tls.cipher))
    audit: TlsAuditFacts | None = facts.tls_audit
    for support in audit.versions if audit is not None else ():
        if support.accepted:
            seen += [(_fact(f"tls_audit.{support.version}.ciphers", suite), suite) for suite in support.ciphers]
    return seen


def _tls_weak_cipher(facts: Facts, _on: date | None) -> Hit | None:
    graded = [(evidence, cipher_weakness(suite)) for evidence, suite in _suites_seen(facts)]
    weak = [(evidence, grade) for evidence, grade in graded if grade is not None]
    if not weak:
        return None
    worst = min((grade for _, grade in weak), key=severity_rank)
    return _hit((evidence for evidence, _ in weak), worst)


def _no_server_preference(facts: Facts, _on: date | None) -> Hit | None:
    audit = facts.tls_audit
    if audit is None or audit.server_cipher_preference is not False:
        return None
    return _hit([_fact("tls_audit.server_cipher_preference", False)])


# ---- rules: certificate --------------------------------------------------------------------------


def _certificate(facts: Facts) -> CertificateFacts | None:
    return facts.tls.certificate if facts.tls is not None else None


#: The certificate fields that show why, per finding: validity dates, issuer, key.
_CERT_CONTEXT: dict[str, tuple[str, ...]] = {
    "cert-expired": ("not_after",), "cert-expiring-soon": ("not_after",), "cert-not-yet-valid": ("not_before",),
    "cert-self-signed": ("subject", "issuer"), "cert-untrusted-chain": ("issuer",),
    "cert-name-mismatch": ("common_name", "san_dns", "san_ip"), "cert-weak-key": ("key_type", "key_size"),
    "cert-weak-signature": ("signature_hash",), "cert-no-server-auth-eku": ("ekus",),
}  # fmt: skip


def _cert_rule(finding_id: str) -> Rule:
    """The rule for one certificate finding: its names in ``CertificateFacts.findings``."""
    names = tuple(name for name, fid in CERTIFICATE_FINDINGS.items() if fid == finding_id)

    def rule(facts: Facts, _on: date | None) -> Hit | None:
        cert = _certificate(facts)
        named = [name for name in names if name in cert.findings] if cert is not None else []
        evidence = [_fact("tls.certificate.findings", name) for name in named]
        if evidence and cert is not None:
            values = ((name, getattr(cert, name)) for name in _CERT_CONTEXT[finding_id])
            evidence += [_fact(f"tls.certificate.{name}", value) for name, value in values if value not in (None, ())]
        if finding_id == "cert-untrusted-chain":
            evidence += _untrusted(facts)
        return _hit(evidence, HIGH if "md5_signature" in named else None)

    return rule


def _untrusted(facts: Facts) -> list[str]:
    trust = facts.tls.trust if facts.tls is not None else None
    if trust is None or trust.trusted is not False:
        return []
    return [_fact("tls.trust.trusted", False),
            *(_fact(f"tls.trust.{k}", v) for k, v in (("error", trust.error), ("store", trust.store)) if v)]


# ---- rules: NTLM ---------------------------------------------------------------------------------

_NTLM_FIELDS = ("netbios_computer", "netbios_domain", "dns_computer", "dns_domain", "dns_tree", "product_version")


def _ntlm_disclosed(facts: Facts, _on: date | None) -> Hit | None:
    ntlm = facts.ntlm
    if ntlm is None:
        return None
    return _hit(_fact(f"ntlm.{name}", getattr(ntlm, name)) for name in _NTLM_FIELDS if getattr(ntlm, name))


def _os_end_of_support(facts: Facts, on: date | None) -> Hit | None:
    version = facts.ntlm.product_version if facts.ntlm is not None else None
    known = END_OF_SUPPORT.get(version or "")
    if known is None or on is None or on <= known.ends + END_OF_DAY_MARGIN:
        return None
    evidence = [
        _fact("ntlm.product_version", version),
        f"end of support = {known.ends.isoformat()} ({known.releases}; {known.source})",
        _fact("probe date", on.isoformat()),
    ]
    if known.also_reported_by is None:
        return _hit(evidence)
    # The build may not be the OS's: the claim is what the server reports, graded lower.
    return _hit([*evidence, _fact("caveat", known.also_reported_by)], MEDIUM)


# ---- the table -----------------------------------------------------------------------------------

_TLS_FIX = "allow only TLS 1.2 and 1.3 on the server (Schannel protocol settings, or the server's TLS configuration)"
_CERT_FIX = "install a certificate from a CA your clients trust, for the name they connect to (RDP listener certificate)"
_STD_RDP_FIX = ("set the security layer to TLS (SecurityLayer = 2; xrdp: security_layer=tls), or Negotiate with NLA "
                "required, so that Standard RDP Security (RC4, no server authentication) is refused")

CATALOGUE: tuple[Entry, ...] = (
    Entry("nla-not-required", HIGH, "Network Level Authentication is not required",
          "require NLA: UserAuthentication = 1 (\"Require user authentication for remote connections by using "
          "Network Level Authentication\"); xrdp cannot require it (its security_layer is tls, rdp or negotiate): "
          "reach such a server only through a gateway or VPN",
          (USER_AUTHENTICATION, RDPBCGR_NEG_RSP), _nla_not_required),
    Entry("standard-rdp-security-accepted", HIGH, "Standard RDP Security is accepted (RC4, no server authentication)",
          _STD_RDP_FIX, (SECURITY_LAYER, RDPBCGR_SC_SEC1, NMAP_RDP_ENUM), _standard_rdp_security),
    Entry("rdp-encryption-none", CRITICAL, "Standard RDP Security without encryption is accepted",
          _STD_RDP_FIX, (RDPBCGR_SC_SEC1, NMAP_RDP_ENUM), _encryption_rule("NONE")),
    Entry("rdp-encryption-40bit", HIGH, "40-bit RC4 Standard RDP Security is accepted",
          _STD_RDP_FIX + "; at least set the encryption level to High (xrdp: crypt_level=high)",
          (RDPBCGR_SC_SEC1, NMAP_RDP_ENUM), _encryption_rule("ENCRYPTION_METHOD_40BIT")),
    Entry("rdp-encryption-56bit", HIGH, "56-bit RC4 Standard RDP Security is accepted",
          _STD_RDP_FIX + "; at least set the encryption level to High (xrdp: crypt_level=high)",
          (RDPBCGR_SC_SEC1, NMAP_RDP_ENUM), _encryption_rule("ENCRYPTION_METHOD_56BIT")),
    Entry("rdp-encryption-128bit", MEDIUM, "128-bit RC4 Standard RDP Security is accepted",
          _STD_RDP_FIX, (RDPBCGR_SC_SEC1, RFC_RC4, NMAP_RDP_ENUM), _encryption_rule("ENCRYPTION_METHOD_128BIT")),
    Entry("sslv3-accepted", HIGH, "SSL 3.0 is accepted", _TLS_FIX, (RFC_SSLV3,), _tls_version_rule("SSLv3")),
    Entry("tls-1.0-accepted", MEDIUM, "TLS 1.0 is accepted", _TLS_FIX, (RFC_TLS_DEPRECATION,),
          _tls_version_rule("TLSv1")),
    Entry("tls-1.1-accepted", MEDIUM, "TLS 1.1 is accepted", _TLS_FIX, (RFC_TLS_DEPRECATION,),
          _tls_version_rule("TLSv1.1")),
    Entry("tls-weak-cipher", MEDIUM, "Weak TLS cipher suites are accepted",
          "disable NULL, EXPORT, anonymous, RC4 and 3DES suites, and prefer AEAD (GCM, ChaCha20) suites over CBC "
          "with SHA-1", (RFC_RC4, RFC_TLS_DEPRECATION), _tls_weak_cipher),
    Entry("tls-no-server-cipher-preference", LOW, "The server follows the client's cipher suite order",
          "make the server choose the suite by its own order of preference", (RFC_TLS_DEPRECATION,),
          _no_server_preference),
    Entry("cert-untrusted-chain", MEDIUM, "The certificate does not chain to a trusted root",
          _CERT_FIX, (RFC_X509 + " 6 (path validation)",), _cert_rule("cert-untrusted-chain")),
    Entry("cert-expired", HIGH, "The certificate has expired", "renew the certificate",
          (RFC_X509 + " 4.1.2.5 (validity)",), _cert_rule("cert-expired")),
    Entry("cert-not-yet-valid", MEDIUM, "The certificate is not valid yet",
          "check the server's clock and the certificate's notBefore", (RFC_X509 + " 4.1.2.5 (validity)",),
          _cert_rule("cert-not-yet-valid")),
    Entry("cert-expiring-soon", LOW, "The certificate expires soon", "renew the certificate before it expires",
          (RFC_X509 + " 4.1.2.5 (validity)",), _cert_rule("cert-expiring-soon")),
    Entry("cert-self-signed", MEDIUM, "The certificate is self-signed", _CERT_FIX,
          (RFC_X509 + " 6 (path validation)",), _cert_rule("cert-self-signed")),
    Entry("cert-name-mismatch", MEDIUM, "The certificate does not name the host probed",
          "issue the certificate for the name clients connect to (subjectAltName)",
          (RFC_X509 + " 4.2.1.6 (subjectAltName)",), _cert_rule("cert-name-mismatch")),
    Entry("cert-weak-key", HIGH, "The certificate's key is too small",
          "issue a certificate with an RSA key of at least 2048 bits or an EC key of at least 256 bits",
          (RFC_X509,), _cert_rule("cert-weak-key")),
    Entry("cert-weak-signature", MEDIUM, "The certificate is signed with SHA-1 or MD5",
          "issue a certificate signed with SHA-256 or better", (RFC_X509 + " 4.1.1.2 (signatureAlgorithm)",),
          _cert_rule("cert-weak-signature")),
    Entry("cert-no-server-auth-eku", LOW, "The certificate lacks the server authentication EKU",
          "issue a certificate with Server Authentication (1.3.6.1.5.5.7.3.1) or Remote Desktop Authentication "
          "(1.3.6.1.4.1.311.54.1.2) in its extended key usage", (RFC_X509 + " 4.2.1.12 (extKeyUsage)",),
          _cert_rule("cert-no-server-auth-eku")),
    Entry("credssp-version-old", HIGH, "The server's CredSSP predates the CVE-2018-0886 fix",
          "install the CredSSP updates of March 2018 or later (KB4093492) and set Encryption Oracle Remediation to "
          "Force Updated Clients", (CSSP_TSREQUEST, CSSP_SEQUENCE, KB_CREDSSP, CVE_CREDSSP), _credssp_version_old),
    Entry("os-end-of-support", HIGH, "The server reports a Windows build past its end of support",
          "upgrade to a supported Windows release (or enrol it in Extended Security Updates)",
          (NLMP_AV_PAIR, f"{LIFECYCLE}/", RELEASE_INFORMATION), _os_end_of_support),
    Entry("possible-downgrade", MEDIUM, "The security negotiated may have been downgraded",
          "look for a device between client and server that rewrites the negotiation; compare with a direct "
          "connection", (RDPBCGR_NEG_REQ, RDPBCGR_NEG_RSP), _possible_downgrade),
    Entry("ntlm-info-disclosed", INFO, "NTLM discloses the server's names and OS build to anonymous clients",
          "expected of NLA; where the names must stay private, limit who can reach the port (firewall, gateway)",
          (NLMP_AV_PAIR,), _ntlm_disclosed),
    Entry("restricted-admin-advertised", INFO, "Restricted Admin mode is advertised",
          "restricted admin mode logs on without delegating the password, but accepts the NTLM hash as proof; "
          "disable it (DisableRestrictedAdmin = 1) unless it is in use", (RDPBCGR_NEG_RSP,),
          _flag_rule(RESTRICTED_ADMIN_MODE_SUPPORTED, "RESTRICTED_ADMIN_MODE_SUPPORTED")),
    Entry("redirected-auth-advertised", INFO, "Redirected authentication (Remote Credential Guard) is advertised",
          "no action needed unless the mode is not meant to be offered", (RDPBCGR_NEG_RSP,),
          _flag_rule(REDIRECTED_AUTHENTICATION_MODE_SUPPORTED, "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED")),
)  # fmt: skip


# ---- evaluation ----------------------------------------------------------------------------------

#: Every ``Facts`` field a rule reads (``facts.<name>`` in this module; a test keeps it whole).
READ_FIELDS = (
    "selected_protocol", "accepted_protocols", "nla_required", "legacy_no_negotiation", "neg_flags", "tls",
    "ntlm", "credssp_version", "client_credssp_version", "encryption", "possible_downgrade", "tls_audit",
    "rdp_encryption_audit",
)  # fmt: skip
_read_facts = operator.attrgetter(*READ_FIELDS)


def severity_rank(severity: str) -> int:
    """0 for ``critical`` … 4 for ``info``; an unknown name ranks below ``info``."""
    return _RANK.get(severity, len(SEVERITIES))


def findings(subject: ProbeResult | Facts, on: date | datetime | None = None) -> tuple[Finding, ...]:
    """Every finding the facts support, most severe first (catalogue order within a severity).

    ``subject`` is a result (its ``facts``, and its ``started_at`` as the date) or bare
    ``Facts``; ``on`` is the date end-of-support dates are judged against. Without a date
    none is judged: an unknown date claims nothing.
    """
    facts = subject.facts if isinstance(subject, ProbeResult) else subject
    if all(value is None for value in _read_facts(facts)):
        return ()  # Nothing a rule reads was learned (a closed port, a silent host): no rule can hit.
    when = on if on is not None else subject.started_at if isinstance(subject, ProbeResult) else None
    day = when.date() if isinstance(when, datetime) else when
    found = []
    for order, entry in enumerate(CATALOGUE):
        hit = entry.rule(facts, day)
        if hit is not None:
            severity = hit.severity or entry.severity
            finding = Finding(entry.id, severity, entry.title, hit.evidence, entry.fix, entry.references)
            found.append((severity_rank(severity), order, finding))
    return tuple(finding for _, _, finding in sorted(found, key=lambda item: item[:2]))


def max_severity(found: Iterable[Finding]) -> str | None:
    """The most severe severity among ``found``; None when there are none."""
    return min((f.severity for f in found), key=severity_rank, default=None)


def at_or_above(found: Iterable[Finding], threshold: str) -> tuple[Finding, ...]:
    """The findings as severe as ``threshold`` or more."""
    limit = severity_rank(threshold)
    return tuple(f for f in found if severity_rank(f.severity) <= limit)
