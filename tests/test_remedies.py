"""Causes and fixes as a probe reports them: the probed port, each text once, only what the
findings present call for, FreeRDP's names per version, and negotiation in the words of
what was requested."""

from __future__ import annotations

import itertools

import pytest

from rdpprobe import probe
from rdpprobe.classify import Detail, advisories, classify, classify_certificate
from rdpprobe.reasons import ERRCONNECT
from rdpprobe.remedies import CERT_FINDING_ADVICE
from rdpprobe.result import Facts
from rdpprobe.rows import ROWS
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from tests.transport.listeners import closed_port

P, S = Phase, Signal


def test_remedies_name_the_probed_port() -> None:
    verdict = classify(P.TCP_CONNECT, S.REFUSED, None, 14099)
    assert "allow TCP 14099 inbound" in verdict.remediation
    assert not any("3389" in text or "{port}" in text for text in verdict.causes + verdict.remediation)
    silent = classify(P.TCP_CONNECT, S.TIMEOUT, None, 14099)
    assert any("TCP 14099 silently" in cause for cause in silent.causes)


def test_a_probe_of_a_closed_port_names_that_port() -> None:
    port = closed_port()
    result = probe("127.0.0.1", port, connect_timeout=2, deadline=5)
    assert result.signal is S.REFUSED
    assert f"allow TCP {port} inbound" in result.verdict.remediation


@pytest.mark.parametrize(("phase", "signal"), list(itertools.product([None, *Phase], Signal)))
def test_no_verdict_repeats_a_cause_or_a_fix(phase: Phase | None, signal: Signal) -> None:
    for detail in (None, Detail(ntstatus=0xC000006D), Detail(error_info=0x10C9), Detail(neg_failure_code=1)):
        verdict = classify(phase, signal, detail)
        assert len(set(verdict.causes)) == len(verdict.causes), verdict.causes
        assert len(set(verdict.remediation)) == len(verdict.remediation), verdict.remediation


def test_a_self_signed_certificate_gets_only_its_own_fixes() -> None:
    verdict = classify_certificate(("self_signed",))
    assert verdict is not None
    assert verdict.remediation == (CERT_FINDING_ADVICE["self_signed"][1],)
    assert not any("name" in fix or "SAN" in fix for fix in verdict.remediation)
    both = classify_certificate(("self_signed", "name_mismatch"))
    assert both is not None and CERT_FINDING_ADVICE["name_mismatch"][1] in both.remediation


def test_a_server_that_closed_after_authenticate_is_not_said_to_send_an_alert() -> None:
    verdict = classify(P.NLA, S.EOF, Detail(after_authenticate=True))
    assert verdict.taxonomy_id == "C3"
    assert not any("alert" in text for text in verdict.causes + (verdict.summary,))
    alerted = classify(P.NLA, S.TLS_ALERT, Detail(tls_alert=80))
    assert any("alert" in cause for cause in alerted.causes)


def test_freerdp_names_are_3x_names_with_the_2x_name_beside_them() -> None:
    """Checked against include/freerdp/error.h and libfreerdp/core at 2.11.7, 3.0.0, 3.30.0:
    a refused negotiation is SECURITY_NEGO_CONNECT_FAILED in both; ACTIVATION_TIMEOUT is
    3.x only (2.11 aborts: CONNECT_CANCELLED)."""
    n5 = classify(P.CONNECTION_INITIATION, S.NEG_FAILURE, Detail(neg_failure_code=5))
    assert (n5.freerdp, n5.freerdp_2) == ("ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED",) * 2
    a1 = classify(P.CAPABILITIES_EXCHANGE, S.TIMEOUT)
    assert (a1.freerdp, a1.freerdp_2) == ("ERRCONNECT_ACTIVATION_TIMEOUT", "ERRCONNECT_CONNECT_CANCELLED")
    c6 = classify(P.NLA, S.AUTHZ_DENIED, Detail(authz_result=5))
    assert (c6.freerdp, c6.freerdp_2) == ("ERRCONNECT_AUTHENTICATION_FAILED", "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED")
    c2 = classify(P.NLA, S.CREDSSP_ERROR, Detail(ntstatus=0xC0000064))
    assert c2.freerdp == c2.freerdp_2 == "ERRCONNECT_AUTHENTICATION_FAILED"
    refused = classify(P.TCP_CONNECT, S.REFUSED)
    assert refused.freerdp_2 == refused.freerdp == "ERRCONNECT_CONNECT_FAILED"
    assert {row.freerdp for row in ROWS if row.freerdp} <= set(ERRCONNECT)
    assert "HYBRID_REQUIRED_BY_SERVER" not in ERRCONNECT  # Not in any FreeRDP release yet.


@pytest.mark.parametrize(("requested", "words"), [
    (("RDP",), "offered only Standard RDP Security"),
    (("HYBRID",), "offered CredSSP without PROTOCOL_SSL (HYBRID)"),
    (("SSL", "HYBRID"), "although the client offered it (SSL|HYBRID): a server fault"),
])  # fmt: skip
def test_ssl_required_is_explained_from_what_was_requested(requested: tuple[str, ...], words: str) -> None:
    verdict = classify(P.CONNECTION_INITIATION, S.NEG_FAILURE,
                       Detail(neg_failure_code=1, requested_protocols=requested))  # fmt: skip
    assert verdict.taxonomy_id == "N1"
    assert words in verdict.summary and words in verdict.causes[0]
    assert not any("only Standard RDP Security" in c for c in verdict.causes) or requested == ("RDP",)


@pytest.mark.parametrize(("selected", "requested", "row"), [
    ("RDP", ("SSL", "HYBRID"), "N2"),
    ("HYBRID", ("SSL",), "N*"),
    ("SSL", ("SSL", "HYBRID"), None),
    ("RDP", ("RDP",), None),
])  # fmt: skip
def test_a_protocol_the_client_did_not_request_is_an_advisory(
    selected: str, requested: tuple[str, ...], row: str | None
) -> None:
    found = [a for a in advisories(Facts(selected_protocol=selected, requested_protocols=requested))
             if "did not request" in a.summary]  # fmt: skip
    assert [a.taxonomy_id for a in found] == ([row] if row else [])
    if row == "N*":
        assert "server fault" in found[0].summary and found[0].category == "protocol_error"


def test_set_error_info_gets_freerdps_own_name() -> None:
    """FreeRDP spells 0x10C9 ERRINFO_UNKNOWN_DATA_PDU_TYPE (error.h, 2.11.7 to 3.30.0);
    [MS-RDPBCGR] 2.2.5.1.1 calls it ERRINFO_UNKNOWNPDUTYPE2, which the summary keeps."""
    verdict = classify(P.CAPABILITIES_EXCHANGE, S.SET_ERROR_INFO, Detail(error_info=0x10C9))
    assert verdict.freerdp == verdict.freerdp_2 == "ERRINFO_UNKNOWN_DATA_PDU_TYPE"
    assert "ERRINFO_UNKNOWNPDUTYPE2 0x10c9" in verdict.summary
    same = classify(P.CAPABILITIES_EXCHANGE, S.SET_ERROR_INFO, Detail(error_info=0x0002))
    assert same.freerdp == "ERRINFO_RPC_INITIATED_LOGOFF"
