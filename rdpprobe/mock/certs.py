"""Throwaway X.509 certificates for the mock server, the interop tests and the certificate tests.

Every certificate here is for testing only: keys are generated fresh and never persisted unless
the caller writes them out with ``CertBundle.write``.

``cryptography`` refuses to sign with SHA-1 or MD5, so weak-hash certificates are built as a
SHA-256 certificate whose TBSCertificate is re-signed: the two AlgorithmIdentifiers (inside
the TBS and after it, RFC 5280 4.1.1.2 and 4.1.2.3, which MUST match) are swapped for the weak
one and the signature is recomputed with the key's own ``sign``. Layout (RFC 5280 4.1)::

    Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
    TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature AlgorithmIdentifier, ... }
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rdpprobe.wire import der

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

# ---- defaults ---------------------------------------------------------------------------------
RSA_PUBLIC_EXPONENT = 65537
DEFAULT_RSA_BITS = 2048
DEFAULT_EC_BITS = 256
WEAK_RSA_BITS = 1024
DEFAULT_VALIDITY = timedelta(days=365)
BACKDATE = timedelta(days=1)  # Valid from yesterday, so clock skew never matters in tests.
DEFAULT_SANS = ("localhost", "127.0.0.1", "::1")
WRONG_NAME = "wrong-name.rdpprobe.invalid"
TEST_CA_NAME = "rdpprobe test CA"
PRIVATE_CA_NAME = "rdpprobe private CA"
INTERMEDIATE_CA_NAME = "rdpprobe intermediate CA"
#: Days left on the ``expiring-soon`` variant: inside the default --warn-days (30).
EXPIRING_SOON_DAYS = 10
_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
    key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
)

_EC_CURVES: dict[int, type[ec.EllipticCurve]] = {
    192: ec.SECP192R1,
    224: ec.SECP224R1,
    256: ec.SECP256R1,
    384: ec.SECP384R1,
    521: ec.SECP521R1,
}
_STRONG_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_WEAK_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha1": hashes.SHA1, "md5": hashes.MD5}

# ---- DER AlgorithmIdentifiers for the weak hashes (RFC 3279 2.2.1, 2.2.3) ----------------------
_RSA_WEAK_ALG_IDS = {
    # SEQUENCE { OID 1.2.840.113549.1.1.5 sha1WithRSAEncryption, NULL }
    "sha1": bytes.fromhex("300d06092a864886f70d0101050500"),
    # SEQUENCE { OID 1.2.840.113549.1.1.4 md5WithRSAEncryption, NULL }
    "md5": bytes.fromhex("300d06092a864886f70d0101040500"),
}
_EC_WEAK_ALG_IDS = {
    # SEQUENCE { OID 1.2.840.10045.4.1 ecdsa-with-SHA1 } (no parameters)
    "sha1": bytes.fromhex("300906072a8648ce3d0401"),
}
_TBS_SIGNATURE_INDEX = 2  # version [0], serialNumber, signature


@dataclass(frozen=True, slots=True)
class Issuer:
    """A certificate authority that can sign leaf certificates."""

    name: x509.Name
    key: PrivateKey
    certificate: x509.Certificate
    cert_pem: bytes
    chain_pem: bytes = b""
    """The certificates above this one up to (not including) the root, PEM: what a server
    whose certificate this issuer signed sends after its own."""


@dataclass(frozen=True, slots=True)
class CertBundle:
    """A certificate with its private key, in the forms servers and tests want."""

    cert_pem: bytes
    key_pem: bytes
    cert_der: bytes
    key: PrivateKey
    certificate: x509.Certificate
    chain_pem: bytes = b""
    """The intermediate certificates a server sends after ``cert_pem`` (PEM, may be empty)."""

    def write(self, directory: Path, stem: str = "cert") -> tuple[Path, Path]:
        """Write ``<stem>.pem`` (the certificate, then its intermediates) and ``<stem>.key``
        (PEM) and return their paths."""
        cert_path = directory / f"{stem}.pem"
        key_path = directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem + self.chain_pem)
        key_path.write_bytes(self.key_pem)
        key_path.chmod(0o600)
        return cert_path, key_path


def make_key(key_type: str = "rsa", key_size: int | None = None) -> PrivateKey:
    """A fresh RSA or EC private key (EC sizes: 192, 224, 256, 384, 521)."""
    if key_type == "rsa":
        return rsa.generate_private_key(RSA_PUBLIC_EXPONENT, key_size or DEFAULT_RSA_BITS)
    if key_type == "ec":
        return ec.generate_private_key(_EC_CURVES[key_size or DEFAULT_EC_BITS]())
    raise ValueError(f"unsupported key type: {key_type!r}")


def make_ca(common_name: str = TEST_CA_NAME, key_size: int = DEFAULT_RSA_BITS,
            issuer: Issuer | None = None, path_length: int | None = 0) -> Issuer:
    """An RSA certificate authority: a self-signed root, or an intermediate of ``issuer``.

    It carries what RFC 5280 4.2.1.3 and 4.2.1.9 require of a CA (basicConstraints cA,
    keyUsage keyCertSign, both critical) and key identifiers (4.2.1.1, 4.2.1.2).
    ``path_length`` 0 lets it sign leaves only; an intermediate's parent needs 1 or None.
    """
    key = make_key("rsa", key_size)
    name = _name(common_name)
    now = datetime.now(timezone.utc)
    signer_name, signer_key = (issuer.name, issuer.key) if issuer else (name, key)
    builder = _base_builder(name, signer_name, key, now - BACKDATE, now + DEFAULT_VALIDITY)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    builder = builder.add_extension(_CA_KEY_USAGE, critical=True)
    builder = _add_key_identifiers(builder, key, signer_key)
    certificate = builder.sign(signer_key, hashes.SHA256())
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    chain = b"" if issuer is None else pem + issuer.chain_pem
    return Issuer(name=name, key=key, certificate=certificate, cert_pem=pem, chain_pem=chain)


def make_certificate(
    common_name: str = "localhost",
    sans: tuple[str, ...] = DEFAULT_SANS,
    key_type: str = "rsa",
    key_size: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    hash_name: str = "sha256",
    issuer: Issuer | None = None,
    ekus: tuple[str, ...] | None = None,
) -> CertBundle:
    """A server certificate; self-signed unless ``issuer`` is given.

    ``ekus`` None gives serverAuth (as Windows' own RDP certificate has); ``()`` omits the
    extension; otherwise the dotted OIDs given.
    """
    key = make_key(key_type, key_size)
    now = datetime.now(timezone.utc)
    subject = _name(common_name)
    signer_name, signer_key = (issuer.name, issuer.key) if issuer else (subject, key)
    start = not_before or now - BACKDATE
    builder = _base_builder(subject, signer_name, key, start, not_after or start + DEFAULT_VALIDITY)
    builder = _add_leaf_extensions(builder, sans, ekus)
    if issuer is not None:
        builder = _add_key_identifiers(builder, key, signer_key)
    certificate = _sign(builder, signer_key, hash_name)
    return _bundle(certificate, key, issuer.chain_pem if issuer else b"")


def certificate_variant(name: str) -> CertBundle:
    """A named certificate for tests; each differs from ``ca-signed`` in one respect.

    Names: ``self-signed``, ``expired``, ``not-yet-valid``, ``wrong-name``, ``weak-key``
    (RSA 1024), ``sha1``, ``ca-signed``, ``expiring-soon`` (``EXPIRING_SOON_DAYS`` left),
    ``private-ca`` (signed by a CA of its own that no store holds: an untrusted chain),
    ``intermediate-signed`` (signed by an intermediate of the test CA, sent with it).
    Results are cached per process.
    """
    if name not in VARIANTS:
        raise ValueError(f"unknown certificate variant: {name!r}; known: {sorted(VARIANTS)}")
    return _cached_variant(name)


def _variant_args(name: str, ca: Issuer) -> dict[str, object]:
    now = datetime.now(timezone.utc)
    table: dict[str, dict[str, object]] = {
        "self-signed": {},
        "expired": {
            "issuer": ca,
            "not_before": now - 2 * DEFAULT_VALIDITY,
            "not_after": now - BACKDATE,
        },
        "not-yet-valid": {"issuer": ca, "not_before": now + DEFAULT_VALIDITY},
        "wrong-name": {"issuer": ca, "common_name": WRONG_NAME, "sans": (WRONG_NAME,)},
        "weak-key": {"issuer": ca, "key_size": WEAK_RSA_BITS},
        "sha1": {"issuer": ca, "hash_name": "sha1"},
        "ca-signed": {"issuer": ca},
        "expiring-soon": {"issuer": ca, "not_after": now + timedelta(days=EXPIRING_SOON_DAYS)},
    }
    if name == "private-ca":  # Its CA is made only when asked for: a key costs ~0.1 s.
        return {"issuer": make_ca(PRIVATE_CA_NAME)}
    if name == "intermediate-signed":
        return {"issuer": variant_intermediate()}
    return table[name]


VARIANTS = (
    "self-signed",
    "expired",
    "not-yet-valid",
    "wrong-name",
    "weak-key",
    "sha1",
    "ca-signed",
    "expiring-soon",
    "private-ca",
    "intermediate-signed",
)


@lru_cache(maxsize=None)
def variant_ca() -> Issuer:
    """The process-wide CA that signs the named variants (and ``variant_intermediate``)."""
    return make_ca(path_length=1)


@lru_cache(maxsize=None)
def variant_intermediate() -> Issuer:
    """The process-wide intermediate CA, under ``variant_ca``, of ``intermediate-signed``."""
    return make_ca(INTERMEDIATE_CA_NAME, issuer=variant_ca())


@lru_cache(maxsize=None)
def _cached_variant(name: str) -> CertBundle:
    return make_certificate(**_variant_args(name, variant_ca()))  # type: ignore[arg-type]


# ---- building -------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _base_builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _add_leaf_extensions(
    builder: x509.CertificateBuilder, sans: tuple[str, ...], ekus: tuple[str, ...] | None
) -> x509.CertificateBuilder:
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(_general_names(sans)), False)
    if ekus is None:
        oids = [ExtendedKeyUsageOID.SERVER_AUTH]
    else:
        oids = [x509.ObjectIdentifier(oid) for oid in ekus]
    if oids:
        builder = builder.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
    return builder


def _general_names(sans: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for san in sans:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            names.append(x509.DNSName(san))
    return names


def _add_key_identifiers(builder: x509.CertificateBuilder, key: PrivateKey,
                         signer_key: PrivateKey) -> x509.CertificateBuilder:
    """subjectKeyIdentifier and authorityKeyIdentifier (RFC 5280 4.2.1.1-4.2.1.2)."""
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key())
    return builder.add_extension(authority, critical=False)


def _bundle(certificate: x509.Certificate, key: PrivateKey, chain_pem: bytes = b"") -> CertBundle:
    return CertBundle(
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_der=certificate.public_bytes(serialization.Encoding.DER),
        key=key,
        certificate=certificate,
        chain_pem=chain_pem,
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey, hash_name: str) -> x509.Certificate:
    if hash_name in _STRONG_HASHES:
        return builder.sign(key, _STRONG_HASHES[hash_name]())
    if hash_name not in _WEAK_HASHES:
        raise ValueError(f"unsupported hash: {hash_name!r}")
    draft = builder.sign(key, hashes.SHA256())
    return _resign(draft, key, hash_name)


# ---- weak-hash re-signing (minimal DER) -------------------------------------------------------


def _resign(draft: x509.Certificate, key: PrivateKey, hash_name: str) -> x509.Certificate:
    table = _RSA_WEAK_ALG_IDS if isinstance(key, rsa.RSAPrivateKey) else _EC_WEAK_ALG_IDS
    if hash_name not in table:
        raise ValueError(f"{hash_name} signatures are not supported for this key type")
    alg_id = table[hash_name]
    elements = der.children(draft.tbs_certificate_bytes, "tbsCertificate")
    elements[_TBS_SIGNATURE_INDEX] = alg_id
    tbs = der.tlv(der.SEQUENCE, b"".join(elements))
    signature = _raw_sign(key, tbs, _WEAK_HASHES[hash_name]())
    bit_string = der.tlv(der.BIT_STRING, b"\x00" + signature)  # no unused bits
    return x509.load_der_x509_certificate(der.tlv(der.SEQUENCE, tbs + alg_id + bit_string))


def _raw_sign(key: PrivateKey, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm)
    return key.sign(data, ec.ECDSA(algorithm))
