"""Certificate chain trust: does the server's chain lead to a certificate the user trusts?

Path building and checking are ``cryptography.x509.verification``'s (RFC 5280 6, with the
CA/Browser Forum profile for CA certificates), never hand-written. The trust anchors are
``--ca-file`` (PEM, one or more certificates), ``--ca-path`` (a directory of PEM files, as
``openssl rehash`` leaves it) or, by default, the system store that ``ssl`` would load
(``ssl.get_default_verify_paths()``: on Debian /etc/ssl/certs/ca-certificates.crt).

What ``trusted`` means is what ``openssl verify -CAfile`` decides: the chain the server sent
(leaf plus the intermediates of its Certificate message, RFC 8446 4.4.2 / RFC 5246 7.4.2)
validates to an anchor at the probe's time. Whether the certificate names the host is a
separate finding (``certinfo``'s ``name_mismatch``, RFC 6125 6.4); the chain is checked for
the name first (``ServerVerifier``) and, only when that fails, for the chain alone, so a
wrong name is never reported as an untrusted chain.

Rules of this module:
- the store is read once per process per (ca_file, ca_path) and only when a certificate is
  checked, so probes that never reach TLS never pay for it;
- a check that cannot be made (no store, a certificate that does not parse, intermediates
  the TLS library could not show) gives ``trusted=None``: unknown, never False.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification

from rdpprobe.result import TrustFacts

SYSTEM_STORE = "system"
#: Certificates per store read from one file at most; a CA bundle holds about 150.
MAX_ANCHORS_PER_FILE = 10_000
#: Files read from a ``--ca-path`` directory at most (OpenSSL's hash links included).
MAX_CA_PATH_FILES = 10_000
#: A PEM file larger than this is not read as trust anchors (a system bundle is ~220 KB).
MAX_CA_FILE_BYTES = 16 * 1024 * 1024
PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
# cryptography's lint of a server's certificate (as in certinfo): reported, never printed.
warnings.filterwarnings("ignore", category=UserWarning, module=r"rdpprobe\.trust")

#: How the verifier says that no candidate issuer was found anywhere, and what OpenSSL (and
#: so xfreerdp) calls the same failure (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
VERIFIER_NO_ISSUER = "all candidates exhausted with no interior errors"
NO_ISSUER = "unable to get local issuer certificate: no path from the certificate to an anchor of the store"


@dataclass(frozen=True, slots=True)
class LoadedStore:
    """Trust anchors read from one source; ``store`` None when none could be read."""

    label: str
    store: verification.Store | None
    error: str | None = None


def store_label(ca_file: str | None, ca_path: str | None) -> str:
    """``ca-file:PATH``, ``ca-path:PATH`` (both, comma-separated) or ``system``."""
    parts = [f"{kind}:{path}" for kind, path in (("ca-file", ca_file), ("ca-path", ca_path)) if path]
    return ",".join(parts) or SYSTEM_STORE


@functools.lru_cache(maxsize=16)
def load_store(ca_file: str | None = None, ca_path: str | None = None) -> LoadedStore:
    """The anchors of ``ca_file`` and ``ca_path``, or of the system store when both are None."""
    label = store_label(ca_file, ca_path)
    if ca_file is None and ca_path is None:
        defaults = ssl.get_default_verify_paths()
        ca_file, ca_path = defaults.cafile, defaults.capath
    anchors: dict[bytes, x509.Certificate] = {}
    try:
        if ca_file:
            _add_file(anchors, ca_file, strict=True)
        if ca_path:
            _add_directory(anchors, ca_path)
    except (OSError, ValueError) as exc:
        return LoadedStore(label, None, f"trust store unreadable: {exc}")
    if not anchors:
        return LoadedStore(label, None, "trust store holds no certificate")
    return LoadedStore(label, verification.Store(list(anchors.values())))


def _add_file(anchors: dict[bytes, x509.Certificate], path: str, strict: bool) -> None:
    """Add the PEM certificates of ``path``; a file that holds none is an error when ``strict``."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_CA_FILE_BYTES + 1)
    if len(data) > MAX_CA_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_CA_FILE_BYTES} bytes")
    if PEM_BEGIN not in data:
        if strict:
            raise ValueError(f"{path} holds no PEM certificate")
        return
    try:
        with warnings.catch_warnings():
            # Some anchors of a system store carry values RFC 5280 forbids (a serial number
            # that is not positive); they are read, as OpenSSL reads them, without
            # cryptography's lint. A store is read once per process: only then do the
            # filters change.
            warnings.simplefilter("ignore", UserWarning)
            certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        if strict:
            raise
        return  # A stray file in a CA directory is skipped, as OpenSSL skips it.
    for certificate in certificates[:MAX_ANCHORS_PER_FILE]:
        anchors.setdefault(certificate.fingerprint(hashes.SHA256()), certificate)


