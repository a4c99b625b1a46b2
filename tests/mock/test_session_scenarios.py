"""NLA, MCS, Standard RDP Security, licensing and teardown scenarios, in memory (MockPair),
with the wire codecs acting as the client."""

from __future__ import annotations

import pytest

from rdpprobe.mock import FaultPlan, MockPair, ServerPhase, builtin_scenarios, get_scenario
from rdpprobe.mock.faults import Action, Fault
from rdpprobe.wire import credssp, licensing, mcs, redirection, share
from rdpprobe.wire.ntstatus import NtStatus

from .wireclient import WireClient, split_frames

USER, PASSWORD = "alice", "Passw0rd!"
NTSTATUS_SCENARIOS = [s for s in builtin_scenarios().values()
                      if s.plan.find(Action.CREDSSP_ERROR)]


def nla_client(name: str, requested: int = 3) -> WireClient:
    client = WireClient(MockPair(name, user=USER, password=PASSWORD))
    client.connect(requested)
    client.tls()
    return client


def tls_session(name: str, requested: int = 3) -> WireClient:
    client = WireClient(MockPair(name, user=USER, password=PASSWORD))
    client.connect(requested)
    if client.selected:
        client.tls()
    if client.selected in (2, 8):
        client.nla(USER, PASSWORD)
    return client


def test_nla_accepts_the_right_password() -> None:
    client = nla_client("windows-nla")
    assert client.nla_negotiate().version == 6
    rsp = client.nla_authenticate(USER, PASSWORD)
    assert rsp is not None and rsp.error_code is None and rsp.pub_key_auth
    proof = client.session.unseal(rsp.pub_key_auth)  # type: ignore[union-attr]
    spk = credssp.subject_public_key(client.pair.acceptor.bundle.cert_der)
    assert proof == credssp.server_binding_hash(client.nonce, spk)
    assert client.nla_credentials(USER, PASSWORD) == b""
    assert client.pair.record.authenticated_user == USER


def test_nla_rejects_a_wrong_password_with_error_code() -> None:
    client = nla_client("windows-nla")
    client.nla_negotiate()
    rsp = client.nla_authenticate(USER, "wrong")
    assert rsp is not None and rsp.error_code == NtStatus.STATUS_WRONG_PASSWORD
    assert client.pair.server_closed


def test_nla_unknown_user_gets_no_such_user() -> None:
    client = nla_client("windows-nla")
    client.nla_negotiate()
    rsp = client.nla_authenticate("mallory", PASSWORD)
    assert rsp is not None and rsp.error_code == NtStatus.STATUS_NO_SUCH_USER


def test_hybrid_ex_sends_authorization_success() -> None:
    client = nla_client("windows-nla", requested=11)
    assert client.nla(USER, PASSWORD) == bytes(4)


def test_challenge_names_the_server() -> None:
    from rdpprobe.wire import ntlm

    client = nla_client("windows-nla")
    info = ntlm.decode_challenge(client.nla_negotiate().nego_tokens[0])
    assert info.netbios_computer == "MOCKRDP"


@pytest.mark.parametrize("scenario", NTSTATUS_SCENARIOS, ids=lambda s: s.name)
def test_every_ntstatus_scenario(scenario) -> None:  # type: ignore[no-untyped-def]
    client = nla_client(scenario.name)
    client.nla_negotiate()
    rsp = client.nla_authenticate(USER, PASSWORD)
    assert rsp is not None and rsp.error_code == scenario.plan.find(Action.CREDSSP_ERROR).param("status")


def test_credssp_close_after_negotiate() -> None:
    client = nla_client("credssp-close-after-negotiate")
    assert client.nla_negotiate() is None and client.pair.server_closed


def test_credssp_v2_server_closes_instead_of_error_code() -> None:
    client = nla_client("credssp-v2-server")
    assert client.nla_negotiate().version == 2
    assert client.nla_authenticate(USER, "wrong") is None and client.pair.server_closed


