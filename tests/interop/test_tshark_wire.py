"""tshark cross-checks the bytes rdpprobe puts on the wire, and the server side the mock needs.

Two independent readings of the same bytes: rdpprobe's codecs wrote them, Wireshark's
dissectors (tshark 4.0) read them back. A PDU that both sides of rdpprobe agree on but
that tshark calls malformed, or decodes to other values, is a shared mistake.

* Written captures: the client side is what rdpprobe's sans-IO prober really sends (driven
  with the server frames below, no socket), the server side is built with the codecs in
  ``rdpprobe.wire``; ``tests/pcap.py`` turns the exchange into a TCP capture.
* Live captures: rdpprobe against xrdp (TLS) and the FreeRDP shadow server (CredSSP),
  with a TLS key log, so that tshark decrypts and dissects what runs inside TLS.

Known limit of the dissector, proven below with the specification's own example: tshark
4.0 reads every optional field of TS_EXTENDED_INFO_PACKET up to ``reserved2``
unconditionally, so any Client Info PDU that ends earlier (the [MS-RDPBCGR] 4.1.10
example ends after ``cbAutoReconnectLen``; rdpprobe's ends after ``clientDir``, as the
specification allows) is reported as "Malformed Packet". Where a check meets a Client
Info PDU, that one complaint is expected and nothing else is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

import rdpprobe
from rdpprobe.result import ProbeResult, Target
from rdpprobe.sequence import activation, settings
from rdpprobe.sequence.actions import SendBytes, StartTls
from rdpprobe.sequence.config import ProbeConfig
from rdpprobe.sequence.phases import Phase
from rdpprobe.sequence.prober import Prober
from rdpprobe.signals import Signal
from rdpprobe.wire import (
    basic_settings,
    gcc_blocks,
    info,
    licensing,
    mcs,
    nego,
    security,
    share,
)
from tests.interop import harness
from tests.pcap import write_pcap
from tests.vectors import vector

pytestmark = pytest.mark.interop

PORT = 13389  # Port of the written captures (any value: decode-as names it).
USER_CHANNEL = 1007  # [MS-RDPBCGR] 4.1.7: the user channel id the server assigns.
IO_CHANNEL = 1003  # [MS-RDPBCGR] 4.1.4: MCSChannelId.
SERVER_USER_ID = 1002  # [MS-RDPBCGR] 4.1.11: initiator of the server's PDUs.
SHARE_ID = 0x000103EA  # [MS-RDPBCGR] 4.1.12: shareId.
RDP_VERSION_5_PLUS = 0x00080004  # [MS-RDPBCGR] 2.2.1.4.2: version of the 4.1.4 example.
NEG_RSP_EXTENDED_CLIENT_DATA = 0x01  # [MS-RDPBCGR] 2.2.1.2.1 flags, as xrdp sends them.
ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES = 0x00000009  # [MS-RDPBCGR] 2.2.5.1.1.
CORRELATION_ID = bytes(range(1, 17))  # [MS-RDPBCGR] 2.2.1.1.2: any value but 0x00/0xF4 bytes.
MALFORMED = "Malformed Packet (Exception occurred)"
X224_DATA = 0xF0  # X.224 DT TPDU code, at offset 5 of a TPKT frame.

# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


def _frames(chunks: Iterable[tuple[str, bytes]]) -> dict[str, int]:
    """Frame numbers of the chunks in a ``write_pcap`` capture (one segment each, after the
    three-way handshake), keyed ``c2s:N``/``s2c:N`` by position; used to name the frame a
    problem is expected at."""
    return {f"{direction}:{i}": 4 + i for i, (direction, _) in enumerate(chunks)}


def _send_indication(data: bytes) -> bytes:
    """A server slow-path PDU on the I/O channel: TPKT + X.224 DT + MCS Send Data Indication."""
    return mcs.encode_mcs_frame(mcs.SendDataIndication(SERVER_USER_ID, IO_CHANNEL, data))


def _basic_secured(flags: int, payload: bytes) -> bytes:
    """A Basic Security Header (no encryption, [MS-RDPBCGR] 2.2.8.1.1.2.1) + ``payload``."""
    return security.encode_secured_pdu(security.SecuredPdu(security.BasicSecurityHeader(flags, 0), payload))


def server_connect_response(requested: int, selected_security: gcc_blocks.ServerSecurityData) -> bytes:
    """Connect Response with server core (echoing ``requested``), security and network data."""
    blocks: list[gcc_blocks.ServerBlock] = [
        gcc_blocks.ServerCoreData(RDP_VERSION_5_PLUS, requested, 0),
        selected_security,
        gcc_blocks.ServerNetworkData(IO_CHANNEL, ()),
    ]
    return basic_settings.encode_connect_response_frame(blocks)


def server_channel_frames() -> list[bytes]:
    """Attach User Confirm, then Channel Join Confirms for the user and the I/O channel."""
    return [
        mcs.encode_mcs_frame(mcs.AttachUserConfirm(0, USER_CHANNEL)),
        mcs.encode_mcs_frame(mcs.ChannelJoinConfirm(0, USER_CHANNEL, USER_CHANNEL, USER_CHANNEL)),
        mcs.encode_mcs_frame(mcs.ChannelJoinConfirm(0, USER_CHANNEL, IO_CHANNEL, IO_CHANNEL)),
    ]


def license_valid_client() -> bytes:
    """[MS-RDPBCGR] 2.2.1.12: License Error PDU - Valid Client, unencrypted."""
    body = licensing.encode_license_pdu(licensing.valid_client_message())
    return _send_indication(_basic_secured(security.SEC_LICENSE_PKT, body))


def demand_active() -> bytes:
    """The 4.1.12 example's TS_DEMAND_ACTIVE_PDU, decoded and re-encoded."""
    pdu = share.decode_share_pdu(vector("rdp_demand_active_4_1_12"))
    assert share.encode_share_pdu(pdu) == vector("rdp_demand_active_4_1_12")
    return _send_indication(share.encode_share_pdu(pdu))


