"""Licensing PDUs ([MS-RDPBCGR] 2.2.1.12, [MS-RDPELE] 2.2.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpprobe.errors import DecodeError
from rdpprobe.wire import licensing as lic
from tests.strategies import rdp as s
from tests.vectors import vector


def test_valid_client_golden() -> None:
    data = vector("rdp_license_valid_client_4_1_11")
    msg = lic.decode_license_pdu(data)
    assert msg == lic.valid_client_message()
    assert lic.is_valid_client(msg)
    assert lic.encode_license_pdu(msg) == data
    assert len(data) == 16


def test_abort_is_not_valid_client() -> None:
    msg = lic.LicenseError(lic.LicenseErrorCode.ERR_NO_LICENSE_SERVER, lic.StateTransition.ST_TOTAL_ABORT)
    assert not lic.is_valid_client(lic.decode_license_pdu(lic.encode_license_pdu(msg)))


def test_license_request_for_the_mock() -> None:
    req = lic.LicenseRequest(
        bytes(32), lic.ProductInfo(lic.PRODUCT_INFO_VERSION, "Microsoft\0".encode("utf-16-le"), "A02\0".encode("utf-16-le")),
        lic.LicenseBlob(lic.BB_KEY_EXCHG_ALG_BLOB, (lic.KEY_EXCHANGE_ALG_RSA).to_bytes(4, "little")),
        lic.LicenseBlob(lic.BB_CERTIFICATE_BLOB, b""), (lic.LicenseBlob(lic.BB_SCOPE_BLOB, b"microsoft.com\0"),),
    )
    data = lic.encode_license_pdu(req)
    assert data[0] == lic.LicenseMsgType.LICENSE_REQUEST
    decoded = lic.decode_license_pdu(data)
    assert decoded == req
    assert lic.key_exchange_algorithms(req.key_exchange_list) == (1,)


def test_unknown_message_kept() -> None:
    msg = lic.decode_license_pdu(b"\x12\x03\x06\x00ab")
    assert msg == lic.UnknownLicenseMessage(0x12, b"ab", 3)


@pytest.mark.parametrize("data", [b"\xff\x03\x03\x00", b"\xff\x03\x11\x00" + bytes(13), b"\xff\x03\x10\x00" + bytes(12) + b"x"])
def test_bad_sizes(data: bytes) -> None:
    with pytest.raises(DecodeError):
        lic.decode_license_pdu(data)


@given(s.license_message)
def test_round_trip(msg: lic.LicenseMessage) -> None:
    assert lic.decode_license_pdu(lic.encode_license_pdu(msg)) == msg


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        lic.decode_license_pdu(data)
    except DecodeError:
        pass
