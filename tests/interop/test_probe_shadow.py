"""rdpprobe against the FreeRDP 2.11 shadow server: CredSSP/NTLM, TLS and Standard RDP Security.

The shadow server checks NLA credentials against a SAM file made by ``winpr-hash``
(user alice, password Passw0rd!, no domain: the line matches any domain). A wrong password
or an unknown user makes it close the TCP connection right after the NTLM AUTHENTICATE
message: it sends no TSRequest ``errorCode``. Its NTLM CHALLENGE carries WinPR's fixed
version 6.1.7601 and the host name as the NetBIOS and DNS names; its TLS certificate is
self-signed with CN = host name. Standard RDP Security from a loopback peer is turned
off (encryption method and level NONE). What it answers to each requestedProtocols value
is recorded in the project's notes on real servers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import rdpprobe
from rdpprobe import Phase, ProbeResult, Signal
from tests.interop import harness

pytestmark = pytest.mark.interop

PROBE_OPTIONS = {"timeout": 5, "deadline": 15}
USER, PASSWORD = "alice", "Passw0rd!"
WINPR_NTLM_VERSION = "6.1.7601"  # WinPR's NTLM VERSION structure (Windows 7 SP1).
CREDSSP_VERSION = 6


def probe(server: harness.Daemon, **options: object) -> ProbeResult:
    return rdpprobe.probe(f"{server.host}:{server.port}", **PROBE_OPTIONS, **options)  # type: ignore[arg-type]


def _netbios_name_of_this_host() -> str:
    # WinPR: the host name up to the first dot, upper-cased (at most 15 characters).
    return socket.gethostname().split(".")[0].upper()


@pytest.fixture(scope="module")
def shadow_tls() -> Iterator[harness.Daemon]:
    with harness.shadow_server("tls", user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def shadow_rdp() -> Iterator[harness.Daemon]:
    with harness.shadow_server("rdp", user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def shadow_all() -> Iterator[harness.Daemon]:
    with harness.shadow_server("all", user=USER, password=PASSWORD) as server:
        yield server


# ---------------------------------------------------------------------------
# /sec:nla
# ---------------------------------------------------------------------------


def _assert_nla_facts(result: ProbeResult) -> None:
    facts = result.facts
    assert facts.selected_protocol == "HYBRID"
    assert facts.credssp_version == CREDSSP_VERSION
    ntlm = facts.ntlm
    assert ntlm is not None
    assert ntlm.product_version == WINPR_NTLM_VERSION and ntlm.build == 7601
    netbios = _netbios_name_of_this_host()
    assert ntlm.netbios_computer and netbios.startswith(ntlm.netbios_computer)
    assert ntlm.netbios_domain == ntlm.netbios_computer  # a workgroup host
    assert ntlm.dns_computer and ntlm.dns_computer.upper().startswith(ntlm.netbios_computer)
    assert facts.tls is not None and facts.tls.certificate is not None
    # Generated certificate: self-signed, CN = host name, probed by address.
    assert facts.tls.certificate.findings == ("self_signed", "name_mismatch", "untrusted_chain")


def test_nla_without_credentials(shadow_nla: harness.Daemon) -> None:
    result = probe(shadow_nla)
    assert (result.phase_reached, result.failed_phase, result.signal) == (Phase.NLA, None, Signal.OK)
    assert (result.verdict.category, result.verdict.taxonomy_id) == ("ok", "OK")
    _assert_nla_facts(result)
    assert result.facts.auth is None or result.facts.auth.status == "not_requested"


def test_nla_right_password(shadow_nla: harness.Daemon) -> None:
    result = probe(shadow_nla, user=USER, password=PASSWORD)
    assert (result.phase_reached, result.failed_phase, result.signal) == (Phase.NLA, None, Signal.OK)
    assert result.verdict.category == "ok"
    _assert_nla_facts(result)
    assert result.facts.auth is not None and result.facts.auth.status == "succeeded"


def test_nla_right_password_any_domain(shadow_nla: harness.Daemon) -> None:
    # The SAM line has no domain, so it matches whatever domain the client names.
    result = probe(shadow_nla, user=f"LAB\\{USER}", password=PASSWORD)
    assert result.facts.auth is not None and result.facts.auth.status == "succeeded"


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("bob", PASSWORD)],
                         ids=["wrong-password", "unknown-user"])
def test_nla_failed_logon(shadow_nla: harness.Daemon, user: str, password: str) -> None:
    result = probe(shadow_nla, user=user, password=password)
    # No errorCode: the server closes after AUTHENTICATE, which the probe reads as a
    # failed logon (C3), as xfreerdp reads it as CONNECT_TRANSPORT_FAILED.
    assert (result.phase_reached, result.failed_phase, result.signal) == (Phase.NLA, Phase.NLA, Signal.EOF)
    assert (result.verdict.category, result.verdict.taxonomy_id) == ("logon_failed", "C3")
    assert result.verdict.freerdp == "ERRCONNECT_CONNECT_TRANSPORT_FAILED"
    assert result.facts.auth is not None and result.facts.auth.status == "failed"
    _assert_nla_facts(result)  # The CHALLENGE was read before the failure.


def test_nla_enumeration(shadow_nla: harness.Daemon) -> None:
    # RDP, SSL and RDSTLS get FAILURE 5 (HYBRID_REQUIRED_BY_SERVER); SSL|HYBRID and
    # SSL|HYBRID|HYBRID_EX both get sel=HYBRID: FreeRDP 2.11 never selects HYBRID_EX.
    result = probe(shadow_nla, enumerate=True)
    assert result.facts.accepted_protocols == ("HYBRID",)
    assert result.facts.nla_required is True
    assert (result.phase_reached, result.signal) == (Phase.NLA, Signal.OK)


def test_nla_client_without_credssp_is_told_so(shadow_nla: harness.Daemon) -> None:
    # Offering only TLS: FAILURE 5, and the probe reconnects offering CredSSP.
    result = probe(shadow_nla, protocols="SSL")
    assert result.facts.neg_failure_code == 5
    assert result.facts.nla_required is True
    assert result.facts.selected_protocol == "HYBRID"


# ---------------------------------------------------------------------------
# /sec:tls, /sec:rdp, and all three
# ---------------------------------------------------------------------------


def _assert_session_facts(result: ProbeResult) -> None:
    assert (result.phase_reached, result.failed_phase, result.signal) == (
        Phase.CAPABILITIES_EXCHANGE, None, Signal.OK), result.detail
    facts = result.facts
    assert facts.nla_required is False
    assert facts.server_core is not None and facts.server_core.rdp_version_name == "RDP 5.0-8.1"
    assert facts.encryption is not None
    assert (facts.encryption.method, facts.encryption.level) == ("NONE", "ENCRYPTION_LEVEL_NONE")
    assert facts.licensing == "valid_client"
    assert facts.capabilities is not None
    # The shadow server mirrors its Xvfb screen (1024x768).
    assert (facts.capabilities.desktop_width, facts.capabilities.desktop_height) == (1024, 768)
    assert Phase.NLA in result.skipped_phases


def test_tls_mode(shadow_tls: harness.Daemon) -> None:
    result = probe(shadow_tls)
    _assert_session_facts(result)
    assert result.facts.selected_protocol == "SSL"
    assert result.facts.neg_failure_code is None
    assert result.facts.server_core is not None
    assert result.facts.server_core.client_requested_protocols == 0x0B


def test_rdp_mode(shadow_rdp: harness.Daemon) -> None:
    # SSL|HYBRID|HYBRID_EX gets FAILURE 2 (SSL_NOT_ALLOWED_BY_SERVER); the probe
    # reconnects offering RDP and walks Standard RDP Security (unencrypted on loopback).
    result = probe(shadow_rdp)
    _assert_session_facts(result)
    assert result.facts.selected_protocol == "RDP"
    assert result.facts.neg_failure_code == 2
    assert result.facts.tls is None
    assert Phase.SECURITY_COMMENCEMENT in result.skipped_phases  # encryption level NONE


@pytest.mark.parametrize(("server", "accepted", "nla_required"), [
    ("shadow_tls", ("SSL",), False),
    ("shadow_rdp", ("RDP",), False),
    # Everything: RDP, SSL and CredSSP (selected for SSL|HYBRID and SSL|HYBRID|HYBRID_EX).
    ("shadow_all", ("RDP", "SSL", "HYBRID"), False),
])
def test_enumeration(server: str, accepted: tuple[str, ...], nla_required: bool,
                     request: pytest.FixtureRequest) -> None:
    daemon = request.getfixturevalue(server)
    result = probe(daemon, enumerate=True)
    assert result.facts.accepted_protocols == accepted
    assert result.facts.nla_required is nla_required
    assert result.verdict.category == "ok"


def test_all_mode_prefers_credssp(shadow_all: harness.Daemon) -> None:
    result = probe(shadow_all)
    assert (result.phase_reached, result.signal) == (Phase.NLA, Signal.OK)
    assert result.facts.selected_protocol == "HYBRID"
    assert result.facts.credssp_version == CREDSSP_VERSION
