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
