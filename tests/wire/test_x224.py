from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError, EncodeError
from rdpprobe.wire import x224
from tests.strategies.connect import tpdus
from tests.vectors import vector

CASES = {
    "x224_cc_legacy": x224.ConnectionConfirmTpdu(b"", 0, 0x1234),
    "mcs_attach_user_request": x224.DataTpdu(b"\x28"),
    "x224_connection_confirm": x224.ConnectionConfirmTpdu(bytes.fromhex("0200080000000000"), 0, 0x1234),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_decode(name: str) -> None:
    assert x224.decode_x224_frame(vector(name)) == CASES[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector_encode(name: str) -> None:
    assert x224.encode_x224_frame(CASES[name]) == vector(name)


def test_tpdu_code_and_data_frame() -> None:
    data = vector("x224_connection_request")
    assert x224.read_tpdu_code(data[4:]) == x224.TpduCode.CONNECTION_REQUEST
    assert x224.decode_data_frame(vector("mcs_attach_user_request")) == b"\x28"
    assert x224.encode_data_frame(b"\x28") == vector("mcs_attach_user_request")
    assert x224.DATA_HEADER == bytes.fromhex("02f080")


@pytest.mark.parametrize(
    "tpdu",
    [
        "06d0000012",  # LI larger than the bytes present
        "ffd0000012340000000000",  # LI 255 is reserved
        "04d000001234",  # LI below the CC minimum
        "03f080",  # DT with LI 3
        "06b0000012340000",  # unknown code
        "07d00000123400",  # LI 7 but one byte missing
        "06d000001234000000",  # trailing bytes after the LI
    ],
)
def test_bad_length_indicators(tpdu: str) -> None:
    with pytest.raises(DecodeError):
        x224.decode_tpdu(bytes.fromhex(tpdu))


def test_disconnect_and_error_tpdus() -> None:
    dr = x224.DisconnectRequestTpdu(reason=1, dst_ref=2, src_ref=3)
    assert x224.encode_tpdu(dr) == bytes.fromhex("06800002000301")
    er = x224.ErrorTpdu(cause=2, dst_ref=7, variable=b"\xc1\x01\x00")
    assert x224.decode_tpdu(x224.encode_tpdu(er)) == er


def test_encode_rejects_oversized_variable_part() -> None:
    with pytest.raises(EncodeError):
        x224.encode_tpdu(x224.ConnectionRequestTpdu(b"\x00" * 249))


@given(tpdus)
def test_roundtrip(tpdu: x224.Tpdu) -> None:
    assert x224.decode_x224_frame(x224.encode_x224_frame(tpdu)) == tpdu


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes) -> None:
    for fn in (x224.decode_tpdu, x224.decode_x224_frame, x224.decode_data_frame):
        try:
            fn(data)
        except DecodeError:
            pass
