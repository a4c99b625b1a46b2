"""TS_INFO_PACKET ([MS-RDPBCGR] 2.2.1.11.1.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError, NotEnoughData
from rdpprobe.wire import info
from tests.strategies import rdp as s
from tests.vectors import hexdiff, vector


def test_golden_decode_encode_size() -> None:
    data = vector("rdp_ts_info_packet_4_1_10")
    ci = info.decode_client_info(data)
    assert ci.code_page == 0x04090409 and ci.flags == 0x43B3
    assert (ci.domain, ci.user_name, ci.password) == ("NTDEV", "eltons", "")
    ext = ci.extended
    assert ext is not None and ext.address_family == info.AF_INET
    assert ext.client_address == "157.59.242.156"
    assert ext.client_dir.endswith("mstscax.dll")
    assert ext.time_zone is not None and ext.time_zone.bias == 480
    assert ext.time_zone.standard_name == "Pacific Standard Time"
    assert ext.time_zone.daylight_name == "Pacific Daylight Time"
    assert (ext.session_id, ext.performance_flags, ext.auto_reconnect_cookie) == (0, 1, b"")
    assert ext.reserved1 is None
    encoded = info.encode_client_info(ci)
    assert encoded == data, hexdiff(encoded, data)
    assert len(encoded) == 400


def test_cb_excludes_nul_but_nul_is_sent() -> None:
    data = info.encode_client_info(info.ClientInfo(flags=info.INFO_UNICODE, domain="AB"))
    assert data[8:10] == b"\x04\x00"  # cbDomain counts 2 characters, not the terminator.
    assert data[18:24] == "AB\0".encode("utf-16-le")


def test_password_not_in_repr() -> None:
    ci = info.ClientInfo(user_name="u", password="hunter2")
    assert "hunter2" not in repr(ci)


def test_truncated_golden_raises_not_enough_data() -> None:
    data = vector("rdp_ts_info_packet_4_1_10")
    for n in (0, 5, 17, 30, 100, 399):
        with pytest.raises(DecodeError):
            info.decode_client_info(data[:n])
    with pytest.raises(NotEnoughData):
        info.decode_client_info(data[:20])


def test_absent_field_before_present_one_is_rejected() -> None:
    ext = info.ExtendedInfo(time_zone=None, session_id=3)
    with pytest.raises(EncodeError):
        info.encode_client_info(info.ClientInfo(extended=ext))


@given(s.client_info())
def test_round_trip(ci: info.ClientInfo) -> None:
    assert info.decode_client_info(info.encode_client_info(ci)) == ci


@given(st.binary(max_size=500))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        info.decode_client_info(data)
    except DecodeError:
        pass