def set_error_info(code: int) -> bytes:
    return _send_indication(share.encode_share_pdu(share.SetErrorInfo(code, SHARE_ID, SERVER_USER_ID)))


def ultimatum(reason: int) -> bytes:
    return mcs.encode_mcs_frame(mcs.DisconnectProviderUltimatum(reason))


def drive_prober(config: ProbeConfig, server_frames: list[bytes]) -> tuple[list[tuple[str, bytes]], ProbeResult | None]:
    """Feed ``server_frames`` one by one to rdpprobe's prober; return the exchange and the result.

    The client side of the returned chunks is exactly what a probe would have written to
    its socket (the random source is all zeros, so the capture is reproducible).
    """
    prober = Prober(Target("127.0.0.1", PORT, "127.0.0.1"), config, now=0.0,
                    started_at=datetime.now(timezone.utc), rng=bytes)
    chunks: list[tuple[str, bytes]] = []

    def drain() -> None:
        while (action := prober.next_action()) is not None:
            assert not isinstance(action, StartTls), "a written capture must stay in the clear"
            if isinstance(action, SendBytes):
                chunks.append(("c2s", action.data))

    prober.connection_made(0.0)
    drain()
    for frame in server_frames:
        if prober.finished:
            break
        chunks.append(("s2c", frame))
        prober.receive_data(frame, 0.1)
        drain()
    return chunks, prober.result if prober.finished else None


def probe_client_info() -> info.ClientInfo:
    """The Client Info PDU a probe without credentials sends (``activation._client_info``)."""
    return activation._client_info(SimpleNamespace(config=ProbeConfig()))  # type: ignore[arg-type]


def fields(pcap: Path, names: list[str], keylog: Path | None = None, port: int = PORT) -> list[dict[str, str]]:
    return harness.tshark_fields(pcap, port, names, keylog=keylog)


def column(rows: list[dict[str, str]], name: str) -> list[str]:
    return [row[name] for row in rows if row[name]]


# ---------------------------------------------------------------------------
# Connection Request / Confirm variants
# ---------------------------------------------------------------------------

NEG_FIELDS = ["rdp.rt_cookie", "rdp.negReq.requestedProtocols", "rdp.negReq.flags",
              "rdp.correlationInfo.correlationId", "rdp.negReq.selectedProtocol",
              "rdp.negRsp.flags", "rdp.negFailure.failureCode", "cotp.type"]

