"""The findings catalogue: each finding from the facts that support it, none from absent ones.

The rules are exercised on hand-built Facts (every id of the catalogue), then against the
mock on loopback (each finding the mock can show), and against dead, silent and closed
listeners, which must give no finding at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
import pytest

from rdpprobe import aprobe, probe, probe_many
from rdpprobe.findings import (
    CATALOGUE,
    END_OF_SUPPORT,
    READ_FIELDS,
    SEVERITIES,
    at_or_above,
    cipher_weakness,
    findings,
    max_severity,
)
from rdpprobe.output import CSV_COLUMNS, Summary, csv_row, envelope, load_schema
from rdpprobe.pytest_plugin import MockServerFactory
from rdpprobe.result import (
    CertificateFacts,
    EncryptionFacts,
    Facts,
    Finding,
    NtlmFacts,
    RdpEncryptionAuditFacts,
    TlsAuditFacts,
    TlsFacts,
    TlsVersionSupport,
    TrustFacts,
)
from tests.transport.listeners import closed_port, listener, reset_at_once, close_at_once, stay_silent

FAST = {"connect_timeout": 1.0, "timeout": 1.0, "deadline": 4.0}
PROBE_DAY = date(2026, 12, 8)
INTERFACE_IDS = {
    "cert-untrusted-chain", "cert-expiring-soon", "cert-self-signed", "cert-expired", "cert-not-yet-valid",
    "cert-name-mismatch", "cert-weak-key", "cert-weak-signature", "cert-no-server-auth-eku", "nla-not-required",
    "standard-rdp-security-accepted", "rdp-encryption-40bit", "rdp-encryption-56bit", "rdp-encryption-128bit",
    "rdp-encryption-none", "tls-1.0-accepted", "tls-1.1-accepted", "sslv3-accepted", "tls-weak-cipher",
    "tls-no-server-cipher-preference", "credssp-version-old", "ntlm-info-disclosed", "os-end-of-support",
    "restricted-admin-advertised", "redirected-auth-advertised", "possible-downgrade",
}  # fmt: skip


def ids(facts: Facts, on: date | None = PROBE_DAY) -> list[str]:
    return [f.id for f in findings(facts, on)]


def only(facts: Facts, finding_id: str, on: date | None = PROBE_DAY) -> Finding:
    (found,) = [f for f in findings(facts, on) if f.id == finding_id]
    return found


def cert(*names: str, **fields: Any) -> Facts:
    return Facts(tls=TlsFacts(version="TLSv1.2", certificate=CertificateFacts(findings=names, **fields)))


# ---- the table ----------------------------------------------------------------------------------


def test_the_catalogue_has_every_agreed_id_once_with_a_known_severity() -> None:
    assert [e.id for e in CATALOGUE] == list(dict.fromkeys(e.id for e in CATALOGUE))
    assert {e.id for e in CATALOGUE} == INTERFACE_IDS
    for entry in CATALOGUE:
        assert entry.severity in SEVERITIES and entry.title and entry.fix and entry.references, entry.id


def test_end_of_support_table_names_its_source() -> None:
    for version, known in END_OF_SUPPORT.items():
        assert version.count(".") == 2 and known.releases
        assert known.source.startswith("https://learn.microsoft.com/"), version


# ---- never wrong: nothing observed, nothing claimed ----------------------------------------------


def test_empty_facts_give_no_finding() -> None:
    assert findings(Facts(), PROBE_DAY) == ()


def test_unknown_facts_give_no_finding() -> None:
    unknown = Facts(
        nla_required=None, tls=TlsFacts(trust=TrustFacts(trusted=None, error="store unreadable")),
        tls_audit=TlsAuditFacts(versions=(TlsVersionSupport("TLSv1", accepted=None),), server_cipher_preference=None),
        rdp_encryption_audit=RdpEncryptionAuditFacts(methods_unknown=("ENCRYPTION_METHOD_40BIT",)),
        ntlm=NtlmFacts(), accepted_protocols=(),
    )  # fmt: skip
    assert findings(unknown, PROBE_DAY) == ()


def test_refused_or_untested_tls_versions_are_not_findings() -> None:
    audit = TlsAuditFacts(versions=(TlsVersionSupport("TLSv1", False), TlsVersionSupport("SSLv3", None),
                                    TlsVersionSupport("TLSv1.2", True, ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",))))
    assert ids(Facts(tls_audit=audit)) == []


# ---- each rule from hand-built facts --------------------------------------------------------------


@pytest.mark.parametrize(("facts", "expected"), [
    (Facts(selected_protocol="SSL"), "selected_protocol = SSL"),
    (Facts(selected_protocol="RDP"), "selected_protocol = RDP"),
    (Facts(accepted_protocols=("SSL", "HYBRID")), "accepted_protocols = SSL, HYBRID"),
    (Facts(legacy_no_negotiation=True, selected_protocol="RDP"), "legacy_no_negotiation = true"),
])  # fmt: skip
def test_nla_not_required_from_a_connection_accepted_without_credssp(facts: Facts, expected: str) -> None:
    assert expected in only(facts, "nla-not-required").evidence


@pytest.mark.parametrize("facts", [
    Facts(selected_protocol="HYBRID", nla_required=True),
    Facts(accepted_protocols=("HYBRID", "HYBRID_EX"), nla_required=True),
    Facts(neg_failure_code=5, nla_required=True),
    Facts(nla_required=False),  # A verdict with no evidence behind it claims nothing here.
])  # fmt: skip
def test_nla_not_required_needs_the_acceptance_itself(facts: Facts) -> None:
    assert "nla-not-required" not in ids(facts)


def test_standard_rdp_security_from_selection_enumeration_or_audit() -> None:
    assert "standard-rdp-security-accepted" in ids(Facts(selected_protocol="RDP"))
    assert "standard-rdp-security-accepted" in ids(Facts(accepted_protocols=("RDP", "SSL")))
    audited = Facts(rdp_encryption_audit=RdpEncryptionAuditFacts(methods_accepted=("ENCRYPTION_METHOD_FIPS",)))
    assert "standard-rdp-security-accepted" in ids(audited)
    assert "standard-rdp-security-accepted" not in ids(Facts(selected_protocol="SSL", accepted_protocols=("SSL",)))


@pytest.mark.parametrize(("method", "finding_id", "severity"), [
    ("NONE", "rdp-encryption-none", "critical"),
    ("ENCRYPTION_METHOD_40BIT", "rdp-encryption-40bit", "high"),
    ("ENCRYPTION_METHOD_56BIT", "rdp-encryption-56bit", "high"),
    ("ENCRYPTION_METHOD_128BIT", "rdp-encryption-128bit", "medium"),
])  # fmt: skip
def test_rdp_encryption_methods(method: str, finding_id: str, severity: str) -> None:
    audited = Facts(rdp_encryption_audit=RdpEncryptionAuditFacts(methods_accepted=(method,)))
    assert only(audited, finding_id).severity == severity
    chosen = Facts(selected_protocol="RDP", encryption=EncryptionFacts(method=method))
    assert f"encryption.method = {method}" in only(chosen, finding_id).evidence
    refused = Facts(rdp_encryption_audit=RdpEncryptionAuditFacts(methods_refused=(method,)))
    assert finding_id not in ids(refused)


def test_enhanced_security_announcing_no_method_is_not_unencrypted() -> None:
    """With TLS the server MUST announce ENCRYPTION_METHOD_NONE ([MS-RDPBCGR] 2.2.1.4.3)."""
    facts = Facts(selected_protocol="SSL", encryption=EncryptionFacts(method="NONE", level="ENCRYPTION_LEVEL_NONE"))
    assert "rdp-encryption-none" not in ids(facts)


@pytest.mark.parametrize(("version", "finding_id"), [
    ("TLSv1", "tls-1.0-accepted"), ("TLSv1.1", "tls-1.1-accepted"), ("SSLv3", "sslv3-accepted"),
])  # fmt: skip
def test_legacy_tls_negotiated_or_enumerated(version: str, finding_id: str) -> None:
    assert finding_id in ids(Facts(tls=TlsFacts(version=version)))
    assert finding_id in ids(Facts(tls_audit=TlsAuditFacts(versions=(TlsVersionSupport(version, True),))))
    assert finding_id not in ids(Facts(tls_audit=TlsAuditFacts(versions=(TlsVersionSupport(version, False),))))


@pytest.mark.parametrize(("suite", "grade"), [
    ("TLS_RSA_WITH_NULL_SHA256", "high"), ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "high"),
    ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "high"), ("ADH-AES128-SHA", "high"),
    ("TLS_RSA_WITH_RC4_128_SHA", "medium"), ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "medium"), ("DES-CBC3-SHA", "medium"),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "low"), ("ECDHE-RSA-AES256-SHA", "low"),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None), ("TLS_AES_256_GCM_SHA384", None),
    ("ECDHE-RSA-AES256-GCM-SHA384", None), ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
])  # fmt: skip
def test_cipher_weakness(suite: str, grade: str | None) -> None:
    assert cipher_weakness(suite) == grade


def test_weak_cipher_takes_the_worst_grade_and_lists_every_weak_suite() -> None:
    audit = TlsAuditFacts(versions=(
        TlsVersionSupport("TLSv1.2", True, ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA",
                                            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")),
        TlsVersionSupport("TLSv1", False, ("TLS_RSA_WITH_NULL_SHA",)),  # Refused: not evidence.
    ))  # fmt: skip
    found = only(Facts(tls_audit=audit), "tls-weak-cipher")
    assert found.severity == "medium"
    assert found.evidence == ("tls_audit.TLSv1.2.ciphers = TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                              "tls_audit.TLSv1.2.ciphers = TLS_RSA_WITH_RC4_128_SHA")


def test_server_cipher_preference_only_when_seen_absent() -> None:
    assert "tls-no-server-cipher-preference" in ids(Facts(tls_audit=TlsAuditFacts(server_cipher_preference=False)))
    assert "tls-no-server-cipher-preference" not in ids(Facts(tls_audit=TlsAuditFacts(server_cipher_preference=True)))


@pytest.mark.parametrize(("name", "finding_id"), [
    ("untrusted_chain", "cert-untrusted-chain"), ("expiring_soon", "cert-expiring-soon"),
    ("self_signed", "cert-self-signed"), ("expired", "cert-expired"), ("not_yet_valid", "cert-not-yet-valid"),
    ("name_mismatch", "cert-name-mismatch"), ("weak_key", "cert-weak-key"), ("sha1_signature", "cert-weak-signature"),
    ("md5_signature", "cert-weak-signature"), ("no_server_auth_eku", "cert-no-server-auth-eku"),
])  # fmt: skip
def test_certificate_findings(name: str, finding_id: str) -> None:
    found = only(cert(name, not_after="2026-12-20T00:00:00+00:00"), finding_id)
    assert f"tls.certificate.findings = {name}" in found.evidence
    assert [f.id for f in findings(cert(), PROBE_DAY)] == []


def test_md5_signature_is_graded_above_sha1() -> None:
    assert only(cert("md5_signature"), "cert-weak-signature").severity == "high"
    assert only(cert("sha1_signature"), "cert-weak-signature").severity == "medium"


def test_untrusted_chain_from_the_trust_check() -> None:
    trust = TrustFacts(trusted=False, error="unable to get local issuer certificate", store="system")
    found = only(Facts(tls=TlsFacts(trust=trust)), "cert-untrusted-chain")
    assert found.evidence == ("tls.trust.trusted = false", "tls.trust.error = unable to get local issuer certificate",
                              "tls.trust.store = system")
    assert "cert-untrusted-chain" not in ids(Facts(tls=TlsFacts(trust=TrustFacts(trusted=True, store="system"))))


@pytest.mark.parametrize(("version", "selected", "old"), [
    (2, "HYBRID", True), (3, "HYBRID_EX", True), (4, "HYBRID", True), (5, "HYBRID", False), (6, "HYBRID_EX", False),
    (2, None, False),  # No sign the server offered CredSSP: nothing claimed.
])  # fmt: skip
def test_credssp_version_old(version: int, selected: str | None, old: bool) -> None:
    facts = Facts(credssp_version=version, client_credssp_version=6, selected_protocol=selected)
    assert ("credssp-version-old" in ids(facts)) is old


@pytest.mark.parametrize("ours", [None, 2, 4])
def test_credssp_version_old_needs_a_client_that_offered_the_hash_binding(ours: int | None) -> None:
    """A server answering an older client may answer with that client's version."""
    facts = Facts(credssp_version=2, client_credssp_version=ours, selected_protocol="HYBRID")
    assert "credssp-version-old" not in ids(facts)