def test_credssp_v2_server_accepts_with_the_plus_one_echo() -> None:
    client = nla_client("credssp-v2-server")
    client.nla_negotiate()
    rsp = client.nla_authenticate(USER, PASSWORD)
    spk = credssp.subject_public_key(client.pair.acceptor.bundle.cert_der)
    assert client.session.unseal(rsp.pub_key_auth) == credssp.increment_le(spk)  # type: ignore[union-attr]


def test_credssp_require_v6_closes_on_an_old_client() -> None:
    client = nla_client("credssp-require-v6")
    assert client.nla_negotiate(version=4) is None and client.pair.server_closed


def test_pubkey_mismatch_sends_a_wrong_proof() -> None:
    client = nla_client("pubkey-mismatch")
    client.nla_negotiate()
    rsp = client.nla_authenticate(USER, PASSWORD)
    spk = credssp.subject_public_key(client.pair.acceptor.bundle.cert_der)
    assert client.session.unseal(rsp.pub_key_auth) != credssp.server_binding_hash(client.nonce, spk)  # type: ignore[union-attr]


def test_authz_denied() -> None:
    client = nla_client("authz-denied", requested=11)
    assert client.nla(USER, PASSWORD) == bytes.fromhex("05000000")
    assert client.pair.server_closed


def test_healthy_tls_session_reaches_demand_active() -> None:
    client = tls_session("windows-tls")
    client.basic_settings()
    answers = client.channel_connection()
    assert all(getattr(a, "result", 1) == 0 for a in answers)
    frames = client.client_info()
    assert licensing.is_valid_client(licensing.decode_license_pdu(client.io_payload(frames[0])[4:]))
    assert isinstance(client.share_pdu(frames[1]), share.DemandActive)


@pytest.mark.parametrize("name", ["windows-rdp-security", "legacy-no-negotiation"])
def test_standard_rdp_security_session_reaches_demand_active(name: str) -> None:
    client = tls_session(name, requested=0)
    client.basic_settings()
    client.channel_connection()
    client.security_exchange()
    frames = client.client_info()
    assert licensing.is_valid_client(licensing.decode_license_pdu(client.io_payload(frames[0])))
    assert isinstance(client.share_pdu(frames[1]), share.DemandActive)


@pytest.mark.parametrize(("name", "result"), [("mcs-connect-rejected", 14), ("mcs-parameters-unacceptable", 8)])
def test_mcs_connect_rejected(name: str, result: int) -> None:
    client = tls_session(name)
    client.basic_settings()
    assert client.connect_result == result and client.pair.server_closed


def test_mcs_close_after_connect_initial() -> None:
    client = tls_session("mcs-close-after-connect-initial")
    assert client.basic_settings() == b"" and client.pair.server_closed


def test_downgrade_echoes_other_requested_protocols() -> None:
    from rdpprobe.wire import basic_settings
    from rdpprobe.wire.gcc_blocks import ServerCoreData, find_block

    client = tls_session("downgrade")
    _, _, blocks = basic_settings.decode_connect_response(client.basic_settings())
    core = find_block(blocks, ServerCoreData)
    assert isinstance(core, ServerCoreData) and core.client_requested_protocols == 0


def test_attach_user_rejected() -> None:
    client = tls_session("attach-user-rejected")
    client.basic_settings()
    answers = client.channel_connection()
    assert answers == [mcs.AttachUserConfirm(13, answers[0].initiator)]  # type: ignore[union-attr]


def test_channel_join_rejected() -> None:
    client = tls_session("channel-join-rejected")
    client.basic_settings()
    joins = client.channel_connection()[1:]
    assert joins and all(isinstance(j, mcs.ChannelJoinConfirm) and j.result == 3 for j in joins)


def test_broken_server_security() -> None:
    from rdpprobe.wire import rdpcrypto, security

    client = tls_session("bad-proprietary-cert", requested=0)
    client.basic_settings()
    sec = client.server_security
    assert sec is not None
    cert = security.decode_server_certificate(sec.server_certificate)  # type: ignore[arg-type]
    assert not rdpcrypto.verify_proprietary_certificate(cert)  # type: ignore[arg-type]


