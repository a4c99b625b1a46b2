"""Smoke tests of the interop harness against the real implementations.

The expected bytes are what xrdp 0.9.21.1 and FreeRDP 2.11.7 answered on
loopback when these tests were written (see the notes on real servers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop import harness
from tests.pcap import write_pcap

pytestmark = pytest.mark.interop

REQUESTS = (None, 0, 1, 3, 11)

# xrdp always answers with src-ref 0x1234 and RDP_NEG_RSP flags 0x01.
XRDP_BARE_CC = "0300000b06d00000123400"
XRDP_SEL_RDP = "030000130ed000001234000201080000000000"
XRDP_SEL_SSL = "030000130ed000001234000201080001000000"
XRDP_FAIL_SSL_REQUIRED = "030000130ed000001234000300080001000000"
XRDP_FAIL_NO_CERT = "030000130ed000001234000300080003000000"

XRDP_EXPECTED = {
    "rdp": dict.fromkeys(REQUESTS, XRDP_SEL_RDP) | {None: XRDP_BARE_CC},
    "tls": {None: XRDP_BARE_CC, 0: XRDP_FAIL_SSL_REQUIRED, 1: XRDP_SEL_SSL, 3: XRDP_SEL_SSL,
            11: XRDP_SEL_SSL},
    "tls-nocert": dict.fromkeys(REQUESTS, XRDP_FAIL_NO_CERT) | {None: XRDP_BARE_CC},
    "negotiate": {None: XRDP_BARE_CC, 0: XRDP_SEL_RDP, 1: XRDP_SEL_SSL, 3: XRDP_SEL_SSL,
                  11: XRDP_SEL_SSL},
}

# FreeRDP servers answer with src-ref 0 and flags 0x03.
SHADOW_SEL_HYBRID = "030000130ed000000000000203080002000000"
SHADOW_FAIL_HYBRID_REQUIRED = "030000130ed000000000000300080005000000"

CR_SSL_HYBRID = bytes.fromhex("030000130ee000000000000100080003000000")
CC_SEL_RDP = bytes.fromhex(XRDP_SEL_RDP)
# A Connect-Initial whose callingDomainSelector claims 10 bytes but has 1.
MCS_TRUNCATED = bytes.fromhex("0300000d02f0807f6503040aff")


def _answers(host: str, port: int) -> dict[int | None, str]:
    return {req: harness.exchange_cr(host, port, req).hex() for req in REQUESTS}


@pytest.mark.parametrize("mode", sorted(XRDP_EXPECTED))
def test_xrdp_connection_confirm(mode: str, tmp_path: Path) -> None:
    # A certificate path that does not exist gives xrdp's "no certificate" answers.
    missing = tmp_path / "missing.pem" if mode == "tls-nocert" else None
    with harness.xrdp_server(mode.split("-")[0], cert=missing, key=missing) as server:
        assert _answers(server.host, server.port) == XRDP_EXPECTED[mode]
        assert server.running()
    assert not harness.is_running(server.pid)


def test_xrdp_ipv6_loopback() -> None:
    with harness.xrdp_server("negotiate", host="::1") as server:
        assert harness.exchange_cr("::1", server.port, 1).hex() == XRDP_SEL_SSL


def test_shadow_nla_negotiation(shadow_nla: harness.Daemon) -> None:
    answers = {req: harness.exchange_cr(shadow_nla.host, shadow_nla.port, req).hex()
               for req in (None, 0, 3, 11)}
    assert answers == {None: SHADOW_FAIL_HYBRID_REQUIRED, 0: SHADOW_FAIL_HYBRID_REQUIRED,
                       3: SHADOW_SEL_HYBRID, 11: SHADOW_SEL_HYBRID}


def test_xfreerdp_auth_only_right_password(shadow_nla: harness.Daemon, x_display: str) -> None:
    result = harness.run_xfreerdp(shadow_nla.host, shadow_nla.port, "alice", "Passw0rd!",
                                  extra=["+auth-only"], display=x_display)
    assert result.rc == 0, result.output[-3000:]
    assert "CONNECTION_STATE_NLA" in result.states


def test_xfreerdp_auth_only_wrong_password(shadow_nla: harness.Daemon, x_display: str) -> None:
    result = harness.run_xfreerdp(shadow_nla.host, shadow_nla.port, "alice", "wrong",
                                  extra=["+auth-only"], display=x_display)
    # The shadow server closes the connection without a TSRequest errorCode.
    assert result.rc != 0
    assert "ERRCONNECT_CONNECT_TRANSPORT_FAILED" in result.errconnect
    assert not result.active


def test_rdesktop_connects_to_xrdp(x_display: str) -> None:
    with harness.xrdp_server("negotiate") as server:
        rc, output, connected = harness.run_rdesktop(server.host, server.port, timeout=4,
                                                     display=x_display)
    assert connected, (rc, output[-2000:])


def test_tshark_capture_of_real_negotiation(tmp_path: Path) -> None:
    with harness.xrdp_server("rdp") as server:
        with harness.tshark_capture(server.port, tmp_path / "cap.pcapng") as pcap:
            assert harness.exchange_cr(server.host, server.port, 3).hex() == XRDP_SEL_RDP
    rows = harness.tshark_fields(pcap, server.port, ["rdp.negReq.requestedProtocols",
                                                     "rdp.negReq.selectedProtocol"])
    assert [(r["rdp.negReq.requestedProtocols"], r["rdp.negReq.selectedProtocol"])
            for r in rows] == [("0x00000003", ""), ("", "0x00000000")]
    assert harness.tshark_lint(pcap, server.port) == []


def test_tshark_lint_clean_written_pcap(tmp_path: Path) -> None:
    pcap = write_pcap(tmp_path / "ok.pcap", [("c2s", CR_SSL_HYBRID), ("s2c", CC_SEL_RDP)],
                      server_port=13389)
    assert harness.tshark_lint(pcap, 13389, strict=True) == []
    rows = harness.tshark_fields(pcap, 13389, ["rdp.negReq.requestedProtocols",
                                               "rdp.negReq.selectedProtocol"])
    assert rows == [
        {"frame.number": "4", "rdp.negReq.requestedProtocols": "0x00000003",
         "rdp.negReq.selectedProtocol": ""},
        {"frame.number": "5", "rdp.negReq.requestedProtocols": "",
         "rdp.negReq.selectedProtocol": "0x00000000"},
    ]


def test_tshark_lint_flags_malformed_mcs(tmp_path: Path) -> None:
    pcap = write_pcap(tmp_path / "bad.pcap",
                      [("c2s", CR_SSL_HYBRID), ("s2c", CC_SEL_RDP), ("c2s", MCS_TRUNCATED)],
                      server_port=13389)
    problems = harness.tshark_lint(pcap, 13389)
    assert problems and problems[0].startswith("frame 6: Malformed Packet")


def test_tshark_lint_flags_pdu_incomplete_at_end(tmp_path: Path) -> None:
    pcap = write_pcap(tmp_path / "short.pcap", [("c2s", CR_SSL_HYBRID[:-2])], server_port=13389)
    assert harness.tshark_lint(pcap, 13389) == ["frame 4: tcp payload never dissected"]


def test_written_pcap_splits_large_payloads(tmp_path: Path) -> None:
    big = bytes([3, 0, 0x10, 0x04]) + bytes.fromhex("02f080") + bytes(4093)
    pcap = write_pcap(tmp_path / "big.pcap",
                      [("c2s", CR_SSL_HYBRID), ("s2c", CC_SEL_RDP), ("c2s", big)],
                      server_port=13389)
    rows = harness.tshark_fields(pcap, 13389, ["tcp.len"], all_frames=True)
    assert [r["tcp.len"] for r in rows] == ["0", "0", "0", "19", "19", "1460", "1460", "1180",
                                            "0", "0", "0"]
    assert harness.tshark_lint(pcap, 13389) == []
