from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError
from rdpprobe.wire import nego
from rdpprobe.wire.codes import flag_names, name_of
from tests.strategies.connect import connection_confirms, connection_requests
from tests.vectors import hexdiff, vector

S = nego.SecurityProtocol
REQUESTS = {
    "x224_connection_request": nego.ConnectionRequest(cookie=b"eltons", neg_req=nego.NegReq(S.RDP)),
    # Constructed vector (not from the specification).
    "x224_cr_probe_hybrid_ex": nego.ConnectionRequest(cookie=b"probe", neg_req=nego.NegReq(S.SSL | S.HYBRID | S.HYBRID_EX)),
}
CONFIRMS = {
    "x224_connection_confirm": nego.ConnectionConfirm(nego.NegRsp(S.RDP)),
    # Constructed vectors (not from the specification).
    "x224_cc_failure_hybrid_required": nego.ConnectionConfirm(nego.NegFailure(nego.FailureCode.HYBRID_REQUIRED_BY_SERVER)),
    "x224_cc_failure_ssl_not_allowed": nego.ConnectionConfirm(nego.NegFailure(nego.FailureCode.SSL_NOT_ALLOWED_BY_SERVER)),
    "x224_cc_rsp_flags_1f_hybrid": nego.ConnectionConfirm(nego.NegRsp(S.HYBRID, 0x1F)),
    "x224_cc_legacy": nego.ConnectionConfirm(None),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_vectors(name: str) -> None:
    data, pdu = vector(name), REQUESTS[name]
    encoded = nego.encode_connection_request(pdu)
    assert encoded == data, hexdiff(encoded, data)
    assert nego.decode_connection_request(data) == pdu
    assert len(encoded) == int.from_bytes(data[2:4], "big")


@pytest.mark.parametrize("name", sorted(CONFIRMS))
def test_confirm_vectors(name: str) -> None:
    data, pdu = vector(name), CONFIRMS[name]
    encoded = nego.encode_connection_confirm(pdu)
    assert encoded == data, hexdiff(encoded, data)
    assert nego.decode_connection_confirm(data) == pdu
    assert len(encoded) == int.from_bytes(data[2:4], "big")


def test_names_and_predicates() -> None:
    assert name_of(nego.FailureCode, 5) == "HYBRID_REQUIRED_BY_SERVER"
    assert name_of(nego.FailureCode, 9) == "unknown(0x9)"
    assert flag_names(nego.NegRspFlags, 0x1F)[-1] == "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"
    assert flag_names(nego.NegRspFlags, 0x21) == ("EXTENDED_CLIENT_DATA_SUPPORTED", "unknown(0x20)")
    assert nego.is_standard_rdp_security(0) and not nego.is_standard_rdp_security(S.SSL)


def test_routing_token_and_correlation() -> None:
    corr = nego.CorrelationInfo(bytes(range(1, 17)))
    req = nego.ConnectionRequest(
        routing_token=b"Cookie: msts=3640205228.15629.0000",
        neg_req=nego.NegReq(S.SSL, nego.NegReqFlags.CORRELATION_INFO_PRESENT),
        correlation=corr,
    )
    frame = nego.encode_connection_request(req)
    assert len(frame) == 4 + 7 + 34 + 2 + 8 + 36
    assert nego.decode_connection_request(frame) == req


def test_bare_neg_req_containing_crlf() -> None:
    req = nego.ConnectionRequest(neg_req=nego.NegReq(0x0A0D0A0D))
    assert nego.decode_connection_request(nego.encode_connection_request(req)) == req


@pytest.mark.parametrize(
    "req",
    [
        nego.ConnectionRequest(cookie=b"a", routing_token=b"b"),
        nego.ConnectionRequest(correlation=nego.CorrelationInfo()),
        nego.ConnectionRequest(cookie=b"a\r\nb"),
        nego.ConnectionRequest(routing_token=b"\x01abc"),
    ],
)
def test_ambiguous_requests_are_refused(req: nego.ConnectionRequest) -> None:
    with pytest.raises(EncodeError):
        nego.encode_connection_request(req)


@pytest.mark.parametrize(
    "frame",
    [
        "030000130ed00000123400020008000000",  # truncated rdpNegData
        "030000130ed000001234000200090000000000",  # length 9
        "030000130ed000001234000700080000000000",  # unknown type
        "0300000f0ad000001234000200080000",  # 4 bytes of neg data
    ],
)
def test_bad_confirms(frame: str) -> None:
    with pytest.raises(DecodeError):
        nego.decode_connection_confirm(bytes.fromhex(frame))


def test_cookie_without_crlf_is_rejected() -> None:
    frame = bytes.fromhex("0300000e09e00000000000436f6f")
    with pytest.raises(DecodeError, match="crlf"):
        nego.decode_connection_request(frame)


@given(connection_requests())
def test_request_roundtrip(req: nego.ConnectionRequest) -> None:
    assert nego.decode_connection_request(nego.encode_connection_request(req)) == req


@given(connection_confirms)
def test_confirm_roundtrip(cc: nego.ConnectionConfirm) -> None:
    assert nego.decode_connection_confirm(nego.encode_connection_confirm(cc)) == cc


@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    for fn in (nego.decode_connection_request, nego.decode_connection_confirm):
        for prefix in (b"", b"\x03\x00" + (len(data) + 4).to_bytes(2, "big")):
            try:
                fn(prefix + data)
            except DecodeError:
                pass


def _cr_frame(variable: bytes) -> bytes:
    """TPKT + X.224 CR ([MS-RDPBCGR] 2.2.1.1) with ``variable`` after the fixed header."""
    tpdu = bytes((6 + len(variable), 0xE0, 0, 0, 0, 0, 0)) + variable
    return bytes((3, 0)) + (4 + len(tpdu)).to_bytes(2, "big") + tpdu


NEG_REQ_HYBRID = bytes.fromhex("0100080003000000")


@pytest.mark.parametrize(("variable", "words"), [
    (NEG_REQ_HYBRID[:6], "rdp_neg_req: not enough data: need 8 bytes, have 6"),
    (NEG_REQ_HYBRID[:1], "rdp_neg_req: not enough data: need 8 bytes, have 1"),
    (NEG_REQ_HYBRID + b"\x00\x00", "2 trailing bytes after the rdp_neg_req"),
    (b"Cookie: mstshash=a\r\n" + NEG_REQ_HYBRID[:5], "rdp_neg_req: not enough data: need 8 bytes, have 5"),
    (NEG_REQ_HYBRID + bytes.fromhex("0600240000"), "rdp_neg_correlation_info: not enough data: need 36 bytes, have 5"),
    (b"Cookie: mstshash=a", "missing crlf terminator"),  # A cookie line that is not ended.
])  # fmt: skip
def test_a_malformed_connection_request_is_refused_naming_what_is_wrong(variable: bytes, words: str) -> None:
    frame = _cr_frame(variable)
    with pytest.raises(DecodeError) as refused:
        nego.decode_connection_request(frame)
    assert words in str(refused.value)
    if "crlf" not in words:
        assert "crlf" not in str(refused.value)


def test_bytes_after_the_tpdu_its_length_indicator_covers_are_named() -> None:
    frame = _cr_frame(NEG_REQ_HYBRID)
    padded = frame[:2] + (len(frame) + 3).to_bytes(2, "big") + frame[4:] + b"\x00\x00\x00"
    with pytest.raises(DecodeError, match="3 trailing bytes after the x224 tpdu its length indicator covers"):
        nego.decode_connection_request(padded)


def test_the_mock_notes_what_is_wrong_with_a_truncated_request() -> None:
    from rdpprobe.mock import MockPair

    pair = MockPair("windows-tls")
    pair.send(_cr_frame(NEG_REQ_HYBRID[:6]))
    pair.receive()
    notes = pair.record.notes
    assert any("rdp_neg_req: not enough data: need 8 bytes, have 6" in note for note in notes), notes
    assert not any("crlf" in note for note in notes)
