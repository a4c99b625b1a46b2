"""Server Redirection ([MS-RDPBCGR] 2.2.13). No spec example exists: vectors are constructed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError, UnexpectedType
from rdpprobe.wire import redirection as rd
from tests.strategies import rdp as s

FLAGS = rd.RedirFlags


def _sample() -> rd.ServerRedirection:
    return rd.ServerRedirection(
        5, FLAGS.LB_LOAD_BALANCE_INFO | FLAGS.LB_USERNAME | FLAGS.LB_PASSWORD | FLAGS.LB_TARGET_NET_ADDRESSES,
        load_balance_info=b"Cookie: msts=1\r\n", user_name="bob", password=b"secret!!",
        target_net_addresses=("10.0.0.1", "fe80::1"), padding=bytes(8),
    )


def test_enhanced_round_trip_and_layout() -> None:
    data = rd.encode_enhanced_redirection(rd.EnhancedRedirection(_sample(), 1002))
    assert data[2:4] == b"\x1a\x00"  # PDUTYPE_SERVER_REDIR_PKT | TS_PROTOCOL_VERSION
    assert data[8:10] == b"\x00\x04"  # Flags SEC_REDIRECTION_PKT after pad2Octets.
    decoded = rd.decode_enhanced_redirection(data)
    assert decoded.redirection == _sample()
    assert decoded.redirection.load_balance_info == b"Cookie: msts=1\r\n"


def test_decode_redirection_pdu_accepts_both_carriers() -> None:
    raw = rd.encode_redirection_packet(_sample())
    enhanced = rd.encode_enhanced_redirection(rd.EnhancedRedirection(_sample(), 1002, False))
    assert rd.decode_redirection_pdu(raw) == rd.decode_redirection_pdu(enhanced) == _sample()


def test_password_not_in_repr() -> None:
    assert "secret" not in repr(_sample())


def test_flag_field_mismatch_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        rd.encode_redirection_packet(rd.ServerRedirection(1, 0, user_name="x"))


def test_wrong_share_type() -> None:
    data = bytearray(rd.encode_enhanced_redirection(rd.EnhancedRedirection(_sample())))
    data[2] = 0x17
    with pytest.raises(UnexpectedType):
        rd.decode_enhanced_redirection(bytes(data))


@given(s.server_redirection())
def test_packet_round_trip(pdu: rd.ServerRedirection) -> None:
    assert rd.decode_redirection_packet(rd.encode_redirection_packet(pdu)) == pdu


@given(s.enhanced_redirection)
def test_enhanced_round_trip(pdu: rd.EnhancedRedirection) -> None:
    assert rd.decode_enhanced_redirection(rd.encode_enhanced_redirection(pdu)) == pdu


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for decode in (rd.decode_redirection_packet, rd.decode_enhanced_redirection, rd.decode_redirection_pdu):
        try:
            decode(data)
        except DecodeError:
            pass
