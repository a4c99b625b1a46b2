"""Certificate facts and findings for the server's TLS certificate (taxonomy S3).

The probe never fails a handshake on trust: it records the certificate and lists what an
RDP client would complain about. ``analyze_certificate`` never raises on bad input; garbage
bytes give a ``CertificateFacts`` with ``parse_error`` set.

Findings (stable strings, used by ``classify.classify_certificate``):
``self_signed``, ``expired``, ``not_yet_valid``, ``name_mismatch``, ``weak_key``,
``sha1_signature``, ``md5_signature``, ``no_server_auth_eku``, ``expiring_soon`` (valid
now, but ``not_after`` is at most ``warn_days`` away); ``untrusted_chain`` is added by the
chain check (``rdpprobe.trust``).
"""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rdpprobe.addresses import IPAddress, ip_literal
from rdpprobe.result import CertificateFacts
from rdpprobe.sequence.config import DEFAULT_WARN_DAYS

# ---- finding names --------------------------------------------------------------------------
SELF_SIGNED = "self_signed"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
NAME_MISMATCH = "name_mismatch"
WEAK_KEY = "weak_key"
SHA1_SIGNATURE = "sha1_signature"
MD5_SIGNATURE = "md5_signature"
NO_SERVER_AUTH_EKU = "no_server_auth_eku"
EXPIRING_SOON = "expiring_soon"
UNTRUSTED_CHAIN = "untrusted_chain"

# ---- thresholds -----------------------------------------------------------------------------
MIN_RSA_BITS = 2048  # Below this the key is weak (NIST SP 800-131A; OpenSSL SECLEVEL 2).
MIN_DSA_BITS = 2048
MIN_EC_BITS = 224  # Curves below P-224 give less than 112-bit security.

# ---- EKU OIDs -------------------------------------------------------------------------------
EKU_SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string  # 1.3.6.1.5.5.7.3.1
EKU_REMOTE_DESKTOP_AUTH = "1.3.6.1.4.1.311.54.1.2"  # Remote Desktop Authentication (taxonomy S3)
RDP_ACCEPTED_EKUS = frozenset({EKU_SERVER_AUTH, EKU_REMOTE_DESKTOP_AUTH})

#: cryptography warns of values RFC 5280 forbids but servers' certificates carry and clients
#: accept: a serial number that is not positive (4.1.2.2), a name attribute of the wrong
#: length (a three-letter country, an empty common name; Appendix A). The probe reports
#: certificates; it does not lint them on the scan's stderr. Only cryptography's warnings
#: (``UserWarning`` and its subclass ``CryptographyDeprecationWarning``), only those it
#: attributes to this module's reads of a certificate, are silenced.
warnings.filterwarnings("ignore", category=UserWarning, module=r"rdpprobe\.certinfo")

_WEAK_HASH_FINDINGS = {"sha1": SHA1_SIGNATURE, "md5": MD5_SIGNATURE}
_WILDCARD_LABEL = "*"