NEGOTIATIONS = {
    # name: (Connection Request, Connection Confirm, expected decoded values)
    "cookie-negreq-rsp": (
        nego.ConnectionRequest(cookie=b"probe", neg_req=nego.NegReq(0x0B)),
        nego.ConnectionConfirm(nego.NegRsp(1, 0x03)),
        {"rdp.rt_cookie": "Cookie: mstshash=probe", "rdp.negReq.requestedProtocols": "0x0000000b",
         "rdp.negReq.selectedProtocol": "0x00000001", "rdp.negRsp.flags": "0x03",
         "cotp.type": "0x0e,0x0d"},
    ),
    "correlation-failure": (
        nego.ConnectionRequest(cookie=b"probe",
                               neg_req=nego.NegReq(0x01, int(nego.NegReqFlags.CORRELATION_INFO_PRESENT)),
                               correlation=nego.CorrelationInfo(CORRELATION_ID)),
        nego.ConnectionConfirm(nego.NegFailure(int(nego.FailureCode.HYBRID_REQUIRED_BY_SERVER))),
        # tshark shows RDP_NEG_FAILURE's flags under the same field name as RDP_NEG_REQ's.
        {"rdp.negReq.requestedProtocols": "0x00000001", "rdp.negReq.flags": "0x08,0x00",
         "rdp.correlationInfo.correlationId": CORRELATION_ID.hex(),
         "rdp.negFailure.failureCode": "0x00000005"},
    ),
    "cert-not-on-server": (
        nego.ConnectionRequest(neg_req=nego.NegReq(0x03)),
        nego.ConnectionConfirm(nego.NegFailure(int(nego.FailureCode.SSL_CERT_NOT_ON_SERVER))),
        {"rdp.negReq.requestedProtocols": "0x00000003", "rdp.negFailure.failureCode": "0x00000003"},
    ),
    "legacy": (
        nego.ConnectionRequest(cookie=b"probe"),
        nego.ConnectionConfirm(None),
        # TPKT + 7-byte CR and 11-byte CC: no RDP_NEG data at all.
        {"rdp.rt_cookie": "Cookie: mstshash=probe", "cotp.type": "0x0e,0x0d",
         "rdp.negReq.requestedProtocols": "", "rdp.negReq.selectedProtocol": ""},
    ),
}


@pytest.mark.parametrize("name", sorted(NEGOTIATIONS))
def test_negotiation_pdus(name: str, tmp_path: Path) -> None:
    request, confirm, expected = NEGOTIATIONS[name]
    cr, cc = nego.encode_connection_request(request), nego.encode_connection_confirm(confirm)
    assert nego.decode_connection_request(cr) == request
    assert nego.decode_connection_confirm(cc) == confirm
    pcap = write_pcap(tmp_path / f"{name}.pcap", [("c2s", cr), ("s2c", cc)], server_port=PORT)
    assert harness.tshark_lint(pcap, PORT, strict=True) == []
    rows = fields(pcap, NEG_FIELDS)
    decoded = {key: ",".join(column(rows, key)).lower() for key in expected}
    # cotp.type is the TPDU code's high nibble: 0xe Connection Request, 0xd Confirm.
    assert decoded == {key: value.lower() for key, value in expected.items()}


def test_probe_connection_request_is_what_tshark_reads(tmp_path: Path) -> None:
    """The CR a probe sends by default: cookie ``probe``, SSL|HYBRID|HYBRID_EX (0x0B)."""
    chunks, _ = drive_prober(ProbeConfig(), [])
    assert [direction for direction, _ in chunks] == ["c2s"]
    pcap = write_pcap(tmp_path / "cr.pcap", chunks, server_port=PORT)
    assert harness.tshark_lint(pcap, PORT, strict=True) == []
    rows = fields(pcap, ["rdp.rt_cookie", "rdp.negReq.requestedProtocols",
                         "rdp.negReq.requestedProtocols.hybrid_ex"])
    assert rows == [{"frame.number": "4", "rdp.rt_cookie": "Cookie: mstshash=probe",
                     "rdp.negReq.requestedProtocols": "0x0000000b",
                     "rdp.negReq.requestedProtocols.hybrid_ex": "1"}]


