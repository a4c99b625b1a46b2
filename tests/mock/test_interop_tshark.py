"""tshark dissects captures of full mock sessions: no malformed packet, no warning.

Each test captures one mock session on loopback (``tshark_capture``) driven by rdpprobe or
by xfreerdp (which goes on to CONNECTION_STATE_ACTIVE), then lints it with
``tshark_lint(strict=True)`` and reads fields back with ``tshark_fields``:

* Standard RDP Security with encryption level NONE (a variant of the
  ``windows-rdp-security`` personality): MCS, GCC and every RDP PDU in the clear;
* ``windows-rdp-security`` (RC4): MCS and GCC in the clear, encrypted RDP payloads;
* ``windows-tls`` and ``windows-nla`` with the mock's TLS key log (``keylog_path``), so
  tshark decrypts TLS and dissects CredSSP/NTLMSSP and T.125 inside it.

Two findings are not about the mock and are filtered or expected, never anything else:
* tshark 4.0 reads TS_EXTENDED_INFO_PACKET up to ``reserved2`` unconditionally, so a
  client's Client Info PDU that ends earlier (xfreerdp's and rdpprobe's both do, as the
  specification allows) is "Malformed Packet" when tshark can read it (clear or TLS);
* a TCP segment loopback retransmits is left undissected ("never dissected"), because
  tshark dissected its payload in the original.
xfreerdp runs with ``-fast-path`` under RC4: tshark cannot decrypt RC4 and would read
encrypted fast-path input events as clear ones.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rdpprobe
from rdpprobe.mock import PERSONALITIES, MockRdpServer, Scenario, ServerPhase
from tests.interop import harness

pytestmark = pytest.mark.interop

USER, PASSWORD = "alice", "Passw0rd!"
SESSION_TIMEOUT = 15.0
SETTLE = 0.5  # let the first active-state PDUs reach the capture
MALFORMED = "Malformed Packet (Exception occurred)"
ACTIVE_LINE = "--> CONNECTION_STATE_ACTIVE"

# [MS-RDPBCGR] 2.2.8.1.1.1.1 pduType (with version bits) and 2.2.8.1.1.1.2 pduType2.
DEMAND_ACTIVE = "0x0011"
SYNCHRONIZE, CONTROL, FONTMAP = "31", "20", "40"
NTLM_NEGOTIATE, NTLM_CHALLENGE, NTLM_AUTHENTICATE = "0x00000001", "0x00000002", "0x00000003"
LICENSE_ERROR_ALERT = "0xff"  # [MS-RDPELE] 2.2.2.7.1 bMsgType of the "valid client" message

#: Standard RDP Security without encryption (encryptionLevel NONE): everything in the clear.
CLEAR_RDP = Scenario(
    "rdp-security-clear",
    dataclasses.replace(PERSONALITIES["windows-rdp-security"], name="rdp-security-clear",
                        encryption_method=0, encryption_level=0),
    description="Standard RDP Security, ENCRYPTION_LEVEL_NONE / ENCRYPTION_METHOD_NONE",
    taxonomy=("OK",))

SERVER_FIELDS = ["tcp.srcport", "t125.connect_initial_element", "t125.connect_response_element",
                 "t124.DomainMCSPDU", "rdp.clientInfoPDU", "rdp.bMsgType", "rdp.pduType",
                 "rdp.pduType2", "rdp.encryptedData", "rdp.encryptionLevel", "rdp.serverRandom",
                 "rdp.serverCertificate", "credssp.version", "ntlmssp.messagetype",
                 "ntlmssp.auth.username", "credssp.pubKeyAuth"]


@dataclasses.dataclass
class Capture:
    pcap: Path
    port: int
    keylog: Path | None
    records: list[object]
    client: str

    def lint(self) -> list[str]:
        """``tshark_lint(strict=True)``, less findings on TCP retransmissions."""
        retransmitted = {row["frame.number"] for row in harness.tshark_fields(
            self.pcap, self.port, ["tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
                                   "tcp.analysis.spurious_retransmission"], keylog=self.keylog)}
        return [problem for problem in harness.tshark_lint(self.pcap, self.port, keylog=self.keylog,
                                                           strict=True)
                if problem.split(":")[0].removeprefix("frame ") not in retransmitted]

    def rows(self) -> list[dict[str, str]]:
        return harness.tshark_fields(self.pcap, self.port, SERVER_FIELDS, keylog=self.keylog)

    def client_info_findings(self) -> list[str]:
        return [f"frame {row['frame.number']}: {MALFORMED}" for row in self.rows()
                if row["rdp.clientInfoPDU"]]


def column(rows: list[dict[str, str]], name: str, server: int | None = None) -> list[str]:
    """Non-empty values of ``name``, optionally only in frames sent from port ``server``."""
    return [row[name] for row in rows
            if row[name] and (server is None or row["tcp.srcport"] == str(server))]


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    harness.require("tshark")
    with harness.xvfb() as disp:
        yield disp


def xfreerdp_session(display: str, port: int, home: Path, *extra: str) -> str:
    """xfreerdp until CONNECTION_STATE_ACTIVE (or the timeout), then stopped; its log."""
    harness.require("xfreerdp")
    log = home / "xfreerdp.log"
    argv = ["stdbuf", "-oL", "-eL", "xfreerdp", f"/v:127.0.0.1:{port}", f"/u:{USER}",
            f"/p:{PASSWORD}", "/cert:ignore", "/log-level:DEBUG", *extra]
    env = dict(os.environ, DISPLAY=display, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + SESSION_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                if ACTIVE_LINE in log.read_text(errors="replace"):
                    time.sleep(SETTLE)
                    break
                time.sleep(harness.POLL_INTERVAL)
        finally:
            harness.stop_process(proc)
    return log.read_text(errors="replace")


def capture(scenario: Scenario | str, client: str, tmp_path: Path, display: str,
            keylog: bool = False, xf_args: tuple[str, ...] = ()) -> Capture:
    keylog_path = tmp_path / "tls-keys.log" if keylog else None
    with MockRdpServer(scenario, user=USER, password=PASSWORD, keylog_path=keylog_path) as server:
        port = server.address[1]
        with harness.tshark_capture(port, tmp_path / "session.pcapng") as pcap:
            if client == "xfreerdp":
                home = tmp_path / "home"
                home.mkdir()
                log = xfreerdp_session(display, port, home, *xf_args)
                assert ACTIVE_LINE in log, log[-3000:]
            else:
                rdpprobe.probe(f"127.0.0.1:{port}", timeout=3, deadline=8, user=USER,
                               password=PASSWORD)
    if keylog_path is not None:
        assert keylog_path.exists() and keylog_path.stat().st_size > 0
    return Capture(pcap, port, keylog_path, list(server.records), client)


# ---------------------------------------------------------------------------
# Standard RDP Security: MCS, GCC (and RDP, without encryption) in the clear
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["rdpprobe", "xfreerdp"])
def test_clear_standard_security_session_dissects_cleanly(display: str, tmp_path: Path,
                                                          client: str) -> None:
    cap = capture(CLEAR_RDP, client, tmp_path, display, xf_args=("/sec:rdp",))
    assert cap.lint() == cap.client_info_findings()
    rows = cap.rows()
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element")) == 1
    assert column(rows, "rdp.encryptionLevel", cap.port) == ["0x00000000"]
    assert not column(rows, "rdp.encryptedData")
    assert len(column(rows, "rdp.clientInfoPDU")) == 1
    assert column(rows, "rdp.bMsgType", cap.port) == [LICENSE_ERROR_ALERT]
    assert column(rows, "rdp.pduType", cap.port)[0] == DEMAND_ACTIVE
    if client == "xfreerdp":
        # The server's finalization: Synchronize, Cooperate, Granted Control, Font Map.
        assert column(rows, "rdp.pduType2", cap.port) == [SYNCHRONIZE, CONTROL, CONTROL, FONTMAP]
        assert cap.records[-1].phase_reached is ServerPhase.ACTIVE  # type: ignore[attr-defined]


@pytest.mark.parametrize("client", ["rdpprobe", "xfreerdp"])
def test_rc4_standard_security_session_dissects_cleanly(display: str, tmp_path: Path,
                                                        client: str) -> None:
    cap = capture("windows-rdp-security", client, tmp_path, display,
                  xf_args=("/sec:rdp", "-fast-path"))
    assert cap.lint() == []  # the Client Info PDU is encrypted: tshark does not parse it
    rows = cap.rows()
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element")) == 1
    assert column(rows, "rdp.encryptionLevel", cap.port) == ["0x00000002"]  # client compatible
    assert len(column(rows, "rdp.serverRandom", cap.port)) == 1
    assert len(column(rows, "rdp.serverCertificate", cap.port)) == 1
    assert len(column(rows, "rdp.clientInfoPDU")) == 1
    assert len(column(rows, "rdp.encryptedData", cap.port)) >= 2  # licensing, Demand Active
    if client == "xfreerdp":
        assert cap.records[-1].phase_reached is ServerPhase.ACTIVE  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# TLS and NLA, decrypted with the mock's key log
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["rdpprobe", "xfreerdp"])
def test_tls_session_decrypts_and_dissects_cleanly(display: str, tmp_path: Path, client: str) -> None:
    cap = capture("windows-tls", client, tmp_path, display, keylog=True)
    assert cap.lint() == cap.client_info_findings()
    rows = cap.rows()
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element", cap.port)) == 1
    assert column(rows, "t124.DomainMCSPDU")[:3] == ["1", "10", "11"]  # Erect Domain, Attach User
    assert len(column(rows, "rdp.clientInfoPDU")) == 1
    assert column(rows, "rdp.pduType", cap.port)[0] == DEMAND_ACTIVE
    if client == "xfreerdp":
        assert column(rows, "rdp.pduType2", cap.port) == [SYNCHRONIZE, CONTROL, CONTROL, FONTMAP]


@pytest.mark.parametrize("client", ["rdpprobe", "xfreerdp"])
def test_nla_session_decrypts_and_dissects_cleanly(display: str, tmp_path: Path, client: str) -> None:
    cap = capture("windows-nla", client, tmp_path, display, keylog=True)
    assert cap.lint() == cap.client_info_findings()
    rows = cap.rows()
    assert column(rows, "ntlmssp.messagetype") == [NTLM_NEGOTIATE, NTLM_CHALLENGE, NTLM_AUTHENTICATE]
    assert column(rows, "ntlmssp.messagetype", cap.port) == [NTLM_CHALLENGE]
    assert set(column(rows, "credssp.version")) == {"6"}
    assert column(rows, "ntlmssp.auth.username") == [USER]
    assert len(column(rows, "credssp.pubKeyAuth", cap.port)) == 1
    if client == "xfreerdp":
        # After CredSSP, the whole MCS/RDP sequence inside TLS.
        assert len(column(rows, "t125.connect_initial_element")) == 1
        assert len(column(rows, "t125.connect_response_element", cap.port)) == 1
        assert len(column(rows, "rdp.clientInfoPDU")) == 1
        assert column(rows, "rdp.pduType2", cap.port) == [SYNCHRONIZE, CONTROL, CONTROL, FONTMAP]
        assert cap.records[-1].phase_reached is ServerPhase.ACTIVE  # type: ignore[attr-defined]
