"""Certificate chain trust (``rdpprobe.trust``) and the findings it gives: ``untrusted_chain``
from the chain check, ``expiring_soon`` from ``--warn-days``; against certificates made here
and against the mock's scenarios, through both drivers and the engine with both TLS libraries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from rdpprobe import aprobe, probe, probe_many
from rdpprobe.certinfo import EXPIRING_SOON, NAME_MISMATCH, UNTRUSTED_CHAIN, analyze_certificate
from rdpprobe.mock import MockRdpServer
from rdpprobe.mock.certs import (
    BACKDATE,
    CertBundle,
    Issuer,
    certificate_variant,
    make_ca,
    make_key,
    make_certificate,
    variant_ca,
    variant_intermediate,
)
from rdpprobe.result import ProbeResult
from rdpprobe.trust import NO_ISSUER, SYSTEM_STORE, check_chain, load_store, store_label

NOW = datetime.now(timezone.utc)


def _der_chain(bundle: CertBundle) -> tuple[bytes, ...]:
    if not bundle.chain_pem:
        return ()
    return tuple(c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(bundle.chain_pem))


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(variant_ca().cert_pem)
    return str(path)


def test_a_ca_signed_certificate_is_trusted(ca_file: str) -> None:
    leaf = certificate_variant("ca-signed")
    assert check_chain(leaf.cert_der, (), "localhost", NOW, ca_file).trusted is True


def test_the_intermediates_the_server_sent_are_used(ca_file: str) -> None:
    leaf = certificate_variant("intermediate-signed")
    chain = _der_chain(leaf)
    assert chain == (variant_intermediate().certificate.public_bytes(Encoding.DER),)
    assert check_chain(leaf.cert_der, chain, "localhost", NOW, ca_file).trusted is True
    missing = check_chain(leaf.cert_der, (), "localhost", NOW, ca_file)
    assert missing.trusted is False and missing.error == NO_ISSUER


def test_unseen_intermediates_leave_the_verdict_unknown(ca_file: str) -> None:
    """A TLS library that cannot show the chain: a failure may be the missing intermediate."""
    leaf = certificate_variant("intermediate-signed")
    unknown = check_chain(leaf.cert_der, None, "localhost", NOW, ca_file)
    assert unknown.trusted is None and "did not show" in (unknown.error or "")
    # A self-signed certificate has no intermediate to miss: untrusted whatever was shown.
    assert check_chain(certificate_variant("self-signed").cert_der, None, "localhost", NOW, ca_file).trusted is False


@pytest.mark.parametrize("variant", ["self-signed", "private-ca", "expired", "not-yet-valid"])
def test_untrusted_chains(ca_file: str, variant: str) -> None:
    facts = check_chain(certificate_variant(variant).cert_der, (), "localhost", NOW, ca_file)
    assert facts.trusted is False and facts.error
    assert facts.store == f"ca-file:{ca_file}"


def test_a_wrong_name_is_a_name_mismatch_not_an_untrusted_chain(ca_file: str) -> None:
    leaf = certificate_variant("wrong-name")
    assert check_chain(leaf.cert_der, (), "localhost", NOW, ca_file).trusted is True
    assert NAME_MISMATCH in analyze_certificate(leaf.cert_der, "localhost", NOW).findings


def test_ip_addresses_are_checked_as_addresses(ca_file: str) -> None:
    leaf = certificate_variant("ca-signed")
    for name in ("127.0.0.1", "::1", "[::1]"):
        assert check_chain(leaf.cert_der, (), name, NOW, ca_file).trusted is True


def test_a_ca_directory(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(variant_ca().cert_pem)
    (tmp_path / "README").write_text("not a certificate")
    facts = check_chain(certificate_variant("ca-signed").cert_der, (), "localhost", NOW, ca_path=str(tmp_path))
    assert facts.trusted is True and facts.store == f"ca-path:{tmp_path}"


def test_the_system_store_is_the_default() -> None:
    assert store_label(None, None) == SYSTEM_STORE
    facts = check_chain(certificate_variant("ca-signed").cert_der, (), "localhost", NOW)
    assert facts.store == SYSTEM_STORE
    assert facts.trusted is False  # The test CA is in no system store.


def test_no_certificate_or_an_unreadable_store_is_unknown(tmp_path: Path) -> None:
    assert check_chain(None, (), "localhost", NOW).trusted is None
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    unreadable = check_chain(certificate_variant("ca-signed").cert_der, (), "localhost", NOW, str(empty))
    assert unreadable.trusted is None and "no PEM certificate" in (unreadable.error or "")
    assert load_store(str(tmp_path / "missing.pem")).store is None
    garbage = check_chain(b"\x30\x03\x02\x01\x00", (), "localhost", NOW, str(empty))
    assert garbage.trusted is None


def test_expiring_soon_follows_warn_days() -> None:
    leaf = make_certificate(not_before=NOW - BACKDATE, not_after=NOW + timedelta(days=10))
    assert EXPIRING_SOON in analyze_certificate(leaf.cert_der, "localhost", NOW).findings
    assert EXPIRING_SOON not in analyze_certificate(leaf.cert_der, "localhost", NOW, warn_days=5).findings
    assert EXPIRING_SOON not in analyze_certificate(certificate_variant("ca-signed").cert_der, "localhost", NOW).findings
    expired = analyze_certificate(certificate_variant("expired").cert_der, "localhost", NOW, warn_days=10_000)
    assert EXPIRING_SOON not in expired.findings  # Expired, not expiring.


def test_a_ca_without_key_usage_is_refused_as_rfc_5280_says(tmp_path: Path) -> None:
    """RFC 5280 4.2.1.3: a CA certificate that signs certificates MUST carry keyUsage (the
    factory's CAs do); the verifier holds CAs to the CA/B Forum profile."""
    ca = make_ca("bare CA")
    assert ca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    key = make_key()
    bare = (x509.CertificateBuilder().subject_name(ca.name).issuer_name(ca.name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - BACKDATE).not_valid_after(NOW + BACKDATE)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "bare.pem").write_bytes(bare.public_bytes(Encoding.PEM))
    leaf = make_certificate(issuer=Issuer(ca.name, key, bare, bare.public_bytes(Encoding.PEM)))
    facts = check_chain(leaf.cert_der, (), "localhost", NOW, str(tmp_path / "bare.pem"))
    assert facts.trusted is False and "2.5.29.15" in (facts.error or "")


# ---- the findings through the drivers and the engine, against the mock ----------------------


def _tls_findings(result: ProbeResult) -> tuple[str, ...]:
    assert result.facts.tls is not None, (result.signal, result.detail)
    return result.facts.tls.findings


def _all_ways(scenario: str, **options: object) -> list[ProbeResult]:
    """The same probe through ``probe``, ``aprobe`` and ``probe_many`` with each TLS library."""
    with MockRdpServer(scenario) as server:
        host, port = server.address
        target = f"{host}:{port}"
        results = [probe(target, **options), asyncio.run(aprobe(target, **options))]  # type: ignore[arg-type]
        for tls in ("openssl", "stdlib"):
            results += list(probe_many([target], tls=tls, **options))
    return results


def test_untrusted_chain_scenario_gives_the_finding_every_way() -> None:
    results = _all_ways("cert-untrusted-chain", deadline=8.0)
    for result in results:
        assert UNTRUSTED_CHAIN in _tls_findings(result)
        assert result.facts.tls.trust is not None and result.facts.tls.trust.trusted is False  # type: ignore[union-attr]
        assert any("untrusted chain" in v.summary for v in result.advisories)
    assert len({r.facts.tls for r in results}) == 1  # type: ignore[misc]


def test_expiring_soon_scenario_gives_the_finding_every_way() -> None:
    results = _all_ways("cert-expiring-soon", deadline=8.0)
    for result in results:
        assert EXPIRING_SOON in _tls_findings(result)
    assert len({r.facts.tls for r in results}) == 1  # type: ignore[misc]
    quiet = _all_ways("cert-expiring-soon", deadline=8.0, warn_days=5)
    assert all(EXPIRING_SOON not in _tls_findings(r) for r in quiet)


def test_intermediates_reach_the_check_every_way(ca_file: str) -> None:
    from rdpprobe.mock.scenarios import scenario_from_dict

    scenario = scenario_from_dict({"name": "chain", "personality": "windows-tls", "faults": [
        {"phase": "tls", "action": "certificate", "variant": "intermediate-signed"}]})
    with MockRdpServer(scenario) as server:
        host, port = server.address
        target = f"{host}:{port}"
        options = {"deadline": 8.0, "ca_file": ca_file, "expected_name": "localhost"}
        results = [probe(target, **options), asyncio.run(aprobe(target, **options))]  # type: ignore[arg-type]
        for tls in ("openssl", "stdlib"):
            results += list(probe_many([target], tls=tls, **options))
    for result in results:
        trust = result.facts.tls.trust  # type: ignore[union-attr]
        assert trust is not None and trust.trusted is True, trust
        assert UNTRUSTED_CHAIN not in _tls_findings(result)


def test_findings_reach_json_csv_and_the_scan(tmp_path: Path) -> None:
    """``untrusted_chain`` and ``expiring_soon`` in the JSON form, the CSV's cert findings
    column and ``rdpprobe scan``'s JSON Lines (a scan reports trust; it sends no password)."""
    import json
    import subprocess
    import sys

    from rdpprobe.output import CSV_COLUMNS, csv_row

    with MockRdpServer("cert-expiring-soon") as server:
        host, port = server.address
        result = probe(f"{host}:{port}", deadline=8.0)
        done = subprocess.run([sys.executable, "-m", "rdpprobe", "scan", f"{host}:{port}", "--format", "jsonl",
                               "--depth", "tls"], capture_output=True, text=True, timeout=60)
    facts = result.to_dict()["facts"]["tls"]
    assert {EXPIRING_SOON, UNTRUSTED_CHAIN} <= set(facts["findings"])
    assert facts["trust"]["trusted"] is False and facts["trust"]["store"] == SYSTEM_STORE
    row = dict(zip(CSV_COLUMNS, csv_row(result)))
    assert EXPIRING_SOON in row["cert_findings"] and UNTRUSTED_CHAIN in row["cert_findings"]
    scanned = json.loads(done.stdout.splitlines()[0])
    assert scanned["facts"]["tls"]["trust"]["trusted"] is False, done.stderr
    assert {EXPIRING_SOON, UNTRUSTED_CHAIN} <= set(scanned["facts"]["tls"]["certificate"]["findings"])


@pytest.mark.parametrize(("scenario", "finding"), [
    ("cert-untrusted-chain", "cert-untrusted-chain"), ("cert-expiring-soon", "cert-expiring-soon"),
])  # fmt: skip
def test_each_scenario_gives_its_catalogue_finding(scenario: str, finding: str) -> None:
    with MockRdpServer(scenario) as server:
        host, port = server.address
        result = probe(f"{host}:{port}", deadline=8.0)
    hits = [f for f in result.findings if f.id == finding]
    assert len(hits) == 1 and hits[0].evidence, result.findings