# ---------------------------------------------------------------------------
# A whole connection in the clear: Standard RDP Security, encryption level NONE
# ---------------------------------------------------------------------------

SEQUENCE_FIELDS = [
    "rdp.negReq.requestedProtocols", "rdp.negReq.selectedProtocol",
    "t125.connect_initial_element", "t125.connect_response_element", "t125.result",
    "rdp.client.name", "rdp.serverSelectedProtocol", "rdp.encryptionMethods",
    "rdp.client.requestedProtocols", "rdp.encryptionMethod", "rdp.encryptionLevel",
    "rdp.MCSChannelId", "t124.DomainMCSPDU", "t124.initiator", "t124.channelId",
    "rdp.clientInfoPDU", "rdp.bMsgType", "rdp.errorCode", "rdp.stateTransition",
    "rdp.pduType", "rdp.shareId", "rdp.numberCapabilities", "rdp.pduType2",
]


def clear_sequence() -> tuple[list[tuple[str, bytes]], ProbeResult | None]:
    """rdpprobe against a server that selects PROTOCOL_RDP with encryption level NONE (as
    xrdp ``crypt_level=none`` and the shadow server on loopback do), up to Demand Active,
    followed by the server's teardown: Set Error Info and Disconnect Provider Ultimatum."""
    server = [
        nego.encode_connection_confirm(nego.ConnectionConfirm(nego.NegRsp(0, NEG_RSP_EXTENDED_CLIENT_DATA))),
        server_connect_response(ProbeConfig().requested_protocols, gcc_blocks.ServerSecurityData(0, 0)),
        *server_channel_frames(),
        license_valid_client(),
        demand_active(),
    ]
    chunks, result = drive_prober(ProbeConfig(), server)
    chunks += [("s2c", set_error_info(ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES)),
               ("s2c", ultimatum(mcs.DisconnectReason.RN_PROVIDER_INITIATED))]
    return chunks, result


@pytest.fixture(scope="module")
def clear_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, bytes]], ProbeResult | None]:
    chunks, result = clear_sequence()
    pcap = write_pcap(tmp_path_factory.mktemp("clear") / "clear.pcap", chunks, server_port=PORT)
    return pcap, chunks, result


def test_clear_sequence_probe_reaches_demand_active(clear_capture) -> None:  # type: ignore[no-untyped-def]
    _, chunks, result = clear_capture
    assert result is not None
    assert (result.phase_reached, result.signal) == (Phase.CAPABILITIES_EXCHANGE, Signal.OK)
    # CR, Connect Initial, Erect Domain, Attach User, two joins, Client Info.
    assert sum(direction == "c2s" for direction, _ in chunks) == 7


def test_clear_sequence_lints_clean_but_for_client_info(clear_capture) -> None:  # type: ignore[no-untyped-def]
    pcap, chunks, _ = clear_capture
    client_info_frame = _frames(chunks)[f"c2s:{_index_of_client_info(chunks)}"]
    # The only complaint is the dissector's (see the module docstring); it is the same
    # complaint the 4.1.10 example gets (test_client_info_dissector_limit).
    assert harness.tshark_lint(pcap, PORT, strict=True) == [f"frame {client_info_frame}: {MALFORMED}"]


