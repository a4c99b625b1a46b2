"""Certificate facts and findings (taxonomy S3)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.certinfo import EKU_REMOTE_DESKTOP_AUTH, analyze_certificate, dns_name_matches
from rdpprobe.mock.certs import certificate_variant, make_certificate

NOW = datetime.now(timezone.utc)
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


@pytest.mark.parametrize(
    ("variant", "findings"),
    [
        ("self-signed", {"self_signed"}),
        ("expired", {"expired"}),
        ("not-yet-valid", {"not_yet_valid"}),
        ("wrong-name", {"name_mismatch"}),
        ("weak-key", {"weak_key"}),
        ("sha1", {"sha1_signature"}),
        ("ca-signed", set()),
    ],
)
def test_variant_findings(variant: str, findings: set[str]) -> None:
    bundle = certificate_variant(variant)
    facts = analyze_certificate(bundle.cert_der, "localhost", NOW)
    assert facts.parse_error is None
    assert set(facts.findings) == findings


def test_facts_fields() -> None:
    bundle = certificate_variant("ca-signed")
    facts = analyze_certificate(bundle.cert_der, None, NOW)
    assert facts.subject == "CN=localhost"
    assert facts.issuer == "CN=rdpprobe test CA"
    assert facts.common_name == "localhost"
    assert facts.san_dns == ("localhost",)
    assert facts.san_ip == ("127.0.0.1", "::1")
    assert facts.serial == f"{bundle.certificate.serial_number:x}"
    assert facts.sha256 == hashlib.sha256(bundle.cert_der).hexdigest()
    assert (facts.key_type, facts.key_size, facts.signature_hash) == ("rsa", 2048, "sha256")
    assert facts.ekus == ("1.3.6.1.5.5.7.3.1",)
    assert facts.not_before is not None and datetime.fromisoformat(facts.not_before) < NOW
    assert facts.not_after is not None and datetime.fromisoformat(facts.not_after) > NOW


@pytest.mark.parametrize("garbage", [b"", b"\x30", b"not a certificate", bytes(range(256))])
def test_garbage_never_raises(garbage: bytes) -> None:
    facts = analyze_certificate(garbage, "localhost", NOW)
    assert facts.parse_error
    assert facts.findings == ()
    assert facts.sha256 == hashlib.sha256(garbage).hexdigest()


def test_truncated_certificate() -> None:
    der = certificate_variant("ca-signed").cert_der
    assert analyze_certificate(der[:-10], None, NOW).parse_error


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    facts = analyze_certificate(data, "host.example", NOW)
    assert facts.parse_error or facts.subject is not None


def test_naive_now_is_utc() -> None:
    der = certificate_variant("expired").cert_der
    naive = datetime.now(timezone.utc).replace(tzinfo=None)
    assert "expired" in analyze_certificate(der, None, naive).findings


@pytest.mark.parametrize(
    ("name", "mismatch"),
    [
        ("localhost", False),
        ("LOCALHOST.", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("[::1]", False),
        ("127.0.0.2", True),
        ("other.example", True),
    ],
)
def test_name_check_against_sans(name: str, mismatch: bool) -> None:
    facts = analyze_certificate(certificate_variant("ca-signed").cert_der, name, NOW)
    assert ("name_mismatch" in facts.findings) is mismatch


def test_cn_is_used_only_without_dns_sans() -> None:
    no_san = make_certificate(common_name="rdp.example.test", sans=())
    assert "name_mismatch" not in analyze_certificate(no_san.cert_der, "rdp.example.test", NOW).findings
    assert "name_mismatch" in analyze_certificate(no_san.cert_der, "10.0.0.1", NOW).findings
    with_san = make_certificate(common_name="cn.example.test", sans=("san.example.test",))
    assert "name_mismatch" in analyze_certificate(with_san.cert_der, "cn.example.test", NOW).findings


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("*.example.com", "rdp.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.com", "example.com", False),
        ("rdp*.example.com", "rdp1.example.com", False),
        ("RDP.Example.COM", "rdp.example.com.", True),
        ("rdp.example.com", "rdp.example.org", False),
    ],
)
def test_wildcards(pattern: str, host: str, matches: bool) -> None:
    assert dns_name_matches(pattern, host) is matches


def test_weak_keys_and_hashes() -> None:
    weak_ec = make_certificate(key_type="ec", key_size=192)
    assert "weak_key" in analyze_certificate(weak_ec.cert_der, None, NOW).findings
    ec = make_certificate(key_type="ec")
    facts = analyze_certificate(ec.cert_der, None, NOW)
    assert (facts.key_type, facts.key_size) == ("ec", 256)
    assert "weak_key" not in facts.findings
    md5 = make_certificate(hash_name="md5")
    assert "md5_signature" in analyze_certificate(md5.cert_der, None, NOW).findings
    ec_sha1 = make_certificate(key_type="ec", hash_name="sha1")
    assert "sha1_signature" in analyze_certificate(ec_sha1.cert_der, None, NOW).findings


@pytest.mark.parametrize(
    ("ekus", "flagged"),
    [
        ((CLIENT_AUTH,), True),
        ((EKU_REMOTE_DESKTOP_AUTH,), False),
        ((CLIENT_AUTH, "1.3.6.1.5.5.7.3.1"), False),
        ((), False),  # no EKU extension at all: any use is allowed
    ],
)
def test_server_auth_eku(ekus: tuple[str, ...], flagged: bool) -> None:
    bundle = make_certificate(ekus=ekus)
    assert ("no_server_auth_eku" in analyze_certificate(bundle.cert_der, None, NOW).findings) is flagged


def test_validity_edges() -> None:
    start = NOW - timedelta(days=1)
    bundle = make_certificate(not_before=start, not_after=start + timedelta(days=2))
    assert not {"expired", "not_yet_valid"} & set(analyze_certificate(bundle.cert_der, None, NOW).findings)
    later = NOW + timedelta(days=3)
    assert "expired" in analyze_certificate(bundle.cert_der, None, later).findings


def test_self_signed_with_multi_valued_rdn_in_another_order() -> None:
    """Issuer and subject are equal names when a multi-valued RDN lists its attributes in
    another order; their RFC 4514 texts differ, the finding must not."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    cn, org = x509.NameAttribute(NameOID.COMMON_NAME, "rdp"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lab")
    subject = x509.Name([x509.RelativeDistinguishedName([cn, org])])
    issuer = x509.Name([x509.RelativeDistinguishedName([org, cn])])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(1).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    facts = analyze_certificate(cert.public_bytes(Encoding.DER), None, NOW)
    assert facts.parse_error is None
    assert "self_signed" in facts.findings
    other = x509.Name([x509.RelativeDistinguishedName([org, x509.NameAttribute(NameOID.COMMON_NAME, "ca")])])
    signed_by_other = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(other).public_key(key.public_key())
        .serial_number(2).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    assert "self_signed" not in analyze_certificate(signed_by_other.public_bytes(Encoding.DER), None, NOW).findings


