"""Issue 17 defect 5: a full logon sends the password only to a server that proved itself.

Without CredSSP's public-key proof ([MS-CSSP] 3.1.5) the password goes out in Client Info
([MS-RDPBCGR] 2.2.1.11.1.1) only when the certificate's chain is trusted and names the host,
or on the explicit opt-in. Each test checks the bytes the client produced, and what the mock
received, not only the result.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rdpprobe import probe, probe_many
from rdpprobe.mock import MockRdpServer
from rdpprobe.mock.certs import variant_ca
from rdpprobe.mock.faults import ServerPhase
from rdpprobe.mock.nla import DEFAULT_PASSWORD, DEFAULT_USER
from rdpprobe.mock.pair import MockPair
from rdpprobe.mock.scenarios import Scenario, scenario_from_dict
from rdpprobe.result import AUTH_SUCCEEDED, AUTH_WITHHELD
from rdpprobe.sequence.config import Credentials, ProbeConfig, Timeouts
from rdpprobe.sequence.phases import Phase
from rdpprobe.signals import Signal
from rdpprobe.wire import info, security
from tests.pairprobe import PairRun, probe_pair

#: A password no scenario uses elsewhere, so any copy of it in the output is this test's.
PASSWORD = "Pw-withheld-7f3a9c"
TIMEOUTS = Timeouts(connect=2.0, phase=3.0, overall=8.0)


def _scenario(personality: str, *faults: dict[str, object]) -> Scenario:
    return scenario_from_dict({"name": f"{personality}-test", "personality": personality, "faults": list(faults)})


def _pair(scenario: Scenario | str) -> MockPair:
    return MockPair(scenario, user=DEFAULT_USER, password=PASSWORD)


def _config(**changes: object) -> ProbeConfig:
    config = ProbeConfig(timeouts=TIMEOUTS, credentials=Credentials(DEFAULT_USER, PASSWORD), full_logon=True)
    return dataclasses.replace(config, **changes)


def _certificate(variant: str) -> dict[str, object]:
    return {"phase": "tls", "action": "certificate", "variant": variant}


#: requestedProtocols PROTOCOL_RDP: what the probe's negotiation fallback offers a server
#: that refuses TLS ([MS-RDPBCGR] 2.2.1.1.1); one in-memory connection has no fallback.
RDP = 0
DOWNGRADED_CC = {"phase": "connection_initiation", "action": "select_protocol", "protocol": 1}


def _password_forms() -> tuple[bytes, ...]:
    return (PASSWORD.encode("utf-16-le"), PASSWORD.encode())


def assert_withheld(run: PairRun, pair: MockPair) -> None:
    result = run.result
    assert result.signal is Signal.CREDENTIALS_WITHHELD, (result.signal, result.detail)
    assert result.verdict.category == "credentials_withheld"
    assert result.facts.auth is not None and result.facts.auth.status == AUTH_WITHHELD
    assert result.detail is not None and result.detail.startswith("credentials withheld: ")
    for form in _password_forms():
        assert form not in run.sent_bytes
    assert not any(_is_client_info(frame) for frame in run.sent)
    record = pair.record
    assert record.authenticated_user is None
    assert not any(note.startswith("client info") for note in record.notes), record.notes
    assert PASSWORD not in json.dumps(result.to_dict())


def assert_sent(run: PairRun, pair: MockPair) -> None:
    assert run.result.signal is Signal.OK, (run.result.signal, run.result.detail)
    assert pair.record.authenticated_user == DEFAULT_USER
    assert any(note.startswith("client info") for note in pair.record.notes)


def _is_client_info(frame: bytes) -> bool:
    """A Send Data Request whose security header says SEC_INFO_PKT (sent in the clear on TLS)."""
    marker = security.SEC_INFO_PKT.to_bytes(2, "little")
    return marker in frame and any(form in frame for form in _password_forms())


def _ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_bytes(variant_ca().cert_pem)
    return str(path)


# ---- in memory -------------------------------------------------------------------------------


def test_ssl_with_a_self_signed_certificate_gets_no_password() -> None:
    pair = _pair("windows-tls")
    run = probe_pair(pair, _config())
    assert_withheld(run, pair)
    assert run.result.facts.selected_protocol == "SSL"
    assert "not trusted" in (run.result.facts.auth.reason or "")  # type: ignore[union-attr]


def test_a_cc_rewritten_to_select_ssl_for_an_nla_client_gets_no_password() -> None:
    pair = _pair(_scenario("windows-nla", DOWNGRADED_CC))
    run = probe_pair(pair, _config())
    assert_withheld(run, pair)
    assert "SSL without CredSSP" in (run.result.detail or "")


def test_standard_rdp_security_gets_no_password() -> None:
    pair = _pair("windows-rdp-security")
    run = probe_pair(pair, _config(requested_protocols=RDP))
    assert_withheld(run, pair)
    assert run.result.phase_reached is Phase.SECURE_SETTINGS_EXCHANGE
    assert pair.record.phase_reached is not ServerPhase.SECURE_SETTINGS_EXCHANGE
    assert "Standard RDP Security" in (run.result.detail or "")


def test_standard_rdp_security_even_with_every_store_trusted(tmp_path: Path) -> None:
    """Its proprietary certificate proves nothing, whatever the trust store holds."""
    pair = _pair("windows-rdp-security")
    assert_withheld(probe_pair(pair, _config(requested_protocols=RDP, ca_file=_ca_file(tmp_path))), pair)


def test_a_trusted_certificate_for_the_name_gets_the_password(tmp_path: Path) -> None:
    pair = _pair(_scenario("windows-tls", _certificate("ca-signed")))
    run = probe_pair(pair, _config(ca_file=_ca_file(tmp_path)))
    assert_sent(run, pair)
    assert run.result.facts.tls is not None and run.result.facts.tls.trust is not None
    assert run.result.facts.tls.trust.trusted is True


def test_a_trusted_certificate_for_another_name_gets_no_password(tmp_path: Path) -> None:
    pair = _pair(_scenario("windows-tls", _certificate("wrong-name")))
    run = probe_pair(pair, _config(ca_file=_ca_file(tmp_path)))
    assert_withheld(run, pair)
    assert "not issued for localhost" in (run.result.detail or "")


def test_expected_name_is_the_name_checked(tmp_path: Path) -> None:
    pair = _pair(_scenario("windows-tls", _certificate("ca-signed")))
    run = probe_pair(pair, _config(ca_file=_ca_file(tmp_path), expected_name="other.example"))
    assert_withheld(run, pair)


def test_the_opt_in_sends_the_password_to_an_unverified_server() -> None:
    pair = _pair("windows-tls")
    assert_sent(probe_pair(pair, _config(allow_unverified_credentials=True)), pair)
    pair = _pair("windows-rdp-security")
    assert_sent(probe_pair(pair, _config(requested_protocols=RDP, allow_unverified_credentials=True)), pair)


def test_nla_with_the_key_proof_still_logs_on() -> None:
    pair = _pair("windows-nla")
    run = probe_pair(pair, _config())
    assert run.result.facts.auth is not None and run.result.facts.auth.status == AUTH_SUCCEEDED
    assert run.result.signal is not Signal.CREDENTIALS_WITHHELD


def test_without_a_full_logon_nothing_is_withheld() -> None:
    pair = _pair("windows-tls")
    run = probe_pair(pair, _config(full_logon=False))
    assert run.result.signal is Signal.OK
    assert run.result.facts.auth is not None and run.result.facts.auth.status != AUTH_WITHHELD


# ---- over sockets ----------------------------------------------------------------------------


def _client_info_received(server: MockRdpServer) -> bool:
    return any(note.startswith("client info") for record in server.records for note in record.notes)


@pytest.mark.parametrize("scenario", ["windows-tls", "windows-rdp-security", "downgrade-to-ssl"])
def test_probe_over_a_socket_withholds(scenario: str) -> None:
    with MockRdpServer(scenario, user=DEFAULT_USER, password=PASSWORD) as server:
        host, port = server.address
        result = probe(host, port, user=DEFAULT_USER, password=PASSWORD, full_logon=True, deadline=8.0)
    assert result.signal is Signal.CREDENTIALS_WITHHELD, (result.signal, result.detail)
    assert result.facts.auth is not None and result.facts.auth.status == AUTH_WITHHELD
    assert not _client_info_received(server)
    assert all(record.authenticated_user is None for record in server.records)


def test_probe_over_a_socket_sends_to_a_trusted_server(tmp_path: Path) -> None:
    with MockRdpServer(_scenario("windows-tls", _certificate("ca-signed")), user=DEFAULT_USER,
                       password=PASSWORD) as server:
        host, port = server.address
        result = probe("localhost", port, user=DEFAULT_USER, password=PASSWORD, full_logon=True, deadline=8.0,
                       ca_file=_ca_file(tmp_path), expected_name="localhost")
    assert result.signal is Signal.OK, (result.signal, result.detail)
    assert _client_info_received(server)


def test_check_command_withholds_and_never_prints_the_password(tmp_path: Path) -> None:
    with MockRdpServer("downgrade-to-ssl", user=DEFAULT_USER, password=PASSWORD) as server:
        host, port = server.address
        env = dict(os.environ, RDPPROBE_PASSWORD=PASSWORD)
        outputs = []
        for extra in ([], ["--json"]):
            done = subprocess.run(
                [sys.executable, "-m", "rdpprobe", "-vv", "check", f"{host}:{port}", "--user", DEFAULT_USER,
                 "--full-logon", "--deadline", "8", *extra],
                capture_output=True, text=True, env=env, timeout=60,
            )
            outputs.append(done)
    assert not _client_info_received(server)
    for done in outputs:
        assert done.returncode != 0
        assert PASSWORD not in done.stdout and PASSWORD not in done.stderr
    assert "credentials withheld" in outputs[0].stdout.lower()
    assert json.loads(outputs[1].stdout)["facts"]["auth"]["status"] == AUTH_WITHHELD


def test_the_command_line_opt_in_sends_and_still_never_prints_the_password() -> None:
    with MockRdpServer("windows-tls", user=DEFAULT_USER, password=PASSWORD) as server:
        host, port = server.address
        env = dict(os.environ, RDPPROBE_PASSWORD=PASSWORD)
        done = subprocess.run(
            [sys.executable, "-m", "rdpprobe", "-vv", "check", f"{host}:{port}", "--user", DEFAULT_USER,
             "--full-logon", "--send-password-to-unverified-server", "--deadline", "8", "--json"],
            capture_output=True, text=True, env=env, timeout=60,
        )
    assert _client_info_received(server), done.stdout + done.stderr
    assert PASSWORD not in done.stdout and PASSWORD not in done.stderr
    assert json.loads(done.stdout)["signal"] == "ok"


def test_the_opt_in_is_checked() -> None:
    from rdpprobe.errors import ProbeUsageError

    done = subprocess.run([sys.executable, "-m", "rdpprobe", "check", "127.0.0.1:1",
                           "--send-password-to-unverified-server"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--send-password-to-unverified-server needs --full-logon" in done.stderr
    with pytest.raises(ProbeUsageError, match="allow_unverified_credentials"):
        probe("127.0.0.1:1", user="u", password="p", full_logon=True, allow_unverified_credentials="yes")
    with pytest.raises(ProbeUsageError, match="never sends credentials"):
        list(probe_many(["127.0.0.1:1"], allow_unverified_credentials=True))