def test_clear_sequence_decoded_fields(clear_capture) -> None:  # type: ignore[no-untyped-def]
    pcap, _, _ = clear_capture
    rows = fields(pcap, SEQUENCE_FIELDS)
    assert column(rows, "rdp.negReq.requestedProtocols") == ["0x0000000b"]
    assert column(rows, "rdp.negReq.selectedProtocol") == ["0x00000000"]
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element")) == 1
    assert column(rows, "t125.result") == ["0"]  # rt-successful
    assert column(rows, "rdp.client.name") == ["rdpprobe"]
    # Client core data echoes the selected protocol; the server echoes what was requested.
    assert [int(v, 0) for v in column(rows, "rdp.serverSelectedProtocol")] == [0]
    assert column(rows, "rdp.client.requestedProtocols") == ["0x0000000b"]
    # 40-bit, 128-bit, 56-bit and FIPS offered ([MS-RDPBCGR] 2.2.1.3.3).
    # (tshark shows this field as its raw little-endian bytes.)
    methods = [int.from_bytes(bytes.fromhex(v), "little") for v in column(rows, "rdp.encryptionMethods")]
    assert methods == [settings.OFFERED_ENCRYPTION_METHODS]
    assert [int(v, 0) for v in column(rows, "rdp.encryptionMethod")] == [0]
    assert [int(v, 0) for v in column(rows, "rdp.encryptionLevel")] == [0]
    assert column(rows, "rdp.MCSChannelId") == [str(IO_CHANNEL)]
    # Erect Domain (1), Attach User Request (10) / Confirm (11), Channel Join Request (14) /
    # Confirm (15) twice, Send Data Request (25) / Indication (26), Ultimatum (8).
    assert column(rows, "t124.DomainMCSPDU") == ["1", "10", "11", "14", "15", "14", "15", "25", "26",
                                                 "26", "26", "8"]
    assert column(rows, "t124.channelId") == [str(USER_CHANNEL)] * 2 + [str(IO_CHANNEL)] * 6
    assert len(column(rows, "rdp.clientInfoPDU")) == 1
    assert column(rows, "rdp.bMsgType") == ["0xff"]  # ERROR_ALERT: License Error PDU
    assert [int(v, 0) for v in column(rows, "rdp.errorCode")] == [licensing.STATUS_VALID_CLIENT]
    assert [int(v, 0) for v in column(rows, "rdp.stateTransition")] == [licensing.ST_NO_TRANSITION]
    assert [int(v, 0) for v in column(rows, "rdp.shareId")] == [SHARE_ID, SHARE_ID]
    assert column(rows, "rdp.numberCapabilities") != []
    # tshark names the Set Error Info PDU but does not dissect its errorInfo field.
    assert [int(v, 0) for v in column(rows, "rdp.pduType2")] == [share.PduType2.PDUTYPE2_SET_ERROR_INFO_PDU]


def _index_of_client_info(chunks: list[tuple[str, bytes]]) -> int:
    """The first Send Data Request of the exchange: the Client Info PDU."""
    for i, (direction, data) in enumerate(chunks):
        if direction == "c2s" and data[5] == X224_DATA and isinstance(mcs.decode_mcs_frame(data), mcs.SendDataRequest):
            return i
    raise AssertionError("no client info pdu in the exchange")


def _client_info_capture(tmp_path: Path, client_info: info.ClientInfo) -> tuple[Path, int]:
    """The clear sequence up to the channel joins, then ``client_info``; (pcap, its frame)."""
    chunks, _ = clear_sequence()
    prefix = chunks[:_index_of_client_info(chunks)]
    frame = mcs.encode_mcs_frame(mcs.SendDataRequest(
        USER_CHANNEL, IO_CHANNEL, _basic_secured(security.SEC_INFO_PKT, info.encode_client_info(client_info))))
    pcap = write_pcap(tmp_path / "ci.pcap", [*prefix, ("c2s", frame)], server_port=PORT)
    return pcap, 4 + len(prefix)


def test_client_info_dissector_limit(tmp_path: Path) -> None:
    """The [MS-RDPBCGR] 4.1.10 TS_INFO_PACKET is malformed to tshark 4.0; with ``reserved1``
    and ``reserved2`` added it is clean. rdpprobe's own Client Info gets the same single
    complaint, so the complaint says nothing against rdpprobe."""
    spec = info.decode_client_info(vector("rdp_ts_info_packet_4_1_10"))
    assert info.encode_client_info(spec) == vector("rdp_ts_info_packet_4_1_10")
    pcap, frame = _client_info_capture(tmp_path, spec)
    assert harness.tshark_lint(pcap, PORT) == [f"frame {frame}: {MALFORMED}"]

    assert spec.extended is not None
    padded = dataclasses.replace(spec, extended=dataclasses.replace(spec.extended, reserved1=0, reserved2=0))
    pcap, _ = _client_info_capture(tmp_path, padded)
    assert harness.tshark_lint(pcap, PORT, strict=True) == []
    rows = fields(pcap, ["rdp.domain", "rdp.userName", "rdp.client.dir"])
    assert column(rows, "rdp.userName") == ["eltons"] and column(rows, "rdp.domain") == ["NTDEV"]

    pcap, frame = _client_info_capture(tmp_path, probe_client_info())
    assert harness.tshark_lint(pcap, PORT) == [f"frame {frame}: {MALFORMED}"]
    rows = fields(pcap, ["rdp.client.dir", "rdp.client.address"])
    assert column(rows, "rdp.client.dir") == ["C:\\Windows\\System32\\mstscax.dll"]


