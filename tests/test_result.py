"""Result types and their JSON form."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from rdpprobe.classify import Detail, classify
from rdpprobe.result import (
    AUTH_STATUSES,
    AUTH_WITHHELD,
    AuthOutcome,
    CapabilityFacts,
    CertificateFacts,
    ChannelFacts,
    EncryptionFacts,
    Facts,
    NtlmFacts,
    ProbeResult,
    RdpEncryptionAuditFacts,
    RedirectionFacts,
    ServerCoreFacts,
    Target,
    TlsAuditFacts,
    TlsFacts,
    TlsVersionSupport,
    TrustFacts,
    internal_error_result,
)
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal

STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
TARGET = Target("rdp.example.test", 3389, "192.0.2.10")
TOP_KEYS = {
    "schema_version", "timestamp", "ip", "port", "hostname", "target", "started_at", "phase_reached",
    "failed_phase", "signal", "detail", "verdict", "timings", "skipped_phases", "facts", "advisories",
    "findings", "error",
}
VERDICT_KEYS = {
    "category", "ms_client", "freerdp", "freerdp_code", "causes", "remediation", "taxonomy_id",
    "summary", "freerdp_2",
}


def _full_facts() -> Facts:
    facts = Facts()
    facts = facts.update(selected_protocol="PROTOCOL_HYBRID", requested_protocols=("PROTOCOL_SSL",))
    facts = dataclasses.replace(facts, nla_required=True, neg_flags=0x1f,
                                neg_flag_names=("EXTENDED_CLIENT_DATA_SUPPORTED",))
    cert = CertificateFacts(subject="CN=rdp", sha256="ab" * 32, findings=("self_signed",))
    return facts.update(
        tls=TlsFacts(version="TLSv1.2", cipher="ECDHE-RSA-AES256-GCM-SHA384", certificate=cert,
                     findings=("self_signed",)),
        ntlm=NtlmFacts(netbios_domain="CORP", product_version="10.0.20348", build=20348,
                       timestamp="2024-05-01T12:00:00+00:00"),
        credssp_version=6,
        server_core=ServerCoreFacts(rdp_version=0x80004, rdp_version_name="RDP_VERSION_5_PLUS"),
        encryption=EncryptionFacts(method="ENCRYPTION_METHOD_NONE", level="ENCRYPTION_LEVEL_NONE"),
        channels=ChannelFacts(io_channel=1003, user_id=1007, joined=(1007, 1003)),
        licensing="valid_client",
        capabilities=CapabilityFacts(capability_sets=("GENERAL",), desktop_width=1024),
        redirection=RedirectionFacts(load_balance_info=b"tsv://MS Terminal Services Plugin.1"),
        auth=AuthOutcome(status="not_performed", reason="server did not select CredSSP"),
    )


def _failed() -> ProbeResult:
    return ProbeResult(
        target=TARGET,
        started_at=STARTED,
        phase_reached=Phase.CONNECTION_INITIATION,
        failed_phase=Phase.CONNECTION_INITIATION,
        signal=Signal.NEG_FAILURE,
        detail="failureCode 5",
        verdict=classify(Phase.CONNECTION_INITIATION, Signal.NEG_FAILURE, Detail(neg_failure_code=5)),
        timings=((Phase.TCP_CONNECT, 0.01), (Phase.CONNECTION_INITIATION, 0.02)),
        skipped_phases=(Phase.TLS,),
        facts=_full_facts(),
    )


def test_to_dict_is_json_with_required_keys() -> None:
    out = json.loads(json.dumps(_failed().to_dict()))
    assert set(out) == TOP_KEYS
    assert out["target"] == {"host": "rdp.example.test", "port": 3389, "address": "192.0.2.10"}
    assert out["phase_reached"] == "connection_initiation"
    assert out["failed_phase"] == "connection_initiation"
    assert out["signal"] == "neg_failure"
    assert out["timings"] == {"tcp_connect": 0.01, "connection_initiation": 0.02}
    assert out["skipped_phases"] == ["tls"]
    assert out["error"] is None
    assert out["started_at"] == "2024-05-01T12:00:00+00:00"
    assert list(out)[:5] == ["schema_version", "timestamp", "ip", "port", "hostname"]
    assert (out["schema_version"], out["timestamp"]) == (1, "2024-05-01T12:00:00.000Z")
    assert (out["ip"], out["port"], out["hostname"]) == ("192.0.2.10", 3389, "rdp.example.test")


def test_verdict_json() -> None:
    verdict = _failed().to_dict()["verdict"]
    assert set(verdict) == VERDICT_KEYS
    assert verdict["taxonomy_id"] == "N5"
    assert verdict["freerdp_code"] == "0x0002000c"  # SECURITY_NEGO_CONNECT_FAILED in 2.11 and 3.x
    tcp = classify(Phase.TCP_CONNECT, Signal.REFUSED)
    ms = dataclasses.replace(_failed(), verdict=tcp).to_dict()["verdict"]["ms_client"]
    assert (ms["code"], ms["code_int"]) == ("0x204", 516)
    assert ms["message"] == "Remote Desktop can't connect to the remote computer"


def test_facts_json() -> None:
    facts = _failed().to_dict()["facts"]
    assert facts["selected_protocol"] == "PROTOCOL_HYBRID"
    assert facts["tls"]["certificate"]["findings"] == ["self_signed"]
    assert facts["ntlm"] == {
        "netbios_domain": "CORP", "product_version": "10.0.20348", "build": 20348,
        "timestamp": "2024-05-01T12:00:00+00:00",
    }
    assert facts["redirection"]["load_balance_info"] == b"tsv://MS Terminal Services Plugin.1".hex()
    assert facts["auth"]["status"] == "not_performed"
    assert "accepted_protocols" not in facts  # never learned: omitted


def test_audit_facts_json() -> None:
    """``--audit``'s enumerations in the JSON form; an untested version keeps no ``accepted``."""
    tls = TlsAuditFacts(
        versions=(TlsVersionSupport("TLSv1.2", True, ("TLS_RSA_WITH_AES_128_CBC_SHA",), True),
                  TlsVersionSupport("SSLv3", None)),
        server_cipher_preference=False, groups=("x25519",), library="OpenSSL 3.0.0",
    )
    rdp = RdpEncryptionAuditFacts(("ENCRYPTION_METHOD_40BIT",), ("ENCRYPTION_METHOD_FIPS",), ("NONE",),
                                  ("ENCRYPTION_LEVEL_LOW",))
    facts = dataclasses.replace(_failed(), facts=Facts(tls_audit=tls, rdp_encryption_audit=rdp)).to_dict()["facts"]
    assert json.loads(json.dumps(facts)) == {
        "tls_audit": {
            "versions": [
                {"version": "TLSv1.2", "accepted": True, "ciphers": ["TLS_RSA_WITH_AES_128_CBC_SHA"],
                 "complete": True},
                {"version": "SSLv3", "ciphers": []},
            ],
            "server_cipher_preference": False, "groups": ["x25519"], "library": "OpenSSL 3.0.0",
        },
        "rdp_encryption_audit": {
            "methods_accepted": ["ENCRYPTION_METHOD_40BIT"], "methods_refused": ["ENCRYPTION_METHOD_FIPS"],
            "methods_unknown": ["NONE"], "levels": ["ENCRYPTION_LEVEL_LOW"],
        },
    }


