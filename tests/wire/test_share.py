"""Share-layer PDUs ([MS-RDPBCGR] 2.2.1.13, 2.2.3.1, 2.2.5.1, 2.2.8.1.1.1, 2.2.10.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError
from rdpprobe.wire import share as sh
from tests.strategies import rdp as s
from tests.vectors import hexdiff, vector

SDIN_SHORT = 4 + 3 + 7  # TPKT + X.224 DT + MCS SDin with a 1-byte PER length


def test_demand_active_golden() -> None:
    data = vector("rdp_demand_active_4_1_12")
    pdu = sh.decode_share_pdu(data)
    assert isinstance(pdu, sh.DemandActive)
    assert (pdu.share_id, pdu.pdu_source, pdu.session_id) == (0x000103EA, 1002, 0)
    assert pdu.source_descriptor == sh.SOURCE_DESCRIPTOR_RDP
    types = [c.type for c in pdu.capability_sets]
    assert types == [9, 1, 20, 22, 14, 2, 3, 10, 18, 8, 13, 23, 24]
    assert [sh.name_of_capability(t) for t in types][:2] == ["CAPSTYPE_SHARE", "CAPSTYPE_GENERAL"]
    assert sh.name_of_capability(0x99) == "unknown(0x99)"
    bitmap = sh.bitmap_capability(pdu.capability_sets[5])
    assert (bitmap.preferred_bits_per_pixel, bitmap.desktop_width, bitmap.desktop_height) == (24, 1280, 1024)
    general = sh.general_capability(pdu.capability_sets[1])
    assert (general.os_major_type, general.protocol_version) == (1, 0x200)
    assert sh.desktop_size(pdu) == (1280, 1024)
    assert sh.capability_name(2) == "CAPSTYPE_BITMAP"
    assert sh.peek_share_pdu_type(data) == sh.PDUTYPE_DEMANDACTIVEPDU
    assert sh.encode_share_pdu(pdu) == data, hexdiff(sh.encode_share_pdu(pdu), data)


def test_set_error_info_constructed() -> None:
    data = vector("rdp_set_error_info_constructed")[SDIN_SHORT:]
    pdu = sh.decode_share_pdu(data)
    assert pdu == sh.SetErrorInfo(9, 0x000103EA, 0, sh.STREAM_LOW)
    assert sh.encode_share_pdu(pdu) == data


def test_confirm_active_echoes_capabilities() -> None:
    demand = sh.decode_share_pdu(vector("rdp_demand_active_4_1_12"))
    assert isinstance(demand, sh.DemandActive)
    confirm = sh.ConfirmActive(demand.share_id, b"MSTSC", demand.capability_sets, 1007)
    data = sh.encode_share_pdu(confirm)
    assert data[2:4] == b"\x13\x00"
    assert sh.decode_share_pdu(data) == confirm


def test_deactivate_all_and_save_session_info() -> None:
    for pdu in (sh.DeactivateAll(0x103EA), sh.SaveSessionInfo(1, b"\x00" * 8, 0x103EA, 1002)):
        assert sh.decode_share_pdu(sh.encode_share_pdu(pdu)) == pdu


def test_total_length_checked() -> None:
    data = vector("rdp_demand_active_4_1_12")
    with pytest.raises(DecodeError):
        sh.decode_share_pdu(data + b"\x00")
    for n in range(0, len(data), 7):
        with pytest.raises(DecodeError):
            sh.decode_share_pdu(data[:n])


def test_uncompressed_length_not_validated() -> None:
    data = bytearray(vector("rdp_set_error_info_constructed")[SDIN_SHORT:])
    data[12:14] = b"\x04\x00"  # FreeRDP-style payload length.
    assert isinstance(sh.decode_share_pdu(bytes(data)), sh.SetErrorInfo)


@given(s.share_pdu)
def test_round_trip(pdu: sh.SharePdu) -> None:
    assert sh.decode_share_pdu(sh.encode_share_pdu(pdu)) == pdu


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        pdu = sh.decode_share_pdu(data)
    except DecodeError:
        return
    for cap in getattr(pdu, "capability_sets", ()):
        for view in (sh.general_capability, sh.bitmap_capability):
            try:
                view(cap)
            except DecodeError:
                pass