# ---------------------------------------------------------------------------
# Standard RDP Security with encryption: the Security Exchange PDU
# ---------------------------------------------------------------------------


def test_security_exchange_sequence(tmp_path: Path) -> None:
    """rdpprobe against the 4.1.x example server: 4.1.2 CC, 4.1.4 Connect Response (server
    random and proprietary certificate), 4.1.7 Attach User Confirm, 4.1.8 Join Confirms,
    each decoded with rdpprobe's codecs and re-encoded. The probe answers with its Security
    Exchange PDU and an encrypted Client Info PDU."""
    cc = nego.decode_connection_confirm(vector("x224_connection_confirm"))
    rsp, gcc_rsp, blocks = basic_settings.decode_connect_response(vector("mcs_connect_response"))
    assert gcc_rsp is not None and rsp.domain_parameters is not None
    connect_response = basic_settings.encode_connect_response_frame(
        blocks, result=rsp.result, domain_parameters=rsp.domain_parameters, node_id=gcc_rsp.node_id,
        gcc_connect_pdu_length=gcc_rsp.connect_pdu_length)
    assert connect_response == vector("mcs_connect_response")
    confirms = [mcs.encode_mcs_frame(mcs.decode_mcs_frame(vector(name))) for name in (
        "mcs_attach_user_confirm", "mcs_channel_join_confirm_1007", "mcs_channel_join_confirm_1003")]
    server = [nego.encode_connection_confirm(cc), connect_response, *confirms]
    config = ProbeConfig(requested_protocols=0, cookie="eltons")  # As the 4.1.1 client.
    chunks, result = drive_prober(config, server)
    assert result is None  # Waiting for licensing: the exchange went through.
    pcap = write_pcap(tmp_path / "secx.pcap", chunks, server_port=PORT)
    assert harness.tshark_lint(pcap, PORT, strict=True) == []
    rows = fields(pcap, ["rdp.rt_cookie", "rdp.encryptionMethod", "rdp.encryptionLevel",
                         "rdp.serverRandom", "rdp.serverCertLen", "rdp.securityExchangePDU",
                         "rdp.encryptedClientRandom", "rdp.flags.encrypt", "rdp.encryptedData"])
    assert column(rows, "rdp.rt_cookie") == ["Cookie: mstshash=eltons"]
    assert column(rows, "rdp.encryptionMethod") == ["0x00000002"]  # 128-bit
    assert [int(v, 0) for v in column(rows, "rdp.encryptionLevel")] == [2]  # client compatible
    assert column(rows, "rdp.serverRandom") == [vector("rdp_server_random_4_1_4").hex()]
    assert len(column(rows, "rdp.securityExchangePDU")) == 1
    # 512-bit server key: 64 bytes of encrypted random, plus 8 bytes of padding.
    encrypted_random = column(rows, "rdp.encryptedClientRandom")
    assert len(encrypted_random) == 1 and len(bytes.fromhex(encrypted_random[0])) == 72
    assert len(column(rows, "rdp.encryptedData")) == 1  # The Client Info, under RC4.