def test_empty_facts_are_empty() -> None:
    assert ProbeResult(TARGET, STARTED, None, None, Signal.OK, None,
                       classify(None, Signal.OK)).to_dict()["facts"] == {}


def test_ok_and_failure() -> None:
    ok = ProbeResult(TARGET, STARTED, Phase.CAPABILITIES_EXCHANGE, None, Signal.OK, None,
                     classify(Phase.CAPABILITIES_EXCHANGE, Signal.OK))
    assert ok.ok
    assert ok.to_dict()["failed_phase"] is None
    assert not _failed().ok


def test_internal_error_result() -> None:
    result = internal_error_result(TARGET, STARTED, "KeyError: 'x'", Phase.NLA)
    out = json.loads(json.dumps(result.to_dict()))
    assert out["error"] == "KeyError: 'x'"
    assert out["verdict"]["category"] == "internal_error"
    assert out["signal"] == "internal_error"


def test_trace_only_on_request() -> None:
    result = dataclasses.replace(_failed(), trace=({"t": 0.0, "pdu": b"\x03\x00"},))
    assert "trace" not in result.to_dict()
    assert result.to_dict(include_trace=True)["trace"] == [{"t": 0.0, "pdu": "0300"}]


def test_types_are_frozen() -> None:
    facts = Facts()
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.credssp_version = 6  # type: ignore[misc]
    assert facts.update(credssp_version=6).credssp_version == 6
    assert facts.credssp_version is None


def test_trust_withheld_and_downgrade_facts_json() -> None:
    """Chain trust, a withheld password and a possible downgrade in the JSON form; an
    unknown ``trusted`` is omitted, never written as false."""
    tls = TlsFacts("TLSv1.3", trust=TrustFacts(None, "no certificate", "system"))
    facts = Facts(tls=tls, auth=AuthOutcome(AUTH_WITHHELD, "why"), possible_downgrade="SSL after HYBRID")
    out = dataclasses.replace(_failed(), facts=facts).to_dict()["facts"]
    assert json.loads(json.dumps(out)) == {
        "tls": {"version": "TLSv1.3", "findings": [], "trust": {"error": "no certificate", "store": "system"}},
        "auth": {"status": "withheld", "reason": "why"},
        "possible_downgrade": "SSL after HYBRID",
    }
    assert AUTH_WITHHELD in AUTH_STATUSES