def test_a_serial_number_that_is_not_positive_is_reported_quietly(tmp_path: Path) -> None:
    """Some servers' self-signed certificates carry one; cryptography warns of it, which
    would print on a scan's stderr. The facts come out, the warning does not. (A process of
    its own: the tests turn every warning into an error.)"""
    der = certificate_variant("self-signed").cert_der
    serial = x509.load_der_x509_certificate(der).serial_number
    encoded = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER: a leading 0 if needed
    field = bytes([0x02, len(encoded)]) + encoded
    assert der.count(field) == 1
    run = _quiet_facts(tmp_path, der.replace(field, bytes([0x02, len(encoded), 0x80]) + encoded[1:]), "serial")
    assert run.stderr == ""
    assert run.stdout.startswith("None -")


def _quiet_facts(tmp_path: Path, der: bytes, field: str) -> subprocess.CompletedProcess[str]:
    """``analyze_certificate`` on ``der`` in a process of its own (the tests turn every
    warning into an error): it prints the parse error and ``field`` of the facts."""
    path = tmp_path / "certificate.der"
    path.write_bytes(der)
    code = (
        "import datetime; from rdpprobe.certinfo import analyze_certificate; "
        f"facts = analyze_certificate(open({str(path)!r}, 'rb').read(), None, datetime.datetime.now()); "
        f"print(facts.parse_error, facts.{field})"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)


def test_a_name_attribute_of_the_wrong_length_is_reported_quietly(tmp_path: Path) -> None:
    """A three-letter country (RFC 5280 Appendix A wants two): cryptography's UserWarning
    reached a scan's stderr from certinfo. The subject comes out as the server sent it."""
    import warnings

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "USA", _validate=False),
                          x509.NameAttribute(NameOID.COMMON_NAME, "rdp.example.test")])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(5).not_valid_before(NOW).not_valid_after(NOW + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    run = _quiet_facts(tmp_path, cert.public_bytes(Encoding.DER), "subject")
    assert run.stderr == ""
    assert run.stdout.strip() == "None CN=rdp.example.test,C=USA"