def test_an_old_client_sees_no_old_credssp_on_the_mock(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("credssp-v2-server")
    result = probe(host, port, credssp_version=4, **FAST)
    assert (result.facts.credssp_version, result.facts.client_credssp_version) == (2, 4)
    assert "credssp-version-old" not in {f.id for f in result.findings}
    assert "credssp-version-old" in {f.id for f in probe(host, port, **FAST).findings}


def test_ntlm_info_lists_what_was_disclosed() -> None:
    ntlm = NtlmFacts(netbios_computer="HOST1", dns_domain="corp.example", product_version="10.0.20348")
    found = only(Facts(ntlm=ntlm), "ntlm-info-disclosed")
    assert found.severity == "info"
    assert found.evidence == ("ntlm.netbios_computer = HOST1", "ntlm.dns_domain = corp.example",
                              "ntlm.product_version = 10.0.20348")


@pytest.mark.parametrize(("build", "on", "past"), [
    ("6.1.7601", date(2026, 12, 8), True),
    ("6.3.9600", date(2023, 10, 12), True),
    ("6.3.9600", date(2023, 10, 11), False),  # The day after, UTC: maybe still the last day in Redmond.
    ("6.3.9600", date(2023, 10, 10), False),
    ("10.0.14393", date(2026, 12, 8), False),  # Windows Server 2016 shares the build: supported to 2027.
    ("10.0.17763", date(2026, 12, 8), False),
    ("10.0.22631", date(2026, 12, 8), True),
    ("10.0.99999", date(2040, 1, 1), False),  # A build the table does not know is unknown.
])  # fmt: skip
def test_os_end_of_support_against_the_probe_date(build: str, on: date, past: bool) -> None:
    assert ("os-end-of-support" in ids(Facts(ntlm=NtlmFacts(product_version=build)), on)) is past


def test_a_build_winpr_reports_on_every_os_is_graded_lower_with_a_caveat() -> None:
    """FreeRDP's shadow server sends NTLM VERSION 6.1.7601 on Linux (tests/interop)."""
    winpr = only(Facts(ntlm=NtlmFacts(product_version="6.1.7601")), "os-end-of-support")
    assert winpr.severity == "medium"
    assert any(fact.startswith("caveat = WinPR") for fact in winpr.evidence)
    windows = only(Facts(ntlm=NtlmFacts(product_version="6.3.9600")), "os-end-of-support")
    assert windows.severity == "high" and not any(fact.startswith("caveat") for fact in windows.evidence)


def test_os_end_of_support_without_a_date_claims_nothing() -> None:
    assert "os-end-of-support" not in ids(Facts(ntlm=NtlmFacts(product_version="6.1.7601")), None)


@pytest.mark.parametrize(("flags", "expected"), [
    (0x01, []), (0x08, ["restricted-admin-advertised"]), (0x10, ["redirected-auth-advertised"]),
    (0x1F, ["restricted-admin-advertised", "redirected-auth-advertised"]),
])  # fmt: skip
def test_negotiation_flags(flags: int, expected: list[str]) -> None:
    assert ids(Facts(neg_flags=flags)) == expected


def test_possible_downgrade() -> None:
    sentence = "the first connection selected HYBRID; this one selected SSL"
    assert only(Facts(possible_downgrade=sentence), "possible-downgrade").evidence == (f"possible_downgrade = {sentence}",)


def test_findings_are_sorted_most_severe_first() -> None:
    facts = Facts(selected_protocol="RDP", neg_flags=0x08, encryption=EncryptionFacts(method="NONE"),
                  tls=TlsFacts(certificate=CertificateFacts(findings=("self_signed",))))
    found = findings(facts, PROBE_DAY)
    assert [f.severity for f in found] == sorted((f.severity for f in found), key=SEVERITIES.index)
    assert found[0].id == "rdp-encryption-none"
    assert max_severity(found) == "critical" and max_severity(()) is None
    assert {f.id for f in at_or_above(found, "high")} == {"rdp-encryption-none", "nla-not-required",
                                                            "standard-rdp-security-accepted"}


# ---- against the mock on loopback -------------------------------------------------------------------

SCENARIO_FINDINGS = {
    "windows-tls": {"nla-not-required", "cert-self-signed", "restricted-admin-advertised",
                    "redirected-auth-advertised"},
    "windows-rdp-security": {"nla-not-required", "standard-rdp-security-accepted", "rdp-encryption-128bit"},
    "windows-nla": {"ntlm-info-disclosed", "restricted-admin-advertised", "redirected-auth-advertised"},
    "credssp-v2-server": {"credssp-version-old", "ntlm-info-disclosed"},
    "credssp-v3-server": {"credssp-version-old", "ntlm-info-disclosed"},
    "windows-2008r2-nla": {"credssp-version-old", "os-end-of-support", "ntlm-info-disclosed", "cert-self-signed"},
    "legacy-no-negotiation": {"nla-not-required", "standard-rdp-security-accepted"},
    "tls-1.0-only": {"tls-1.0-accepted", "nla-not-required"},
    "cert-expired": {"cert-expired"},
    "cert-not-yet-valid": {"cert-not-yet-valid"},
    "cert-wrong-name": {"cert-name-mismatch"},
    "cert-weak-key": {"cert-weak-key"},
    "cert-sha1": {"cert-weak-signature"},
}  # fmt: skip
#: Findings a scenario must not show.
SCENARIO_ABSENT = {
    "windows-nla": {"nla-not-required", "credssp-version-old", "os-end-of-support", "standard-rdp-security-accepted"},
    "windows-tls": {"standard-rdp-security-accepted", "credssp-version-old"},
    "windows-2008r2-nla": {"nla-not-required", "restricted-admin-advertised", "redirected-auth-advertised"},
    "cert-ca-signed": {"cert-self-signed", "cert-expired", "cert-name-mismatch"},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIO_FINDINGS.keys() | SCENARIO_ABSENT.keys()))