def test_a_short_server_random_is_refused_at_decode() -> None:
    """[MS-RDPBCGR] 2.2.1.4.3: serverRandomLen MUST be 32."""
    from rdpprobe.errors import InvalidField

    client = tls_session("short-server-random", requested=0)
    with pytest.raises(InvalidField, match="serverRandomLen"):
        client.basic_settings()


def teardown_frames(name: str) -> tuple[WireClient, list[bytes]]:
    client = tls_session(name)
    client.basic_settings()
    client.channel_connection()
    return client, client.client_info()


@pytest.mark.parametrize(("name", "code"), [
    ("errinfo-denied", 7), ("errinfo-insufficient-privileges", 9),
    ("errinfo-create-user-data-failed", 0x10D2), ("license-errinfo-no-license", 0x102),
])
def test_set_error_info_then_ultimatum(name: str, code: int) -> None:
    client, frames = teardown_frames(name)
    assert client.share_pdu(frames[0]) == share.SetErrorInfo(code, 0x000103EA, 1002)
    assert mcs.decode_mcs_frame(frames[1]) == mcs.DisconnectProviderUltimatum(1)
    assert client.pair.server_closed


@pytest.mark.parametrize(("name", "reason"), [("ultimatum-user-requested", 3), ("ultimatum-provider-initiated", 1)])
def test_ultimatum_without_error_info(name: str, reason: int) -> None:
    client, frames = teardown_frames(name)
    assert [mcs.decode_mcs_frame(f) for f in frames] == [mcs.DisconnectProviderUltimatum(reason)]


def test_license_error() -> None:
    client, frames = teardown_frames("license-no-license-server")
    msg = licensing.decode_license_pdu(client.io_payload(frames[0])[4:])
    assert isinstance(msg, licensing.LicenseError) and (msg.error_code, msg.state_transition) == (6, 1)


def test_redirect() -> None:
    client, frames = teardown_frames("redirect")
    pdu = redirection.decode_enhanced_redirection(client.io_payload(frames[-1]))
    assert pdu.redirection.target_net_address == "127.0.0.2"
    assert pdu.redirection.load_balance_info == b"Cookie: msts=3640205228.15629.0000"


def test_no_demand_active_goes_silent() -> None:
    client, frames = teardown_frames("no-demand-active")
    assert len(frames) == 1 and not client.pair.server_closed
    assert client.pair.record.phase_reached is ServerPhase.CAPABILITIES_EXCHANGE


def test_errinfo_needs_the_client_flag() -> None:
    scenario = get_scenario("errinfo-denied")
    client = WireClient(MockPair(scenario))
    client.connect(1)
    client.tls()
    import tests.mock.wireclient as wc

    original, wc.ERRINFO_FLAG = wc.ERRINFO_FLAG, 0
    try:
        client.basic_settings()
    finally:
        wc.ERRINFO_FLAG = original
    client.channel_connection()
    frames = client.client_info()
    assert [mcs.decode_mcs_frame(f) for f in frames] == [mcs.DisconnectProviderUltimatum(1)]


def test_composed_plan_from_fixture(fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    scenario = get_scenario(f"{fixtures_dir / 'composed.toml'}::slow-nla-then-wrong-password-code")
    client = WireClient(MockPair(scenario, user=USER, password=PASSWORD))
    client.connect(3)
    client.tls()
    client.nla_negotiate()
    rsp = client.nla_authenticate(USER, PASSWORD)
    assert rsp is not None and rsp.error_code == NtStatus.STATUS_LOGON_FAILURE
    assert client.pair.elapsed >= 0.2


def test_fault_at_active_phase() -> None:
    scenario = get_scenario("windows-tls").with_faults(Fault(ServerPhase.ACTIVE, Action.ERROR_INFO, {"code": 5}))
    assert scenario.plan == FaultPlan.of(Fault(ServerPhase.ACTIVE, Action.ERROR_INFO, {"code": 5}))
    assert split_frames(b"") == []
