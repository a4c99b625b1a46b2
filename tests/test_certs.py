"""The throwaway certificate factory used by the mock server and the interop tests."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from rdpprobe.mock.certs import (
    VARIANTS,
    WRONG_NAME,
    certificate_variant,
    make_ca,
    make_certificate,
    variant_ca,
)


def _public_der(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_defaults() -> None:
    bundle = make_certificate()
    cert = bundle.certificate
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=localhost"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ekus) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert isinstance(bundle.key, rsa.RSAPrivateKey) and bundle.key.key_size == 2048
    cert.verify_directly_issued_by(cert)


def test_pem_der_and_key_agree() -> None:
    bundle = make_certificate()
    assert x509.load_pem_x509_certificate(bundle.cert_pem) == bundle.certificate
    assert x509.load_der_x509_certificate(bundle.cert_der) == bundle.certificate
    key = serialization.load_pem_private_key(bundle.key_pem, password=None)
    assert _public_der(key) == bundle.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_ca_signed_chain() -> None:
    ca = make_ca("unit CA")
    leaf = make_certificate(issuer=ca)
    assert leaf.certificate.issuer == ca.name
    leaf.certificate.verify_directly_issued_by(ca.certificate)
    constraints = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
@pytest.mark.parametrize("hash_name", ["sha1", "md5"])
def test_weak_hash_signatures_verify(key_type: str, hash_name: str) -> None:
    if key_type == "ec" and hash_name == "md5":
        with pytest.raises(ValueError, match="md5"):
            make_certificate(key_type=key_type, hash_name=hash_name)
        return
    bundle = make_certificate(key_type=key_type, hash_name=hash_name)
    cert = bundle.certificate
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == hash_name
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                      cert.signature_hash_algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def test_sha1_variant_is_signed_by_the_variant_ca() -> None:
    cert = certificate_variant("sha1").certificate
    ca_key = variant_ca().certificate.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    ca_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1())


def test_variants() -> None:
    now = datetime.now(timezone.utc)
    for name in VARIANTS:
        assert certificate_variant(name) is certificate_variant(name)  # cached
    assert certificate_variant("expired").certificate.not_valid_after_utc < now
    assert certificate_variant("not-yet-valid").certificate.not_valid_before_utc > now
    assert certificate_variant("wrong-name").certificate.subject.rfc4514_string() == f"CN={WRONG_NAME}"
    weak = certificate_variant("weak-key").key
    assert isinstance(weak, rsa.RSAPrivateKey) and weak.key_size == 1024
    with pytest.raises(ValueError, match="unknown certificate variant"):
        certificate_variant("nonsense")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="hash"):
        make_certificate(hash_name="sha3-1000")
    with pytest.raises(ValueError, match="key type"):
        make_certificate(key_type="dsa")


def test_write(tmp_path: Path) -> None:
    bundle = certificate_variant("self-signed")
    cert_path, key_path = bundle.write(tmp_path, "xrdp")
    assert cert_path.read_bytes() == bundle.cert_pem
    assert key_path.read_bytes() == bundle.key_pem
    assert key_path.stat().st_mode & 0o077 == 0