def test_specification_sequence_reencoded(tmp_path: Path) -> None:
    """The [MS-RDPBCGR] 4.1.1-4.1.12 example connection, every PDU decoded and re-encoded
    with rdpprobe's codecs (the encrypted ones down to the security header)."""

    def same(name: str, decode: Callable[[bytes], Any], encode: Callable[[Any], bytes]) -> bytes:
        data = vector(name)
        again = encode(decode(data))
        assert again == data, name
        return again

    def secured(name: str) -> bytes:
        pdu = mcs.decode_mcs_frame(vector(name))
        assert isinstance(pdu, (mcs.SendDataRequest, mcs.SendDataIndication))
        inner = security.encode_secured_pdu(security.decode_secured_pdu(pdu.data))
        again = mcs.encode_mcs_frame(dataclasses.replace(pdu, data=inner))
        assert again == vector(name), name
        return again

    ci, gcc_req, client = basic_settings.decode_connect_initial_frame(vector("mcs_connect_initial"))
    connect_initial = basic_settings.encode_connect_initial_frame(client, ci)
    assert connect_initial == vector("mcs_connect_initial")
    rsp, gcc_rsp, server = basic_settings.decode_connect_response(vector("mcs_connect_response"))
    assert gcc_rsp is not None and rsp.domain_parameters is not None
    connect_response = basic_settings.encode_connect_response_frame(
        server, domain_parameters=rsp.domain_parameters, gcc_connect_pdu_length=gcc_rsp.connect_pdu_length)
    assert connect_response == vector("mcs_connect_response")
    mcs_same = lambda name: same(name, mcs.decode_mcs_frame, mcs.encode_mcs_frame)  # noqa: E731
    chunks = [
        ("c2s", same("x224_connection_request", nego.decode_connection_request, nego.encode_connection_request)),
        ("s2c", same("x224_connection_confirm", nego.decode_connection_confirm, nego.encode_connection_confirm)),
        ("c2s", connect_initial),
        ("s2c", connect_response),
        ("c2s", mcs_same("mcs_erect_domain_request")),
        ("c2s", mcs_same("mcs_attach_user_request")),
        ("s2c", mcs_same("mcs_attach_user_confirm")),
    ]
    for channel in (1007, 1003, 1004, 1005, 1006):
        chunks += [("c2s", mcs_same(f"mcs_channel_join_request_{channel}")),
                   ("s2c", mcs_same(f"mcs_channel_join_confirm_{channel}"))]
    chunks += [
        ("c2s", secured("rdp_security_exchange_4_1_9")),
        ("c2s", secured("rdp_client_info_wire_4_1_10")),
        ("s2c", secured("rdp_license_valid_client_wire_4_1_11")),
        ("s2c", secured("rdp_demand_active_wire_4_1_12")),
    ]
    pcap = write_pcap(tmp_path / "spec.pcap", chunks, server_port=PORT)
    assert harness.tshark_lint(pcap, PORT, strict=True) == []
    rows = fields(pcap, ["rdp.rt_cookie", "rdp.negReq.selectedProtocol", "t125.connect_initial_element",
                         "t125.connect_response_element", "rdp.MCSChannelId", "t124.channelId",
                         "rdp.securityExchangePDU", "rdp.encryptedData"])
    assert column(rows, "rdp.rt_cookie") == ["Cookie: mstshash=eltons"]
    assert column(rows, "rdp.negReq.selectedProtocol") == ["0x00000000"]
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element")) == 1
    # Server network data: the I/O channel, then channelIdArray.
    assert column(rows, "rdp.MCSChannelId") == ["1003,1004,1005,1006"]
    assert column(rows, "t124.channelId") == [str(c) for c in (1007, 1007, 1003, 1003, 1004, 1004, 1005,
                                                                1005, 1006, 1006, 1003, 1003, 1003, 1003)]
    assert len(column(rows, "rdp.securityExchangePDU")) == 1
    assert len(column(rows, "rdp.encryptedData")) == 3


# ---------------------------------------------------------------------------
# Live captures with a TLS key log
# ---------------------------------------------------------------------------

LIVE_FIELDS = ["t125.connect_initial_element", "t125.connect_response_element", "t124.DomainMCSPDU",
               "t124.channelId", "rdp.client.name", "rdp.MCSChannelId", "rdp.clientInfoPDU",
               "rdp.bMsgType", "credssp.version", "ntlmssp.messagetype",
               "ntlmssp.ntlmserverchallenge", "ntlmssp.auth.username", "credssp.pubKeyAuth"]
NTLM_NEGOTIATE, NTLM_CHALLENGE, NTLM_AUTHENTICATE = 1, 2, 3