def test_each_finding_against_the_mock(rdp_mock_server: MockServerFactory, name: str) -> None:
    host, port = rdp_mock_server(name)
    result = probe(host, port, **FAST)
    found = {f.id for f in result.findings}
    assert SCENARIO_FINDINGS.get(name, set()) <= found, (name, found)
    assert not found & SCENARIO_ABSENT.get(name, set()), (name, found)
    assert result.findings == findings(result)
    for finding in result.findings:
        assert finding.evidence, finding.id


def test_enumeration_shows_nla_is_not_required(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("windows-negotiate")
    result = probe(host, port, enumerate=True, **FAST)
    found = {f.id: f for f in result.findings}
    assert "accepted_protocols = RDP, SSL, HYBRID, HYBRID_EX" in found["nla-not-required"].evidence
    assert "standard-rdp-security-accepted" in found


def test_every_driver_gives_the_same_findings(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("windows-2008r2-nla")
    target = f"{host}:{port}"
    blocking = probe(target, **FAST).findings
    in_loop = asyncio.run(aprobe(target, **FAST)).findings
    (engine,) = [r.findings for r in probe_many([target], **FAST)]
    assert blocking == in_loop == engine
    assert {"credssp-version-old", "os-end-of-support"} <= {f.id for f in blocking}


# ---- never wrong against listeners that show nothing ----------------------------------------------


@pytest.mark.parametrize("behaviour", [reset_at_once, close_at_once, stay_silent], ids=["reset", "close", "silent"])
@pytest.mark.parametrize("enumerate_protocols", [False, True], ids=["plain", "enumerate"])
def test_dead_and_silent_listeners_give_no_finding(behaviour: Any, enumerate_protocols: bool) -> None:
    with listener(behaviour) as port:
        results = [probe("127.0.0.1", port, enumerate=enumerate_protocols, **FAST),
                   *probe_many([f"127.0.0.1:{port}"], enumerate=enumerate_protocols, **FAST)]
    for result in results:
        assert result.findings == ()
        assert result.facts.nla_required is None and result.facts.selected_protocol is None
        assert not result.facts.accepted_protocols


def test_refused_port_gives_no_finding() -> None:
    port = closed_port()
    for result in (probe("127.0.0.1", port, **FAST), *probe_many([f"127.0.0.1:{port}"], **FAST)):
        assert result.findings == () and result.facts.nla_required is None


def test_an_enumeration_that_every_protocol_refused_leaves_nla_unknown(rdp_mock_server: MockServerFactory) -> None:
    """Regression: every CR answered with RDP_NEG_FAILURE 3 made ``nla_required`` False (and
    so "NLA not required") although no connection had been accepted at all."""
    host, port = rdp_mock_server("ssl-cert-not-on-server")
    result = probe(host, port, enumerate=True, **FAST)
    assert result.facts.accepted_protocols == ()
    assert result.facts.nla_required is None
    assert "nla-not-required" not in {f.id for f in result.findings}


# ---- everywhere a result goes ------------------------------------------------------------------------


def test_json_csv_and_schema_carry_the_findings(rdp_mock_server: MockServerFactory) -> None:
    host, port = rdp_mock_server("windows-rdp-security")
    result = probe(host, port, **FAST)
    record = json.loads(json.dumps(envelope(result, datetime.now(UTC))))
    validator = jsonschema.Draft202012Validator(load_schema())
    validator.validate(record)
    first = record["findings"][0]
    assert set(first) == {"id", "severity", "title", "evidence", "fix", "references"}
    assert first["id"] == "nla-not-required" and first["severity"] == "high"
    row = dict(zip(CSV_COLUMNS, csv_row(result)))
    assert row["findings"].split(";") == [f.id for f in result.findings]
    assert row["max_severity"] == "high"
    bad = {**record, "findings": [{**first, "severity": "severe"}]}
    assert not validator.is_valid(bad)


def test_csv_appends_the_finding_columns_after_the_existing_ones() -> None:
    assert CSV_COLUMNS[:22][-1] == "encryption_method"
    assert CSV_COLUMNS[22:] == ("findings", "max_severity")
    empty = dict(zip(CSV_COLUMNS, csv_row({"target": {"host": "192.0.2.1", "port": 3389}})))
    assert empty["findings"] == "" and empty["max_severity"] == ""


def test_summary_counts_targets_per_finding_and_findings_per_severity() -> None:
    summary = Summary()
    for facts in (Facts(selected_protocol="RDP"), Facts(selected_protocol="SSL"), Facts()):
        record = {"findings": [json.loads(json.dumps(_finding_dict(f))) for f in findings(facts, PROBE_DAY)]}
        summary.add(record)
    assert summary.by_finding["nla-not-required"] == 2
    assert summary.by_finding["standard-rdp-security-accepted"] == 1
    assert summary.by_severity["high"] == 3
    assert summary.worst == "high"


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "severity": finding.severity, "title": finding.title,
            "evidence": list(finding.evidence), "fix": finding.fix, "references": list(finding.references)}


def test_summary_labels_a_finding_graded_per_case_with_its_worst_grade() -> None:
    import io

    from rich.console import Console

    summary = Summary()
    for suite in ("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_NULL_SHA"):
        facts = Facts(tls=TlsFacts(cipher=suite))
        summary.add({"findings": [_finding_dict(f) for f in findings(facts, PROBE_DAY)]})
    out = io.StringIO()
    summary.render(Console(file=out, width=120, color_system=None))
    assert "tls-weak-cipher (high)" in out.getvalue() and "(low)" not in out.getvalue()


def test_the_fields_the_rules_read_are_all_listed() -> None:
    """``findings`` skips the rules when none of ``READ_FIELDS`` was learned: a rule that read
    another field would then be skipped where it could have hit."""
    import re
    from pathlib import Path

    import rdpprobe.findings as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r"\bfacts\.(\w+)", source))
    assert read <= set(READ_FIELDS) <= {f.name for f in dataclasses.fields(Facts)}, read - set(READ_FIELDS)