def analyze_certificate(der: bytes, expected_name: str | None, now: datetime,
                        warn_days: float = DEFAULT_WARN_DAYS) -> CertificateFacts:
    """Facts and findings for a DER certificate; a naive ``now`` is taken as UTC.

    ``expected_name`` is the name or address the user connected to; None skips the name check.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        return _analyze(x509.load_der_x509_certificate(der), der, expected_name, now, warn_days)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a reportable fact
        return CertificateFacts(
            sha256=hashlib.sha256(der).hexdigest() if isinstance(der, bytes) else None,
            parse_error=f"{type(exc).__name__}: {exc}",
        )


def _analyze(cert: x509.Certificate, der: bytes, expected_name: str | None, now: datetime,
             warn_days: float) -> CertificateFacts:
    """One pass over the certificate: each field is read once (each read builds new objects)."""
    subject = cert.subject
    subject_text, issuer_text = subject.rfc4514_string(), cert.issuer.rfc4514_string()
    san_dns, san_ip, ekus = _extensions(cert)
    key_type, key_size = _key_info(cert)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    signature_hash = _signature_hash(cert)
    common_name = _common_name(subject)
    checks = (
        (SELF_SIGNED, _same_name(cert, subject, subject_text, issuer_text)),
        (EXPIRED, now > not_after),
        (NOT_YET_VALID, now < not_before),
        (EXPIRING_SOON, not_before <= now <= not_after <= now + timedelta(days=warn_days)),
        (NAME_MISMATCH, expected_name is not None and not _names_match(san_dns, san_ip, common_name, expected_name)),
        (WEAK_KEY, _is_weak_key(key_type, key_size)),
        (NO_SERVER_AUTH_EKU, ekus is not None and not RDP_ACCEPTED_EKUS.intersection(ekus)),
        (_WEAK_HASH_FINDINGS.get(signature_hash or ""), True),
    )
    return CertificateFacts(
        subject=subject_text,
        issuer=issuer_text,
        common_name=common_name,
        san_dns=san_dns,
        san_ip=san_ip,
        serial=f"{cert.serial_number:x}",
        not_before=not_before.isoformat(),
        not_after=not_after.isoformat(),
        key_type=key_type,
        key_size=key_size,
        signature_hash=signature_hash,
        sha256=hashlib.sha256(der).hexdigest(),
        ekus=ekus,
        findings=tuple(name for name, hit in checks if hit and name),
    )


def _same_name(cert: x509.Certificate, subject: x509.Name, subject_text: str, issuer_text: str) -> bool:
    """Issuer equals subject. RFC 4514 text renders a name's attributes one to one, except that
    a multi-valued RDN (``+`` in the text) may list the same attributes in another order."""
    if issuer_text == subject_text:
        return True
    return "+" in subject_text and cert.issuer == subject


def _common_name(name: x509.Name) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _extensions(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None]:
    """SAN DNS names, SAN addresses and EKU OIDs (None when there is no EKU extension)."""
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    ekus: tuple[str, ...] | None = None
    for extension in cert.extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            dns = tuple(value.get_values_for_type(x509.DNSName))
            ips = tuple(str(ip) for ip in value.get_values_for_type(x509.IPAddress))
        elif isinstance(value, x509.ExtendedKeyUsage):
            ekus = tuple(oid.dotted_string for oid in value)
    return dns, ips, ekus


def _key_info(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 456
    return "unknown", None


def _signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # noqa: BLE001 - an unsupported algorithm is reported as unknown
        return "unknown"
    return None if algorithm is None else algorithm.name


def _is_weak_key(key_type: str | None, key_size: int | None) -> bool:
    minimum = {"rsa": MIN_RSA_BITS, "dsa": MIN_DSA_BITS, "ec": MIN_EC_BITS}.get(key_type or "")
    return minimum is not None and key_size is not None and key_size < minimum


# ---- name matching (RFC 6125 6.4, single-label wildcards) ------------------------------------


def _names_match(san_dns: tuple[str, ...], san_ip: tuple[str, ...], common_name: str | None, expected: str) -> bool:
    """Whether the certificate is valid for ``expected`` (a DNS name or an IP address)."""
    address = _parse_ip(expected)
    if address is not None:
        return any(_parse_ip(ip) == address for ip in san_ip)
    host = _normalise(expected)
    candidates = san_dns or ((common_name,) if common_name else ())
    return any(dns_name_matches(pattern, host) for pattern in candidates)


def dns_name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 6.4.3: a ``*`` may stand for exactly one whole left-most label."""
    pattern_labels = _normalise(pattern).split(".")
    host_labels = _normalise(host).split(".")
    if len(pattern_labels) != len(host_labels) or not all(host_labels):
        return False
    first, *rest = pattern_labels
    if first == _WILDCARD_LABEL:
        # A wildcard needs at least two fixed labels after it (no "*.com").
        return len(rest) >= 2 and rest == host_labels[1:]
    return pattern_labels == host_labels


def _normalise(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _parse_ip(text: str) -> IPAddress | None:
    return ip_literal(text.strip().strip("[]"))