def _live(server: harness.Daemon, tmp_path: Path, **options: Any) -> tuple[ProbeResult, Path, Path]:
    keylog = tmp_path / "tls-keys.log"
    with harness.tshark_capture(server.port, tmp_path / "live.pcapng") as pcap:
        result = rdpprobe.probe(f"{server.host}:{server.port}", timeout=5, deadline=15,
                                keylog_path=str(keylog), **options)
    assert keylog.exists() and keylog.stat().st_size > 0
    return result, pcap, keylog


def _lint_live(pcap: Path, port: int, keylog: Path) -> list[str]:
    """``tshark_lint`` of a live capture, less the TCP retransmissions loopback sometimes
    shows: tshark leaves a retransmitted segment's payload undissected (it was already
    dissected in the original), which the lint would report as "never dissected"."""
    retransmitted = {row["frame.number"] for row in harness.tshark_fields(
        pcap, port, ["tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
                     "tcp.analysis.spurious_retransmission"], keylog=keylog)}
    return [problem for problem in harness.tshark_lint(pcap, port, keylog=keylog)
            if problem.split(":")[0].removeprefix("frame ") not in retransmitted]


def test_live_xrdp_tls_capture(tmp_path: Path) -> None:
    with harness.xrdp_server("tls") as server:
        result, pcap, keylog = _live(server, tmp_path)
    assert result.facts.selected_protocol == "SSL" and not result.failed_phase
    clear = fields(pcap, ["rdp.negReq.requestedProtocols", "rdp.negReq.selectedProtocol"], port=server.port)
    assert [(r["rdp.negReq.requestedProtocols"], r["rdp.negReq.selectedProtocol"]) for r in clear] == [
        ("0x0000000b", ""), ("", "0x00000001")]
    rows = fields(pcap, LIVE_FIELDS, keylog=keylog, port=server.port)
    assert len(column(rows, "t125.connect_initial_element")) == 1
    assert len(column(rows, "t125.connect_response_element")) == 1
    assert column(rows, "rdp.client.name") == ["rdpprobe"]
    assert column(rows, "rdp.MCSChannelId") == ["1003"]
    # Erect Domain, Attach User Request/Confirm, two joins, Client Info, licensing.
    assert column(rows, "t124.DomainMCSPDU")[:7] == ["1", "10", "11", "14", "15", "14", "15"]
    assert len(column(rows, "rdp.clientInfoPDU")) == 1
    # xrdp's LICENSE_REQUEST, the probe's NEW_LICENSE_REQUEST, xrdp's ERROR_ALERT (valid client).
    assert column(rows, "rdp.bMsgType") == ["0x01", "0x13", "0xff"]
    assert result.phase_reached is Phase.CAPABILITIES_EXCHANGE
    info_frames = [row["frame.number"] for row in rows if row["rdp.clientInfoPDU"]]
    # Inside TLS only the Client Info draws the dissector's complaint (module docstring).
    assert _lint_live(pcap, server.port, keylog) == [f"frame {info_frames[0]}: {MALFORMED}"]


def test_live_shadow_nla_capture(shadow_nla: harness.Daemon, tmp_path: Path) -> None:
    result, pcap, keylog = _live(shadow_nla, tmp_path, user="alice", password="Passw0rd!")
    assert result.facts.auth is not None and result.facts.auth.status == "succeeded"
    assert _lint_live(pcap, shadow_nla.port, keylog) == []
    rows = fields(pcap, LIVE_FIELDS, keylog=keylog, port=shadow_nla.port)
    assert column(rows, "credssp.version") == ["6"] * 4
    assert [int(v, 0) for v in column(rows, "ntlmssp.messagetype")] == [
        NTLM_NEGOTIATE, NTLM_CHALLENGE, NTLM_AUTHENTICATE]
    challenge = column(rows, "ntlmssp.ntlmserverchallenge")
    assert len(challenge) == 1 and len(bytes.fromhex(challenge[0])) == 8
    assert column(rows, "ntlmssp.auth.username") == ["alice"]
    # Client pubKeyAuth (with AUTHENTICATE) and the server's answer to it.
    assert len(column(rows, "credssp.pubKeyAuth")) == 2