def _add_directory(anchors: dict[bytes, x509.Certificate], path: str) -> None:
    if not os.path.isdir(path):
        return
    names = sorted(os.listdir(path))[:MAX_CA_PATH_FILES]
    for name in names:
        full = os.path.join(path, name)
        if os.path.isfile(full):
            _add_file(anchors, full, strict=False)


#: What cryptography raises for a certificate it cannot read, at load or for a field it
#: parses only when read (a malformed subject, a BitString attribute of another type, an
#: X.509 version that is not 1-3; cryptography 47 raises KeyError for a name attribute of
#: an ASN.1 type it has no string kind for, e.g. tag 13): the chain is not judged.
UNPARSED = (ValueError, TypeError, KeyError, x509.InvalidVersion)


def check_chain(
    leaf: bytes | None,
    intermediates: tuple[bytes, ...] | None,
    name: str | None,
    now: datetime,
    ca_file: str | None = None,
    ca_path: str | None = None,
) -> TrustFacts:
    """The chain verdict for the DER ``leaf`` and the DER ``intermediates`` the server sent
    (None: the TLS library could not show them) at ``now`` (a naive time is UTC)."""
    loaded = load_store(ca_file, ca_path)
    if leaf is None:
        return TrustFacts(None, "the server sent no certificate", loaded.label)
    if loaded.store is None:
        return TrustFacts(None, loaded.error, loaded.label)
    try:
        certificate = x509.load_der_x509_certificate(leaf)
        sent = [x509.load_der_x509_certificate(der) for der in intermediates or ()]
    except UNPARSED as exc:
        return TrustFacts(None, f"certificate does not parse: {exc}", loaded.label)
    when = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    builder = verification.PolicyBuilder().store(loaded.store).time(when)
    try:
        return _judged(builder, certificate, sent, name, intermediates is None, loaded.label)
    except UNPARSED as exc:
        return TrustFacts(None, f"certificate does not parse: {exc}", loaded.label)


def _judged(builder: verification.PolicyBuilder, certificate: x509.Certificate, sent: list[x509.Certificate],
            name: str | None, intermediates_unseen: bool, label: str | None) -> TrustFacts:
    """``check_chain``'s verdict once the certificates loaded; raises ``UNPARSED``."""
    if name is not None and _verifies_for_name(builder, certificate, sent, name):
        return TrustFacts(True, None, label)
    error = _chain_error(builder, certificate, sent)
    if error is None:
        return TrustFacts(True, None, label)
    if intermediates_unseen and certificate.issuer != certificate.subject:
        # The verifier may have lacked an intermediate the server did send: not judged.
        # A self-issued certificate has none to lack.
        unseen = "the TLS library did not show the intermediate certificates the server sent"
        return TrustFacts(None, f"{unseen}; without them: {error}", label)
    return TrustFacts(False, error, label)


def _verifies_for_name(builder: verification.PolicyBuilder, leaf: x509.Certificate,
                       sent: list[x509.Certificate], name: str) -> bool:
    """The chain and the name together, as a TLS client checks them (RFC 6125 6.4)."""
    try:
        verifier = builder.build_server_verifier(_subject(name))
        verifier.verify(leaf, sent)
    except (verification.VerificationError, *UNPARSED):
        return False
    return True


def _chain_error(builder: verification.PolicyBuilder, leaf: x509.Certificate,
                 sent: list[x509.Certificate]) -> str | None:
    """Why the chain alone does not validate, or None when it does.

    The end-entity policy permits every extension: the name, the EKU and the key usage are
    ``certinfo``'s findings, so this judges only the path to an anchor (signatures,
    validity, CA constraints), as ``openssl verify`` does without ``-purpose``.
    """
    policies = builder.extension_policies(
        ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
        ee_policy=verification.ExtensionPolicy.permit_all(),
    )
    try:
        policies.build_client_verifier().verify(leaf, sent)
    except verification.VerificationError as exc:
        return NO_ISSUER if VERIFIER_NO_ISSUER in str(exc) else str(exc)
    return None


def _subject(name: str) -> verification.Subject:
    """An IP address subject for an address literal, otherwise a DNS name."""
    text = name.strip().strip("[]")
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text.rstrip(".").lower())
